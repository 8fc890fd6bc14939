//! Random operation sequences on pools of every prefix length, checked against [`Model`] after every
//! step: same results, same errors, same counts, same free space, and the pool's own invariants.
//! The check itself is in `differential.rs`, shared with the `pool_ops` fuzz target.

use ipam_core::Policy;
use ipam_core::strategies;
use ipnet::Ipv4Net;
use proptest::prelude::*;

use crate::differential::{Config, Ctx, TestOp, run};

fn config() -> impl Strategy<Value = Config> {
    let prefix_len = prop_oneof![
        4 => 22u8..=32,
        2 => 12u8..=21,
        1 => 0u8..=11,
    ];
    let policy = prop_oneof![Just(Policy::FirstFit), Just(Policy::BestFit), Just(Policy::RoundRobin)];
    (
        prefix_len,
        any::<u32>(),
        any::<bool>(),
        any::<bool>(),
        prop::collection::vec(any::<(u64, u8)>(), 0..3),
        policy,
    )
        .prop_map(|(prefix_len, base_seed, network_broadcast, gateway, exclusions, policy)| Config {
            prefix_len,
            base_seed,
            network_broadcast,
            gateway,
            exclusions,
            policy,
        })
}

fn test_ops(net: Ipv4Net) -> impl Strategy<Value = Vec<TestOp>> {
    let one = prop_oneof![
        5 => strategies::op(net).prop_map(TestOp::Kit),
        2 => any::<usize>().prop_map(TestOp::ReleaseAllocated),
        1 => (any::<usize>(), any::<u8>()).prop_map(|(n, seed)| TestOp::ReleaseBlockAround(n, seed)),
    ];
    prop::collection::vec(one, 1..48)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    #[test]
    fn pool_agrees_with_model((config, ops) in config().prop_flat_map(|config| {
        let net = Ctx::new(&config).net;
        (Just(config), test_ops(net))
    })) {
        run(config, ops, 1).map_err(TestCaseError::fail)?;
    }
}
