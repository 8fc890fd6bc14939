//! First fit over a flat `Vec<u64>` bitmap, scanning whole words from the start for one that is not
//! full: the usual hand-written allocator, and the fastest possible scan (64 addresses per test).

use super::flat::{Flat, flat_bitmap_ops};
use crate::{Allocator, Dataset};

/// First fit by word scan from offset 0.
pub struct WordScan {
    bits: Flat,
}

impl Allocator for WordScan {
    const NAME: &'static str = "word_scan";

    fn build(data: &Dataset) -> Self {
        WordScan { bits: Flat::build(data) }
    }

    #[inline]
    fn allocate(&mut self) -> Option<u32> {
        let at = self.bits.scan_words(0)?;
        self.bits.set(at);
        Some(at)
    }

    flat_bitmap_ops!();
}
