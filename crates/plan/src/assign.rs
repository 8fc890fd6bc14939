//! Per-node addresses: every node's address on every segment it sits on.

use std::net::Ipv4Addr;

use ipam_core::Pool;
use ipnet::Ipv4Net;

use crate::model::{Interface, NodeAssignment, Plan, Segment};
use crate::{Error, Kind};

/// Adds `assignments` to `plan`: for node `gpu-node-001` onwards, its address on each backend rail
/// (on p2p31, the host's odd end of its /31 and the leaf's even end as `peer`), on the frontend, on
/// both storage ports and for its BMC. Hosts take the lowest free addresses of their segment in node
/// order, after the gateway and the switches' VRR pair.
///
/// ```
/// let mut plan = ipam_plan::plan(&ipam_plan::Spec::for_gpus(16))?;
/// ipam_plan::assign(&mut plan)?;
/// let node = &plan.assignments.as_ref().unwrap()[1];
/// assert_eq!(node.node, "gpu-node-002");
/// let rail0 = &node.interfaces[0];
/// assert_eq!(u32::from(rail0.address.addr()), u32::from(rail0.peer.unwrap()) + 1);
/// plan.check()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn assign(plan: &mut Plan) -> Result<(), Error> {
    let summary = &plan.summary;
    let (per_node, rails) = (summary.gpus_per_node.max(1), summary.rails.max(1));
    let mut rail_hosts = (0..rails)
        .map(|r| Hosts::new(&plan.segments, &format!("backend-rail-{r}")))
        .collect::<Result<Vec<_>, _>>()?;
    let mut frontend = Hosts::new(&plan.segments, "frontend")?;
    let mut storage = Hosts::new(&plan.segments, "storage")?;
    let mut oob = Hosts::new(&plan.segments, "oob")?;
    let mut nodes = Vec::with_capacity(usize::try_from(summary.nodes).unwrap_or(0));
    for n in 1..=summary.nodes {
        let node = format!("gpu-node-{n:03}");
        let mut interfaces = Vec::new();
        for k in 0..per_node {
            let (rail, lane) = (k % rails, k / rails);
            let name = if per_node <= rails { format!("rail{rail}") } else { format!("rail{rail}.{lane}") };
            interfaces.extend(rail_hosts[rail as usize].next(&name, &node)?);
        }
        interfaces.extend(frontend.next("frontend", &node)?);
        interfaces.extend(storage.next("storage0", &node)?);
        interfaces.extend(storage.next("storage1", &node)?);
        interfaces.extend(oob.next("bmc", &node)?);
        nodes.push(NodeAssignment { node, interfaces });
    }
    plan.assignments = Some(nodes);
    Ok(())
}

/// The free host addresses of one segment and its second prefixes, handed out in order.
struct Hosts {
    pools: Vec<(Pool, Kind, String)>,
}

impl Hosts {
    fn new(segments: &[Segment], family: &str) -> Result<Hosts, Error> {
        let pools = segments
            .iter()
            .filter(|s| s.family() == family)
            .map(|s| Ok((host_pool(s)?, s.kind, s.name.clone())))
            .collect::<Result<Vec<_>, Error>>()?;
        Ok(Hosts { pools })
    }

    /// The next interface, or nothing when the role is not in the plan at all.
    fn next(&mut self, name: &str, node: &str) -> Result<Option<Interface>, Error> {
        let Some((_, _, family)) = self.pools.first() else { return Ok(None) };
        let family = family.clone();
        for (pool, kind, segment) in &mut self.pools {
            let prefix_len = pool.network().prefix_len();
            let interface = |address: Ipv4Addr, peer| Interface {
                name: name.to_owned(),
                segment: segment.clone(),
                address: Ipv4Net::new(address, prefix_len).expect("a segment's own prefix length"),
                peer,
            };
            if *kind == Kind::Links {
                if let Ok(link) = pool.allocate_block(31) {
                    // RFC 3021: the leaf takes the even address, the host the odd one.
                    let host = Ipv4Addr::from(u32::from(link.network()) + 1);
                    let address = Ipv4Net::new(host, 31).expect("31 is a valid prefix length");
                    return Ok(Some(Interface { address, ..interface(host, Some(link.network())) }));
                }
            } else if let Ok(address) = pool.allocate() {
                return Ok(Some(interface(address, None)));
            }
        }
        Err(Error::AssignmentShort { segment: family, node: node.to_owned() })
    }
}

/// A pool over a segment with its reserved addresses (network, gateway, VRR pair, broadcast) taken out.
fn host_pool(segment: &Segment) -> Result<Pool, Error> {
    let mut builder = Pool::builder(segment.cidr).reserve_network_broadcast(segment.kind == Kind::Subnet);
    if let Some(gateway) = segment.gateway {
        for offset in 0..3 {
            let address = Ipv4Addr::from(u32::from(gateway).saturating_add(offset));
            if segment.cidr.contains(&address) {
                builder = builder.exclude(Ipv4Net::from(address));
            }
        }
    }
    Ok(builder.build()?)
}
