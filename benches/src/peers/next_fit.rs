//! Next fit: the word scan, but starting at the word of the last allocation and wrapping (a rolling
//! offset). A strong, simple peer: in a pool filled in order, the next free bit is usually in the
//! word it looks at first.

use super::flat::{Flat, flat_bitmap_ops};
use crate::{Allocator, Dataset};

/// Word scan from a rolling offset.
pub struct NextFit {
    bits: Flat,
    next_word: usize,
}

impl Allocator for NextFit {
    const NAME: &'static str = "next_fit";

    fn build(data: &Dataset) -> Self {
        NextFit { bits: Flat::build(data), next_word: 0 }
    }

    #[inline]
    fn allocate(&mut self) -> Option<u32> {
        let at = self.bits.scan_words(self.next_word)?;
        self.bits.set(at);
        self.next_word = at as usize >> 6;
        Some(at)
    }

    flat_bitmap_ops!();
}
