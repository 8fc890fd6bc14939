//! Apply: create the pools of an address plan and record what it hands out, idempotently.

use std::collections::{HashMap, HashSet};
use std::net::Ipv4Addr;

use ipam_plan::{Kind, Plan};
use ipnet::Ipv4Net;
use serde::Serialize;

use crate::model::{Allocation, PoolDef, Shape};
use crate::plan_holdings::{Holding, holdings};
use crate::rows::{self, PoolRow, Rows};
use crate::store::{Store, Touched, insert_new_pool};
use crate::{Error, ops};

/// What [`Store::apply`] did.
///
/// ```
/// let plan = ipam_plan::plan(&ipam_plan::Spec::for_gpus(64))?;
/// let mut store = ipam_store::Store::open_in_memory()?;
/// let first = store.apply(&plan)?;
/// let again = store.apply(&plan)?;
/// assert!(again.created.is_empty() && again.unchanged.len() == first.created.len());
/// assert_eq!((again.recorded, again.kept), (0, first.recorded));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Applied {
    /// Pools created now.
    pub created: Vec<String>,
    /// Pools that existed already, exactly as the plan has them.
    pub unchanged: Vec<String>,
    /// Addresses recorded now for their owners.
    pub recorded: u64,
    /// Addresses their owners held already, where the plan puts them.
    pub kept: u64,
}

impl Store {
    /// Makes the state hold `plan`, in one transaction.
    ///
    /// - Every aggregate becomes a container pool (it hands out nothing itself; its use is its
    ///   children's), nested in the smallest aggregate of its role around it; every segment a
    ///   child pool of the smallest aggregate holding it.
    /// - A VLAN segment reserves its network, gateway, the switches' VRR pair and broadcast, as
    ///   the planner counts them; /31 links and /32 hosts reserve nothing.
    /// - Every address the plan gives out is recorded with an interface-qualified owner:
    ///   `gpu-node-001/rail0` (with `--assign`), `leaf-su00-rail0/gpu-node-001` for a leaf's end of
    ///   a /31 (always), `leaf-su00-rail0/loopback`, `leaf-su00-rail0/mgmt`, fabric link ends
    ///   `leaf-su00-rail0/spine-00`, and anycast endpoints by name. So `ipam alloc SEGMENT
    ///   --owner gpu-node-001/rail0` returns the address the plan assigned.
    ///
    /// Applying again, or applying a grown plan, adds only what is new. A pool that exists with
    /// other settings, an owner the plan moves, or an address someone else holds is an error
    /// naming it, and nothing changes.
    ///
    /// ```
    /// let mut plan = ipam_plan::plan(&ipam_plan::Spec::for_gpus(256))?;
    /// ipam_plan::assign(&mut plan)?;
    /// let mut store = ipam_store::Store::open_in_memory()?;
    /// store.apply(&plan)?;
    /// let storage = store.pool("storage-su00")?;
    /// assert_eq!(storage.def.parent.as_deref(), Some("storage"));
    /// assert!(store.definition("storage")?.container);
    /// let node = &plan.assignments.as_ref().unwrap()[0];
    /// let rail0 = &node.interfaces[0];
    /// let again = store.allocate(&rail0.segment, ipam_store::Request::Next, Some("gpu-node-001/rail0"))?;
    /// assert_eq!(again.first, rail0.address.addr());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn apply(&mut self, plan: &Plan) -> Result<Applied, Error> {
        plan.check().map_err(|v| Error::Apply { reason: format!("the plan breaks an invariant: {v}") })?;
        let defs = pool_defs(plan);
        let mut holdings = holdings(plan)?;
        holdings.sort_by(|a, b| a.pool.cmp(&b.pool));
        let now = self.now();
        self.write(|tx, touched| {
            let mut applied = Applied::default();
            // One read of every pool (checked against a count that uses no index) answers which
            // exist, so a new pool costs no scan.
            let existing: HashMap<String, PoolRow> =
                rows::all_pools(tx)?.into_iter().map(|row| (row.def.name.clone(), row)).collect();
            let roots: Vec<(String, Ipv4Net)> = existing
                .values()
                .filter(|r| r.def.parent.is_none())
                .map(|r| (r.def.name.clone(), r.def.cidr))
                .collect();
            for def in &defs {
                match existing.get(&def.name) {
                    Some(row) if row.def == *def => applied.unchanged.push(def.name.clone()),
                    Some(row) => return Err(moved(&row.def, def)),
                    None => {
                        if def.parent.is_none()
                            && let Some((other, other_cidr)) = roots
                                .iter()
                                .find(|(_, net)| net.contains(&def.cidr) || def.cidr.contains(net))
                        {
                            return Err(Error::Overlap {
                                cidr: def.cidr,
                                other: other.clone(),
                                other_cidr: *other_cidr,
                            });
                        }
                        insert_new_pool(tx, touched, def, now)?;
                        applied.created.push(def.name.clone());
                    }
                }
            }
            let mut start = 0;
            while start < holdings.len() {
                let pool = &holdings[start].pool;
                let end = start + holdings[start..].iter().take_while(|h| h.pool == *pool).count();
                let fresh = !existing.contains_key(pool);
                record(tx, touched, &holdings[start..end], fresh, now, &mut applied)?;
                start = end;
            }
            Ok(applied)
        })
    }
}

/// The pools of a plan: its aggregates as containers (widest first, so each parent exists
/// before its children), then its segments.
fn pool_defs(plan: &Plan) -> Vec<PoolDef> {
    let mut aggregates: Vec<&ipam_plan::Aggregate> = plan.aggregates.iter().collect();
    aggregates.sort_by_key(|a| a.cidr.prefix_len());
    // The smallest aggregate of the same role holding `net` (strictly, for an aggregate: a
    // segment may fill an aggregate of its own size, as an SU does a one-SU pod).
    let parent_of = |net: Ipv4Net, role, strictly: bool| {
        plan.aggregates
            .iter()
            .filter(|a| a.role == role && !(strictly && a.cidr == net) && a.cidr.contains(&net))
            .max_by_key(|a| a.cidr.prefix_len())
            .map(|a| a.name.clone())
    };
    let mut defs: Vec<PoolDef> = aggregates
        .iter()
        .map(|a| PoolDef {
            network_broadcast: false,
            parent: parent_of(a.cidr, a.role, true),
            ..PoolDef::new(&a.name, a.cidr).container(true)
        })
        .collect();
    for s in &plan.segments {
        let mut def = PoolDef { parent: parent_of(s.cidr, s.role, false), ..PoolDef::new(&s.name, s.cidr) };
        def.network_broadcast = s.kind == Kind::Subnet;
        if let Some(gateway) = s.gateway {
            def.exclusions = (0..3)
                .map(|k| Ipv4Addr::from(u32::from(gateway).saturating_add(k)))
                .filter(|a| s.cidr.contains(a))
                .map(Ipv4Net::from)
                .collect();
        }
        defs.push(def);
    }
    defs
}

/// The error for a pool the plan has otherwise than the state.
fn moved(was: &PoolDef, now: &PoolDef) -> Error {
    let reason = if was.cidr != now.cidr {
        format!(
            "the plan moves pool `{}` from {} to {}; remove the pool or keep the plan's previous layout (--previous)",
            now.name, was.cidr, now.cidr
        )
    } else {
        format!(
            "pool `{}` exists as {} with other settings than the plan's; remove it or rename the segment",
            now.name, was.cidr
        )
    };
    Error::Apply { reason }
}

/// Records one pool's holdings. A pool created by this apply holds nothing yet; an existing
/// one is read once, and each holding is either there already or must not collide.
fn record(
    tx: &dyn Rows,
    touched: &mut Touched,
    holdings: &[Holding],
    fresh: bool,
    now: u64,
    applied: &mut Applied,
) -> Result<(), Error> {
    let state = touched.pool(tx, &holdings[0].pool)?;
    let held = if fresh { Vec::new() } else { ops::counted_allocations(tx, &state.row)? };
    let by_owner: HashMap<&str, &Allocation> =
        held.iter().filter_map(|a| Some((a.owner.as_deref()?, a))).collect();
    let by_address: HashMap<Ipv4Addr, &Allocation> = held.iter().map(|a| (a.first, a)).collect();
    let mut named = HashSet::new();
    for h in holdings {
        let pool = &h.pool;
        if !named.insert(h.owner.as_str()) {
            return Err(Error::Apply {
                reason: format!("the plan gives `{}` two addresses in pool `{pool}`", h.owner),
            });
        }
        match by_owner.get(h.owner.as_str()) {
            Some(a) if a.shape == Shape::Addr && a.first == h.address => {
                applied.kept += 1;
                continue;
            }
            Some(a) => {
                return Err(Error::Apply {
                    reason: format!(
                        "the plan moves `{}` in pool `{pool}` from {a} to {}",
                        h.owner, h.address
                    ),
                });
            }
            None => {}
        }
        if let Some(a) = by_address.get(&h.address) {
            let other = a.owner.as_deref().unwrap_or("no owner");
            return Err(Error::Apply {
                reason: format!(
                    "the plan gives {} in pool `{pool}` to `{}`, but `{other}` holds it",
                    h.address, h.owner
                ),
            });
        }
        state.take(tx, h.address, h.address).map_err(|e| Error::Apply {
            reason: format!("the plan gives {} in pool `{pool}` to `{}`: {e}", h.address, h.owner),
        })?;
        let allocation = Allocation {
            first: h.address,
            last: h.address,
            shape: Shape::Addr,
            owner: Some(h.owner.clone()),
            created: now,
        };
        rows::insert_allocation(tx, state.row.id, &allocation)?;
        state.count_rows(h.address, true)?;
        applied.recorded += 1;
    }
    Ok(())
}
