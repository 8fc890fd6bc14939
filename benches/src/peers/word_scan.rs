//! First fit over a flat `Vec<u64>` bitmap, scanning whole words from the start for one that is not
//! full: the usual hand-written allocator, and the fastest possible scan (64 addresses per test).
//! Blocks the same way: the first aligned run of zero words (4 for a /24), skipping past any word
//! that is not zero, or the first aligned run of zero bits inside a word for blocks under 64.

use super::flat::{Flat, flat_bitmap_ops};
use crate::{Allocator, BlockAllocator, Dataset};

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

impl BlockAllocator for WordScan {
    fn allocate_block(&mut self, order: u32) -> Option<u32> {
        let words = &mut self.bits.words;
        if order < 6 {
            let size = 1u32 << order;
            let mask = if size == 64 { !0 } else { (1u64 << size) - 1 };
            for (w, word) in words.iter_mut().enumerate() {
                let mut at = 0;
                while at < 64 {
                    if *word & (mask << at) == 0 {
                        *word |= mask << at;
                        self.bits.used += u64::from(size);
                        return Some(w as u32 * 64 + at);
                    }
                    at += size;
                }
            }
            return None;
        }
        let run = 1usize << (order - 6);
        let mut group = 0;
        'groups: while group + run <= words.len() {
            // The last non-zero word of the group decides where the next candidate starts.
            for i in (group..group + run).rev() {
                if words[i] != 0 {
                    group = (i + 1).next_multiple_of(run);
                    continue 'groups;
                }
            }
            words[group..group + run].fill(!0);
            self.bits.used += 1 << order;
            return Some(group as u32 * 64);
        }
        None
    }

    fn release_block(&mut self, start: u32, order: u32) {
        if order < 6 {
            let size = 1u32 << order;
            let mask = if size == 64 { !0 } else { (1u64 << size) - 1 };
            self.bits.words[start as usize >> 6] &= !(mask << (start & 63));
        } else {
            let first = start as usize >> 6;
            self.bits.words[first..first + (1 << (order - 6))].fill(0);
        }
        self.bits.used -= 1 << order;
    }
}
