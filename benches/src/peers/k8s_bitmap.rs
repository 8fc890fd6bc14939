//! The Kubernetes service-IP allocator's default strategy (`pkg/registry/core/service/allocator`,
//! `bitmap.go`: `randomScanStrategy`): a flat bitmap of the range; to allocate, pick a random offset
//! and test bit by bit (`big.Int.Bit(at) == 0`), wrapping, until a free one is found. Releases clear
//! the bit. It has no block allocation.

use super::flat::{Flat, flat_bitmap_ops};
use crate::{Allocator, Dataset};

/// Random offset, then a bit-by-bit scan.
pub struct K8sBitmap {
    bits: Flat,
    rng: fastrand::Rng,
}

impl Allocator for K8sBitmap {
    const NAME: &'static str = "k8s_bitmap";

    fn build(data: &Dataset) -> Self {
        K8sBitmap { bits: Flat::build(data), rng: fastrand::Rng::with_seed(7) }
    }

    #[inline]
    fn allocate(&mut self) -> Option<u32> {
        let max = self.bits.size;
        if self.bits.used >= u64::from(max) {
            return None;
        }
        let offset = self.rng.u32(0..max);
        for i in 0..max {
            let at = ((u64::from(offset) + u64::from(i)) % u64::from(max)) as u32;
            if !self.bits.get(at) {
                self.bits.set(at);
                return Some(at);
            }
        }
        None
    }

    flat_bitmap_ops!();
}
