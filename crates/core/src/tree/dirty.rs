//! Summaries left behind on purpose: a single address written through to its word (a given
//! address, or a release under the rolling policy) marks its leaf for a refresh instead of carrying
//! the change up the levels at once.
//!
//! Why: such changes land anywhere in the pool, and carrying each one up reads and writes the
//! summary nodes above a word nobody will search next (measured: 36 ns per release + given address
//! in a fragmented /8, 11 ns of it the flips themselves). A burst of them (a controller restoring
//! its leases, static assignments from a file) now costs the flips and a mark each; the summaries
//! catch up once, at the next search that trusts them, one leaf at a time however many changes it
//! took.
//!
//! Invariant: a summary bit that speaks of a child not marked is exact. The bits of a marked child
//! (a leaf in [`Chunk::dirty`], a chunk or node in [`Tree::dirty_up`]) may say anything, and every
//! node's non-empty word agrees with its own masks. Searches that change the pool by the summaries
//! refresh first ([`Tree::refresh`]); reads through `&self` search marked children below instead of
//! trusting their bits ([`super::exact`]).
//!
//! [`Chunk::dirty`]: super::chunk::Chunk::dirty

use super::{Slot, Tree, chunk_of, node_level, set_child_level, stride, word_in_chunk};
use crate::bits::run_level;

/// How many marked words a refresh fixes one by one, as the eager upkeep would have; past that
/// it rebuilds each marked leaf whole. A search after each few given addresses then costs what it
/// did before the marks; a burst costs one rebuild per leaf.
pub(super) const LOGGED: usize = 8;

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

    /// Notes that word `w`'s level-1 summary waits (its leaf is marked).
    #[inline(always)]
    pub(super) fn log_dirty_word(&mut self, w: u64) {
        let n = self.dirty_logged;
        if n < LOGGED {
            self.dirty_log[n] = w;
        }
        self.dirty_logged = (n + 1).min(LOGGED + 1);
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
        let rebuild = logged > LOGGED;
        if !rebuild {
            // Every stale level-1 bit is a logged word's.
            let layout = self.layout;
            for &w in &self.dirty_log[..logged] {
                let Slot::Mixed(chunk) = &mut self.slots[chunk_of(w << 6)] else { continue };
                let wi = word_in_chunk(w << 6);
                let level = run_level(!chunk.word(&layout, wi));
                let leaf = chunk.leaf_mut(&layout, wi >> 6);
                set_child_level(&mut leaf[..stride(1)], wi & 63, level);
            }
        }
        if self.top >= 3 {
            self.refresh_upper(self.top, 0, rebuild);
        } else {
            self.refresh_chunk(0, rebuild);
        }
    }

    /// Refreshes the marked children of node `idx` at `level` (>= 3) and returns its level.
    fn refresh_upper(&mut self, level: u32, idx: usize, rebuild: bool) -> u32 {
        let l = level as usize - 3;
        let mut children = std::mem::take(&mut self.dirty_up[l][idx]);
        while children != 0 {
            let child = children.trailing_zeros() as usize;
            children &= children - 1;
            let child_level = if level == 3 {
                self.refresh_chunk(idx * 64 + child, rebuild)
            } else {
                self.refresh_upper(level - 1, idx * 64 + child, rebuild)
            };
            set_child_level(&mut self.upper[l][idx * stride(level)..][..stride(level)], child, child_level);
        }
        node_level(&self.upper[l][idx * stride(level)..][..stride(level)], level)
    }

    /// Rebuilds chunk `j`'s marked leaves (unless their stale words were fixed already), writes
    /// their levels into its level-2 node, and returns the chunk's level.
    fn refresh_chunk(&mut self, j: usize, rebuild: bool) -> u32 {
        let layout = self.layout;
        let Slot::Mixed(chunk) = &mut self.slots[j] else { return self.chunk_level(j) };
        let mut leaves = std::mem::take(&mut chunk.dirty);
        while leaves != 0 {
            let i = leaves.trailing_zeros() as usize;
            leaves &= leaves - 1;
            if rebuild {
                chunk.rebuild_leaf(&layout, i);
            }
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
        if let Some(&w) = self.dirty_log[..self.dirty_logged.min(LOGGED)].iter().find(|&&w| {
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
