//! Shared parts of the ipam benches: deterministic datasets, one interface over every allocator,
//! and the peers (other ways of doing the same job) that run beside ours in the same groups.
//!
//! Everything works in offsets from the pool's first address (`0..2^24` for the 10.0.0.0/8 pool),
//! so every implementation gets the same pool and the same fill.

pub mod allocator;
pub mod batches;
pub mod estimates;
pub mod ours;
pub mod peers;
pub mod support;

pub use allocator::{Allocator, BlockAllocator};
pub use support::Dataset;
