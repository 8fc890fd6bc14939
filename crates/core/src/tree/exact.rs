//! Exact reads through `&self` while some summaries lag: behind the hot word ([`super::hot`]) or
//! marked for a refresh ([`super::dirty`]). A marked child's bits are not trusted: it is searched
//! (or its level recomputed) below, down to its bitmap words, which are always the truth there.
//! Every other child's bits are exact and are used as they are.

use super::chunk::Chunk;
use super::hot::NONE;
use super::search::{Pick, Target, pick};
use super::{CHUNK_ORDER, Slot, Tree, chunk_of, node_level, set_child_level, stride};
use crate::bits::{bits_from, low_bits, run_level};

/// Widest node: a level-5 node (the root of a /0) stores `stride(5)` words.
const WIDEST: usize = stride(5);

impl Tree {
    /// [`Tree::next_stored`]'s search below node `idx` of `level` while marks exist; `bound` and the
    /// result are relative to the node's start. Only for the next free or used position.
    pub(super) fn search_marked(&self, level: u32, idx: usize, bound: u64, target: Target) -> Option<u64> {
        debug_assert!(matches!(target, Target::Used | Target::Free(0)));
        if level < 3 {
            let j = if self.top >= 3 { idx } else { 0 };
            return match &self.slots[j] {
                Slot::Mixed(chunk) if chunk.dirty != 0 => {
                    self.search_chunk_marked(chunk, self.top.min(2), bound, target)
                }
                _ => self.search_chunk(j, bound, target),
            };
        }
        let masks = &self.upper[level as usize - 3][idx * stride(level)..][..stride(level)];
        let marked = self.dirty_up[level as usize - 3][idx];
        self.descend_marked(masks, level, bound, target, marked, |child, child_bound, marked| {
            let child = idx * 64 + child;
            if marked {
                self.search_marked(level - 1, child, child_bound, target)
            } else if child_bound == 0 {
                self.first_under(level - 1, child, target)
            } else {
                self.search(level - 1, child, child_bound, target)
            }
        })
    }

    /// [`Tree::search_marked`] inside a marked chunk, from its top node at `level` (1 or 2).
    fn search_chunk_marked(&self, chunk: &Chunk, level: u32, bound: u64, target: Target) -> Option<u64> {
        if level == 1 {
            return self.search_leaf_marked(chunk, 0, bound, target);
        }
        self.descend_marked(&chunk.l2, 2, bound, target, chunk.dirty, |i, child_bound, marked| {
            if marked {
                self.search_leaf_marked(chunk, i, child_bound, target)
            } else if child_bound == 0 {
                self.first_in_chunk(chunk, 1, i, target)
            } else {
                self.search_in_chunk(chunk, 1, i, child_bound, target)
            }
        })
    }

    /// Tries, lowest first, the children at or after `bound` that the masks name or that are
    /// `marked`; the first that answers wins.
    fn descend_marked(
        &self,
        masks: &[u64],
        level: u32,
        bound: u64,
        target: Target,
        marked: u64,
        mut child_search: impl FnMut(usize, u64, bool) -> Option<u64>,
    ) -> Option<u64> {
        let span = 6 * level;
        let named = match pick(masks, level, self.valid_children(level), bound, target) {
            Some(Pick::Children(children)) => children,
            _ => 0,
        };
        let mut children = (named | marked) & bits_from(bound >> span);
        let bound_child = (bound >> span) as usize;
        while children != 0 {
            let child = children.trailing_zeros() as usize;
            let child_bound = if child == bound_child { bound & low_bits(span) } else { 0 };
            if let Some(found) = child_search(child, child_bound, marked >> child & 1 == 1) {
                return Some(((child as u64) << span) + found);
            }
            children &= children - 1;
        }
        None
    }

    /// [`Tree::search_marked`] in marked leaf `i`: the marked words are read, the others found
    /// by the leaf's level-1 node.
    fn search_leaf_marked(&self, chunk: &Chunk, i: usize, bound: u64, target: Target) -> Option<u64> {
        let layout = &self.layout;
        let node = chunk.node(layout, 1, i);
        self.descend_marked(node, 1, bound, target, chunk.marked_words(layout, i), |k, from, _| {
            let word = chunk.word(layout, (i << 6) + k);
            let hits = if matches!(target, Target::Used) { word } else { !word } & bits_from(from);
            (hits != 0).then(|| u64::from(hits.trailing_zeros()))
        })
    }

    /// Level of the whole tree as the pool truly is: the nodes above marked children and above the
    /// hot word are recomputed on copies.
    pub(super) fn root_level_exact(&self) -> u32 {
        let hot = if self.hot_is_dirty() { self.hot.word } else { NONE };
        if self.top >= 3 { self.upper_level_exact(self.top, 0, hot) } else { self.chunk_level_exact(0, hot) }
    }

    fn upper_level_exact(&self, level: u32, idx: usize, hot: u64) -> u32 {
        let node = &self.upper[level as usize - 3][idx * stride(level)..][..stride(level)];
        let mut redo = self.dirty_up[level as usize - 3][idx];
        let hot_child = chunk_of(hot << 6) >> (6 * (level - 3));
        if hot != NONE && hot_child >> 6 == idx {
            redo |= 1 << (hot_child & 63);
        }
        patched_level(node, level, redo, |child| {
            if level == 3 {
                self.chunk_level_exact(idx * 64 + child, hot)
            } else {
                self.upper_level_exact(level - 1, idx * 64 + child, hot)
            }
        })
    }

    fn chunk_level_exact(&self, j: usize, hot: u64) -> u32 {
        let layout = &self.layout;
        let hot_leaf = (hot != NONE && chunk_of(hot << 6) == j).then_some((hot as usize >> 6) & 63);
        let Slot::Mixed(chunk) = &self.slots[j] else { return self.chunk_level(j) };
        if chunk.dirty == 0 && hot_leaf.is_none() {
            return chunk.level(layout);
        }
        if layout.l1_count == 0 {
            return run_level(!self.word(0));
        }
        if !layout.has_l2 {
            return self.leaf_level_exact(chunk, j, 0, hot);
        }
        let redo = chunk.dirty | hot_leaf.map_or(0, |i| 1 << i);
        patched_level(&chunk.l2, 2, redo, |i| self.leaf_level_exact(chunk, j, i, hot))
    }

    fn leaf_level_exact(&self, chunk: &Chunk, j: usize, i: usize, hot: u64) -> u32 {
        let first_word = ((j as u64) << (CHUNK_ORDER - 6)) + ((i as u64) << 6);
        let mut redo = chunk.marked_words(&self.layout, i);
        if hot != NONE && hot >> 6 == first_word >> 6 {
            redo |= 1 << (hot & 63);
        }
        patched_level(chunk.node(&self.layout, 1, i), 1, redo, |k| {
            run_level(!self.word(first_word + k as u64))
        })
    }
}

/// Level of `node` (at `level`) once each child in `redo` takes the level `child_level` gives it:
/// computed on a copy.
fn patched_level(node: &[u64], level: u32, mut redo: u64, mut child_level: impl FnMut(usize) -> u32) -> u32 {
    if redo == 0 {
        return node_level(node, level);
    }
    let mut scratch = [0u64; WIDEST];
    let copy = &mut scratch[..node.len()];
    copy.copy_from_slice(node);
    while redo != 0 {
        let child = redo.trailing_zeros() as usize;
        redo &= redo - 1;
        set_child_level(copy, child, child_level(child));
    }
    node_level(copy, level)
}
