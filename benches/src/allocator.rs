//! One interface over every implementation, so a bench is written once and run for each.

use crate::Dataset;

/// A single-address allocator over the offsets `0..dataset.size()`.
pub trait Allocator: Sized {
    /// Short name used as the criterion function id (`ours`, `k8s_bitmap`, ...).
    const NAME: &'static str;

    /// A pool with every address of `data.used` taken.
    fn build(data: &Dataset) -> Self;

    /// Takes the next free address as this implementation chooses it.
    fn allocate(&mut self) -> Option<u32>;

    /// Takes this address; false if it was not free.
    fn allocate_specific(&mut self, offset: u32) -> bool;

    /// Gives an address back; false if it was not taken.
    fn release(&mut self, offset: u32) -> bool;

    /// Bytes held on the heap, as well as the implementation can tell.
    fn heap_bytes(&self) -> usize;
}

/// An allocator that also hands out aligned blocks of `2^order` addresses.
pub trait BlockAllocator: Allocator {
    /// Takes a free aligned block; returns its first offset.
    fn allocate_block(&mut self, order: u32) -> Option<u32>;

    /// Gives a block back.
    fn release_block(&mut self, start: u32, order: u32);
}
