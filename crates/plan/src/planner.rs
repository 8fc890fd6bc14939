//! The planner: generations of SU slots, their blocks placed by `ipam_core`, VLANs numbered,
//! switches named, summary out.

use std::collections::{HashMap, HashSet};
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use crate::layout::{self, Draft, Gen, Item, Top};
use crate::model::{Aggregate, Generation, Plan, SCHEMA, Segment, Topology};
use crate::sizing::block_size;
use crate::space::Space;
use crate::spec::Spec;
use crate::topology::Figures;
use crate::{Error, Role, numbering, summary, switches, validate};

/// Plans `spec` from scratch.
///
/// The plan is built top-down from the topology: every role that follows the SUs (backend,
/// frontend, storage, OOB) gets one aggregate reserved for `SUs x growth` SU slots (rounded up to
/// a power of two), and inside it every SU (and pod, rail, rack) has a fixed, aligned block. Tops
/// are placed largest first at the lowest free aligned block of `base`, so the same spec always
/// gives the same plan.
///
/// ```
/// use ipam_plan::{plan, Role, Spec};
///
/// let plan = plan(&Spec::for_gpus(1024))?;
/// let storage = plan.segments.iter().find(|s| s.name == "storage-su03").unwrap();
/// assert_eq!(storage.cidr.prefix_len(), 25); // 32 nodes x 2 ports + 4 server ports + 5 reserved
/// assert_eq!(storage.role, Role::Storage);
/// assert_eq!(plan.summary.gpu_headroom, Some(1024)); // 4 more SUs fit in the reserved slots
/// plan.check()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn plan(spec: &Spec) -> Result<Plan, Error> {
    build(spec, None, false)
}

/// Plans `spec` on top of `previous`: every previous segment, aggregate and switch keeps its
/// addresses and VLAN, and nothing is renumbered. New SUs fill the reserved SU slots; past them,
/// a new generation of aggregates (`backend-2`, `storage-2`...) is added. A spec value that
/// contradicts the previous plan is [`Error::Contradicts`]; segments the spec no longer needs
/// are kept (and reported in the warnings); [`replan_pruning`] drops them.
///
/// ```
/// use ipam_plan::{plan, replan, Spec};
///
/// let before = plan(&Spec::for_gpus(1024))?;
/// let headroom = before.summary.gpu_headroom.unwrap() as u32;
/// let after = replan(&Spec::for_gpus(1024 + headroom), &before)?;
/// assert_eq!(after.aggregates.len(), before.aggregates.len()); // only reserved space filled
/// for old in &before.segments {
///     let kept = after.segments.iter().find(|s| s.name == old.name).unwrap();
///     assert_eq!((kept.cidr, kept.vlan), (old.cidr, old.vlan));
/// }
/// # Ok::<(), ipam_plan::Error>(())
/// ```
pub fn replan(spec: &Spec, previous: &Plan) -> Result<Plan, Error> {
    build(spec, Some(previous), false)
}

/// [`replan`], dropping the segments (sites, roles, SUs) the spec no longer needs.
///
/// ```
/// use ipam_plan::{plan, replan_pruning, Spec};
///
/// let before = plan(&Spec::from_toml("gpus = 64\n[[site]]\nname = \"edge-1\"\ndevices = 10")?)?;
/// let after = replan_pruning(&Spec::for_gpus(64), &before)?;
/// assert!(after.segments.iter().all(|s| s.name != "edge-1"));
/// # Ok::<(), ipam_plan::Error>(())
/// ```
pub fn replan_pruning(spec: &Spec, previous: &Plan) -> Result<Plan, Error> {
    build(spec, Some(previous), true)
}

fn build(spec: &Spec, previous: Option<&Plan>, prune: bool) -> Result<Plan, Error> {
    validate::spec(spec)?;
    let f = Figures::new(spec);
    let mut topology = record(spec);
    if let Some(previous) = previous {
        topology.generations = compatible(previous, spec, &topology)?;
    }
    add_generation(&mut topology.generations, &f, spec);
    let gens = Gen::all(&topology.generations, &f);
    bounded(spec, &f, &gens)?;
    let mut tops = Vec::new();
    for g in &gens {
        tops.push(layout::backend(spec, &f, g)?);
        for l2 in f.l2_roles(spec) {
            tops.push(layout::l2(spec, &f, g, &l2)?);
        }
        tops.extend(layout::per_generation(spec, &f, g)?);
    }
    let mut warnings = Vec::new();
    for d in layout::fixed(spec)? {
        match previous {
            Some(p) => tops.extend(keep_fixed(spec, p, d)?),
            None => tops.push(layout::fixed_top(spec, d, 0)?),
        }
    }
    tops.extend(crate::edge::tops(spec, previous, prune)?);
    if let Some(previous) = previous {
        contradictions(spec, previous, &tops)?;
    }
    let mut space = Space::new(spec.base)?;
    let placed = place(&mut space, &tops, previous)?;
    let (mut segments, aggregates, mut keys) = materialize(&tops, &placed, previous)?;
    if let Some(previous) = previous {
        keep_removed(previous, &mut segments, &mut keys, prune, &mut warnings);
    }
    let old: HashSet<&str> =
        previous.map(|p| p.segments.iter().map(|s| s.name.as_str()).collect()).unwrap_or_default();
    let kept: Vec<bool> = segments.iter().map(|s| old.contains(s.name.as_str())).collect();
    numbering::number(spec, &mut segments, &keys, &kept)?;
    let switches = switches::inventory(spec, &f, &gens, &segments)?;
    let links = switches::links(spec, &f, &gens, &segments)?;
    switches::count_links(&mut segments, &links);
    let next = next_generation(spec, &f, &topology.generations)?;
    let kept = previous.map_or(&[][..], |p| &p.anycast[..]);
    let anycast = summary::anycast_addresses(spec, &segments, kept)?;
    let summary = summary::summarize(spec, &f, &gens, &segments, space.used(), warnings, next)?;
    let plan = Plan {
        schema: SCHEMA,
        base: spec.base,
        growth: spec.growth,
        topology: Some(topology),
        segments,
        aggregates,
        switches,
        links,
        anycast,
        domain: spec.domain.clone(),
        nameservers: spec.nameservers.clone(),
        summary,
        assignments: None,
    };
    // The layout is built to keep every invariant; this makes a slip an error, never a plan.
    plan.check().map_err(|v| Error::Invariant { reason: v.to_string() })?;
    Ok(plan)
}

/// The most segments a plan may lay out: far past any real cluster (100,000 GPUs take 4,451), and
/// low enough that a hostile spec is refused before it costs gigabytes.
const MAX_SEGMENTS: u64 = 1_000_000;

/// Refuses a spec whose SU slots would lay out more than [`MAX_SEGMENTS`] segments.
fn bounded(spec: &Spec, f: &Figures, gens: &[Gen]) -> Result<(), Error> {
    let slots: u64 = gens.iter().map(|g| u64::from(g.slots)).sum();
    let domains = match spec.l2_scope {
        crate::spec::L2Scope::Rack => u64::from(f.racks_per_su),
        _ => 1,
    };
    let per_su = u64::from(f.rails) + f.l2_roles(spec).len() as u64 * domains;
    let segments = slots.saturating_mul(per_su);
    if segments > MAX_SEGMENTS {
        return Err(Error::InvalidSetting {
            field: "gpus".into(),
            value: spec.gpus.into(),
            reason: "with this topology and growth the plan would lay out more than 1,000,000 segments",
        });
    }
    Ok(())
}

/// The spec's topology settings, with no generation yet.
fn record(spec: &Spec) -> Topology {
    Topology {
        gpus_per_node: spec.gpus_per_node,
        rails: spec.rails(),
        nodes_per_su: spec.nodes_per_su,
        sus_per_pod: spec.sus_per_pod,
        nodes_per_rack: spec.nodes_per_rack,
        backend_addressing: spec.backend_addressing,
        fabric_links: spec.fabric_links,
        leaf_end: spec.leaf_end,
        numbering: spec.numbering,
        l2_scope: spec.l2_scope,
        vlan_scope: spec.vlan_scope,
        storage_port_subnets: spec.storage_port_subnets,
        counted: [Role::Frontend, Role::Storage, Role::Oob, Role::Monitoring, Role::Lb]
            .into_iter()
            .filter(|&r| layout::role_spec(spec, r).count.is_some())
            .collect(),
        generations: Vec::new(),
    }
}

/// The previous plan's generations, if it was made with the same base and topology settings.
fn compatible(previous: &Plan, spec: &Spec, ours: &Topology) -> Result<Vec<Generation>, Error> {
    let refuse = |reason: String| Err(Error::Previous { reason });
    if previous.schema != SCHEMA {
        return refuse(
            "it is a schema 1 plan, laid out by counting rather than by topology position; it cannot grow \
             into a topology plan without renumbering: plan afresh (schema 1 plans still render and apply)"
                .into(),
        );
    }
    let Some(theirs) = previous.topology.as_ref() else {
        return refuse("it has no \"topology\" record, so where its SU slots lie is unknown".into());
    };
    if previous.base != spec.base {
        return refuse(format!(
            "its base {} differs from the spec's {}; a re-plan keeps the base",
            previous.base, spec.base
        ));
    }
    let settings = [
        ("gpus_per_node", theirs.gpus_per_node.to_string(), ours.gpus_per_node.to_string()),
        ("rails", theirs.rails.to_string(), ours.rails.to_string()),
        ("nodes_per_su", theirs.nodes_per_su.to_string(), ours.nodes_per_su.to_string()),
        ("sus_per_pod", theirs.sus_per_pod.to_string(), ours.sus_per_pod.to_string()),
        ("nodes_per_rack", theirs.nodes_per_rack.to_string(), ours.nodes_per_rack.to_string()),
        (
            "backend_addressing",
            format!("{:?}", theirs.backend_addressing),
            format!("{:?}", ours.backend_addressing),
        ),
        ("fabric_links", format!("{:?}", theirs.fabric_links), format!("{:?}", ours.fabric_links)),
        ("leaf_end", format!("{:?}", theirs.leaf_end), format!("{:?}", ours.leaf_end)),
        ("numbering", format!("{:?}", theirs.numbering), format!("{:?}", ours.numbering)),
        ("l2_scope", format!("{:?}", theirs.l2_scope), format!("{:?}", ours.l2_scope)),
        ("vlan_scope", format!("{:?}", theirs.vlan_scope), format!("{:?}", ours.vlan_scope)),
        (
            "storage_port_subnets",
            theirs.storage_port_subnets.to_string(),
            ours.storage_port_subnets.to_string(),
        ),
        ("counted roles", format!("{:?}", theirs.counted), format!("{:?}", ours.counted)),
    ];
    for (setting, was, is) in settings {
        if was != is {
            return Err(Error::Contradicts {
                segment: "topology".into(),
                field: setting.into(),
                spec: is.to_lowercase(),
                previous: was.to_lowercase(),
            });
        }
    }
    Ok(theirs.generations.clone())
}

/// Adds a generation of SU slots when the SUs in use outgrow those reserved: room for
/// `SUs x growth` SUs, in a power of two of slots. A generation whose SUs span more than one pod
/// (or that follows one that did) has pods, and its slots start at a pod boundary.
fn add_generation(gens: &mut Vec<Generation>, f: &Figures, spec: &Spec) {
    let reserved: u64 = gens.last().map_or(0, |g| u64::from(g.first_su) + u64::from(g.sus));
    if u64::from(f.sus) <= reserved {
        return;
    }
    let wanted = ((f64::from(f.sus) * spec.growth).ceil() as u64).max(u64::from(f.sus));
    let spp = u64::from(f.sus_per_pod);
    let pods = wanted > spp || gens.iter().any(|g| g.pods);
    let base = if pods { reserved - reserved % spp } else { reserved };
    let slots = (wanted - base).next_power_of_two();
    let clamp = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
    gens.push(Generation { first_su: clamp(reserved), sus: clamp(base + slots - reserved), pods });
}

/// What one SU past the reserved slots adds: the blocks of a new generation, by name.
fn next_generation(spec: &Spec, f: &Figures, gens: &[Generation]) -> Result<Option<String>, Error> {
    let Some(last) = gens.last() else { return Ok(None) };
    let one_more = Figures { sus: last.first_su.saturating_add(last.sus).saturating_add(1), ..f.clone() };
    let mut next = gens.to_vec();
    add_generation(&mut next, &one_more, spec);
    let Some(g) = Gen::all(&next, &one_more).pop().filter(|g| g.index == gens.len()) else { return Ok(None) };
    let mut tops = vec![layout::backend(spec, &one_more, &g)?];
    for l2 in one_more.l2_roles(spec) {
        tops.push(layout::l2(spec, &one_more, &g, &l2)?);
    }
    tops.extend(layout::per_generation(spec, &one_more, &g)?);
    Ok(Some(tops.iter().map(|t| t.name().to_owned()).collect::<Vec<_>>().join(", ")))
}

/// A fixed (cluster-wide) segment on top of the previous plan: kept when its family still holds
/// it with growth, else a second prefix `NAME-2` for the shortfall.
fn keep_fixed(spec: &Spec, previous: &Plan, mut d: Draft) -> Result<Vec<Top>, Error> {
    let family: Vec<&Segment> = previous.segments.iter().filter(|s| s.family() == d.name).collect();
    if family.is_empty() {
        return Ok(vec![layout::fixed_top(spec, d, 0)?]);
    }
    let capacity: u64 = family.iter().map(|s| s.usable).sum();
    let need = d.kind.needed(d.planned, spec.growth);
    let others: u64 = family.iter().filter(|s| s.extends.is_some()).map(|s| s.planned).sum();
    let mut tops = Vec::new();
    let total = d.planned;
    let mut primary = d.clone();
    primary.planned = if need <= capacity { total.saturating_sub(others) } else { family[0].planned };
    tops.push(layout::fixed_top(spec, primary, 0)?);
    for s in family.iter().filter(|s| s.extends.is_some()) {
        let mut extra = d.clone();
        extra.name = s.name.clone();
        extra.planned = s.planned;
        extra.extends = Some(d.name.clone());
        extra.vlan = None;
        extra.vlan_key = Some(s.name.clone());
        tops.push(layout::fixed_top(spec, extra, 0)?);
    }
    if need > capacity {
        let names: HashSet<&str> = previous.segments.iter().map(|s| s.name.as_str()).collect();
        let k = (2..).find(|k| !names.contains(format!("{}-{k}", d.name).as_str())).unwrap_or(2);
        let family_planned: u64 = family.iter().map(|s| s.planned).sum();
        d.extends = Some(d.name.clone());
        d.name = format!("{}-{k}", d.name);
        d.planned = total.saturating_sub(family_planned);
        d.vlan = None;
        d.vlan_key = Some(d.name.clone());
        let min_usable = need - capacity;
        tops.push(layout::fixed_top(&Spec { growth: 1.0, ..spec.clone() }, d, min_usable)?);
    }
    Ok(tops)
}

/// Explicit spec values (VLAN ids, MTUs, prefixes) that contradict the previous plan.
fn contradictions(spec: &Spec, previous: &Plan, tops: &[Top]) -> Result<(), Error> {
    let old: HashMap<&str, &Segment> = previous.segments.iter().map(|s| (s.name.as_str(), s)).collect();
    let old_aggregates: HashMap<&str, &Aggregate> =
        previous.aggregates.iter().map(|a| (a.name.as_str(), a)).collect();
    let mut first_names: HashMap<&str, &str> = HashMap::new();
    for m in tops.iter().flat_map(|t| &t.members) {
        if let Item::Segment(Draft { vlan_key: Some(key), name, .. }) = &m.item {
            first_names.entry(key.as_str()).or_insert(name.as_str());
        }
    }
    for top in tops {
        if let Some(prefix) = top.explicit {
            let was = old
                .get(top.name())
                .map(|s| s.cidr)
                .or_else(|| old_aggregates.get(top.name()).map(|a| a.cidr));
            if let Some(was) = was.filter(|was| *was != prefix) {
                return Err(contradicts(top.name(), "prefix", prefix, was));
            }
        }
        for m in &top.members {
            let Item::Segment(d) = &m.item else { continue };
            let Some(s) = old.get(d.name.as_str()) else { continue };
            // Under "unique" an explicit id is where a role's ids start: only its first segment
            // has it, the others count upwards.
            let template = spec.vlan_scope == crate::spec::VlanScope::Template;
            let first_of_key =
                d.vlan_key.as_ref().is_some_and(|k| first_names.get(k.as_str()) == Some(&d.name.as_str()));
            if let (Some(v), Some(was)) = (d.vlan, s.vlan)
                && v != was
                && (template || first_of_key)
            {
                return Err(contradicts(&d.name, "vlan", v, was));
            }
            let explicit_mtu = match d.role {
                crate::Role::Site => spec.sites.iter().find(|x| x.name == d.name).and_then(|x| x.mtu),
                role => layout::role_spec(spec, role).mtu,
            };
            if let Some(mtu) = explicit_mtu.filter(|&m| m != s.mtu) {
                return Err(contradicts(&d.name, "mtu", mtu, s.mtu));
            }
        }
    }
    Ok(())
}

fn contradicts(segment: &str, field: &str, spec: impl ToString, previous: impl ToString) -> Error {
    Error::Contradicts {
        segment: segment.to_owned(),
        field: field.to_owned(),
        spec: spec.to_string(),
        previous: previous.to_string(),
    }
}

/// Places every top: the previous plan's blocks where they were, explicit prefixes next, then
/// the rest largest first. Returns each top's block.
fn place(space: &mut Space, tops: &[Top], previous: Option<&Plan>) -> Result<Vec<Ipv4Net>, Error> {
    let mut held: HashMap<&str, Ipv4Net> = HashMap::new();
    if let Some(previous) = previous {
        let aggregates: Vec<Ipv4Net> = previous.aggregates.iter().map(|a| a.cidr).collect();
        let outermost = |net: Ipv4Net| !aggregates.iter().any(|a| *a != net && a.contains(&net));
        for a in previous.aggregates.iter().filter(|a| outermost(a.cidr)) {
            space.claim(&a.name, a.cidr)?;
            held.insert(&a.name, a.cidr);
        }
        for s in previous.segments.iter().filter(|s| !aggregates.iter().any(|a| a.contains(&s.cidr))) {
            space.claim(&s.name, s.cidr)?;
            held.insert(&s.name, s.cidr);
        }
    }
    let mut blocks: Vec<Option<Ipv4Net>> = tops.iter().map(|t| held.get(t.name()).copied()).collect();
    for (i, top) in tops.iter().enumerate() {
        if let (None, Some(prefix)) = (blocks[i], top.explicit) {
            if prefix.prefix_len() > top.prefix_len {
                return Err(Error::PrefixTooSmall {
                    segment: top.name().to_owned(),
                    prefix,
                    needed: block_size(top.prefix_len),
                    usable: block_size(prefix.prefix_len()),
                });
            }
            space.claim(top.name(), prefix)?;
            blocks[i] = Some(prefix);
        }
    }
    let mut order: Vec<(u8, usize)> =
        (0..tops.len()).filter(|&i| blocks[i].is_none()).map(|i| (tops[i].prefix_len, i)).collect();
    order.sort();
    for (prefix_len, i) in order {
        blocks[i] = Some(space.place(tops[i].name(), prefix_len)?);
    }
    Ok(blocks.into_iter().map(|b| b.expect("every top was placed")).collect())
}

/// Segments and aggregates at their addresses, in plan order, with each segment's VLAN key. A
/// segment the previous plan has keeps its addresses, VLAN and MTU.
#[allow(clippy::type_complexity)]
fn materialize(
    tops: &[Top],
    blocks: &[Ipv4Net],
    previous: Option<&Plan>,
) -> Result<(Vec<Segment>, Vec<Aggregate>, Vec<Option<String>>), Error> {
    let old: HashMap<&str, &Segment> =
        previous.map(|p| p.segments.iter().map(|s| (s.name.as_str(), s)).collect()).unwrap_or_default();
    let (mut segments, mut aggregates, mut keys) = (Vec::new(), Vec::new(), Vec::new());
    for (top, block) in tops.iter().zip(blocks) {
        for (i, m) in top.members.iter().enumerate() {
            let cidr = if i == 0 {
                *block
            } else {
                let start = u64::from(u32::from(block.network())) + m.offset;
                let start = u32::try_from(start).map_err(|_| Error::Previous {
                    reason: format!("`{}` does not fit its previous block {block}", m.item.name()),
                })?;
                Ipv4Net::new(Ipv4Addr::from(start), m.prefix_len)
                    .expect("a prefix length the layout computed")
            };
            if !block.contains(&cidr) {
                return Err(Error::Previous {
                    reason: format!("`{}` does not fit its previous block {block}", m.item.name()),
                });
            }
            match &m.item {
                Item::Aggregate { name, role, scope } => {
                    aggregates.push(Aggregate {
                        name: name.clone(),
                        role: *role,
                        scope: scope.clone(),
                        cidr,
                    });
                }
                Item::Segment(d) => {
                    let mut s = segment(d, cidr);
                    if let Some(was) = old.get(d.name.as_str()) {
                        if was.cidr != cidr {
                            return Err(Error::Previous {
                                reason: format!(
                                    "`{}` is at {} there but this spec lays it out at {cidr}",
                                    d.name, was.cidr
                                ),
                            });
                        }
                        s = Segment { planned: d.planned, ..(*was).clone() };
                    }
                    segments.push(s);
                    keys.push(d.vlan_key.clone());
                }
            }
        }
    }
    Ok((segments, aggregates, keys))
}

/// Previous segments the spec no longer has: kept with nothing planned (and reported), or dropped
/// with `prune`. Their blocks stay claimed for this plan either way.
fn keep_removed(
    previous: &Plan,
    segments: &mut Vec<Segment>,
    keys: &mut Vec<Option<String>>,
    prune: bool,
    warnings: &mut Vec<String>,
) {
    let now: HashSet<String> = segments.iter().map(|s| s.name.clone()).collect();
    let gone: Vec<&Segment> = previous.segments.iter().filter(|s| !now.contains(&s.name)).collect();
    if gone.is_empty() {
        return;
    }
    let names: Vec<&str> = gone.iter().map(|s| s.name.as_str()).collect();
    let shown = if names.len() > 6 {
        format!("{} and {} more", names[..6].join(", "), names.len() - 6)
    } else {
        names.join(", ")
    };
    if prune {
        warnings.push(format!("pruned what the spec no longer has: {shown}"));
        return;
    }
    warnings.push(format!(
        "the spec no longer has {shown}; kept with nothing planned (re-plan with --prune to drop)"
    ));
    for s in gone {
        segments.push(Segment { planned: 0, ..s.clone() });
        keys.push(None);
    }
}

/// The segment a placed draft becomes.
fn segment(d: &Draft, cidr: Ipv4Net) -> Segment {
    let has_vlan = d.kind.has_vlan();
    Segment {
        name: d.name.clone(),
        role: d.role,
        scope: d.scope.clone(),
        kind: d.kind,
        vlan: d.vlan.filter(|_| has_vlan),
        cidr,
        gateway: has_vlan.then(|| Ipv4Addr::from(u32::from(cidr.network()) + 1)),
        mtu: d.mtu,
        switch_mtu: d.switch_mtu,
        planned: d.planned,
        usable: block_size(cidr.prefix_len()).saturating_sub(d.kind.reserved()),
        extends: d.extends.clone(),
    }
}
