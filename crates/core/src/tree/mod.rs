//! The bitmap and the 64-ary summary tree above it.
//!
//! Positions here are offsets from the pool's first address (`0..2^order`); the tree knows nothing of
//! addresses, reservations or policies.
//!
//! # Shape
//! Level 0 is the bitmap, one `u64` word per 64 addresses, a set bit meaning "not available".
//! Every level above has one node per 64 nodes below. A node at level `l` covers `2^(6l+6)`
//! addresses and stores `6l + 1` masks: bit `i` of `masks[k]` is set iff child `i` holds an aligned
//! free block of order `>= k`; `masks[6l]` is therefore "child `i` is entirely free". One more word
//! has bit `k` set iff `masks[k]` is not empty, so a node's own level is one `lzcnt`. A block of an
//! order larger than a child's span is an aligned run of entirely free children, found with the same
//! bit tricks as inside a word ([`crate::bits`]). Every search is one descent, a `tzcnt` per level.
//!
//! # Laziness
//! Levels 0 to 2 are stored in chunks of 2^18 addresses, created on first touch; an untouched chunk
//! is [`Slot::Free`], and one marked whole by a large block is [`Slot::Full`]. Inside a chunk, each
//! level-1 node and its 64 bitmap words (a leaf, 4,096 positions) are stored on first touch too
//! ([`chunk`]). Levels 3 and up (at most 256 nodes, for a /0) are plain arrays. A fresh /0 therefore
//! holds about 300 KiB, a cluster of addresses about 0.9 KiB however far from the others, and a
//! dense pool 1.14 bits per address. Storage follows the most that was ever touched: a leaf or
//! chunk freed again stays stored.
//!
//! The summaries are lazy in two more ways. Single-address changes go to one hot word held in the
//! tree, and reach the stored bitmap and the summaries when another word is touched or a block
//! search needs them ([`hot`]). Given addresses are written to their word at once but only mark
//! its leaf; the summaries above catch up at the next search that trusts them ([`dirty`]), and
//! reads through `&self` stay exact meanwhile ([`exact`]).

mod block;
mod chunk;
mod dirty;
mod exact;
mod flip;
mod hot;
mod marks;
mod search;
mod update;
mod validate;

use self::chunk::Chunk;
use self::hot::Hot;
use crate::bits::{low_bits, run_level};

/// Address order of a chunk: the subtree of one level-2 node.
const CHUNK_ORDER: u32 = 18;
/// Words in a full chunk.
const CHUNK_WORDS: usize = 1 << (CHUNK_ORDER - 6);

/// Words stored by a node at `level` (`>= 1`): its `6 * level + 1` masks, then the non-empty word.
const fn stride(level: u32) -> usize {
    6 * level as usize + 2
}

/// One chunk's storage.
#[derive(Clone, Debug)]
enum Slot {
    /// Never touched, or marked free as a whole.
    Free,
    /// Marked used as a whole by a block of order >= 18.
    Full,
    /// Stored bits and summaries.
    Mixed(Box<Chunk>),
}

/// The shape of a chunk's storage, the same for every chunk of a tree.
#[derive(Clone, Copy, Debug)]
struct Layout {
    /// Words in a leaf: its level-1 node's masks (when the tree has level 1), then its bitmap words.
    leaf_len: usize,
    /// Offset of the bitmap words inside a leaf.
    leaf_words: usize,
    /// Number of bitmap words in a chunk.
    word_count: usize,
    /// Number of level-1 nodes in a chunk.
    l1_count: usize,
    /// Whether the chunk has a level-2 node.
    has_l2: bool,
}

impl Layout {
    /// Leaves in a chunk: one per level-1 node, or the single word of a tree without level 1.
    fn leaf_count(&self) -> usize {
        self.l1_count.max(1)
    }
}

/// The bitmap and its summary tree for a pool of `2^order` addresses.
#[derive(Clone, Debug)]
pub(crate) struct Tree {
    /// log2 of the number of addresses (0..=32).
    order: u32,
    /// Highest level; the root is the only node there (0: the root is the single word).
    top: u32,
    layout: Layout,
    slots: Vec<Slot>,
    /// `upper[l - 3]` holds the masks of level `l` (3..=top), `stride(l)` per node.
    upper: Vec<Vec<u64>>,
    /// Children of the root that exist (the root may have fewer than 64).
    root_children: u64,
    /// No position below this one is free: where the lowest-free search starts. Allocation in
    /// address order and release-then-allocate both find their answer in this word, without a descent.
    low_free: u64,
    /// Past `low_free`'s word, no position below this one is free either (see [`marks`]).
    low_resume: u64,
    /// The word single-address changes last touched, ahead of its stored copy (see [`hot`]).
    hot: Hot,
    /// Whether a release outside the hot word is written through rather than made hot.
    releases_through: bool,
    /// Whether some summaries wait for a refresh (see [`dirty`]).
    dirty: bool,
    /// The changes since the last refresh that may have moved a summary, in order, as (word, old
    /// value, new value), while there are at most [`dirty::LOGGED`].
    dirty_log: [(u64, u64, u64); dirty::LOGGED],
    /// Entries in `dirty_log`, or `LOGGED + 1` once more words than that were written.
    dirty_logged: usize,
    /// `dirty_up[l - 3][n]`: the children of node `n` at level `l` (3..=top) with summaries waiting
    /// for a refresh below them.
    dirty_up: Vec<Vec<u64>>,
}

impl Tree {
    /// A tree with every address free.
    pub(crate) fn new(order: u32) -> Tree {
        debug_assert!(order <= 32);
        let word_order = order.saturating_sub(6);
        let top = word_order.div_ceil(6);
        let root_children =
            if top == 0 { low_bits(1 << order) } else { low_bits(1 << (word_order - 6 * (top - 1))) };
        let chunked = top >= 3;
        let word_count = if chunked { CHUNK_WORDS } else { 1 << word_order };
        let l1_count = match top {
            0 => 0,
            1 | 2 => 1 << word_order.saturating_sub(6),
            _ => 64,
        };
        let has_l2 = top >= 2;
        let leaf_words = if l1_count > 0 { stride(1) } else { 0 };
        let layout =
            Layout { leaf_len: leaf_words + word_count.min(64), leaf_words, word_count, l1_count, has_l2 };
        let chunk_count = if chunked { 1usize << (order - CHUNK_ORDER) } else { 1 };
        let nodes = |level: u32| 1usize << word_order.saturating_sub(6 * level);
        let upper = (3..=top).map(|level| vec![0; nodes(level) * stride(level)]).collect();
        let dirty_up = (3..=top).map(|level| vec![0; nodes(level)]).collect();
        let mut tree = Tree {
            order,
            top,
            layout,
            slots: vec![Slot::Free; chunk_count],
            upper,
            root_children,
            low_free: 0,
            low_resume: 0,
            hot: Hot::COLD,
            releases_through: false,
            dirty: false,
            dirty_log: [(0, 0, 0); dirty::LOGGED],
            dirty_logged: 0,
            dirty_up,
        };
        if !chunked {
            // Small pools are one chunk, stored whole from the start: nothing to gain from laziness.
            tree.slots[0] = Slot::Mixed(Box::new(Chunk::filled(&layout, order, 0)));
        }
        tree.rebuild_upper();
        tree
    }

    /// Number of positions.
    pub(crate) fn size(&self) -> u64 {
        1u64 << self.order
    }

    /// The stored bitmap word `w` (for the hot word, possibly an older value than [`Tree::word`]).
    #[inline]
    fn stored_word(&self, w: u64) -> u64 {
        let pos = w << 6;
        match &self.slots[chunk_of(pos)] {
            Slot::Free => 0,
            Slot::Full => !0,
            Slot::Mixed(chunk) => chunk.word(&self.layout, word_in_chunk(pos)),
        }
    }

    /// The order of the largest aligned free block, or `None` if nothing is free.
    pub(crate) fn max_free_order(&self) -> Option<u32> {
        let level =
            if self.dirty || self.hot_is_dirty() { self.root_level_exact() } else { self.root_level() };
        level.checked_sub(1)
    }

    /// Bytes held on the heap.
    pub(crate) fn heap_bytes(&self) -> usize {
        let slots = self.slots.capacity() * size_of::<Slot>();
        let chunks: usize = self
            .slots
            .iter()
            .map(|slot| match slot {
                Slot::Mixed(chunk) => chunk.heap_bytes(),
                _ => 0,
            })
            .sum();
        let upper: usize =
            self.upper.iter().chain(&self.dirty_up).map(|level| level.capacity() * size_of::<u64>()).sum();
        slots + chunks + upper + (self.upper.capacity() + self.dirty_up.capacity()) * size_of::<Vec<u64>>()
    }

    /// Level (see [`run_level`]) of the whole tree.
    fn root_level(&self) -> u32 {
        if self.top >= 3 {
            node_level(&self.upper[self.top as usize - 3][..stride(self.top)], self.top)
        } else {
            self.chunk_level(0)
        }
    }

    /// Level of chunk `j` as a whole.
    fn chunk_level(&self, j: usize) -> u32 {
        match &self.slots[j] {
            Slot::Free => CHUNK_ORDER + 1,
            Slot::Full => 0,
            Slot::Mixed(chunk) => chunk.level(&self.layout),
        }
    }

    /// Turns a uniform chunk into stored bits and summaries, and returns it.
    #[inline(always)]
    fn materialize(&mut self, j: usize) -> &mut Chunk {
        // One lookup of the slot: the cold path writes through the same borrow, so the match below
        // folds into the check above rather than indexing and testing the slot again.
        let slot = &mut self.slots[j];
        if !matches!(slot, Slot::Mixed(_)) {
            materialize_slow(slot, &self.layout, self.order);
        }
        match slot {
            Slot::Mixed(chunk) => chunk,
            _ => unreachable!("chunk was just materialized"),
        }
    }

    /// Recomputes levels 3 and up from the chunks.
    fn rebuild_upper(&mut self) {
        for level in 3..=self.top {
            let below = level as usize - 3;
            let child_count =
                if level == 3 { self.slots.len() } else { self.upper[below - 1].len() / stride(level - 1) };
            let mut masks = vec![0u64; self.upper[below].len()];
            for child in 0..child_count {
                let child_level = if level == 3 {
                    self.chunk_level(child)
                } else {
                    node_level(
                        &self.upper[below - 1][child * stride(level - 1)..][..stride(level - 1)],
                        level - 1,
                    )
                };
                set_child_level(
                    &mut masks[(child >> 6) * stride(level)..][..stride(level)],
                    child & 63,
                    child_level,
                );
            }
            self.upper[below] = masks;
        }
    }
}

/// Chunk holding position `pos`.
#[inline(always)]
fn chunk_of(pos: u64) -> usize {
    (pos >> CHUNK_ORDER) as usize
}

/// Index, inside its chunk, of the word holding position `pos`.
#[inline(always)]
fn word_in_chunk(pos: u64) -> usize {
    (pos >> 6) as usize & (CHUNK_WORDS - 1)
}

/// Level of a node at `level` from its masks: the order of its largest free block, plus one.
#[inline(always)]
fn node_level(node: &[u64], level: u32) -> u32 {
    let span = 6 * level as usize;
    let whole = node[span];
    if whole != 0 {
        return span as u32 + run_level(whole);
    }
    64 - node[span + 1].leading_zeros()
}

/// Carries level-1 node `i`'s level, which can only have fallen (`used`) or only risen, into its
/// chunk's level-2 node (see [`carry_level_into_l2`]).
#[inline]
fn carry_into_l2(chunk: &mut Chunk, layout: &Layout, top: u32, i: usize, used: bool) -> Option<u32> {
    if !layout.has_l2 {
        return None;
    }
    let level = chunk.l1_level(layout, i);
    carry_level_into_l2(chunk, top, i, level, used)
}

/// Writes level-1 node `i`'s new `level`, which can only have fallen (`used`) or only risen, into
/// its chunk's level-2 node. After a free, `level` may be a lower bound that is exact only if the
/// level rose. Returns the chunk's level when levels 3 and up must take it (it may have moved, and
/// they exist): knowing the direction, most changes stop at the first mask bit that already agrees
/// ([`flip::update_child`]).
#[inline]
fn carry_level_into_l2(chunk: &mut Chunk, top: u32, i: usize, level: u32, used: bool) -> Option<u32> {
    if !flip::update_child(&mut chunk.l2, i, level, used) || top < 3 {
        return None;
    }
    Some(node_level(&chunk.l2, 2))
}

/// Writes a whole node from its children's levels, in child order (bit `i` of `masks[k]` set iff
/// child `i`'s level is above `k`), and its non-empty word.
fn write_levels(node: &mut [u64], levels: impl Iterator<Item = u32>) {
    let (masks, nonempty) = node.split_at_mut(node.len() - 1);
    masks.fill(0);
    for (child, level) in levels.enumerate() {
        for mask in &mut masks[..level as usize] {
            *mask |= 1 << child;
        }
    }
    nonempty[0] = masks.iter().enumerate().fold(0, |acc, (k, mask)| acc | (u64::from(*mask != 0) << k));
}

/// Writes a child's level into its parent node (bit set in `masks[k]` iff `k < level`), keeping the
/// non-empty word. Returns whether anything changed.
#[inline]
fn set_child_level(node: &mut [u64], child: usize, level: u32) -> bool {
    let bit = 1u64 << child;
    let level = level as usize;
    let masks = node.len() - 1;
    let below_set = level == 0 || node[level - 1] & bit != 0;
    let above_clear = level >= masks || node[level] & bit == 0;
    if below_set && above_clear {
        return false;
    }
    set_children(node, bit, level as u32);
    true
}

/// Writes the same level for every child in `children` (bits) into their parent node, keeping the
/// non-empty word: one pass over the masks however many children change.
#[inline]
fn set_children(node: &mut [u64], children: u64, level: u32) {
    debug_assert_ne!(children, 0);
    let (masks, nonempty) = node.split_at_mut(node.len() - 1);
    let level = (level as usize).min(masks.len());
    let (below, above) = masks.split_at_mut(level);
    // Straight-line passes rather than a test per mask: the masks below `level` now hold the
    // children, so they are certainly non-empty.
    for mask in below {
        *mask |= children;
    }
    let mut filled = low_bits(level as u32);
    for (k, mask) in above.iter_mut().enumerate() {
        *mask &= !children;
        filled |= u64::from(*mask != 0) << (k + level);
    }
    nonempty[0] = filled;
}

/// Replaces a uniform slot with its stored bits and summaries.
#[cold]
fn materialize_slow(slot: &mut Slot, layout: &Layout, order: u32) {
    let chunk = match slot {
        Slot::Mixed(_) => return,
        Slot::Free => Chunk::free(layout),
        Slot::Full => Chunk::filled(layout, order, !0),
    };
    *slot = Slot::Mixed(Box::new(chunk));
}
