//! Every address a plan names, with its DNS name: what the NetBox IP CSV and the DNS zones list.

use std::collections::HashSet;
use std::net::Ipv4Addr;

use crate::Kind;
use crate::model::Plan;

/// One named address of a plan.
///
/// ```
/// let plan = ipam_plan::plan(&ipam_plan::Spec::for_gpus(256))?;
/// let names = ipam_plan::render::named_addresses(&plan);
/// let gw = names.iter().find(|n| n.name == "storage-su00-gw").unwrap();
/// assert_eq!(gw.role, Some("vrrp"));
/// assert_eq!(gw.fqdn(&plan.domain), "storage-su00-gw.cluster.internal");
/// # Ok::<(), ipam_plan::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamedAddress {
    /// The DNS label (letters, digits, hyphens): `gpu-node-001-rail0`, `leaf-su00-rail0`.
    pub name: String,
    /// The address.
    pub address: Ipv4Addr,
    /// The prefix length of the segment it sits in (32 for loopbacks and anycast).
    pub prefix_len: u8,
    /// NetBox's IP address role, where one applies: `vrrp`, `loopback` or `anycast`.
    pub role: Option<&'static str>,
    /// What it is, for people.
    pub description: String,
}

impl NamedAddress {
    /// The fully qualified name in `domain`.
    ///
    /// ```
    /// # let plan = ipam_plan::plan(&ipam_plan::Spec::for_gpus(8))?;
    /// let first = &ipam_plan::render::named_addresses(&plan)[0];
    /// assert!(first.fqdn("example.net").ends_with(".example.net"));
    /// # Ok::<(), ipam_plan::Error>(())
    /// ```
    pub fn fqdn(&self, domain: &str) -> String {
        format!("{}.{domain}", self.name)
    }
}

/// Every address the plan names, in plan order: each VLAN segment's gateway (`SEGMENT-gw`, the
/// switches' shared VRR address, role `vrrp`) and the switch pair's own addresses (`SEGMENT-sw1`,
/// `SEGMENT-sw2`); every anycast endpoint (its name, role `anycast`); every switch's loopback (its
/// name, role `loopback`) and management address (`SWITCH-mgmt`); and with assignments, every node
/// interface (`NODE-INTERFACE`, `.` in an interface name as `-`) and the leaf's end of each
/// backend /31 (`LEAF-NODE-INTERFACE`). Names are DNS labels; a clash gets `-2`, `-3`.
///
/// ```
/// let mut plan = ipam_plan::plan(&ipam_plan::Spec::for_gpus(16))?;
/// ipam_plan::assign(&mut plan)?;
/// let names = ipam_plan::render::named_addresses(&plan);
/// assert!(names.iter().any(|n| n.name == "gpu-node-002-rail3"));
/// assert!(names.iter().any(|n| n.name == "leaf-su00-rail3-gpu-node-002-rail3"));
/// assert!(names.iter().any(|n| n.name == "leaf-su00-rail3" && n.role == Some("loopback")));
/// # Ok::<(), ipam_plan::Error>(())
/// ```
pub fn named_addresses(plan: &Plan) -> Vec<NamedAddress> {
    let mut out = Vec::new();
    let mut taken = HashSet::new();
    let mut add = |name: String, address: Ipv4Addr, prefix_len: u8, role, description: String| {
        let base = label(&name);
        let mut name = base.clone();
        let mut k = 2;
        while !taken.insert(name.clone()) {
            name = format!("{base}-{k}");
            k += 1;
        }
        out.push(NamedAddress { name, address, prefix_len, role, description });
    };
    for s in plan.segments.iter().filter(|s| s.kind == Kind::Subnet) {
        let Some(gateway) = s.gateway else { continue };
        let len = s.cidr.prefix_len();
        let vlan = s.vlan.map_or(String::new(), |v| format!(", VLAN {v}"));
        add(format!("{}-gw", s.name), gateway, len, Some("vrrp"), format!("gateway of {}{vlan}", s.name));
        for k in 1..=2u32 {
            let address = Ipv4Addr::from(u32::from(gateway) + k);
            add(
                format!("{}-sw{k}", s.name),
                address,
                len,
                None,
                format!("switch {k} of the VRR pair of {}", s.name),
            );
        }
    }
    for a in &plan.anycast {
        add(a.name.clone(), a.address, 32, Some("anycast"), format!("anycast endpoint {}", a.name));
    }
    // Segments are disjoint: the one holding an address is the last that starts at or before it.
    let mut sorted: Vec<ipnet::Ipv4Net> = plan.segments.iter().map(|s| s.cidr).collect();
    sorted.sort_by_key(|net| net.network());
    let prefix_of = |address: Ipv4Addr| {
        let after = sorted.partition_point(|net| net.network() <= address);
        after
            .checked_sub(1)
            .map(|i| sorted[i])
            .filter(|net| net.contains(&address))
            .map_or(32, |net| net.prefix_len())
    };
    for sw in &plan.switches {
        add(
            sw.name.clone(),
            sw.loopback,
            32,
            Some("loopback"),
            format!("{} {} loopback, ASN {}", sw.tier, sw.name, sw.asn),
        );
        add(
            format!("{}-mgmt", sw.name),
            sw.mgmt,
            prefix_of(sw.mgmt),
            None,
            format!("{} management port", sw.name),
        );
    }
    for node in plan.assignments.iter().flatten() {
        for i in &node.interfaces {
            let len = i.address.prefix_len();
            add(
                format!("{}-{}", node.node, i.name),
                i.address.addr(),
                len,
                None,
                format!("{} {} on {}", node.node, i.name, i.segment),
            );
            if let (Some(peer), Some(leaf)) = (i.peer, &i.leaf) {
                add(
                    format!("{leaf}-{}-{}", node.node, i.name),
                    peer,
                    len,
                    None,
                    format!("{leaf} end of the /31 to {} {}", node.node, i.name),
                );
            }
        }
    }
    out
}

/// A DNS label: lowercase letters, digits and hyphens, at most 63 characters.
fn label(name: &str) -> String {
    let mut out: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).collect();
    out.truncate(59); // room for a "-NN" that tells two clashing names apart
    let trimmed = out.trim_matches('-');
    if trimmed.is_empty() { "x".to_owned() } else { trimmed.to_owned() }
}
