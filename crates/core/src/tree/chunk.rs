//! One chunk's stored form: its level-2 node, and a leaf for each level-1 node that was ever touched.
//!
//! A leaf is a level-1 node's masks followed by the 64 bitmap words under it (4,096 positions,
//! 576 bytes). A level-1 node without a leaf is entirely free. Why leaves and not the whole chunk:
//! a pool holding small clusters scattered over a huge space (a /24 here and there in a /0) would
//! otherwise pay 36 KiB per 2^18 chunk touched; with leaves it pays about 0.9 KiB per cluster, while
//! a dense chunk still costs 1.14 bits per address.

use super::{Layout, set_child_level, stride, write_levels};
use crate::bits::{low_bits, run_level};

/// Words per group marked for a refresh (see [`Chunk::dirty_groups`]).
pub(super) const GROUP_WORDS: u64 = 4;

/// Words in every leaf of a tree with a level 2: the level-1 node, then 64 bitmap words.
pub(super) const WHOLE_LEAF: usize = stride(1) + 64;

/// Marks a level-1 node without a leaf.
const ABSENT: u8 = u8::MAX;

/// The level-1 node of a leaf whose 64 words are all free: every child at level 7.
const FREE_NODE: [u64; stride(1)] = [!0, !0, !0, !0, !0, !0, !0, (1 << 7) - 1];

/// A chunk of a [`super::Tree`] that holds stored bits.
#[derive(Clone, Debug)]
pub(super) struct Chunk {
    /// The level-2 node's masks and non-empty word (unused in trees without a level 2).
    pub(super) l2: [u64; stride(2)],
    /// Leaves (bit `i`: level-1 node `i`) with words written while their level-1 node and their
    /// bit in `l2` were left as they were (see [`super::dirty`]). Kept beside `place`, which every
    /// such write reads anyway.
    pub(super) dirty: u64,
    /// For each leaf, the groups of [`GROUP_WORDS`] words (bit `g`: words `4g..4g + 4`) with a word
    /// written while the leaf's level-1 node was left as it was: a refresh recomputes only their
    /// bits. Groups rather than words keep a dense pool within 1.14 bits per address (a word each
    /// would cost 512 bytes per chunk, 0.016 bits per address).
    pub(super) dirty_groups: [u16; 64],
    /// Where each level-1 node's leaf sits in `leaves`, in leaves, or [`ABSENT`].
    place: [u8; 64],
    /// The leaves, [`Layout::leaf_len`] words each, in the order they were first touched.
    leaves: Vec<u64>,
}

impl Chunk {
    /// A chunk with every position free and no leaf. Only trees whose leaves hold 64 words (the
    /// chunked ones, and those of at least 2^12 positions) may leave a leaf out.
    pub(super) fn free(layout: &Layout) -> Chunk {
        let mut chunk = Chunk {
            l2: [0; stride(2)],
            dirty: 0,
            dirty_groups: [0; 64],
            place: [ABSENT; 64],
            leaves: Vec::new(),
        };
        if layout.has_l2 {
            write_levels(&mut chunk.l2, (0..layout.l1_count).map(|_| 6 + 7));
        }
        chunk
    }

    /// A chunk with every leaf stored and every word `fill`, past-the-end positions of a tiny tree
    /// used, and its summaries built.
    pub(super) fn filled(layout: &Layout, order: u32, fill: u64) -> Chunk {
        let mut chunk = Chunk::free(layout);
        for i in 0..layout.leaf_count() {
            chunk.leaf_mut(layout, i).fill(fill);
        }
        if order < 6 {
            chunk.leaves[layout.leaf_words] |= !low_bits(1 << order);
        }
        chunk.rebuild(layout);
        chunk
    }

    /// Bytes held on the heap by this chunk (itself and its leaves).
    pub(super) fn heap_bytes(&self) -> usize {
        size_of::<Chunk>() + self.leaves.capacity() * size_of::<u64>()
    }

    /// The leaf of level-1 node `i`, if stored.
    #[inline(always)]
    pub(super) fn leaf(&self, layout: &Layout, i: usize) -> Option<&[u64]> {
        let at = self.place[i];
        if at == ABSENT {
            return None;
        }
        let start = at as usize * layout.leaf_len;
        Some(&self.leaves[start..start + layout.leaf_len])
    }

    /// Where the leaf of level-1 node `i` starts in the chunk's leaves, if stored.
    #[inline(always)]
    pub(super) fn leaf_start_if_stored(&self, layout: &Layout, i: usize) -> Option<usize> {
        let at = self.place[i];
        (at != ABSENT).then(|| at as usize * layout.leaf_len)
    }

    /// The leaf of level-1 node `i`, stored (all free) if it was not.
    #[inline(always)]
    pub(super) fn leaf_mut(&mut self, layout: &Layout, i: usize) -> &mut [u64] {
        let start = self.leaf_start(layout, i);
        self.leaf_at(layout, start)
    }

    /// Where the leaf of level-1 node `i` starts in the chunk's leaves, storing it (all free) if it
    /// was not. A leaf never moves once stored.
    #[inline(always)]
    pub(super) fn leaf_start(&mut self, layout: &Layout, i: usize) -> usize {
        if self.place[i] == ABSENT {
            self.add_leaf(layout, i);
        }
        self.place[i] as usize * layout.leaf_len
    }

    /// The leaf starting at `start` (from [`Chunk::leaf_start`]).
    #[inline(always)]
    pub(super) fn leaf_at(&mut self, layout: &Layout, start: usize) -> &mut [u64] {
        &mut self.leaves[start..start + layout.leaf_len]
    }

    /// [`Chunk::leaf_at`] in a tree with a level 2, whose leaves are all [`WHOLE_LEAF`] words: one
    /// bounds check for the leaf, and none for reads at fixed offsets in it (its level-1 node's
    /// masks); a block's words are checked against the known length.
    #[inline(always)]
    pub(super) fn whole_leaf_at(&mut self, layout: &Layout, start: usize) -> &mut [u64; WHOLE_LEAF] {
        debug_assert!(layout.leaf_len == WHOLE_LEAF && layout.leaf_words == stride(1));
        self.words_at(start)
    }

    /// The `N` stored words from `start`, as an array: one bounds check here, none where it is used.
    #[inline(always)]
    fn words_at<const N: usize>(&mut self, start: usize) -> &mut [u64; N] {
        let words = &mut self.leaves[start..start + N];
        words.try_into().expect("the slice is N words")
    }

    #[cold]
    fn add_leaf(&mut self, layout: &Layout, i: usize) {
        let at = self.leaves.len() / layout.leaf_len;
        self.place[i] = at as u8;
        // Room for a power of two of leaves, so a dense chunk ends at exactly 64 (also after a clone,
        // whose capacity is its length).
        let room = (at + 1).next_power_of_two() * layout.leaf_len;
        if room > self.leaves.capacity() {
            self.leaves.reserve_exact(room - self.leaves.len());
        }
        self.leaves.resize(self.leaves.len() + layout.leaf_len, 0);
        let leaf = &mut self.leaves[at * layout.leaf_len..];
        if layout.leaf_words > 0 {
            leaf[..stride(1)].copy_from_slice(&FREE_NODE);
        }
    }

    /// Bitmap word `wi` of the chunk.
    #[inline(always)]
    pub(super) fn word(&self, layout: &Layout, wi: usize) -> u64 {
        // One lookup and one bounds check: this is every single-address change's first read.
        let at = self.place[wi >> 6];
        if at == ABSENT {
            return 0;
        }
        self.leaves[at as usize * layout.leaf_len + layout.leaf_words + (wi & 63)]
    }

    /// Word `k` of the leaf starting at `start`, to write: one bounds check, where the leaf's slice
    /// and then its word cost three.
    #[inline(always)]
    pub(super) fn word_at_mut(&mut self, layout: &Layout, start: usize, k: usize) -> &mut u64 {
        &mut self.leaves[start + layout.leaf_words + k]
    }

    /// The level-1 node of the leaf starting at `start` (in a tree with level 1): its fixed length
    /// spares the bounds checks of every use.
    #[inline(always)]
    pub(super) fn node_at_mut(&mut self, start: usize) -> &mut [u64; stride(1)] {
        self.words_at(start)
    }

    /// Word `k` of the leaf starting at `start` (from [`Chunk::leaf_start_if_stored`]).
    #[inline(always)]
    pub(super) fn word_at(&self, layout: &Layout, start: usize, k: usize) -> u64 {
        self.leaves[start + layout.leaf_words + k]
    }

    /// The masks of node `i` at `level` (1 or 2) of the chunk.
    #[inline(always)]
    pub(super) fn node(&self, layout: &Layout, level: u32, i: usize) -> &[u64] {
        if level == 2 {
            return &self.l2;
        }
        self.leaf(layout, i).map_or(&FREE_NODE, |leaf| &leaf[..stride(1)])
    }

    /// The level of level-1 node `i` (see [`super::node_level`]).
    #[inline(always)]
    pub(super) fn l1_level(&self, layout: &Layout, i: usize) -> u32 {
        super::node_level(self.node(layout, 1, i), 1)
    }

    /// Level of the chunk as a whole.
    pub(super) fn level(&self, layout: &Layout) -> u32 {
        if layout.has_l2 {
            super::node_level(&self.l2, 2)
        } else if layout.l1_count > 0 {
            self.l1_level(layout, 0)
        } else {
            run_level(!self.word(layout, 0))
        }
    }

    /// Recomputes every summary from the bitmap words.
    pub(super) fn rebuild(&mut self, layout: &Layout) {
        if layout.l1_count == 0 {
            return;
        }
        let words_per_leaf = layout.leaf_len - layout.leaf_words;
        for leaf in self.leaves.chunks_exact_mut(layout.leaf_len) {
            let (node, words) = leaf.split_at_mut(stride(1));
            write_levels(node, words[..words_per_leaf].iter().map(|&word| run_level(!word)));
        }
        if layout.has_l2 {
            let mut levels = [0u32; 64];
            for (i, level) in levels[..layout.l1_count].iter_mut().enumerate() {
                *level = self.l1_level(layout, i);
            }
            write_levels(&mut self.l2, levels[..layout.l1_count].iter().copied());
        }
    }

    /// Recomputes, in leaf `i`'s level-1 node, the bits of the words marked for a refresh, and
    /// clears their marks.
    pub(super) fn refresh_leaf(&mut self, layout: &Layout, i: usize) {
        let mut words = self.marked_words(layout, i);
        self.dirty_groups[i] = 0;
        let Some(start) = self.leaf_start_if_stored(layout, i) else { return };
        let leaf = &mut self.leaves[start..][..layout.leaf_len];
        let (node, bitmap) = leaf.split_at_mut(layout.leaf_words);
        while words != 0 {
            let k = words.trailing_zeros() as usize;
            words &= words - 1;
            set_child_level(node, k, run_level(!bitmap[k]));
        }
    }

    /// Marks word `wi` of the chunk for a refresh (its group and its leaf); whether the chunk had
    /// no mark before. The tree's part follows in [`super::Tree::log_marked`].
    #[inline(always)]
    pub(super) fn mark(&mut self, wi: usize) -> bool {
        let i = wi >> 6;
        self.dirty_groups[i] |= 1 << ((wi & 63) / GROUP_WORDS as usize);
        let was = self.dirty;
        self.dirty = was | 1 << i;
        was == 0
    }

    /// Whether word `wi` of the chunk lies in a group marked for a refresh.
    #[inline(always)]
    pub(super) fn is_marked(&self, wi: usize) -> bool {
        self.dirty_groups[wi >> 6] >> ((wi & 63) / GROUP_WORDS as usize) & 1 == 1
    }

    /// The words of leaf `i` marked for a refresh (bit `k`: word `k`).
    pub(super) fn marked_words(&self, layout: &Layout, i: usize) -> u64 {
        group_words(self.dirty_groups[i]) & low_bits((layout.leaf_len - layout.leaf_words) as u32)
    }

    /// Whether the stored summaries are what the bitmap words say; the first disagreement if not.
    pub(super) fn check(&self, layout: &Layout) -> Result<(), String> {
        let mut fresh = self.clone();
        fresh.rebuild(layout);
        if fresh.l2 != self.l2 {
            return Err(format!("level-2 node is {:x?}, bitmap says {:x?}", self.l2, fresh.l2));
        }
        if let Some(at) = fresh.leaves.iter().zip(&self.leaves).position(|(a, b)| a != b) {
            return Err(format!(
                "leaf word {at} is {:#x}, bitmap says {:#x}",
                self.leaves[at], fresh.leaves[at]
            ));
        }
        Ok(())
    }

    /// Whether the leaves are laid out as the place table says: whole leaves, each placed once, and
    /// (`all_stored`) none missing; and the hot word's leaf offset, if given, is its leaf's.
    pub(super) fn check_shape(
        &self,
        layout: &Layout,
        all_stored: bool,
        hot: Option<(usize, usize)>,
    ) -> Result<(), String> {
        if !self.leaves.len().is_multiple_of(layout.leaf_len) {
            return Err(format!("{} leaf words is not a whole number of leaves", self.leaves.len()));
        }
        let count = self.leaves.len() / layout.leaf_len;
        let mut seen = vec![false; count];
        for (i, &at) in self.place.iter().enumerate() {
            if at == ABSENT {
                if all_stored && i < layout.leaf_count() {
                    return Err(format!("leaf {i} is missing from a tree that stores every leaf"));
                }
                continue;
            }
            if i >= layout.leaf_count()
                || at as usize >= count
                || std::mem::replace(&mut seen[at as usize], true)
            {
                return Err(format!("leaf {i} is placed at {at}, outside or shared"));
            }
        }
        if seen.contains(&false) {
            return Err("a stored leaf belongs to no level-1 node".into());
        }
        if let Some(i) = (0..64).find(|&i| (self.dirty >> i & 1 == 1) != (self.dirty_groups[i] != 0)) {
            return Err(format!("leaf {i}'s mark disagrees with its words' marks"));
        }
        if let Some(i) = (0..64).find(|&i| self.dirty >> i & 1 == 1 && self.place[i] == ABSENT) {
            return Err(format!("leaf {i} is marked for a refresh but not stored"));
        }
        let groups = (layout.leaf_len - layout.leaf_words).div_ceil(GROUP_WORDS as usize) as u32;
        if let Some(i) = (0..64).find(|&i| u64::from(self.dirty_groups[i]) & !low_bits(groups) != 0) {
            return Err(format!("leaf {i} marks words past its end"));
        }
        if let Some((i, start)) = hot
            && (self.place[i] == ABSENT || self.place[i] as usize * layout.leaf_len != start)
        {
            return Err(format!("the hot word's leaf offset {start} is not leaf {i}'s"));
        }
        Ok(())
    }

    /// Number of used positions in the stored words.
    pub(super) fn count_used(&self, layout: &Layout) -> u64 {
        self.leaves
            .chunks_exact(layout.leaf_len)
            .flat_map(|leaf| &leaf[layout.leaf_words..])
            .map(|word| u64::from(word.count_ones()))
            .sum()
    }
}

/// The words (bit `k`: word `k`) of the groups in `groups` (bit `g`: group `g`).
fn group_words(groups: u16) -> u64 {
    let (mut groups, mut words) = (groups, 0u64);
    while groups != 0 {
        words |= low_bits(GROUP_WORDS as u32) << (GROUP_WORDS * u64::from(groups.trailing_zeros()));
        groups &= groups - 1;
    }
    words
}
