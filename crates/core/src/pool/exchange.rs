//! The portable form: a `RoaringBitmap` of allocated addresses, readable from any language.

use ipnet::Ipv4Net;
use roaring::RoaringBitmap;

use super::{Pool, addr_from};
use crate::Error;

impl Pool {
    /// The allocated addresses (reservations not included) as a `RoaringBitmap` of `u32` address
    /// values: the exchange format, and the input of [`Pool::from_allocated`]. O(allocated runs).
    ///
    /// ```
    /// use std::net::Ipv4Addr;
    /// use ipam_core::Pool;
    ///
    /// let mut pool = Pool::new("10.0.0.0/24".parse()?)?;
    /// pool.allocate_block(30)?;
    /// let set = pool.allocated();
    /// assert_eq!(set.len(), 4);
    /// assert!(set.contains(Ipv4Addr::new(10, 0, 0, 3).to_bits()));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn allocated(&self) -> RoaringBitmap {
        let base = u64::from(self.net.network().to_bits());
        let mut set = RoaringBitmap::new();
        let mut pos = 0;
        while let Some(start) = self.tree.next_used(pos) {
            let end = self.tree.next_free(start).unwrap_or(self.tree.size());
            set.insert_range(addr_from(base + start).to_bits()..=addr_from(base + end - 1).to_bits());
            pos = end;
        }
        for &(first, last) in self.reserved.ranges() {
            set.remove_range(addr_from(base + first).to_bits()..=addr_from(base + last).to_bits());
        }
        set
    }

    /// A pool over `net` (every address usable, [`Policy::FirstFit`](crate::Policy::FirstFit)) with
    /// `allocated` marked in use. Same as `Pool::builder(net).allocated(allocated).build()`.
    ///
    /// ```
    /// use ipam_core::{Error, Pool};
    ///
    /// let mut pool = Pool::new("10.0.0.0/16".parse()?)?;
    /// pool.allocate_block(20)?;
    /// pool.allocate()?;
    /// let copy = Pool::from_allocated(pool.network(), &pool.allocated())?;
    /// assert_eq!(copy.allocated(), pool.allocated());
    ///
    /// let err = Pool::from_allocated("10.1.0.0/16".parse()?, &pool.allocated()).unwrap_err();
    /// assert!(matches!(err, Error::OutOfPool { .. }));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_allocated(net: Ipv4Net, allocated: &RoaringBitmap) -> Result<Pool, Error> {
        Pool::builder(net).allocated(allocated).build()
    }
}
