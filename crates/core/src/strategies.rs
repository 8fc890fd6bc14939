//! proptest strategies for IPv4 networks, addresses, pools and operation sequences (feature
//! `proptest`): what our own property tests use, for yours.
//!
//! Everything shrinks towards the small and simple: prefix lengths towards /32 (within the range you
//! give), addresses towards the first of their network, fills and operation lists towards empty.
//!
//! ```
//! use ipam_core::invariants;
//! use ipam_core::strategies::{Outcome, ops};
//! use ipam_core::Pool;
//! use proptest::prelude::*;
//! use proptest::test_runner::TestRunner;
//!
//! let net = "10.0.0.0/28".parse()?;
//! // A user's own property: whatever the ops, blocks handed out never overlap.
//! TestRunner::default().run(&ops(net, 1..40), |ops| {
//!     let mut pool = Pool::new(net).unwrap();
//!     let mut blocks = Vec::new();
//!     for op in &ops {
//!         let outcome = op.apply(&mut pool);
//!         // Forget blocks that were given back, wholly or in part.
//!         blocks.retain(|held: &ipnet::Ipv4Net| {
//!             (held.network().to_bits()..=held.broadcast().to_bits())
//!                 .all(|a| pool.is_allocated(std::net::Ipv4Addr::from_bits(a)))
//!         });
//!         if let Ok(Outcome::Block(block)) = outcome {
//!             blocks.push(block);
//!         }
//!     }
//!     prop_assert!(invariants::disjoint(&blocks).is_ok());
//!     Ok(())
//! })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::net::Ipv4Addr;
use std::ops::{Range, RangeInclusive};

use ipnet::Ipv4Net;
use proptest::prelude::*;
use roaring::RoaringBitmap;

use crate::{Error, Pool};

/// Aligned networks (no host bits) with a prefix length in `prefix_lens` (clamped to 0..=32).
///
/// ```
/// use ipam_core::strategies::aligned_net;
/// use proptest::strategy::{Strategy, ValueTree};
/// use proptest::test_runner::TestRunner;
///
/// let net = aligned_net(20..=24).new_tree(&mut TestRunner::default()).unwrap().current();
/// assert!((20..=24).contains(&net.prefix_len()) && net.addr() == net.network());
/// ```
pub fn aligned_net(prefix_lens: RangeInclusive<u8>) -> impl Strategy<Value = Ipv4Net> + Clone {
    aligned_net_in(Ipv4Net::default(), prefix_lens)
}

/// Aligned networks inside `parent`, with a prefix length in `prefix_lens` (clamped to
/// `parent.prefix_len()..=32`).
///
/// ```
/// use ipam_core::strategies::aligned_net_in;
/// use proptest::strategy::{Strategy, ValueTree};
/// use proptest::test_runner::TestRunner;
///
/// let parent = "10.8.0.0/16".parse()?;
/// let net = aligned_net_in(parent, 24..=28).new_tree(&mut TestRunner::default()).unwrap().current();
/// assert!(parent.contains(&net));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn aligned_net_in(
    parent: Ipv4Net,
    prefix_lens: RangeInclusive<u8>,
) -> impl Strategy<Value = Ipv4Net> + Clone {
    let parent = parent.trunc();
    let lo = (*prefix_lens.start()).clamp(parent.prefix_len(), 32);
    let hi = (*prefix_lens.end()).clamp(lo, 32);
    (0..=hi - lo, any::<u32>()).prop_map(move |(shorter, bits)| {
        let prefix_len = hi - shorter;
        Ipv4Net::new_assert(offset_in(parent, bits), prefix_len).trunc()
    })
}

/// Addresses inside `net`.
///
/// ```
/// use ipam_core::strategies::addr_in;
/// use proptest::strategy::{Strategy, ValueTree};
/// use proptest::test_runner::TestRunner;
///
/// let net = "192.0.2.0/24".parse()?;
/// let addr = addr_in(net).new_tree(&mut TestRunner::default()).unwrap().current();
/// assert!(net.contains(&addr));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn addr_in(net: Ipv4Net) -> impl Strategy<Value = Ipv4Addr> + Clone {
    let net = net.trunc();
    any::<u32>().prop_map(move |bits| offset_in(net, bits))
}

/// The address `bits` modulo the size of `net`, from its start.
fn offset_in(net: Ipv4Net, bits: u32) -> Ipv4Addr {
    let host_bits = 32 - u32::from(net.prefix_len());
    let offset = if host_bits == 32 { bits } else { bits & ((1 << host_bits) - 1) };
    Ipv4Addr::from_bits(net.network().to_bits() | offset)
}

/// How a generated pool is filled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Shape {
    /// Up to 64 addresses taken at random.
    Random,
    /// A prefix of the pool taken in order (what first fit leaves behind).
    Dense,
    /// Up to 16 small aligned blocks (/27 to /32 of the pool's size) scattered over it.
    Fragmented,
}

/// Pools (every address usable, first fit) over a network with a prefix length in `prefix_lens`,
/// filled in the given shape.
///
/// ```
/// use ipam_core::strategies::{pool, Shape};
/// use proptest::strategy::{Strategy, ValueTree};
/// use proptest::test_runner::TestRunner;
///
/// let pool = pool(24..=28, Shape::Dense).new_tree(&mut TestRunner::default()).unwrap().current();
/// assert!(pool.allocated_count() <= pool.capacity());
/// pool.validate().unwrap();
/// ```
pub fn pool(prefix_lens: RangeInclusive<u8>, shape: Shape) -> impl Strategy<Value = Pool> {
    let fill = prop::collection::vec((any::<u32>(), 0u8..6), 0..64);
    (aligned_net(prefix_lens), fill, 0u8..=100).prop_map(move |(net, fill, percent)| {
        let mut pool = Pool::new(net).expect("aligned_net has no host bits");
        match shape {
            Shape::Random => {
                for (bits, _) in fill {
                    let _taken = pool.allocate_specific(offset_in(net, bits));
                }
            }
            Shape::Dense => {
                let count = pool.capacity() * u64::from(percent) / 100;
                if count > 0 {
                    let first = u64::from(net.network().to_bits());
                    let mut used = RoaringBitmap::new();
                    used.insert_range(first as u32..=(first + count - 1) as u32);
                    pool = Pool::from_allocated(net, &used).expect("inside the pool");
                }
            }
            Shape::Fragmented => {
                for (bits, order) in fill.into_iter().take(16) {
                    let prefix_len = (32 - order).max(net.prefix_len());
                    let block = Ipv4Net::new_assert(offset_in(net, bits), prefix_len).trunc();
                    let _taken = pool.allocate_block_specific(block);
                }
            }
        }
        pool
    })
}

/// One pool operation, to apply to a [`Pool`] and to your own allocator side by side.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Op {
    /// [`Pool::allocate`].
    Allocate,
    /// [`Pool::allocate_specific`].
    AllocateSpecific(Ipv4Addr),
    /// [`Pool::allocate_block`] with this prefix length.
    AllocateBlock(u8),
    /// [`Pool::allocate_block_specific`].
    AllocateBlockSpecific(Ipv4Net),
    /// [`Pool::allocate_range`] of this many addresses.
    AllocateRange(u32),
    /// [`Pool::release`].
    Release(Ipv4Addr),
    /// [`Pool::release_block`].
    ReleaseBlock(Ipv4Net),
    /// [`Pool::release_range`].
    ReleaseRange(RangeInclusive<Ipv4Addr>),
}

/// What a successful [`Op`] handed out.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// The address [`Op::Allocate`] chose.
    Addr(Ipv4Addr),
    /// The block [`Op::AllocateBlock`] chose.
    Block(Ipv4Net),
    /// The range [`Op::AllocateRange`] chose.
    Range(RangeInclusive<Ipv4Addr>),
    /// Any other operation succeeded.
    Done,
}

impl Op {
    /// Applies the operation to `pool`.
    ///
    /// ```
    /// use ipam_core::strategies::{Op, Outcome};
    /// use ipam_core::{Error, Pool};
    ///
    /// let mut pool = Pool::new("10.0.0.0/30".parse()?)?;
    /// assert_eq!(Op::AllocateBlock(31).apply(&mut pool)?, Outcome::Block("10.0.0.0/31".parse()?));
    /// let twice = Op::AllocateSpecific("10.0.0.1".parse()?).apply(&mut pool);
    /// assert!(matches!(twice, Err(Error::AlreadyAllocated { .. })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn apply(&self, pool: &mut Pool) -> Result<Outcome, Error> {
        match self {
            Op::Allocate => pool.allocate().map(Outcome::Addr),
            Op::AllocateSpecific(addr) => pool.allocate_specific(*addr).map(|()| Outcome::Done),
            Op::AllocateBlock(prefix_len) => pool.allocate_block(*prefix_len).map(Outcome::Block),
            Op::AllocateBlockSpecific(block) => pool.allocate_block_specific(*block).map(|()| Outcome::Done),
            Op::AllocateRange(count) => pool.allocate_range(*count).map(Outcome::Range),
            Op::Release(addr) => pool.release(*addr).map(|()| Outcome::Done),
            Op::ReleaseBlock(block) => pool.release_block(*block).map(|()| Outcome::Done),
            Op::ReleaseRange(range) => pool.release_range(range.clone()).map(|()| Outcome::Done),
        }
    }
}

/// One operation on a pool over `net`: mostly well-formed (addresses and blocks inside the net,
/// block prefix lengths from the net's own to /32, range counts up to 256 or the net's size), and now
/// and then one the pool must refuse with a typed error: an address just outside the net, a prefix
/// length out of range, a block larger than the net or misaligned, an empty or reversed range.
///
/// ```
/// use ipam_core::strategies::op;
/// use proptest::strategy::{Strategy, ValueTree};
/// use proptest::test_runner::TestRunner;
///
/// let net = "10.0.0.0/24".parse()?;
/// let op = op(net).new_tree(&mut TestRunner::default()).unwrap().current();
/// println!("{op:?}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn op(net: Ipv4Net) -> impl Strategy<Value = Op> {
    let net = net.trunc();
    let size = 1u64 << (32 - u32::from(net.prefix_len()));
    let max_count = size.min(256) as u32;
    let min = net.prefix_len();
    let addr = prop_oneof![12 => addr_in(net), 1 => Just(just_outside(net))];
    let prefix_len = prop_oneof![
        12 => (0..=32 - min).prop_map(|shorter| 32 - shorter),
        1 => prop_oneof![Just(min.saturating_sub(1)), Just(33u8)],
    ];
    let block = prop_oneof![
        12 => aligned_net_in(net, min..=32),
        // Larger than the pool (it holds the pool): `OutOfPool`.
        1 => Just(net.supernet().unwrap_or(net)),
        // Host bits set: the pool must answer `Misaligned`.
        1 => (aligned_net_in(net, min..=31), 1u32..).prop_map(|(block, bits)| {
            // (In a /32 there is no room for host bits: the block stays aligned.)
            let host = (1u64 << (32 - u32::from(block.prefix_len()))) - 1;
            let offset = if host == 0 { 0 } else { (u64::from(bits) % host + 1) as u32 };
            Ipv4Net::new_assert(Ipv4Addr::from_bits(block.network().to_bits() | offset), block.prefix_len())
        }),
    ];
    let count =
        prop_oneof![12 => 1..=max_count, 1 => Just(0u32), 1 => Just(u32::try_from(size).unwrap_or(u32::MAX))];
    prop_oneof![
        4 => Just(Op::Allocate),
        2 => addr.clone().prop_map(Op::AllocateSpecific),
        3 => prefix_len.prop_map(Op::AllocateBlock),
        1 => block.clone().prop_map(Op::AllocateBlockSpecific),
        2 => count.prop_map(Op::AllocateRange),
        3 => addr.clone().prop_map(Op::Release),
        2 => block.prop_map(Op::ReleaseBlock),
        1 => (addr_in(net), 0..max_count, any::<bool>()).prop_map(move |(first, extra, reversed)| {
            let last = first.to_bits().saturating_add(extra).min(net.broadcast().to_bits());
            let last = if reversed { first.to_bits().saturating_sub(1) } else { last };
            Op::ReleaseRange(first..=Ipv4Addr::from_bits(last))
        }),
    ]
}

/// An address next to `net` but outside it (inside it only for /0, which has no outside).
fn just_outside(net: Ipv4Net) -> Ipv4Addr {
    let (first, last) = (net.network().to_bits(), net.broadcast().to_bits());
    Ipv4Addr::from_bits(if first > 0 { first - 1 } else { last.wrapping_add(1) })
}

/// A sequence of [`op`]s, with a length in `len`; shrinks by dropping operations.
///
/// ```
/// use ipam_core::strategies::ops;
/// use proptest::strategy::{Strategy, ValueTree};
/// use proptest::test_runner::TestRunner;
///
/// let ops = ops("10.0.0.0/24".parse()?, 1..10).new_tree(&mut TestRunner::default()).unwrap().current();
/// assert!((1..10).contains(&ops.len()));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn ops(net: Ipv4Net, len: Range<usize>) -> impl Strategy<Value = Vec<Op>> {
    prop::collection::vec(op(net), len)
}
