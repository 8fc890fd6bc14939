//! The plan's totals, its GPU headroom, and how it compares with the generic budget.

use ipam_core::Pool;
use ipnet::Ipv4Net;

use std::collections::HashSet;

use crate::layout::Gen;
use crate::model::{AnycastAddress, BudgetLine, RoleTotal, Segment, Summary};
use crate::spec::{BackendAddressing, L2Scope, Spec, VlanScope};
use crate::topology::Figures;
use crate::{Error, Role};

pub(crate) fn summarize(
    spec: &Spec,
    f: &Figures,
    gens: &[Gen],
    segments: &[Segment],
    used: u64,
    mut warnings: Vec<String>,
    next: Option<String>,
) -> Result<Summary, Error> {
    let roles = Role::ALL
        .iter()
        .filter_map(|&role| {
            let of_role: Vec<&Segment> = segments.iter().filter(|s| s.role == role).collect();
            (!of_role.is_empty()).then(|| RoleTotal {
                role,
                segments: of_role.len(),
                planned: of_role.iter().map(|s| s.planned).sum(),
                usable: of_role.iter().map(|s| s.usable).sum(),
                addresses: of_role.iter().map(|s| crate::sizing::block_size(s.cidr.prefix_len())).sum(),
            })
        })
        .collect::<Vec<_>>();
    let su_slots: u64 = gens.last().map_or(0, |g| u64::from(g.base) + u64::from(g.slots));
    let (gpu_headroom, limited_by) = if spec.gpus > 0 {
        let capacity = numberable_sus(spec, f, gens, segments) * f.gpus_per_su();
        (Some(capacity.saturating_sub(f.gpus)), next)
    } else {
        (None, None)
    };
    if !is_private(spec.base) {
        warnings.push(format!(
            "base {} is not a private block (RFC 1918 or RFC 6598): its addresses are routed on the internet",
            spec.base
        ));
    }
    if spec.gpus > 0 && !spec.storage_port_subnets && spec.roles.storage.count.is_none() {
        warnings.push(
            "each node's two storage ports share one subnet: set net.ipv4.conf.*.arp_ignore=1, arp_announce=2 \
             and rp_filter=2 on the hosts, or give each port its own subnet (storage_port_subnets = true)"
                .to_owned(),
        );
    }
    Ok(Summary {
        gpus: spec.gpus,
        nodes: f.nodes,
        sus: u64::from(f.sus),
        su_slots,
        gpus_per_node: spec.gpus_per_node,
        rails: spec.rails(),
        budget: budget(spec, &roles),
        roles,
        addresses: used,
        base_share: used as f64 / crate::sizing::block_size(spec.base.prefix_len()) as f64,
        gpu_headroom,
        limited_by,
        warnings,
    })
}

/// The SU slots that can be filled: all of them, unless under `vlan_scope = "unique"` the VLAN
/// range runs out first (each new SU needs its L2 segments' ids, each new pod its pod segments').
fn numberable_sus(spec: &Spec, f: &Figures, gens: &[Gen], segments: &[Segment]) -> u64 {
    let slots: u64 = gens.last().map_or(0, |g| u64::from(g.base) + u64::from(g.slots));
    if spec.vlan_scope != VlanScope::Unique {
        return slots;
    }
    let [first, last] = spec.vlan_range;
    let used: HashSet<u16> = segments.iter().filter_map(|s| s.vlan.map(|v| v.get())).collect();
    let mut free = (first.get()..=last.get()).filter(|v| !used.contains(v)).count() as u64;
    let domains = match spec.l2_scope {
        L2Scope::Su => 1,
        L2Scope::Rack => u64::from(f.racks_per_su),
        L2Scope::Cluster => 0,
    };
    let rails =
        if spec.backend_addressing == BackendAddressing::SubnetPerRail { u64::from(f.rails) } else { 0 };
    let per_su = domains * f.l2_roles(spec).len() as u64 + rails;
    let per_pod = [spec.roles.monitoring.count.is_none(), spec.roles.lb.count.is_none(), true]
        .iter()
        .filter(|derived| **derived)
        .count() as u64;
    let mut su = u64::from(f.sus);
    for g in gens {
        while su < u64::from(g.base) + u64::from(g.slots) {
            let opens_pod = g.per_pod(f) && (su - u64::from(g.base)).is_multiple_of(u64::from(f.sus_per_pod));
            let need = per_su + if opens_pod { per_pod } else { 0 };
            if need > free {
                return su;
            }
            free -= need;
            su += 1;
        }
    }
    slots
}

/// Each category of the generic per-1,000-GPU budget next to the plan, with why it differs.
fn budget(spec: &Spec, roles: &[RoleTotal]) -> Vec<BudgetLine> {
    if spec.gpus == 0 {
        return Vec::new();
    }
    let planned = |of: &[Role]| -> u64 {
        let sum: u64 = roles.iter().filter(|r| of.contains(&r.role)).map(|r| r.planned).sum();
        sum * 1000 / u64::from(spec.gpus)
    };
    let compute_why = match spec.backend_addressing {
        BackendAddressing::P2p31 => {
            "every GPU NIC has its own /31 to its leaf (2 addresses per GPU); the generic figure counts a few addresses per server"
        }
        BackendAddressing::SubnetPerRail => {
            "every GPU NIC has an address on its rail; the generic figure counts a few addresses per server"
        }
    };
    let lines = [
        ("compute", planned(&[Role::Backend, Role::Frontend]), [250, 500], compute_why),
        (
            "storage",
            planned(&[Role::Storage]),
            [50, 100],
            "2 storage ports per node (the reference design) plus the storage servers' ports; the generic figure assumes one storage address per server or fewer",
        ),
        (
            "management",
            planned(&[Role::Oob, Role::Loopback]),
            [100, 200],
            "one BMC per node, the management port and loopback of every switch, and the PDUs are all counted (numbered fabric links are not management and are left out)",
        ),
        (
            "monitoring",
            planned(&[Role::Monitoring]),
            [50, 100],
            match spec.roles.monitoring.count {
                Some(_) => "set by roles.monitoring.count",
                None => "the generic upper bound, rounded up to whole addresses",
            },
        ),
        (
            "lb",
            planned(&[Role::Lb]),
            [10, 20],
            match spec.roles.lb.count {
                Some(_) => "set by roles.lb.count",
                None => "the generic upper bound, rounded up to whole addresses",
            },
        ),
    ];
    lines
        .into_iter()
        .map(|(category, per_1000, generic, why)| {
            let note = if per_1000 > generic[1] {
                format!("above: {why}")
            } else if per_1000 < generic[0] {
                "below: fewer addresses than the generic figure (explicit counts, or a small cluster rounding down)".to_owned()
            } else {
                "within".to_owned()
            };
            BudgetLine { category: category.to_owned(), planned_per_1000_gpus: per_1000, generic, note }
        })
        .collect()
}

/// A /32 for each `[[anycast]]` endpoint from the anycast segments. Endpoints of the previous
/// plan keep their addresses; new ones take the lowest free.
pub(crate) fn anycast_addresses(
    spec: &Spec,
    segments: &[Segment],
    previous: &[AnycastAddress],
) -> Result<Vec<AnycastAddress>, Error> {
    let mut pools = segments
        .iter()
        .filter(|s| s.role == Role::Anycast)
        .map(|s| Pool::builder(s.cidr).reserve_network_broadcast(false).build())
        .collect::<Result<Vec<_>, _>>()?;
    let mut out = Vec::with_capacity(spec.anycast.len());
    let mut fresh = Vec::new();
    for endpoint in &spec.anycast {
        let kept = previous.iter().find(|p| p.name == endpoint.name).map(|p| p.address);
        match kept
            .and_then(|addr| pools.iter_mut().find(|pool| pool.network().contains(&addr)).map(|p| (addr, p)))
        {
            Some((address, pool)) => {
                pool.allocate_specific(address)?;
                out.push(AnycastAddress { name: endpoint.name.clone(), address });
            }
            None => fresh.push(endpoint.name.clone()),
        }
    }
    for name in fresh {
        let address = pools
            .iter_mut()
            .find_map(|pool| pool.allocate().ok())
            .ok_or(ipam_core::Error::Exhausted { wanted: 1, pool: spec.base })?;
        out.push(AnycastAddress { name, address });
    }
    out.sort_by_key(|a| a.address);
    Ok(out)
}

fn is_private(base: Ipv4Net) -> bool {
    ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10"]
        .iter()
        .any(|p| p.parse::<Ipv4Net>().is_ok_and(|private| private.contains(&base)))
}
