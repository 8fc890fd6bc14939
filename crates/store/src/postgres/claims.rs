//! The controller's path ([`crate::controller`]) on PostgreSQL: one statement per allocation,
//! committed on its own. The chunk's row lock is taken and given up inside it (a row another
//! writer holds is passed over, never waited for), the version check and the cooled-blocks check
//! are in its `WHERE`, and the constraints still refuse any overlap or second allocation of an
//! owner.

use postgres::error::SqlState;
use postgres::types::ToSql;

use super::Database;
use crate::Error;
use crate::controller::{Claim, Claims, Outcome};
use crate::model::COOLDOWN_PREFIX;
use crate::rows::{RawChunk, to_i64};
use crate::state::PoolState;

/// Writes the chunk and inserts the allocation if the chunk's row has the version the choice was
/// made on and no cooled block of the pool is due; otherwise returns the row as it is now, if it
/// changed. Columns: the new version, whether cooled blocks are due, whether the row exists, then
/// the changed row (version, used, bits, summary, checksum).
const CLAIM: &str = "
WITH held AS (
    SELECT version, used, bits, summary, checksum FROM chunks
    WHERE pool_id = $1 AND idx = $2 FOR UPDATE SKIP LOCKED
), due AS (
    SELECT EXISTS (SELECT 1 FROM allocations WHERE pool_id = $1 AND owner >= $12 AND owner <= $13) AS due
), written AS (
    UPDATE chunks c SET used = $4, bits = $5, summary = $6, allocations = c.allocations + 1, checksum = $7,
        version = nextval('chunk_versions')
    FROM held, due
    WHERE c.pool_id = $1 AND c.idx = $2 AND held.version = $3 AND NOT due.due
    RETURNING c.version
), inserted AS (
    INSERT INTO allocations (pool_id, first, last, shape, owner, created, checksum)
    SELECT $1, $8, $9, $10, $11, $14, $15 FROM written
    RETURNING first
)
SELECT (SELECT version FROM written), (SELECT due FROM due),
    EXISTS (SELECT 1 FROM chunks WHERE pool_id = $1 AND idx = $2),
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
fn raw_chunk(row: &postgres::Row, at: usize) -> Result<(i64, RawChunk), Error> {
    let used = u64::try_from(row.try_get::<_, i64>(at + 1)?)
        .map_err(|_| crate::damaged("a chunk with a negative count".into()))?;
    let summary =
        u8::try_from(row.try_get::<_, i16>(at + 3)?).map_err(|_| crate::damaged("a summary byte".into()))?;
    let raw =
        RawChunk { used, bits: row.try_get(at + 2)?, summary: Some(summary), checksum: row.try_get(at + 4)? };
    Ok((row.try_get(at)?, raw))
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
        rows.first().map(|row| raw_chunk(row, 0)).transpose()
    }

    fn claim(&self, c: &Claim<'_>) -> Result<Outcome, Error> {
        let a = c.allocation;
        let due_until = format!("{COOLDOWN_PREFIX}{:020}:~", c.now);
        let params: [&(dyn ToSql + Sync); 15] = [
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
        ];
        let rows = match self.query_alone(CLAIM, &params) {
            Ok(rows) => rows,
            Err(Error::Database(source))
                if source.downcast_ref::<postgres::Error>().and_then(postgres::Error::code).is_some_and(
                    |code| [SqlState::UNIQUE_VIOLATION, SqlState::EXCLUSION_VIOLATION].contains(code),
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
        if row.try_get::<_, Option<i64>>(3)?.is_some() {
            let (version, raw) = raw_chunk(row, 3)?;
            return Ok(Outcome::Stale(version, raw));
        }
        Ok(if row.try_get::<_, bool>(2)? { Outcome::Busy } else { Outcome::Gone })
    }
}
