//! The free space as the minimal list of CIDR blocks.

use std::iter::FusedIterator;

use ipnet::Ipv4Net;

use super::{Pool, addr_from, prefix_len_of};
use crate::tree::Tree;

/// Iterator over the minimal CIDR cover of a pool's free space, ascending; see [`Pool::free_blocks`].
///
/// ```
/// let mut pool = ipam_core::Pool::new("10.0.0.0/29".parse()?)?;
/// pool.allocate_block(30)?;
/// let mut free = pool.free_blocks();
/// assert_eq!(free.next(), Some("10.0.0.4/30".parse()?));
/// assert_eq!(free.next(), None);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct FreeBlocks<'a> {
    tree: &'a Tree,
    /// The pool's first address.
    base: u32,
    /// Next offset to cover.
    next: u64,
    /// End of the free run `next` lies in.
    run_end: u64,
    /// The pool's size.
    size: u64,
    /// The bitmap word last read: its index and true value. In a fragmented pool a free run mostly
    /// starts and ends in the word where the last one ended, or the next, so reading words beats
    /// two descents per run.
    word: (u64, u64),
}

impl Pool {
    /// The free space as the fewest CIDR blocks that cover exactly the free addresses, ascending.
    ///
    /// Every maximal free run is cut greedily into the largest aligned blocks, which is the minimal
    /// cover; reserved and excluded addresses are not free. Each run's start and end are read from the
    /// bitmap where the last one ended (the rest of that word, then the next word), with a descent
    /// only when neither holds them.
    ///
    /// ```
    /// let mut pool = ipam_core::Pool::new("10.0.0.0/24".parse()?)?;
    /// pool.allocate_specific("10.0.0.1".parse()?)?;
    /// let free: Vec<String> = pool.free_blocks().map(|net| net.to_string()).collect();
    /// assert_eq!(free, ["10.0.0.0/32", "10.0.0.2/31", "10.0.0.4/30", "10.0.0.8/29",
    ///                   "10.0.0.16/28", "10.0.0.32/27", "10.0.0.64/26", "10.0.0.128/25"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn free_blocks(&self) -> FreeBlocks<'_> {
        let base = self.net.addr().to_bits();
        let size = self.tree.size();
        FreeBlocks { tree: &self.tree, base, next: 0, run_end: 0, size, word: (u64::MAX, 0) }
    }
}

impl Iterator for FreeBlocks<'_> {
    type Item = Ipv4Net;

    // Inline, so a caller's loop holds the cutting of a run and calls out only to find the next.
    #[inline]
    fn next(&mut self) -> Option<Ipv4Net> {
        if self.next >= self.run_end && !self.next_run() {
            return None;
        }
        // The largest aligned block at `next` that fits in the run; the run is at most the pool, so
        // the fit also bounds the alignment of offset 0. (`leading_zeros` rather than `ilog2`: the
        // run is never empty, and this skips its check.)
        let fit = 63 - (self.run_end - self.next).leading_zeros();
        let order = self.next.trailing_zeros().min(fit);
        let block = Ipv4Net::new_assert(addr_from(u64::from(self.base) + self.next), prefix_len_of(order));
        self.next += 1 << order;
        Some(block)
    }
}

impl FreeBlocks<'_> {
    /// Moves to the first free run at or after `next`; false if there is none.
    #[inline(never)]
    fn next_run(&mut self) -> bool {
        let Some(start) = self.first_from(self.next, true) else { return false };
        self.next = start;
        // A pool smaller than a word marks the positions past its end used, so its last run ends
        // at the first of them.
        self.run_end = self.first_from(start, false).map_or(self.size, |end| end.min(self.size));
        true
    }

    /// The first free (`free`) or used position at or after `pos`: read from the rest of `pos`'s word
    /// (no lookup when it is the word last read) and then the next word, and only past them by a
    /// descent.
    #[inline(always)]
    fn first_from(&mut self, pos: u64, free: bool) -> Option<u64> {
        if pos >= self.size {
            return None;
        }
        let flip = if free { !0 } else { 0 };
        let mut w = pos >> 6;
        if w != self.word.0 {
            self.word = (w, self.tree.word(w));
        }
        let mut hits = (self.word.1 ^ flip) & (!0 << (pos & 63));
        if hits == 0 {
            w += 1;
            if w << 6 >= self.size {
                return None;
            }
            self.word = (w, self.tree.word(w));
            hits = self.word.1 ^ flip;
        }
        if hits != 0 {
            return Some((w << 6) + u64::from(hits.trailing_zeros()));
        }
        let past = (w + 1) << 6;
        if free { self.tree.next_free(past) } else { self.tree.next_used(past) }
    }
}

impl FusedIterator for FreeBlocks<'_> {}
