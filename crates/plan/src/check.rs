//! The plan invariants as one call, for our tests, `--previous`, and users' own property tests.

use std::collections::{HashMap, HashSet};

use ipnet::Ipv4Net;

use std::net::Ipv4Addr;

use crate::model::{Aggregate, Plan, SCHEMA, Segment};
use crate::sizing::block_size;
use crate::{Kind, Role, VlanId};

/// The MTUs a plan may hold: IPv4's minimum to the largest jumbo frame switches take.
const MTU: std::ops::RangeInclusive<u16> = 68..=9216;

/// A broken plan invariant, naming what breaks it.
///
/// ```
/// use ipam_plan::{plan, Spec, Violation};
///
/// let mut broken = plan(&Spec::for_gpus(64))?;
/// broken.segments[1].cidr = broken.segments[0].cidr;
/// assert!(matches!(broken.check(), Err(Violation::Overlap { .. })));
/// # Ok::<(), ipam_plan::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Violation {
    /// The schema version is neither 1 nor [`SCHEMA`].
    #[error("schema {0} is not 1 or {SCHEMA}")]
    Schema(u32),
    /// A segment's CIDR has host bits set.
    #[error("`{segment}`: {cidr} is not aligned")]
    Misaligned {
        /// The segment.
        segment: String,
        /// Its CIDR.
        cidr: Ipv4Net,
    },
    /// A segment or aggregate lies outside the base block.
    #[error("`{segment}` is outside the base block")]
    OutsideBase {
        /// The segment.
        segment: String,
    },
    /// Two segments overlap (or a segment overlaps an aggregate it is not part of).
    #[error("`{first}` overlaps `{second}`")]
    Overlap {
        /// One.
        first: String,
        /// The other.
        second: String,
    },
    /// Two segments share a name.
    #[error("two segments are named `{0}`")]
    DuplicateName(String),
    /// Two segments whose scopes meet share a VLAN id.
    #[error("VLAN {vlan} is on both `{first}` and `{second}`, which share switches")]
    DuplicateVlan {
        /// The VLAN id.
        vlan: VlanId,
        /// One segment.
        first: String,
        /// The other.
        second: String,
    },
    /// A VLAN segment without a VLAN or gateway inside it, or a routed one with either.
    #[error("`{0}`: its VLAN or gateway does not match its kind")]
    Addressing(String),
    /// `usable` is not the block's size less the kind's reservations.
    #[error("`{segment}`: usable should be {expected}, not {found}")]
    Usable {
        /// The segment.
        segment: String,
        /// What it should be.
        expected: u64,
        /// What it is.
        found: u64,
    },
    /// A family of segments offers fewer usable addresses than its planned count with headroom.
    #[error("`{family}` needs {needed} usable addresses with headroom but has {usable}")]
    TooSmall {
        /// The segment (with its second prefixes).
        family: String,
        /// Needed with growth.
        needed: u64,
        /// Offered.
        usable: u64,
    },
    /// A second prefix that extends no segment, a rail outside every aggregate, or an assigned or
    /// anycast address outside its segment or given twice.
    #[error("{0}")]
    Reference(String),
    /// A value outside what any plan may hold (MTU, growth, name, ASN, link ends).
    #[error("{0}")]
    Value(String),
}

impl Plan {
    /// Checks every plan invariant: segments aligned, inside `base`, pairwise disjoint, uniquely
    /// and validly named, VLAN ids unique among segments whose scopes meet, MTUs in 68-9216,
    /// `usable` consistent, each segment (with its second prefixes) holding its planned count
    /// (schema 1: times `growth`), aggregates nested within one role, rails inside their
    /// aggregate, switches and links well formed, and every switch, link, anycast and assigned
    /// address inside its segment and never given twice.
    ///
    /// ```
    /// let plan = ipam_plan::plan(&ipam_plan::Spec::for_gpus(16_384))?;
    /// assert_eq!(plan.check(), Ok(()));
    /// # Ok::<(), ipam_plan::Error>(())
    /// ```
    pub fn check(&self) -> Result<(), Violation> {
        if self.schema != 1 && self.schema != SCHEMA {
            return Err(Violation::Schema(self.schema));
        }
        if !(self.growth.is_finite() && self.growth >= 1.0) {
            return Err(Violation::Value(format!("growth {} is not a number of at least 1", self.growth)));
        }
        self.check_topology()?;
        if crate::validate::domain(&self.domain).is_err() {
            return Err(Violation::Value(format!("domain {:?} is not a DNS domain", self.domain)));
        }
        let mut names = HashSet::new();
        let mut vlans: std::collections::BTreeMap<VlanId, Vec<&Segment>> = std::collections::BTreeMap::new();
        let mut families: HashMap<&str, (Kind, u64, u64)> = HashMap::new();
        for s in &self.segments {
            let segment = || s.name.clone();
            if ipam_core::parse::name(&s.name).is_err() {
                return Err(Violation::Value(format!("{:?} is not a valid name", s.name)));
            }
            for mtu in std::iter::once(s.mtu).chain(s.switch_mtu) {
                if !MTU.contains(&mtu) {
                    return Err(Violation::Value(format!("`{}`: MTU {mtu} is outside 68-9216", s.name)));
                }
            }
            if s.cidr.trunc() != s.cidr {
                return Err(Violation::Misaligned { segment: segment(), cidr: s.cidr });
            }
            if !self.base.contains(&s.cidr) {
                return Err(Violation::OutsideBase { segment: segment() });
            }
            if !names.insert(s.name.as_str()) {
                return Err(Violation::DuplicateName(segment()));
            }
            let gateway_ok = s.gateway.is_some_and(|g| {
                s.cidr.contains(&g)
                    && g != s.cidr.network()
                    && g != s.cidr.broadcast()
                    && s.cidr.prefix_len() <= 29
            });
            if s.kind.has_vlan() != s.vlan.is_some() || s.kind.has_vlan() != gateway_ok {
                return Err(Violation::Addressing(segment()));
            }
            if let Some(vlan) = s.vlan {
                vlans.entry(vlan).or_default().push(s);
            }
            let expected = block_size(s.cidr.prefix_len()).saturating_sub(s.kind.reserved());
            if s.usable != expected {
                return Err(Violation::Usable { segment: segment(), expected, found: s.usable });
            }
            let family = families.entry(s.family()).or_insert((s.kind, 0, 0));
            family.1 += s.planned;
            family.2 += s.usable;
        }
        for (vlan, holders) in &vlans {
            if let Some((first, second)) = meeting_pair(holders) {
                return Err(Violation::DuplicateVlan {
                    vlan: *vlan,
                    first: first.name.clone(),
                    second: second.name.clone(),
                });
            }
        }
        for s in self.segments.iter().filter(|s| s.extends.is_some()) {
            if !names.contains(s.family()) || s.extends.as_deref() == Some(s.name.as_str()) {
                return Err(Violation::Reference(format!(
                    "`{}` extends `{}`, which is not another segment of the plan",
                    s.name,
                    s.family()
                )));
            }
        }
        for (family, (kind, planned, usable)) in families {
            // Schema 1 sized every segment for its count with growth; schema 2 reserves growth as
            // SU slots, so a segment must hold what is planned in it.
            let needed = if self.schema == 1 { kind.needed(planned, self.growth) } else { planned };
            if needed > usable {
                return Err(Violation::TooSmall { family: family.to_owned(), needed, usable });
            }
        }
        self.check_disjoint()?;
        self.check_switches()?;
        self.check_addresses()
    }

    /// The recorded settings are ones a spec may hold, and the generations of SU slots start at
    /// SU 0, follow each other, and each lay out a power of two of slots.
    fn check_topology(&self) -> Result<(), Violation> {
        let Some(t) = &self.topology else { return Ok(()) };
        let bad = |what: String| Err(Violation::Value(format!("topology: {what}")));
        let spp = t.sus_per_pod;
        let in_range = (1..=64).contains(&t.gpus_per_node)
            && (1..=64).contains(&t.rails)
            && (1..=1024).contains(&t.nodes_per_su)
            && spp.is_power_of_two()
            && spp <= 1024
            && (1..=t.nodes_per_su).contains(&t.nodes_per_rack);
        if !in_range {
            return bad("a setting is out of its range".into());
        }
        let mut next = 0u64;
        for g in &t.generations {
            let first = u64::from(g.first_su);
            let base = if g.pods { first - first % u64::from(spp) } else { first };
            let slots = first + u64::from(g.sus) - base;
            if first != next || g.sus == 0 || !slots.is_power_of_two() {
                return bad(format!(
                    "generation at SU {first} does not follow on or is not a power of two of slots"
                ));
            }
            next = first + u64::from(g.sus);
        }
        if next > 1_000_000 {
            return bad(format!("{next} SU slots, more than a plan may hold"));
        }
        Ok(())
    }

    /// Switch names unique, ASNs private, loopbacks and management addresses inside segments of
    /// their role; links are /31s inside a fabric segment, named after switches of the plan.
    fn check_switches(&self) -> Result<(), Violation> {
        let mut names = HashSet::new();
        let mut leaf_asns = HashSet::new();
        let by_address = self.by_address();
        let inside =
            |role: Role, address: Ipv4Addr| self.holder(&by_address, address).is_some_and(|s| s.role == role);
        for sw in &self.switches {
            let bad = |what: &str| Violation::Value(format!("switch `{}`: {what}", sw.name));
            if !names.insert(sw.name.as_str()) {
                return Err(Violation::DuplicateName(sw.name.clone()));
            }
            if !["leaf", "spine", "superspine"].contains(&sw.tier.as_str()) {
                return Err(bad("its tier is not leaf, spine or superspine"));
            }
            if !(4_200_000_000..=4_294_967_294).contains(&sw.asn) {
                return Err(bad("its ASN is not a private 4-byte ASN"));
            }
            if sw.tier == "leaf" && !leaf_asns.insert(sw.asn) {
                return Err(bad("its ASN is another leaf's (RFC 7938: one per leaf)"));
            }
            if !inside(Role::Loopback, sw.loopback) || !inside(Role::Oob, sw.mgmt) {
                return Err(bad(
                    "its loopback or management address is outside the loopback and OOB segments",
                ));
            }
        }
        for link in &self.links {
            let ends_ok = link.cidr.prefix_len() == 31
                && link.a_address == link.cidr.network()
                && link.b_address == link.cidr.broadcast()
                && names.contains(link.a.as_str())
                && names.contains(link.b.as_str());
            if !ends_ok || !inside(Role::Fabric, link.a_address) {
                return Err(Violation::Value(format!(
                    "link {} {}-{} is not a /31 of the fabric between two switches",
                    link.cidr, link.a, link.b
                )));
            }
        }
        Ok(())
    }

    /// Segments are pairwise disjoint; an aggregate holds only segments of its role and overlaps
    /// nothing else.
    fn check_disjoint(&self) -> Result<(), Violation> {
        let name_of = |net: Ipv4Net| {
            self.segments.iter().find(|s| s.cidr == net).map_or_else(|| net.to_string(), |s| s.name.clone())
        };
        let cidrs: Vec<Ipv4Net> = self.segments.iter().map(|s| s.cidr).collect();
        if let Err(ipam_core::invariants::Violation::Overlap { a, b }) =
            ipam_core::invariants::disjoint(&cidrs)
        {
            return Err(Violation::Overlap { first: name_of(a), second: name_of(b) });
        }
        let mut names = HashSet::new();
        for a in &self.aggregates {
            if !self.base.contains(&a.cidr) {
                return Err(Violation::OutsideBase { segment: a.name.clone() });
            }
            if a.cidr.trunc() != a.cidr {
                return Err(Violation::Misaligned { segment: a.name.clone(), cidr: a.cidr });
            }
            if !names.insert(a.name.as_str()) {
                return Err(Violation::DuplicateName(a.name.clone()));
            }
        }
        // Aligned blocks either nest or are disjoint: in address order (larger first, aggregates
        // before segments), each block sits in the innermost open one or in none. Aggregates nest
        // within one role; a segment sits only in aggregates of its role, and nothing in a segment.
        let mut blocks: Vec<(Ipv4Net, Option<&Aggregate>, Option<&Segment>)> = self
            .aggregates
            .iter()
            .map(|a| (a.cidr, Some(a), None))
            .chain(self.segments.iter().map(|s| (s.cidr, None, Some(s))))
            .collect();
        blocks.sort_by_key(|(net, aggregate, _)| (net.network(), net.prefix_len(), aggregate.is_none()));
        let mut open: Vec<(Ipv4Net, Option<&Aggregate>, Option<&Segment>)> = Vec::new();
        for block in blocks {
            while open.last().is_some_and(|(net, _, _)| !net.contains(&block.0)) {
                open.pop();
            }
            let name = |b: &(Ipv4Net, Option<&Aggregate>, Option<&Segment>)| {
                b.1.map(|a| a.name.clone()).or_else(|| b.2.map(|s| s.name.clone())).unwrap_or_default()
            };
            let role = |b: &(Ipv4Net, Option<&Aggregate>, Option<&Segment>)| {
                b.1.map(|a| a.role).or(b.2.map(|s| s.role))
            };
            match open.last() {
                Some(outer)
                    if outer.2.is_some()
                        || role(outer) != role(&block)
                        || (block.1.is_some() && outer.0 == block.0) =>
                {
                    return Err(Violation::Overlap { first: name(outer), second: name(&block) });
                }
                None if block.2.is_some_and(|s| s.kind == Kind::Links && s.role == crate::Role::Backend) => {
                    return Err(Violation::Reference(format!(
                        "rail `{}` is outside every aggregate",
                        name(&block)
                    )));
                }
                _ => {}
            }
            open.push(block);
        }
        Ok(())
    }

    /// The segments in address order (they are disjoint once `check_disjoint` passed).
    fn by_address(&self) -> Vec<&Segment> {
        let mut sorted: Vec<&Segment> = self.segments.iter().collect();
        sorted.sort_by_key(|s| s.cidr.network());
        sorted
    }

    /// The segment holding `address`, found by binary search in `sorted` (from `by_address`).
    fn holder<'a>(&self, sorted: &[&'a Segment], address: Ipv4Addr) -> Option<&'a Segment> {
        let after = sorted.partition_point(|s| s.cidr.network() <= address);
        after.checked_sub(1).map(|i| sorted[i]).filter(|s| s.cidr.contains(&address))
    }

    /// Anycast, switch and assigned addresses sit in their segments and are never given twice.
    fn check_addresses(&self) -> Result<(), Violation> {
        let by_address = self.by_address();
        let by_name: HashMap<&str, &Segment> = self.segments.iter().map(|s| (s.name.as_str(), s)).collect();
        let mut seen = HashSet::new();
        for sw in &self.switches {
            if !seen.insert(sw.loopback) || !seen.insert(sw.mgmt) {
                return Err(Violation::Reference(format!(
                    "switch `{}`: an address of it is given twice",
                    sw.name
                )));
            }
        }
        for link in &self.links {
            if !seen.insert(link.a_address) || !seen.insert(link.b_address) {
                return Err(Violation::Reference(format!("link {} is given twice", link.cidr)));
            }
        }
        for a in &self.anycast {
            let inside = self.holder(&by_address, a.address).is_some_and(|s| s.role == crate::Role::Anycast);
            if !inside || !seen.insert(a.address) {
                return Err(Violation::Reference(format!(
                    "anycast `{}` at {} is outside the anycast block or taken twice",
                    a.name, a.address
                )));
            }
        }
        for node in self.assignments.iter().flatten() {
            for i in &node.interfaces {
                let segment = by_name.get(i.segment.as_str());
                let inside = segment.is_some_and(|s| {
                    let offset = u32::from(i.address.addr()).wrapping_sub(u32::from(s.cidr.network()));
                    let last = (1u64 << (32 - u32::from(s.cidr.prefix_len()))) - 1;
                    // A host never takes a VLAN segment's network, gateway, VRR pair or broadcast.
                    let reserved = s.kind == Kind::Subnet && (offset < 4 || u64::from(offset) == last);
                    let peer_ok = i.peer.is_none_or(|p| {
                        i.address.prefix_len() == 31
                            && i.address.trunc().contains(&p)
                            && p != i.address.addr()
                    });
                    s.cidr.contains(&i.address.addr())
                        && s.cidr.prefix_len() <= i.address.prefix_len()
                        && !reserved
                        && peer_ok
                });
                let fresh = seen.insert(i.address.addr()) && i.peer.is_none_or(|peer| seen.insert(peer));
                if !inside || !fresh {
                    return Err(Violation::Reference(format!(
                        "{} {} at {} is outside `{}` or taken twice",
                        node.node, i.name, i.address, i.segment
                    )));
                }
            }
        }
        Ok(())
    }
}

/// Two of `segments` whose scopes meet, if any. Scopes are grouped by which keys they set; two
/// scopes meet when they agree on the keys both set, so each pair of groups is one hash join on
/// those keys (linear in the segments, where comparing every pair is quadratic).
fn meeting_pair<'a>(segments: &[&'a Segment]) -> Option<(&'a Segment, &'a Segment)> {
    let mut shapes: HashMap<u8, Vec<&Segment>> = HashMap::new();
    for s in segments {
        shapes.entry(shape(&s.scope)).or_default().push(s);
    }
    let mut keys: Vec<u8> = shapes.keys().copied().collect();
    keys.sort_unstable();
    for (i, &a) in keys.iter().enumerate() {
        for &b in &keys[i..] {
            let common = a & b;
            let mut seen: HashMap<crate::Scope, &Segment> = HashMap::new();
            for s in &shapes[&b] {
                if let Some(first) = seen.insert(project(&s.scope, common), s).filter(|_| a == b) {
                    return Some((first, s));
                }
            }
            if a != b {
                for s in &shapes[&a] {
                    if let Some(other) = seen.get(&project(&s.scope, common)) {
                        return Some((other, s));
                    }
                }
            }
        }
    }
    None
}

/// Which keys a scope sets, one bit each.
fn shape(scope: &crate::Scope) -> u8 {
    [
        scope.region.is_some(),
        scope.site.is_some(),
        scope.pod.is_some(),
        scope.su.is_some(),
        scope.rack.is_some(),
        scope.rail.is_some(),
    ]
    .iter()
    .enumerate()
    .fold(0, |bits, (i, set)| bits | (u8::from(*set) << i))
}

/// The scope with only the keys of `mask` kept.
fn project(scope: &crate::Scope, mask: u8) -> crate::Scope {
    let keep = |i: u8| mask & (1 << i) != 0;
    crate::Scope {
        region: scope.region.clone().filter(|_| keep(0)),
        site: scope.site.clone().filter(|_| keep(1)),
        pod: scope.pod.filter(|_| keep(2)),
        su: scope.su.filter(|_| keep(3)),
        rack: scope.rack.filter(|_| keep(4)),
        rail: scope.rail.filter(|_| keep(5)),
    }
}
