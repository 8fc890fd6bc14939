//! Carrying one bit's flip up the summaries. Knowing the direction (a set can only lower a word's
//! level, a clear only raise it) lets each step read one parent bit to learn whether anything
//! changed, and stop there: most flips in a fragmented pool end at the word.

use super::chunk::Chunk;
use super::{Slot, Tree, carry_into_l2, chunk_of, node_level, stride, word_in_chunk};
use crate::bits::{low_bits, short_run_level};

impl Tree {
    /// Carries a level-1 node's change (its word's flip is made and recorded) up the summaries. A word's
    /// level can only fall when a bit is set and rise when one is cleared, so each step up reads one
    /// parent bit to learn whether anything changed and stops there.
    #[inline(never)]
    pub(super) fn resummarize(&mut self, pos: u64, used: bool) {
        let (top, layout) = (self.top, self.layout);
        let j = chunk_of(pos);
        let Slot::Mixed(chunk) = &mut self.slots[j] else { return };
        if let Some(level) = carry_into_l2(chunk, &layout, top, word_in_chunk(pos) >> 6, used) {
            self.propagate_upper(j, level, used);
        }
    }

    /// Carries chunk `j`'s new level up through levels 3 and up (the tree has them).
    #[inline(always)]
    pub(super) fn propagate_upper(&mut self, j: usize, mut level: u32, used: bool) {
        let top = self.top;
        debug_assert!(top >= 3);
        let mut idx = j;
        for l in 3..top {
            let masks = &mut self.upper[l as usize - 3][(idx >> 6) * stride(l)..][..stride(l)];
            if !update_child(masks, idx & 63, level, used) {
                return;
            }
            level = node_level(masks, l);
            idx >>= 6;
        }
        // The root: nothing above it takes its level, so it is not computed.
        update_child(&mut self.upper[top as usize - 3][..stride(top)], idx, level, used);
    }
}

/// Brings the level-1 node of the leaf starting at `leaf` up to date after the word holding `pos`
/// was flipped from `old`, working on the chunk the caller already holds. Returns whether the
/// level-1 node's own level may have moved, so the change must climb further
/// ([`Tree::resummarize`]).
#[inline(always)]
pub(super) fn settle(chunk: &mut Chunk, leaf: usize, top: u32, pos: u64, old: u64, used: bool) -> bool {
    let wi = word_in_chunk(pos);
    let new = old ^ (1 << (pos & 63));
    if top == 0 || level_kept(old, new, pos & 63, used) {
        return false;
    }
    // The free blocks that hold bit `b` are those inside the smallest aligned block around it that
    // holds a used bit. If the word keeps a free block at least that large elsewhere (one parent
    // bit says so), its level stays.
    // (A word that fills up or stops being full certainly changes level: skip the probe.)
    let node = chunk.node_at_mut(leaf);
    let full = if used { new } else { old } == !0;
    if !full {
        let order = nearest_used_order(if used { old } else { new }, (pos & 63) as u32) as usize;
        let probe = if used { order } else { order - 1 };
        if probe < stride(1) - 1 && node[probe] >> (wi & 63) & 1 == 1 {
            return false;
        }
    }
    // The word's level moved: its parent takes it; most of the time the parent's own level stays.
    update_child(node, wi & 63, short_run_level(!new), used) && top > 1
}

/// Whether flipping bit `b` (`old` to `new`) certainly left the word's level as it was, judged from
/// the word alone. With `b`'s buddy used, the only free block `b` can belong to is `b` itself:
/// taking it keeps every larger free block and, unless the word is now full, some free bit; giving
/// it back adds a block of order 0, which changes nothing unless the word was full. Most flips in a
/// fragmented pool end here, without touching the summaries.
#[inline(always)]
fn level_kept(old: u64, new: u64, b: u64, used: bool) -> bool {
    let buddy_used = new >> (b ^ 1) & 1 == 1;
    buddy_used && if used { new != !0 } else { old != !0 }
}

/// Order of the smallest aligned block around bit `b` that holds a set bit of `x` (where bit `b` is
/// clear); 7 when `x` is empty. The nearest set bits below and above decide it.
#[inline(always)]
fn nearest_used_order(x: u64, b: u32) -> u32 {
    let below = x & low_bits(b);
    let above = x & !low_bits(b + 1);
    let mut order = 7;
    if below != 0 {
        order = order.min((b ^ (63 - below.leading_zeros())).ilog2() + 1);
    }
    if above != 0 {
        order = order.min((b ^ above.trailing_zeros()).ilog2() + 1);
    }
    order
}

/// Moves a child's level in its parent node after one bit flip, using that the level moved in one
/// known direction: down after a set (`used`), up after a clear. Returns whether the node's own level
/// may have moved: only if its entirely-free mask or its highest non-empty mask changed.
///
/// After a clear, `level` need only be exact when the level rose: a value at most the child's old
/// level finds its bit already set and changes nothing, which lets a block release pass the level of
/// the free run it made instead of computing the child's whole level.
#[inline(always)]
pub(super) fn update_child(node: &mut [u64], child: usize, level: u32, used: bool) -> bool {
    let bit = 1u64 << child;
    let level = level as usize;
    let (masks, nonempty) = node.split_at_mut(node.len() - 1);
    let nonempty = &mut nonempty[0];
    let whole = masks.len() - 1;
    if used {
        // Bits at `level..` must become clear; they were set iff the level fell.
        if level > whole || masks[level] & bit == 0 {
            return false;
        }
        let mut moved = false;
        for (k, mask) in masks.iter_mut().enumerate().skip(level) {
            if *mask & bit == 0 {
                break;
            }
            *mask &= !bit;
            if *mask == 0 || k == whole {
                // Masks shrink upwards, so an emptied mask was the highest non-empty one.
                *nonempty &= !(u64::from(*mask == 0) << k);
                moved = true;
            }
        }
        moved
    } else {
        // Bits below `level` must become set; the top one was clear iff the level rose.
        if level == 0 || masks[level - 1] & bit != 0 {
            return false;
        }
        let moved = level - 1 == whole || *nonempty >> (level - 1) == 0;
        for (k, mask) in masks[..level].iter_mut().enumerate().rev() {
            if *mask & bit != 0 {
                break;
            }
            *mask |= bit;
            *nonempty |= 1 << k;
        }
        moved
    }
}
