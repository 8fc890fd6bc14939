//! The plan's totals, its GPU headroom, and how it compares with the generic budget.

use std::collections::HashMap;

use ipam_core::Pool;
use ipnet::Ipv4Net;

use crate::demand;
use crate::model::{AnycastAddress, BudgetLine, RoleTotal, Segment, Summary};
use crate::spec::{BackendAddressing, Spec};
use crate::topology::Counts;
use crate::{Error, Role};

/// The largest GPU count the headroom search tries (IPv4 cannot hold more /31s anyway).
const MAX_GPUS: u64 = 1 << 31;

pub(crate) fn summarize(
    spec: &Spec,
    counts: &Counts,
    segments: &[Segment],
    used: u64,
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
    let (gpu_headroom, limited_by) = if spec.gpus > 0 { headroom(spec, segments)? } else { (None, None) };
    let mut warnings = Vec::new();
    if !is_private(spec.base) {
        warnings.push(format!(
            "base {} is not a private block (RFC 1918 or RFC 6598): its addresses are routed on the internet",
            spec.base
        ));
    }
    Ok(Summary {
        gpus: spec.gpus,
        nodes: counts.nodes,
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

/// The largest number of GPUs, past the spec's, that every segment still holds (at growth 1),
/// and the segment that runs out first after that.
fn headroom(spec: &Spec, segments: &[Segment]) -> Result<(Option<u64>, Option<String>), Error> {
    let mut capacity: HashMap<&str, u64> = HashMap::new();
    for s in segments {
        *capacity.entry(s.family()).or_default() += s.usable;
    }
    // The first demand that does not fit with `gpus` GPUs, if any.
    let short = |gpus: u64| -> Result<Option<String>, Error> {
        let demands = demand::derive(spec, &Counts::new(spec, gpus))?;
        Ok(demands
            .into_iter()
            .find(|d| capacity.get(d.name.as_str()).is_none_or(|&c| c < d.planned))
            .map(|d| d.name))
    };
    let gpus = u64::from(spec.gpus);
    if short(gpus)?.is_some() {
        return Ok((Some(0), short(gpus)?));
    }
    let (mut fits, mut hi) = (gpus, gpus.max(1) * 2);
    while hi < MAX_GPUS && short(hi)?.is_none() {
        fits = hi;
        hi *= 2;
    }
    let mut fails = hi.min(MAX_GPUS);
    while fails - fits > 1 {
        let mid = fits + (fails - fits) / 2;
        if short(mid)?.is_none() { fits = mid } else { fails = mid }
    }
    Ok((Some(fits - gpus), short(fails)?))
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
            planned(&[Role::Oob, Role::Loopback, Role::Fabric]),
            [100, 200],
            "one BMC per node, the management port and loopback of every switch, and the PDUs are all counted",
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
