//! The switch inventory (names, loopbacks, ASNs, management addresses) and numbered fabric links,
//! all derived from topology position.
//!
//! ASNs follow RFC 7938 with private 4-byte numbers (RFC 6996, 4200000000-4294967294): every leaf
//! has its own (`4201000000 + 64 x SU + rail`), the spines of one pod share one
//! (`4200000001 + pod`), and the super-spines share `4200000000`.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use crate::layout::Gen;
use crate::model::{Link, Segment, Switch};
use crate::position::{Device, l2_place};
use crate::spec::{FabricLinks, Spec};
use crate::topology::{Figures, UPLINKS_PER_SWITCH};
use crate::{Error, Role, Scope};

/// The super-spines' shared ASN.
pub const SUPERSPINE_ASN: u32 = 4_200_000_000;
/// The spines of pod `p` share `SPINE_ASN + p`.
pub const SPINE_ASN: u32 = 4_200_000_001;
/// Leaf `(su, rail)` has `LEAF_ASN + 64 x su + rail`.
pub const LEAF_ASN: u32 = 4_201_000_000;

/// Address `offset` of segment `name`, refusing an offset past its end.
fn address(
    segments: &HashMap<&str, &Segment>,
    name: &str,
    offset: u64,
    what: &str,
) -> Result<Ipv4Addr, Error> {
    let segment = segments
        .get(name)
        .ok_or_else(|| Error::AssignmentShort { segment: name.to_owned(), node: what.to_owned() })?;
    let size = 1u64 << (32 - u32::from(segment.cidr.prefix_len()));
    if offset >= size {
        return Err(Error::AssignmentShort { segment: name.to_owned(), node: what.to_owned() });
    }
    Ok(Ipv4Addr::from(u32::from(segment.cidr.network()) + offset as u32))
}

/// A switch's name and scope.
pub(crate) fn leaf_name(su: u32, rail: u32) -> String {
    format!("leaf-su{su:02}-rail{rail}")
}

fn spine(f: &Figures, g: &Gen, su: u32, k: u32) -> (String, Scope, u32) {
    if g.pods {
        let pod = su / f.sus_per_pod;
        let j = (su % f.sus_per_pod) * f.spines_per_su(true) + k;
        (format!("spine-pod{pod:02}-{j:02}"), Scope { pod: Some(pod), ..Scope::default() }, SPINE_ASN + pod)
    } else {
        (format!("spine-{:02}", su * f.spines_per_su(false) + k), Scope::default(), SPINE_ASN)
    }
}

fn superspine(f: &Figures, su: u32, k: u32) -> String {
    format!("superspine-{:02}", su * f.superspines_per_su(true) + k)
}

/// Every switch of the SUs in use: leaves, then spines, then super-spines.
pub(crate) fn inventory(
    spec: &Spec,
    f: &Figures,
    gens: &[Gen],
    segments: &[Segment],
) -> Result<Vec<Switch>, Error> {
    let by_name: HashMap<&str, &Segment> = segments.iter().map(|s| (s.name.as_str(), s)).collect();
    let oob = f.l2_roles(spec).into_iter().find(|r| r.role == Role::Oob);
    let (mut leaves, mut spines, mut superspines) = (Vec::new(), Vec::new(), Vec::new());
    for g in gens {
        let sfx = g.suffix();
        let (sp, ss) = (f.spines_per_su(g.pods), f.superspines_per_su(g.pods));
        let leaves_on_fabric_oob = if oob.is_none() { f.rails } else { 0 };
        let mgmt_per_su = u64::from(sp + ss + leaves_on_fabric_oob);
        for su in g.present(f) {
            let slot = g.slot(su);
            let (fabric_oob, first) = crate::layout::fabric_mgmt_place(f, g, su, mgmt_per_su);
            let fabric_mgmt = |k: u32, name: &str| address(&by_name, &fabric_oob, first + u64::from(k), name);
            for rail in 0..f.rails {
                let name = leaf_name(su, rail);
                let loopback = address(
                    &by_name,
                    &format!("loopback-leaf{sfx}"),
                    slot * u64::from(f.rails) + u64::from(rail),
                    &name,
                )?;
                let mgmt = match &oob {
                    Some(oob) => {
                        let (segment, offset) = l2_place(spec, f, g, oob, su, Device::Extra(rail));
                        address(&by_name, &segment, offset, &name)?
                    }
                    None => fabric_mgmt(sp + ss + rail, &name)?,
                };
                let scope = Scope { rail: Some(rail), ..g.su_scope(f, su) };
                let asn = LEAF_ASN + 64 * su + rail;
                leaves.push(Switch { name, tier: "leaf".into(), scope, loopback, asn, mgmt });
            }
            for k in 0..sp {
                let (name, scope, asn) = spine(f, g, su, k);
                let loopback = address(
                    &by_name,
                    &format!("loopback-spine{sfx}"),
                    slot * u64::from(sp) + u64::from(k),
                    &name,
                )?;
                let mgmt = fabric_mgmt(k, &name)?;
                spines.push(Switch { name, tier: "spine".into(), scope, loopback, asn, mgmt });
            }
            for k in 0..ss {
                let name = superspine(f, su, k);
                let loopback = address(
                    &by_name,
                    &format!("loopback-superspine{sfx}"),
                    slot * u64::from(ss) + u64::from(k),
                    &name,
                )?;
                let mgmt = fabric_mgmt(sp + k, &name)?;
                superspines.push(Switch {
                    name,
                    tier: "superspine".into(),
                    scope: Scope::default(),
                    loopback,
                    asn: SUPERSPINE_ASN,
                    mgmt,
                });
            }
        }
    }
    leaves.extend(spines);
    leaves.extend(superspines);
    Ok(leaves)
}

/// Every numbered fabric link (with `fabric_links = "p2p31"`): 32 uplinks per leaf to the spines
/// of its pod, and in a multi-pod fabric 32 uplinks per spine to the super-spines. The lower
/// tier takes the even end of each /31.
pub(crate) fn links(
    spec: &Spec,
    f: &Figures,
    gens: &[Gen],
    segments: &[Segment],
    switches: &[Switch],
) -> Result<Vec<Link>, Error> {
    if spec.fabric_links != FabricLinks::P2p31 {
        return Ok(Vec::new());
    }
    let by_name: HashMap<&str, &Segment> = segments.iter().map(|s| (s.name.as_str(), s)).collect();
    let spines_of_pod = |pod: Option<u32>| -> Vec<&str> {
        switches.iter().filter(|s| s.tier == "spine" && s.scope.pod == pod).map(|s| s.name.as_str()).collect()
    };
    let superspines: Vec<&str> =
        switches.iter().filter(|s| s.tier == "superspine").map(|s| s.name.as_str()).collect();
    let mut pods: HashMap<Option<u32>, Vec<&str>> = HashMap::new();
    let mut out = Vec::new();
    let per_switch = 2 * u64::from(UPLINKS_PER_SWITCH);
    for g in gens {
        let sfx = g.suffix();
        let sp = f.spines_per_su(g.pods);
        for su in g.present(f) {
            let pod = g.pods.then(|| su / f.sus_per_pod);
            let spines = pods.entry(pod).or_insert_with(|| spines_of_pod(pod)).clone();
            for rail in 0..f.rails {
                let leaf = leaf_name(su, rail);
                let index = g.slot(su) * u64::from(f.rails) + u64::from(rail);
                let local = u64::from(su % f.sus_per_pod) * u64::from(f.rails) + u64::from(rail);
                for u in 0..u64::from(UPLINKS_PER_SWITCH) {
                    let far =
                        spines[((local * u64::from(UPLINKS_PER_SWITCH) + u) % spines.len() as u64) as usize];
                    let a =
                        address(&by_name, &format!("fabric-leaf{sfx}"), index * per_switch + 2 * u, &leaf)?;
                    out.push(link(&leaf, a, far));
                }
            }
            if !g.pods || superspines.is_empty() {
                continue;
            }
            for k in 0..sp {
                let (name, _, _) = spine(f, g, su, k);
                let index = g.slot(su) * u64::from(sp) + u64::from(k);
                let global = u64::from(su) * u64::from(sp) + u64::from(k);
                for u in 0..u64::from(UPLINKS_PER_SWITCH) {
                    let far = superspines
                        [((global * u64::from(UPLINKS_PER_SWITCH) + u) % superspines.len() as u64) as usize];
                    let a =
                        address(&by_name, &format!("fabric-spine{sfx}"), index * per_switch + 2 * u, &name)?;
                    out.push(link(&name, a, far));
                }
            }
        }
    }
    Ok(out)
}

fn link(a: &str, a_address: Ipv4Addr, b: &str) -> Link {
    Link {
        a: a.to_owned(),
        a_address,
        b: b.to_owned(),
        b_address: Ipv4Addr::from(u32::from(a_address) + 1),
        cidr: Ipv4Net::new(a_address, 31).expect("31 is a valid prefix length"),
    }
}
