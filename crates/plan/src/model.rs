//! A plan: what the planner produces and what `--previous` reads back (JSON schema 2; schema 1
//! plans are still read, rendered and applied).

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

use crate::spec::{BackendAddressing, FabricLinks, L2Scope, LeafEnd, Numbering, VlanScope};
use crate::{Kind, Role, Scope, VlanId};

/// The JSON schema version this crate writes ([`Plan::from_json`] reads 1 and 2).
///
/// ```
/// assert_eq!(ipam_plan::SCHEMA, 2);
/// ```
pub const SCHEMA: u32 = 2;

/// An address plan: segments carved from `base`, and a summary.
///
/// ```
/// use ipam_plan::{plan, Spec};
///
/// let plan = plan(&Spec::for_gpus(256))?;
/// assert_eq!(plan.schema, 2);
/// let json = plan.to_json();
/// assert_eq!(ipam_plan::Plan::from_json(&json)?, plan);
/// # Ok::<(), ipam_plan::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// [`SCHEMA`] for plans this version makes; 1 for older plans read back.
    pub schema: u32,
    /// The block every segment is carved from.
    pub base: Ipv4Net,
    /// The headroom factor the plan was made with.
    pub growth: f64,
    /// The topology settings and the SU slots reserved so far (schema 2; `None` in schema 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topology: Option<Topology>,
    /// The segments, in role order (a re-plan appends new segments after the kept ones).
    pub segments: Vec<Segment>,
    /// Blocks that group segments into one route: per role, per rail, per pod.
    #[serde(default)]
    pub aggregates: Vec<Aggregate>,
    /// Every fabric switch: leaves, spines and super-spines.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub switches: Vec<Switch>,
    /// Numbered fabric links (with `fabric_links = "p2p31"`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<Link>,
    /// Anycast endpoints and their addresses.
    #[serde(default)]
    pub anycast: Vec<AnycastAddress>,
    /// The DNS domain of every planned name (`cluster.internal` unless the spec says otherwise).
    #[serde(default = "crate::spec::default_domain")]
    pub domain: String,
    /// The DNS servers for the plan's zones, from the spec.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nameservers: Vec<Ipv4Addr>,
    /// Totals, headroom and the comparison with the generic budget.
    pub summary: Summary,
    /// Per-node addresses, when asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignments: Option<Vec<NodeAssignment>>,
}

/// One segment: a CIDR block with its role, VLAN, gateway and MTU.
///
/// ```
/// use ipam_plan::{plan, Role, Spec};
///
/// let plan = plan(&Spec::for_gpus(256))?;
/// let storage = plan.segments.iter().find(|s| s.role == Role::Storage).unwrap();
/// assert_eq!(storage.name, "storage-su00");
/// assert_eq!(storage.scope.su, Some(0));
/// assert_eq!(storage.mtu, 9000);
/// assert!(storage.usable >= storage.planned);
/// # Ok::<(), ipam_plan::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Segment {
    /// Unique name (`storage-su03`, `backend-su03-rail2`, `monitoring`, a site's name).
    pub name: String,
    /// What it carries.
    pub role: Role,
    /// Where it sits: its `pod`, `su`, `rack`, `rail` or `site`; empty when cluster-wide.
    #[serde(default)]
    pub scope: Scope,
    /// How its addresses are used (decides the reservations).
    pub kind: Kind,
    /// The VLAN id; `None` for routed segments.
    pub vlan: Option<VlanId>,
    /// The block: aligned, inside `base`, disjoint from every other segment.
    pub cidr: Ipv4Net,
    /// The gateway (the block's `.1`); `None` for routed segments.
    pub gateway: Option<Ipv4Addr>,
    /// The MTU of the hosts on it.
    pub mtu: u16,
    /// The switch ports' MTU where it differs from the hosts' (9216 on host-facing /31s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub switch_mtu: Option<u16>,
    /// Addresses needed now.
    pub planned: u64,
    /// Addresses the block offers after reservations.
    pub usable: u64,
    /// For a second prefix added by a re-plan (a cluster-wide segment or a site that outgrew its
    /// block; schema 1: any segment), the segment it adds space to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extends: Option<String>,
}

impl Segment {
    /// The name of the segment this one belongs with: its own, or the one it extends.
    ///
    /// ```
    /// # let plan = ipam_plan::plan(&ipam_plan::Spec::for_gpus(8))?;
    /// assert_eq!(plan.segments[0].family(), plan.segments[0].name);
    /// # Ok::<(), ipam_plan::Error>(())
    /// ```
    pub fn family(&self) -> &str {
        self.extends.as_deref().unwrap_or(&self.name)
    }
}

/// A block that holds several segments (or aggregates) of one role as one route.
///
/// ```
/// let plan = ipam_plan::plan(&ipam_plan::Spec::for_gpus(256))?;
/// let backend = &plan.aggregates[0];
/// assert_eq!(backend.name, "backend");
/// assert_eq!(backend.cidr.prefix_len(), 22); // 8 rails x 2 SU slots (2x growth) x a /26
/// # Ok::<(), ipam_plan::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Aggregate {
    /// The name (`backend`, `backend-rail2`, `storage`; `storage-2` for growth past the
    /// reserved SU slots).
    pub name: String,
    /// The role of the segments inside.
    pub role: Role,
    /// Where it sits (`rail`, `pod`); empty for a role's whole aggregate.
    #[serde(default)]
    pub scope: Scope,
    /// The block.
    pub cidr: Ipv4Net,
}

/// The settings a plan was made with, and the SU slots it reserved: what a re-plan must keep.
///
/// ```
/// let plan = ipam_plan::plan(&ipam_plan::Spec::for_gpus(1024))?;
/// let topology = plan.topology.unwrap();
/// assert_eq!(topology.generations[0].sus, 8); // 4 SUs, 2x growth
/// # Ok::<(), ipam_plan::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Topology {
    /// GPUs (and backend NICs) per node.
    pub gpus_per_node: u32,
    /// Backend rails.
    pub rails: u32,
    /// Nodes per SU.
    pub nodes_per_su: u32,
    /// SUs per pod.
    pub sus_per_pod: u32,
    /// Nodes per rack.
    pub nodes_per_rack: u32,
    /// The backend's addressing.
    pub backend_addressing: BackendAddressing,
    /// Whether fabric links are numbered.
    pub fabric_links: FabricLinks,
    /// Which end of a host /31 the leaf takes.
    pub leaf_end: LeafEnd,
    /// The backend's order.
    pub numbering: Numbering,
    /// The reach of an L2 segment.
    pub l2_scope: L2Scope,
    /// How VLAN ids repeat.
    pub vlan_scope: VlanScope,
    /// Whether storage ports have separate subnets.
    pub storage_port_subnets: bool,
    /// Roles given an explicit `count` that otherwise follow the SUs (frontend, storage, oob,
    /// monitoring, lb): one cluster-wide segment each, hosts in node order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub counted: Vec<Role>,
    /// The SU slots reserved, in the order they were added: the first by the first plan, each
    /// further one by a re-plan that went past the headroom.
    pub generations: Vec<Generation>,
}

/// SU slots reserved together: SUs `first_su .. first_su + sus` sit in one set of aggregates.
///
/// ```
/// let g = ipam_plan::Generation { first_su: 0, sus: 8, pods: false };
/// assert!(g.holds(7) && !g.holds(8));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Generation {
    /// The first SU in it.
    pub first_su: u32,
    /// How many SU slots it reserves.
    pub sus: u32,
    /// Whether its SUs sit in pods (its reserved SUs span more than one pod); its blocks then start
    /// at a pod boundary.
    #[serde(default)]
    pub pods: bool,
}

impl Generation {
    /// Whether SU `su` has its slot here.
    ///
    /// ```
    /// assert!(ipam_plan::Generation { first_su: 8, sus: 8, pods: false }.holds(8));
    /// ```
    pub fn holds(&self, su: u32) -> bool {
        su >= self.first_su && u64::from(su) < u64::from(self.first_su) + u64::from(self.sus)
    }
}

/// A fabric switch: its name, tier, loopback, ASN and management address.
///
/// ```
/// let plan = ipam_plan::plan(&ipam_plan::Spec::for_gpus(256))?;
/// let leaf = &plan.switches[0];
/// assert_eq!((leaf.name.as_str(), leaf.tier.as_str()), ("leaf-su00-rail0", "leaf"));
/// assert_eq!(leaf.asn, 4_201_000_000);
/// # Ok::<(), ipam_plan::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Switch {
    /// `leaf-su03-rail2`, `spine-07`, `spine-pod01-12`, `superspine-05`.
    pub name: String,
    /// `leaf`, `spine` or `superspine`.
    pub tier: String,
    /// Where it sits (`su` and `rail` for a leaf, `pod` for a spine of a multi-pod fabric).
    #[serde(default)]
    pub scope: Scope,
    /// Its /32 loopback, from its tier's block.
    pub loopback: Ipv4Addr,
    /// Its private 4-byte ASN (RFC 6996, RFC 7938).
    pub asn: u32,
    /// Its management port's address on the OOB network.
    pub mgmt: Ipv4Addr,
}

/// A numbered fabric link: a /31 between two switches.
///
/// ```
/// let spec = ipam_plan::Spec::from_toml("gpus = 256\nfabric_links = \"p2p31\"")?;
/// let plan = ipam_plan::plan(&spec)?;
/// let link = &plan.links[0];
/// assert_eq!(link.cidr.prefix_len(), 31);
/// assert_eq!(link.a_address, link.cidr.network());
/// # Ok::<(), ipam_plan::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Link {
    /// The lower-tier switch (a leaf, or a spine towards a super-spine).
    pub a: String,
    /// Its address (the even end).
    pub a_address: Ipv4Addr,
    /// The upper-tier switch.
    pub b: String,
    /// Its address (the odd end).
    pub b_address: Ipv4Addr,
    /// The /31.
    pub cidr: Ipv4Net,
}

/// An anycast endpoint's address.
///
/// ```
/// let plan = ipam_plan::plan(&ipam_plan::Spec::from_toml("[[anycast]]\nname = \"chat\"")?)?;
/// assert_eq!(plan.anycast[0].name, "chat");
/// # Ok::<(), ipam_plan::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnycastAddress {
    /// The endpoint.
    pub name: String,
    /// Its /32.
    pub address: Ipv4Addr,
}

/// What the plan adds up to.
///
/// ```
/// let plan = ipam_plan::plan(&ipam_plan::Spec::for_gpus(1024))?;
/// assert!(plan.summary.base_share < 0.01);
/// assert!(plan.summary.gpu_headroom.unwrap() >= 1024); // 2x growth: at least as many again
/// # Ok::<(), ipam_plan::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    /// GPUs planned for.
    pub gpus: u32,
    /// GPU nodes.
    pub nodes: u64,
    /// Scalable units in use.
    #[serde(default)]
    pub sus: u64,
    /// SU slots reserved (in use and headroom).
    #[serde(default)]
    pub su_slots: u64,
    /// GPUs (and backend NICs) per node.
    pub gpus_per_node: u32,
    /// Backend rails.
    pub rails: u32,
    /// Totals per role, in role order.
    pub roles: Vec<RoleTotal>,
    /// Addresses in all segments.
    pub addresses: u64,
    /// The share of `base` the segments take (0 to 1).
    pub base_share: f64,
    /// Exactly how many more GPUs fit in the reserved SU slots: a re-plan with up to this many
    /// more moves nothing and adds no aggregate (`None` without GPUs).
    pub gpu_headroom: Option<u64>,
    /// What a re-plan past the headroom adds (the aggregates of a new generation of SU slots).
    pub limited_by: Option<String>,
    /// The plan next to the generic per-1,000-GPU budget.
    pub budget: Vec<BudgetLine>,
    /// Things to look at that are not errors (a public `base`, for one).
    pub warnings: Vec<String>,
}

/// One role's totals.
///
/// ```
/// let plan = ipam_plan::plan(&ipam_plan::Spec::for_gpus(256))?;
/// assert_eq!(plan.summary.roles[0].role, ipam_plan::Role::Backend);
/// # Ok::<(), ipam_plan::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleTotal {
    /// The role.
    pub role: Role,
    /// Its segments.
    pub segments: usize,
    /// Addresses needed now.
    pub planned: u64,
    /// Addresses usable.
    pub usable: u64,
    /// Addresses in its blocks.
    pub addresses: u64,
}

/// One category of the generic per-1,000-GPU budget, next to this plan.
///
/// ```
/// let plan = ipam_plan::plan(&ipam_plan::Spec::for_gpus(1000))?;
/// let lb = plan.summary.budget.iter().find(|b| b.category == "lb").unwrap();
/// assert_eq!(lb.generic, [10, 20]);
/// assert_eq!(lb.planned_per_1000_gpus, 20);
/// # Ok::<(), ipam_plan::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetLine {
    /// `compute`, `storage`, `management`, `monitoring` or `lb`.
    pub category: String,
    /// This plan's planned addresses in the category, per 1,000 GPUs.
    pub planned_per_1000_gpus: u64,
    /// The generic budget's range per 1,000 GPUs.
    pub generic: [u64; 2],
    /// `within`, or where and why the plan differs.
    pub note: String,
}

/// A node's addresses on every segment it sits on.
///
/// ```
/// let mut plan = ipam_plan::plan(&ipam_plan::Spec::for_gpus(16))?;
/// ipam_plan::assign(&mut plan)?;
/// let nodes = plan.assignments.as_ref().unwrap();
/// assert_eq!(nodes[0].node, "gpu-node-001");
/// # Ok::<(), ipam_plan::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeAssignment {
    /// The node's name (`gpu-node-001`...).
    pub node: String,
    /// Its place: `su` (and `pod` in a multi-pod plan).
    #[serde(default)]
    pub scope: Scope,
    /// Its interfaces.
    pub interfaces: Vec<Interface>,
}

/// One interface of a node.
///
/// ```
/// let mut plan = ipam_plan::plan(&ipam_plan::Spec::for_gpus(8))?;
/// ipam_plan::assign(&mut plan)?;
/// let nic = &plan.assignments.unwrap()[0].interfaces[0];
/// assert_eq!(nic.name, "rail0");
/// assert!(nic.peer.is_some()); // p2p31: the leaf's end of the /31
/// # Ok::<(), ipam_plan::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Interface {
    /// `rail0`..., `frontend`, `storage0`, `storage1`, `bmc`.
    pub name: String,
    /// The segment it sits on.
    pub segment: String,
    /// Its address, with the segment's prefix length (`/31` on p2p31 links).
    pub address: Ipv4Net,
    /// For a /31 link: the switch's end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<Ipv4Addr>,
    /// For a backend /31: the leaf switch that owns it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leaf: Option<String>,
}

impl Plan {
    /// The plan as pretty-printed JSON (schema [`SCHEMA`]), ending with a newline.
    ///
    /// ```
    /// let json = ipam_plan::plan(&ipam_plan::Spec::for_gpus(8))?.to_json();
    /// assert!(json.starts_with("{\n  \"schema\": 2,"));
    /// # Ok::<(), ipam_plan::Error>(())
    /// ```
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("a plan always serializes");
        text.push('\n');
        text
    }

    /// Reads a plan written by [`Plan::to_json`] (schema 2) or by an older version (schema 1).
    /// It refuses other schemas, duplicate keys, unknown fields, and any plan that breaks an
    /// invariant of [`Plan::check`].
    ///
    /// ```
    /// use ipam_plan::{Error, Plan};
    ///
    /// assert!(matches!(Plan::from_json("{}"), Err(Error::Previous { .. })));
    /// let dup = r#"{"schema": 2, "schema": 2}"#;
    /// assert!(Plan::from_json(dup).unwrap_err().to_string().contains("duplicate"));
    /// ```
    pub fn from_json(text: &str) -> Result<Plan, crate::Error> {
        #[derive(Deserialize)]
        struct Probe {
            schema: Option<u64>,
        }
        let previous = |reason: String| crate::Error::Previous { reason };
        let probe: Probe = serde_json::from_str(text).map_err(|e| previous(e.to_string()))?;
        match probe.schema {
            Some(1 | 2) => {}
            Some(v) => {
                return Err(previous(format!(
                    "schema {v} is not supported (this version reads 1 and {SCHEMA})"
                )));
            }
            None => return Err(previous("no \"schema\" field: not a plan written by `ipam plan`".into())),
        }
        let plan: Plan = serde_json::from_str(text).map_err(|e| previous(e.to_string()))?;
        plan.check().map_err(|v| previous(format!("it breaks a plan invariant: {v}")))?;
        Ok(plan)
    }
}
