//! Contiguous, unaligned ranges ("n servers in a row"): a best-fit search over the free runs.

use std::net::Ipv4Addr;
use std::ops::RangeInclusive;

use super::Pool;
use crate::Error;

impl Pool {
    /// Hands out `count` contiguous addresses, not necessarily aligned, from the smallest free run
    /// that holds them (best fit; the lowest such run on a tie), starting at the run's first address.
    ///
    /// Any run of `count` or more addresses holds an aligned free block of half `count`'s power of
    /// two, so the search visits only runs the tree says hold one; it stops early on an exact fit.
    ///
    /// ```
    /// use ipam_core::{Error, Pool};
    ///
    /// let mut pool = Pool::new("10.0.0.0/24".parse()?)?;
    /// pool.allocate_specific("10.0.0.5".parse()?)?; // leaves a free run of 5 at the bottom
    /// let range = pool.allocate_range(3)?;
    /// assert_eq!(range, "10.0.0.0".parse()?..="10.0.0.2".parse()?);
    /// assert!(matches!(pool.allocate_range(0), Err(Error::InvalidCount { .. })));
    /// assert!(matches!(pool.allocate_range(300), Err(Error::Exhausted { wanted: 300, .. })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn allocate_range(&mut self, count: u32) -> Result<RangeInclusive<Ipv4Addr>, Error> {
        if count == 0 {
            return Err(Error::InvalidCount { count: 0, reason: "a range holds at least one address" });
        }
        let count = u64::from(count);
        let start = self.best_run(count).ok_or_else(|| self.exhausted(count))?;
        self.mark(start, start + count, true);
        Ok(self.addr(start)..=self.addr(start + count - 1))
    }

    /// Gives back every address of `range`; all must be allocated (however they were taken).
    ///
    /// ```
    /// use ipam_core::{Error, Pool};
    ///
    /// let mut pool = Pool::new("10.0.0.0/24".parse()?)?;
    /// let range = pool.allocate_range(10)?;
    /// pool.release_range("10.0.0.2".parse()?..="10.0.0.4".parse()?)?;
    /// assert_eq!(pool.allocated_count(), 7);
    /// assert!(matches!(pool.release_range(range), Err(Error::NotAllocated { .. })));
    /// let backwards = "10.0.0.9".parse()?..="10.0.0.1".parse()?;
    /// assert!(matches!(pool.release_range(backwards), Err(Error::InvalidRange { .. })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn release_range(&mut self, range: RangeInclusive<Ipv4Addr>) -> Result<(), Error> {
        let (first, last) = range.into_inner();
        if first > last {
            return Err(Error::InvalidRange { first, last });
        }
        let (start, end) = self.span_offsets(u64::from(first.to_bits()), u64::from(last.to_bits()))?;
        self.check_allocated(start, end)?;
        self.mark(start, end, false);
        Ok(())
    }

    /// Start of the smallest free run of at least `count` addresses.
    fn best_run(&mut self, count: u64) -> Option<u64> {
        if count > self.free_count() {
            return None;
        }
        // A run of at least `count` >= 2^(order + 1) addresses holds an aligned free 2^order block.
        let order = count.ilog2().saturating_sub(1);
        let mut best: Option<(u64, u64)> = None;
        let mut pos = 0;
        while let Some(block) = self.tree.find_first(order, pos) {
            let start = self.run_start(block, pos);
            let end = self.tree.next_used(block + (1 << order)).unwrap_or(self.tree.size());
            let len = end - start;
            if len >= count && best.is_none_or(|(best_len, _)| len < best_len) {
                best = Some((len, start));
                if len == count {
                    break;
                }
            }
            pos = end;
        }
        best.map(|(_, start)| start)
    }

    /// First address of the free run holding `pos`, looking back no further than `floor` (a used
    /// address or 0). The walk is short: the run's part before `pos` holds no aligned block of the
    /// order searched for, so it is shorter than the count wanted.
    fn run_start(&self, pos: u64, floor: u64) -> u64 {
        let mut w = pos >> 6;
        // Used bits strictly below `pos` in its own word, then whole words going down.
        let mut used = self.tree.word(w) & crate::bits::low_bits((pos & 63) as u32);
        loop {
            if used != 0 {
                return ((w << 6) + 63 - u64::from(used.leading_zeros()) + 1).max(floor);
            }
            if w == 0 || w << 6 <= floor {
                return floor;
            }
            w -= 1;
            used = self.tree.word(w);
        }
    }
}
