//! The PostgreSQL backend's statements ([`Rows`] for one transaction). Addresses are `bigint`
//! (a `u32` does not fit `integer`); statements are prepared once per connection.

use std::cell::RefCell;
use std::collections::HashMap;
use std::net::Ipv4Addr;

use ipam_core::Policy;
use postgres::types::ToSql;
use postgres::{Statement, Transaction};

use crate::Error;
use crate::model::{Allocation, PoolDef};
use crate::rows::{
    AllocationsBy, ChunkWrite, CountPools, Lock, PoolRow, PoolsBy, RawAllocation, RawChunk, RawPool, Rows,
    chunk_checksum, net, to_i64,
};

/// Prepared statements of one connection, by their text.
pub(crate) type Statements = HashMap<&'static str, Statement>;

/// One transaction of the PostgreSQL backend.
pub(crate) struct PgRows<'a, 'c> {
    tx: RefCell<Transaction<'c>>,
    statements: &'a RefCell<Statements>,
    /// A write transaction: pools read by name are locked until the commit.
    write: bool,
}

impl<'a, 'c> PgRows<'a, 'c> {
    pub(crate) fn new(tx: Transaction<'c>, statements: &'a RefCell<Statements>, write: bool) -> Self {
        PgRows { tx: RefCell::new(tx), statements, write }
    }

    pub(crate) fn commit(self) -> Result<(), Error> {
        Ok(self.tx.into_inner().commit()?)
    }

    fn statement(&self, sql: &'static str) -> Result<Statement, Error> {
        if let Some(statement) = self.statements.borrow().get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.tx.borrow_mut().prepare(sql)?;
        self.statements.borrow_mut().insert(sql, statement.clone());
        Ok(statement)
    }

    fn query(&self, sql: &'static str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<postgres::Row>, Error> {
        let statement = self.statement(sql)?;
        Ok(self.tx.borrow_mut().query(&statement, params)?)
    }

    fn execute(&self, sql: &'static str, params: &[&(dyn ToSql + Sync)]) -> Result<u64, Error> {
        let statement = self.statement(sql)?;
        Ok(self.tx.borrow_mut().execute(&statement, params)?)
    }
}

/// A pool's row with what its chunk rows add up to: the summary bytes in order, addresses
/// handed out and allocation rows.
macro_rules! pool_select {
    ($tail:literal) => {
        concat!(
            "SELECT p.id, p.name, p.network, p.prefix_len, p.reserve_gateway, p.reserve_network_broadcast,
                p.exclusions, p.policy, p.parent_id, p.cursor, 0::bigint, p.capacity, c.used,
                c.allocations, c.summary, p.checksum
             FROM pools p LEFT JOIN LATERAL (
                SELECT COALESCE(sum(used), 0)::bigint AS used, COALESCE(sum(allocations), 0)::bigint AS allocations,
                    COALESCE(array_agg(summary ORDER BY idx), '{}') AS summary
                FROM chunks WHERE pool_id = p.id) c ON true ",
            $tail
        )
    };
}

macro_rules! allocation_select {
    ($tail:literal) => {
        concat!("SELECT pool_id, first, last, shape, owner, created, checksum FROM allocations WHERE ", $tail)
    };
}

fn address(value: i64) -> Result<u32, Error> {
    u32::try_from(value).map_err(|_| crate::damaged(format!("{value} is not an IPv4 address")))
}

fn count(value: i64) -> Result<u64, Error> {
    u64::try_from(value).map_err(|_| crate::damaged(format!("a negative count ({value})")))
}

/// A chunk row's used count, bits, summary byte and checksum, from column `at` on.
pub(super) fn raw_chunk(r: &postgres::Row, at: usize) -> Result<RawChunk, Error> {
    let summary =
        u8::try_from(r.try_get::<_, i16>(at + 2)?).map_err(|_| crate::damaged("a summary byte".into()))?;
    Ok(RawChunk {
        used: count(r.try_get(at)?)?,
        bits: r.try_get(at + 1)?,
        summary: Some(summary),
        checksum: r.try_get(at + 3)?,
    })
}

fn raw_pool(r: &postgres::Row) -> Result<RawPool, Error> {
    let prefix_len = u8::try_from(r.try_get::<_, i16>(3)?).unwrap_or(u8::MAX);
    let def = PoolDef {
        name: r.try_get(1)?,
        cidr: net(address(r.try_get(2)?)?, prefix_len),
        gateway: r.try_get(4)?,
        network_broadcast: r.try_get(5)?,
        exclusions: Vec::new(),
        policy: Policy::FirstFit,
        container: false,
        parent: None,
    };
    let row = PoolRow {
        id: r.try_get(0)?,
        def,
        parent_id: r.try_get(8)?,
        cursor: Ipv4Addr::from(address(r.try_get(9)?)?),
        changes: r.try_get(10)?,
        capacity: count(r.try_get(11)?)?,
        allocated: count(r.try_get(12)?)?,
        allocations: count(r.try_get(13)?)?,
        summary: r
            .try_get::<_, Vec<i16>>(14)?
            .into_iter()
            .map(|b| u8::try_from(b).map_err(|_| crate::damaged(format!("a summary byte of {b}"))))
            .collect::<Result<_, _>>()?,
    };
    Ok(RawPool { row, exclusions: r.try_get(6)?, policy: r.try_get(7)?, checksum: r.try_get(15)? })
}

fn raw_allocation(r: &postgres::Row) -> Result<RawAllocation, Error> {
    Ok(RawAllocation {
        pool_id: r.try_get(0)?,
        first: address(r.try_get(1)?)?,
        last: address(r.try_get(2)?)?,
        shape: r.try_get(3)?,
        owner: r.try_get(4)?,
        created: count(r.try_get(5)?)?,
        checksum: r.try_get(6)?,
    })
}

fn int(addr: Ipv4Addr) -> i64 {
    i64::from(u32::from(addr))
}

impl Rows for PgRows<'_, '_> {
    fn per_chunk(&self) -> bool {
        true
    }

    fn pool_checksum(&self, row: &PoolRow) -> i64 {
        row.definition_checksum()
    }

    fn pools(&self, by: PoolsBy<'_>) -> Result<Vec<RawPool>, Error> {
        let rows = match by {
            // Writers of one pool share its row (it cannot be removed under them) and lock the
            // chunks they change; a RoundRobin pool's writers take turns, for its cursor.
            PoolsBy::Name(name) if self.write => {
                let rows = self.query(pool_select!("WHERE p.name = $1 FOR KEY SHARE OF p"), &[&name])?;
                let round_robin =
                    rows.first().is_some_and(|r| r.try_get::<_, &str>(7).ok() == Some("round-robin"));
                if round_robin {
                    self.query(pool_select!("WHERE p.name = $1 FOR UPDATE OF p"), &[&name])?
                } else {
                    rows
                }
            }
            PoolsBy::Name(name) => self.query(pool_select!("WHERE p.name = $1"), &[&name])?,
            PoolsBy::Id(id) => self.query(pool_select!("WHERE p.id = $1"), &[&id])?,
            PoolsBy::All => self.query(pool_select!("ORDER BY p.name"), &[])?,
            PoolsBy::Containing(addr) => self.query(
                pool_select!(
                    "WHERE p.network <= $1 AND p.network + (1::bigint << (32 - p.prefix_len)) > $1
                     ORDER BY p.prefix_len"
                ),
                &[&int(addr)],
            )?,
            PoolsBy::Roots => {
                if self.write {
                    // Two controllers creating overlapping root pools would each see no overlap:
                    // root creations take turns ("IPAM" as the lock's key).
                    self.query("SELECT pg_advisory_xact_lock(1229996365)", &[])?;
                }
                self.query(pool_select!("WHERE p.parent_id IS NULL"), &[])?
            }
        };
        rows.iter().map(raw_pool).collect()
    }

    fn count_pools(&self, by: CountPools<'_>) -> Result<u64, Error> {
        let rows = match by {
            CountPools::Named(name) => self.query("SELECT count(*) FROM pools WHERE name = $1", &[&name])?,
            CountPools::All => self.query("SELECT count(*) FROM pools", &[])?,
            CountPools::ChildrenOf(id) => {
                self.query("SELECT count(*) FROM pools WHERE parent_id = $1", &[&id])?
            }
        };
        let row = rows.first().ok_or_else(|| crate::damaged("count(*) returned no row".into()))?;
        count(row.try_get(0)?)
    }

    fn insert_pool(&self, row: &PoolRow) -> Result<i64, Error> {
        let d = &row.def;
        let rows = self.query(
            "INSERT INTO pools (name, network, prefix_len, reserve_gateway, reserve_network_broadcast, exclusions,
                policy, parent_id, cursor, capacity, checksum)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0) RETURNING id",
            &[
                &d.name,
                &int(d.cidr.network()),
                &i16::from(d.cidr.prefix_len()),
                &d.gateway,
                &d.network_broadcast,
                &row.exclusions_text(),
                &d.policy_text(),
                &row.parent_id,
                &int(row.cursor),
                &to_i64(row.capacity),
            ],
        )?;
        let id: i64 =
            rows.first().ok_or_else(|| crate::damaged("INSERT returned no id".into()))?.try_get(0)?;
        let inserted = PoolRow { id, ..row.clone() };
        self.execute(
            "UPDATE pools SET checksum = $2 WHERE id = $1",
            &[&id, &inserted.definition_checksum()],
        )?;
        // A row for every chunk, each with its pristine summary byte: what writers lock.
        let summary: Vec<i16> = row.summary.iter().map(|&b| i16::from(b)).collect();
        let sums: Vec<i64> = row
            .summary
            .iter()
            .enumerate()
            .map(|(idx, &b)| chunk_checksum(id, idx, 0, &[], Some(b)))
            .collect();
        self.execute(
            "INSERT INTO chunks (pool_id, idx, used, bits, summary, allocations, checksum)
             SELECT $1, t.n - 1, 0, ''::bytea, t.summary, 0, t.checksum
             FROM unnest($2::smallint[], $3::bigint[]) WITH ORDINALITY AS t(summary, checksum, n)",
            &[&id, &summary, &sums],
        )?;
        Ok(id)
    }

    fn update_pool(&self, row: &PoolRow, checksum: i64) -> Result<(), Error> {
        // Only the cursor changes, and only RoundRobin reads it.
        if row.def.policy == Policy::RoundRobin {
            self.execute(
                "UPDATE pools SET cursor = $2, checksum = $3 WHERE id = $1",
                &[&row.id, &int(row.cursor), &checksum],
            )?;
        }
        Ok(())
    }

    fn delete_pool(&self, id: i64) -> Result<(), Error> {
        self.execute("DELETE FROM allocations WHERE pool_id = $1", &[&id])?;
        self.execute("DELETE FROM chunks WHERE pool_id = $1", &[&id])?;
        self.execute("DELETE FROM pools WHERE id = $1", &[&id])?;
        Ok(())
    }

    fn chunk(&self, pool_id: i64, idx: usize, lock: Lock) -> Result<Option<RawChunk>, Error> {
        let idx = to_i64(idx as u64);
        let rows = match (self.write, lock) {
            (false, _) => self.query(
                "SELECT used, bits, summary, checksum FROM chunks WHERE pool_id = $1 AND idx = $2",
                &[&pool_id, &idx],
            )?,
            (true, Lock::Wait) => self.query(
                "SELECT used, bits, summary, checksum FROM chunks WHERE pool_id = $1 AND idx = $2 FOR UPDATE",
                &[&pool_id, &idx],
            )?,
            (true, Lock::Skip) => self.query(
                "SELECT used, bits, summary, checksum FROM chunks WHERE pool_id = $1 AND idx = $2
                 FOR UPDATE SKIP LOCKED",
                &[&pool_id, &idx],
            )?,
        };
        rows.first().map(|r| raw_chunk(r, 0)).transpose()
    }

    fn chunk_list(&self, pool_id: i64) -> Result<Vec<(usize, Option<u8>)>, Error> {
        let rows = if self.write {
            self.query(
                "SELECT idx, summary FROM chunks WHERE pool_id = $1 ORDER BY idx FOR UPDATE",
                &[&pool_id],
            )?
        } else {
            self.query("SELECT idx, summary FROM chunks WHERE pool_id = $1 ORDER BY idx", &[&pool_id])?
        };
        rows.iter()
            .map(|r| {
                let idx = usize::try_from(r.try_get::<_, i64>(0)?).unwrap_or(usize::MAX);
                let summary = u8::try_from(r.try_get::<_, i16>(1)?)
                    .map_err(|_| crate::damaged("a summary byte".into()))?;
                Ok((idx, Some(summary)))
            })
            .collect()
    }

    fn put_chunk(
        &self,
        pool_id: i64,
        idx: usize,
        chunk: &ChunkWrite<'_>,
        checksum: i64,
    ) -> Result<(), Error> {
        self.execute(
            "UPDATE chunks SET used = $3, bits = $4, summary = $5, allocations = allocations + $6, checksum = $7
             WHERE pool_id = $1 AND idx = $2",
            &[
                &pool_id,
                &to_i64(idx as u64),
                &to_i64(chunk.used),
                &chunk.bits,
                &i16::from(chunk.summary),
                &chunk.rows_added,
                &checksum,
            ],
        )?;
        Ok(())
    }

    fn allocations(&self, by: AllocationsBy<'_>) -> Result<Vec<RawAllocation>, Error> {
        // In a write transaction the rows read are locked: two writers releasing the same
        // allocation take turns, and the second finds it gone.
        macro_rules! select {
            ($tail:literal, $params:expr) => {
                if self.write {
                    self.query(concat!(allocation_select!($tail), " FOR UPDATE"), $params)?
                } else {
                    self.query(allocation_select!($tail), $params)?
                }
            };
        }
        let rows = match by {
            AllocationsBy::Pool(id) => select!("pool_id = $1 ORDER BY first", &[&id]),
            AllocationsBy::Owner(id, owner) => select!("owner = $2 AND pool_id = $1", &[&id, &owner]),
            AllocationsBy::OwnerEverywhere(owner) => select!("owner = $1 ORDER BY pool_id, first", &[&owner]),
            // Owners compare byte by byte, as in SQLite: the column is `COLLATE "C"`.
            AllocationsBy::OwnerBetween { pool_id, from, to, inclusive: true } => select!(
                "pool_id = $1 AND owner >= $2 AND owner <= $3 ORDER BY first",
                &[&pool_id, &from, &to]
            ),
            AllocationsBy::OwnerBetween { pool_id, from, to, inclusive: false } => {
                select!("pool_id = $1 AND owner >= $2 AND owner < $3 ORDER BY first", &[&pool_id, &from, &to])
            }
            AllocationsBy::At(id, first) => select!("pool_id = $1 AND first = $2", &[&id, &int(first)]),
            AllocationsBy::AtOrBelow(id, addr) => {
                select!("pool_id = $1 AND first <= $2 ORDER BY first DESC LIMIT 1", &[&id, &int(addr)])
            }
        };
        rows.iter().map(raw_allocation).collect()
    }

    fn insert_allocation(&self, pool_id: i64, a: &Allocation, checksum: i64) -> Result<(), Error> {
        self.execute(
            "INSERT INTO allocations (pool_id, first, last, shape, owner, created, checksum)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &pool_id,
                &int(a.first),
                &int(a.last),
                &a.shape.as_str(),
                &a.owner,
                &to_i64(a.created),
                &checksum,
            ],
        )?;
        Ok(())
    }

    fn delete_allocation(&self, pool_id: i64, first: Ipv4Addr) -> Result<u64, Error> {
        self.execute("DELETE FROM allocations WHERE pool_id = $1 AND first = $2", &[&pool_id, &int(first)])
    }

    fn lock_pool(&self, id: i64) -> Result<(), Error> {
        self.execute("SELECT 1 FROM pools WHERE id = $1 FOR UPDATE", &[&id])?;
        Ok(())
    }

    fn integrity(&self) -> Result<Vec<String>, Error> {
        // PostgreSQL checks its own pages as it reads them (and their checksums, where the
        // cluster was initialised with them); the rows are checked by the store as they are read.
        Ok(Vec::new())
    }
}
