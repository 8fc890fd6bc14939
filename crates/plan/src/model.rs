//! A plan: what the planner produces and what `--previous` reads back (JSON schema 1).

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

use crate::{Kind, Role, VlanId};

/// The JSON schema version this crate writes and reads.
///
/// ```
/// assert_eq!(ipam_plan::SCHEMA, 1);
/// ```
pub const SCHEMA: u32 = 1;

/// An address plan: segments carved from `base`, and a summary.
///
/// ```
/// use ipam_plan::{plan, Spec};
///
/// let plan = plan(&Spec::for_gpus(256))?;
/// assert_eq!(plan.schema, 1);
/// let json = plan.to_json();
/// assert_eq!(ipam_plan::Plan::from_json(&json)?, plan);
/// # Ok::<(), ipam_plan::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// Always [`SCHEMA`].
    pub schema: u32,
    /// The block every segment is carved from.
    pub base: Ipv4Net,
    /// The headroom factor the segments were sized with.
    pub growth: f64,
    /// The segments, in role order (a re-plan appends new segments after the kept ones).
    pub segments: Vec<Segment>,
    /// Blocks that group segments into one route (the backend rails).
    #[serde(default)]
    pub aggregates: Vec<Aggregate>,
    /// Anycast endpoints and their addresses.
    #[serde(default)]
    pub anycast: Vec<AnycastAddress>,
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
/// assert_eq!(storage.mtu, 9000);
/// assert!(storage.usable >= 2 * storage.planned);
/// # Ok::<(), ipam_plan::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Segment {
    /// Unique name (`storage`, `backend-rail-3`, a site's name, `storage-2` for a second prefix).
    pub name: String,
    /// What it carries.
    pub role: Role,
    /// How its addresses are used (decides the reservations).
    pub kind: Kind,
    /// The VLAN id; `None` for routed segments.
    pub vlan: Option<VlanId>,
    /// The block: aligned, inside `base`, disjoint from every other segment.
    pub cidr: Ipv4Net,
    /// The gateway (the block's `.1`); `None` for routed segments.
    pub gateway: Option<Ipv4Addr>,
    /// The MTU.
    pub mtu: u16,
    /// Addresses needed now.
    pub planned: u64,
    /// Addresses the block offers after reservations.
    pub usable: u64,
    /// For a second prefix added by a re-plan: the segment it adds space to.
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

/// A block that holds several segments as one route.
///
/// ```
/// let plan = ipam_plan::plan(&ipam_plan::Spec::for_gpus(256))?;
/// assert_eq!(plan.aggregates[0].cidr.prefix_len(), 22); // 8 rails of a /25 (2x growth)
/// # Ok::<(), ipam_plan::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Aggregate {
    /// The name (`backend`, `backend-2` after a re-plan).
    pub name: String,
    /// The role of the segments inside.
    pub role: Role,
    /// The block.
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
    /// How many more GPUs fit before any segment must grow (`None` without GPUs).
    pub gpu_headroom: Option<u64>,
    /// The segment that must grow first when the headroom is used up.
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
}

impl Plan {
    /// The plan as pretty-printed JSON (schema [`SCHEMA`]), ending with a newline.
    ///
    /// ```
    /// let json = ipam_plan::plan(&ipam_plan::Spec::for_gpus(8))?.to_json();
    /// assert!(json.starts_with("{\n  \"schema\": 1,"));
    /// # Ok::<(), ipam_plan::Error>(())
    /// ```
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("a plan always serializes");
        text.push('\n');
        text
    }

    /// Reads a plan written by [`Plan::to_json`]; any other schema version is refused.
    ///
    /// ```
    /// use ipam_plan::{Error, Plan};
    ///
    /// assert!(matches!(Plan::from_json("{}"), Err(Error::Previous { .. })));
    /// ```
    pub fn from_json(text: &str) -> Result<Plan, crate::Error> {
        let previous = |reason: String| crate::Error::Previous { reason };
        let value: serde_json::Value = serde_json::from_str(text).map_err(|e| previous(e.to_string()))?;
        match value.get("schema").and_then(serde_json::Value::as_u64) {
            Some(v) if v == u64::from(SCHEMA) => {}
            Some(v) => {
                return Err(previous(format!("schema {v} is not supported (this version reads {SCHEMA})")));
            }
            None => return Err(previous("no \"schema\" field: not a plan written by `ipam plan`".into())),
        }
        let plan: Plan = serde_json::from_value(value).map_err(|e| previous(e.to_string()))?;
        plan.check().map_err(|v| previous(format!("it breaks a plan invariant: {v}")))?;
        Ok(plan)
    }
}
