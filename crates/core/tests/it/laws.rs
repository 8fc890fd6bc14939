//! The laws of `ipam_core::invariants`, on pools and operation sequences from
//! `ipam_core::strategies`: the same kit users get.

use std::net::Ipv4Addr;

use ipam_core::invariants::{self, Violation};
use ipam_core::strategies::{Outcome, Shape, ops, pool};
use ipam_core::{Pool, PoolStats};
use ipnet::Ipv4Net;
use proptest::prelude::*;

fn shape() -> impl Strategy<Value = Shape> {
    prop_oneof![Just(Shape::Random), Just(Shape::Dense), Just(Shape::Fragmented)]
}

fn case() -> impl Strategy<Value = (Pool, Vec<ipam_core::strategies::Op>)> {
    shape().prop_flat_map(|shape| pool(20..=31, shape)).prop_flat_map(|pool| {
        let net = pool.network();
        (Just(pool), ops(net, 1..48))
    })
}

fn law(result: Result<(), Violation>) -> Result<(), TestCaseError> {
    result.map_err(|violation| TestCaseError::fail(violation.to_string()))
}

/// Whether every address of `net` is still allocated.
fn held(pool: &Pool, net: &Ipv4Net) -> bool {
    (net.network().to_bits()..=net.broadcast().to_bits()).all(|a| pool.is_allocated(Ipv4Addr::from_bits(a)))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn what_is_handed_out_and_what_is_free_obey_the_laws((mut pool, ops) in case()) {
        let net = pool.network();
        let mut handed: Vec<Ipv4Net> = Vec::new();
        let mut singles: Vec<Ipv4Addr> = Vec::new();
        for op in &ops {
            let outcome = op.apply(&mut pool);
            handed.retain(|block| held(&pool, block));
            singles.retain(|addr| pool.is_allocated(*addr));
            match outcome {
                Ok(Outcome::Addr(addr)) => singles.push(addr),
                Ok(Outcome::Block(block)) => handed.push(block),
                _ => {}
            }
            law(invariants::no_duplicates(singles.iter().copied()))?;
        }
        law(invariants::aligned(&handed))?;
        law(invariants::all_inside(net, &handed))?;
        law(invariants::disjoint(&handed))?;
        let free: Vec<Ipv4Net> = pool.free_blocks().collect();
        law(invariants::minimal_cover(&free))?;
        law(invariants::all_inside(net, &free))?;
        // Free space and what is held never meet.
        let mut everything = free.clone();
        everything.extend(&handed);
        everything.extend(singles.iter().map(|&a| Ipv4Net::from(a)));
        law(invariants::disjoint(&everything))?;
        let stats: PoolStats = pool.stats();
        prop_assert_eq!(stats.free, free.iter().map(|n| 1u64 << (32 - n.prefix_len())).sum::<u64>());
        pool.validate().map_err(TestCaseError::fail)?;
    }
}
