//! Per-node addresses: every node on every segment, nothing given twice.

use std::collections::HashSet;

use ipam_plan::{Spec, assign, plan};

#[test]
fn every_node_gets_every_interface_once() {
    let mut plan = plan(&Spec::for_gpus(1024)).unwrap();
    assign(&mut plan).unwrap();
    plan.check().unwrap();
    let nodes = plan.assignments.as_ref().unwrap();
    assert_eq!(nodes.len(), 128);
    assert_eq!(nodes[127].node, "gpu-node-128");
    let mut seen = HashSet::new();
    for node in nodes {
        let names: Vec<&str> = node.interfaces.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "rail0", "rail1", "rail2", "rail3", "rail4", "rail5", "rail6", "rail7", "frontend",
                "storage0", "storage1", "bmc"
            ]
        );
        for i in &node.interfaces {
            assert!(seen.insert(i.address.addr()), "{} given twice", i.address);
            if let Some(peer) = i.peer {
                assert!(seen.insert(peer));
                assert_eq!(i.address.prefix_len(), 31);
                assert_eq!(u32::from(peer) % 2, 0, "the leaf takes the even address (RFC 3021)");
            }
        }
    }
}

#[test]
fn hosts_skip_the_gateway_and_the_vrr_pair() {
    let mut plan = plan(&Spec::for_gpus(8)).unwrap();
    assign(&mut plan).unwrap();
    let frontend = plan.segments.iter().find(|s| s.name == "frontend-su00").unwrap();
    let node = &plan.assignments.as_ref().unwrap()[0];
    let address = node.interfaces.iter().find(|i| i.name == "frontend").unwrap().address;
    assert_eq!(u32::from(address.addr()), u32::from(frontend.cidr.network()) + 4);
    assert_eq!(address.prefix_len(), frontend.cidr.prefix_len());
}

#[test]
fn a_count_set_below_the_nodes_is_an_error_when_assigning() {
    let spec = Spec::from_toml("gpus = 512\n[roles.frontend]\ncount = 3\ngrowth = 1.0").unwrap_err();
    assert!(matches!(spec, ipam_plan::Error::Spec { .. }), "growth is not a role key");
    let spec = Spec::from_toml("gpus = 512\ngrowth = 1.0\n[roles.frontend]\ncount = 3").unwrap();
    // An explicit count makes the role one cluster-wide segment of that size, hosts in node order.
    let mut plan = plan(&spec).unwrap();
    assert!(matches!(assign(&mut plan), Err(ipam_plan::Error::AssignmentShort { .. })));
}

#[test]
fn assigning_a_100k_gpu_p2p31_fabric_gives_200k_link_addresses() {
    let mut plan = plan(&Spec::for_gpus(100_000)).unwrap();
    assign(&mut plan).unwrap();
    let links: usize = plan
        .assignments
        .as_ref()
        .unwrap()
        .iter()
        .map(|n| n.interfaces.iter().filter(|i| i.peer.is_some()).count())
        .sum();
    assert_eq!(links, 100_000);
    plan.check().unwrap();
}

#[test]
fn counted_storage_with_port_subnets_gives_each_port_its_own_address() {
    let spec =
        Spec::from_toml("gpus = 64\nstorage_port_subnets = true\n[roles.storage]\ncount = 600").unwrap();
    let mut plan = plan(&spec).unwrap();
    assign(&mut plan).unwrap();
    plan.check().unwrap();
    let node = &plan.assignments.as_ref().unwrap()[0];
    let ports: Vec<_> =
        node.interfaces.iter().filter(|i| i.name.starts_with("storage")).map(|i| i.address).collect();
    assert_eq!(ports.len(), 2);
    assert_ne!(ports[0], ports[1]);
}
