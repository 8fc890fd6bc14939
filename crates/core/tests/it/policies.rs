//! What each policy promises, shown on deterministic workloads.

use std::net::Ipv4Addr;

use ipam_core::{Policy, Pool};
use ipnet::Ipv4Net;

/// A small deterministic generator (xorshift64*), so the workload is the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Outcome of a churn run: (largest free block's prefix length, free CIDR count, free addresses).
fn churn(policy: Policy, seed: u64) -> (u8, u64, u64) {
    let mut pool = Pool::builder("10.0.0.0/16".parse().unwrap()).policy(policy).build().unwrap();
    let mut rng = Rng(seed);
    let mut live: Vec<Ipv4Net> = Vec::new();
    // Mostly single addresses, some small blocks: hosts, /31 links, /30 and /28 segments.
    let sizes = [32u8, 32, 32, 32, 31, 31, 30, 28];
    for step in 0..60_000 {
        let fill = pool.allocated_count() as f64 / pool.capacity() as f64;
        let grow = if step < 20_000 { fill < 0.85 } else { rng.below(2) == 0 };
        if grow || live.is_empty() {
            let prefix_len = sizes[rng.below(sizes.len() as u64) as usize];
            if let Ok(block) = pool.allocate_block(prefix_len) {
                live.push(block);
            }
        } else {
            let block = live.swap_remove(rng.below(live.len() as u64) as usize);
            pool.release_block(block).unwrap();
        }
    }
    pool.validate().unwrap();
    let stats = pool.stats();
    (stats.largest_free_block.unwrap_or(33), stats.free_cidrs, stats.free)
}

#[test]
fn best_fit_keeps_larger_blocks_whole_than_first_fit() {
    for seed in [1, 2, 3] {
        let (first_largest, first_cidrs, first_free) = churn(Policy::FirstFit, seed);
        let (best_largest, best_cidrs, best_free) = churn(Policy::BestFit, seed);
        println!(
            "seed {seed}: first-fit largest /{first_largest}, {first_cidrs} free CIDRs, {first_free} free; \
             best-fit largest /{best_largest}, {best_cidrs} free CIDRs, {best_free} free"
        );
        // A shorter prefix is a larger block.
        assert!(
            best_largest < first_largest,
            "seed {seed}: best fit /{best_largest}, first fit /{first_largest}"
        );
        assert!(best_cidrs < first_cidrs, "seed {seed}: best fit should leave fewer, larger free blocks");
    }
}

#[test]
fn first_fit_is_lowest_first() {
    let mut pool = Pool::new("10.0.0.0/24".parse().unwrap()).unwrap();
    for i in 0..10u8 {
        assert_eq!(pool.allocate().unwrap(), Ipv4Addr::new(10, 0, 0, i));
    }
    pool.release(Ipv4Addr::new(10, 0, 0, 3)).unwrap();
    assert_eq!(pool.allocate().unwrap(), Ipv4Addr::new(10, 0, 0, 3));
    assert_eq!(pool.allocate_block(29).unwrap(), "10.0.0.16/29".parse::<Ipv4Net>().unwrap());
    assert_eq!(pool.allocate_block(30).unwrap(), "10.0.0.12/30".parse::<Ipv4Net>().unwrap());
}

#[test]
fn best_fit_fills_holes_before_breaking_blocks() {
    let mut pool = Pool::builder("10.0.0.0/24".parse().unwrap()).policy(Policy::BestFit).build().unwrap();
    // A lone hole at .9 and whole space from .16 up: the single goes into the hole.
    pool.allocate_block_specific("10.0.0.0/29".parse().unwrap()).unwrap();
    pool.allocate_block_specific("10.0.0.8/32".parse().unwrap()).unwrap();
    pool.allocate_block_specific("10.0.0.10/31".parse().unwrap()).unwrap();
    pool.allocate_block_specific("10.0.0.12/30".parse().unwrap()).unwrap();
    assert_eq!(pool.allocate().unwrap(), Ipv4Addr::new(10, 0, 0, 9));
    assert_eq!(pool.largest_free_block(), Some(25));
}

#[test]
fn round_robin_does_not_reuse_at_once_and_wraps() {
    let mut pool = Pool::builder("10.0.0.0/30".parse().unwrap()).policy(Policy::RoundRobin).build().unwrap();
    let a = pool.allocate().unwrap();
    pool.release(a).unwrap();
    let order: Vec<Ipv4Addr> = (0..3).map(|_| pool.allocate().unwrap()).collect();
    assert_eq!(order, [Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2), Ipv4Addr::new(10, 0, 0, 3)]);
    // Wraps to the start: .0 is the only free one left.
    assert_eq!(pool.allocate().unwrap(), a);
    assert_eq!(pool.cursor(), Ipv4Addr::new(10, 0, 0, 1));
}

#[test]
fn round_robin_cursor_survives_a_rebuild() {
    let mut pool = Pool::builder("10.9.0.0/24".parse().unwrap()).policy(Policy::RoundRobin).build().unwrap();
    for _ in 0..5 {
        pool.allocate().unwrap();
    }
    pool.release(Ipv4Addr::new(10, 9, 0, 1)).unwrap();
    let copy = Pool::builder(pool.network())
        .policy(Policy::RoundRobin)
        .allocated(&pool.allocated())
        .cursor(pool.cursor())
        .build()
        .unwrap();
    let (mut a, mut b) = (pool, copy);
    for _ in 0..300 {
        assert_eq!(a.allocate().ok(), b.allocate().ok());
    }
}
