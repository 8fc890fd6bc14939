//! Summaries left behind on purpose: a given address (`allocate_specific`) is written to its word
//! at once, and the summaries above it are only marked for a refresh instead of being carried up.
//!
//! Why: given addresses land anywhere in the pool, and carrying each one up reads and writes
//! summary nodes nobody will search next (measured: about 40 ns per given address in a fragmented
//! /8, 11 ns of it the flip itself). A burst of them (a controller restoring its leases, static
//! assignments from a file) now costs the flips and a mark each; the summaries catch up at the next
//! search that trusts them. Releases still carry their change at once unless their word is marked
//! already (then it is logged): a search for the next free address usually follows them, and a
//! deferred change costs a second lookup there.
//!
//! The marks: per chunk, its marked leaves and, per leaf, its marked groups of four words; per
//! node above, its marked children. Up to [`LOGGED`] changes are also logged as (word, old, new) and
//! replayed in order, each only as far as levels move, as they would have been at once; past that,
//! a refresh recomputes the marked groups and every node above them.
//!
//! Invariant: the summaries are exact for every word not marked; for a marked word they describe
//! the level it had before its first change since the last refresh, and a change to a marked word
//! is logged, never carried. So a summary bit that speaks of a child not marked is exact, and every
//! node's non-empty word agrees with its own masks. Searches that trust the summaries refresh first
//! ([`Tree::refresh`]); reads through `&self` search marked children below instead of trusting
//! their bits ([`super::exact`]).

use super::{Slot, Tree, chunk_of, node_level, set_child_level, stride, word_in_chunk};

/// How many changes a refresh carries up one by one, in order, each only as far as levels move
/// (what it would have cost at once); past that, it recomputes the marked groups of words and every
/// node above them. A search after each few scattered changes costs about what it did without the
/// marks; a burst of changes costs one pass over what it touched.
pub(super) const LOGGED: usize = 32;

impl Tree {
    /// Marks chunk `j`, whose first leaf was just marked, and every node above it.
    #[inline(never)]
    pub(super) fn mark_chunk_dirty(&mut self, j: usize) {
        self.dirty = true;
        let mut idx = j;
        for marks in &mut self.dirty_up {
            marks[idx >> 6] |= 1 << (idx & 63);
            idx >>= 6;
        }
    }

    /// Completes the mark of word `w`, just written from `old` to `new` and marked in its chunk
    /// `j` ([`super::chunk::Chunk::mark`] says whether that was the chunk's first mark): marks the
    /// nodes above a newly marked chunk and logs the change. Every change is marked, even one the
    /// word alone shows cannot move a summary: that test is a branch on random data, and its
    /// mispredictions took a given address from about 10 to 20 ns. Callers mark through the chunk
    /// they hold: looking it up again here cost 4 instructions per given address, and 32 per
    /// release whose hand-on logs a marked word (callgrind, `hotpath random-50 specific`).
    #[inline(always)]
    pub(super) fn log_marked(&mut self, j: usize, first_in_chunk: bool, w: u64, old: u64, new: u64) {
        if first_in_chunk {
            self.mark_chunk_dirty(j);
        }
        self.log_change(w, old, new);
    }

    /// Logs word `w`'s change from `old` to `new`; its group of words is marked already.
    #[inline(always)]
    pub(super) fn log_change(&mut self, w: u64, old: u64, new: u64) {
        let n = self.dirty_logged;
        if n <= LOGGED {
            if n < LOGGED {
                self.dirty_log[n] = (w, old, new);
            }
            self.dirty_logged = n + 1;
        }
    }

    /// Brings every marked summary up to date: for searches that trust the summaries.
    #[inline(always)]
    pub(super) fn refresh(&mut self) {
        if self.dirty {
            self.refresh_marked();
        }
    }

    #[inline(never)]
    fn refresh_marked(&mut self) {
        self.dirty = false;
        let logged = std::mem::take(&mut self.dirty_logged);
        if logged <= LOGGED {
            // Every change since the summaries were exact is logged: carried in order, each finds
            // them describing its `old`.
            let layout = self.layout;
            for k in 0..logged {
                let (w, old, new) = self.dirty_log[k];
                let Slot::Mixed(chunk) = &self.slots[chunk_of(w << 6)] else { continue };
                if let Some(leaf) = chunk.leaf_start_if_stored(&layout, word_in_chunk(w << 6) >> 6) {
                    self.carry_word(w, leaf, old, new);
                }
            }
            for k in 0..logged {
                self.clear_marks(self.dirty_log[k].0);
            }
            return;
        }
        if self.top >= 3 {
            self.refresh_upper(self.top, 0);
        } else {
            self.refresh_chunk(0);
        }
    }

    /// Clears the marks on word `w`'s path (its chunk's, whole: each of its marked words is
    /// logged too).
    fn clear_marks(&mut self, w: u64) {
        let j = chunk_of(w << 6);
        if let Slot::Mixed(chunk) = &mut self.slots[j] {
            chunk.dirty = 0;
            chunk.dirty_groups[word_in_chunk(w << 6) >> 6] = 0;
        }
        let mut idx = j;
        for marks in &mut self.dirty_up {
            marks[idx >> 6] &= !(1 << (idx & 63));
            idx >>= 6;
        }
    }

    /// Refreshes the marked children of node `idx` at `level` (>= 3) and returns its level.
    fn refresh_upper(&mut self, level: u32, idx: usize) -> u32 {
        let l = level as usize - 3;
        let mut children = std::mem::take(&mut self.dirty_up[l][idx]);
        while children != 0 {
            let child = children.trailing_zeros() as usize;
            children &= children - 1;
            let child_level = if level == 3 {
                self.refresh_chunk(idx * 64 + child)
            } else {
                self.refresh_upper(level - 1, idx * 64 + child)
            };
            set_child_level(&mut self.upper[l][idx * stride(level)..][..stride(level)], child, child_level);
        }
        node_level(&self.upper[l][idx * stride(level)..][..stride(level)], level)
    }

    /// Refreshes chunk `j`'s marked leaves, writes their levels into its level-2 node, and returns
    /// the chunk's level.
    fn refresh_chunk(&mut self, j: usize) -> u32 {
        let layout = self.layout;
        let Slot::Mixed(chunk) = &mut self.slots[j] else { return self.chunk_level(j) };
        let mut leaves = std::mem::take(&mut chunk.dirty);
        while leaves != 0 {
            let i = leaves.trailing_zeros() as usize;
            leaves &= leaves - 1;
            chunk.refresh_leaf(&layout, i);
            if layout.has_l2 {
                let level = chunk.l1_level(&layout, i);
                set_child_level(&mut chunk.l2, i, level);
            }
        }
        chunk.level(&layout)
    }

    /// Whether the marks are where they belong: the tree is marked iff some chunk is, and every
    /// node marks exactly its children with marks below (for [`Tree::validate`]).
    pub(super) fn check_dirty_marks(&self) -> Result<(), String> {
        let mut below: Vec<bool> =
            self.slots.iter().map(|slot| matches!(slot, Slot::Mixed(chunk) if chunk.dirty != 0)).collect();
        if self.dirty != below.contains(&true) {
            return Err(format!("the tree is marked {}, its chunks say otherwise", self.dirty));
        }
        if !self.dirty && self.dirty_logged != 0 || self.dirty_logged > LOGGED + 1 {
            return Err(format!("{} words logged for a refresh", self.dirty_logged));
        }
        if let Some((w, _, _)) = self.dirty_log[..self.dirty_logged.min(LOGGED)].iter().find(|&&(w, _, _)| {
            !matches!(&self.slots[chunk_of(w << 6)], Slot::Mixed(chunk) if chunk.dirty >> (word_in_chunk(w << 6) >> 6) & 1 == 1)
        }) {
            return Err(format!("word {w} is logged for a refresh, its leaf is not marked"));
        }
        if self.dirty && self.layout.l1_count == 0 {
            return Err("a tree without summaries is marked for a refresh".into());
        }
        for (l, marks) in self.dirty_up.iter().enumerate() {
            if marks.len() != below.len().div_ceil(64) {
                return Err(format!("level {} holds marks for {} nodes", l + 3, marks.len()));
            }
            for (n, &node_marks) in marks.iter().enumerate() {
                for c in 0..64 {
                    let marked = below.get(n * 64 + c).copied().unwrap_or(false);
                    if (node_marks >> c & 1 == 1) != marked {
                        return Err(format!("level {} node {n} marks child {c} {}", l + 3, !marked));
                    }
                }
            }
            below = marks.iter().map(|&m| m != 0).collect();
        }
        Ok(())
    }
}
