//! The cluster description a plan is made from.

use ipnet::Ipv4Net;
use serde::{Deserialize, Deserializer, Serialize};

pub use crate::settings::{L2Scope, LeafEnd, Numbering, Uplink, VlanScope};
use crate::{Error, VlanId};

/// A cluster description: how many GPUs, how they are wired, and what to override.
///
/// Read one from TOML with [`Spec::from_toml`], or start from [`Spec::for_gpus`]. Every field has
/// the default of the reference clusters (NVIDIA DGX SuperPOD: 8 GPUs and 8 rails per node,
/// 32 nodes per scalable unit), so a GPU count alone is a complete spec.
///
/// ```
/// use ipam_plan::Spec;
///
/// let spec = Spec::from_toml("gpus = 1024\ngrowth = 1.5\n[roles.storage]\nvlan = 122\n")?;
/// assert_eq!(spec.gpus, 1024);
/// assert_eq!(spec.gpus_per_node, 8);
/// assert_eq!(spec.roles.storage.vlan.map(|v| v.get()), Some(122));
/// # Ok::<(), ipam_plan::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// The private block every segment is carved from (default `10.0.0.0/8`).
    #[serde(default = "default_base", deserialize_with = "strict_net")]
    pub base: Ipv4Net,
    /// Headroom factor (default 2.0): the plan reserves room for `SUs x growth` scalable units
    /// (rounded up to a power of two, so that every level is one aligned block), and sizes
    /// cluster-wide segments and explicit counts for `count x growth`.
    #[serde(default = "default_growth")]
    pub growth: f64,
    /// VLAN ids handed out automatically, first and last inclusive (default `[100, 3999]`).
    #[serde(default = "default_vlan_range")]
    pub vlan_range: [VlanId; 2],
    /// GPUs in the cluster (0 for a plan with only sites or explicit counts).
    #[serde(default)]
    pub gpus: u32,
    /// GPUs per node; one backend NIC per GPU (default 8).
    #[serde(default = "default_gpus_per_node")]
    pub gpus_per_node: u32,
    /// Nodes per scalable unit (SU); each SU brings one leaf per rail (default 32).
    #[serde(default = "default_nodes_per_su")]
    pub nodes_per_su: u32,
    /// SUs one spine layer serves: a pod (default 8, 64 leaves: the two-tier limit of 64-port
    /// switches). A power of two, so that a pod is one aligned block. Pods appear in names and
    /// scopes only when the planned capacity exceeds one pod.
    #[serde(default = "default_sus_per_pod")]
    pub sus_per_pod: u32,
    /// Nodes per rack (default 4); racks matter only with `l2_scope = "rack"`.
    #[serde(default = "default_nodes_per_rack")]
    pub nodes_per_rack: u32,
    /// Backend rails (default: `gpus_per_node`); NIC `k` of every node sits on rail `k mod rails`.
    #[serde(default)]
    pub rails: Option<u32>,
    /// How GPU NICs are numbered on the backend fabric.
    #[serde(default)]
    pub backend_addressing: BackendAddressing,
    /// Whether leaf-spine links get addresses.
    #[serde(default)]
    pub fabric_links: FabricLinks,
    /// Which end of each host-leaf /31 the switch takes.
    #[serde(default)]
    pub leaf_end: LeafEnd,
    /// The order of the backend /31s: per (SU, rail) leaf, or server by server per SU.
    #[serde(default)]
    pub numbering: Numbering,
    /// How far one frontend, storage or OOB L2 domain reaches.
    #[serde(default)]
    pub l2_scope: L2Scope,
    /// Whether a role reuses its VLAN id in every scope, or every segment has its own.
    #[serde(default)]
    pub vlan_scope: VlanScope,
    /// Give each node's two storage ports separate subnets (default: one subnet, and a warning
    /// about `arp_ignore` / `rp_filter`).
    #[serde(default)]
    pub storage_port_subnets: bool,
    /// Per-role overrides.
    #[serde(default)]
    pub roles: Roles,
    /// Anycast inference endpoints: a /32 each, from one block.
    #[serde(default)]
    pub anycast: Vec<Anycast>,
    /// Edge sites: a segment and VLAN each.
    #[serde(default, rename = "site")]
    pub sites: Vec<Site>,
    /// The DNS domain every planned name lives in (default `cluster.internal`; ICANN keeps
    /// `.internal` for private use).
    #[serde(default = "default_domain")]
    pub domain: String,
    /// The DNS servers that answer for the plan's zones (`--format dns` needs at least one).
    #[serde(default)]
    pub nameservers: Vec<std::net::Ipv4Addr>,
}

/// How GPU NICs on the backend (compute) fabric are addressed.
///
/// ```
/// use ipam_plan::{BackendAddressing, Spec};
///
/// let spec = Spec::from_toml("gpus = 64\nbackend_addressing = \"subnet-per-rail\"")?;
/// assert_eq!(spec.backend_addressing, BackendAddressing::SubnetPerRail);
/// # Ok::<(), ipam_plan::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BackendAddressing {
    /// A /31 per GPU NIC to its leaf (RFC 3021; `leaf_end` says which end the leaf takes), in a
    /// block per leaf inside one aggregate per rail, so that each leaf and each rail is one route.
    /// No VLANs.
    #[default]
    P2p31,
    /// One segment and VLAN per (SU, rail): an address per NIC plus the gateway.
    SubnetPerRail,
}

/// Whether leaf-spine (and spine-core) links are numbered.
///
/// ```
/// use ipam_plan::{FabricLinks, Spec};
///
/// assert_eq!(Spec::for_gpus(8).fabric_links, FabricLinks::Unnumbered);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FabricLinks {
    /// IPv6 link-local / RFC 5549 unnumbered links: no IPv4 addresses.
    #[default]
    Unnumbered,
    /// A /31 per link.
    P2p31,
}

/// Overrides for each role; a missing table keeps the defaults.
///
/// ```
/// let spec = ipam_plan::Spec::from_toml("[roles.oob]\ncount = 300\nmtu = 1500")?;
/// assert_eq!(spec.roles.oob.count, Some(300));
/// # Ok::<(), ipam_plan::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Roles {
    /// The GPU compute fabric (`prefix`: the whole backend aggregate; sized by the topology, so
    /// `count` is refused).
    pub backend: RoleSpec,
    /// In-band management and user traffic.
    pub frontend: RoleSpec,
    /// The storage network.
    pub storage: RoleSpec,
    /// Out-of-band management.
    pub oob: RoleSpec,
    /// Monitoring and telemetry.
    pub monitoring: RoleSpec,
    /// Load balancers and gateways.
    pub lb: RoleSpec,
    /// Switch loopbacks (a /32 per switch, from the topology; `count` is refused).
    pub loopback: RoleSpec,
    /// Anycast endpoints (`count`: at least the number of `[[anycast]]` entries).
    pub anycast: RoleSpec,
    /// Numbered fabric links (with `fabric_links = "p2p31"`; `count` is refused).
    pub fabric: RoleSpec,
}

/// One role's overrides. Every field is optional.
///
/// For the per-SU roles (frontend, storage, oob) `prefix` is the role's aggregate, and `count`
/// turns the role into one cluster-wide segment of that many addresses (with growth).
///
/// ```
/// let spec = ipam_plan::Spec::from_toml("[roles.frontend]\nprefix = \"10.8.0.0/22\"")?;
/// assert_eq!(spec.roles.frontend.prefix, Some("10.8.0.0/22".parse()?));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleSpec {
    /// Addresses needed now (replaces the count derived from the topology).
    #[serde(default)]
    pub count: Option<u64>,
    /// The VLAN id (segments with a VLAN only).
    #[serde(default)]
    pub vlan: Option<VlanId>,
    /// The MTU (default 9000 for backend and storage, 1500 otherwise).
    #[serde(default)]
    pub mtu: Option<u16>,
    /// An explicit CIDR for the segment (for the backend: its aggregate).
    #[serde(default, deserialize_with = "strict_net_opt")]
    pub prefix: Option<Ipv4Net>,
}

/// An anycast inference endpoint.
///
/// ```
/// let spec = ipam_plan::Spec::from_toml("[[anycast]]\nname = \"llm-chat\"")?;
/// assert_eq!(spec.anycast[0].name, "llm-chat");
/// # Ok::<(), ipam_plan::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Anycast {
    /// The endpoint's name (letters, digits, `.`, `_`, `-`).
    pub name: String,
}

/// An edge site: its own aggregate `site-NAME` holding a devices segment `NAME`, a management
/// segment `NAME-mgmt` and an uplink `NAME-uplink`; in a region's aggregate `region-REGION` when
/// it names one.
///
/// ```
/// let spec = ipam_plan::Spec::from_toml("[[site]]\nname = \"store-001\"\ndevices = 250\nregion = \"west\"")?;
/// assert_eq!((spec.sites[0].devices, spec.sites[0].region.as_deref()), (250, Some("west")));
/// assert_eq!(spec.sites[0].mgmt, None); // 4 management addresses
/// # Ok::<(), ipam_plan::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Site {
    /// The site's name (letters, digits, `.`, `_`, `-`); also the segment's name.
    pub name: String,
    /// Devices at the site, each needing an address.
    pub devices: u64,
    /// The site's VLAN id (default: the next free one).
    #[serde(default)]
    pub vlan: Option<VlanId>,
    /// The MTU (default 1500).
    #[serde(default)]
    pub mtu: Option<u16>,
    /// An explicit CIDR for the site's block (not for a site in a region: the region places it).
    #[serde(default, deserialize_with = "strict_net_opt")]
    pub prefix: Option<Ipv4Net>,
    /// The region whose aggregate holds the site (letters, digits, `.`, `_`, `-`).
    #[serde(default)]
    pub region: Option<String>,
    /// Addresses on the management segment (switch, router, NVR, access point; default 4).
    #[serde(default)]
    pub mgmt: Option<u64>,
    /// The WAN uplink: a /31 to the router (`p2p31`, the default) or a /32 (`loopback`).
    #[serde(default)]
    pub uplink: Uplink,
}

impl Spec {
    /// The reference-cluster defaults for `gpus` GPUs.
    ///
    /// ```
    /// let spec = ipam_plan::Spec::for_gpus(1024);
    /// assert_eq!(spec.base.to_string(), "10.0.0.0/8");
    /// assert_eq!(spec.growth, 2.0);
    /// ```
    pub fn for_gpus(gpus: u32) -> Spec {
        Spec {
            base: default_base(),
            growth: default_growth(),
            vlan_range: default_vlan_range(),
            gpus,
            gpus_per_node: default_gpus_per_node(),
            nodes_per_su: default_nodes_per_su(),
            sus_per_pod: default_sus_per_pod(),
            nodes_per_rack: default_nodes_per_rack(),
            rails: None,
            backend_addressing: BackendAddressing::default(),
            fabric_links: FabricLinks::default(),
            leaf_end: LeafEnd::default(),
            numbering: Numbering::default(),
            l2_scope: L2Scope::default(),
            vlan_scope: VlanScope::default(),
            storage_port_subnets: false,
            roles: Roles::default(),
            anycast: Vec::new(),
            sites: Vec::new(),
            domain: default_domain(),
            nameservers: Vec::new(),
        }
    }

    /// Parses a TOML spec. Unknown keys, wrong types and out-of-range values are
    /// [`Error::Spec`] with the line and column; the meaning is checked when planning.
    ///
    /// ```
    /// use ipam_plan::{Error, Spec};
    ///
    /// let err = Spec::from_toml("gpus = 64\ngpu_count = 8").unwrap_err();
    /// assert!(matches!(err, Error::Spec { line: 2, column: 1, .. }));
    /// assert!(err.to_string().contains("gpu_count"));
    /// ```
    pub fn from_toml(text: &str) -> Result<Spec, Error> {
        toml::from_str(text).map_err(|e| {
            let (line, column) = e.span().map_or((1, 1), |span| line_column(text, span.start));
            Error::Spec { line, column, message: e.message().trim().to_owned() }
        })
    }

    /// The number of backend rails (`rails`, else `gpus_per_node`).
    ///
    /// ```
    /// assert_eq!(ipam_plan::Spec::for_gpus(64).rails(), 8);
    /// ```
    pub fn rails(&self) -> u32 {
        self.rails.unwrap_or(self.gpus_per_node)
    }
}

impl Default for Spec {
    fn default() -> Spec {
        Spec::for_gpus(0)
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

fn default_base() -> Ipv4Net {
    Ipv4Net::new(std::net::Ipv4Addr::new(10, 0, 0, 0), 8).expect("8 is a valid prefix length")
}

fn default_growth() -> f64 {
    2.0
}

fn default_vlan_range() -> [VlanId; 2] {
    [VlanId::must(100), VlanId::must(3999)]
}

fn default_gpus_per_node() -> u32 {
    8
}

fn default_nodes_per_su() -> u32 {
    32
}

pub(crate) fn default_domain() -> String {
    "cluster.internal".to_owned()
}

fn default_sus_per_pod() -> u32 {
    8
}

fn default_nodes_per_rack() -> u32 {
    4
}

fn strict_net<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Ipv4Net, D::Error> {
    let text = String::deserialize(deserializer)?;
    ipam_core::parse::net(&text).map_err(serde::de::Error::custom)
}

fn strict_net_opt<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Ipv4Net>, D::Error> {
    strict_net(deserializer).map(Some)
}
