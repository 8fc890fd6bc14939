//! [`PoolStats`]: utilization and fragmentation in one report.

use ipnet::Ipv4Net;

use super::Pool;

/// A pool's utilization and fragmentation; see [`Pool::stats`].
///
/// ```
/// let mut pool = ipam_core::Pool::builder("10.0.0.0/24".parse()?).reserve_network_broadcast(true).build()?;
/// pool.allocate_block(26)?;
/// let stats = pool.stats();
/// assert_eq!((stats.capacity, stats.allocated, stats.reserved), (254, 64, 2));
/// assert_eq!(stats.free, 190);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct PoolStats {
    /// The pool's network.
    pub network: Ipv4Net,
    /// Addresses that can be handed out (reservations excluded).
    pub capacity: u64,
    /// Addresses handed out.
    pub allocated: u64,
    /// Addresses still free.
    pub free: u64,
    /// Reserved and excluded addresses.
    pub reserved: u64,
    /// Prefix length of the largest aligned free block, if any.
    pub largest_free_block: Option<u8>,
    /// `free_blocks_by_prefix[p]` is how many aligned `/p` blocks are entirely free (index 0..=32;
    /// entries shorter than the pool's prefix are 0). Overlapping: a free /30 counts as two /31s too.
    pub free_blocks_by_prefix: Vec<u64>,
    /// Number of CIDR blocks in the minimal cover of the free space.
    pub free_cidrs: u64,
}

impl PoolStats {
    /// Allocated share of the capacity, 0.0 to 1.0 (0.0 for a pool with no capacity).
    ///
    /// ```
    /// let mut pool = ipam_core::Pool::new("10.0.0.0/30".parse()?)?;
    /// pool.allocate()?;
    /// assert_eq!(pool.stats().utilization(), 0.25);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn utilization(&self) -> f64 {
        if self.capacity == 0 { 0.0 } else { self.allocated as f64 / self.capacity as f64 }
    }

    /// Share of the free space that lies outside the largest aligned free block, 0.0 (one block, or
    /// nothing free) to nearly 1.0 (scattered single addresses).
    ///
    /// ```
    /// let mut pool = ipam_core::Pool::new("10.0.0.0/24".parse()?)?;
    /// assert_eq!(pool.stats().fragmentation(), 0.0);
    /// pool.allocate_specific("10.0.0.128".parse()?)?;
    /// // 255 free; the largest free block is the /25 of 128 addresses
    /// assert!((pool.stats().fragmentation() - 127.0 / 255.0).abs() < 1e-12);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn fragmentation(&self) -> f64 {
        match self.largest_free_block {
            Some(prefix_len) if self.free > 0 => {
                let largest = 1u64 << (32 - u32::from(prefix_len));
                1.0 - largest as f64 / self.free as f64
            }
            _ => 0.0,
        }
    }
}

impl Pool {
    /// Utilization and fragmentation: counts, the largest free block, and how many aligned blocks of
    /// each prefix length are free. O(free CIDR blocks).
    ///
    /// ```
    /// let mut pool = ipam_core::Pool::new("10.0.0.0/24".parse()?)?;
    /// pool.allocate_block(25)?;
    /// let stats = pool.stats();
    /// assert_eq!((stats.allocated, stats.free), (128, 128));
    /// assert_eq!(stats.largest_free_block, Some(25));
    /// assert_eq!(stats.free_blocks_by_prefix[25], 1);
    /// assert_eq!(stats.free_blocks_by_prefix[26], 2);
    /// assert_eq!(stats.free_blocks_by_prefix[32], 128);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn stats(&self) -> PoolStats {
        let mut by_prefix = vec![0u64; 33];
        let mut cidrs = 0;
        for block in self.free_blocks() {
            cidrs += 1;
            for prefix_len in block.prefix_len()..=32 {
                by_prefix[usize::from(prefix_len)] += 1 << (prefix_len - block.prefix_len());
            }
        }
        PoolStats {
            network: self.net,
            capacity: self.capacity(),
            allocated: self.allocated,
            free: self.free_count(),
            reserved: self.reserved.count(),
            largest_free_block: self.largest_free_block(),
            free_blocks_by_prefix: by_prefix,
            free_cidrs: cidrs,
        }
    }
}
