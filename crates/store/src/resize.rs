//! Resize: a pool grows in place to a network that contains it, or shrinks to one inside it
//! when nothing it holds lies outside. Nothing moves: every allocation and child pool keeps its
//! addresses, owner and creation time.

use ipnet::Ipv4Net;

use crate::exchange::{EXPORT_VERSION, Export, ExportedPool, import_in};
use crate::model::Allocation;
use crate::ops::counted_allocations;
use crate::rows::{self, PoolRow, Rows};
use crate::store::{Store, Touched};
use crate::{Error, damaged};

impl Store {
    /// Gives pool `name` the network `cidr`: a network that contains its own (free addresses
    /// appear), or one inside it when every allocation and child pool lies inside (and none
    /// sits on an address the new network reserves, such as its broadcast). Refused with the
    /// reason, changing nothing, when the new network overlaps another pool, is not inside the
    /// parent or the parent's space is taken.
    ///
    /// ```
    /// use ipam_store::{PoolDef, Request, Store};
    ///
    /// let mut store = Store::open_in_memory()?;
    /// store.add_pool(&PoolDef::new("nodes", "10.20.0.0/25".parse()?))?;
    /// let a = store.allocate("nodes", Request::Next, Some("node-1"))?;
    /// store.resize_pool("nodes", "10.20.0.0/24".parse()?)?;
    /// assert_eq!(store.pool("nodes")?.stats.capacity, 254);
    /// assert_eq!(store.allocations("nodes")?, vec![a]); // nothing moved
    /// let refused = store.resize_pool("nodes", "10.21.0.0/24".parse()?).unwrap_err();
    /// assert!(refused.to_string().contains("contain"), "{refused}");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn resize_pool(&mut self, name: &str, cidr: Ipv4Net) -> Result<(), Error> {
        self.write(|tx, touched| resize_in(tx, touched, name, cidr))
    }
}

fn resize_in(tx: &dyn Rows, touched: &mut Touched, name: &str, cidr: Ipv4Net) -> Result<(), Error> {
    let refuse = |reason: String| Error::Resize { pool: crate::excerpt(name), reason };
    let find = |all: &[PoolRow]| all.iter().position(|r| r.def.name == name);
    // Every writer of these pools finishes first and none starts; then their rows are read.
    let before = rows::all_pools(tx)?;
    let at = find(&before).ok_or_else(|| Error::NoSuchPool { name: crate::excerpt(name) })?;
    for r in descendants(&before, &before[at]) {
        rows::lock_pool(tx, r.id)?;
        touched.forget(&r.def.name);
    }
    let all = rows::all_pools(tx)?;
    let row = &all[find(&all).ok_or_else(|| Error::NoSuchPool { name: crate::excerpt(name) })?];
    let old = row.def.cidr;
    if cidr.trunc() != cidr {
        return Err(refuse(format!("{cidr} has host bits set")));
    }
    if cidr == old {
        return Ok(());
    }
    if !(cidr.contains(&old) || old.contains(&cidr)) {
        return Err(refuse(format!("{cidr} must contain {old} (to grow) or lie inside it (to shrink)")));
    }
    match &row.def.parent {
        Some(parent) => {
            let parent = all
                .iter()
                .find(|r| &r.def.name == parent)
                .ok_or_else(|| damaged(format!("pool `{name}` names a parent that is not there")))?;
            if !parent.def.cidr.contains(&cidr) {
                return Err(refuse(format!(
                    "its parent `{}` ({}) does not hold {cidr}",
                    parent.def.name, parent.def.cidr
                )));
            }
        }
        None => {
            let clash = all
                .iter()
                .filter(|r| r.def.parent.is_none() && r.id != row.id)
                .find(|r| r.def.cidr.contains(&cidr) || cidr.contains(&r.def.cidr));
            if let Some(other) = clash {
                return Err(refuse(format!(
                    "{cidr} overlaps pool `{}` ({})",
                    other.def.name, other.def.cidr
                )));
            }
        }
    }
    // The pool and everything under it, as an export: taken out, then put back around the new
    // network by the import's own checks.
    let subtree = descendants(&all, row);
    let mut pools = Vec::with_capacity(subtree.len());
    for r in &subtree {
        let allocations = counted_allocations(tx, r)?;
        if r.id == row.id
            && let Some(outside) =
                allocations.iter().find(|a| !(cidr.contains(&a.first) && cidr.contains(&a.last)))
        {
            let what = match outside.owner.as_deref() {
                Some(o) => match o.strip_prefix(crate::model::CHILD_PREFIX) {
                    Some(child) => format!(" (child pool `{}`)", crate::excerpt(child)),
                    None => format!(" (held by `{}`)", crate::excerpt(o)),
                },
                None => String::new(),
            };
            return Err(refuse(format!("{outside}{what} lies outside {cidr}")));
        }
        pools.push(ExportedPool { def: r.def.clone(), cursor: r.cursor, allocations });
    }
    let top = &mut pools[0];
    top.def.cidr = cidr;
    if !cidr.contains(&top.cursor) {
        top.cursor = cidr.network();
    }
    let created = match &row.def.parent {
        Some(parent) => release_block(tx, touched, parent, old)?.created,
        None => 0,
    };
    for r in subtree.iter().rev() {
        touched.forget(&r.def.name);
        rows::delete_pool(tx, r.id)?;
    }
    // Put back by the import's own checks: the pool (its parent gives it the new block, as
    // made when the old one was), its allocations and its children's blocks, then its children.
    let export = Export { ipam_state: EXPORT_VERSION, pools };
    import_in(tx, touched, &export, false, created).map_err(|e| refuse(e.to_string()))
}

/// `row` and every pool under it, parents before children.
fn descendants<'a>(all: &'a [PoolRow], row: &'a PoolRow) -> Vec<&'a PoolRow> {
    let mut out = vec![row];
    let mut i = 0;
    while i < out.len() {
        let name = &out[i].def.name;
        out.extend(all.iter().filter(|r| r.def.parent.as_ref() == Some(name)));
        i += 1;
    }
    out
}

/// Frees the child's block `block` in `parent`, returning the record it had.
fn release_block(
    tx: &dyn Rows,
    touched: &mut Touched,
    parent: &str,
    block: Ipv4Net,
) -> Result<Allocation, Error> {
    let parent = touched.pool(tx, parent)?;
    let record = rows::at(tx, parent.row.id, block.network())?.ok_or_else(|| {
        damaged(format!("pool `{}` has no record of the block {block}", parent.row.def.name))
    })?;
    parent.free(tx, block.network(), block.broadcast())?;
    rows::delete_allocation(tx, parent.row.id, block.network())?;
    parent.count_rows(block.network(), false)?;
    Ok(record)
}
