//! A `RoaringBitmap` of free addresses: allocate is `min()` + `remove`, release is `insert`, and a
//! block is the first aligned candidate, from the lowest free address up, for which
//! `contains_range` holds. What one builds in an afternoon with a good compressed-bitmap crate.

use roaring::RoaringBitmap;

use crate::{Allocator, BlockAllocator, Dataset};

/// The free set as a roaring bitmap.
pub struct RoaringFree {
    free: RoaringBitmap,
    size: u32,
}

impl Allocator for RoaringFree {
    const NAME: &'static str = "roaring_free";

    fn build(data: &Dataset) -> Self {
        let mut free = RoaringBitmap::new();
        free.insert_range(0..data.size());
        free -= &data.used;
        RoaringFree { free, size: data.size() }
    }

    #[inline]
    fn allocate(&mut self) -> Option<u32> {
        let at = self.free.min()?;
        self.free.remove(at);
        Some(at)
    }

    fn allocate_specific(&mut self, offset: u32) -> bool {
        self.free.remove(offset)
    }

    fn release(&mut self, offset: u32) -> bool {
        offset < self.size && self.free.insert(offset)
    }

    fn heap_bytes(&self) -> usize {
        self.free.serialized_size()
    }
}

impl BlockAllocator for RoaringFree {
    fn allocate_block(&mut self, order: u32) -> Option<u32> {
        let size = 1u64 << order;
        let mut start = u64::from(self.free.min()?).next_multiple_of(size);
        while start + size <= u64::from(self.size) {
            let range = start as u32..=(start + size - 1) as u32;
            if self.free.contains_range(range.clone()) {
                self.free.remove_range(range);
                return Some(start as u32);
            }
            start += size;
        }
        None
    }

    fn release_block(&mut self, start: u32, order: u32) {
        self.free.insert_range(start..=start + ((1u32 << order) - 1));
    }
}
