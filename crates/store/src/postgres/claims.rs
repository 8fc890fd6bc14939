//! The controller's path ([`crate::controller`]) on PostgreSQL: one statement per allocation,
//! committed on its own. The chunk's row lock is taken and given up inside it (a row another
//! writer holds is passed over), the version check, the policy's check of the other chunks and
//! the cooled-blocks check are in its `WHERE`, and the constraints still refuse any overlap or
//! second allocation of an owner. A removal or resize holding the pool's row may make the
//! insert's key check wait, or deadlock: a deadlock goes to the transaction path.

use postgres::error::SqlState;
use postgres::types::ToSql;

use super::Database;
use crate::Error;
use crate::controller::{Better, Claim, Claims, Outcome};
use crate::model::COOLDOWN_PREFIX;
use crate::rows::{RawChunk, to_i64};
use crate::state::PoolState;

/// Writes the chunk and inserts the allocation if the chunk's row has the version the choice was
/// made on, no chunk the policy would rather use has room ([`Better`]: `$17` is 0 for none, 1 for
/// first fit, 2 for best fit; `$16` the block's order, `$18` this chunk's rank) and no cooled
/// block of the pool is due; otherwise returns the row as it is now, if it changed. Columns: the
/// new version (the update's trigger gives every write a new one), whether cooled blocks are due, whether the row exists, the better chunks'
/// indices and summary bytes, then the changed row (version, used, bits, summary, checksum).
const CLAIM: &str = "
WITH held AS (
    SELECT version, used, bits, summary, checksum FROM chunks
    WHERE pool_id = $1 AND idx = $2 FOR UPDATE SKIP LOCKED
), due AS (
    SELECT EXISTS (SELECT 1 FROM allocations WHERE pool_id = $1 AND owner >= $12 AND owner <= $13) AS due
), better AS (
    SELECT idx, summary FROM chunks
    WHERE pool_id = $1 AND $17::int4 > 0 AND idx <> $2
        AND (summary & 127) <> 127 AND (summary & 127) >= $16::int4
        AND CASE WHEN $17::int4 = 1 THEN idx < $2
            ELSE (summary & 127) < $18::int4 OR ((summary & 127) = $18::int4 AND idx < $2) END
), written AS (
    UPDATE chunks c SET used = $4, bits = $5, summary = $6, allocations = c.allocations + 1, checksum = $7
    FROM held, due
    WHERE c.pool_id = $1 AND c.idx = $2 AND held.version = $3 AND NOT due.due
        AND NOT EXISTS (SELECT 1 FROM better)
    RETURNING c.version
), inserted AS (
    INSERT INTO allocations (pool_id, first, last, shape, owner, created, checksum)
    SELECT $1, $8, $9, $10, $11, $14, $15 FROM written
    RETURNING first
)
SELECT (SELECT version FROM written), (SELECT due FROM due),
    EXISTS (SELECT 1 FROM chunks WHERE pool_id = $1 AND idx = $2),
    (SELECT array_agg(idx) FROM better), (SELECT array_agg(summary) FROM better),
    h.version, h.used, h.bits, h.summary, h.checksum
FROM (SELECT 1) AS one LEFT JOIN held h ON h.version <> $3";

const CHUNK: &str =
    "SELECT version, used, bits, summary, checksum FROM chunks WHERE pool_id = $1 AND idx = $2";

impl Database {
    /// Runs one statement on its own (its own transaction), preparing it once per connection.
    fn query_alone(
        &self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<postgres::Row>, Error> {
        let mut link = self.link()?;
        let link = link.as_mut().expect("connected by link()");
        let cached = link.statements.borrow().get(sql).cloned();
        let statement = match cached {
            Some(statement) => statement,
            None => {
                let statement = link.client.prepare(sql)?;
                link.statements.borrow_mut().insert(sql, statement.clone());
                statement
            }
        };
        Ok(link.client.query(&statement, params)?)
    }
}

/// A chunk row from `row`'s columns `at..at + 5` (version, used, bits, summary, checksum).
/// A chunk row's version, then the chunk, from column `at` on.
fn versioned_chunk(row: &postgres::Row, at: usize) -> Result<(i64, RawChunk), Error> {
    Ok((row.try_get(at)?, super::rows::raw_chunk(row, at + 1)?))
}

impl Claims for Database {
    fn load_pool(&self, name: &str) -> Result<Option<PoolState>, Error> {
        match self.read(|rows| PoolState::load(rows, name)) {
            Ok(state) => Ok(Some(state)),
            Err(Error::NoSuchPool { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn load_chunk(&self, pool_id: i64, idx: usize) -> Result<Option<(i64, RawChunk)>, Error> {
        let rows = self.query_alone(CHUNK, &[&pool_id, &to_i64(idx as u64)]).map_err(|e| self.classify(e))?;
        rows.first().map(|row| versioned_chunk(row, 0)).transpose()
    }

    fn claim(&self, c: &Claim<'_>) -> Result<Outcome, Error> {
        let a = c.allocation;
        let due_until = format!("{COOLDOWN_PREFIX}{:020}:~", c.now);
        let (mode, rank) = match c.better {
            Better::Unchecked => (0i32, 0i32),
            Better::FirstFit => (1, 0),
            Better::BestFit { rank } => (2, i32::from(rank)),
        };
        let order = c.order as i32;
        let params: [&(dyn ToSql + Sync); 18] = [
            &c.pool_id,
            &to_i64(c.idx as u64),
            &c.version,
            &to_i64(c.chunk.used),
            &c.chunk.bits,
            &i16::from(c.chunk.summary),
            &c.chunk_checksum,
            &i64::from(u32::from(a.first)),
            &i64::from(u32::from(a.last)),
            &a.shape.as_str(),
            &a.owner,
            &COOLDOWN_PREFIX,
            &due_until,
            &to_i64(a.created),
            &c.allocation_checksum,
            &order,
            &mode,
            &rank,
        ];
        let rows = match self.query_alone(CLAIM, &params) {
            Ok(rows) => rows,
            Err(Error::Database(source))
                if source.downcast_ref::<postgres::Error>().and_then(postgres::Error::code).is_some_and(
                    |code| {
                        [
                            SqlState::UNIQUE_VIOLATION,
                            SqlState::EXCLUSION_VIOLATION,
                            // Waiting on the pool's row (the key check) while a removal or a
                            // resize holds it.
                            SqlState::T_R_DEADLOCK_DETECTED,
                            SqlState::T_R_SERIALIZATION_FAILURE,
                        ]
                        .contains(code)
                    },
                ) =>
            {
                return Ok(Outcome::Declined);
            }
            Err(e) => return Err(self.classify(e)),
        };
        let row = rows.first().ok_or_else(|| crate::damaged("the claim returned no row".into()))?;
        if let Some(version) = row.try_get::<_, Option<i64>>(0)? {
            return Ok(Outcome::Claimed(version));
        }
        if row.try_get::<_, bool>(1)? {
            return Ok(Outcome::Declined);
        }
        if let Some(indices) = row.try_get::<_, Option<Vec<i64>>>(3)? {
            let summaries: Vec<i16> = row.try_get(4)?;
            let chunks = indices
                .into_iter()
                .zip(summaries)
                .map(|(idx, summary)| {
                    let idx = usize::try_from(idx).map_err(|_| crate::damaged(format!("chunk {idx}")))?;
                    let summary =
                        u8::try_from(summary).map_err(|_| crate::damaged("a summary byte".into()))?;
                    Ok((idx, summary))
                })
                .collect::<Result<_, Error>>()?;
            return Ok(Outcome::Better(chunks));
        }
        if row.try_get::<_, Option<i64>>(5)?.is_some() {
            let (version, raw) = versioned_chunk(row, 5)?;
            return Ok(Outcome::Stale(version, raw));
        }
        Ok(if row.try_get::<_, bool>(2)? { Outcome::Busy } else { Outcome::Gone })
    }
}
