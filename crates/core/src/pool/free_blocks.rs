//! The free space as the minimal list of CIDR blocks.

use std::iter::FusedIterator;

use ipnet::Ipv4Net;

use super::{Pool, prefix_len_of};

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
    pool: &'a Pool,
    /// Next offset to cover.
    next: u64,
    /// End of the free run `next` lies in.
    run_end: u64,
}

impl Pool {
    /// The free space as the fewest CIDR blocks that cover exactly the free addresses, ascending.
    ///
    /// Every maximal free run is cut greedily into the largest aligned blocks, which is the minimal
    /// cover; reserved and excluded addresses are not free. Each run costs two descents.
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
        FreeBlocks { pool: self, next: 0, run_end: 0 }
    }
}

impl Iterator for FreeBlocks<'_> {
    type Item = Ipv4Net;

    fn next(&mut self) -> Option<Ipv4Net> {
        let tree = &self.pool.tree;
        if self.next >= self.run_end {
            let start = tree.next_free(self.next)?;
            self.next = start;
            self.run_end = tree.next_used(start).unwrap_or(tree.size());
        }
        let align = self.next.trailing_zeros().min(tree.order());
        let fit = (self.run_end - self.next).ilog2();
        let order = align.min(fit);
        let block = Ipv4Net::new_assert(self.pool.addr(self.next), prefix_len_of(order));
        self.next += 1 << order;
        Some(block)
    }
}

impl FusedIterator for FreeBlocks<'_> {}
