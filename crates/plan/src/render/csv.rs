//! NetBox bulk-import CSV files: VLANs, prefixes, IP addresses.

use std::fmt::Write;

use crate::Kind;
use crate::model::{Plan, Segment};

/// `vlans.csv` for NetBox's VLAN bulk import: `vid,name,status,description`.
///
/// ```
/// let plan = ipam_plan::plan(&ipam_plan::Spec::for_gpus(256))?;
/// let csv = ipam_plan::render::vlans_csv(&plan);
/// assert!(csv.lines().nth(1).unwrap().starts_with("100,frontend,active,"));
/// # Ok::<(), ipam_plan::Error>(())
/// ```
pub fn vlans_csv(plan: &Plan) -> String {
    let mut out = String::from("vid,name,status,description\n");
    for s in &plan.segments {
        if let Some(vlan) = s.vlan {
            let _ = writeln!(out, "{vlan},{},active,{}", field(&s.name), field(&describe(s)));
        }
    }
    out
}

/// `prefixes.csv` for NetBox's prefix bulk import: `prefix,status,vlan,role,is_pool,description`.
/// Aggregates are `container` prefixes; routed /31 and /32 segments are pools.
///
/// ```
/// let plan = ipam_plan::plan(&ipam_plan::Spec::for_gpus(256))?;
/// let csv = ipam_plan::render::prefixes_csv(&plan);
/// assert!(csv.contains("10.0.0.0/22,container,,backend,false,"));
/// # Ok::<(), ipam_plan::Error>(())
/// ```
pub fn prefixes_csv(plan: &Plan) -> String {
    let mut out = String::from("prefix,status,vlan,role,is_pool,description\n");
    for a in &plan.aggregates {
        let _ = writeln!(
            out,
            "{},container,,{},false,{}",
            a.cidr,
            a.role,
            field(&format!("{} aggregate", a.name))
        );
    }
    for s in &plan.segments {
        let vlan = s.vlan.map_or(String::new(), |v| v.to_string());
        let pool = s.kind != Kind::Subnet;
        let _ = writeln!(out, "{},active,{vlan},{},{pool},{}", s.cidr, s.role, field(&describe(s)));
    }
    out
}

/// `ip-addresses.csv` for NetBox's IP address bulk import (`address,status,description`): every
/// assigned interface and, on /31 links, the switch's end. `None` until [`crate::assign`] ran.
///
/// ```
/// let mut plan = ipam_plan::plan(&ipam_plan::Spec::for_gpus(8))?;
/// assert!(ipam_plan::render::ip_addresses_csv(&plan).is_none());
/// ipam_plan::assign(&mut plan)?;
/// let csv = ipam_plan::render::ip_addresses_csv(&plan).unwrap();
/// assert!(csv.contains(",active,gpu-node-001 rail0\n"));
/// # Ok::<(), ipam_plan::Error>(())
/// ```
pub fn ip_addresses_csv(plan: &Plan) -> Option<String> {
    let nodes = plan.assignments.as_ref()?;
    let mut out = String::from("address,status,description\n");
    for node in nodes {
        for i in &node.interfaces {
            let _ = writeln!(out, "{},active,{}", i.address, field(&format!("{} {}", node.node, i.name)));
            if let Some(peer) = i.peer {
                let peer = ipnet::Ipv4Net::new(peer, i.address.prefix_len()).expect("same prefix length");
                let _ = writeln!(
                    out,
                    "{peer},active,{}",
                    field(&format!("leaf end of {} {}", node.node, i.name))
                );
            }
        }
    }
    Some(out)
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
