//! The worked sizes of the reference clusters in DESIGN.md (growth 1.0), and what the default
//! growth of 2.0 makes of them.

use ipam_plan::{Kind, Plan, Role, Spec, plan};

fn prefix(plan: &Plan, name: &str) -> u8 {
    plan.segments
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no segment {name}"))
        .cidr
        .prefix_len()
}

fn at_growth_1(gpus: u32) -> Plan {
    let spec = Spec { growth: 1.0, ..Spec::for_gpus(gpus) };
    let plan = plan(&spec).unwrap();
    plan.check().unwrap();
    plan
}

#[test]
fn one_scalable_unit_256_gpus() {
    let plan = at_growth_1(256);
    assert_eq!(plan.aggregates[0].cidr.prefix_len(), 23, "backend: 512 addresses");
    assert_eq!(prefix(&plan, "backend-rail-0"), 26);
    assert_eq!(prefix(&plan, "frontend"), 26);
    assert_eq!(prefix(&plan, "storage"), 25);
    assert_eq!(prefix(&plan, "oob"), 25);
    assert_eq!(prefix(&plan, "loopback"), 28);
}

#[test]
fn four_scalable_units_1024_gpus() {
    let plan = at_growth_1(1024);
    assert_eq!(plan.aggregates[0].cidr.prefix_len(), 21, "backend: 2,048 addresses");
    assert_eq!(prefix(&plan, "backend-rail-7"), 24);
    assert_eq!(prefix(&plan, "frontend"), 24);
    assert_eq!(prefix(&plan, "storage"), 23);
    assert_eq!(prefix(&plan, "oob"), 23);
    assert_eq!(prefix(&plan, "loopback"), 26);
    let planned = |name: &str| plan.segments.iter().find(|s| s.name == name).unwrap().planned;
    assert!((130..=150).contains(&planned("frontend")), "in-band ~140");
    assert!((260..=290).contains(&planned("storage")), "storage ~275");
    assert!((265..=290).contains(&planned("oob")), "OOB ~280");
}

#[test]
fn sixty_four_scalable_units_16384_gpus() {
    let plan = at_growth_1(16_384);
    assert_eq!(plan.aggregates[0].cidr.prefix_len(), 17, "backend: 32,768 addresses");
    assert_eq!(prefix(&plan, "backend-rail-0"), 20);
    assert_eq!(prefix(&plan, "loopback"), 21, "1,280 switches");
    let numbered =
        Spec { growth: 1.0, fabric_links: ipam_plan::FabricLinks::P2p31, ..Spec::for_gpus(16_384) };
    assert_eq!(prefix(&ipam_plan::plan(&numbered).unwrap(), "fabric"), 16, "numbered links need a /16");
}

#[test]
fn default_growth_doubles_every_segment() {
    let once = at_growth_1(1024);
    let twice = plan(&Spec::for_gpus(1024)).unwrap();
    for s in &once.segments {
        assert_eq!(prefix(&twice, &s.name) + 1, s.cidr.prefix_len(), "{}", s.name);
    }
    assert!(twice.summary.gpu_headroom.unwrap() >= 1024);
}

#[test]
fn rails_are_one_aligned_route_and_jumbo() {
    let plan = plan(&Spec::for_gpus(4096)).unwrap();
    let aggregate = plan.aggregates[0].cidr;
    assert_eq!(aggregate.trunc(), aggregate);
    let rails: Vec<_> = plan.segments.iter().filter(|s| s.role == Role::Backend).collect();
    assert_eq!(rails.len(), 8);
    for r in rails {
        assert!(aggregate.contains(&r.cidr));
        assert_eq!((r.kind, r.vlan, r.gateway, r.mtu), (Kind::Links, None, None, 9000));
    }
}

#[test]
fn subnet_per_rail_gives_each_rail_a_vlan_and_gateway() {
    let spec =
        Spec::from_toml("gpus = 512\nbackend_addressing = \"subnet-per-rail\"\n[roles.backend]\nvlan = 200")
            .unwrap();
    let plan = plan(&spec).unwrap();
    plan.check().unwrap();
    let rails: Vec<_> = plan.segments.iter().filter(|s| s.role == Role::Backend).collect();
    for (i, r) in rails.iter().enumerate() {
        assert_eq!(r.vlan.unwrap().get(), 200 + i as u16);
        assert_eq!(r.gateway.unwrap(), std::net::Ipv4Addr::from(u32::from(r.cidr.network()) + 1));
        assert!(r.usable >= 2 * 64, "64 nodes' NICs with 2x growth");
    }
}

#[test]
fn edge_fleet_of_10000_cameras_over_40_sites() {
    let mut text = String::from("growth = 1.5\n");
    for i in 0..40 {
        text.push_str(&format!("[[site]]\nname = \"site-{i:02}\"\ndevices = 250\n"));
    }
    let plan = plan(&Spec::from_toml(&text).unwrap()).unwrap();
    plan.check().unwrap();
    assert_eq!(plan.segments.len(), 40);
    assert!(
        plan.segments.iter().all(|s| s.role == Role::Site && s.cidr.prefix_len() == 23 && s.vlan.is_some())
    );
    assert_eq!(plan.summary.gpu_headroom, None);
}

#[test]
fn anycast_endpoints_get_a_slash_32_each_without_reservations() {
    let spec = Spec::from_toml("[[anycast]]\nname = \"chat\"\n[[anycast]]\nname = \"embed\"").unwrap();
    let plan = plan(&spec).unwrap();
    let block = plan.segments.iter().find(|s| s.role == Role::Anycast).unwrap();
    assert_eq!(block.usable, 4, "2 endpoints with 2x growth, nothing reserved");
    assert_eq!(plan.anycast[0].address, block.cidr.network(), "the network address is usable");
    assert_ne!(plan.anycast[0].address, plan.anycast[1].address);
}

#[test]
fn explicit_prefixes_and_vlans_are_kept() {
    let spec = Spec::from_toml(
        "gpus = 256\n[roles.frontend]\nvlan = 121\nprefix = \"10.200.0.0/24\"\n[roles.storage]\nvlan = 122\nmtu = 9216\n",
    )
    .unwrap();
    let plan = plan(&spec).unwrap();
    let frontend = plan.segments.iter().find(|s| s.name == "frontend").unwrap();
    assert_eq!((frontend.cidr.to_string(), frontend.vlan.unwrap().get()), ("10.200.0.0/24".into(), 121));
    let storage = plan.segments.iter().find(|s| s.name == "storage").unwrap();
    assert_eq!((storage.vlan.unwrap().get(), storage.mtu), (122, 9216));
    // Automatic VLANs skip the taken ones.
    assert!(
        plan.segments
            .iter()
            .filter_map(|s| s.vlan)
            .all(|v| v.get() == 121 || v.get() == 122 || v.get() >= 100)
    );
}

#[test]
fn a_public_base_is_a_warning_not_an_error() {
    let spec = Spec::from_toml("gpus = 64\nbase = \"8.0.0.0/16\"").unwrap();
    let plan = plan(&spec).unwrap();
    assert_eq!(plan.summary.warnings.len(), 1);
    assert!(plan.summary.warnings[0].contains("8.0.0.0/16"));
}
