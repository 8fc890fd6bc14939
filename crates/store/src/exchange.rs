//! Export and import: the whole state as one JSON document (or a CSV listing).

use std::collections::{HashMap, HashSet};
use std::fmt::Write;
use std::net::Ipv4Addr;

use roaring::RoaringBitmap;
use rusqlite::{TransactionBehavior, params};
use serde::{Deserialize, Serialize};

use crate::Error;
use crate::model::{Allocation, CHILD_PREFIX, PoolDef, Shape, block_prefix_len, check_owner};
use crate::ops::select;
use crate::store::{Store, add_pool_in, pool_row};

/// The format version of [`Export`].
const EXPORT_VERSION: u32 = 1;

/// The whole state: every pool with its definition, cursor and allocations.
///
/// ```
/// use ipam_store::{Export, PoolDef, Request, Store};
///
/// let mut store = Store::open_in_memory()?;
/// store.add_pool(&PoolDef::new("lab", "10.9.0.0/24".parse()?))?;
/// store.allocate("lab", Request::Next, Some("node-1"))?;
/// let json = store.export()?.to_json();
/// let mut copy = Store::open_in_memory()?;
/// copy.import(&Export::from_json(&json)?)?;
/// assert_eq!(copy.export()?, store.export()?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Export {
    /// Always 1.
    pub ipam_state: u32,
    /// The pools, by name.
    pub pools: Vec<ExportedPool>,
}

/// One pool in an [`Export`].
///
/// ```
/// # let mut store = ipam_store::Store::open_in_memory()?;
/// # store.add_pool(&ipam_store::PoolDef::new("lab", "10.9.0.0/24".parse()?))?;
/// let export = store.export()?;
/// assert_eq!(export.pools[0].def.name, "lab");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportedPool {
    /// The definition.
    pub def: PoolDef,
    /// The RoundRobin cursor.
    pub cursor: Ipv4Addr,
    /// Its allocations, lowest first (a child pool's block has the owner `pool:CHILD`).
    pub allocations: Vec<Allocation>,
}

impl Export {
    /// As pretty JSON, ending with a newline.
    ///
    /// ```
    /// let store = ipam_store::Store::open_in_memory()?;
    /// assert!(store.export()?.to_json().contains("\"ipam_state\": 1"));
    /// # Ok::<(), ipam_store::Error>(())
    /// ```
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("an export always serializes");
        text.push('\n');
        text
    }

    /// Reads an export; anything malformed is [`Error::Import`] with the reason.
    ///
    /// ```
    /// assert!(matches!(ipam_store::Export::from_json("{\"ipam_state\": 9, \"pools\": []}"), Err(ipam_store::Error::Import { .. })));
    /// ```
    pub fn from_json(text: &str) -> Result<Export, Error> {
        let export: Export =
            serde_json::from_str(text).map_err(|e| Error::Import { reason: e.to_string() })?;
        if export.ipam_state != EXPORT_VERSION {
            return Err(Error::Import {
                reason: format!("format version {} is not {EXPORT_VERSION}", export.ipam_state),
            });
        }
        Ok(export)
    }

    /// One line per allocation: `pool,allocation,shape,owner,created`, for spreadsheets.
    ///
    /// ```
    /// let store = ipam_store::Store::open_in_memory()?;
    /// assert_eq!(store.export()?.to_csv(), "pool,allocation,shape,owner,created\n");
    /// # Ok::<(), ipam_store::Error>(())
    /// ```
    pub fn to_csv(&self) -> String {
        let mut out = String::from("pool,allocation,shape,owner,created\n");
        for pool in &self.pools {
            for a in &pool.allocations {
                let owner = a.owner.as_deref().unwrap_or("");
                let owner = if owner.contains([',', '"', '\n', '\r']) {
                    format!("\"{}\"", owner.replace('"', "\"\""))
                } else {
                    owner.to_owned()
                };
                let _ = writeln!(out, "{},{a},{},{owner},{}", pool.def.name, a.shape.as_str(), a.created);
            }
        }
        out
    }
}

impl Store {
    /// The whole state.
    ///
    /// ```
    /// let store = ipam_store::Store::open_in_memory()?;
    /// assert!(store.export()?.pools.is_empty());
    /// # Ok::<(), ipam_store::Error>(())
    /// ```
    pub fn export(&self) -> Result<Export, Error> {
        let names: Vec<String> = self
            .conn
            .prepare("SELECT name FROM pools ORDER BY name")?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let mut pools = Vec::with_capacity(names.len());
        for name in names {
            let row = pool_row(&self.conn, &name)?;
            let allocations = select(&self.conn, "pool_id = ?1", params![row.id])?;
            pools.push(ExportedPool { def: row.def, cursor: row.cursor, allocations });
        }
        Ok(Export { ipam_state: EXPORT_VERSION, pools })
    }

    /// Adds every pool of `export`, in one transaction: all or nothing. Pool names must be new;
    /// every allocation is checked by the allocator (inside its pool, not reserved, no overlap),
    /// and a child pool's block must be recorded in its parent.
    ///
    /// ```
    /// use ipam_store::{Error, Export, Store};
    ///
    /// let hostile = r#"{"ipam_state": 1, "pools": [{"def": {"name": "../x", "cidr": "10.0.0.0/24",
    ///   "gateway": false, "network_broadcast": true, "exclusions": [], "policy": "first-fit",
    ///   "parent": null}, "cursor": "10.0.0.0", "allocations": []}]}"#;
    /// let mut store = Store::open_in_memory()?;
    /// assert!(matches!(store.import(&Export::from_json(hostile)?), Err(Error::InvalidName { .. })));
    /// # Ok::<(), Error>(())
    /// ```
    pub fn import(&mut self, export: &Export) -> Result<(), Error> {
        let import = |reason: String| Error::Import { reason };
        let names: HashSet<&str> = export.pools.iter().map(|p| p.def.name.as_str()).collect();
        if names.len() != export.pools.len() {
            return Err(import("a pool name appears twice".into()));
        }
        // Parents before children; a missing parent or a cycle is refused.
        let mut order: Vec<&ExportedPool> = Vec::with_capacity(export.pools.len());
        let mut placed: HashSet<&str> = HashSet::new();
        while order.len() < export.pools.len() {
            let before = order.len();
            for p in &export.pools {
                let ready = p.def.parent.as_deref().is_none_or(|parent| placed.contains(parent));
                if !placed.contains(p.def.name.as_str()) && ready {
                    placed.insert(&p.def.name);
                    order.push(p);
                }
            }
            if order.len() == before {
                return Err(import("a pool's parent is missing, or parents form a cycle".into()));
            }
        }
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut child_blocks: HashMap<String, (u32, u32, u64)> = HashMap::new();
        for p in &order {
            // Creating the pool allocates a child's block in its parent; the parent's own record
            // of that block is then checked against it below and not inserted twice.
            add_pool_in(&tx, &p.def)?;
            if let Some(&(_, _, created)) = child_blocks.get(&p.def.name) {
                let owner = format!("{CHILD_PREFIX}{}", p.def.name);
                tx.execute("UPDATE allocations SET created = ?2 WHERE owner = ?1", params![owner, created])?;
            }
            let row = pool_row(&tx, &p.def.name)?;
            let mut used = RoaringBitmap::new();
            let mut sorted: Vec<&Allocation> = p.allocations.iter().collect();
            sorted.sort_by_key(|a| a.first);
            let mut end: Option<u32> = None;
            for a in sorted {
                let (first, last) = (u32::from(a.first), u32::from(a.last));
                if first > last || end.is_some_and(|e| first <= e) {
                    return Err(import(format!(
                        "pool `{}`: {a} is empty or overlaps another allocation",
                        p.def.name
                    )));
                }
                end = Some(last);
                if a.shape == Shape::Block && block_prefix_len(a.first, a.last).is_none() {
                    return Err(import(format!(
                        "pool `{}`: {}-{} is not an aligned block",
                        p.def.name, a.first, a.last
                    )));
                }
                match a.owner.as_deref() {
                    Some(o) if o.starts_with(CHILD_PREFIX) => {
                        child_blocks.insert(o[CHILD_PREFIX.len()..].to_owned(), (first, last, a.created));
                        continue;
                    }
                    Some(o) => check_owner(o)?,
                    None => {}
                }
                used.insert_range(first..=last);
                tx.execute(
                    "INSERT INTO allocations (pool_id, first, last, shape, owner, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![row.id, first, last, a.shape.as_str(), a.owner, a.created],
                )?;
            }
            // The allocator checks every address: inside the pool, not reserved.
            p.def.builder().allocated(&used).cursor(p.cursor).build()?;
            tx.execute("UPDATE pools SET cursor = ?2 WHERE id = ?1", params![row.id, u32::from(p.cursor)])?;
        }
        for p in &order {
            if p.def.parent.is_some() {
                let own = (u32::from(p.def.cidr.network()), u32::from(p.def.cidr.broadcast()));
                if child_blocks.get(&p.def.name).map(|&(f, l, _)| (f, l)) != Some(own) {
                    return Err(import(format!(
                        "child pool `{}` is not recorded as a block of its parent",
                        p.def.name
                    )));
                }
            }
        }
        if child_blocks.keys().any(|child| !names.contains(child.as_str())) {
            return Err(import("a `pool:` block names a pool that is not in the file".into()));
        }
        tx.commit()?;
        self.cache.clear();
        Ok(())
    }
}
