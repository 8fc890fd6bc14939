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

use crate::spec::{Anycast, BackendAddressing, FabricLinks, Site, Spec};

/// A valid spec with a GPU count in `gpus`, random topology settings, growth, sites and anycast
/// endpoints. GPU counts up to 40,000 always fit the default base, even with numbered fabric
/// links, 2 GPUs per node and 3x growth.
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
    );
    let addressing = (
        prop_oneof![Just(BackendAddressing::P2p31), Just(BackendAddressing::SubnetPerRail)],
        prop_oneof![Just(FabricLinks::Unnumbered), Just(FabricLinks::P2p31)],
        prop_oneof![Just(2.0f64), Just(1.0), Just(1.25), Just(1.5), Just(3.0)],
    );
    let sites = proptest::collection::vec(0..=1000u64, 0..4);
    let anycast = 0..4usize;
    (topology, addressing, sites, anycast).prop_map(
        |((gpus, gpus_per_node, nodes_per_su, rails), (backend, fabric, growth), sites, anycast)| Spec {
            gpus,
            gpus_per_node,
            nodes_per_su,
            rails,
            backend_addressing: backend,
            fabric_links: fabric,
            growth,
            sites: sites
                .into_iter()
                .enumerate()
                .map(|(i, devices)| Site {
                    name: format!("site-{i:02}"),
                    devices,
                    vlan: None,
                    mtu: None,
                    prefix: None,
                })
                .collect(),
            anycast: (0..anycast).map(|i| Anycast { name: format!("endpoint-{i}") }).collect(),
            ..Spec::default()
        },
    )
}
