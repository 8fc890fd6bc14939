//! The spec's topology choices that are one word each.

use serde::{Deserialize, Serialize};

/// Which end of each host-leaf /31 the switch takes. The two camps: Juniper's AI data-center JVD
/// puts the leaf on the even address (`even`, the default); NVIDIA's k8s-launch-kit and
/// Spectrum-X give the host the even address (`index << 1`) and the leaf the odd one (`odd`).
///
/// ```
/// use ipam_plan::{LeafEnd, Spec};
///
/// assert_eq!(Spec::from_toml("leaf_end = \"odd\"")?.leaf_end, LeafEnd::Odd);
/// assert_eq!(LeafEnd::Even.switch_offset(), 0);
/// # Ok::<(), ipam_plan::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LeafEnd {
    /// The switch takes the even (lower) address, the host the odd one.
    #[default]
    Even,
    /// The switch takes the odd (upper) address, the host the even one.
    Odd,
}

impl LeafEnd {
    /// The switch's offset inside its /31 (0 or 1); the host has the other.
    ///
    /// ```
    /// assert_eq!(ipam_plan::LeafEnd::Odd.switch_offset(), 1);
    /// ```
    pub const fn switch_offset(self) -> u32 {
        match self {
            LeafEnd::Even => 0,
            LeafEnd::Odd => 1,
        }
    }
}

/// The order of the backend /31s: the two orders in the wild.
///
/// ```
/// use ipam_plan::{Numbering, Spec};
///
/// assert_eq!(Spec::from_toml("numbering = \"server\"")?.numbering, Numbering::Server);
/// # Ok::<(), ipam_plan::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Numbering {
    /// One aligned block per (SU, rail) leaf holding its nodes' /31s in node order, inside a
    /// per-rail aggregate (NVIDIA's launch-kit and Spectrum-X order).
    #[default]
    Rail,
    /// One aligned block per SU holding all of its nodes' /31s server by server (Juniper's JVD
    /// numbers a stripe this way); no per-rail aggregate.
    Server,
}

/// How far one frontend, storage or OOB L2 domain (VLAN segment) reaches.
///
/// ```
/// use ipam_plan::{L2Scope, Spec};
///
/// assert_eq!(Spec::default().l2_scope, L2Scope::Su);
/// assert_eq!(Spec::from_toml("l2_scope = \"rack\"")?.l2_scope, L2Scope::Rack);
/// # Ok::<(), ipam_plan::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum L2Scope {
    /// One segment per scalable unit (the default, like BasePOD's per-switch-pair VLANs).
    #[default]
    Su,
    /// One segment per rack.
    Rack,
    /// One segment for the whole cluster (small clusters only: it is one broadcast domain).
    Cluster,
}

/// How VLAN ids are numbered across scopes.
///
/// ```
/// use ipam_plan::{Spec, VlanScope};
///
/// assert_eq!(Spec::default().vlan_scope, VlanScope::Template);
/// # Ok::<(), ipam_plan::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VlanScope {
    /// A role reuses its VLAN id in every scope (every SU, rack or site), as the BasePOD switch
    /// configurations do; segments that share a scope never share an id.
    #[default]
    Template,
    /// Every segment has its own id across the whole plan.
    Unique,
}

/// An edge site's WAN uplink.
///
/// ```
/// use ipam_plan::{Spec, Uplink};
///
/// let spec = Spec::from_toml("[[site]]\nname = \"s1\"\ndevices = 4\nuplink = \"loopback\"")?;
/// assert_eq!(spec.sites[0].uplink, Uplink::Loopback);
/// assert_eq!(Uplink::default(), Uplink::P2p31);
/// # Ok::<(), ipam_plan::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Uplink {
    /// A /31 to the WAN router: the router takes the even address, the site the odd one.
    #[default]
    P2p31,
    /// A /32 the site announces (routed over whatever link it has).
    Loopback,
}
