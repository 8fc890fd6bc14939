//! The flat bitmap under the scanning peers: one bit per address, 64 to a `u64`, set = used.

use crate::Dataset;

/// A plain bitmap with a used counter.
#[derive(Clone)]
pub(crate) struct Flat {
    pub(crate) words: Vec<u64>,
    pub(crate) size: u32,
    pub(crate) used: u64,
}

impl Flat {
    pub(crate) fn build(data: &Dataset) -> Flat {
        let size = data.size();
        let mut words = vec![0u64; (size as usize).div_ceil(64)];
        for offset in &data.used {
            words[offset as usize >> 6] |= 1 << (offset & 63);
        }
        Flat { words, size, used: data.used.len() }
    }

    #[inline]
    pub(crate) fn get(&self, offset: u32) -> bool {
        self.words[offset as usize >> 6] >> (offset & 63) & 1 == 1
    }

    #[inline]
    pub(crate) fn set(&mut self, offset: u32) -> bool {
        if offset >= self.size || self.get(offset) {
            return false;
        }
        self.words[offset as usize >> 6] |= 1 << (offset & 63);
        self.used += 1;
        true
    }

    #[inline]
    pub(crate) fn clear(&mut self, offset: u32) -> bool {
        if offset >= self.size || !self.get(offset) {
            return false;
        }
        self.words[offset as usize >> 6] &= !(1 << (offset & 63));
        self.used -= 1;
        true
    }

    /// First word at or after `from` (wrapping once) with a free bit; its first free offset.
    #[inline]
    pub(crate) fn scan_words(&self, from: usize) -> Option<u32> {
        let n = self.words.len();
        (0..n).map(|i| (from + i) % n).find_map(|w| {
            let free = !self.words[w];
            (free != 0).then(|| (w as u32) * 64 + free.trailing_zeros())
        })
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.words.capacity() * 8
    }
}

/// The `Allocator` methods every flat-bitmap peer shares (they differ only in how `allocate` scans);
/// the peer keeps its bitmap in a field named `bits`.
macro_rules! flat_bitmap_ops {
    () => {
        fn allocate_specific(&mut self, offset: u32) -> bool {
            self.bits.set(offset)
        }

        fn release(&mut self, offset: u32) -> bool {
            self.bits.clear(offset)
        }

        fn heap_bytes(&self) -> usize {
            self.bits.heap_bytes()
        }
    };
}
pub(crate) use flat_bitmap_ops;
