//! NetBox bulk-import CSV files: VLANs, prefixes, IP addresses.

use std::fmt::Write;

use crate::Kind;
use crate::model::{Plan, Segment};

/// `vlan-groups.csv` for NetBox's VLAN group bulk import (`name,slug,description`): one group
/// per scope that holds a VLAN (`su03`, `su03-rack2`, a site, `cluster`), because NetBox keeps
/// VLAN ids unique per group and a plan reuses them across scopes.
///
/// ```
/// let plan = ipam_plan::plan(&ipam_plan::Spec::for_gpus(1024))?;
/// let csv = ipam_plan::render::vlan_groups_csv(&plan);
/// assert!(csv.starts_with("name,slug,description\n"));
/// assert!(csv.contains("\nsu03,su03,"));
/// # Ok::<(), ipam_plan::Error>(())
/// ```
pub fn vlan_groups_csv(plan: &Plan) -> String {
    let mut out = String::from("name,slug,description\n");
    let mut seen = std::collections::BTreeSet::new();
    for s in plan.segments.iter().filter(|s| s.vlan.is_some()) {
        let group = group(s);
        if seen.insert(group.clone()) {
            let what = if s.scope.is_cluster() {
                "cluster-wide VLANs".to_owned()
            } else {
                format!("VLANs of {group}")
            };
            let _ = writeln!(out, "{},{},{}", field(&group), slug(&group), field(&what));
        }
    }
    out
}

/// `vlans.csv` for NetBox's VLAN bulk import: `vid,name,status,group,description`; `group` is a
/// row of [`vlan_groups_csv`].
///
/// ```
/// let plan = ipam_plan::plan(&ipam_plan::Spec::for_gpus(256))?;
/// let csv = ipam_plan::render::vlans_csv(&plan);
/// assert!(csv.lines().nth(1).unwrap().starts_with("100,frontend-su00,active,su00,"));
/// # Ok::<(), ipam_plan::Error>(())
/// ```
pub fn vlans_csv(plan: &Plan) -> String {
    let mut out = String::from("vid,name,status,group,description\n");
    for s in &plan.segments {
        if let Some(vlan) = s.vlan {
            let _ = writeln!(
                out,
                "{vlan},{},active,{},{}",
                field(&s.name),
                field(&group(s)),
                field(&describe(s))
            );
        }
    }
    out
}

/// The VLAN group of a segment: its scope's name.
fn group(s: &Segment) -> String {
    s.scope.to_string()
}

/// A NetBox slug: letters, digits, `-` and `_`.
fn slug(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c.to_ascii_lowercase() } else { '-' })
        .collect()
}

/// `prefixes.csv` for NetBox's prefix bulk import:
/// `prefix,status,vlan_group,vlan,role,is_pool,description`. Aggregates are `container`
/// prefixes; routed /31 and /32 segments are pools.
///
/// ```
/// let plan = ipam_plan::plan(&ipam_plan::Spec::for_gpus(256))?;
/// let csv = ipam_plan::render::prefixes_csv(&plan);
/// assert!(csv.contains("10.0.0.0/22,container,,,backend,false,"));
/// # Ok::<(), ipam_plan::Error>(())
/// ```
pub fn prefixes_csv(plan: &Plan) -> String {
    let mut out = String::from("prefix,status,vlan_group,vlan,role,is_pool,description\n");
    for a in &plan.aggregates {
        let _ = writeln!(
            out,
            "{},container,,,{},false,{}",
            a.cidr,
            a.role,
            field(&format!("{} aggregate", a.name))
        );
    }
    for s in &plan.segments {
        let vlan = s.vlan.map_or(String::new(), |v| v.to_string());
        let group = if s.vlan.is_some() { field(&group(s)) } else { String::new() };
        let pool = s.kind != Kind::Subnet;
        let _ = writeln!(out, "{},active,{group},{vlan},{},{pool},{}", s.cidr, s.role, field(&describe(s)));
    }
    out
}

/// `ip-addresses.csv` for NetBox's IP address bulk import: `address,status,role,dns_name,description`,
/// one row per [`named_addresses`](super::named_addresses) entry: every gateway and VRR address,
/// anycast endpoint, switch loopback and management address and, after [`crate::assign`], every node
/// interface and the leaf's end of each backend /31. `role` is NetBox's choice value (`vrrp`,
/// `anycast`, `loopback`) or empty; `dns_name` the name in the plan's domain.
///
/// ```
/// let mut plan = ipam_plan::plan(&ipam_plan::Spec::for_gpus(8))?;
/// ipam_plan::assign(&mut plan)?;
/// let csv = ipam_plan::render::ip_addresses_csv(&plan);
/// assert!(csv.starts_with("address,status,role,dns_name,description\n"));
/// assert!(csv.contains(",active,,gpu-node-001-rail0.cluster.internal,"));
/// assert!(csv.contains(",active,loopback,leaf-su00-rail0.cluster.internal,"));
/// # Ok::<(), ipam_plan::Error>(())
/// ```
pub fn ip_addresses_csv(plan: &Plan) -> String {
    let mut out = String::from("address,status,role,dns_name,description\n");
    for n in super::named_addresses(plan) {
        let _ = writeln!(
            out,
            "{}/{},active,{},{},{}",
            n.address,
            n.prefix_len,
            n.role.unwrap_or(""),
            field(&n.fqdn(&plan.domain)),
            field(&n.description)
        );
    }
    out
}

fn describe(s: &Segment) -> String {
    let mut text = format!("{} ({}), MTU {}, {} planned", s.name, s.role, s.mtu, s.planned);
    if let Some(of) = &s.extends {
        let _ = write!(text, ", adds space to {of}");
    }
    text
}

/// One CSV field, quoted when it holds a comma, a quote or a line break (RFC 4180).
fn field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}
