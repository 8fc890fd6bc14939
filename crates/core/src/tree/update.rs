//! Marking positions used or free, and carrying the change up the summary levels.

use super::{
    CHUNK_ORDER, CHUNK_WORDS, Layout, Slot, Tree, chunk_of, node_level, set_child_level, set_children,
    stride, word_in_chunk,
};
use crate::bits::{low_bits, run_level};

impl Tree {
    /// Marks one free position used.
    #[inline]
    pub(crate) fn set(&mut self, pos: u64) {
        let flipped = self.flip_to(pos, true);
        debug_assert!(flipped, "set of a used position");
    }

    /// Marks `pos` used if it is free; returns whether it was.
    #[inline]
    pub(crate) fn set_free(&mut self, pos: u64) -> bool {
        self.flip_to(pos, true)
    }

    /// Marks `pos` free if it is used; returns whether it was.
    #[inline]
    pub(crate) fn clear_used(&mut self, pos: u64) -> bool {
        let flipped = self.flip_to(pos, false);
        if flipped {
            self.low_free = self.low_free.min(pos);
        }
        flipped
    }

    /// Marks one used position free.
    #[inline]
    pub(crate) fn clear(&mut self, pos: u64) {
        let flipped = self.clear_used(pos);
        debug_assert!(flipped, "clear of a free position");
    }

    /// Takes the lowest free position (first fit): when the low-water mark's word has a free bit,
    /// one read and one write of that word, with no search.
    #[inline]
    pub(crate) fn take_first_free(&mut self) -> Option<u64> {
        let bound = self.low_free;
        if bound >= self.size() {
            return None;
        }
        if let Slot::Mixed(data) = &mut self.slots[chunk_of(bound)] {
            let wi = word_in_chunk(bound);
            let old = data[self.layout.words + wi];
            let hits = !old & crate::bits::bits_from(bound & 63);
            if hits != 0 {
                let pos = (bound & !63) + u64::from(hits.trailing_zeros());
                data[self.layout.words + wi] = old | (1 << (pos & 63));
                let climb = settle(data, self.layout, self.top, pos, old, true);
                self.low_free = pos;
                if climb {
                    self.resummarize(pos, true);
                }
                return Some(pos);
            }
        }
        let pos = self.first_free()?;
        self.set(pos);
        Some(pos)
    }

    /// Makes `pos` used (`used`) or free; returns false, changing nothing, if it already was.
    /// Inlined into every caller: the common case is one word written and a check on that word alone.
    #[inline(always)]
    fn flip_to(&mut self, pos: u64, used: bool) -> bool {
        let j = chunk_of(pos);
        match self.slots[j] {
            Slot::Mixed(_) => {}
            Slot::Free if !used => return false,
            Slot::Full if used => return false,
            _ => {
                self.materialize(j);
            }
        }
        let Slot::Mixed(data) = &mut self.slots[j] else { return false };
        let word = &mut data[self.layout.words + word_in_chunk(pos)];
        let old = *word;
        if (old >> (pos & 63) & 1 == 1) == used {
            return false;
        }
        *word = old ^ (1 << (pos & 63));
        if settle(data, self.layout, self.top, pos, old, used) {
            self.resummarize(pos, used);
        }
        true
    }

    /// Carries a level-1 node's change (its word's flip is made and recorded) up the summaries. A word's
    /// level can only fall when a bit is set and rise when one is cleared, so each step up reads one
    /// parent bit to learn whether anything changed and stops there.
    #[inline(never)]
    fn resummarize(&mut self, pos: u64, used: bool) {
        let (top, layout) = (self.top, self.layout);
        let j = chunk_of(pos);
        let Slot::Mixed(data) = &mut self.slots[j] else { return };
        let wi = word_in_chunk(pos);
        let l1 = layout.l1 + (wi >> 6) * stride(1);
        let mut level = node_level(&data[l1..][..stride(1)], 1);
        if !update_child(&mut data[..stride(2)], wi >> 6, level, used) || top == 2 {
            return;
        }
        level = node_level(&data[..stride(2)], 2);
        self.propagate_upper(j, level, used);
    }

    /// Carries chunk `j`'s new level up through levels 3 and up.
    fn propagate_upper(&mut self, j: usize, mut level: u32, used: bool) {
        let mut idx = j;
        for l in 3..=self.top {
            let masks = &mut self.upper[l as usize - 3][(idx >> 6) * stride(l)..][..stride(l)];
            if !update_child(masks, idx & 63, level, used) {
                return;
            }
            level = node_level(masks, l);
            idx >>= 6;
        }
    }

    /// Marks positions `start..end` used (`used`) or free; every position must be in the other state
    /// (or, for `used == false`, may already be free). Costs O(words touched + levels).
    pub(crate) fn fill(&mut self, start: u64, end: u64, used: bool) {
        debug_assert!(start < end && end <= self.size());
        if !used {
            self.low_free = self.low_free.min(start);
        }
        let chunk_size = 1u64 << CHUNK_ORDER.min(self.order);
        let mut lo = start;
        while lo < end {
            let j = chunk_of(lo);
            let chunk_start = (j as u64) << CHUNK_ORDER;
            let hi = end.min(chunk_start + chunk_size);
            let level = if self.top >= 3 && lo == chunk_start && hi == chunk_start + chunk_size {
                self.slots[j] = if used { Slot::Full } else { Slot::Free };
                if used { 0 } else { CHUNK_ORDER + 1 }
            } else {
                self.fill_in_chunk(j, lo - chunk_start, hi - chunk_start, used)
            };
            if self.top >= 3 {
                self.set_upper_child(j, level);
            }
            lo = hi;
        }
    }

    /// Fills `lo..hi` (relative to chunk `j`) and refreshes the chunk's summaries; returns its level.
    ///
    /// Words and level-1 nodes strictly inside the range end up entirely used or entirely free, so
    /// their parents take them in one mask operation per order; only the (at most two) boundary
    /// children at each level are looked at one by one.
    fn fill_in_chunk(&mut self, j: usize, lo: u64, hi: u64, used: bool) -> u32 {
        let layout = self.layout;
        let data = self.materialize(j);
        let (first, last) = ((lo >> 6) as usize, ((hi - 1) >> 6) as usize);
        // Words wholly inside the range, as [full_lo, full_hi); the others touched are partial.
        let (full_lo, full_hi) = (lo.div_ceil(64) as usize, (hi / 64) as usize);
        let partial = |w: usize| w < full_lo || w >= full_hi;
        if full_lo < full_hi {
            data[layout.words + full_lo..layout.words + full_hi].fill(if used { !0 } else { 0 });
        }
        for w in distinct(first, last).filter(|&w| partial(w)) {
            let from = if w == first { lo & 63 } else { 0 };
            let to = if w == last { ((hi - 1) & 63) + 1 } else { 64 };
            let bits = low_bits((to - from) as u32) << from;
            let word = &mut data[layout.words + w];
            *word = if used { *word | bits } else { *word & !bits };
        }
        if layout.l1_count == 0 {
            return run_level(!data[layout.words]);
        }
        let (whole_word, whole_l1) = if used { (0, 0) } else { (7, 6 + 7) };
        for i in (first >> 6)..=(last >> 6) {
            let at = layout.l1 + i * stride(1);
            let inner = span_bits(full_lo, full_hi, i << 6);
            if inner != 0 {
                set_children(&mut data[at..][..stride(1)], inner, whole_word);
            }
            for w in distinct(first, last) {
                if w >> 6 == i && partial(w) {
                    let level = run_level(!data[layout.words + w]);
                    set_child_level(&mut data[at..][..stride(1)], w & 63, level);
                }
            }
        }
        if !layout.has_l2 {
            return node_level(&data[layout.l1..][..stride(1)], 1);
        }
        // Level-1 nodes wholly inside the range, and the (at most two) touched in part.
        let (nodes_lo, nodes_hi) = (full_lo.div_ceil(64), full_hi / 64);
        let inner = span_bits(nodes_lo, nodes_hi, 0);
        if inner != 0 {
            set_children(&mut data[..stride(2)], inner, whole_l1);
        }
        for i in distinct(first >> 6, last >> 6) {
            if i < nodes_lo || i >= nodes_hi {
                let level = node_level(&data[layout.l1 + i * stride(1)..][..stride(1)], 1);
                set_child_level(&mut data[..stride(2)], i, level);
            }
        }
        debug_assert!(layout.word_count <= CHUNK_WORDS);
        node_level(&data[..stride(2)], 2)
    }

    /// Marks many ranges used at once (each free before, ascending or not): bits first, then every
    /// touched chunk's summaries rebuilt once. For loading a saved state, where per-range upkeep of
    /// the summaries would cost more than rebuilding them.
    pub(crate) fn fill_many(&mut self, ranges: impl IntoIterator<Item = (u64, u64)>) {
        let mut touched = vec![false; self.slots.len()];
        let chunk_size = 1u64 << CHUNK_ORDER.min(self.order);
        for (start, end) in ranges {
            let mut lo = start;
            while lo < end {
                let j = chunk_of(lo);
                let chunk_start = (j as u64) << CHUNK_ORDER;
                let hi = end.min(chunk_start + chunk_size);
                if self.top >= 3 && lo == chunk_start && hi == chunk_start + chunk_size {
                    self.slots[j] = Slot::Full;
                } else {
                    let words = self.layout.words;
                    let data = self.materialize(j);
                    let (rel_lo, rel_hi) = (lo - chunk_start, hi - chunk_start);
                    for w in (rel_lo >> 6)..=((rel_hi - 1) >> 6) {
                        let from = rel_lo.max(w << 6) - (w << 6);
                        let to = rel_hi.min((w + 1) << 6) - (w << 6);
                        data[words + w as usize] |= low_bits((to - from) as u32) << from;
                    }
                }
                touched[j] = true;
                lo = hi;
            }
        }
        for (j, touched) in touched.into_iter().enumerate() {
            if let (true, Slot::Mixed(data)) = (touched, &mut self.slots[j]) {
                let mut data = std::mem::take(data);
                self.rebuild_chunk(&mut data);
                self.slots[j] = Slot::Mixed(data);
            }
        }
        self.rebuild_upper();
    }

    /// Writes chunk `j`'s level into level 3 and carries any change further up.
    fn set_upper_child(&mut self, j: usize, mut level: u32) {
        let mut idx = j;
        for l in 3..=self.top {
            let masks = &mut self.upper[l as usize - 3][(idx >> 6) * stride(l)..][..stride(l)];
            if !set_child_level(masks, idx & 63, level) {
                return;
            }
            level = node_level(masks, l);
            idx >>= 6;
        }
    }
}

/// Brings the chunk's level-1 summary up to date after the word holding `pos` was flipped from
/// `old`, working on the chunk data the caller already holds. Returns whether the level-1 node's own
/// level may have moved, so the change must climb further ([`Tree::resummarize`]).
#[inline(always)]
fn settle(data: &mut [u64], layout: Layout, top: u32, pos: u64, old: u64, used: bool) -> bool {
    let wi = word_in_chunk(pos);
    let new = old ^ (1 << (pos & 63));
    if top == 0 || level_kept(old, new, pos & 63, used) {
        return false;
    }
    // The free blocks that hold bit `b` are those inside the smallest aligned block around it that
    // holds a used bit. If the word keeps a free block at least that large elsewhere (one parent
    // bit says so), its level stays.
    // (A word that fills up or stops being full certainly changes level: skip the probe.)
    let l1 = layout.l1 + (wi >> 6) * stride(1);
    let full = if used { new } else { old } == !0;
    if !full {
        let order = nearest_used_order(if used { old } else { new }, (pos & 63) as u32) as usize;
        let probe = if used { order } else { order - 1 };
        if probe < stride(1) - 1 && data[l1 + probe] >> (wi & 63) & 1 == 1 {
            return false;
        }
    }
    // The word's level moved: its parent takes it; most of the time the parent's own level stays.
    update_child(&mut data[l1..][..stride(1)], wi & 63, run_level(!new), used) && top > 1
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
#[inline(always)]
fn update_child(node: &mut [u64], child: usize, level: u32, used: bool) -> bool {
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

/// Bits, relative to the 64 children starting at `node_first`, of the children in `lo..hi`.
#[inline]
fn span_bits(lo: usize, hi: usize, node_first: usize) -> u64 {
    let lo = lo.max(node_first);
    let hi = hi.min(node_first + 64);
    if lo >= hi { 0 } else { low_bits((hi - lo) as u32) << (lo - node_first) }
}

/// `a` and `b`, or just `a` when they are equal.
#[inline]
fn distinct(a: usize, b: usize) -> impl Iterator<Item = usize> {
    std::iter::once(a).chain((b != a).then_some(b))
}
