//! The hot word: the bitmap word that single-address changes last touched, kept in the tree itself,
//! with the summaries above it brought up to date only when another word is touched or a search
//! needs them.
//!
//! Why: first fit keeps coming back to the low-water word, and a controller that allocates and
//! releases one address at a time mostly works in one word. With the word held here, each of those
//! changes is one read-modify-write of a field: no chunk lookup and no summary upkeep, the same work
//! a flat-bitmap scanner does. The summaries catch up once per word, not once per change, and only if
//! the word's level moved.
//!
//! Invariant: the stored bitmap and every stored summary not marked for a refresh
//! ([`super::dirty`]) agree with each other; the pool's true state differs from them only in word
//! [`Hot::word`], whose true value is [`Hot::bits`] and whose stored copy holds [`Hot::stored`].
//! Reads that must be exact go through [`Tree::word`], [`Tree::next_free`], [`Tree::next_used`]
//! and [`Tree::max_free_order`], which lay the hot word over the stored answer; searches for blocks
//! write the word back first ([`Tree::flush`]).

use super::flip::{settle, update_child};
use super::{Slot, Tree, carry_into_l2, chunk_of, word_in_chunk};
use crate::bits::{bits_from, run_level};

/// No word is hot.
pub(super) const NONE: u64 = u64::MAX;

/// The hot word's index, true value and stored value.
#[derive(Clone, Copy, Debug)]
pub(super) struct Hot {
    /// Index of the word (position / 64), or [`NONE`].
    pub(super) word: u64,
    /// Its true value; the stored copy and the summaries may still hold an older one.
    pub(super) bits: u64,
    /// What its stored copy holds (equal to `bits` when no word is hot). A word that changes and
    /// changes back (a release taken back, an allocation released) is then handed on with one
    /// compare, no lookup of its chunk.
    pub(super) stored: u64,
    /// Where its leaf starts in its chunk's leaves (see [`super::chunk::Chunk::leaf_start`]), so
    /// writing it back needs no lookup.
    pub(super) leaf: usize,
}

impl Hot {
    pub(super) const COLD: Hot = Hot { word: NONE, bits: 0, stored: 0, leaf: 0 };
}

impl Tree {
    /// Makes word `w` (not the hot one), whose stored value is `stored`, the hot one, handing the
    /// previous one on first. `w`'s chunk gets stored bits.
    #[inline(always)]
    pub(super) fn adopt(&mut self, w: u64, stored: u64) {
        debug_assert_ne!(w, self.hot.word, "the hot word's stored value is stale");
        self.hand_on();
        let layout = self.layout;
        let leaf = self.materialize(chunk_of(w << 6)).leaf_start(&layout, word_in_chunk(w << 6) >> 6);
        self.hot = Hot { word: w, bits: stored, stored, leaf };
    }

    /// Brings every summary up to date for a search that trusts them: the ones marked for a
    /// refresh ([`super::dirty`]), then the hot word's, written back (the word stays hot). Costs two
    /// compares when nothing changed, and climbs only as far as levels move.
    pub(crate) fn flush(&mut self) {
        self.refresh();
        self.hand_on();
        self.hot.stored = self.hot.bits;
    }

    /// Writes the hot word back and carries its change up the summaries, where a change moves on
    /// to another word or a search needs them. A word marked for a refresh ([`super::dirty`]) stays
    /// marked and has its change logged instead: its summaries describe an older value. The caller
    /// then makes another word hot, or records this one's new stored value ([`Tree::flush`]):
    /// writing it here would be a dead store on the usual path. Until one of those, a second call
    /// would carry the same change again.
    #[inline(always)]
    pub(super) fn hand_on(&mut self) {
        self.hand_on_word(self.hot);
    }

    /// [`Tree::hand_on`] of `was`, the hot word until just now.
    #[inline(always)]
    pub(super) fn hand_on_word(&mut self, was: Hot) {
        if self.write_back(was) {
            self.carry_word(was.word, was.leaf, was.stored, was.bits);
        }
    }

    /// [`Tree::hand_on_word`] with the carry, when one is needed, called rather than inlined: for
    /// a caller whose usual hand-on is a store at most, so the carry's registers stay out of it.
    #[inline(always)]
    pub(super) fn hand_on_word_carrying_apart(&mut self, was: Hot) {
        if self.write_back(was) {
            self.carry_word_out_of_line(was.word, was.leaf, was.stored, was.bits);
        }
    }

    /// Hands `was`, the hot word until just now, on as far as a store goes: nothing if it did not
    /// change (also when no word was hot); else its stored copy is written, and its change logged
    /// if its word is marked for a refresh. Returns whether the change is still to be carried up.
    #[inline(always)]
    fn write_back(&mut self, was: Hot) -> bool {
        if was.bits == was.stored {
            return false;
        }
        let (layout, dirty) = (self.layout, self.dirty);
        let Slot::Mixed(chunk) = &mut self.slots[chunk_of(was.word << 6)] else {
            unreachable!("the hot word's chunk holds stored bits");
        };
        let marked = dirty && chunk.is_marked(word_in_chunk(was.word << 6));
        *chunk.word_at_mut(&layout, was.leaf, was.word as usize & 63) = was.bits;
        if marked {
            self.log_change(was.word, was.stored, was.bits);
        }
        !marked
    }

    #[inline(never)]
    fn carry_word_out_of_line(&mut self, w: u64, leaf: usize, old: u64, new: u64) {
        self.carry_word(w, leaf, old, new);
    }

    /// Carries word `w`'s change from `old` (what the summaries above it describe) to `new` up the
    /// summaries; its leaf starts at `leaf`. Climbs only as far as levels move.
    #[inline(always)]
    pub(super) fn carry_word(&mut self, w: u64, leaf: usize, old: u64, new: u64) {
        let (layout, top) = (self.layout, self.top);
        let pos = w << 6;
        let j = chunk_of(pos);
        let Slot::Mixed(chunk) = &mut self.slots[j] else {
            unreachable!("a changed word's chunk holds stored bits");
        };
        let wi = word_in_chunk(pos);
        let diff = old ^ new;
        if diff & diff.wrapping_sub(1) == 0 {
            // One change (the usual case when addresses are scattered): its direction says which
            // summaries can move, cheaper than comparing levels.
            let (flipped, used) = (pos + u64::from(diff.trailing_zeros()), new & diff != 0);
            if settle(chunk, leaf, top, flipped, old, used) {
                self.resummarize(flipped, used);
            }
            return;
        }
        let old_level = run_level(!old);
        let level = run_level(!new);
        if layout.l1_count == 0 || level == old_level {
            return;
        }
        // Every level above moves the way the word's did, if at all.
        let used = level < old_level;
        if !update_child(chunk.node_at_mut(leaf), wi & 63, level, used) {
            return;
        }
        if let Some(level) = carry_into_l2(chunk, &layout, top, wi >> 6, used) {
            self.propagate_upper(j, level, used);
        }
    }

    /// Writes the hot word back and lets it go: for changes that write stored words directly.
    pub(super) fn retire_hot(&mut self) {
        self.flush();
        self.hot = Hot::COLD;
    }

    /// Whether the hot word differs from its stored copy (the summaries lag behind it).
    pub(super) fn hot_is_dirty(&self) -> bool {
        self.hot.bits != self.hot.stored
    }

    /// The true bitmap word `w`.
    #[inline]
    pub(crate) fn word(&self, w: u64) -> u64 {
        if w == self.hot.word { self.hot.bits } else { self.stored_word(w) }
    }

    /// Whether position `pos` is used.
    #[inline]
    pub(crate) fn get(&self, pos: u64) -> bool {
        self.word(pos >> 6) >> (pos & 63) & 1 == 1
    }

    /// Lowest free position at or after `bound`.
    pub(crate) fn next_free(&self, bound: u64) -> Option<u64> {
        self.next_with_hot(bound, false)
    }

    /// Lowest used position at or after `bound`.
    pub(crate) fn next_used(&self, bound: u64) -> Option<u64> {
        self.next_with_hot(bound, true).filter(|&pos| pos < self.size())
    }

    /// Lowest used (`used`) or free position at or after `bound`: the stored bitmap's answer,
    /// corrected for the hot word. The stored bitmap is the truth everywhere else, so an answer below
    /// the hot word stands, and one inside it is searched again past it.
    #[inline(always)]
    fn next_with_hot(&self, bound: u64, used: bool) -> Option<u64> {
        let found = self.next_stored(bound, used);
        let w = self.hot.word;
        if w == NONE || bound >> 6 > w {
            return found;
        }
        let (start, end) = (w << 6, (w + 1) << 6);
        let after = match found {
            Some(pos) if pos < start => return found,
            Some(pos) if pos < end => self.next_stored(end, used),
            other => other,
        };
        let from = if bound > start { bound & 63 } else { 0 };
        let hits = if used { self.hot.bits } else { !self.hot.bits } & bits_from(from);
        if hits != 0 { Some(start + u64::from(hits.trailing_zeros())) } else { after }
    }
}
