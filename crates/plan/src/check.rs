//! The plan invariants as one call, for our tests, `--previous`, and users' own property tests.

use std::collections::{HashMap, HashSet};

use ipnet::Ipv4Net;

use crate::model::{Plan, SCHEMA};
use crate::sizing::block_size;
use crate::{Kind, VlanId};

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
    /// The schema version is not [`SCHEMA`].
    #[error("schema {0} is not {SCHEMA}")]
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
    /// Two segments share a VLAN id.
    #[error("VLAN {vlan} is on both `{first}` and `{second}`")]
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
}

impl Plan {
    /// Checks every plan invariant: segments aligned, inside `base`, pairwise disjoint, uniquely
    /// named, VLAN ids unique, `usable` consistent, each segment (with its second prefixes)
    /// holding its planned count times `growth`, rails inside their aggregate, and assigned
    /// addresses inside their segments and never given twice.
    ///
    /// ```
    /// let plan = ipam_plan::plan(&ipam_plan::Spec::for_gpus(16_384))?;
    /// assert_eq!(plan.check(), Ok(()));
    /// # Ok::<(), ipam_plan::Error>(())
    /// ```
    pub fn check(&self) -> Result<(), Violation> {
        if self.schema != SCHEMA {
            return Err(Violation::Schema(self.schema));
        }
        let mut names = HashSet::new();
        let mut vlans: HashMap<VlanId, &str> = HashMap::new();
        let mut families: HashMap<&str, (Kind, u64, u64)> = HashMap::new();
        for s in &self.segments {
            let segment = || s.name.clone();
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
            if let Some(vlan) = s.vlan
                && let Some(first) = vlans.insert(vlan, &s.name)
            {
                return Err(Violation::DuplicateVlan { vlan, first: first.to_owned(), second: segment() });
            }
            let expected = block_size(s.cidr.prefix_len()).saturating_sub(s.kind.reserved());
            if s.usable != expected {
                return Err(Violation::Usable { segment: segment(), expected, found: s.usable });
            }
            let family = families.entry(s.family()).or_insert((s.kind, 0, 0));
            family.1 += s.planned;
            family.2 += s.usable;
        }
        for s in self.segments.iter().filter(|s| s.extends.is_some()) {
            if !names.contains(s.family()) {
                return Err(Violation::Reference(format!(
                    "`{}` extends `{}`, which is not in the plan",
                    s.name,
                    s.family()
                )));
            }
        }
        for (family, (kind, planned, usable)) in families {
            let needed = kind.needed(planned, self.growth);
            if needed > usable {
                return Err(Violation::TooSmall { family: family.to_owned(), needed, usable });
            }
        }
        self.check_disjoint()?;
        self.check_addresses()
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
        for (i, a) in self.aggregates.iter().enumerate() {
            if !self.base.contains(&a.cidr) {
                return Err(Violation::OutsideBase { segment: a.name.clone() });
            }
            if let Some(other) = self.aggregates[..i].iter().find(|o| overlaps(o.cidr, a.cidr)) {
                return Err(Violation::Overlap { first: other.name.clone(), second: a.name.clone() });
            }
            for s in &self.segments {
                let member = a.cidr.contains(&s.cidr) && s.role == a.role;
                if overlaps(a.cidr, s.cidr) && !member {
                    return Err(Violation::Overlap { first: a.name.clone(), second: s.name.clone() });
                }
            }
        }
        for s in self.segments.iter().filter(|s| s.kind == Kind::Links && s.role == crate::Role::Backend) {
            if !self.aggregates.iter().any(|a| a.cidr.contains(&s.cidr)) {
                return Err(Violation::Reference(format!("rail `{}` is outside every aggregate", s.name)));
            }
        }
        Ok(())
    }

    /// Anycast and assigned addresses sit in their segments and are never given twice.
    fn check_addresses(&self) -> Result<(), Violation> {
        let mut seen = HashSet::new();
        for a in &self.anycast {
            let inside =
                self.segments.iter().any(|s| s.role == crate::Role::Anycast && s.cidr.contains(&a.address));
            if !inside || !seen.insert(a.address) {
                return Err(Violation::Reference(format!(
                    "anycast `{}` at {} is outside the anycast block or taken twice",
                    a.name, a.address
                )));
            }
        }
        for node in self.assignments.iter().flatten() {
            for i in &node.interfaces {
                let segment = self.segments.iter().find(|s| s.name == i.segment);
                let inside = segment.is_some_and(|s| {
                    s.cidr.contains(&i.address.addr()) && s.cidr.prefix_len() <= i.address.prefix_len()
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

fn overlaps(a: Ipv4Net, b: Ipv4Net) -> bool {
    a.contains(&b) || b.contains(&a)
}
