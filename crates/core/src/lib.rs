//! An IPv4 address and subnet allocator with a nanosecond hot path.
//!
//! A [`Pool`] hands out single addresses, aligned CIDR blocks of any prefix length and contiguous
//! ranges from one IPv4 network, takes them back, and answers utilization and fragmentation
//! questions. No address is ever handed out twice, no input makes it panic, and every failure is a
//! typed [`Error`] that leaves the pool as it was.
//!
//! ```
//! use ipam_core::{Error, Policy, Pool};
//!
//! let mut pool = Pool::builder("10.1.0.0/16".parse()?)
//!     .reserve_network_broadcast(true)
//!     .reserve_gateway(true)
//!     .exclude("10.1.255.0/24".parse()?)
//!     .policy(Policy::BestFit)
//!     .build()?;
//! let host = pool.allocate()?;                 // one address
//! let rack = pool.allocate_block(26)?;         // an aligned /26
//! let row = pool.allocate_range(40)?;          // 40 addresses in a row
//! pool.release(host)?;
//! assert!(matches!(pool.release(host), Err(Error::NotAllocated { .. })));
//! println!("{rack} {row:?} {} free", pool.free_count());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Organization
//! - [`Pool`] and its [`PoolBuilder`]: the allocator. Addresses and networks are `std`'s
//!   [`Ipv4Addr`](std::net::Ipv4Addr) and ipnet's [`Ipv4Net`](ipnet::Ipv4Net).
//! - [`Policy`]: first fit (lowest first, the default), best fit (keeps large blocks whole),
//!   round robin (no immediate reuse of a released address).
//! - [`PoolStats`]: counts, the largest free block, free blocks per prefix length, fragmentation.
//! - [`FreeBlocks`]: the free space as its minimal CIDR cover.
//! - Exchange: [`Pool::allocated`] and [`Pool::from_allocated`] speak `RoaringBitmap`, a format that
//!   many languages read.
//! - [`invariants`]: the laws (disjoint, inside, aligned, minimal cover, no duplicates) as checks for
//!   your own data, each naming what breaks it.
//! - [`parse`]: strict parsing of typed-in addresses and networks (no host bits, no leading zeros),
//!   and the one rule for names of pools, sites and endpoints.
//!
//! # How it is fast
//! One bit per address, 64 to a word, and above the bitmap a 64-ary summary tree: each node keeps,
//! for every block order, a `u64` mask of the children holding a free aligned block of that order.
//! Finding the lowest free address or the lowest free /24 is one descent, a `tzcnt` per level (four
//! levels for a /8); marking fixes the path back up and stops as soon as nothing changes. Storage is
//! created on first touch, in chunks of 2^18 addresses and inside them leaves of 4,096, so a fresh
//! `0.0.0.0/0` holds under 1 MiB, a cluster of addresses anywhere about 0.9 KiB (1M addresses in
//! 4,096 scattered /24s of a /0: 3.7 MiB), and a dense pool about 1.14 bits per address.
//!
//! # Features
//! - `serde`: `Serialize`/`Deserialize` for [`Policy`] and [`PoolStats`].
//! - `proptest`: the `strategies` module: proptest strategies for aligned networks, addresses,
//!   filled pools and operation sequences, with an `Op` you can apply to a `Pool` and to your own
//!   allocator side by side.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod bits;
mod error;
pub mod invariants;
pub mod parse;
mod policy;
mod pool;
mod reserved;
#[cfg(feature = "proptest")]
pub mod strategies;
mod tree;

pub use error::Error;
pub use policy::{Policy, UnknownPolicy};
pub use pool::{FreeBlocks, Pool, PoolBuilder, PoolStats};
