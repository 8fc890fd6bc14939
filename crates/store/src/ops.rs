//! Allocating and releasing: one transaction each, the allocator refreshed when stale.

use std::net::Ipv4Addr;

use ipam_core::Pool;
use rusqlite::{Transaction, TransactionBehavior, params};

use crate::Error;
use crate::model::{Allocation, CHILD_PREFIX, Release, Request, Shape, check_owner};
use crate::store::{PoolRow, Store, build_pool, bump, pool_row};

impl Store {
    /// Allocates from `pool` and records it, with an optional owner. Claiming again for the same
    /// owner returns what it already holds (idempotent); the allocator is not asked twice.
    ///
    /// ```
    /// use ipam_store::{Error, PoolDef, Request, Store};
    ///
    /// let mut store = Store::open_in_memory()?;
    /// store.add_pool(&PoolDef::new("lab", "10.9.0.0/30".parse()?))?;
    /// let a = store.allocate("lab", Request::Next, Some("aa:bb:cc:dd:ee:01"))?;
    /// assert_eq!(store.allocate("lab", Request::Next, Some("aa:bb:cc:dd:ee:01"))?, a);
    /// store.allocate("lab", Request::Next, None)?;
    /// let full = store.allocate("lab", Request::Next, None).unwrap_err();
    /// assert!(matches!(full, Error::Pool(ipam_core::Error::Exhausted { .. })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn allocate(
        &mut self,
        pool: &str,
        request: Request,
        owner: Option<&str>,
    ) -> Result<Allocation, Error> {
        if let Some(owner) = owner {
            check_owner(owner)?;
        }
        self.mutate(pool, |tx, row, alloc| {
            if let Some(owner) = owner
                && let Some(held) = by_owner(tx, row.id, owner)?
            {
                return if fits(&held, request) {
                    Ok((held, false))
                } else {
                    Err(Error::OwnerHoldsOther { pool: row.def.name.clone(), owner: owner.to_owned(), held: held.to_string() })
                };
            }
            let (first, last, shape) = match request {
                Request::Next => {
                    let a = alloc.allocate()?;
                    (a, a, Shape::Addr)
                }
                Request::Addr(a) => {
                    alloc.allocate_specific(a)?;
                    (a, a, Shape::Addr)
                }
                Request::Block(len) => {
                    let block = alloc.allocate_block(len)?;
                    (block.network(), block.broadcast(), Shape::Block)
                }
                Request::Range(count) => {
                    let range = alloc.allocate_range(count)?;
                    (*range.start(), *range.end(), Shape::Range)
                }
            };
            let allocation = Allocation { first, last, shape, owner: owner.map(str::to_owned), created: crate::now() };
            tx.execute(
                "INSERT INTO allocations (pool_id, first, last, shape, owner, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![row.id, u32::from(first), u32::from(last), shape.as_str(), owner, allocation.created],
            )?;
            Ok((allocation, true))
        })
    }

    /// Releases an allocation: by its address, block or range exactly as allocated, or
    /// everything an owner holds. Returns what was released.
    ///
    /// ```
    /// use ipam_store::{Error, PoolDef, Release, Request, Store};
    ///
    /// let mut store = Store::open_in_memory()?;
    /// store.add_pool(&PoolDef::new("lab", "10.9.0.0/24".parse()?))?;
    /// store.allocate("lab", Request::Next, Some("node-1"))?;
    /// let gone = store.release("lab", &Release::Owner("node-1".into()))?;
    /// assert_eq!(gone.len(), 1);
    /// assert!(matches!(store.release("lab", &Release::Owner("node-1".into())), Err(Error::NoSuchAllocation { .. })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn release(&mut self, pool: &str, target: &Release) -> Result<Vec<Allocation>, Error> {
        self.mutate(pool, |tx, row, alloc| {
            let found = match target {
                Release::Owner(o) => select(tx, "pool_id = ?1 AND owner = ?2", params![row.id, o])?,
                Release::Addr(a) => exact(tx, row.id, *a, *a, Shape::Addr)?,
                Release::Block(b) => exact(tx, row.id, b.network(), b.broadcast(), Shape::Block)?,
                Release::Range(f, l) => exact(tx, row.id, *f, *l, Shape::Range)?,
            };
            let Some(held) = found.first() else {
                let what = match target {
                    Release::Addr(a) => a.to_string(),
                    Release::Block(b) => b.to_string(),
                    Release::Range(f, l) => format!("{f}-{l}"),
                    Release::Owner(o) => format!("for owner `{o}`"),
                };
                return Err(Error::NoSuchAllocation { pool: row.def.name.clone(), what });
            };
            if let Some(child) = held.owner.as_deref().and_then(|o| o.strip_prefix(CHILD_PREFIX)) {
                return Err(Error::HeldByChildPool {
                    pool: row.def.name.clone(),
                    block: held.to_string(),
                    child: child.to_owned(),
                });
            }
            for a in &found {
                alloc.release_range(a.first..=a.last)?;
                tx.execute(
                    "DELETE FROM allocations WHERE pool_id = ?1 AND first = ?2",
                    params![row.id, u32::from(a.first)],
                )?;
            }
            Ok((found, true))
        })
    }

    /// Every allocation of a pool, lowest first.
    ///
    /// ```
    /// use ipam_store::{PoolDef, Request, Store};
    ///
    /// let mut store = Store::open_in_memory()?;
    /// store.add_pool(&PoolDef::new("lab", "10.9.0.0/24".parse()?))?;
    /// store.allocate("lab", Request::Range(3), None)?;
    /// let all = store.allocations("lab")?;
    /// assert_eq!(all[0].to_string(), "10.9.0.1-10.9.0.3");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn allocations(&self, pool: &str) -> Result<Vec<Allocation>, Error> {
        let row = pool_row(&self.conn, pool)?;
        select(&self.conn, "pool_id = ?1", params![row.id])
    }

    /// Runs one mutation of one pool in a `BEGIN IMMEDIATE` transaction. `f` returns its result
    /// and whether it changed anything. The cached allocator is used only if no process changed
    /// the pool since it was built, and is kept only after a successful commit.
    fn mutate<T>(
        &mut self,
        pool: &str,
        f: impl FnOnce(&Transaction<'_>, &PoolRow, &mut Pool) -> Result<(T, bool), Error>,
    ) -> Result<T, Error> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let row = pool_row(&tx, pool)?;
        let mut alloc = match self.cache.remove(&row.id) {
            Some((changes, alloc)) if changes == row.changes => alloc,
            _ => build_pool(&tx, &row)?,
        };
        let (value, changed) = f(&tx, &row, &mut alloc)?;
        if changed {
            bump(&tx, &row, alloc.cursor())?;
        }
        tx.commit()?;
        self.cache.insert(row.id, (row.changes + i64::from(changed), alloc));
        Ok(value)
    }
}

/// Whether what an owner holds answers a new request of theirs.
fn fits(held: &Allocation, request: Request) -> bool {
    let size = u64::from(u32::from(held.last) - u32::from(held.first)) + 1;
    match request {
        Request::Next => held.shape == Shape::Addr,
        Request::Addr(a) => held.shape == Shape::Addr && held.first == a,
        Request::Block(len) => held.shape == Shape::Block && size == 1u64 << (32 - u32::from(len.min(32))),
        Request::Range(n) => held.shape == Shape::Range && size == u64::from(n),
    }
}

/// The allocation of exactly this shape and extent.
fn exact(
    tx: &Transaction<'_>,
    pool_id: i64,
    first: Ipv4Addr,
    last: Ipv4Addr,
    shape: Shape,
) -> Result<Vec<Allocation>, Error> {
    let condition = "pool_id = ?1 AND first = ?2 AND last = ?3 AND shape = ?4";
    select(tx, condition, params![pool_id, u32::from(first), u32::from(last), shape.as_str()])
}

fn by_owner(tx: &Transaction<'_>, pool_id: i64, owner: &str) -> Result<Option<Allocation>, Error> {
    Ok(select(tx, "pool_id = ?1 AND owner = ?2", params![pool_id, owner])?.into_iter().next())
}

/// Allocations matching `condition`, lowest first.
pub(crate) fn select(
    conn: &rusqlite::Connection,
    condition: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<Allocation>, Error> {
    let sql = format!(
        "SELECT first, last, shape, owner, created FROM allocations WHERE {condition} ORDER BY first"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params, |r| {
        let shape: String = r.get(2)?;
        Ok(Allocation {
            first: Ipv4Addr::from(r.get::<_, u32>(0)?),
            last: Ipv4Addr::from(r.get::<_, u32>(1)?),
            shape: Shape::parse(&shape).unwrap_or(Shape::Range),
            owner: r.get(3)?,
            created: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
