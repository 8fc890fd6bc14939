//! What an address plan hands out, and to whom: the allocations `ipam apply` records.
//!
//! Owners are interface-qualified, so one device holds several addresses in one pool:
//! - a node's interface: `gpu-node-001/rail0`, `gpu-node-001/storage0`, `gpu-node-001/bmc`;
//! - a leaf's end of a backend /31: `leaf-su00-rail0/gpu-node-001` (recorded for every /31, with
//!   or without `--assign`: the node is the one at that position, as `--assign` names it);
//! - a switch's own addresses: `leaf-su00-rail0/loopback`, `leaf-su00-rail0/mgmt`;
//! - a fabric link's ends: `leaf-su00-rail0/spine-00` and `spine-00/leaf-su00-rail0`, with `#2`,
//!   `#3` for further links between the same pair;
//! - an anycast endpoint: its name.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use ipam_plan::{NodeAssignment, Plan};
use ipnet::Ipv4Net;

use crate::Error;

/// One address the plan gives to an owner, in the segment `pool`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Holding {
    pub(crate) pool: String,
    pub(crate) address: Ipv4Addr,
    pub(crate) owner: String,
}

/// Every address the plan gives out, grouped by pool in plan order.
pub(crate) fn holdings(plan: &Plan) -> Result<Vec<Holding>, Error> {
    let segments = Segments::new(plan);
    let mut out = Vec::new();
    let mut add = |address: Ipv4Addr, owner: String| -> Result<(), Error> {
        let pool = segments.holding(address).ok_or_else(|| Error::Apply {
            reason: format!("the plan gives {address} to `{owner}`, but no segment holds it"),
        })?;
        out.push(Holding { pool: pool.to_owned(), address, owner });
        Ok(())
    };
    for a in &plan.anycast {
        add(a.address, a.name.clone())?;
    }
    for sw in &plan.switches {
        add(sw.loopback, format!("{}/loopback", sw.name))?;
        add(sw.mgmt, format!("{}/mgmt", sw.name))?;
    }
    let mut pairs: HashMap<(&str, &str), u32> = HashMap::new();
    for link in &plan.links {
        let n = pairs.entry((&link.a, &link.b)).or_default();
        *n += 1;
        let nth = if *n == 1 { String::new() } else { format!("#{n}") };
        add(link.a_address, format!("{}/{}{nth}", link.a, link.b))?;
        add(link.b_address, format!("{}/{}{nth}", link.b, link.a))?;
    }
    match &plan.assignments {
        Some(nodes) => {
            leaf_ends(nodes, &mut add)?;
            for node in nodes {
                for i in &node.interfaces {
                    add(i.address.addr(), format!("{}/{}", node.node, i.name))?;
                }
            }
        }
        // The leaves' ends are the switches', whoever the nodes turn out to be: recorded by
        // position, so that the next free address of a /31 segment is a host's end.
        None if plan.topology.is_some() => {
            let mut positions = plan.clone();
            ipam_plan::assign(&mut positions).map_err(|e| Error::Apply { reason: e.to_string() })?;
            leaf_ends(positions.assignments.as_deref().unwrap_or_default(), &mut add)?;
        }
        None => {}
    }
    Ok(out)
}

/// The leaf's end of every backend /31: `LEAF/NODE`, or `LEAF/NODE/INTERFACE` where a node has
/// several links to one leaf.
fn leaf_ends(
    nodes: &[NodeAssignment],
    add: &mut impl FnMut(Ipv4Addr, String) -> Result<(), Error>,
) -> Result<(), Error> {
    for node in nodes {
        let to = |leaf: &str| node.interfaces.iter().filter(|i| i.leaf.as_deref() == Some(leaf)).count();
        for i in &node.interfaces {
            let (Some(peer), Some(leaf)) = (i.peer, i.leaf.as_deref()) else { continue };
            let owner = if to(leaf) == 1 {
                format!("{leaf}/{}", node.node)
            } else {
                format!("{leaf}/{}/{}", node.node, i.name)
            };
            add(peer, owner)?;
        }
    }
    Ok(())
}

/// The plan's segments by network, to find the one holding an address.
struct Segments<'a> {
    sorted: Vec<(Ipv4Net, &'a str)>,
}

impl<'a> Segments<'a> {
    fn new(plan: &'a Plan) -> Segments<'a> {
        let mut sorted: Vec<(Ipv4Net, &str)> =
            plan.segments.iter().map(|s| (s.cidr, s.name.as_str())).collect();
        sorted.sort_by_key(|(net, _)| net.network());
        Segments { sorted }
    }

    /// Segments are disjoint (`Plan::check`): the one holding an address is the last that starts
    /// at or before it.
    fn holding(&self, address: Ipv4Addr) -> Option<&'a str> {
        let after = self.sorted.partition_point(|(net, _)| net.network() <= address);
        let (net, name) = *self.sorted.get(after.checked_sub(1)?)?;
        net.contains(&address).then_some(name)
    }
}
