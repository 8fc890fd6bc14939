//! Allocating and releasing: one write transaction each, one for a whole list of owners.

use std::net::Ipv4Addr;

use crate::rows::Rows;
use serde::Serialize;

use crate::model::{Allocation, CHILD_PREFIX, Release, Request, Shape, check_owner, cooldown_owner};
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
        let now = self.now();
        if let Some(allocation) = self.allocate_alone(pool, request, owner, now)? {
            return Ok(allocation);
        }
        self.write(|tx, touched| {
            let state = touched.pool(tx, pool)?;
            Ok(claim(tx, state, request, owner, now, &mut false)?.allocation)
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
        let now = self.now();
        self.write(|tx, touched| {
            let state = touched.pool(tx, pool)?;
            let mut expired = false;
            owners.iter().map(|owner| claim(tx, state, request, Some(owner), now, &mut expired)).collect()
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
        self.release_cooling(pool, target, 0)
    }

    /// Releases like [`Store::release`], but the addresses are not handed out again for
    /// `cooldown` seconds (stale ARP caches and conntrack entries on the fabric still point at
    /// the old holder). Meanwhile they are held by the owner `cooldown:UNTIL:FIRST` and listed
    /// as such; the first allocation in the pool after UNTIL frees them.
    ///
    /// ```
    /// use std::sync::{Arc, atomic::{AtomicU64, Ordering}};
    /// use ipam_store::{PoolDef, Release, Request, Store};
    ///
    /// let now = Arc::new(AtomicU64::new(1_000));
    /// let mut store = Store::open_in_memory()?;
    /// let clock = now.clone();
    /// store.set_clock(move || clock.load(Ordering::Relaxed));
    /// store.add_pool(&PoolDef::new("rail0", "10.9.0.0/30".parse()?))?;
    /// let a = store.allocate("rail0", Request::Next, Some("pod-a/net1"))?;
    /// store.release_cooling("rail0", &Release::Owner("pod-a/net1".into()), 30)?;
    /// assert_ne!(store.allocate("rail0", Request::Next, Some("pod-b/net1"))?.first, a.first);
    /// now.store(1_030, Ordering::Relaxed);
    /// store.release("rail0", &Release::Owner("pod-b/net1".into()))?;
    /// assert_eq!(store.allocate("rail0", Request::Next, Some("pod-c/net1"))?.first, a.first);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn release_cooling(
        &mut self,
        pool: &str,
        target: &Release,
        cooldown: u64,
    ) -> Result<Vec<Allocation>, Error> {
        let now = self.now();
        self.write(|tx, touched| Ok(vec![release_one(tx, touched.pool(tx, pool)?, target, now, cooldown)?]))
    }

    /// Releases every one of `targets` (as [`Store::release`] does each) in one transaction: all,
    /// or none when one of them is not there.
    ///
    /// ```
    /// use ipam_store::{Error, PoolDef, Release, Request, Store};
    ///
    /// let mut store = Store::open_in_memory()?;
    /// store.add_pool(&PoolDef::new("lab", "10.9.0.0/24".parse()?))?;
    /// let a = store.allocate("lab", Request::Next, None)?;
    /// let b = store.allocate("lab", Request::Next, None)?;
    /// let missing = Release::Addr("10.9.0.99".parse()?);
    /// assert!(store.release_all("lab", &[Release::Addr(a.first), missing]).is_err());
    /// assert_eq!(store.allocations("lab")?.len(), 2); // none
    /// store.release_all("lab", &[Release::Addr(a.first), Release::Addr(b.first)])?;
    /// assert!(store.allocations("lab")?.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn release_all(&mut self, pool: &str, targets: &[Release]) -> Result<Vec<Allocation>, Error> {
        let now = self.now();
        self.write(|tx, touched| {
            let state = touched.pool(tx, pool)?;
            targets.iter().map(|target| release_one(tx, state, target, now, 0)).collect()
        })
    }

    /// Releases, in one transaction, every allocation of `pool` whose owner starts with
    /// `prefix` and that `keep` does not want kept, each with `cooldown` (see
    /// [`Store::release_cooling`]). Returns what was released. This is how a CNI plugin's
    /// garbage collection frees the attachments the runtime no longer knows.
    ///
    /// ```
    /// use ipam_store::{PoolDef, Request, Store};
    ///
    /// let mut store = Store::open_in_memory()?;
    /// store.add_pool(&PoolDef::new("rail0", "10.9.0.0/24".parse()?))?;
    /// store.allocate_many("rail0", Request::Next, &["net/a/eth1", "net/b/eth1", "other/c/eth1"])?;
    /// let gone = store.release_owned("rail0", "net/", |owner| owner == "net/a/eth1", 0)?;
    /// assert_eq!(gone.len(), 1);
    /// assert_eq!(gone[0].owner.as_deref(), Some("net/b/eth1"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn release_owned(
        &mut self,
        pool: &str,
        prefix: &str,
        keep: impl Fn(&str) -> bool,
        cooldown: u64,
    ) -> Result<Vec<Allocation>, Error> {
        let now = self.now();
        self.write(|tx, touched| {
            let state = touched.pool(tx, pool)?;
            let stale: Vec<Allocation> = rows::owned_with_prefix(tx, state.row.id, prefix)?
                .into_iter()
                // Child pools' blocks and blocks in their cooldown are never the prefix's to release.
                .filter(|a| {
                    !a.owner.as_deref().is_some_and(|o| {
                        o.starts_with(CHILD_PREFIX) || o.starts_with(crate::model::COOLDOWN_PREFIX)
                    })
                })
                .filter(|a| !a.owner.as_deref().is_some_and(&keep))
                .collect();
            for held in &stale {
                give_back(tx, state, held, now, cooldown)?;
            }
            Ok(stale)
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
pub(crate) fn counted_allocations(conn: &dyn Rows, row: &rows::PoolRow) -> Result<Vec<Allocation>, Error> {
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
    conn: &dyn Rows,
    state: &mut PoolState,
    request: Request,
    owner: Option<&str>,
    now: u64,
    expired: &mut bool,
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
    if state.row.def.container {
        return Err(Error::Container { pool: state.name().to_owned() });
    }
    if !*expired {
        expire_cooldowns(conn, state, now)?;
        *expired = true;
    }
    let (first, last, shape) = state.allocate(conn, request)?;
    let allocation = Allocation { first, last, shape, owner: owner.map(str::to_owned), created: now };
    rows::insert_allocation(conn, state.row.id, &allocation)?;
    state.count_rows(first, true)?;
    Ok(Claim { allocation, fresh: true })
}

/// Releases one allocation of `state`'s pool inside a write transaction.
fn release_one(
    tx: &dyn Rows,
    state: &mut PoolState,
    target: &Release,
    now: u64,
    cooldown: u64,
) -> Result<Allocation, Error> {
    let pool = state.name().to_owned();
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
        return Err(Error::NoSuchAllocation { pool, what });
    };
    if let Some(child) = held.owner.as_deref().and_then(|o| o.strip_prefix(CHILD_PREFIX)) {
        return Err(Error::HeldByChildPool { pool, block: held.to_string(), child: child.to_owned() });
    }
    give_back(tx, state, &held, now, cooldown)?;
    Ok(held)
}

/// Frees `held` now, or hands it to its cooldown owner until `now + cooldown`.
fn give_back(
    conn: &dyn Rows,
    state: &mut PoolState,
    held: &Allocation,
    now: u64,
    cooldown: u64,
) -> Result<(), Error> {
    rows::delete_allocation(conn, state.row.id, held.first)?;
    if cooldown == 0 {
        state.free(conn, held.first, held.last)?;
        state.count_rows(held.first, false)?;
    } else {
        let owner = cooldown_owner(now.saturating_add(cooldown), held.first);
        let cooling = Allocation { owner: Some(owner), created: now, ..held.clone() };
        rows::insert_allocation(conn, state.row.id, &cooling)?;
        state.count_rows(held.first, true)?;
        state.count_rows(held.first, false)?;
    }
    Ok(())
}

/// Frees the pool's blocks whose cooldown has ended (before an allocation looks for space).
fn expire_cooldowns(conn: &dyn Rows, state: &mut PoolState, now: u64) -> Result<(), Error> {
    for held in rows::cooled(conn, state.row.id, now)? {
        rows::delete_allocation(conn, state.row.id, held.first)?;
        state.free(conn, held.first, held.last)?;
        state.count_rows(held.first, false)?;
    }
    Ok(())
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
    conn: &dyn Rows,
    pool_id: i64,
    first: Ipv4Addr,
    last: Ipv4Addr,
    shape: Shape,
) -> Result<Option<Allocation>, Error> {
    Ok(rows::at(conn, pool_id, first)?.filter(|a| a.last == last && a.shape == shape))
}
