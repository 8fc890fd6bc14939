//! Searches: one descent from the root, choosing a child per level from the summary masks (or, for
//! the next free or used position, a climb of one or two levels from a word when that suffices).

use super::chunk::Chunk;
use super::{CHUNK_ORDER, Slot, Tree, chunk_of, stride, word_in_chunk};
use crate::bits::{aligned_runs, best_run, bits_from};

/// What a search looks for.
#[derive(Clone, Copy, Debug)]
pub(super) enum Target {
    /// An aligned free block of this order.
    Free(u32),
    /// A used position.
    Used,
}

/// One step of an unbounded first-fit descent.
enum Step {
    /// The block starts at this offset inside the node (it spans several children).
    Here(u64),
    /// Go down into this child.
    Child(usize),
}

/// A node's answer to a search.
pub(super) enum Pick {
    /// The block starts at this offset inside the node (it spans several children).
    Here(u64),
    /// Children that hold a match, to try lowest first.
    Children(u64),
}

impl Tree {
    /// Start of the lowest aligned free block of order `k` that starts at or after `bound`. Writes the
    /// hot word back and refreshes the summaries first, as the descent trusts them.
    #[inline]
    pub(crate) fn find_first(&mut self, k: u32, bound: u64) -> Option<u64> {
        debug_assert!(k <= self.order);
        self.flush();
        if bound >= self.size() {
            return None;
        }
        if bound == 0 {
            return self.first_under(self.top, 0, Target::Free(k));
        }
        self.search(self.top, 0, bound, Target::Free(k))
    }

    /// First free position in `start..end`, if any.
    pub(crate) fn first_free_in(&self, start: u64, end: u64) -> Option<u64> {
        self.scan_short(start, end, true).unwrap_or_else(|| self.next_free(start)).filter(|&pos| pos < end)
    }

    /// First used position in `start..end`, if any.
    pub(crate) fn first_used_in(&self, start: u64, end: u64) -> Option<u64> {
        self.scan_short(start, end, false).unwrap_or_else(|| self.next_used(start)).filter(|&pos| pos < end)
    }

    /// For a span of a few words, the answer by reading them; `None` when a descent is cheaper.
    #[inline]
    fn scan_short(&self, start: u64, end: u64, free: bool) -> Option<Option<u64>> {
        const SHORT_WORDS: u64 = 8;
        let (first, last) = (start >> 6, (end - 1) >> 6);
        if last - first >= SHORT_WORDS {
            return None;
        }
        for w in first..=last {
            let word = if free { !self.word(w) } else { self.word(w) };
            let from = if w == first { start & 63 } else { 0 };
            let hits = word & bits_from(from);
            if hits != 0 {
                return Some(Some((w << 6) + u64::from(hits.trailing_zeros())));
            }
        }
        Some(None)
    }

    /// Lowest position at or after `bound` in the stored bitmap that is used (`used`) or free. Looks
    /// at `bound`'s own word before descending, so walking short runs costs O(1) each. A used answer
    /// may be padding past the pool's end; callers filter it.
    #[inline(always)]
    pub(super) fn next_stored(&self, bound: u64, used: bool) -> Option<u64> {
        if bound >= self.size() {
            return None;
        }
        let word = self.stored_word(bound >> 6);
        let hits = if used { word } else { !word } & bits_from(bound & 63);
        if hits != 0 {
            return Some((bound & !63) + u64::from(hits.trailing_zeros()));
        }
        let target = if used { Target::Used } else { Target::Free(0) };
        if self.dirty {
            return self.search_marked(self.top, 0, bound, target);
        }
        self.next_nearby(bound, target).or_else(|| self.search(self.top, 0, bound, target))
    }

    /// The next match after `bound`'s word, if it lies in the same chunk: found by climbing one or two
    /// levels from the word (its level-1 node, then the chunk's level-2 node where there is one)
    /// instead of descending from the root. Free runs in a fragmented pool mostly start and end
    /// within a word or two of where the last one ended.
    #[inline(always)]
    fn next_nearby(&self, bound: u64, target: Target) -> Option<u64> {
        debug_assert!(matches!(target, Target::Used | Target::Free(0)));
        let Slot::Mixed(chunk) = &self.slots[chunk_of(bound)] else { return None };
        let layout = &self.layout;
        if layout.l1_count == 0 {
            return None;
        }
        let chunk_start = bound & !((1 << CHUNK_ORDER) - 1);
        let wi = word_in_chunk(bound);
        let node = chunk.node(layout, 1, wi >> 6);
        let words_after = ((wi as u64 & 63) + 1) << 6;
        if let Some(Pick::Children(words)) = pick(node, 1, self.valid_children(1), words_after, target) {
            let w = (wi & !63) + words.trailing_zeros() as usize;
            let word = chunk.word(layout, w);
            // The level-1 node promised a match in this word.
            let hits = if matches!(target, Target::Used) { word } else { !word };
            return Some(chunk_start + ((w as u64) << 6) + u64::from(hits.trailing_zeros()));
        }
        if !layout.has_l2 {
            return None;
        }
        let nodes_after = ((wi as u64 >> 6) + 1) << 12;
        let Some(Pick::Children(nodes)) = pick(&chunk.l2, 2, self.valid_children(2), nodes_after, target)
        else {
            return None;
        };
        let i = nodes.trailing_zeros() as usize;
        let found = self.first_in_chunk(chunk, 1, i, target)?;
        Some(chunk_start + ((i as u64) << 12) + found)
    }

    /// Start of an aligned free block of order `k` chosen by best fit: at every level, the child whose
    /// largest free block is the smallest that still holds it. Writes the hot word back and refreshes
    /// the summaries first.
    pub(crate) fn find_best(&mut self, k: u32) -> Option<u64> {
        debug_assert!(k <= self.order);
        self.flush();
        self.best(self.top, 0, k)
    }

    /// Searches node `idx` of `level`; `bound` and the result are relative to the node's start.
    pub(super) fn search(&self, level: u32, idx: usize, bound: u64, target: Target) -> Option<u64> {
        if level < 3 {
            return self.search_chunk(if self.top >= 3 { idx } else { 0 }, bound, target);
        }
        let masks = &self.upper[level as usize - 3][idx * stride(level)..][..stride(level)];
        let pick = pick(masks, level, self.valid_children(level), bound, target)?;
        self.descend(pick, level, bound, |child, child_bound| {
            if child_bound == 0 {
                self.first_under(level - 1, idx * 64 + child, target)
            } else {
                self.search(level - 1, idx * 64 + child, child_bound, target)
            }
        })
    }

    pub(super) fn search_chunk(&self, j: usize, bound: u64, target: Target) -> Option<u64> {
        match (&self.slots[j], target) {
            (Slot::Free, Target::Free(k)) => {
                let start = bound.next_multiple_of(1 << k);
                (start + (1 << k) <= 1 << CHUNK_ORDER).then_some(start)
            }
            (Slot::Free, Target::Used) | (Slot::Full, Target::Free(_)) => None,
            (Slot::Full, Target::Used) => Some(bound),
            (Slot::Mixed(chunk), _) => self.search_in_chunk(chunk, self.top.min(2), 0, bound, target),
        }
    }

    pub(super) fn search_in_chunk(
        &self,
        chunk: &Chunk,
        level: u32,
        i: usize,
        bound: u64,
        target: Target,
    ) -> Option<u64> {
        if level == 0 {
            let word = chunk.word(&self.layout, i);
            let hits = match target {
                Target::Free(k) => aligned_runs(!word, k),
                Target::Used => word,
            } & bits_from(bound);
            return (hits != 0).then(|| u64::from(hits.trailing_zeros()));
        }
        let masks = chunk.node(&self.layout, level, i);
        let pick = pick(masks, level, self.valid_children(level), bound, target)?;
        self.descend(pick, level, bound, |child, child_bound| {
            if child_bound == 0 {
                self.first_in_chunk(chunk, level - 1, i * 64 + child, target)
            } else {
                self.search_in_chunk(chunk, level - 1, i * 64 + child, child_bound, target)
            }
        })
    }

    /// Follows a node's pick: the first child that answers wins. Only the child holding `bound` can
    /// fail (the masks promise a match in every other candidate), so this loops at most twice.
    #[inline]
    fn descend(
        &self,
        pick: Pick,
        level: u32,
        bound: u64,
        mut child_search: impl FnMut(usize, u64) -> Option<u64>,
    ) -> Option<u64> {
        let span = 6 * level;
        let mut children = match pick {
            Pick::Here(offset) => return Some(offset),
            Pick::Children(children) => children,
        };
        let bound_child = (bound >> span) as usize;
        while children != 0 {
            let child = children.trailing_zeros() as usize;
            let child_bound = if child == bound_child { bound & ((1 << span) - 1) } else { 0 };
            if let Some(found) = child_search(child, child_bound) {
                return Some(((child as u64) << span) + found);
            }
            children &= children - 1;
        }
        None
    }

    /// The lowest match under node `idx` of `level`, without a bound: one step per level and no
    /// backtracking, since every child the masks name holds a match.
    #[inline]
    pub(super) fn first_under(&self, mut level: u32, mut idx: usize, target: Target) -> Option<u64> {
        let mut pos = 0;
        while level >= 3 {
            let node = &self.upper[level as usize - 3][idx * stride(level)..][..stride(level)];
            match step(node, level, self.valid_children(level), target)? {
                Step::Here(offset) => return Some(pos + offset),
                Step::Child(child) => {
                    pos += (child as u64) << (6 * level);
                    idx = idx * 64 + child;
                    level -= 1;
                }
            }
        }
        let found = match (&self.slots[if self.top >= 3 { idx } else { 0 }], target) {
            (Slot::Mixed(chunk), _) => self.first_in_chunk(chunk, level, 0, target),
            (Slot::Free, Target::Free(_)) | (Slot::Full, Target::Used) => Some(0),
            (Slot::Free, Target::Used) | (Slot::Full, Target::Free(_)) => None,
        };
        found.map(|offset| pos + offset)
    }

    /// [`Tree::first_under`] inside a chunk, from node `i` of `level` (0 for the word level).
    #[inline]
    pub(super) fn first_in_chunk(
        &self,
        chunk: &Chunk,
        mut level: u32,
        mut i: usize,
        target: Target,
    ) -> Option<u64> {
        let mut pos = 0;
        while level >= 1 {
            match step(chunk.node(&self.layout, level, i), level, self.valid_children(level), target)? {
                Step::Here(offset) => return Some(pos + offset),
                Step::Child(child) => {
                    pos += (child as u64) << (6 * level);
                    i = i * 64 + child;
                    level -= 1;
                }
            }
        }
        let word = chunk.word(&self.layout, i);
        let hits = match target {
            Target::Free(k) => aligned_runs(!word, k),
            Target::Used => word,
        };
        (hits != 0).then(|| pos + u64::from(hits.trailing_zeros()))
    }

    fn best(&self, level: u32, idx: usize, k: u32) -> Option<u64> {
        if level < 3 {
            return match &self.slots[if self.top >= 3 { idx } else { 0 }] {
                Slot::Free => Some(0),
                Slot::Full => None,
                Slot::Mixed(chunk) => self.best_in_chunk(chunk, self.top.min(2), 0, k),
            };
        }
        let masks = &self.upper[level as usize - 3][idx * stride(level)..][..stride(level)];
        match pick_best(masks, level, k)? {
            Pick::Here(offset) => Some(offset),
            Pick::Children(child) => {
                let child = child as usize;
                let found = self.best(level - 1, idx * 64 + child, k)?;
                Some(((child as u64) << (6 * level)) + found)
            }
        }
    }

    fn best_in_chunk(&self, chunk: &Chunk, level: u32, i: usize, k: u32) -> Option<u64> {
        if level == 0 {
            return best_run(!chunk.word(&self.layout, i), k).map(u64::from);
        }
        match pick_best(chunk.node(&self.layout, level, i), level, k)? {
            Pick::Here(offset) => Some(offset),
            Pick::Children(child) => {
                let child = child as usize;
                let found = self.best_in_chunk(chunk, level - 1, i * 64 + child, k)?;
                Some(((child as u64) << (6 * level)) + found)
            }
        }
    }

    /// Children that exist under a node of `level` (only the root may have fewer than 64).
    #[inline(always)]
    pub(super) fn valid_children(&self, level: u32) -> u64 {
        if level == self.top { self.root_children } else { !0 }
    }
}

/// The lowest candidate at one node, for an unbounded first-fit descent.
#[inline(always)]
fn step(node: &[u64], level: u32, valid: u64, target: Target) -> Option<Step> {
    let span = 6 * level;
    let whole = node[span as usize];
    let children = match target {
        Target::Free(k) if k > span => {
            let runs = aligned_runs(whole, k - span);
            return (runs != 0).then(|| Step::Here(u64::from(runs.trailing_zeros()) << span));
        }
        Target::Free(k) => node[k as usize],
        Target::Used => !whole & valid,
    };
    (children != 0).then(|| Step::Child(children.trailing_zeros() as usize))
}

/// Candidates at one node for a first-at-or-after-`bound` search.
#[inline(always)]
pub(super) fn pick(masks: &[u64], level: u32, valid: u64, bound: u64, target: Target) -> Option<Pick> {
    let span = 6 * level;
    let whole = masks[span as usize];
    let children = match target {
        Target::Free(k) if k > span => {
            // A run of entirely free children, aligned to the block.
            let runs = aligned_runs(whole, k - span);
            let first_child = bound.div_ceil(1 << span);
            let runs = runs & bits_from(first_child);
            return (runs != 0).then(|| Pick::Here(u64::from(runs.trailing_zeros()) << span));
        }
        Target::Free(k) => masks[k as usize],
        Target::Used => !whole & valid,
    } & bits_from(bound >> span);
    (children != 0).then_some(Pick::Children(children))
}

/// The best-fit choice at one node: a run of whole children for large blocks, else the lowest child
/// whose largest free block is the smallest that fits (`Pick::Children` holds its index).
#[inline]
fn pick_best(masks: &[u64], level: u32, k: u32) -> Option<Pick> {
    let span = 6 * level;
    let whole = masks[span as usize];
    if k > span {
        return best_run(whole, k - span).map(|run| Pick::Here(u64::from(run) << span));
    }
    for order in k as usize..span as usize {
        let exact = masks[order] & !masks[order + 1];
        if exact != 0 {
            return Some(Pick::Children(u64::from(exact.trailing_zeros())));
        }
    }
    best_run(whole, 0).map(|child| Pick::Children(u64::from(child)))
}
