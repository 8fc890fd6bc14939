//! The store: a state file, opened for writing or for reading, and the pools in it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use ipnet::Ipv4Net;
use rusqlite::{Connection, TransactionBehavior};

use crate::layout::{CHUNK_ORDER, Layout, NONE_FREE, STORED};
use crate::model::{CHILD_PREFIX, PoolDef, PoolInfo, PoolUse, check_name};
use crate::rows::{self, Rows};
use crate::state::PoolState;
use crate::{Error, schema};

/// Pools and allocations in a crash-safe SQLite file (WAL, `synchronous = FULL`), shared safely
/// between processes.
///
/// Every mutation is one `BEGIN IMMEDIATE` transaction: it takes the write lock (waiting, not
/// failing, while another process holds it), reads the pool's row and only the chunks of the
/// pool's bitmap it needs (each verified against its checksum), chooses with `ipam_core`, writes,
/// commits, and only then reports success. Readers never wait for writers: they read the last
/// committed state.
///
/// ```
/// use ipam_store::{PoolDef, Request, Store};
///
/// let dir = std::env::temp_dir().join(format!("ipam-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let path = dir.join("state.db");
/// let mut store = Store::open(&path)?;
/// store.add_pool(&PoolDef::new("nodes", "10.20.0.0/24".parse()?))?;
/// let a = store.allocate("nodes", Request::Next, Some("gpu-node-001"))?;
/// drop(store);
/// let mut again = Store::open(&path)?;
/// assert_eq!(again.allocate("nodes", Request::Next, Some("gpu-node-001"))?, a); // idempotent
/// # std::fs::remove_dir_all(&dir).unwrap();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Store {
    backend: Backend,
    clock: Clock,
    /// Pools kept in memory between calls, where the database arbitrates allocations itself.
    #[cfg(feature = "postgres")]
    controller: crate::controller::Controller,
}

/// Where the state lives.
enum Backend {
    /// A file (or memory), and the path errors name.
    Sqlite { conn: Connection, path: PathBuf },
    /// A PostgreSQL database.
    #[cfg(feature = "postgres")]
    Postgres(Box<crate::postgres::Database>),
}

/// Where a store reads the time: seconds since the Unix epoch.
type Clock = Box<dyn Fn() -> u64 + Send + Sync>;

/// The system clock (0 before 1970).
fn system_clock() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// The pools one write transaction has touched, flushed together at its commit.
pub(crate) struct Touched(HashMap<String, PoolState>);

impl Touched {
    pub(crate) fn new() -> Touched {
        Touched(HashMap::new())
    }

    /// The pool named `name` as this transaction sees it.
    pub(crate) fn pool(&mut self, conn: &dyn Rows, name: &str) -> Result<&mut PoolState, Error> {
        if !self.0.contains_key(name) {
            let state = PoolState::load(conn, name)?;
            self.0.insert(name.to_owned(), state);
        }
        Ok(self.0.get_mut(name).expect("inserted above"))
    }

    pub(crate) fn insert(&mut self, state: PoolState) {
        self.0.insert(state.name().to_owned(), state);
    }

    pub(crate) fn forget(&mut self, name: &str) {
        self.0.remove(name);
    }

    /// Writes every touched pool.
    pub(crate) fn flush(&mut self, conn: &dyn Rows) -> Result<(), Error> {
        for state in self.0.values_mut() {
            state.flush(conn)?;
        }
        Ok(())
    }
}

impl Store {
    /// Opens the state file at `path` for reading and writing, creating it if it does not exist.
    /// A file that is not ours or comes from a newer version is refused and left untouched; one
    /// from an older version is upgraded in one transaction.
    ///
    /// ```
    /// use ipam_store::{Error, Store};
    ///
    /// let path = std::env::temp_dir().join(format!("ipam-not-ours-{}", std::process::id()));
    /// std::fs::write(&path, b"hello, not a database at all, just some bytes in a file..........................")?;
    /// assert!(matches!(Store::open(&path), Err(Error::NotOurs { .. })));
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open(path: impl AsRef<Path>) -> Result<Store, Error> {
        let path = path.as_ref();
        if let Some(url) = postgres_url(path) {
            return Store::open_postgres(url, false);
        }
        Ok(Store::sqlite(schema::open(path)?, path))
    }

    /// Opens an existing state file for reading only: no lock that a writer waits for, nothing
    /// created (a missing file is [`Error::NoStateFile`]), and it works on a read-only mount or a
    /// full disk. Every method that changes the state fails on such a store.
    ///
    /// ```
    /// use ipam_store::{Error, Store};
    ///
    /// let path = std::env::temp_dir().join("ipam-no-such-state-file.db");
    /// assert!(matches!(Store::open_read_only(&path), Err(Error::NoStateFile { .. })));
    /// assert!(!path.exists());
    /// ```
    pub fn open_read_only(path: impl AsRef<Path>) -> Result<Store, Error> {
        let path = path.as_ref();
        if let Some(url) = postgres_url(path) {
            return Store::open_postgres(url, true);
        }
        Ok(Store::sqlite(schema::open_read_only(path)?, path))
    }

    /// A store that lives in memory only (tests, examples).
    ///
    /// ```
    /// let store = ipam_store::Store::open_in_memory()?;
    /// assert!(store.pools()?.is_empty());
    /// # Ok::<(), ipam_store::Error>(())
    /// ```
    pub fn open_in_memory() -> Result<Store, Error> {
        Ok(Store::sqlite(schema::open_in_memory()?, Path::new(":memory:")))
    }

    fn sqlite(conn: Connection, path: &Path) -> Store {
        Store {
            backend: Backend::Sqlite { conn, path: path.to_owned() },
            clock: Box::new(system_clock),
            #[cfg(feature = "postgres")]
            controller: Default::default(),
        }
    }

    #[cfg(feature = "postgres")]
    fn open_postgres(url: &str, read_only: bool) -> Result<Store, Error> {
        let database = crate::postgres::Database::open(url, read_only)?;
        Ok(Store {
            backend: Backend::Postgres(Box::new(database)),
            clock: Box::new(system_clock),
            controller: Default::default(),
        })
    }

    #[cfg(not(feature = "postgres"))]
    fn open_postgres(_url: &str, _read_only: bool) -> Result<Store, Error> {
        Err(Error::NoPostgres)
    }

    /// Where the state lives, as errors and logs name it: the file's path, or the database's URL
    /// without its password.
    ///
    /// ```
    /// let store = ipam_store::Store::open_in_memory()?;
    /// assert_eq!(store.location(), ":memory:");
    /// # Ok::<(), ipam_store::Error>(())
    /// ```
    pub fn location(&self) -> String {
        match &self.backend {
            Backend::Sqlite { path, .. } => path.display().to_string(),
            #[cfg(feature = "postgres")]
            Backend::Postgres(db) => db.location().to_owned(),
        }
    }

    /// Sets the clock the store reads: creation times and cooldowns (seconds since the Unix
    /// epoch). The system clock by default; tests and simulations pass their own.
    ///
    /// ```
    /// use ipam_store::{PoolDef, Request, Store};
    ///
    /// let mut store = Store::open_in_memory()?;
    /// store.set_clock(|| 1_800_000_000);
    /// store.add_pool(&PoolDef::new("lab", "10.9.0.0/24".parse()?))?;
    /// assert_eq!(store.allocate("lab", Request::Next, None)?.created, 1_800_000_000);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn set_clock(&mut self, clock: impl Fn() -> u64 + Send + Sync + 'static) {
        self.clock = Box::new(clock);
    }

    /// The time now, by the store's clock.
    pub(crate) fn now(&self) -> u64 {
        (self.clock)()
    }

    /// Runs `f` in one write transaction: all of it commits, or none. SQLite: `BEGIN
    /// IMMEDIATE`, one writer at a time. PostgreSQL: each pool's row is locked as `f` first
    /// touches it, and a transaction that lost a race (serialization failure, deadlock, or a
    /// constraint that another writer got to first) is run again, a bounded number of times.
    pub(crate) fn write<T>(
        &mut self,
        mut f: impl FnMut(&dyn Rows, &mut Touched) -> Result<T, Error>,
    ) -> Result<T, Error> {
        match &mut self.backend {
            Backend::Sqlite { conn, path } => {
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(|e| schema::classify(e, path))?;
                let mut touched = Touched::new();
                let value = f(&*tx, &mut touched).map_err(|e| e.at(path))?;
                touched.flush(&*tx).map_err(|e| e.at(path))?;
                tx.commit().map_err(|e| schema::classify(e, path))?;
                Ok(value)
            }
            #[cfg(feature = "postgres")]
            Backend::Postgres(db) => db.write(|rows| {
                let mut touched = Touched::new();
                let value = f(rows, &mut touched)?;
                touched.flush(rows)?;
                Ok(value)
            }),
        }
    }

    /// Allocates in one statement where the database arbitrates by itself and the pools this
    /// store keeps in memory settle it ([`crate::controller`]); `None` leaves it to a transaction.
    pub(crate) fn allocate_alone(
        &mut self,
        pool: &str,
        request: crate::model::Request,
        owner: Option<&str>,
        now: u64,
    ) -> Result<Option<crate::model::Allocation>, Error> {
        match &self.backend {
            #[cfg(feature = "postgres")]
            Backend::Postgres(db) if !db.read_only() => {
                self.controller.allocate(db.as_ref(), pool, request, owner, now)
            }
            _ => {
                let _ = (pool, request, owner, now);
                Ok(None)
            }
        }
    }

    /// Runs `f` on one consistent snapshot (a read transaction: writers go on meanwhile).
    pub(crate) fn read<T>(&self, f: impl FnOnce(&dyn Rows) -> Result<T, Error>) -> Result<T, Error> {
        match &self.backend {
            Backend::Sqlite { conn, path } => {
                let tx = conn.unchecked_transaction().map_err(|e| schema::classify(e, path))?;
                let value = f(&*tx).map_err(|e| e.at(path))?;
                tx.finish()?;
                Ok(value)
            }
            #[cfg(feature = "postgres")]
            Backend::Postgres(db) => db.read(f),
        }
    }

    /// Creates a pool. A root pool may not overlap another root pool; a pool with a `parent` takes
    /// its network as a block allocated from the parent, in the same transaction.
    ///
    /// ```
    /// use ipam_store::{Error, PoolDef, Store};
    ///
    /// let mut store = Store::open_in_memory()?;
    /// store.add_pool(&PoolDef::new("dc", "10.0.0.0/16".parse()?))?;
    /// let rack = PoolDef { parent: Some("dc".into()), ..PoolDef::new("rack-1", "10.0.4.0/24".parse()?) };
    /// store.add_pool(&rack)?;
    /// let clash = PoolDef::new("other", "10.0.128.0/17".parse()?);
    /// assert!(matches!(store.add_pool(&clash), Err(Error::Overlap { .. })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn add_pool(&mut self, def: &PoolDef) -> Result<(), Error> {
        let now = self.now();
        self.write(|tx, touched| add_pool_in(tx, touched, def, now))
    }

    /// Creates the child pool `name` on a free aligned block of `prefix_len`, chosen from
    /// `parent` by its policy, in one transaction; `define` shapes the child from its block (its
    /// reservations and exclusions; its name, network and parent are set here). Idempotent: if
    /// `name` exists as a child of `parent`, its definition is returned and nothing changes. This
    /// is how a CNI plugin gives each node its own block of a rail's subnet.
    ///
    /// ```
    /// use ipam_store::{PoolDef, Store};
    ///
    /// let mut store = Store::open_in_memory()?;
    /// store.add_pool(&PoolDef { network_broadcast: false, ..PoolDef::new("rail0", "10.9.0.0/24".parse()?) })?;
    /// let shape = |block| PoolDef { network_broadcast: false, ..PoolDef::new("-", block) };
    /// let a = store.carve_pool("rail0", "rail0.node-a", 26, shape)?;
    /// let b = store.carve_pool("rail0", "rail0.node-b", 26, shape)?;
    /// assert_eq!((a.cidr.to_string(), b.cidr.to_string()), ("10.9.0.0/26".into(), "10.9.0.64/26".into()));
    /// assert_eq!(store.carve_pool("rail0", "rail0.node-a", 26, shape)?, a); // once per node
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn carve_pool(
        &mut self,
        parent: &str,
        name: &str,
        prefix_len: u8,
        define: impl Fn(Ipv4Net) -> PoolDef,
    ) -> Result<PoolDef, Error> {
        let now = self.now();
        self.write(|tx, touched| {
            if let Some(existing) = rows::pool_by_name(tx, name)? {
                return if existing.def.parent.as_deref() == Some(parent) {
                    Ok(existing.def)
                } else {
                    Err(Error::PoolExists { name: name.to_owned() })
                };
            }
            let state = touched.pool(tx, parent)?;
            let (first, last, _) = state.allocate(tx, crate::Request::Block(prefix_len))?;
            // Chosen; `add_pool_in` takes it again with the child's record, by the same rules.
            state.free(tx, first, last)?;
            let block = Ipv4Net::new(first, prefix_len)
                .map_err(|_| crate::damaged("a block without a prefix".into()))?;
            let def = PoolDef {
                name: name.to_owned(),
                cidr: block,
                parent: Some(parent.to_owned()),
                ..define(block)
            };
            add_pool_in(tx, touched, &def, now)?;
            Ok(def)
        })
    }

    /// Removes a pool. One that holds allocations is refused unless `force`; one that has child
    /// pools is always refused (remove them first). A child pool's block goes back to its parent.
    ///
    /// ```
    /// use ipam_store::{Error, PoolDef, Request, Store};
    ///
    /// let mut store = Store::open_in_memory()?;
    /// store.add_pool(&PoolDef::new("lab", "10.9.0.0/24".parse()?))?;
    /// store.allocate("lab", Request::Next, None)?;
    /// assert!(matches!(store.remove_pool("lab", false), Err(Error::InUse { .. })));
    /// store.remove_pool("lab", true)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn remove_pool(&mut self, name: &str, force: bool) -> Result<(), Error> {
        self.write(|tx, touched| {
            // Every other writer of the pool finishes first, and none starts: then its counts.
            let id = touched.pool(tx, name)?.row.id;
            rows::lock_pool(tx, id)?;
            touched.forget(name);
            let row = touched.pool(tx, name)?.row.clone();
            let children = rows::children(tx, row.id)?;
            if children > 0 {
                return Err(Error::InUse { name: name.to_owned(), allocations: children });
            }
            if row.allocations > 0 && !force {
                return Err(Error::InUse { name: name.to_owned(), allocations: row.allocations });
            }
            if let Some(parent) = &row.def.parent {
                let parent = touched.pool(tx, parent)?;
                let cidr = row.def.cidr;
                parent.free(tx, cidr.network(), cidr.broadcast())?;
                rows::delete_allocation(tx, parent.row.id, cidr.network())?;
                parent.count_rows(cidr.network(), false)?;
            }
            touched.forget(name);
            rows::delete_pool(tx, row.id)
        })
    }

    /// Every pool with its use, by name. Reads the pools' rows only, never their allocations.
    /// A container's capacity, allocated and free counts are the sums of its children's.
    ///
    /// ```
    /// use ipam_store::PoolDef;
    ///
    /// let mut store = ipam_store::Store::open_in_memory()?;
    /// store.add_pool(&PoolDef::new("b", "10.2.0.0/24".parse()?))?;
    /// store.add_pool(&PoolDef::new("a", "10.1.0.0/16".parse()?).container(true))?;
    /// store.add_pool(&PoolDef { parent: Some("a".into()), ..PoolDef::new("a1", "10.1.0.0/30".parse()?) })?;
    /// store.allocate("a1", ipam_store::Request::Next, None)?;
    /// let uses = store.pools()?;
    /// let names: Vec<_> = uses.iter().map(|p| p.def.name.as_str()).collect();
    /// assert_eq!(names, ["a", "a1", "b"]);
    /// assert_eq!((uses[0].capacity, uses[0].allocated), (2, 1)); // a1's, not a /16 with a /30 taken
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn pools(&self) -> Result<Vec<PoolUse>, Error> {
        self.read(all_uses)
    }

    /// One pool with its counts, largest free block and fragmentation (reads the pool's chunks).
    ///
    /// ```
    /// let mut store = ipam_store::Store::open_in_memory()?;
    /// store.add_pool(&ipam_store::PoolDef::new("lab", "10.9.0.0/30".parse()?))?;
    /// assert_eq!(store.pool("lab")?.stats.free, 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn pool(&self, name: &str) -> Result<PoolInfo, Error> {
        self.read(|conn| {
            let mut state = PoolState::load(conn, name)?;
            let pool = state.whole(conn)?;
            info(conn, &state.row, pool.stats())
        })
    }

    /// [`Store::pool`] and [`Store::free_blocks`] from one snapshot (what `ipam pool show` prints).
    ///
    /// ```
    /// let mut store = ipam_store::Store::open_in_memory()?;
    /// store.add_pool(&ipam_store::PoolDef::new("lab", "10.9.0.0/30".parse()?))?;
    /// let (info, free) = store.pool_and_free_blocks("lab")?;
    /// assert_eq!((info.stats.free, free.len()), (2, 2));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn pool_and_free_blocks(&self, name: &str) -> Result<(PoolInfo, Vec<Ipv4Net>), Error> {
        self.read(|conn| {
            let mut state = PoolState::load(conn, name)?;
            let pool = state.whole(conn)?;
            Ok((info(conn, &state.row, pool.stats())?, pool.free_blocks().collect()))
        })
    }

    /// A pool's definition, from its row alone.
    ///
    /// ```
    /// use ipam_store::{Error, PoolDef, Store};
    ///
    /// let mut store = Store::open_in_memory()?;
    /// store.add_pool(&PoolDef::new("lab", "10.9.0.0/24".parse()?))?;
    /// assert_eq!(store.definition("lab")?.cidr.to_string(), "10.9.0.0/24");
    /// assert!(matches!(store.definition("nope"), Err(Error::NoSuchPool { .. })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn definition(&self, name: &str) -> Result<PoolDef, Error> {
        self.read(|conn| Ok(PoolState::load(conn, name)?.row.def))
    }

    /// The free space of a pool as its minimal CIDR cover.
    ///
    /// ```
    /// let mut store = ipam_store::Store::open_in_memory()?;
    /// store.add_pool(&ipam_store::PoolDef::new("lab", "10.9.0.0/30".parse()?))?;
    /// assert_eq!(store.free_blocks("lab")?.len(), 2); // .1 and .2
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn free_blocks(&self, name: &str) -> Result<Vec<Ipv4Net>, Error> {
        self.read(|conn| Ok(PoolState::load(conn, name)?.whole(conn)?.free_blocks().collect()))
    }
}

/// The URL in `location`, if it names a PostgreSQL database.
fn postgres_url(location: &Path) -> Option<&str> {
    location.to_str().filter(|s| crate::is_postgres_url(s))
}

/// A pool's use from its row alone.
/// A pool's info from its row and its allocator's stats; a container counts its children's
/// addresses (its free blocks stay its own: the space no child pool holds yet).
fn info(conn: &dyn Rows, row: &rows::PoolRow, mut stats: ipam_core::PoolStats) -> Result<PoolInfo, Error> {
    if row.def.container
        && let Some(u) = all_uses(conn)?.into_iter().find(|u| u.def.name == row.def.name)
    {
        (stats.capacity, stats.allocated, stats.free) = (u.capacity, u.allocated, u.free);
    }
    Ok(PoolInfo { def: row.def.clone(), cursor: row.cursor, allocations: row.allocations, stats })
}

/// Every pool's use, containers counting their children's.
fn all_uses(conn: &dyn Rows) -> Result<Vec<PoolUse>, Error> {
    let mut uses = rows::all_pools(conn)?.iter().map(use_of).collect::<Result<Vec<_>, _>>()?;
    crate::container::sum_children(&mut uses);
    Ok(uses)
}

fn use_of(row: &rows::PoolRow) -> Result<PoolUse, Error> {
    let layout = Layout::new(&row.def);
    if row.summary.len() != layout.chunks() {
        return Err(crate::damaged(format!("pool `{}`: its summary has the wrong size", row.def.name)));
    }
    let free = row.capacity.checked_sub(row.allocated).ok_or_else(|| {
        crate::damaged(format!("pool `{}` counts more allocated addresses than it has", row.def.name))
    })?;
    Ok(PoolUse {
        def: row.def.clone(),
        cursor: row.cursor,
        allocations: row.allocations,
        capacity: row.capacity,
        allocated: row.allocated,
        free,
        largest_free_block: largest_free(&layout, &row.summary),
    })
}

/// The prefix length of the largest free aligned block, from the summary: the best chunk, or
/// aligned runs of entirely free chunks.
fn largest_free(layout: &Layout, summary: &[u8]) -> Option<u8> {
    let orders = summary.iter().map(|s| s & !STORED).filter(|&s| s != NONE_FREE);
    let best = u32::from(orders.max()?);
    if layout.window_order() < CHUNK_ORDER || best < CHUNK_ORDER {
        return Some((32 - best) as u8);
    }
    let mut free: Vec<bool> = summary.iter().map(|s| u32::from(s & !STORED) == CHUNK_ORDER).collect();
    let mut order = CHUNK_ORDER;
    while free.len() > 1 {
        let up: Vec<bool> = free.chunks(2).map(|pair| pair.iter().all(|&f| f)).collect();
        if !up.contains(&true) {
            break;
        }
        free = up;
        order += 1;
    }
    Some((32 - order) as u8)
}

/// Creates a pool inside a write transaction, after checking it is new and overlaps no root (shared
/// by `add_pool` and `import`; `apply` checks against one read of every pool).
pub(crate) fn add_pool_in(
    tx: &dyn Rows,
    touched: &mut Touched,
    def: &PoolDef,
    now: u64,
) -> Result<(), Error> {
    check_name(&def.name)?;
    if rows::pool_by_name(tx, &def.name)?.is_some() {
        return Err(Error::PoolExists { name: def.name.clone() });
    }
    PoolState::new_row(def, None)?; // a bad definition is reported before any overlap
    if def.parent.is_none()
        && let Some((other, other_cidr)) = rows::root_overlapping(tx, def.cidr)?
    {
        return Err(Error::Overlap { cidr: def.cidr, other, other_cidr });
    }
    insert_new_pool(tx, touched, def, now)
}

/// Adds a pool known to be new and, if a root, to overlap no other root: its parent gives it
/// its block.
pub(crate) fn insert_new_pool(
    tx: &dyn Rows,
    touched: &mut Touched,
    def: &PoolDef,
    now: u64,
) -> Result<(), Error> {
    check_name(&def.name)?;
    let mut row = PoolState::new_row(def, None)?;
    row.parent_id = match &def.parent {
        Some(parent) => {
            let parent = touched.pool(tx, parent)?;
            parent.take(tx, def.cidr.network(), def.cidr.broadcast())?;
            let block = crate::Allocation {
                first: def.cidr.network(),
                last: def.cidr.broadcast(),
                shape: crate::Shape::Block,
                owner: Some(format!("{CHILD_PREFIX}{}", def.name)),
                created: now,
            };
            rows::insert_allocation(tx, parent.row.id, &block)?;
            parent.count_rows(def.cidr.network(), true)?;
            Some(parent.row.id)
        }
        None => None,
    };
    rows::insert_pool(tx, &mut row)?;
    touched.insert(PoolState::from_row(tx, row)?);
    Ok(())
}
