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
///
/// ```
/// let plan = ipam_plan::plan(&ipam_plan::Spec::for_gpus(16_384))?;
/// let core = plan.switches.iter().find(|s| s.tier == "superspine").unwrap();
/// assert_eq!(core.asn, ipam_plan::switches::SUPERSPINE_ASN);
/// # Ok::<(), ipam_plan::Error>(())
/// ```
pub const SUPERSPINE_ASN: u32 = 4_200_000_000;
/// The spines of pod `p` share `SPINE_ASN + p` (a single-pod fabric's spines: pod 0).
///
/// ```
/// let plan = ipam_plan::plan(&ipam_plan::Spec::for_gpus(1024))?;
/// assert!(plan.switches.iter().filter(|s| s.tier == "spine").all(|s| s.asn == ipam_plan::switches::SPINE_ASN));
/// # Ok::<(), ipam_plan::Error>(())
/// ```
pub const SPINE_ASN: u32 = 4_200_000_001;
/// Leaf `(su, rail)` has `LEAF_ASN + 64 x su + rail`.
///
/// ```
/// let plan = ipam_plan::plan(&ipam_plan::Spec::for_gpus(1024))?;
/// let leaf = plan.switches.iter().find(|s| s.name == "leaf-su03-rail2").unwrap();
/// assert_eq!(leaf.asn, ipam_plan::switches::LEAF_ASN + 64 * 3 + 2);
/// # Ok::<(), ipam_plan::Error>(())
/// ```
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
/// of its pod, and in a multi-pod fabric 32 uplinks per spine to the super-spines. Each uplink's
/// /31 and far end follow from positions in the generation's reserved slots, so growth never
/// changes a link: an uplink whose far switch does not exist yet is not listed (its /31 stays
/// reserved). The lower tier takes the even end of each /31.
pub(crate) fn links(
    spec: &Spec,
    f: &Figures,
    gens: &[Gen],
    segments: &[Segment],
) -> Result<Vec<Link>, Error> {
    if spec.fabric_links != FabricLinks::P2p31 {
        return Ok(Vec::new());
    }
    let by_name: HashMap<&str, &Segment> = segments.iter().map(|s| (s.name.as_str(), s)).collect();
    let uplinks = u64::from(UPLINKS_PER_SWITCH);
    let per_switch = 2 * uplinks;
    let mut out = Vec::new();
    for g in gens {
        // A far switch is one of this generation's (an earlier one's spines are wired their own way).
        let exists = |su: u64| u64::from(g.first) <= su && su < u64::from(f.sus);
        let sfx = g.suffix();
        let sp = u64::from(f.spines_per_su(g.pods));
        let ss = u64::from(f.superspines_per_su(g.pods));
        let reserved_end = u64::from(g.base) + u64::from(g.slots);
        for su in g.present(f) {
            for rail in 0..f.rails {
                let leaf = leaf_name(su, rail);
                let index = g.slot(su) * u64::from(f.rails) + u64::from(rail);
                for u in 0..uplinks {
                    let far = if g.pods {
                        let spp = u64::from(f.sus_per_pod);
                        let pod = u64::from(su) / spp;
                        let local = (u64::from(su) % spp) * u64::from(f.rails) + u64::from(rail);
                        let j = (local * uplinks + u) % (spp * sp);
                        exists(pod * spp + j / sp).then(|| format!("spine-pod{pod:02}-{j:02}"))
                    } else {
                        let j = u % (sp * reserved_end);
                        exists(j / sp).then(|| format!("spine-{j:02}"))
                    };
                    let Some(far) = far else { continue };
                    let a =
                        address(&by_name, &format!("fabric-leaf{sfx}"), index * per_switch + 2 * u, &leaf)?;
                    out.push(link(&leaf, a, &far));
                }
            }
            for k in 0..sp.min(u64::from(u32::MAX)) as u32 {
                if ss == 0 {
                    break;
                }
                let (name, _, _) = spine(f, g, su, k);
                let index = g.slot(su) * sp + u64::from(k);
                let global = u64::from(su) * sp + u64::from(k);
                for u in 0..uplinks {
                    let far = (global * uplinks + u) % (ss * reserved_end);
                    if !exists(far / ss) {
                        continue;
                    }
                    let a =
                        address(&by_name, &format!("fabric-spine{sfx}"), index * per_switch + 2 * u, &name)?;
                    out.push(link(&name, a, &format!("superspine-{far:02}")));
                }
            }
        }
    }
    Ok(out)
}

/// Each fabric segment plans the addresses of the links listed in it.
pub(crate) fn count_links(segments: &mut [Segment], links: &[Link]) {
    for s in segments.iter_mut().filter(|s| s.role == Role::Fabric) {
        s.planned = 2 * links.iter().filter(|l| s.cidr.contains(&l.a_address)).count() as u64;
    }
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
