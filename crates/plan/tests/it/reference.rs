//! The worked sizes of the reference clusters in DESIGN.md (growth 1.0), NVIDIA's launch-kit
//! addressing, and the 100,000-GPU default.

use ipam_plan::{Kind, LeafEnd, Plan, Role, Spec, assign, plan};

fn segment<'a>(plan: &'a Plan, name: &str) -> &'a ipam_plan::Segment {
    plan.segments.iter().find(|s| s.name == name).unwrap_or_else(|| panic!("no segment {name}"))
}

fn aggregate(plan: &Plan, name: &str) -> u8 {
    plan.aggregates
        .iter()
        .find(|a| a.name == name)
        .unwrap_or_else(|| panic!("no aggregate {name}"))
        .cidr
        .prefix_len()
}

fn at_growth_1(gpus: u32) -> Plan {
    let spec = Spec { growth: 1.0, ..Spec::for_gpus(gpus) };
    let plan = plan(&spec).unwrap();
    plan.check().unwrap();
    plan
}

fn planned(plan: &Plan, role: Role) -> u64 {
    plan.summary.roles.iter().find(|r| r.role == role).map_or(0, |r| r.planned)
}

#[test]
fn one_scalable_unit_256_gpus() {
    let plan = at_growth_1(256);
    assert_eq!(aggregate(&plan, "backend"), 23, "backend: 512 addresses");
    assert_eq!(segment(&plan, "backend-su00-rail0").cidr.prefix_len(), 26, "a /26 per rail");
    assert_eq!(segment(&plan, "frontend-su00").cidr.prefix_len(), 26);
    assert_eq!(segment(&plan, "storage-su00").cidr.prefix_len(), 25);
    assert_eq!(segment(&plan, "oob-su00").cidr.prefix_len(), 25);
    assert_eq!(planned(&plan, Role::Loopback), 12, "8 leaves and 4 spines");
    assert_eq!(plan.summary.gpu_headroom, Some(0), "growth 1: nothing reserved");
}

#[test]
fn four_scalable_units_1024_gpus() {
    let plan = at_growth_1(1024);
    assert_eq!(aggregate(&plan, "backend"), 21, "backend: 2,048 addresses");
    assert_eq!(aggregate(&plan, "backend-rail7"), 24, "a /24 per rail");
    assert_eq!(segment(&plan, "backend-su03-rail7").cidr.prefix_len(), 26, "a /26 per (SU, rail) leaf");
    assert_eq!(aggregate(&plan, "frontend"), 24);
    assert_eq!(aggregate(&plan, "storage"), 23);
    assert_eq!(aggregate(&plan, "oob"), 23);
    assert_eq!(planned(&plan, Role::Loopback), 48);
    assert!((130..=150).contains(&planned(&plan, Role::Frontend)), "in-band ~140");
    assert!((260..=290).contains(&planned(&plan, Role::Storage)), "storage ~275");
    assert!((265..=290).contains(&planned(&plan, Role::Oob)), "OOB ~280");
}

#[test]
fn sixty_four_scalable_units_16384_gpus() {
    let plan = at_growth_1(16_384);
    assert_eq!(aggregate(&plan, "backend"), 17, "backend: 32,768 addresses");
    assert_eq!(aggregate(&plan, "backend-rail0"), 20, "a /20 per rail");
    assert_eq!(aggregate(&plan, "backend-rail0-pod07"), 23, "a pod of 8 SUs per rail");
    assert_eq!(planned(&plan, Role::Loopback), 1_280, "512 leaves, 512 spines, 256 super-spines");
    let tiers = |t: &str| plan.switches.iter().filter(|s| s.tier == t).count();
    assert_eq!((tiers("leaf"), tiers("spine"), tiers("superspine")), (512, 512, 256));
    let numbered =
        Spec { growth: 1.0, fabric_links: ipam_plan::FabricLinks::P2p31, ..Spec::for_gpus(16_384) };
    let numbered = ipam_plan::plan(&numbered).unwrap();
    numbered.check().unwrap();
    let fabric: u64 = numbered.segments.iter().filter(|s| s.role == Role::Fabric).map(|s| s.usable).sum();
    assert_eq!(fabric, 65_536, "32,768 numbered links need a /16");
    assert_eq!(numbered.links.len(), 32_768);
    assert!(numbered.segments.iter().filter(|s| s.role == Role::Fabric).all(|s| s.mtu == 9216));
}

#[test]
fn launch_kit_numbering_puts_the_host_on_the_even_end_by_position() {
    // NVIDIA k8s-launch-kit (spectrumx/addressing.go): host = block | index << 1, leaf = host | 1,
    // in one block per (rail, SU).
    let spec = Spec { leaf_end: LeafEnd::Odd, ..Spec::for_gpus(512) };
    let mut plan = plan(&spec).unwrap();
    assign(&mut plan).unwrap();
    plan.check().unwrap();
    for (n, node) in plan.assignments.as_ref().unwrap().iter().enumerate() {
        let (su, index) = (n / 32, n % 32);
        for rail in 0..8 {
            let nic = &node.interfaces[rail];
            let block = segment(&plan, &format!("backend-su{su:02}-rail{rail}")).cidr.network();
            assert_eq!(u32::from(nic.address.addr()), u32::from(block) | (index as u32) << 1);
            assert_eq!(u32::from(nic.peer.unwrap()), u32::from(nic.address.addr()) | 1);
        }
    }
}

#[test]
fn a_100k_gpu_cluster_has_no_large_broadcast_domain_and_fits_a_slash_8() {
    let plan = plan(&Spec::for_gpus(100_000)).unwrap();
    plan.check().unwrap();
    assert_eq!(plan.base.to_string(), "10.0.0.0/8");
    for s in plan.segments.iter().filter(|s| s.kind == Kind::Subnet) {
        assert!(s.planned <= 1024, "{} plans {} addresses in one L2 segment", s.name, s.planned);
    }
    assert!(plan.aggregates.iter().any(|a| a.name == "backend-rail0-pod48"), "49 pods");
    assert!(ipam_plan::render::table(&plan).lines().count() <= 60);
}

#[test]
fn default_growth_doubles_the_su_slots() {
    let once = at_growth_1(1024);
    let twice = plan(&Spec::for_gpus(1024)).unwrap();
    assert_eq!(aggregate(&twice, "backend") + 1, aggregate(&once, "backend"));
    assert_eq!(
        segment(&twice, "storage-su00").cidr.prefix_len(),
        segment(&once, "storage-su00").cidr.prefix_len()
    );
    assert_eq!(twice.summary.gpu_headroom, Some(1024));
}

#[test]
fn subnet_per_rail_gives_each_rail_a_vlan_reused_in_every_su() {
    let spec =
        Spec::from_toml("gpus = 512\nbackend_addressing = \"subnet-per-rail\"\n[roles.backend]\nvlan = 200")
            .unwrap();
    let plan = plan(&spec).unwrap();
    plan.check().unwrap();
    for su in 0..2 {
        for rail in 0..8 {
            let s = segment(&plan, &format!("backend-su{su:02}-rail{rail}"));
            assert_eq!(s.vlan.unwrap().get(), 200 + rail as u16);
            assert_eq!(s.gateway.unwrap(), std::net::Ipv4Addr::from(u32::from(s.cidr.network()) + 1));
            assert!(s.usable >= 32);
        }
    }
}

#[test]
fn vlan_scope_unique_gives_every_segment_its_own_id() {
    let spec = Spec::from_toml("gpus = 1024\nvlan_scope = \"unique\"\n[roles.storage]\nvlan = 122").unwrap();
    let plan = plan(&spec).unwrap();
    plan.check().unwrap();
    let storage: Vec<u16> =
        (0..4).map(|su| segment(&plan, &format!("storage-su{su:02}")).vlan.unwrap().get()).collect();
    assert_eq!(storage, [122, 123, 124, 125], "counting up from the explicit id");
    let ids: std::collections::HashSet<_> = plan.segments.iter().filter_map(|s| s.vlan).collect();
    assert_eq!(ids.len(), plan.segments.iter().filter(|s| s.vlan.is_some()).count());
}

#[test]
fn rack_scope_and_storage_port_subnets() {
    let spec = Spec::from_toml("gpus = 256\nl2_scope = \"rack\"\nstorage_port_subnets = true").unwrap();
    let mut plan = plan(&spec).unwrap();
    assign(&mut plan).unwrap();
    plan.check().unwrap();
    assert!(segment(&plan, "storage-su00-rack7-port1").scope.rack == Some(7));
    let node = &plan.assignments.as_ref().unwrap()[5];
    let storage: Vec<&str> = node
        .interfaces
        .iter()
        .filter(|i| i.name.starts_with("storage"))
        .map(|i| i.segment.as_str())
        .collect();
    assert_eq!(storage, ["storage-su00-rack1-port0", "storage-su00-rack1-port1"]);
    assert!(!plan.summary.warnings.iter().any(|w| w.contains("arp_ignore")));
}

#[test]
fn edge_fleet_of_10000_cameras_over_40_sites() {
    let mut text = String::from("growth = 1.5\n");
    for i in 0..40 {
        text.push_str(&format!("[[site]]\nname = \"site-{i:02}\"\ndevices = 250\n"));
    }
    let plan = plan(&Spec::from_toml(&text).unwrap()).unwrap();
    plan.check().unwrap();
    assert_eq!(plan.segments.len(), 120, "devices, management and uplink per site");
    assert_eq!(plan.aggregates.len(), 40, "one block per site");
    let devices: Vec<_> =
        plan.segments.iter().filter(|s| !s.name.contains("-mgmt") && !s.name.contains("-uplink")).collect();
    assert!(devices.iter().all(|s| s.role == Role::Site && s.cidr.prefix_len() == 23 && s.vlan.is_some()));
    // Template VLANs: every site uses the same ids, unique within a site.
    let vlans: std::collections::BTreeSet<u16> =
        plan.segments.iter().filter_map(|s| s.vlan.map(|v| v.get())).collect();
    assert_eq!(vlans.len(), 2);
    let uplinks = plan.segments.iter().filter(|s| s.name.ends_with("-uplink"));
    assert!(
        uplinks.clone().count() == 40
            && uplinks.into_iter().all(|s| s.cidr.prefix_len() == 31 && s.vlan.is_none())
    );
    assert_eq!(plan.summary.gpu_headroom, None);
}

#[test]
fn five_thousand_sites_in_fifty_regions() {
    let mut text = String::from("growth = 1.5\n");
    for i in 0..5_000 {
        text.push_str(&format!(
            "[[site]]\nname = \"cam-{i:04}\"\ndevices = 2\nregion = \"r{:02}\"\n",
            i / 100
        ));
    }
    let plan = plan(&Spec::from_toml(&text).unwrap()).unwrap();
    let regions: Vec<_> = plan.aggregates.iter().filter(|a| a.scope.site.is_none()).collect();
    assert_eq!(regions.len(), 50);
    for site in plan.aggregates.iter().filter(|a| a.scope.site.is_some()) {
        let region = regions.iter().find(|r| r.cidr.contains(&site.cidr)).unwrap();
        assert_eq!(region.scope.region, site.scope.region, "{} is in its own region's block", site.name);
    }
    let table = ipam_plan::render::table(&plan);
    assert!(table.lines().count() <= 60, "{table}");
    assert!(table.contains("region-r49") && table.contains("100 sites"));
    let detail = ipam_plan::render::table_detail(&plan);
    assert!(detail.contains("cam-4999-uplink"));
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
    let frontend = plan.aggregates.iter().find(|a| a.name == "frontend").unwrap();
    assert_eq!(frontend.cidr.to_string(), "10.200.0.0/24");
    assert_eq!(segment(&plan, "frontend-su00").vlan.unwrap().get(), 121);
    let storage = segment(&plan, "storage-su00");
    assert_eq!((storage.vlan.unwrap().get(), storage.mtu), (122, 9216));
}

#[test]
fn a_public_base_is_a_warning_not_an_error() {
    let spec = Spec::from_toml("gpus = 64\nbase = \"8.0.0.0/16\"").unwrap();
    let plan = plan(&spec).unwrap();
    assert!(plan.summary.warnings.iter().any(|w| w.contains("8.0.0.0/16")));
}

#[test]
fn the_map_names_every_aggregate() {
    for gpus in [1024, 16_384, 100_000] {
        let plan = plan(&Spec::for_gpus(gpus)).unwrap();
        let svg = ipam_plan::render::svg(&plan);
        for a in &plan.aggregates {
            assert!(svg.contains(&format!(">{} {}<", a.name, a.cidr)), "{gpus} GPUs: {} missing", a.name);
        }
        // The outermost ones are in the visible legend too, not only in tooltips.
        for name in ["backend", "frontend", "storage", "oob"] {
            let a = plan.aggregates.iter().find(|a| a.name == name).unwrap();
            assert!(
                svg.contains(&format!("\">{} {}</text>", a.name, a.cidr)),
                "{gpus} GPUs: {name} not in the legend"
            );
        }
    }
}
