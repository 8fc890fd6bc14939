//! Allocating and releasing: one write transaction each, one for a whole list of owners.

use std::net::Ipv4Addr;

use rusqlite::Connection;
use serde::Serialize;

use crate::model::{Allocation, CHILD_PREFIX, Release, Request, Shape, check_owner};
use crate::rows;
use crate::state::PoolState;
use crate::store::Store;
use crate::{Error, damaged};

/// One owner's allocation from [`Store::allocate_many`], and whether this call made it.
///
/// ```
/// use ipam_store::{PoolDef, Request, Store};
///
/// let mut store = Store::open_in_memory()?;
/// store.add_pool(&PoolDef::new("cams", "10.30.0.0/24".parse()?))?;
/// let first = store.allocate_many("cams", Request::Next, &["cam-1"])?;
/// let again = store.allocate_many("cams", Request::Next, &["cam-1", "cam-2"])?;
/// assert!(first[0].fresh && !again[0].fresh && again[1].fresh);
/// assert_eq!(again[0].allocation, first[0].allocation);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Claim {
    /// What the owner holds.
    pub allocation: Allocation,
    /// Made by this call (false: the owner held it already).
    pub fresh: bool,
}

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
        let now = crate::now();
        self.write(|tx, touched| {
            let state = touched.pool(tx, pool)?;
            Ok(claim(tx, state, request, owner, now)?.allocation)
        })
    }

    /// Allocates `request` for every owner of `owners`, in one transaction: all or nothing.
    /// Owners that already hold a matching allocation get it back (`fresh: false`); an owner
    /// named twice gets one allocation. The claims come back in the order of `owners`.
    ///
    /// ```
    /// use ipam_store::{Error, PoolDef, Request, Store};
    ///
    /// let mut store = Store::open_in_memory()?;
    /// store.add_pool(&PoolDef::new("tiny", "10.9.0.0/30".parse()?))?;
    /// let err = store.allocate_many("tiny", Request::Next, &["a", "b", "c"]).unwrap_err();
    /// assert!(matches!(err, Error::Pool(ipam_core::Error::Exhausted { .. })));
    /// assert!(store.allocations("tiny")?.is_empty()); // all or nothing
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn allocate_many(
        &mut self,
        pool: &str,
        request: Request,
        owners: &[&str],
    ) -> Result<Vec<Claim>, Error> {
        for owner in owners {
            check_owner(owner)?;
        }
        let now = crate::now();
        self.write(|tx, touched| {
            let state = touched.pool(tx, pool)?;
            owners.iter().map(|owner| claim(tx, state, request, Some(owner), now)).collect()
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
        self.write(|tx, touched| {
            let state = touched.pool(tx, pool)?;
            let id = state.row.id;
            let found = match target {
                Release::Owner(o) => rows::by_owner(tx, id, o)?,
                Release::Addr(a) => exact(tx, id, *a, *a, Shape::Addr)?,
                Release::Block(b) => exact(tx, id, b.network(), b.broadcast(), Shape::Block)?,
                Release::Range(f, l) => exact(tx, id, *f, *l, Shape::Range)?,
            };
            let Some(held) = found else {
                let what = match target {
                    Release::Addr(a) => a.to_string(),
                    Release::Block(b) => b.to_string(),
                    Release::Range(f, l) => format!("{f}-{l}"),
                    Release::Owner(o) => format!("for owner `{}`", crate::excerpt(o)),
                };
                return Err(Error::NoSuchAllocation { pool: pool.to_owned(), what });
            };
            if let Some(child) = held.owner.as_deref().and_then(|o| o.strip_prefix(CHILD_PREFIX)) {
                return Err(Error::HeldByChildPool {
                    pool: pool.to_owned(),
                    block: held.to_string(),
                    child: child.to_owned(),
                });
            }
            state.free(tx, held.first, held.last)?;
            rows::delete_allocation(tx, id, held.first)?;
            state.count_rows(false);
            Ok(vec![held])
        })
    }

    /// Every allocation of a pool, lowest first. Checked against the counts kept in the pool's
    /// row, so a damaged file cannot silently lose one from the list.
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
        self.read(|conn| {
            let state = PoolState::load(conn, pool)?;
            counted_allocations(conn, &state.row)
        })
    }
}

/// A pool's allocations, refused unless their number and size match the pool's counters.
pub(crate) fn counted_allocations(conn: &Connection, row: &rows::PoolRow) -> Result<Vec<Allocation>, Error> {
    let all = rows::allocations(conn, row.id)?;
    let addresses: u64 = all.iter().map(Allocation::size).sum();
    if all.len() as u64 != row.allocations || addresses != row.allocated {
        return Err(damaged(format!(
            "pool `{}` records {} allocations of {} addresses, but {} of {} were read",
            row.def.name,
            row.allocations,
            row.allocated,
            all.len(),
            addresses
        )));
    }
    Ok(all)
}

/// One owner's claim inside a write transaction.
fn claim(
    conn: &Connection,
    state: &mut PoolState,
    request: Request,
    owner: Option<&str>,
    now: u64,
) -> Result<Claim, Error> {
    if let Some(owner) = owner
        && let Some(held) = rows::by_owner(conn, state.row.id, owner)?
    {
        return if fits(&held, request) {
            Ok(Claim { allocation: held, fresh: false })
        } else {
            Err(Error::OwnerHoldsOther {
                pool: state.name().to_owned(),
                owner: crate::excerpt(owner),
                held: held.to_string(),
            })
        };
    }
    let (first, last, shape) = state.allocate(conn, request)?;
    let allocation = Allocation { first, last, shape, owner: owner.map(str::to_owned), created: now };
    rows::insert_allocation(conn, state.row.id, &allocation)?;
    state.count_rows(true);
    Ok(Claim { allocation, fresh: true })
}

/// Whether what an owner holds answers a new request of theirs.
fn fits(held: &Allocation, request: Request) -> bool {
    let size = held.size();
    match request {
        Request::Next => held.shape == Shape::Addr,
        Request::Addr(a) => held.shape == Shape::Addr && held.first == a,
        Request::Block(len) => held.shape == Shape::Block && size == 1u64 << (32 - u32::from(len.min(32))),
        Request::Range(n) => held.shape == Shape::Range && size == u64::from(n),
    }
}

/// The allocation of exactly this shape and extent.
fn exact(
    conn: &Connection,
    pool_id: i64,
    first: Ipv4Addr,
    last: Ipv4Addr,
    shape: Shape,
) -> Result<Option<Allocation>, Error> {
    Ok(rows::at(conn, pool_id, first)?.filter(|a| a.last == last && a.shape == shape))
}
