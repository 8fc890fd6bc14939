//! Export and import: the whole state as one JSON document (or a CSV listing).

use std::collections::{HashMap, HashSet};
use std::fmt::Write;
use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::model::{
    Allocation, CHILD_PREFIX, COOLDOWN_PREFIX, PoolDef, Shape, block_prefix_len, check_owner,
    is_cooldown_owner,
};
use crate::ops::counted_allocations;
use crate::rows::{self, Rows};
use crate::store::{Store, add_pool_in};

/// The format version of [`Export`].
pub(crate) const EXPORT_VERSION: u32 = 2;

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
    /// assert!(store.export()?.to_json().contains("\"ipam_state\": 2"));
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
        // Version 1 wrote creation times as seconds since the epoch; both read the same.
        if !(1..=EXPORT_VERSION).contains(&export.ipam_state) {
            return Err(Error::Import {
                reason: format!(
                    "format version {} is not one this ipam reads (1 to {EXPORT_VERSION})",
                    export.ipam_state
                ),
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
                let created = crate::time::rfc3339(a.created);
                let _ = writeln!(out, "{},{a},{},{owner},{created}", pool.def.name, a.shape.as_str());
            }
        }
        out
    }
}

impl Store {
    /// The whole state, from one consistent snapshot.
    ///
    /// ```
    /// let store = ipam_store::Store::open_in_memory()?;
    /// assert!(store.export()?.pools.is_empty());
    /// # Ok::<(), ipam_store::Error>(())
    /// ```
    pub fn export(&self) -> Result<Export, Error> {
        self.read(|conn| {
            let pools = rows::all_pools(conn)?
                .into_iter()
                .map(|row| {
                    let allocations = counted_allocations(conn, &row)?;
                    Ok(ExportedPool { def: row.def, cursor: row.cursor, allocations })
                })
                .collect::<Result<_, Error>>()?;
            Ok(Export { ipam_state: EXPORT_VERSION, pools })
        })
    }

    /// Adds every pool of `export`, in one transaction: all or nothing. Pool names must be new.
    /// Every allocation is checked as the allocator would: an `addr` is one address, a `block` an
    /// aligned power of two, every address inside its pool, not reserved, not taken twice; one
    /// allocation per owner in a pool; a `pool:` record is exactly the block of that child pool.
    /// A refusal names the pool and the allocation's position (1-based).
    ///
    /// ```
    /// use ipam_store::{Error, Export, Store};
    ///
    /// let hostile = r#"{"ipam_state": 1, "pools": [{"def": {"name": "lab", "cidr": "10.0.0.0/24",
    ///   "gateway": false, "network_broadcast": true, "exclusions": [], "policy": "first-fit",
    ///   "parent": null}, "cursor": "10.0.0.0", "allocations": [{"first": "10.0.0.1",
    ///   "last": "10.0.0.11", "shape": "addr", "owner": null, "created": 0}]}]}"#;
    /// let mut store = Store::open_in_memory()?;
    /// let err = store.import(&Export::from_json(hostile)?).unwrap_err();
    /// assert!(err.to_string().contains("allocation 1"), "{err}");
    /// assert!(store.pools()?.is_empty());
    /// # Ok::<(), Error>(())
    /// ```
    pub fn import(&mut self, export: &Export) -> Result<(), Error> {
        let now = self.now();
        self.write(|tx, touched| import_in(tx, touched, export, false, now))
    }

    /// [`Store::import`] into a state that may hold some of the pools already: a pool that
    /// exists with the same definition gets the export's allocations added (one recorded already,
    /// exactly so, is skipped), a missing pool is created. All or nothing: a pool defined
    /// otherwise, an owner holding something else, or an address taken is an error naming it.
    ///
    /// ```
    /// use ipam_store::{PoolDef, Request, Store};
    ///
    /// let mut a = Store::open_in_memory()?;
    /// a.add_pool(&PoolDef::new("lab", "10.9.0.0/24".parse()?))?;
    /// a.allocate("lab", Request::Next, Some("node-1"))?;
    /// let mut b = Store::open_in_memory()?;
    /// b.add_pool(&PoolDef::new("lab", "10.9.0.0/24".parse()?))?;
    /// b.allocate("lab", Request::Addr("10.9.0.9".parse()?), Some("node-9"))?;
    /// b.import_merging(&a.export()?)?;
    /// assert_eq!(b.allocations("lab")?.len(), 2);
    /// b.import_merging(&a.export()?)?; // again: nothing new
    /// assert_eq!(b.allocations("lab")?.len(), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn import_merging(&mut self, export: &Export) -> Result<(), Error> {
        let now = self.now();
        self.write(|tx, touched| import_in(tx, touched, export, true, now))
    }
}

/// Import inside a write transaction (also the upgrade of an old file and a resize); `merge`
/// adds to pools that exist with the same definition. A pool whose parent is in the state but
/// not in the export gets its block there, recorded as made at `outside_created`.
pub(crate) fn import_in(
    tx: &dyn Rows,
    touched: &mut crate::store::Touched,
    export: &Export,
    merge: bool,
    outside_created: u64,
) -> Result<(), Error> {
    {
        let order = parents_first(export)?;
        // Children of pools in the export; a parent outside it must be in the state already.
        let names: HashSet<&str> = export.pools.iter().map(|p| p.def.name.as_str()).collect();
        let children: HashMap<&str, &PoolDef> = export
            .pools
            .iter()
            .filter(|p| p.def.parent.as_deref().is_some_and(|parent| names.contains(parent)))
            .map(|p| (p.def.name.as_str(), &p.def))
            .collect();
        // Each child pool's block, as its parent records it: (created) by child name.
        let mut child_blocks: HashMap<String, u64> = HashMap::new();
        for p in &order {
            for (i, a) in p.allocations.iter().enumerate() {
                let Some(child) = a.owner.as_deref().and_then(|o| o.strip_prefix(CHILD_PREFIX)) else {
                    continue;
                };
                let at = || format!("pool `{}`, allocation {} ({a})", p.def.name, i + 1);
                let matches = children.get(child).is_some_and(|c| {
                    c.parent.as_deref() == Some(p.def.name.as_str())
                        && a.shape == Shape::Block
                        && c.cidr.network() == a.first
                        && c.cidr.broadcast() == a.last
                });
                if !matches {
                    return Err(import(format!(
                        "{}: names child pool `{}`, which is not this block of this pool",
                        at(),
                        crate::excerpt(child)
                    )));
                }
                if child_blocks.insert(child.to_owned(), a.created).is_some() {
                    return Err(import(format!("{}: child pool `{child}` is recorded twice", at())));
                }
                check_created(a.created).map_err(|why| import(format!("{}: {why}", at())))?;
            }
        }
        for name in children.keys() {
            if !child_blocks.contains_key(*name) {
                return Err(import(format!("child pool `{name}` is not recorded as a block of its parent")));
            }
        }
        {
            for p in &order {
                let existing = if merge { rows::pool_by_name(tx, &p.def.name)? } else { None };
                let held: HashMap<Ipv4Addr, Allocation> = match &existing {
                    Some(row) if row.def != p.def => {
                        return Err(import(format!(
                            "pool `{}` exists as {} with other settings; it cannot take this export's allocations",
                            p.def.name, row.def.cidr
                        )));
                    }
                    Some(row) => counted_allocations(tx, row)?.into_iter().map(|a| (a.first, a)).collect(),
                    None => {
                        let created = child_blocks.get(&p.def.name).copied().unwrap_or(outside_created);
                        add_pool_in(tx, touched, &p.def, created)?;
                        HashMap::new()
                    }
                };
                let held_by: HashMap<&str, &Allocation> =
                    held.values().filter_map(|h| Some((h.owner.as_deref()?, h))).collect();
                let state = touched.pool(tx, &p.def.name)?;
                let mut owners: HashSet<&str> = HashSet::new();
                for (i, a) in p.allocations.iter().enumerate() {
                    let at = || format!("pool `{}`, allocation {} ({a})", p.def.name, i + 1);
                    if held
                        .get(&a.first)
                        .is_some_and(|h| (h.last, h.shape, &h.owner) == (a.last, a.shape, &a.owner))
                    {
                        continue; // recorded already, exactly so
                    }
                    if let Some(o) = a.owner.as_deref()
                        && let Some(h) = held_by.get(o)
                    {
                        return Err(import(format!(
                            "{}: owner `{}` holds {h} in this pool already",
                            at(),
                            crate::excerpt(o)
                        )));
                    }
                    match a.owner.as_deref() {
                        Some(o) if o.starts_with(CHILD_PREFIX) => continue,
                        _ if p.def.container => {
                            return Err(import(format!("{}: a container holds only its child pools", at())));
                        }
                        // A block in its cooldown keeps it: its owner is exactly what the store wrote.
                        Some(o) if o.starts_with(COOLDOWN_PREFIX) && is_cooldown_owner(o, a.first) => {}
                        Some(o) if o.starts_with(COOLDOWN_PREFIX) => {
                            return Err(import(format!(
                                "{}: `{}` is not a cooldown owner this store writes",
                                at(),
                                crate::excerpt(o)
                            )));
                        }
                        Some(o) => {
                            check_owner(o).map_err(|e| import(format!("{}: {e}", at())))?;
                            if !owners.insert(o) {
                                return Err(import(format!(
                                    "{}: owner `{}` already holds an allocation in this pool",
                                    at(),
                                    crate::excerpt(o)
                                )));
                            }
                        }
                        None => {}
                    }
                    check_shape(a)
                        .and_then(|()| check_created(a.created))
                        .map_err(|why| import(format!("{}: {why}", at())))?;
                    state.take(tx, a.first, a.last).map_err(|e| import(format!("{}: {e}", at())))?;
                    rows::insert_allocation(tx, state.row.id, a)?;
                    state.count_rows(a.first, true)?;
                }
                if !p.def.cidr.contains(&p.cursor) {
                    return Err(import(format!(
                        "pool `{}`: cursor {} is outside {}",
                        p.def.name, p.cursor, p.def.cidr
                    )));
                }
                if existing.is_none() {
                    state.set_cursor(p.cursor); // a pool merged into keeps its own
                }
            }
            Ok(())
        }
    }
}

fn import(reason: String) -> Error {
    Error::Import { reason }
}

/// The pools with every parent before its children; a missing parent or a cycle is refused.
fn parents_first(export: &Export) -> Result<Vec<&ExportedPool>, Error> {
    let names: HashSet<&str> = export.pools.iter().map(|p| p.def.name.as_str()).collect();
    if names.len() != export.pools.len() {
        return Err(import("a pool name appears twice".into()));
    }
    let mut order: Vec<&ExportedPool> = Vec::with_capacity(export.pools.len());
    let mut placed: HashSet<&str> = HashSet::new();
    while order.len() < export.pools.len() {
        let before = order.len();
        for p in &export.pools {
            // A parent outside the export is looked up in the state when the child is added.
            let ready = p
                .def
                .parent
                .as_deref()
                .is_none_or(|parent| placed.contains(parent) || !names.contains(parent));
            if !placed.contains(p.def.name.as_str()) && ready {
                placed.insert(&p.def.name);
                order.push(p);
            }
        }
        if order.len() == before {
            return Err(import("a pool's parent is missing, or parents form a cycle".into()));
        }
    }
    Ok(order)
}

/// The record's extent fits its shape.
fn check_shape(a: &Allocation) -> Result<(), String> {
    if a.first > a.last {
        return Err("it ends before it starts".into());
    }
    match a.shape {
        Shape::Addr if a.first != a.last => {
            Err(format!("an `addr` record must be one address, not {}", a.size()))
        }
        Shape::Block if block_prefix_len(a.first, a.last).is_none() => {
            Err("a `block` record must be an aligned power of two".into())
        }
        _ => Ok(()),
    }
}

/// Creation times are seconds since 1970 that the file can store.
fn check_created(created: u64) -> Result<(), String> {
    if i64::try_from(created).is_ok() { Ok(()) } else { Err(format!("`created` {created} is out of range")) }
}
