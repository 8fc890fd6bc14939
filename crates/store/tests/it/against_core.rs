//! The store reads and writes a pool chunk by chunk; the allocator sees the whole pool. Under
//! first fit both must give the same answer to every request, and under every policy the state
//! must pass the deep check and agree with its own records.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use ipam_core::strategies::{addr_in, aligned_net, aligned_net_in};
use ipam_core::{Policy, Pool};
use ipam_store::{PoolDef, Release, Request, Store};
use ipnet::Ipv4Net;
use proptest::prelude::*;

/// First and last address of an allocation.
type Span = (Ipv4Addr, Ipv4Addr);

#[derive(Clone, Debug)]
enum Op {
    Next,
    Block(u8),
    Range(u32),
    Addr(Ipv4Addr),
    /// Release the allocation at this index (modulo how many there are).
    Release(usize),
}

fn op(net: Ipv4Net) -> impl Strategy<Value = Op> {
    let len = net.prefix_len();
    prop_oneof![
        4 => Just(Op::Next),
        2 => (len..=32).prop_map(Op::Block),
        1 => prop_oneof![1u32..40, 60_000u32..140_000].prop_map(Op::Range),
        2 => addr_in(net).prop_map(Op::Addr),
        3 => any::<usize>().prop_map(Op::Release),
    ]
}

fn case() -> impl Strategy<Value = (PoolDef, Vec<Op>)> {
    aligned_net(12..=20).prop_flat_map(|net| {
        let exclusions = proptest::collection::vec(aligned_net_in(net, net.prefix_len() + 2..=32), 0..3);
        let policy = prop_oneof![Just(Policy::FirstFit), Just(Policy::BestFit), Just(Policy::RoundRobin)];
        let def = (any::<bool>(), any::<bool>(), exclusions, policy).prop_map(
            move |(gateway, nb, mut ex, policy)| {
                ex.sort();
                ex.dedup();
                let all = ex.clone();
                ex.retain(|e| all.iter().all(|o| o == e || !o.contains(e)));
                PoolDef { gateway, network_broadcast: nb, exclusions: ex, policy, ..PoolDef::new("p", net) }
            },
        );
        (def, proptest::collection::vec(op(net), 1..60))
    })
}

fn core_pool(def: &PoolDef) -> Pool {
    let mut builder = Pool::builder(def.cidr)
        .reserve_gateway(def.gateway)
        .reserve_network_broadcast(def.network_broadcast)
        .policy(def.policy);
    for &e in &def.exclusions {
        builder = builder.exclude(e);
    }
    builder.build().unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn chunked_state_answers_as_the_whole_pool_does((def, ops) in case()) {
        answers_as_the_whole_pool(Store::open_in_memory().unwrap(), &def, ops)?;
    }
}

#[cfg(feature = "postgres")]
proptest! {
    // Each case on a fresh database: fewer cases, the same laws, through chunk locks and the
    // per-chunk summary bytes of the PostgreSQL backend.
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn chunked_state_on_postgresql_answers_as_the_whole_pool_does((def, ops) in case()) {
        let Some(url) = crate::backend::database("pg_against_core") else { return Ok(()) };
        answers_as_the_whole_pool(Store::open(&url).unwrap(), &def, ops)?;
    }
}

fn answers_as_the_whole_pool(mut store: Store, def: &PoolDef, ops: Vec<Op>) -> Result<(), TestCaseError> {
    {
        store.add_pool(def).unwrap();
        let mut core = core_pool(def);
        let same = def.policy == Policy::FirstFit;
        // What the store holds, by first address: (last, what to release it by).
        let mut held: BTreeMap<Ipv4Addr, (Ipv4Addr, Release)> = BTreeMap::new();
        for op in ops {
            let (ours, theirs): (Result<Span, ipam_store::Error>, Result<Span, ipam_core::Error>) = match op {
                Op::Next => (
                    store.allocate("p", Request::Next, None).map(|a| (a.first, a.last)),
                    core.allocate().map(|a| (a, a)),
                ),
                Op::Block(len) => (
                    store.allocate("p", Request::Block(len), None).map(|a| (a.first, a.last)),
                    core.allocate_block(len).map(|b| (b.network(), b.broadcast())),
                ),
                Op::Range(n) => (
                    store.allocate("p", Request::Range(n), None).map(|a| (a.first, a.last)),
                    core.allocate_range(n).map(|r| (*r.start(), *r.end())),
                ),
                Op::Addr(a) => (
                    store.allocate("p", Request::Addr(a), None).map(|a| (a.first, a.last)),
                    core.allocate_specific(a).map(|()| (a, a)),
                ),
                Op::Release(i) => {
                    if held.is_empty() {
                        continue;
                    }
                    let first = *held.keys().nth(i % held.len()).unwrap();
                    let (last, target) = held.remove(&first).unwrap();
                    let gone = store.release("p", &target).unwrap();
                    prop_assert_eq!((gone[0].first, gone[0].last), (first, last));
                    core.release_range(first..=last).unwrap();
                    continue;
                }
            };
            if same {
                prop_assert_eq!(ours.is_ok(), theirs.is_ok(), "{:?} against {:?}", ours, theirs);
                if let (Ok(o), Ok(t)) = (&ours, &theirs) {
                    prop_assert_eq!(o, t);
                }
            } else if let Ok(t) = theirs {
                // Other policies may choose elsewhere: keep the allocator in step with the store.
                core.release_range(t.0..=t.1).unwrap();
            }
            if let Ok((first, last)) = ours {
                if !same {
                    core.release_range(first..=first).ok();
                    for block in cover(first, last) {
                        core.allocate_block_specific(block).unwrap();
                    }
                }
                let all = store.allocations("p").unwrap();
                let a = all.iter().find(|a| a.first == first).unwrap();
                let target = match a.shape {
                    ipam_store::Shape::Addr => Release::Addr(first),
                    ipam_store::Shape::Block => {
                        Release::Block(Ipv4Net::new(first, (32 - a.size().trailing_zeros()) as u8).unwrap())
                    }
                    ipam_store::Shape::Range => Release::Range(first, last),
                };
                for (&f, &(l, _)) in &held {
                    prop_assert!(l < first || f > last, "{}-{} overlaps {}-{}", first, last, f, l);
                }
                held.insert(first, (last, target));
            }
        }
        prop_assert_eq!(store.check().unwrap(), Vec::<String>::new());
        let pools = store.pools().unwrap();
        let stats = core.stats();
        prop_assert_eq!(
            (pools[0].allocated, pools[0].free, pools[0].largest_free_block),
            (stats.allocated, stats.free, stats.largest_free_block)
        );
        prop_assert_eq!(store.pool("p").unwrap().stats, stats);
    }
    Ok(())
}

/// The CIDR blocks exactly covering `first..=last`.
fn cover(first: Ipv4Addr, last: Ipv4Addr) -> Vec<Ipv4Net> {
    let (mut at, end) = (u64::from(u32::from(first)), u64::from(u32::from(last)) + 1);
    let mut out = Vec::new();
    while at < end {
        let align = if at == 0 { 32 } else { at.trailing_zeros().min(32) };
        let order = align.min(63 - (end - at).leading_zeros());
        out.push(Ipv4Net::new(Ipv4Addr::from(at as u32), (32 - order) as u8).unwrap());
        at += 1 << order;
    }
    out
}
