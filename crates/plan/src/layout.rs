//! The blocks of one generation of SU slots, each laid out by topology position: a *top* is a
//! block placed in the base as a whole (a role's aggregate, or a cluster-wide segment), and every
//! member sits at a fixed offset inside it, so that a member's address depends only on its
//! position (SU, rail, rack), never on the order things were added.

use crate::sizing::{block_size, smallest_block};
use crate::spec::{BackendAddressing, FabricLinks, L2Scope, Numbering, RoleSpec, Spec};
use crate::topology::{Figures, L2Role, LB_PER_1000_GPUS, MONITORING_PER_1000_GPUS, UPLINKS_PER_SWITCH};
use crate::{Error, Kind, Role, Scope, VlanId};

/// The MTU of fabric switch ports (Juniper's JVD: 9216 physical on leaves).
pub(crate) const SWITCH_MTU: u16 = 9216;

/// A segment still to be placed.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Draft {
    pub(crate) name: String,
    pub(crate) role: Role,
    pub(crate) kind: Kind,
    pub(crate) scope: Scope,
    pub(crate) planned: u64,
    pub(crate) mtu: u16,
    pub(crate) switch_mtu: Option<u16>,
    /// Segments with one key share their VLAN id under `vlan_scope = "template"`.
    pub(crate) vlan_key: Option<String>,
    /// An explicit VLAN id from the spec.
    pub(crate) vlan: Option<VlanId>,
    /// For a second prefix of a cluster-wide segment: the segment it adds space to.
    pub(crate) extends: Option<String>,
}

/// What sits at one offset of a top.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Item {
    Aggregate { name: String, role: Role, scope: Scope },
    Segment(Draft),
}

impl Item {
    pub(crate) fn name(&self) -> &str {
        match self {
            Item::Aggregate { name, .. } => name,
            Item::Segment(d) => &d.name,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Member {
    pub(crate) offset: u64,
    pub(crate) prefix_len: u8,
    pub(crate) item: Item,
}

/// A block placed as a whole; `members[0]` is the block itself.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Top {
    pub(crate) prefix_len: u8,
    pub(crate) explicit: Option<ipnet::Ipv4Net>,
    pub(crate) members: Vec<Member>,
}

impl Top {
    pub(crate) fn name(&self) -> &str {
        self.members[0].item.name()
    }
}

/// One generation of SU slots: SUs `first .. first + sus` in use or reserved, laid out in `slots`
/// slots from SU `base` (a pod boundary when it has pods, so that every pod is one aligned block;
/// the slots before `first` then stay empty, their SUs being in an earlier generation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Gen {
    pub(crate) index: usize,
    pub(crate) first: u32,
    pub(crate) base: u32,
    pub(crate) slots: u32,
    /// Whether its SUs sit in pods (the cluster's slots span more than one pod).
    pub(crate) pods: bool,
}

impl Gen {
    /// The generations a plan records, with their pod layout.
    pub(crate) fn all(gens: &[crate::model::Generation], f: &Figures) -> Vec<Gen> {
        gens.iter()
            .enumerate()
            .map(|(index, g)| {
                let base = if g.pods { g.first_su - g.first_su % f.sus_per_pod } else { g.first_su };
                Gen { index, first: g.first_su, base, slots: g.sus + (g.first_su - base), pods: g.pods }
            })
            .collect()
    }

    /// `""` for the first generation, `-2`, `-3`... after.
    pub(crate) fn suffix(&self) -> String {
        if self.index == 0 { String::new() } else { format!("-{}", self.index + 1) }
    }

    /// SUs of this generation in use.
    pub(crate) fn present(&self, f: &Figures) -> std::ops::Range<u32> {
        self.first..f.sus.min(self.base.saturating_add(self.slots)).max(self.first)
    }

    /// The slot of SU `su` (one of this generation's).
    pub(crate) fn slot(&self, su: u32) -> u64 {
        u64::from(su - self.base)
    }

    /// The scope of SU `su`.
    pub(crate) fn su_scope(&self, f: &Figures, su: u32) -> Scope {
        Scope { pod: self.pods.then(|| su / f.sus_per_pod), su: Some(su), ..Scope::default() }
    }

    /// Whether its blocks are split per pod: it has pods, and more SU slots than one pod.
    pub(crate) fn per_pod(&self, f: &Figures) -> bool {
        self.pods && self.slots > f.sus_per_pod
    }

    /// Every pod this generation reserves, with its first slot: a pod's aggregate exists from the
    /// start, so that filling the headroom adds none.
    fn pods_reserved(&self, f: &Figures) -> Vec<(u32, u64)> {
        if !self.per_pod(f) {
            return Vec::new();
        }
        let spp = f.sus_per_pod;
        (self.base / spp..(self.base + self.slots) / spp).map(|p| (p, self.slot(p * spp))).collect()
    }
}

pub(crate) fn len_of(name: &str, addresses: u64) -> Result<u8, Error> {
    smallest_block(addresses).ok_or_else(|| Error::TooLarge { segment: name.to_owned(), needed: addresses })
}

fn mtu(o: &RoleSpec, role: Role) -> u16 {
    o.mtu.unwrap_or(role.default_mtu())
}

pub(crate) fn draft(name: String, role: Role, kind: Kind, scope: Scope, planned: u64, o: &RoleSpec) -> Draft {
    let vlan_key = kind.has_vlan().then(|| role.as_str().to_owned());
    Draft {
        name,
        role,
        kind,
        scope,
        planned,
        mtu: mtu(o, role),
        switch_mtu: None,
        vlan_key,
        vlan: o.vlan.filter(|_| kind.has_vlan()),
        extends: None,
    }
}

/// The backend aggregate of generation `g`: per rail (rail numbering) or per SU (server numbering).
pub(crate) fn backend(spec: &Spec, f: &Figures, g: &Gen) -> Result<Top, Error> {
    let o = &spec.roles.backend;
    let sfx = g.suffix();
    let top_name = format!("backend{sfx}");
    let links = spec.backend_addressing == BackendAddressing::P2p31;
    let kind = if links { Kind::Links } else { Kind::Subnet };
    let per_node_block = match spec.numbering {
        Numbering::Rail => u64::from(f.lanes),
        Numbering::Server => u64::from(f.per_node),
    };
    let devices = per_node_block * u64::from(f.nodes_per_su);
    let block = if links { 2 * devices } else { devices + kind.reserved() };
    let block_len = len_of(&top_name, block)?;
    let su_block = block_size(block_len);
    let slots = u64::from(g.slots);
    let groups = match spec.numbering {
        Numbering::Rail => u64::from(f.rails).next_power_of_two(),
        Numbering::Server => 1,
    };
    let top_len = len_of(&top_name, groups * slots * su_block)?;
    let mut members = vec![Member {
        offset: 0,
        prefix_len: top_len,
        item: Item::Aggregate { name: top_name.clone(), role: Role::Backend, scope: Scope::default() },
    }];
    let rail_span = slots * su_block;
    let rail_len = len_of(&top_name, rail_span)?;
    let pod_len = len_of(&top_name, u64::from(f.sus_per_pod) * su_block)?;
    let switch_mtu = (links && mtu(o, Role::Backend) != crate::layout::SWITCH_MTU).then_some(SWITCH_MTU);
    let rails: Vec<Option<u32>> = match spec.numbering {
        Numbering::Rail => (0..f.rails).map(Some).collect(),
        Numbering::Server => vec![None],
    };
    // One rail's aggregate would be the backend's own block: it is not listed twice.
    let rail_aggregates = f.rails > 1;
    for rail in rails {
        let base = u64::from(rail.unwrap_or(0)) * rail_span;
        let group = match rail {
            Some(r) if rail_aggregates => {
                let name = format!("{top_name}-rail{r}");
                let scope = Scope { rail: Some(r), ..Scope::default() };
                members.push(Member {
                    offset: base,
                    prefix_len: rail_len,
                    item: Item::Aggregate { name: name.clone(), role: Role::Backend, scope },
                });
                name
            }
            _ => top_name.clone(),
        };
        for (pod, first_slot) in g.pods_reserved(f) {
            let scope = Scope { pod: Some(pod), rail, ..Scope::default() };
            members.push(Member {
                offset: base + first_slot * su_block,
                prefix_len: pod_len,
                item: Item::Aggregate { name: format!("{group}-pod{pod:02}"), role: Role::Backend, scope },
            });
        }
        for su in g.present(f) {
            let nodes = u64::from(f.nodes_in_su(su));
            let nics = match rail {
                Some(r) => nodes * u64::from(f.nics_on_rail(r)),
                None => nodes * u64::from(f.per_node),
            };
            let mut scope = g.su_scope(f, su);
            scope.rail = rail;
            let name = match rail {
                Some(r) => format!("backend-su{su:02}-rail{r}"),
                None => format!("backend-su{su:02}"),
            };
            let planned = if links { 2 * nics } else { nics };
            let mut d = draft(name, Role::Backend, kind, scope, planned, o);
            d.switch_mtu = switch_mtu;
            if let Some(r) = rail.filter(|_| !links) {
                d.vlan_key = Some(format!("backend-rail{r}"));
                d.vlan = o.vlan.map(|v| VlanId::new(i64::from(v.get()) + i64::from(r))).transpose()?;
            }
            members.push(Member {
                offset: base + g.slot(su) * su_block,
                prefix_len: block_len,
                item: Item::Segment(d),
            });
        }
    }
    Ok(Top { prefix_len: top_len, explicit: o.prefix.filter(|_| g.index == 0), members })
}

/// The aggregate of one L2 role in generation `g`: a segment per SU, per rack, or one for the
/// generation (`l2_scope`).
pub(crate) fn l2(spec: &Spec, f: &Figures, g: &Gen, l2: &L2Role) -> Result<Top, Error> {
    let o = role_spec(spec, l2.role);
    let top_name = format!("{}{}", l2.name, g.suffix());
    let port = l2.port();
    let port_vlan = match (o.vlan, port) {
        (Some(v), Some(p)) => {
            Some(VlanId::new(i64::from(v.get()) + i64::from(p)).map_err(|_| Error::InvalidVlan {
                field: format!("roles.{}.vlan (storage port {p})", l2.role),
                value: i64::from(v.get()) + i64::from(p),
            })?)
        }
        (v, _) => v,
    };
    let key_draft = |name: String, scope: Scope, planned: u64| {
        let mut d = draft(name, l2.role, Kind::Subnet, scope, planned, o);
        d.vlan_key = Some(l2.name.clone());
        d.vlan = port_vlan;
        d
    };
    let explicit = o.prefix.filter(|_| g.index == 0);
    if spec.l2_scope == L2Scope::Cluster {
        let len = len_of(&top_name, u64::from(g.slots) * l2.per_su(f) + Kind::Subnet.reserved())?;
        let planned = g.present(f).map(|su| l2.in_su(f, su)).sum();
        let mut d = key_draft(top_name.clone(), Scope::default(), planned);
        if g.index > 0 {
            // Another cluster-wide L2 domain beside the first generation's: its own VLAN id.
            d.vlan_key = Some(top_name.clone());
            d.vlan = None;
        }
        let members = vec![Member { offset: 0, prefix_len: len, item: Item::Segment(d) }];
        return Ok(Top { prefix_len: len, explicit, members });
    }
    let rack_len = len_of(&top_name, l2.per_rack(f) + Kind::Subnet.reserved())?;
    let su_len = match spec.l2_scope {
        L2Scope::Rack => {
            len_of(&top_name, u64::from(f.racks_per_su).next_power_of_two() * block_size(rack_len))?
        }
        _ => len_of(&top_name, l2.per_su(f) + Kind::Subnet.reserved())?,
    };
    let su_block = block_size(su_len);
    let top_len = len_of(&top_name, u64::from(g.slots) * su_block)?;
    let mut members = vec![Member {
        offset: 0,
        prefix_len: top_len,
        item: Item::Aggregate { name: top_name.clone(), role: l2.role, scope: Scope::default() },
    }];
    let pod_len = len_of(&top_name, u64::from(f.sus_per_pod) * su_block)?;
    for (pod, first_slot) in g.pods_reserved(f) {
        members.push(Member {
            offset: first_slot * su_block,
            prefix_len: pod_len,
            item: Item::Aggregate {
                name: format!("{top_name}-pod{pod:02}"),
                role: l2.role,
                scope: Scope { pod: Some(pod), ..Scope::default() },
            },
        });
    }
    for su in g.present(f) {
        let offset = g.slot(su) * su_block;
        let scope = g.su_scope(f, su);
        if spec.l2_scope == L2Scope::Rack {
            for rack in 0..f.racks_per_su {
                let scope = Scope { rack: Some(rack), ..scope.clone() };
                let d = key_draft(l2.segment_name(g, Some(su), Some(rack)), scope, l2.in_rack(f, su, rack));
                let at = offset + u64::from(rack) * block_size(rack_len);
                members.push(Member { offset: at, prefix_len: rack_len, item: Item::Segment(d) });
            }
        } else {
            let d = key_draft(l2.segment_name(g, Some(su), None), scope, l2.in_su(f, su));
            members.push(Member { offset, prefix_len: su_len, item: Item::Segment(d) });
        }
    }
    Ok(Top { prefix_len: top_len, explicit, members })
}

/// The overrides of a role.
pub(crate) fn role_spec(spec: &Spec, role: Role) -> &RoleSpec {
    let r = &spec.roles;
    match role {
        Role::Backend => &r.backend,
        Role::Frontend => &r.frontend,
        Role::Storage => &r.storage,
        Role::Oob => &r.oob,
        Role::Monitoring => &r.monitoring,
        Role::Lb => &r.lb,
        Role::Loopback => &r.loopback,
        Role::Anycast => &r.anycast,
        Role::Fabric => &r.fabric,
        Role::Site => &NO_OVERRIDES,
    }
}

const NO_OVERRIDES: RoleSpec = RoleSpec { count: None, vlan: None, mtu: None, prefix: None };

/// A cluster-wide segment as a top of its own.
fn single(d: Draft, addresses: u64, explicit: Option<ipnet::Ipv4Net>) -> Result<Top, Error> {
    let len = len_of(&d.name, addresses)?;
    Ok(Top {
        prefix_len: len,
        explicit,
        members: vec![Member { offset: 0, prefix_len: len, item: Item::Segment(d) }],
    })
}

/// The segment a fabric switch's management port sits on (`oob-fabric`, or per pod), and the
/// offset of SU `su`'s first one.
pub(crate) fn fabric_mgmt_place(f: &Figures, g: &Gen, su: u32, per_su: u64) -> (String, u64) {
    let base = format!("oob-fabric{}", g.suffix());
    if g.per_pod(f) {
        let (name, _) = pod_group(f, g, su);
        (
            format!("{base}-{name}"),
            crate::position::FIRST_HOST + u64::from((su - g.first) % f.sus_per_pod) * per_su,
        )
    } else {
        (base, crate::position::FIRST_HOST + g.slot(su) * per_su)
    }
}

/// The pod group of SU `su` in generation `g`: `pod03` and the group's index in the generation.
fn pod_group(f: &Figures, g: &Gen, su: u32) -> (String, u64) {
    let q = g.slot(su) / u64::from(f.sus_per_pod);
    (format!("pod{:02}", su / f.sus_per_pod), q)
}

/// A cluster-wide L2 segment that grows with the SUs: one segment for a single-pod generation,
/// else an aggregate with a segment per pod, so that no broadcast domain spans the cluster.
/// `per_su` is the addresses one full SU needs; `planned` counts those of some SUs in use.
fn grouped(
    f: &Figures,
    g: &Gen,
    d: Draft,
    per_su: u64,
    planned: &dyn Fn(std::ops::Range<u32>) -> u64,
    explicit: Option<ipnet::Ipv4Net>,
) -> Result<Top, Error> {
    let reserved = d.kind.reserved();
    // A later generation's segments are other L2 domains beside the first's: their own VLAN ids.
    let d = if g.index > 0 {
        Draft { vlan: None, vlan_key: d.vlan_key.as_ref().map(|_| d.name.clone()), ..d }
    } else {
        d
    };
    if !g.per_pod(f) {
        let d = Draft { planned: planned(g.present(f)), ..d };
        return single(d, u64::from(g.slots) * per_su + reserved, explicit);
    }
    let spp = f.sus_per_pod;
    let seg_len = len_of(&d.name, u64::from(spp) * per_su + reserved)?;
    let groups = u64::from(g.slots.div_ceil(spp)).next_power_of_two();
    let d = Draft { vlan: if g.index > 0 { None } else { d.vlan }, ..d };
    let top_len = len_of(&d.name, groups * block_size(seg_len))?;
    let mut members = vec![Member {
        offset: 0,
        prefix_len: top_len,
        item: Item::Aggregate { name: d.name.clone(), role: d.role, scope: Scope::default() },
    }];
    let present = g.present(f);
    let mut first = present.start;
    while first < present.end {
        let (pod, q) = pod_group(f, g, first);
        let end = (g.base + (q as u32 + 1) * spp).min(present.end);
        let scope = Scope { pod: pod.strip_prefix("pod").and_then(|p| p.parse().ok()), ..Scope::default() };
        // Each generation's pod segments are their own template: pods of two generations may meet.
        let vlan_key = d.vlan_key.as_ref().map(|_| d.name.clone());
        let seg = Draft {
            name: format!("{}-{pod}", d.name),
            scope,
            planned: planned(first..end),
            vlan_key,
            ..d.clone()
        };
        members.push(Member {
            offset: q * block_size(seg_len),
            prefix_len: seg_len,
            item: Item::Segment(seg),
        });
        first = end;
    }
    Ok(Top { prefix_len: top_len, explicit, members })
}

/// The cluster-wide segments that grow with the SU slots of generation `g`: monitoring and load
/// balancers (unless counted explicitly), a loopback block per switch tier, the OOB segment of
/// the spines, and numbered fabric links.
pub(crate) fn per_generation(spec: &Spec, f: &Figures, g: &Gen) -> Result<Vec<Top>, Error> {
    let sfx = g.suffix();
    let mut tops = Vec::new();
    let present: u64 = g.present(f).len() as u64;
    let first_gpu = u64::from(g.first) * f.gpus_per_su();
    let gpus_here = f.gpus.saturating_sub(first_gpu).min(u64::from(g.slots) * f.gpus_per_su());
    let roles = &spec.roles;
    for (role, per_1000, o) in [
        (Role::Monitoring, MONITORING_PER_1000_GPUS, &roles.monitoring),
        (Role::Lb, LB_PER_1000_GPUS, &roles.lb),
    ] {
        if o.count.is_some() {
            continue;
        }
        let d = draft(format!("{role}{sfx}"), role, Kind::Subnet, Scope::default(), 0, o);
        let per_su = (f.gpus_per_su() * per_1000).div_ceil(1000);
        let planned = |sus: std::ops::Range<u32>| {
            let nodes: u64 = sus.map(|su| u64::from(f.nodes_in_su(su))).sum();
            ((nodes * u64::from(f.per_node)).min(gpus_here) * per_1000).div_ceil(1000)
        };
        tops.push(grouped(f, g, d, per_su, &planned, o.prefix.filter(|_| g.index == 0))?);
    }
    let slots = u64::from(g.slots);
    let rails = u64::from(f.rails);
    let spines = u64::from(f.spines_per_su(g.pods));
    let superspines = u64::from(f.superspines_per_su(g.pods));
    let lo = &roles.loopback;
    let tiers = [("leaf", rails), ("spine", spines), ("superspine", superspines)];
    for (tier, per_su) in tiers.into_iter().filter(|(_, n)| *n > 0) {
        let d = draft(
            format!("loopback-{tier}{sfx}"),
            Role::Loopback,
            Kind::Hosts,
            Scope::default(),
            present * per_su,
            lo,
        );
        tops.push(single(d, slots * per_su, None)?);
    }
    let oob = &roles.oob;
    let mgmt_per_su = spines + superspines + if oob.count.is_some() { rails } else { 0 };
    let mut d = draft(format!("oob-fabric{sfx}"), Role::Oob, Kind::Subnet, Scope::default(), 0, oob);
    d.vlan_key = Some("oob-fabric".into());
    d.vlan = None;
    let planned =
        |sus: std::ops::Range<u32>| sus.filter(|&su| f.nodes_in_su(su) > 0).count() as u64 * mgmt_per_su;
    tops.push(grouped(f, g, d, mgmt_per_su, &planned, None)?);
    if spec.fabric_links == FabricLinks::P2p31 {
        let per_switch = 2 * u64::from(UPLINKS_PER_SWITCH);
        let fo = &roles.fabric;
        let tiers = [("leaf", rails), ("spine", if g.pods { spines } else { 0 })];
        for (tier, per_su) in tiers.into_iter().filter(|(_, n)| *n > 0) {
            let planned = present * per_su * per_switch;
            let mut d = draft(
                format!("fabric-{tier}{sfx}"),
                Role::Fabric,
                Kind::Links,
                Scope::default(),
                planned,
                fo,
            );
            d.mtu = fo.mtu.unwrap_or(SWITCH_MTU);
            tops.push(single(d, slots * per_su * per_switch, None)?);
        }
    }
    Ok(tops)
}

/// Segments that do not follow the SU slots: roles with an explicit `count` and anycast
/// endpoints, each sized for `count x growth` (edge sites are `edge.rs`'s).
pub(crate) fn fixed(spec: &Spec) -> Result<Vec<Draft>, Error> {
    let roles = &spec.roles;
    let mut out = Vec::new();
    for role in [Role::Frontend, Role::Storage, Role::Oob, Role::Monitoring, Role::Lb] {
        let o = role_spec(spec, role);
        if let Some(count) = o.count {
            out.push(draft(role.as_str().to_owned(), role, Kind::Subnet, Scope::default(), count, o));
        }
    }
    let endpoints = spec.anycast.len() as u64;
    let anycast = roles.anycast.count.unwrap_or(0).max(endpoints);
    if anycast > 0 || roles.anycast.prefix.is_some() {
        out.push(draft(
            "anycast".into(),
            Role::Anycast,
            Kind::Hosts,
            Scope::default(),
            anycast,
            &roles.anycast,
        ));
    }
    Ok(out)
}

/// A fixed draft as a top, sized for its count with headroom (and `min_usable` for a second
/// prefix).
pub(crate) fn fixed_top(spec: &Spec, d: Draft, min_usable: u64) -> Result<Top, Error> {
    let explicit = if d.extends.is_some() { None } else { fixed_prefix(spec, &d) };
    let usable = d.kind.needed(d.planned, spec.growth).max(min_usable);
    single(d.clone(), usable + d.kind.reserved(), explicit).map(|mut top| {
        if let Some(prefix) = explicit
            && prefix.prefix_len() < top.prefix_len
        {
            top.prefix_len = prefix.prefix_len();
            top.members[0].prefix_len = prefix.prefix_len();
        }
        top
    })
}

fn fixed_prefix(spec: &Spec, d: &Draft) -> Option<ipnet::Ipv4Net> {
    role_spec(spec, d.role).prefix
}
