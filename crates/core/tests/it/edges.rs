//! The edges: the smallest and largest pools, the top of the address space, exhaustion, memory.

use std::net::Ipv4Addr;

use ipam_core::{Error, Pool};
use ipnet::Ipv4Net;
use roaring::RoaringBitmap;

fn net(s: &str) -> Ipv4Net {
    s.parse().unwrap()
}

fn addr(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

#[test]
fn pool_is_send_sync_clone() {
    fn assert_traits<T: Send + Sync + Clone + 'static>() {}
    assert_traits::<Pool>();
    assert_traits::<Error>();
}

#[test]
fn slash_32_holds_one_address() {
    let mut pool = Pool::new(net("198.51.100.7/32")).unwrap();
    assert_eq!(pool.capacity(), 1);
    assert_eq!(pool.largest_free_block(), Some(32));
    assert_eq!(pool.allocate().unwrap(), addr("198.51.100.7"));
    assert!(matches!(pool.allocate(), Err(Error::Exhausted { wanted: 1, .. })));
    assert_eq!(pool.largest_free_block(), None);
    pool.release(addr("198.51.100.7")).unwrap();
    assert_eq!(pool.allocate_block(32).unwrap(), net("198.51.100.7/32"));
    // Network/broadcast reservation is a no-op at /32 (and /31).
    let pool = Pool::builder(net("198.51.100.7/32")).reserve_network_broadcast(true).build().unwrap();
    assert_eq!(pool.capacity(), 1);
    pool.validate().unwrap();
}

#[test]
fn slash_31_is_a_point_to_point_link() {
    let mut pool = Pool::builder(net("10.255.0.0/31")).reserve_network_broadcast(true).build().unwrap();
    assert_eq!(pool.capacity(), 2);
    assert_eq!(pool.allocate_block(31).unwrap(), net("10.255.0.0/31"));
    assert!(matches!(pool.allocate(), Err(Error::Exhausted { .. })));
    pool.release(addr("10.255.0.1")).unwrap();
    assert_eq!(pool.allocate().unwrap(), addr("10.255.0.1"));
    pool.validate().unwrap();
}

#[test]
fn exhaust_then_release_one_and_get_it_back() {
    let mut pool = Pool::builder(net("10.0.0.0/22"))
        .reserve_network_broadcast(true)
        .reserve_gateway(true)
        .build()
        .unwrap();
    let mut handed = Vec::new();
    while let Ok(a) = pool.allocate() {
        handed.push(a);
    }
    assert_eq!(handed.len() as u64, 1024 - 3);
    assert_eq!(pool.free_count(), 0);
    let mut sorted = handed.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), handed.len(), "an address was handed out twice");
    assert!(!handed.contains(&addr("10.0.0.0")) && !handed.contains(&addr("10.0.0.1")));
    assert!(!handed.contains(&addr("10.0.3.255")));
    pool.release(addr("10.0.2.77")).unwrap();
    assert_eq!(pool.allocate().unwrap(), addr("10.0.2.77"));
    assert!(matches!(pool.allocate(), Err(Error::Exhausted { .. })));
    assert_eq!(pool.free_blocks().count(), 0);
    pool.validate().unwrap();
}

#[test]
fn reserved_addresses_cannot_be_taken_or_released() {
    let mut pool = Pool::builder(net("10.0.0.0/24"))
        .reserve_network_broadcast(true)
        .reserve_gateway(true)
        .exclude(net("10.0.0.128/28"))
        .build()
        .unwrap();
    for reserved in ["10.0.0.0", "10.0.0.1", "10.0.0.255", "10.0.0.130"] {
        let a = addr(reserved);
        assert_eq!(pool.allocate_specific(a), Err(Error::Reserved { addr: a }));
        assert_eq!(pool.release(a), Err(Error::Reserved { addr: a }));
        assert!(pool.is_reserved(a) && !pool.is_allocated(a));
    }
    assert_eq!(
        pool.allocate_block_specific(net("10.0.0.128/25")),
        Err(Error::Reserved { addr: addr("10.0.0.128") })
    );
    assert_eq!(pool.release_block(net("10.0.0.128/28")), Err(Error::Reserved { addr: addr("10.0.0.128") }));
    // Blocks steer around reservations.
    assert_eq!(
        pool.allocate_block(25).unwrap_err(),
        Error::Exhausted { wanted: 128, pool: net("10.0.0.0/24") }
    );
    assert_eq!(pool.allocate_block(26).unwrap(), net("10.0.0.64/26"));
    assert_eq!(pool.allocate_block(27).unwrap(), net("10.0.0.32/27"));
    assert_eq!(pool.allocate_block(28).unwrap(), net("10.0.0.16/28"));
    assert_eq!(pool.allocate_block(28).unwrap(), net("10.0.0.144/28"));
    pool.validate().unwrap();
}

#[test]
fn bad_configurations_are_typed_errors() {
    assert_eq!(Pool::new(net("10.0.0.1/24")).unwrap_err(), Error::HostBitsSet { net: net("10.0.0.1/24") });
    let outside = Pool::builder(net("10.0.0.0/24")).exclude(net("10.0.1.0/28")).build().unwrap_err();
    assert_eq!(outside, Error::OutOfPool { addr: addr("10.0.1.0"), pool: net("10.0.0.0/24") });
    let larger = Pool::builder(net("10.0.0.0/24")).exclude(net("10.0.0.0/23")).build().unwrap_err();
    assert_eq!(larger, Error::OutOfPool { addr: addr("10.0.1.0"), pool: net("10.0.0.0/24") });
    let host_bits = Pool::builder(net("10.0.0.0/24")).exclude(net("10.0.0.9/28")).build().unwrap_err();
    assert!(matches!(host_bits, Error::HostBitsSet { .. }));
    let cursor = Pool::builder(net("10.0.0.0/24")).cursor(addr("10.0.1.0")).build().unwrap_err();
    assert!(matches!(cursor, Error::OutOfPool { .. }));

    let mut used = RoaringBitmap::new();
    used.insert(addr("10.0.0.1").to_bits());
    let reserved = Pool::builder(net("10.0.0.0/24"))
        .reserve_network_broadcast(true)
        .reserve_gateway(true)
        .allocated(&used)
        .build();
    assert_eq!(reserved.unwrap_err(), Error::Reserved { addr: addr("10.0.0.1") });
    used.insert(addr("10.0.5.5").to_bits());
    let out = Pool::from_allocated(net("10.0.0.0/24"), &used).unwrap_err();
    assert_eq!(out, Error::OutOfPool { addr: addr("10.0.5.5"), pool: net("10.0.0.0/24") });
}

#[test]
fn block_and_range_errors() {
    let mut pool = Pool::new(net("10.0.0.0/24")).unwrap();
    assert_eq!(pool.allocate_block(33), Err(Error::InvalidPrefixLength { prefix_len: 33, min: 24 }));
    assert_eq!(pool.allocate_block(23), Err(Error::InvalidPrefixLength { prefix_len: 23, min: 24 }));
    assert_eq!(
        pool.allocate_block_specific(net("10.0.0.0/23")),
        Err(Error::OutOfPool { addr: addr("10.0.1.0"), pool: net("10.0.0.0/24") })
    );
    assert_eq!(
        pool.allocate_block_specific(net("10.0.0.8/28")),
        Err(Error::Misaligned { block: net("10.0.0.8/28") })
    );
    let across = pool.release_range(addr("10.0.0.250")..=addr("10.0.1.3")).unwrap_err();
    assert_eq!(across, Error::OutOfPool { addr: addr("10.0.1.0"), pool: net("10.0.0.0/24") });
    assert!(matches!(pool.allocate_range(257), Err(Error::Exhausted { wanted: 257, .. })));
    assert_eq!(pool.allocate_range(256).unwrap(), addr("10.0.0.0")..=addr("10.0.0.255"));
    pool.validate().unwrap();
}

#[test]
fn blocks_at_the_top_of_the_address_space() {
    let mut pool = Pool::new(net("255.255.255.0/24")).unwrap();
    pool.allocate_block_specific(net("255.255.255.254/31")).unwrap();
    pool.allocate_specific(addr("255.255.255.253")).unwrap();
    pool.allocate_specific(addr("255.255.255.250")).unwrap();
    // Best fit: the run .251-.252 is the smallest that holds 2.
    assert_eq!(pool.allocate_range(2).unwrap(), addr("255.255.255.251")..=addr("255.255.255.252"));
    pool.release(addr("255.255.255.250")).unwrap();
    pool.release_range(addr("255.255.255.251")..=addr("255.255.255.255")).unwrap();
    assert_eq!(pool.allocate_block_specific(net("255.255.255.255/32")), Ok(()));
    assert!(pool.is_allocated(addr("255.255.255.255")));
    let free: Vec<Ipv4Net> = pool.free_blocks().collect();
    assert_eq!(free.last(), Some(&net("255.255.255.254/32")));
    pool.validate().unwrap();

    let mut top = Pool::new(net("128.0.0.0/1")).unwrap();
    assert_eq!(top.allocate_block_specific(net("255.255.255.255/32")), Ok(()));
    assert_eq!(top.largest_free_block(), Some(2));
    top.validate().unwrap();
}

#[test]
fn the_whole_ipv4_space_is_one_lazy_pool() {
    let mut pool = Pool::new(net("0.0.0.0/0")).unwrap();
    assert_eq!(pool.capacity(), 1 << 32);
    assert_eq!(pool.largest_free_block(), Some(0));
    assert!(pool.heap_bytes() < 1 << 20, "fresh /0 holds {} bytes", pool.heap_bytes());
    assert_eq!(pool.allocate().unwrap(), addr("0.0.0.0"));
    assert_eq!(pool.allocate_block(1).unwrap(), net("128.0.0.0/1"));
    assert_eq!(pool.allocate_block(8).unwrap(), net("1.0.0.0/8"));
    assert_eq!(pool.allocated_count(), 1 + (1 << 31) + (1 << 24));
    // Whole chunks are marked at the summary level, so memory stays small.
    assert!(pool.heap_bytes() < 1 << 20, "holds {} bytes", pool.heap_bytes());
    pool.allocate_specific(addr("255.255.255.255")).unwrap_err();
    pool.release_block(net("128.0.0.0/1")).unwrap();
    pool.allocate_specific(addr("255.255.255.255")).unwrap();
    assert_eq!(pool.allocate_range(3).unwrap(), addr("0.0.0.1")..=addr("0.0.0.3"));
    pool.validate().unwrap();
    let exported = pool.allocated();
    assert_eq!(exported.len(), pool.allocated_count());
    let copy = Pool::from_allocated(pool.network(), &exported).unwrap();
    assert!(copy.free_blocks().eq(pool.free_blocks()));
    copy.validate().unwrap();
}

#[test]
fn memory_follows_use() {
    let mut pool = Pool::new(net("10.0.0.0/8")).unwrap();
    assert!(pool.heap_bytes() < 16 << 10, "fresh /8 holds {} bytes", pool.heap_bytes());
    while pool.allocate_block(20).is_ok() {}
    // Every /20 was taken address-level inside chunks: the pool is dense now.
    let dense = pool.heap_bytes() as f64 * 8.0 / pool.capacity() as f64;
    assert!(dense < 1.25, "dense /8: {dense:.4} bits per address");
    println!("dense /8: {dense:.4} bits per address");
}

#[test]
fn a_clone_grows_dense_as_tightly_as_the_original() {
    // Two chunks of 2^18, three leaves touched in each.
    let mut pool = Pool::new(net("10.0.0.0/13")).unwrap();
    for block in
        ["10.0.0.0/24", "10.0.16.0/24", "10.0.32.0/24", "10.4.0.0/24", "10.4.16.0/24", "10.4.32.0/24"]
    {
        pool.allocate_block_specific(net(block)).unwrap();
    }
    // A clone's storage is exactly its length: growing it must still end at a dense chunk's size.
    let mut copy = pool.clone();
    while copy.allocate_block(24).is_ok() {}
    let dense = copy.heap_bytes() as f64 * 8.0 / copy.capacity() as f64;
    assert!(dense < 1.15, "dense clone of a /13: {dense:.4} bits per address");
    copy.validate().unwrap();
}

#[test]
fn scattered_clusters_cost_what_they_use() {
    // 4,096 /24s spread over the whole space, each in a 2^18 chunk of its own: 1M addresses.
    let mut pool = Pool::new(net("0.0.0.0/0")).unwrap();
    for i in 0..4096u32 {
        let start = i.wrapping_mul(0x9e37_79b9) & !0x3_ffff;
        let block = Ipv4Net::new(Ipv4Addr::from_bits(start | 0x1_2300), 24).unwrap();
        pool.allocate_block_specific(block).unwrap();
    }
    assert_eq!(pool.stats().allocated, 1 << 20);
    let mib = pool.heap_bytes() as f64 / f64::from(1 << 20);
    assert!(mib <= 16.0, "1M addresses in 4,096 scattered /24s hold {mib:.2} MiB");
    pool.validate().unwrap();
    println!("4,096 scattered /24s: {mib:.2} MiB");
}

#[test]
fn a_given_block_over_the_hot_word_and_in_whole_chunks() {
    let mut pool = Pool::new(net("10.0.0.0/12")).unwrap();
    // The first allocations leave their word hot and dirty; the given /26 over it sees them.
    let first = pool.allocate().unwrap();
    pool.allocate().unwrap();
    pool.release(first).unwrap();
    assert_eq!(
        pool.allocate_block_specific(net("10.0.0.0/26")),
        Err(Error::AlreadyAllocated { addr: addr("10.0.0.1") })
    );
    pool.release(addr("10.0.0.1")).unwrap();
    pool.allocate_block_specific(net("10.0.0.0/26")).unwrap();
    assert_eq!(pool.allocate().unwrap(), addr("10.0.0.64"));
    // A /14 marks whole chunks used: a given /24 inside fails at its first address, and one
    // released address by address comes back whole.
    let big = pool.allocate_block(14).unwrap();
    let inside: Ipv4Net = net(&format!("{}/24", big.network()));
    assert_eq!(pool.allocate_block_specific(inside), Err(Error::AlreadyAllocated { addr: inside.network() }));
    pool.release_block(inside).unwrap();
    pool.allocate_block_specific(inside).unwrap();
    pool.validate().unwrap();
    assert_eq!(pool.allocated_count(), 64 + 1 + (1 << 18));
}

#[test]
fn the_rolling_policy_moves_on_and_wraps() {
    let mut pool = Pool::builder(net("10.0.0.0/12")).policy(ipam_core::Policy::RoundRobin).build().unwrap();
    let a = pool.allocate().unwrap();
    pool.allocate().unwrap();
    pool.release(a).unwrap();
    // Released addresses are not taken back while the cursor has room ahead.
    assert_eq!(pool.allocate().unwrap(), addr("10.0.0.2"));
    // A release inside whole chunks taken by a large block (written through, the hot word stays).
    let big = pool.allocate_block(14).unwrap();
    let inside = Ipv4Addr::from_bits(big.network().to_bits() + 77);
    pool.release(inside).unwrap();
    assert!(!pool.is_allocated(inside));
    assert_eq!(pool.allocate().unwrap(), Ipv4Addr::from_bits(big.broadcast().to_bits() + 1));
    pool.validate().unwrap();
    // At the end of the pool the cursor wraps to the lowest free address.
    let mut small = Pool::builder(net("10.0.0.0/30")).policy(ipam_core::Policy::RoundRobin).build().unwrap();
    let taken: Vec<_> = (0..4).map(|_| small.allocate().unwrap()).collect();
    small.release(taken[1]).unwrap();
    small.release(taken[2]).unwrap();
    assert_eq!(small.allocate().unwrap(), taken[1]);
    small.validate().unwrap();
}

#[test]
fn the_rolling_policy_taking_past_the_marks_keeps_them_true() {
    // The rolling policy takes the next free address after its cursor, which may lie past the
    // second low-water mark in the middle of a word; releases in that word must still be seen.
    let mut pool = Pool::builder(net("10.9.0.0/24")).policy(ipam_core::Policy::RoundRobin).build().unwrap();
    for _ in 0..256 {
        pool.allocate().unwrap();
    }
    assert!(pool.allocate().is_err());
    pool.release_block(net("10.9.0.200/30")).unwrap();
    pool.release(addr("10.9.0.10")).unwrap();
    pool.validate().unwrap();
    // Wrapped: the lowest free address, then on past the cursor into the middle of the last word.
    assert_eq!(pool.allocate().unwrap(), addr("10.9.0.10"));
    assert_eq!(pool.allocate().unwrap(), addr("10.9.0.200"));
    pool.validate().unwrap();
    pool.release(addr("10.9.0.195")).unwrap();
    pool.validate().unwrap();
    assert_eq!(pool.allocate().unwrap(), addr("10.9.0.201"));
    pool.release(addr("10.9.0.10")).unwrap();
    assert_eq!(pool.allocate().unwrap(), addr("10.9.0.202"));
    assert_eq!(pool.allocate().unwrap(), addr("10.9.0.203"));
    // Wrapped again: 10.9.0.10 below 10.9.0.195.
    assert_eq!(pool.allocate().unwrap(), addr("10.9.0.10"));
    assert_eq!(pool.allocate().unwrap(), addr("10.9.0.195"));
    pool.validate().unwrap();
}

#[test]
fn releasing_a_block_address_by_address() {
    let mut pool = Pool::new(net("10.0.0.0/16")).unwrap();
    let block = pool.allocate_block(24).unwrap();
    for host in block.hosts() {
        pool.release(host).unwrap();
    }
    assert_eq!(pool.allocated_count(), 2);
    assert_eq!(pool.release_block(block), Err(Error::NotAllocated { addr: addr("10.0.0.1") }));
    pool.release(block.network()).unwrap();
    pool.release(block.broadcast()).unwrap();
    assert_eq!(pool.largest_free_block(), Some(16));
    pool.validate().unwrap();
}

#[test]
fn the_largest_requests_a_slash_0_can_take() {
    let mut pool = Pool::new(net("0.0.0.0/0")).unwrap();
    let all_but_one = pool.allocate_range(u32::MAX).unwrap();
    assert_eq!(all_but_one, addr("0.0.0.0")..=addr("255.255.255.254"));
    assert_eq!(pool.free_count(), 1);
    assert_eq!(pool.allocate().unwrap(), addr("255.255.255.255"));
    assert!(matches!(pool.allocate(), Err(Error::Exhausted { .. })));
    assert_eq!(pool.stats().free_cidrs, 0);
    pool.release_range(all_but_one).unwrap();
    assert_eq!(pool.largest_free_block(), Some(1));
    pool.release(addr("255.255.255.255")).unwrap();
    assert_eq!(pool.allocate_block(0).unwrap(), net("0.0.0.0/0"));
    assert_eq!(pool.allocated_count(), 1 << 32);
    assert_eq!(pool.allocated().len(), 1 << 32);
    pool.release_block(net("0.0.0.0/0")).unwrap();
    let stats = pool.stats();
    assert_eq!(
        (stats.free, stats.free_blocks_by_prefix[32], stats.free_blocks_by_prefix[0]),
        (1 << 32, 1 << 32, 1)
    );
    pool.validate().unwrap();
}

/// Single-address changes are held in the tree's hot word before the summaries learn of them; every
/// read through `&self`, and a clone, must still see the latest change at once.
#[test]
fn reads_see_the_latest_single_address_change() {
    for prefix in ["10.0.0.0/8", "10.0.0.0/16", "10.0.0.0/20", "10.0.0.0/26", "10.0.0.0/28", "0.0.0.0/0"] {
        let mut pool = Pool::new(net(prefix)).unwrap();
        let whole = pool.network().prefix_len();
        let first = pool.allocate().unwrap();
        assert!(pool.is_allocated(first));
        assert_eq!(pool.largest_free_block(), Some(whole + 1), "{prefix}");
        assert_eq!(pool.allocated().len(), 1);
        assert_eq!(pool.free_blocks().next().unwrap().network(), Ipv4Addr::from_bits(first.to_bits() + 1));
        assert_eq!(pool.stats().free_blocks_by_prefix[32], pool.capacity() - 1);
        let copy = pool.clone();
        pool.release(first).unwrap();
        assert_eq!(pool.largest_free_block(), Some(whole), "{prefix}");
        assert_eq!(pool.free_blocks().count(), 1);
        assert!(pool.allocated().is_empty());
        assert!(copy.is_allocated(first) && !pool.is_allocated(first));
        // A block search sees the single change too: the first /31 is taken by half.
        pool.allocate_specific(first).unwrap();
        if whole < 31 {
            let block = pool.allocate_block(31).unwrap();
            assert_eq!(block.network(), Ipv4Addr::from_bits(first.to_bits() + 2), "{prefix}");
        }
        pool.validate().unwrap();
        copy.validate().unwrap();
    }
}

#[test]
fn first_fit_takes_back_releases_below_the_frontier_lowest_first() {
    // A long-lived first-fit pool: filled from the bottom up to a frontier, old addresses released
    // below it in every order (in one word, across words, above and below the one taken last), and
    // each allocation must take the lowest free one, then carry on at the frontier.
    let mut pool = Pool::new(net("10.20.0.0/20")).unwrap();
    for _ in 0..3000 {
        pool.allocate().unwrap();
    }
    let at = |offset: u32| Ipv4Addr::from_bits(u32::from(addr("10.20.0.0")) + offset);
    for batch in [&[700, 100, 2900][..], &[5, 6, 64, 1000], &[1000], &[2999, 0], &[130, 129, 2000, 63]] {
        for &offset in batch {
            pool.release(at(offset)).unwrap();
            pool.validate().unwrap();
        }
        let mut lowest_first = batch.to_vec();
        lowest_first.sort_unstable();
        for &offset in &lowest_first {
            assert_eq!(pool.allocate().unwrap(), at(offset));
            pool.validate().unwrap();
        }
        assert_eq!(pool.allocate().unwrap(), at(3000));
        pool.release(at(3000)).unwrap();
    }
    // A release then an allocation, one at a time, below and above the previous one.
    for offset in [1500, 200, 2500, 64, 65, 3, 2998] {
        pool.release(at(offset)).unwrap();
        assert_eq!(pool.allocate().unwrap(), at(offset));
        pool.validate().unwrap();
    }
    assert_eq!(pool.allocate().unwrap(), at(3000));
}
