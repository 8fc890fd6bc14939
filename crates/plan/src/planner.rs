//! The planner: demands in, segments placed by `ipam_core`, VLANs numbered, summary out.

use std::collections::{BTreeSet, HashSet};
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use crate::demand::{self, Demand};
use crate::model::{Aggregate, Plan, SCHEMA, Segment};
use crate::sizing::block_size;
use crate::space::Space;
use crate::spec::Spec;
use crate::topology::Counts;
use crate::{Error, Role, VlanId, summary, validate};

/// Plans `spec` from scratch.
///
/// Segments are placed largest first, each at the lowest free aligned block of `base`, so the plan
/// packs without gaps and the same spec always gives the same plan. The backend rails sit in one
/// aligned aggregate (one route), a block per rail.
///
/// ```
/// use ipam_plan::{plan, Role, Spec};
///
/// let plan = plan(&Spec::for_gpus(1024))?;
/// let storage = plan.segments.iter().find(|s| s.role == Role::Storage).unwrap();
/// assert_eq!(storage.cidr.prefix_len(), 22); // ~275 addresses, doubled for growth
/// assert_eq!(storage.vlan.unwrap().get(), 101);
/// plan.check()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn plan(spec: &Spec) -> Result<Plan, Error> {
    build(spec, None)
}

/// Plans `spec` on top of `previous`: every previous segment keeps its CIDR and VLAN, and nothing
/// is ever renumbered. A segment that must grow gets a second prefix (`storage-2`, with its own
/// VLAN), right next to it when that space is free (so the two often make one route), else
/// wherever it fits.
///
/// ```
/// use ipam_plan::{plan, replan, Spec};
///
/// let before = plan(&Spec::for_gpus(256))?;
/// let after = replan(&Spec::for_gpus(2048), &before)?;
/// for old in &before.segments {
///     let kept = after.segments.iter().find(|s| s.name == old.name).unwrap();
///     assert_eq!((kept.cidr, kept.vlan), (old.cidr, old.vlan));
/// }
/// assert!(after.segments.iter().any(|s| s.extends.as_deref() == Some("storage")));
/// # Ok::<(), ipam_plan::Error>(())
/// ```
pub fn replan(spec: &Spec, previous: &Plan) -> Result<Plan, Error> {
    build(spec, Some(previous))
}

fn build(spec: &Spec, previous: Option<&Plan>) -> Result<Plan, Error> {
    validate::spec(spec)?;
    let counts = Counts::new(spec, spec.gpus.into());
    let demands = demand::derive(spec, &counts)?;
    let mut space = Space::new(spec.base)?;
    let mut layout = Layout::default();
    let mut pending = match previous {
        None => demands,
        Some(previous) => keep(previous, spec, demands, &mut space, &mut layout)?,
    };
    place(spec, &mut pending, &mut space, &mut layout)?;
    number_vlans(spec, &mut layout.segments)?;
    let kept = previous.map_or(&[][..], |p| &p.anycast[..]);
    let anycast = summary::anycast_addresses(spec, &layout.segments, kept)?;
    let summary = summary::summarize(spec, &counts, &layout.segments, space.used())?;
    let plan = Plan {
        schema: SCHEMA,
        base: spec.base,
        growth: spec.growth,
        segments: layout.segments,
        aggregates: layout.aggregates,
        anycast,
        summary,
        assignments: None,
    };
    Ok(plan)
}

#[derive(Default)]
struct Layout {
    segments: Vec<Segment>,
    aggregates: Vec<Aggregate>,
}

/// Claims every previous segment and aggregate unchanged, and returns what is still to be placed:
/// new segments, and second prefixes for segments that outgrew their space.
fn keep(
    previous: &Plan,
    spec: &Spec,
    demands: Vec<Demand>,
    space: &mut Space,
    layout: &mut Layout,
) -> Result<Vec<Demand>, Error> {
    if previous.base != spec.base {
        return Err(Error::Previous {
            reason: format!(
                "its base {} differs from the spec's {}; a re-plan keeps the base",
                previous.base, spec.base
            ),
        });
    }
    let mut inner: Vec<(Ipv4Net, Space)> = Vec::new();
    for aggregate in &previous.aggregates {
        space.claim(&aggregate.name, aggregate.cidr)?;
        inner.push((aggregate.cidr, Space::new(aggregate.cidr)?));
    }
    for segment in &previous.segments {
        match inner.iter_mut().find(|(net, _)| net.contains(&segment.cidr)) {
            Some((_, aggregate)) => aggregate.claim(&segment.name, segment.cidr)?,
            None => space.claim(&segment.name, segment.cidr)?,
        }
    }
    layout.segments = previous.segments.clone();
    layout.aggregates = previous.aggregates.clone();
    let mut names: HashSet<String> = layout.segments.iter().map(|s| s.name.clone()).collect();
    let mut pending = Vec::new();
    for mut demand in demands {
        let family: Vec<usize> =
            (0..layout.segments.len()).filter(|&i| layout.segments[i].family() == demand.name).collect();
        if family.is_empty() {
            pending.push(demand);
            continue;
        }
        let segments = &mut layout.segments;
        let capacity: u64 = family.iter().map(|&i| segments[i].usable).sum();
        let need = demand.kind.needed(demand.planned, spec.growth);
        let primary = family.iter().copied().find(|&i| segments[i].extends.is_none());
        if need <= capacity {
            if let Some(p) = primary {
                let others: u64 = family.iter().filter(|&&i| i != p).map(|&i| segments[i].planned).sum();
                segments[p].planned = demand.planned.saturating_sub(others);
            }
            continue;
        }
        let family_planned: u64 = family.iter().map(|&i| segments[i].planned).sum();
        let mut k = 2;
        while names.contains(&format!("{}-{k}", demand.name)) {
            k += 1;
        }
        demand.extends = Some(demand.name.clone());
        demand.name = format!("{}-{k}", demand.name);
        demand.min_usable = need - capacity;
        demand.planned = demand.planned.saturating_sub(family_planned);
        demand.vlan = None;
        demand.prefix = None;
        demand.near = primary.map(|p| segments[p].cidr);
        names.insert(demand.name.clone());
        pending.push(demand);
    }
    Ok(pending)
}

/// What one step of the largest-first placement places.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Item {
    /// The pending demand at this index.
    Demand(usize),
    /// The aggregate that will hold the rails.
    Aggregate,
}

/// The aggregate the pending rails go into: its name, its prefix length and each rail's.
struct RailAggregate {
    name: String,
    prefix_len: u8,
    rail_prefix_len: u8,
}

/// Places every pending demand: explicit prefixes first, then the rest largest first.
fn place(spec: &Spec, pending: &mut [Demand], space: &mut Space, layout: &mut Layout) -> Result<(), Error> {
    let growth = spec.growth;
    let mut blocks: Vec<Option<Ipv4Net>> = vec![None; pending.len()];
    for (i, d) in pending.iter().enumerate() {
        if let Some(prefix) = d.prefix {
            if prefix.prefix_len() > prefix_of(d, growth)? {
                return Err(Error::PrefixTooSmall {
                    segment: d.name.clone(),
                    prefix,
                    needed: d.kind.needed(d.planned, growth).max(d.min_usable),
                    usable: block_size(prefix.prefix_len()) - d.kind.reserved(),
                });
            }
            space.claim(&d.name, prefix)?;
            blocks[i] = Some(prefix);
        }
    }
    let rails: Vec<usize> = (0..pending.len()).filter(|&i| pending[i].rail).collect();
    let aggregate = rail_aggregate(pending, &rails, growth, layout)?;
    let mut aggregate_block = None;
    // Largest first, then in plan order: first fit then packs without gaps.
    let mut order: Vec<(u8, Item)> = Vec::new();
    for (i, d) in pending.iter().enumerate() {
        if blocks[i].is_none() && !d.rail {
            order.push((prefix_of(d, growth)?, Item::Demand(i)));
        }
    }
    if let Some(agg) = &aggregate {
        match spec.roles.backend.prefix.filter(|_| layout.aggregates.is_empty()) {
            Some(prefix) if prefix.prefix_len() > agg.prefix_len => {
                return Err(Error::PrefixTooSmall {
                    segment: agg.name.clone(),
                    prefix,
                    needed: block_size(agg.prefix_len),
                    usable: block_size(prefix.prefix_len()),
                });
            }
            Some(prefix) => {
                space.claim(&agg.name, prefix)?;
                aggregate_block = Some(prefix);
            }
            None => order.push((agg.prefix_len, Item::Aggregate)),
        }
    }
    order.sort();
    for (prefix_len, item) in order {
        match (item, &aggregate) {
            (Item::Aggregate, Some(agg)) => aggregate_block = Some(space.place(&agg.name, prefix_len)?),
            (Item::Demand(i), _) => {
                let d = &pending[i];
                let beside = d.near.and_then(|near| place_beside(space, &d.name, near, prefix_len));
                blocks[i] = Some(match beside {
                    Some(block) => block,
                    None => space.place(&d.name, prefix_len)?,
                });
            }
            (Item::Aggregate, None) => unreachable!("ordered only with an aggregate"),
        }
    }
    if let (Some(agg), Some(block)) = (aggregate, aggregate_block) {
        let mut inside = Space::new(block)?;
        for &i in &rails {
            blocks[i] = Some(inside.place(&pending[i].name, agg.rail_prefix_len)?);
        }
        layout.aggregates.push(Aggregate { name: agg.name, role: Role::Backend, cidr: block });
    }
    for (d, block) in pending.iter().zip(blocks) {
        layout.segments.push(segment(d, block.expect("every demand was placed")));
    }
    Ok(())
}

/// The prefix length of a demand's block, or why no IPv4 block is that large.
fn prefix_of(d: &Demand, growth: f64) -> Result<u8, Error> {
    d.prefix_len(growth)
        .ok_or_else(|| Error::TooLarge { segment: d.name.clone(), needed: d.kind.needed(d.planned, growth) })
}

/// Sizes the aggregate for the pending rails (`None` without any): a block per rail, all of the
/// largest rail's size, so that rail `k` sits at a fixed offset and the whole is one route.
fn rail_aggregate(
    pending: &[Demand],
    rails: &[usize],
    growth: f64,
    layout: &Layout,
) -> Result<Option<RailAggregate>, Error> {
    let mut rail_prefix_len = None;
    for &i in rails {
        let p = prefix_of(&pending[i], growth)?;
        rail_prefix_len = Some(rail_prefix_len.map_or(p, |q: u8| q.min(p)));
    }
    let Some(rail_prefix_len) = rail_prefix_len else { return Ok(None) };
    let spread = (rails.len() as u64).next_power_of_two().trailing_zeros() as u8;
    let name = match layout.aggregates.iter().filter(|a| a.role == Role::Backend).count() {
        0 => "backend".to_owned(),
        n => format!("backend-{}", n + 1),
    };
    match rail_prefix_len.checked_sub(spread) {
        Some(prefix_len) => Ok(Some(RailAggregate { name, prefix_len, rail_prefix_len })),
        None => {
            Err(Error::TooLarge { segment: name, needed: rails.len() as u64 * block_size(rail_prefix_len) })
        }
    }
}

/// The segment a placed demand becomes.
fn segment(d: &Demand, cidr: Ipv4Net) -> Segment {
    let has_vlan = d.kind.has_vlan();
    Segment {
        name: d.name.clone(),
        role: d.role,
        kind: d.kind,
        vlan: d.vlan.filter(|_| has_vlan),
        cidr,
        gateway: has_vlan.then(|| Ipv4Addr::from(u32::from(cidr.network()) + 1)),
        mtu: d.mtu,
        planned: d.planned,
        usable: block_size(cidr.prefix_len()) - d.kind.reserved(),
        extends: d.extends.clone(),
    }
}

/// Claims a block of `prefix_len` right after `near`, or right before it, when free.
fn place_beside(space: &mut Space, owner: &str, near: Ipv4Net, prefix_len: u8) -> Option<Ipv4Net> {
    let size = block_size(prefix_len);
    let after = u64::from(u32::from(near.broadcast())) + 1;
    let before = u64::from(u32::from(near.network())).checked_sub(size);
    [Some(after), before].into_iter().flatten().find_map(|start| {
        let start = u32::try_from(start).ok().filter(|s| u64::from(*s) % size == 0)?;
        let block = Ipv4Net::new(start.into(), prefix_len).ok()?;
        space.try_claim(owner, block).then_some(block)
    })
}

/// Checks explicit VLAN ids, then numbers the others from `vlan_range` in plan order.
fn number_vlans(spec: &Spec, segments: &mut [Segment]) -> Result<(), Error> {
    let mut taken: std::collections::HashMap<VlanId, String> = std::collections::HashMap::new();
    for s in segments.iter() {
        if let Some(vlan) = s.vlan
            && let Some(first) = taken.insert(vlan, s.name.clone())
        {
            return Err(Error::VlanTaken { vlan, first, second: s.name.clone() });
        }
    }
    let [first, last] = spec.vlan_range;
    let used: BTreeSet<u16> = taken.keys().map(|v| v.get()).collect();
    let mut free = (first.get()..=last.get()).filter(|v| !used.contains(v));
    for s in segments.iter_mut().filter(|s| s.kind.has_vlan() && s.vlan.is_none()) {
        let id = free.next().ok_or_else(|| Error::VlansExhausted { first, last, segment: s.name.clone() })?;
        s.vlan = Some(VlanId::new(id.into())?);
    }
    Ok(())
}
