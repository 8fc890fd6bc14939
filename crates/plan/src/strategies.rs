//! proptest strategies for valid cluster specs (feature `proptest`).
//!
//! Use them to property-test code that consumes plans: every spec drawn here plans without error
//! in its `10.0.0.0/8` base, and shrinks towards fewer GPUs, no sites and the default settings.
//!
//! ```
//! use ipam_plan::{plan, strategies};
//! use proptest::prelude::*;
//!
//! proptest!(ProptestConfig::with_cases(16), |(spec in strategies::spec(0..=4096))| {
//!     let plan = plan(&spec).unwrap();
//!     prop_assert_eq!(plan.check(), Ok(()));
//! });
//! ```

use std::ops::RangeInclusive;

use proptest::prelude::*;

use crate::spec::{
    Anycast, BackendAddressing, FabricLinks, L2Scope, LeafEnd, Numbering, Site, Spec, VlanScope,
};

/// VLAN ids a drawn spec may use under `vlan_scope = "unique"` (the default range holds 3,900).
const UNIQUE_VLAN_BUDGET: u64 = 3_000;

/// A valid spec with a GPU count in `gpus`, random topology settings (GPUs per node, nodes per
/// SU, rails, SUs per pod, nodes per rack, `leaf_end`, `numbering`, `l2_scope`, `vlan_scope`,
/// storage port subnets), addressing, growth, sites and anycast endpoints. GPU counts up to
/// 40,000 always fit the default base. A `"unique"` VLAN scope is drawn only where the plan's
/// segments fit the default VLAN range.
///
/// ```
/// use proptest::strategy::{Strategy, ValueTree};
/// use proptest::test_runner::TestRunner;
///
/// let spec = ipam_plan::strategies::spec(1..=64).new_tree(&mut TestRunner::default()).unwrap().current();
/// assert!((1..=64).contains(&spec.gpus));
/// ```
pub fn spec(gpus: RangeInclusive<u32>) -> impl Strategy<Value = Spec> {
    let topology = (
        gpus,
        prop_oneof![Just(8u32), Just(4), Just(2)],
        prop_oneof![Just(32u32), 16..=64u32],
        prop_oneof![Just(None), Just(Some(1u32)), (1..=8u32).prop_map(Some)],
        prop_oneof![Just(8u32), Just(1), Just(2), Just(4)],
        prop_oneof![Just(4u32), 1..=8u32],
    );
    let addressing = (
        prop_oneof![Just(BackendAddressing::P2p31), Just(BackendAddressing::SubnetPerRail)],
        prop_oneof![Just(FabricLinks::Unnumbered), Just(FabricLinks::P2p31)],
        prop_oneof![Just(2.0f64), Just(1.0), Just(1.25), Just(1.5), Just(3.0)],
        prop_oneof![Just(LeafEnd::Even), Just(LeafEnd::Odd)],
        prop_oneof![Just(Numbering::Rail), Just(Numbering::Server)],
    );
    let layer2 = (
        prop_oneof![Just(L2Scope::Su), Just(L2Scope::Rack), Just(L2Scope::Cluster)],
        prop_oneof![Just(VlanScope::Template), Just(VlanScope::Unique)],
        any::<bool>(),
    );
    let sites = proptest::collection::vec(0..=1000u64, 0..4);
    let anycast = 0..4usize;
    (topology, addressing, layer2, sites, anycast).prop_map(
        |(
            (gpus, gpus_per_node, nodes_per_su, rails, sus_per_pod, nodes_per_rack),
            (backend, fabric, growth, leaf_end, numbering),
            (l2_scope, vlan_scope, storage_port_subnets),
            sites,
            anycast,
        )| {
            let mut spec = Spec {
                gpus,
                gpus_per_node,
                nodes_per_su,
                rails,
                sus_per_pod,
                nodes_per_rack: nodes_per_rack.min(nodes_per_su),
                backend_addressing: backend,
                fabric_links: fabric,
                growth,
                leaf_end,
                numbering: if backend == BackendAddressing::P2p31 { numbering } else { Numbering::Rail },
                l2_scope,
                vlan_scope,
                storage_port_subnets,
                sites: sites
                    .into_iter()
                    .enumerate()
                    .map(|(i, devices)| Site {
                        name: format!("site-{i:02}"),
                        devices,
                        vlan: None,
                        mtu: None,
                        prefix: None,
                        // Some sites in regions, some alone; both uplinks.
                        region: (i % 3 != 0).then(|| format!("r{}", i % 2)),
                        mgmt: None,
                        uplink: if i % 4 == 1 { crate::Uplink::Loopback } else { crate::Uplink::P2p31 },
                    })
                    .collect(),
                anycast: (0..anycast).map(|i| Anycast { name: format!("endpoint-{i}") }).collect(),
                ..Spec::default()
            };
            if vlan_segments(&spec) > UNIQUE_VLAN_BUDGET {
                spec.vlan_scope = VlanScope::Template;
            }
            spec
        },
    )
}

/// An upper bound on the VLAN segments of a spec's plan.
fn vlan_segments(spec: &Spec) -> u64 {
    let nodes = u64::from(spec.gpus).div_ceil(u64::from(spec.gpus_per_node));
    let sus = nodes.div_ceil(u64::from(spec.nodes_per_su));
    let per_su_domains = match spec.l2_scope {
        L2Scope::Su => 1,
        L2Scope::Rack => u64::from(spec.nodes_per_su.div_ceil(spec.nodes_per_rack)),
        L2Scope::Cluster => 0,
    };
    let rails =
        if spec.backend_addressing == BackendAddressing::SubnetPerRail { u64::from(spec.rails()) } else { 0 };
    let pods = sus.div_ceil(u64::from(spec.sus_per_pod));
    sus * (4 * per_su_domains + rails) + 3 * pods + 16 + spec.sites.len() as u64
}
