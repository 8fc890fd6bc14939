//! The store: a state file, and an in-memory allocator per pool rebuilt from it.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::path::Path;

use ipam_core::{Policy, Pool};
use ipnet::Ipv4Net;
use roaring::RoaringBitmap;
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

use crate::model::{CHILD_PREFIX, PoolDef, PoolInfo, check_name};
use crate::{Error, schema};

/// Pools and allocations in a crash-safe SQLite file (WAL, `synchronous = FULL`), shared safely
/// between processes.
///
/// Every mutation is one `BEGIN IMMEDIATE` transaction: it takes the write lock (waiting, not
/// failing, while another process holds it), refreshes the pool from the file if another process
/// changed it, chooses with `ipam_core`, writes, commits, and only then reports success. On any
/// error the in-memory pool is dropped, so it can never run ahead of the file.
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
    pub(crate) conn: Connection,
    /// Pool id -> (the `changes` counter it was built at, the allocator).
    pub(crate) cache: HashMap<i64, (i64, Pool)>,
}

/// A pool's row.
#[derive(Clone, Debug)]
pub(crate) struct PoolRow {
    pub(crate) id: i64,
    pub(crate) def: PoolDef,
    pub(crate) cursor: Ipv4Addr,
    pub(crate) changes: i64,
}

impl Store {
    /// Opens the state file at `path`, creating it if it does not exist. A file that is not ours,
    /// is damaged, or comes from a newer version is refused and left untouched.
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
        Ok(Store { conn: schema::open(path.as_ref())?, cache: HashMap::new() })
    }

    /// A store that lives in memory only (tests, examples).
    ///
    /// ```
    /// let store = ipam_store::Store::open_in_memory()?;
    /// assert!(store.pools()?.is_empty());
    /// # Ok::<(), ipam_store::Error>(())
    /// ```
    pub fn open_in_memory() -> Result<Store, Error> {
        Ok(Store { conn: schema::open_in_memory()?, cache: HashMap::new() })
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
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        add_pool_in(&tx, def)?;
        tx.commit()?;
        self.cache.clear();
        Ok(())
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
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let row = pool_row(&tx, name)?;
        let children: u64 =
            tx.query_row("SELECT count(*) FROM pools WHERE parent_id = ?1", [row.id], |r| r.get(0))?;
        if children > 0 {
            return Err(Error::InUse { name: name.to_owned(), allocations: children });
        }
        let held: u64 =
            tx.query_row("SELECT count(*) FROM allocations WHERE pool_id = ?1", [row.id], |r| r.get(0))?;
        if held > 0 && !force {
            return Err(Error::InUse { name: name.to_owned(), allocations: held });
        }
        if let Some(parent) = &row.def.parent {
            let parent = pool_row(&tx, parent)?;
            let owner = format!("{CHILD_PREFIX}{name}");
            tx.execute(
                "DELETE FROM allocations WHERE pool_id = ?1 AND owner = ?2",
                params![parent.id, owner],
            )?;
            bump(&tx, &parent, parent.cursor)?;
        }
        tx.execute("DELETE FROM pools WHERE id = ?1", [row.id])?;
        tx.commit()?;
        self.cache.clear();
        Ok(())
    }

    /// Every pool with its counts, by name.
    ///
    /// ```
    /// let mut store = ipam_store::Store::open_in_memory()?;
    /// store.add_pool(&ipam_store::PoolDef::new("b", "10.2.0.0/24".parse()?))?;
    /// store.add_pool(&ipam_store::PoolDef::new("a", "10.1.0.0/24".parse()?))?;
    /// let names: Vec<_> = store.pools()?.into_iter().map(|p| p.def.name).collect();
    /// assert_eq!(names, ["a", "b"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn pools(&self) -> Result<Vec<PoolInfo>, Error> {
        let names: Vec<String> = self
            .conn
            .prepare("SELECT name FROM pools ORDER BY name")?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        names.iter().map(|name| self.info(name)).collect()
    }

    /// One pool with its counts, largest free block and fragmentation.
    ///
    /// ```
    /// let mut store = ipam_store::Store::open_in_memory()?;
    /// store.add_pool(&ipam_store::PoolDef::new("lab", "10.9.0.0/30".parse()?))?;
    /// assert_eq!(store.pool("lab")?.stats.free, 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn pool(&mut self, name: &str) -> Result<PoolInfo, Error> {
        self.info(name)
    }

    /// The free space of a pool as its minimal CIDR cover.
    ///
    /// ```
    /// let mut store = ipam_store::Store::open_in_memory()?;
    /// store.add_pool(&ipam_store::PoolDef::new("lab", "10.9.0.0/30".parse()?))?;
    /// assert_eq!(store.free_blocks("lab")?.len(), 2); // .1 and .2
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn free_blocks(&mut self, name: &str) -> Result<Vec<Ipv4Net>, Error> {
        let row = pool_row(&self.conn, name)?;
        Ok(build_pool(&self.conn, &row)?.free_blocks().collect())
    }

    fn info(&self, name: &str) -> Result<PoolInfo, Error> {
        let row = pool_row(&self.conn, name)?;
        let pool = build_pool(&self.conn, &row)?;
        let allocations =
            self.conn
                .query_row("SELECT count(*) FROM allocations WHERE pool_id = ?1", [row.id], |r| r.get(0))?;
        Ok(PoolInfo { def: row.def, cursor: pool.cursor(), allocations, stats: pool.stats() })
    }
}

/// Creates a pool inside an open transaction (shared by `add_pool`, `import` and `apply`).
pub(crate) fn add_pool_in(tx: &Transaction<'_>, def: &PoolDef) -> Result<(), Error> {
    check_name(&def.name)?;
    let exists: Option<i64> =
        tx.query_row("SELECT id FROM pools WHERE name = ?1", [&def.name], |r| r.get(0)).optional()?;
    if exists.is_some() {
        return Err(Error::PoolExists { name: def.name.clone() });
    }
    let pool = def.builder().build()?;
    let parent_id = match &def.parent {
        Some(parent) => {
            let parent = pool_row(tx, parent)?;
            let mut parent_pool = build_pool(tx, &parent)?;
            parent_pool.allocate_block_specific(def.cidr)?;
            let (first, last) = (u32::from(def.cidr.network()), u32::from(def.cidr.broadcast()));
            tx.execute(
                "INSERT INTO allocations (pool_id, first, last, shape, owner, created) VALUES (?1, ?2, ?3, 'block', ?4, ?5)",
                params![parent.id, first, last, format!("{CHILD_PREFIX}{}", def.name), crate::now()],
            )?;
            bump(tx, &parent, parent_pool.cursor())?;
            Some(parent.id)
        }
        None => {
            let mut roots =
                tx.prepare("SELECT name, network, prefix_len FROM pools WHERE parent_id IS NULL")?;
            let roots = roots.query_map([], |r| Ok((r.get::<_, String>(0)?, net(r.get(1)?, r.get(2)?))))?;
            for root in roots {
                let (other, other_cidr) = root?;
                if other_cidr.contains(&def.cidr) || def.cidr.contains(&other_cidr) {
                    return Err(Error::Overlap { cidr: def.cidr, other, other_cidr });
                }
            }
            None
        }
    };
    tx.execute(
        "INSERT INTO pools (name, network, prefix_len, reserve_gateway, reserve_network_broadcast, policy, parent_id, cursor)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            def.name,
            u32::from(def.cidr.network()),
            def.cidr.prefix_len(),
            def.gateway,
            def.network_broadcast,
            def.policy.to_string(),
            parent_id,
            u32::from(pool.cursor())
        ],
    )?;
    let id = tx.last_insert_rowid();
    for exclusion in &def.exclusions {
        tx.execute(
            "INSERT INTO exclusions (pool_id, network, prefix_len) VALUES (?1, ?2, ?3)",
            params![id, u32::from(exclusion.network()), exclusion.prefix_len()],
        )?;
    }
    Ok(())
}

/// Marks a pool changed (and stores its cursor), so other processes rebuild their copy.
pub(crate) fn bump(conn: &Connection, row: &PoolRow, cursor: Ipv4Addr) -> Result<(), Error> {
    conn.execute(
        "UPDATE pools SET changes = changes + 1, cursor = ?2 WHERE id = ?1",
        params![row.id, u32::from(cursor)],
    )?;
    Ok(())
}

/// A pool's row by name.
pub(crate) fn pool_row(conn: &Connection, name: &str) -> Result<PoolRow, Error> {
    let row = conn
        .query_row(
            "SELECT p.id, p.network, p.prefix_len, p.reserve_gateway, p.reserve_network_broadcast, p.policy,
                    parent.name, p.cursor, p.changes
             FROM pools p LEFT JOIN pools parent ON parent.id = p.parent_id WHERE p.name = ?1",
            [name],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    net(r.get(1)?, r.get(2)?),
                    r.get::<_, bool>(3)?,
                    r.get::<_, bool>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, Option<String>>(6)?,
                    r.get::<_, u32>(7)?,
                    r.get::<_, i64>(8)?,
                ))
            },
        )
        .optional()?
        .ok_or_else(|| Error::NoSuchPool { name: name.to_owned() })?;
    let (id, cidr, gateway, network_broadcast, policy, parent, cursor, changes) = row;
    let policy: Policy = policy
        .parse()
        .map_err(|e| Error::Database(format!("pool `{name}` has an unknown policy: {e}").into()))?;
    let mut exclusions = Vec::new();
    let mut rows = conn
        .prepare_cached("SELECT network, prefix_len FROM exclusions WHERE pool_id = ?1 ORDER BY network")?;
    for e in rows.query_map([id], |r| Ok(net(r.get(0)?, r.get(1)?)))? {
        exclusions.push(e?);
    }
    let def = PoolDef { name: name.to_owned(), cidr, gateway, network_broadcast, exclusions, policy, parent };
    Ok(PoolRow { id, def, cursor: Ipv4Addr::from(cursor), changes })
}

/// The pool's allocator, rebuilt from its recorded allocations.
pub(crate) fn build_pool(conn: &Connection, row: &PoolRow) -> Result<Pool, Error> {
    let mut used = RoaringBitmap::new();
    let mut rows = conn.prepare_cached("SELECT first, last FROM allocations WHERE pool_id = ?1")?;
    for range in rows.query_map([row.id], |r| Ok((r.get::<_, u32>(0)?, r.get::<_, u32>(1)?)))? {
        let (first, last) = range?;
        used.insert_range(first..=last);
    }
    let cursor = if row.def.cidr.contains(&row.cursor) { row.cursor } else { row.def.cidr.network() };
    Ok(row.def.builder().allocated(&used).cursor(cursor).build()?)
}

/// A network from its stored integers (the schema's CHECKs keep them in range).
pub(crate) fn net(network: u32, prefix_len: u8) -> Ipv4Net {
    Ipv4Net::new(Ipv4Addr::from(network), prefix_len.min(32)).expect("prefix length clamped to 32").trunc()
}
