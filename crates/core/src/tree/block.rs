//! Blocks of whole words under one level-1 node (order 6 to 12: a /26 to a /20), taken by first fit
//! and given back in one pass down the path and one pass up.
//!
//! Why a path of its own: the general route (a descent, then [`Tree::fill`]) finds the chunk and the
//! leaf twice, recomputes the leaf's level from scratch and checks the block word by word through
//! the hot-word overlay. Here the descent ends holding the leaf, the block is one run of words in it,
//! and its level-1 node changes by one mask operation per order.

use super::hot::Hot;
use super::{CHUNK_ORDER, Tree, carry_level_into_l2, chunk_of, node_level, stride, word_in_chunk};
use crate::bits::{aligned_runs, low_bits, short_run_level};

/// Calls `$tree.$method::<K>($args)` with the block order `$k` (6 to 12) as the constant `K`, so each
/// order's path has its word count, masks and shifts folded in rather than computed per call.
macro_rules! by_order {
    ($k:expr, $tree:ident.$method:ident($($arg:expr),*)) => {
        match $k {
            6 => $tree.$method::<6>($($arg),*),
            7 => $tree.$method::<7>($($arg),*),
            8 => $tree.$method::<8>($($arg),*),
            9 => $tree.$method::<9>($($arg),*),
            10 => $tree.$method::<10>($($arg),*),
            11 => $tree.$method::<11>($($arg),*),
            12 => $tree.$method::<12>($($arg),*),
            k => unreachable!("order {k} is not a leaf block"),
        }
    };
}

impl Tree {
    /// Whether blocks of order `k` take this path: whole words under one level-1 node, in a tree
    /// whose leaves hold 64 words (every tree with a level 2).
    #[inline]
    pub(crate) fn is_leaf_block(&self, k: u32) -> bool {
        self.layout.has_l2 && (6..=12).contains(&k)
    }

    /// Takes the lowest aligned free block of order `k` (see [`Tree::is_leaf_block`]) and returns its
    /// start.
    pub(crate) fn take_first_block(&mut self, k: u32) -> Option<u64> {
        debug_assert!(self.is_leaf_block(k));
        by_order!(k, self.take_first_block_of())
    }

    /// [`Tree::take_first_block`] for order `K`.
    #[inline(always)]
    fn take_first_block_of<const K: u32>(&mut self) -> Option<u64> {
        let k = K;
        // The descent trusts the stored summaries (a call only when a word is hot or some wait).
        if self.hot.word != super::hot::NONE || self.dirty {
            self.flush();
        }
        // The level counts down beside the nodes rather than from an index into them (that took a
        // division per level).
        let (mut j, mut level) = (0, self.top);
        for masks in self.upper.iter().rev() {
            let children = masks[j * stride(level) + k as usize];
            if children == 0 {
                return None;
            }
            j = j * 64 + children.trailing_zeros() as usize;
            level -= 1;
        }
        let (layout, top) = (self.layout, self.top);
        let chunk = self.materialize(j);
        let nodes = chunk.l2[k as usize];
        if nodes == 0 {
            // Only a level-2 root can get here: a level-3 mask bit promises a block in the chunk.
            return None;
        }
        let i = nodes.trailing_zeros() as usize;
        let start = chunk.leaf_start(&layout, i);
        let leaf = chunk.whole_leaf_at(&layout, start);
        let runs = aligned_runs(leaf[stride(1) - 2], k - 6);
        debug_assert_ne!(runs, 0, "the level-2 node promised a free block in leaf {i}");
        let first = u64::from(runs.trailing_zeros());
        let level = mark_words(leaf, first as usize, 1 << (k - 6), true);
        let level = carry_level_into_l2(chunk, top, i, level, true);
        if let Some(level) = level {
            self.propagate_upper(j, level, true);
        }
        let start = ((j as u64) << CHUNK_ORDER) + ((i as u64) << 12) + (first << 6);
        if self.hot.word.wrapping_sub(start >> 6) < 1 << (k - 6) {
            // The hot word was written back above, and has just been overwritten.
            self.hot = Hot::COLD;
        }
        Some(start)
    }

    /// Takes the aligned block of order `k` at `start` (see [`Tree::is_leaf_block`]) if every
    /// position in it is free; otherwise changes nothing and returns the first used one.
    pub(crate) fn take_given_block(&mut self, start: u64, k: u32) -> Result<(), u64> {
        by_order!(k, self.mark_given_block(start, true))
    }

    /// Frees the aligned block of order `k` at `start` (see [`Tree::is_leaf_block`]) if every
    /// position in it is used; otherwise changes nothing and returns the first free one.
    pub(crate) fn free_block(&mut self, start: u64, k: u32) -> Result<(), u64> {
        by_order!(k, self.mark_given_block(start, false))
    }

    /// Marks the block at `start` used (`used`) or free if every position in it is in the other
    /// state; otherwise changes nothing and returns the first that is not. One lookup of the leaf,
    /// one pass over the block's words, one mask operation per level.
    #[inline(always)]
    fn mark_given_block<const K: u32>(&mut self, start: u64, used: bool) -> Result<(), u64> {
        let k = K;
        debug_assert!(self.is_leaf_block(k) && start.is_multiple_of(1 << k));
        let count = 1u64 << (k - 6);
        if self.hot.word.wrapping_sub(start >> 6) < count {
            self.retire_hot();
        }
        // The summaries above the block move by what they say now: they must say it exactly.
        self.refresh();
        let (j, wi) = (chunk_of(start), word_in_chunk(start));
        let i = wi >> 6;
        let (layout, top) = (self.layout, self.top);
        // Nothing to mark means the block is wholly in the wanted state: its first position fails.
        let (chunk, at) = self.leaf_to_mark(j, i, used).ok_or(start)?;
        let leaf = chunk.whole_leaf_at(&layout, at);
        let was = if used { 0 } else { !0 };
        let words = &leaf[stride(1) + (wi & 63)..][..count as usize];
        if !all_equal(words, was) {
            return Err(first_unequal(words, was, start));
        }
        let level = mark_words(leaf, wi & 63, count as usize, used);
        let level = carry_level_into_l2(chunk, top, i, level, used);
        if let Some(level) = level {
            self.propagate_upper(j, level, used);
        }
        if !used {
            self.lower_marks(start);
        }
        Ok(())
    }
}

/// Whether every word equals `fill`: straight-line ORs for the usual sizes (a /24 is four words),
/// a loop otherwise; where they differ is found only on failure ([`first_unequal`]).
#[inline(always)]
fn all_equal(words: &[u64], fill: u64) -> bool {
    let differ = match *words {
        [a] => a ^ fill,
        [a, b] => (a ^ fill) | (b ^ fill),
        [a, b, c, d] => (a ^ fill) | (b ^ fill) | (c ^ fill) | (d ^ fill),
        _ => words.iter().fold(0, |differ, &word| differ | (word ^ fill)),
    };
    differ == 0
}

/// The first position of `words` (not all equal to `fill`) whose bit differs from `fill`; the first
/// word starts at `start`.
#[cold]
fn first_unequal(words: &[u64], fill: u64, start: u64) -> u64 {
    let (n, differ) = words
        .iter()
        .map(|&word| word ^ fill)
        .enumerate()
        .find(|&(_, differ)| differ != 0)
        .expect("a word differs");
    start + ((n as u64) << 6) + u64::from(differ.trailing_zeros())
}

/// Marks `count` (a power of two) words of a leaf (its level-1 node, then 64 words) from word `first`
/// (a multiple of `count`) on entirely used or entirely free, and writes the node: a used word is in
/// no mask, a free one in every mask. Returns, for the parent's update
/// ([`super::flip::update_child`], which tests one bit to learn whether the level moved, so the old
/// level is never computed):
/// - used: the node's new level;
/// - free: 7 plus the word order of the largest aligned free run of words around the freed ones. That
///   is the node's new level if the level rose, and at most it otherwise (a larger free run elsewhere
///   was there before), which is all a free's update needs; it costs one buddy test per order the
///   run grows (at most six) instead of a [`crate::bits::run_level`] of the whole mask.
#[inline(always)]
pub(super) fn mark_words(leaf: &mut [u64], first: usize, count: usize, used: bool) -> u32 {
    debug_assert!(count.is_power_of_two() && count <= 64 && first.is_multiple_of(count));
    let old_level = if cfg!(debug_assertions) { node_level(&leaf[..stride(1)], 1) } else { 0 };
    let (node, bitmap) = leaf.split_at_mut(stride(1));
    let fill = if used { !0 } else { 0 };
    // Fixed-size stores for the usual sizes (a /24 is four words) rather than a call to memset.
    match count {
        1 => bitmap[first] = fill,
        2 => bitmap[first..first + 2].copy_from_slice(&[fill; 2]),
        4 => bitmap[first..first + 4].copy_from_slice(&[fill; 4]),
        _ => bitmap[first..first + count].fill(fill),
    }
    // `count` is 1 to 64, so the shift never overflows ([`low_bits`] would test for 64).
    let words = (!0u64 >> (64 - count)) << first;
    let (masks, nonempty) = node.split_at_mut(stride(1) - 1);
    if used {
        for mask in masks.iter_mut() {
            *mask &= !words;
        }
        // Masks shrink upwards: with an entirely free word left, every mask holds it, and the level
        // is the longest aligned run of such words (short in a fragmented leaf: counted by doubling).
        if masks[6] != 0 {
            nonempty[0] = low_bits(stride(1) as u32 - 1);
            return 6 + short_run_level(masks[6]);
        }
        nonempty[0] =
            masks.iter().enumerate().fold(0, |filled, (k, mask)| filled | u64::from(*mask != 0) << k);
        node_level(node, 1)
    } else {
        for mask in masks.iter_mut() {
            *mask |= words;
        }
        nonempty[0] = low_bits(stride(1) as u32 - 1);
        let level = 7 + merged_order(masks[6], first, count);
        // The contract above: never above the new level, and exact when the level rose.
        let new_level = if cfg!(debug_assertions) { node_level(node, 1) } else { level };
        debug_assert!(level <= new_level && (new_level <= old_level || level == new_level));
        level
    }
}

/// Word order (log2 of the word count) of the largest aligned all-set run of `whole` that contains
/// the aligned run of `count` words at `first`, which is all set.
#[inline(always)]
fn merged_order(whole: u64, first: usize, count: usize) -> u32 {
    let (mut order, mut start) = (count.trailing_zeros(), first);
    while order < 6 {
        let size = 1usize << order;
        // `size` is at most 32, so the shift never overflows.
        let buddy = ((1u64 << size) - 1) << (start ^ size);
        if whole & buddy != buddy {
            break;
        }
        start &= !size;
        order += 1;
    }
    order
}
