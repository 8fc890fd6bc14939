//! Marking positions used or free, and carrying the change up the summary levels.

use super::block::mark_words;
use super::chunk::Chunk;
use super::flip::{settle, update_child};
use super::hot::Hot;
use super::{
    CHUNK_ORDER, CHUNK_WORDS, Slot, Tree, carry_into_l2, carry_level_into_l2, chunk_of, node_level,
    set_child_level, set_children, stride, word_in_chunk,
};
use crate::bits::{bits_from, low_bits, run_level};

impl Tree {
    /// Marks one free position used.
    #[inline]
    pub(crate) fn set(&mut self, pos: u64) {
        let flipped = self.flip_to(pos, true);
        debug_assert!(flipped, "set of a used position");
    }

    /// Marks `pos` used if it is free; returns whether it was. A given address is rarely followed by
    /// another change in its word, so outside the hot word it is written through
    /// ([`Tree::set_through`]) and the hot word stays where allocation works.
    #[inline]
    pub(crate) fn set_free(&mut self, pos: u64) -> bool {
        if pos >> 6 == self.hot.word {
            return self.flip_to(pos, true);
        }
        self.set_through(pos)
    }

    /// Writes releases outside the hot word through instead of making their word hot: for the
    /// rolling policy, which allocates past the previous allocation, not at the released address,
    /// so the hot word stays where it allocates.
    pub(crate) fn write_releases_through(&mut self, through: bool) {
        self.releases_through = through;
    }

    /// Marks one used position free.
    #[inline]
    pub(crate) fn clear(&mut self, pos: u64) {
        let flipped = self.clear_used(pos);
        debug_assert!(flipped, "clear of a free position");
    }

    /// Takes the lowest free position (first fit): when the low-water mark's word is the hot word and
    /// has a free bit, one read and one write of a field, with no search and no summary upkeep.
    ///
    /// Nothing is free below the mark, so in its word the lowest free bit is the word's lowest: no
    /// mask from the mark, and the mark is only compared (a predicted branch), so one allocation
    /// does not wait for the previous release's write of it.
    #[inline]
    pub(crate) fn take_first_free(&mut self) -> Option<u64> {
        // The mark's word is compared as a difference: written as an equality of word indexes, the
        // compiler derives the position from the mark and the chain through it comes back. (The
        // difference wraps past 64 when no word is hot.)
        let start = self.hot.word << 6;
        if self.low_free.wrapping_sub(start) < 64 {
            let free = !self.hot.bits;
            if free != 0 {
                let pos = start + u64::from(free.trailing_zeros());
                self.hot.bits |= free & free.wrapping_neg();
                self.low_free = pos;
                return Some(pos);
            }
        }
        self.take_first_free_elsewhere()
    }

    /// The lowest free position lies outside the hot word: its word becomes hot, since first fit
    /// will keep allocating there.
    #[inline(never)]
    fn take_first_free_elsewhere(&mut self) -> Option<u64> {
        let pos = self.first_free()?;
        Some(self.take_found(pos))
    }

    /// Takes the lowest free position at or after `bound`, else the lowest of all (the rolling
    /// policy). When `bound`'s word is the hot word and has a free bit at or after it (a rolling
    /// allocation right after the previous one), one read and one write of a field, as first fit.
    #[inline]
    pub(crate) fn take_next_free(&mut self, bound: u64) -> Option<u64> {
        self.take_in_hot_word(bound).or_else(|| self.take_next_free_elsewhere(bound))
    }

    /// The next free position lies outside the hot word: its word becomes hot, since the rolling
    /// policy will keep allocating there.
    #[inline(never)]
    fn take_next_free_elsewhere(&mut self, bound: u64) -> Option<u64> {
        self.refresh();
        let pos = self.next_free(bound).or_else(|| self.first_free())?;
        Some(self.take_found(pos))
    }

    /// Takes the lowest free position at or after `bound` if `bound`'s word is the hot word and
    /// holds one.
    #[inline(always)]
    fn take_in_hot_word(&mut self, bound: u64) -> Option<u64> {
        if bound >> 6 != self.hot.word {
            return None;
        }
        let hits = !self.hot.bits & bits_from(bound & 63);
        if hits == 0 {
            return None;
        }
        let pos = (bound & !63) + u64::from(hits.trailing_zeros());
        self.hot.bits |= 1 << (pos & 63);
        Some(pos)
    }

    /// Takes free position `pos`, found by a search, making its word hot (the hot word itself may
    /// hold it, past a full bound word).
    #[inline(always)]
    fn take_found(&mut self, pos: u64) -> u64 {
        let w = pos >> 6;
        if w != self.hot.word {
            self.adopt(w, self.stored_word(w));
            self.keep_resume_clear_of_hot();
        }
        self.hot.bits |= 1 << (pos & 63);
        pos
    }

    /// Makes `pos` used (`used`) or free; returns false, changing nothing, if it already was.
    #[inline(always)]
    pub(super) fn flip_to(&mut self, pos: u64, used: bool) -> bool {
        if pos >> 6 != self.hot.word {
            // One copy per direction: the direction is then folded into the flip and its tests.
            return if used { self.flip_elsewhere::<true>(pos) } else { self.flip_elsewhere::<false>(pos) };
        }
        let bit = 1 << (pos & 63);
        if (self.hot.bits & bit != 0) == used {
            return false;
        }
        self.hot.bits ^= bit;
        true
    }

    /// [`Tree::flip_to`] outside the hot word: `pos`'s word becomes hot if the flip happens. A lone
    /// release (releases are usually scattered) is held rather than written through: first fit often
    /// takes the released address back, and otherwise the summary upkeep happens at the next change,
    /// when the next word's load is already on its way (measured: writing releases through took
    /// release + next free from 411 to 730 instructions). The exception is a tree that writes
    /// releases through ([`Tree::write_releases_through`]: the rolling policy, which does not take
    /// them back). Given addresses are written through ([`Tree::set_through`]). So is a flip in a
    /// word marked for a refresh ([`super::dirty`]), whose change is only logged: its summaries
    /// wait for the refresh that the next search makes in any case, and handing the previous hot
    /// word on would cost a second lookup (release + given address 224.1 -> 188.7 instructions on
    /// `random-50`, where the given addresses that undo each batch of releases mark every word).
    ///
    /// One copy per direction, and the marked word's flip and log written here rather than in a
    /// callee reached by a tail call: release + given address 180.0 -> 168.0 instructions on
    /// `random-50`, first-fit release + next free 0.5 fewer.
    #[inline(never)]
    fn flip_elsewhere<const USED: bool>(&mut self, pos: u64) -> bool {
        let used = USED;
        if !used && self.releases_through {
            return self.clear_through(pos);
        }
        // The word is looked up here. A word not marked goes on in a tail call, which tests the
        // flip itself: a callee that always returned true would have its result folded in, and its
        // call would no longer be a tail call.
        let (j, wi) = (chunk_of(pos), word_in_chunk(pos));
        let layout = self.layout;
        let Slot::Mixed(chunk) = &mut self.slots[j] else { return self.flip_elsewhere_unstored(pos, used) };
        let Some(leaf) = chunk.leaf_start_if_stored(&layout, wi >> 6) else {
            return self.flip_elsewhere_unstored(pos, used);
        };
        // Outside the hot word the stored bitmap is the truth.
        let marked = self.dirty && chunk.is_marked(wi);
        let word = chunk.word_at_mut(&layout, leaf, wi & 63);
        let stored = *word;
        if marked {
            // Its summaries wait for a refresh anyway, which the next search makes: written and
            // logged, the hot word left as it is.
            let bit = 1 << (pos & 63);
            if (stored & bit != 0) == used {
                return false;
            }
            let new = stored ^ bit;
            *word = new;
            self.log_change(pos >> 6, stored, new);
            if self.flip_moves_marks(pos) {
                self.move_marks_after_marked_flip(pos, used);
            }
            return true;
        }
        self.flip_into_hot_word(pos, used, stored, leaf)
    }

    /// The rest of [`Tree::flip_elsewhere`] for a word not marked, whose stored value is `stored`
    /// and whose leaf starts at `leaf`: if the bit flips, the word made hot, the marks moved and
    /// the previous hot word handed on.
    #[inline(never)]
    fn flip_into_hot_word(&mut self, pos: u64, used: bool, stored: u64, leaf: usize) -> bool {
        let bit = 1 << (pos & 63);
        if (stored & bit != 0) == used {
            return false;
        }
        let was = std::mem::replace(&mut self.hot, Hot { word: pos >> 6, bits: stored ^ bit, stored, leaf });
        // The marks read the word handed on from `was`, not from its stored copy: they may move
        // first.
        self.marks_after_flip(pos, used, was);
        self.hand_on_word_carrying_apart(was);
        true
    }

    /// The marks' move after a flip in a word marked for a refresh ([`Tree::flip_elsewhere`]),
    /// called rather than inlined: inlined, it made every such flip save registers, though few
    /// move the marks.
    #[inline(never)]
    fn move_marks_after_marked_flip(&mut self, pos: u64, used: bool) {
        self.move_marks_after_flip(pos, used, Hot::COLD);
    }

    /// [`Tree::flip_elsewhere`] where the word's leaf is not stored.
    #[cold]
    #[inline(never)]
    fn flip_elsewhere_unstored(&mut self, pos: u64, used: bool) -> bool {
        let handed_on = self.hot;
        let flipped = self.flip_into_hot(pos, used);
        if flipped {
            self.marks_after_flip(pos, used, handed_on);
        }
        flipped
    }

    /// [`Tree::flip_elsewhere`]'s flip, the word made hot, without moving the marks.
    #[inline(always)]
    pub(super) fn flip_into_hot(&mut self, pos: u64, used: bool) -> bool {
        let (w, bit) = (pos >> 6, 1 << (pos & 63));
        let (j, wi) = (chunk_of(pos), word_in_chunk(pos));
        // A stored leaf's offset survives the write-back (leaves never move): one lookup serves both
        // the test and the adoption.
        if let Slot::Mixed(chunk) = &self.slots[j]
            && let Some(leaf) = chunk.leaf_start_if_stored(&self.layout, wi >> 6)
        {
            // Outside the hot word the stored bitmap is the truth.
            let stored = chunk.word_at(&self.layout, leaf, wi & 63);
            if (stored & bit != 0) == used {
                return false;
            }
            self.hand_on();
            self.hot = Hot { word: w, bits: stored ^ bit, stored, leaf };
            return true;
        }
        let stored = self.stored_word(w);
        if (stored & bit != 0) == used {
            return false;
        }
        self.adopt(w, stored);
        self.hot.bits ^= bit;
        true
    }

    /// The chunk and the start of leaf `i` in chunk `j`, ready for marking positions in it used
    /// (`used`) or free; `None` when every position there is already in the wanted state: a uniform
    /// chunk in that state, or, when freeing, a leaf never stored (it is free).
    #[inline(always)]
    pub(super) fn leaf_to_mark(&mut self, j: usize, i: usize, used: bool) -> Option<(&mut Chunk, usize)> {
        match self.slots[j] {
            Slot::Full if used => return None,
            Slot::Free if !used => return None,
            _ => {}
        }
        let layout = self.layout;
        let chunk = self.materialize(j);
        let at =
            if used { Some(chunk.leaf_start(&layout, i)) } else { chunk.leaf_start_if_stored(&layout, i) }?;
        Some((chunk, at))
    }

    /// [`Tree::flip_through`] of a free position to used. The usual given address (its leaf stored,
    /// its chunk marked already) is taken here with no call but a tail call: any call on the way
    /// would have every given address save and restore six registers (12 of its 81 instructions).
    #[inline(never)]
    fn set_through(&mut self, pos: u64) -> bool {
        let (j, wi) = (chunk_of(pos), word_in_chunk(pos));
        let layout = self.layout;
        let Slot::Mixed(chunk) = &mut self.slots[j] else { return self.set_through_cold(pos) };
        // An unmarked chunk is also the sign of a tree without level 1, which is never marked.
        let Some(at) = chunk.leaf_start_if_stored(&layout, wi >> 6).filter(|_| chunk.dirty != 0) else {
            return self.set_through_cold(pos);
        };
        let word = chunk.word_at_mut(&layout, at, wi & 63);
        let old = *word;
        if old >> (pos & 63) & 1 == 1 {
            return false;
        }
        let new = old | 1 << (pos & 63);
        *word = new;
        chunk.mark(wi);
        self.log_change(pos >> 6, old, new);
        true
    }

    /// [`Tree::set_through`] where the chunk or leaf must be stored first, or the chunk marked.
    #[cold]
    #[inline(never)]
    fn set_through_cold(&mut self, pos: u64) -> bool {
        self.flip_through(pos, true)
    }

    /// [`Tree::flip_through`] of a used position to free.
    #[inline(never)]
    pub(super) fn clear_through(&mut self, pos: u64) -> bool {
        let flipped = self.flip_through(pos, false);
        if flipped {
            self.marks_after_flip(pos, false, Hot::COLD);
        }
        flipped
    }

    /// Marks `pos` (outside the hot word) used (`used`) or free if it is in the other state,
    /// written to the stored word: one lookup, and the hot word is left alone. Returns whether it
    /// flipped.
    ///
    /// A given address leaves the summaries above it to a refresh ([`super::dirty`]): nothing
    /// searches near it next. A release (the rolling policy's) carries its change up at once, as the
    /// rolling search that soon follows trusts the summaries (deferred, the refresh's second lookup
    /// cost more than the upkeep: release + next free 494 -> 855 instructions at random-99), unless
    /// its word waits for a refresh already.
    #[inline(always)]
    fn flip_through(&mut self, pos: u64, used: bool) -> bool {
        let (j, wi) = (chunk_of(pos), word_in_chunk(pos));
        let (layout, top, dirty) = (self.layout, self.top, self.dirty);
        let Some((chunk, at)) = self.leaf_to_mark(j, wi >> 6, used) else { return false };
        let marked = dirty && chunk.is_marked(wi);
        let word = chunk.word_at_mut(&layout, at, wi & 63);
        let old = *word;
        if (old >> (pos & 63) & 1 == 1) == used {
            return false;
        }
        let new = old ^ 1 << (pos & 63);
        *word = new;
        if used || marked {
            // A tree without level 1 keeps no summaries of its single word.
            if layout.l1_count > 0 {
                let first_in_chunk = chunk.mark(wi);
                self.log_marked(j, first_in_chunk, pos >> 6, old, new);
            }
        } else if settle(chunk, at, top, pos, old, used) {
            self.resummarize(pos, used);
        }
        true
    }

    /// Marks positions `start..end` used (`used`) or free; every position must be in the other state
    /// (or, for `used == false`, may already be free). Costs O(words touched + levels).
    pub(crate) fn fill(&mut self, start: u64, end: u64, used: bool) {
        debug_assert!(start < end && end <= self.size());
        self.retire_hot();
        if !used {
            self.lower_marks(start);
        }
        let len = end - start;
        if len.is_power_of_two() && len <= 1 << 12 && start & (len - 1) == 0 {
            return self.fill_block(start, len.trailing_zeros(), used);
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

    /// Fills an aligned block of at most 2^12 positions: part of one word, or whole words under one
    /// level-1 node. The usual block sizes (a /24 is four words) take one mask operation per level
    /// instead of [`Tree::fill_in_chunk`]'s general walk over boundary words and nodes.
    fn fill_block(&mut self, start: u64, order: u32, used: bool) {
        let (layout, top) = (self.layout, self.top);
        let j = chunk_of(start);
        let wi = word_in_chunk(start);
        let already_free = match &self.slots[j] {
            Slot::Free => true,
            Slot::Full => false,
            Slot::Mixed(chunk) => chunk.leaf(&layout, wi >> 6).is_none(),
        };
        if !used && already_free {
            return;
        }
        let chunk = self.materialize(j);
        let leaf = chunk.leaf_mut(&layout, wi >> 6);
        if order >= 6 && layout.l1_count > 0 {
            let level = mark_words(leaf, wi & 63, 1 << (order - 6), used);
            if !layout.has_l2 {
                return;
            }
            if let Some(level) = carry_level_into_l2(chunk, top, wi >> 6, level, used) {
                self.propagate_upper(j, level, used);
            }
            return;
        }
        let (node, words) = leaf.split_at_mut(layout.leaf_words);
        if order < 6 {
            let bits = low_bits(1 << order) << (start & 63);
            let word = &mut words[wi & 63];
            let old = *word;
            *word = if used { old | bits } else { old & !bits };
            let level = run_level(!*word);
            if layout.l1_count == 0 || level == run_level(!old) || !update_child(node, wi & 63, level, used) {
                return;
            }
        } else {
            // The single word of a tree without level 1.
            words[0] = if used { !0 } else { 0 };
            return;
        }
        if let Some(level) = carry_into_l2(chunk, &layout, top, wi >> 6, used) {
            self.propagate_upper(j, level, used);
        }
    }

    /// Fills `lo..hi` (relative to chunk `j`) and refreshes the chunk's summaries; returns its level.
    ///
    /// Words and level-1 nodes strictly inside the range end up entirely used or entirely free, so
    /// their parents take them in one mask operation per order; only the (at most two) boundary
    /// children at each level are looked at one by one. A leaf never stored is already free.
    fn fill_in_chunk(&mut self, j: usize, lo: u64, hi: u64, used: bool) -> u32 {
        let layout = self.layout;
        let chunk = self.materialize(j);
        let (first, last) = ((lo >> 6) as usize, ((hi - 1) >> 6) as usize);
        // Words wholly inside the range, as [full_lo, full_hi); the others touched are partial.
        let (full_lo, full_hi) = (lo.div_ceil(64) as usize, (hi / 64) as usize);
        let partial = |w: usize| w < full_lo || w >= full_hi;
        for i in (first >> 6)..=(last >> 6) {
            if !used && chunk.leaf(&layout, i).is_none() {
                continue;
            }
            let base = i << 6;
            let (node, words) = chunk.leaf_mut(&layout, i).split_at_mut(layout.leaf_words);
            let (inner_lo, inner_hi) = (full_lo.clamp(base, base + 64), full_hi.clamp(base, base + 64));
            if inner_lo < inner_hi {
                words[inner_lo - base..inner_hi - base].fill(if used { !0 } else { 0 });
            }
            for w in distinct(first, last).filter(|&w| w >> 6 == i && partial(w)) {
                let from = if w == first { lo & 63 } else { 0 };
                let to = if w == last { ((hi - 1) & 63) + 1 } else { 64 };
                let bits = low_bits((to - from) as u32) << from;
                let word = &mut words[w - base];
                *word = if used { *word | bits } else { *word & !bits };
            }
            if layout.l1_count == 0 {
                return run_level(!words[0]);
            }
            let inner = span_bits(full_lo, full_hi, base);
            if inner != 0 {
                set_children(node, inner, if used { 0 } else { 7 });
            }
            for w in distinct(first, last).filter(|&w| w >> 6 == i && partial(w)) {
                set_child_level(node, w & 63, run_level(!words[w - base]));
            }
        }
        if !layout.has_l2 {
            return chunk.l1_level(&layout, 0);
        }
        // Level-1 nodes wholly inside the range, and the (at most two) touched in part.
        let (nodes_lo, nodes_hi) = (full_lo.div_ceil(64), full_hi / 64);
        let inner = span_bits(nodes_lo, nodes_hi, 0);
        if inner != 0 {
            set_children(&mut chunk.l2, inner, if used { 0 } else { 6 + 7 });
        }
        for i in distinct(first >> 6, last >> 6) {
            if i < nodes_lo || i >= nodes_hi {
                let level = chunk.l1_level(&layout, i);
                set_child_level(&mut chunk.l2, i, level);
            }
        }
        debug_assert!(layout.word_count <= CHUNK_WORDS);
        node_level(&chunk.l2, 2)
    }

    /// Marks many ranges used at once (each free before, ascending or not): bits first, then every
    /// touched chunk's summaries rebuilt once. For loading a saved state, where per-range upkeep of
    /// the summaries would cost more than rebuilding them.
    pub(crate) fn fill_many(&mut self, ranges: impl IntoIterator<Item = (u64, u64)>) {
        self.retire_hot();
        let layout = self.layout;
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
                    let chunk = self.materialize(j);
                    let (rel_lo, rel_hi) = ((lo - chunk_start) as usize, (hi - chunk_start) as usize);
                    for i in (rel_lo >> 12)..=((rel_hi - 1) >> 12) {
                        let words = &mut chunk.leaf_mut(&layout, i)[layout.leaf_words..];
                        let (leaf_lo, leaf_hi) = (rel_lo.max(i << 12), rel_hi.min((i + 1) << 12));
                        for w in (leaf_lo >> 6)..=((leaf_hi - 1) >> 6) {
                            let from = leaf_lo.max(w << 6) - (w << 6);
                            let to = leaf_hi.min((w + 1) << 6) - (w << 6);
                            words[w & 63] |= low_bits((to - from) as u32) << from;
                        }
                    }
                }
                touched[j] = true;
                lo = hi;
            }
        }
        for (touched, slot) in touched.into_iter().zip(&mut self.slots) {
            if let (true, Slot::Mixed(chunk)) = (touched, slot) {
                chunk.rebuild(&layout);
            }
        }
        self.rebuild_upper();
    }

    /// Writes chunk `j`'s level into level 3 and carries any change further up.
    pub(super) fn set_upper_child(&mut self, j: usize, mut level: u32) {
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
