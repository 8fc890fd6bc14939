//! Per-node addresses, fixed by each node's position: node `n` is node `n mod nodes_per_su` of
//! SU `n / nodes_per_su`, and every address it gets follows from that alone.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use crate::layout::Gen;
use crate::model::{Interface, NodeAssignment, Plan, Segment, Topology};
use crate::position::{Device, FIRST_HOST, l2_place};
use crate::spec::{BackendAddressing, Numbering, RoleSpec, Spec};
use crate::switches::leaf_name;
use crate::topology::{Figures, L2Role};
use crate::{Error, Kind, Role};

/// Adds `assignments` to a plan this version made: for node `gpu-node-001` onwards, its address
/// on each backend rail (on p2p31 the host's end of its /31, the leaf's end as `peer` and the
/// leaf's name as `leaf`), on the frontend, on both storage ports and for its BMC; then every
/// edge site's devices (`store-01-dev001`, interface `eth0`, from host 4 of the site's segment). Every address
/// follows from the node's position (its SU and its index in the SU), so growing the cluster
/// never changes a node's addresses.
///
/// ```
/// let mut plan = ipam_plan::plan(&ipam_plan::Spec::for_gpus(16))?;
/// ipam_plan::assign(&mut plan)?;
/// let node = &plan.assignments.as_ref().unwrap()[1];
/// assert_eq!(node.node, "gpu-node-002");
/// let rail0 = &node.interfaces[0];
/// assert_eq!(u32::from(rail0.address.addr()), u32::from(rail0.peer.unwrap()) + 1); // leaf even
/// assert_eq!(rail0.leaf.as_deref(), Some("leaf-su00-rail0"));
/// plan.check()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn assign(plan: &mut Plan) -> Result<(), Error> {
    let Some(topology) = plan.topology.as_ref() else {
        return Err(Error::Previous {
            reason: "per-node assignment needs a schema 2 plan (plan it afresh)".into(),
        });
    };
    let spec = spec_of(topology, plan.summary.gpus);
    let f = Figures::new(&spec);
    let gens = Gen::all(&topology.generations, &f);
    let segments: HashMap<&str, &Segment> = plan.segments.iter().map(|s| (s.name.as_str(), s)).collect();
    let l2 = f.l2_roles(&spec);
    let role = |name: &str| l2.iter().find(|r| r.name == name);
    let mut nodes = Vec::with_capacity(usize::try_from(f.nodes).unwrap_or(0));
    for n in 0..f.nodes {
        let su = u32::try_from(n / u64::from(f.nodes_per_su)).unwrap_or(u32::MAX);
        let index = (n % u64::from(f.nodes_per_su)) as u32;
        let g = gens.iter().find(|g| g.first <= su && u64::from(su) < u64::from(g.base) + u64::from(g.slots));
        let g = g.ok_or_else(|| Error::AssignmentShort { segment: "backend".into(), node: node_name(n) })?;
        let node = node_name(n);
        let mut interfaces = Vec::with_capacity(f.per_node as usize + 4);
        for k in 0..f.per_node {
            interfaces.push(backend(&spec, &f, &segments, su, index, k, &node)?);
        }
        let mut on = |name: &str,
                      l2: Option<&L2Role>,
                      role: Role,
                      port: u32,
                      per_node: u64|
         -> Result<(), Error> {
            let (segment, offset) = match l2 {
                Some(l2) => {
                    l2_place(&spec, &f, g, l2, su, Device::Node { index, port: port.min(l2.per_node - 1) })
                }
                None if topology.counted.contains(&role) => {
                    (role.as_str().to_owned(), FIRST_HOST + n * per_node + u64::from(port))
                }
                None => return Ok(()),
            };
            interfaces.push(host(&segments, &segment, offset, name, &node)?);
            Ok(())
        };
        on("frontend", role("frontend"), Role::Frontend, 0, 1)?;
        if spec.storage_port_subnets {
            on("storage0", role("storage-port0"), Role::Storage, 0, 2)?;
            on("storage1", role("storage-port1"), Role::Storage, 1, 2)?;
        } else {
            on("storage0", role("storage"), Role::Storage, 0, 2)?;
            on("storage1", role("storage"), Role::Storage, 1, 2)?;
        }
        on("bmc", role("oob"), Role::Oob, 0, 1)?;
        nodes.push(NodeAssignment { node, scope: g.su_scope(&f, su), interfaces });
    }
    nodes.extend(crate::edge::devices(plan));
    plan.assignments = Some(nodes);
    Ok(())
}

fn node_name(n: u64) -> String {
    format!("gpu-node-{:03}", n + 1)
}

/// The spec settings a plan records, enough to find every position again.
fn spec_of(t: &Topology, gpus: u32) -> Spec {
    let counted =
        |role: Role| RoleSpec { count: t.counted.contains(&role).then_some(0), ..RoleSpec::default() };
    let mut spec = Spec {
        gpus,
        gpus_per_node: t.gpus_per_node,
        rails: Some(t.rails),
        nodes_per_su: t.nodes_per_su,
        sus_per_pod: t.sus_per_pod,
        nodes_per_rack: t.nodes_per_rack,
        backend_addressing: t.backend_addressing,
        fabric_links: t.fabric_links,
        leaf_end: t.leaf_end,
        numbering: t.numbering,
        l2_scope: t.l2_scope,
        vlan_scope: t.vlan_scope,
        storage_port_subnets: t.storage_port_subnets,
        ..Spec::default()
    };
    spec.roles.frontend = counted(Role::Frontend);
    spec.roles.storage = counted(Role::Storage);
    spec.roles.oob = counted(Role::Oob);
    spec
}

/// NIC `k` of node `index` of SU `su` on the backend.
fn backend(
    spec: &Spec,
    f: &Figures,
    segments: &HashMap<&str, &Segment>,
    su: u32,
    index: u32,
    k: u32,
    node: &str,
) -> Result<Interface, Error> {
    let (rail, lane) = (k % f.rails, k / f.rails);
    let name = if f.per_node <= f.rails { format!("rail{rail}") } else { format!("rail{rail}.{lane}") };
    let (segment, slot) = match spec.numbering {
        Numbering::Rail => {
            (format!("backend-su{su:02}-rail{rail}"), u64::from(index) * u64::from(f.lanes) + u64::from(lane))
        }
        Numbering::Server => {
            (format!("backend-su{su:02}"), u64::from(index) * u64::from(f.per_node) + u64::from(k))
        }
    };
    if spec.backend_addressing == BackendAddressing::SubnetPerRail {
        return host(segments, &segment, FIRST_HOST + slot, &name, node);
    }
    let s = segments.get(segment.as_str()).ok_or_else(|| short(&segment, node))?;
    let link = u64::from(u32::from(s.cidr.network())) + 2 * slot;
    let switch =
        u32::try_from(link + u64::from(spec.leaf_end.switch_offset())).map_err(|_| short(&segment, node))?;
    let host_end = switch ^ 1;
    if !s.cidr.contains(&Ipv4Addr::from(switch)) {
        return Err(short(&segment, node));
    }
    Ok(Interface {
        name,
        segment,
        address: Ipv4Net::new(Ipv4Addr::from(host_end), 31).expect("31 is a valid prefix length"),
        peer: Some(Ipv4Addr::from(switch)),
        leaf: Some(leaf_name(su, rail)),
    })
}

/// Host offset `offset` of a VLAN segment, refusing the broadcast address and beyond.
fn host(
    segments: &HashMap<&str, &Segment>,
    segment: &str,
    offset: u64,
    name: &str,
    node: &str,
) -> Result<Interface, Error> {
    let s = segments.get(segment).ok_or_else(|| short(segment, node))?;
    let size = 1u64 << (32 - u32::from(s.cidr.prefix_len()));
    let last = if s.kind == Kind::Subnet { size.saturating_sub(2) } else { size - 1 };
    if offset > last {
        return Err(short(segment, node));
    }
    let address = Ipv4Addr::from(u32::from(s.cidr.network()) + offset as u32);
    Ok(Interface {
        name: name.to_owned(),
        segment: segment.to_owned(),
        address: Ipv4Net::new(address, s.cidr.prefix_len()).expect("the segment's prefix length"),
        peer: None,
        leaf: None,
    })
}

fn short(segment: &str, node: &str) -> Error {
    Error::AssignmentShort { segment: segment.to_owned(), node: node.to_owned() }
}
