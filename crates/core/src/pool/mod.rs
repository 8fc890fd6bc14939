//! [`Pool`]: the allocator's public face. Addresses at the edges, offsets inside.

mod builder;
mod exchange;
mod free_blocks;
mod range;
mod stats;

use std::fmt;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

pub use builder::PoolBuilder;
pub use free_blocks::FreeBlocks;
pub use stats::PoolStats;

use crate::reserved::Reserved;
use crate::tree::Tree;
use crate::{Error, Policy};

/// An IPv4 pool: hands out single addresses, aligned CIDR blocks and contiguous ranges from one
/// network, and takes them back.
///
/// The pool records which addresses are in use (bitmap semantics): a block may be released address by
/// address, and an address is never handed out twice. Reserved and excluded addresses (see
/// [`PoolBuilder`]) are never handed out and cannot be released. Every failure is a typed [`Error`]
/// and leaves the pool as it was.
///
/// ```
/// use ipam_core::{Error, Pool};
///
/// let mut pool = Pool::new("10.0.0.0/8".parse()?)?;
/// assert_eq!(pool.allocate()?, "10.0.0.0".parse::<std::net::Ipv4Addr>()?);
/// assert_eq!(pool.allocate_block(24)?, "10.0.1.0/24".parse()?);
/// assert_eq!(pool.allocated_count(), 257);
///
/// let full = Pool::new("10.0.0.0/32".parse()?)?.allocate_block(31).unwrap_err();
/// assert!(matches!(full, Error::InvalidPrefixLength { .. }));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Pool {
    net: Ipv4Net,
    tree: Tree,
    reserved: Reserved,
    /// Addresses handed out (reservations not included).
    allocated: u64,
    policy: Policy,
    /// Offset where the next round-robin search starts, unwrapped: the pool's size stands for its
    /// start (wrapped where it is read, which keeps the wrap off the allocation path).
    cursor: u64,
}

impl Pool {
    /// A pool in which every address of `net` can be handed out, with the default policy
    /// ([`Policy::FirstFit`]). Use [`Pool::builder`] for reservations, exclusions and other policies.
    ///
    /// ```
    /// use ipam_core::{Error, Pool};
    ///
    /// let pool = Pool::new("192.168.0.0/24".parse()?)?;
    /// assert_eq!(pool.capacity(), 256);
    /// // ipnet accepts host bits; a pool does not.
    /// let err = Pool::new("192.168.0.1/24".parse()?).unwrap_err();
    /// assert!(matches!(err, Error::HostBitsSet { .. }));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(net: Ipv4Net) -> Result<Pool, Error> {
        Pool::builder(net).build()
    }

    /// Starts configuring a pool over `net`; see [`PoolBuilder`].
    ///
    /// ```
    /// use ipam_core::{Policy, Pool};
    ///
    /// let pool = Pool::builder("10.1.0.0/16".parse()?)
    ///     .reserve_network_broadcast(true)
    ///     .reserve_gateway(true)
    ///     .exclude("10.1.255.0/24".parse()?)
    ///     .policy(Policy::BestFit)
    ///     .build()?;
    /// assert_eq!(pool.capacity(), 65_536 - 3 - 255);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn builder(net: Ipv4Net) -> PoolBuilder {
        PoolBuilder::new(net)
    }

    /// The pool's network.
    ///
    /// ```
    /// let pool = ipam_core::Pool::new("10.2.0.0/16".parse()?)?;
    /// assert_eq!(pool.network().to_string(), "10.2.0.0/16");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn network(&self) -> Ipv4Net {
        self.net
    }

    /// The policy the pool chooses by.
    ///
    /// ```
    /// let pool = ipam_core::Pool::new("10.2.0.0/16".parse()?)?;
    /// assert_eq!(pool.policy(), ipam_core::Policy::FirstFit);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn policy(&self) -> Policy {
        self.policy
    }

    /// Addresses that can be handed out: the network's size less reserved and excluded addresses.
    ///
    /// ```
    /// let pool = ipam_core::Pool::builder("10.0.0.0/24".parse()?).reserve_network_broadcast(true).build()?;
    /// assert_eq!(pool.capacity(), 254);
    /// assert_eq!(ipam_core::Pool::new("0.0.0.0/0".parse()?)?.capacity(), 1 << 32);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn capacity(&self) -> u64 {
        self.tree.size() - self.reserved.count()
    }

    /// Addresses handed out and not yet released. Kept as a counter: O(1).
    ///
    /// ```
    /// let mut pool = ipam_core::Pool::new("10.0.0.0/24".parse()?)?;
    /// pool.allocate_block(26)?;
    /// assert_eq!(pool.allocated_count(), 64);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn allocated_count(&self) -> u64 {
        self.allocated
    }

    /// Addresses that can still be handed out: `capacity() - allocated_count()`. O(1).
    ///
    /// ```
    /// let mut pool = ipam_core::Pool::new("10.0.0.0/24".parse()?)?;
    /// pool.allocate()?;
    /// assert_eq!(pool.free_count(), 255);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn free_count(&self) -> u64 {
        self.capacity() - self.allocated
    }

    /// Hands out one free address, chosen by the pool's [`Policy`]. O(tree depth).
    ///
    /// ```
    /// use ipam_core::{Error, Pool};
    ///
    /// let mut pool = Pool::new("10.0.0.0/31".parse()?)?;
    /// assert_eq!(pool.allocate()?.to_string(), "10.0.0.0");
    /// assert_eq!(pool.allocate()?.to_string(), "10.0.0.1");
    /// assert!(matches!(pool.allocate(), Err(Error::Exhausted { wanted: 1, .. })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline]
    pub fn allocate(&mut self) -> Result<Ipv4Addr, Error> {
        let found =
            if self.policy == Policy::FirstFit { self.tree.take_first_free() } else { self.take_chosen() };
        let Some(pos) = found else { return Err(self.exhausted(1)) };
        self.allocated += 1;
        self.cursor = pos + 1;
        Ok(self.addr(pos))
    }

    /// Takes one given address.
    ///
    /// ```
    /// use ipam_core::{Error, Pool};
    ///
    /// let mut pool = Pool::builder("10.0.0.0/24".parse()?).reserve_gateway(true).build()?;
    /// pool.allocate_specific("10.0.0.7".parse()?)?;
    /// assert!(matches!(pool.allocate_specific("10.0.0.7".parse()?), Err(Error::AlreadyAllocated { .. })));
    /// assert!(matches!(pool.allocate_specific("10.0.0.0".parse()?), Err(Error::Reserved { .. })));
    /// assert!(matches!(pool.allocate_specific("10.0.1.0".parse()?), Err(Error::OutOfPool { .. })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline]
    pub fn allocate_specific(&mut self, addr: Ipv4Addr) -> Result<(), Error> {
        let pos = self.offset(addr)?;
        if !self.tree.set_free(pos) {
            return Err(self.not_taken(pos));
        }
        self.allocated += 1;
        Ok(())
    }

    /// Hands out a free block of `prefix_len` (from the pool's own prefix length to 32), aligned to
    /// its size, chosen by the pool's [`Policy`]. O(tree depth + the block's words).
    ///
    /// ```
    /// use ipam_core::{Error, Pool};
    ///
    /// let mut pool = Pool::new("10.0.0.0/16".parse()?)?;
    /// pool.allocate()?; // 10.0.0.0 is taken, so the first /24 is the next one
    /// assert_eq!(pool.allocate_block(24)?.to_string(), "10.0.1.0/24");
    /// assert!(matches!(pool.allocate_block(8), Err(Error::InvalidPrefixLength { prefix_len: 8, min: 16 })));
    /// assert!(matches!(pool.allocate_block(16), Err(Error::Exhausted { .. })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn allocate_block(&mut self, prefix_len: u8) -> Result<Ipv4Net, Error> {
        let order = self.block_order(prefix_len)?;
        let pos = self.take_block(order).ok_or_else(|| self.exhausted(1 << order))?;
        self.cursor = pos + (1 << order);
        Ok(Ipv4Net::new_assert(self.addr(pos), prefix_len))
    }

    /// Takes one given aligned block, all of whose addresses must be free.
    ///
    /// ```
    /// use ipam_core::{Error, Pool};
    ///
    /// let mut pool = Pool::new("10.0.0.0/16".parse()?)?;
    /// pool.allocate_block_specific("10.0.4.0/22".parse()?)?;
    /// assert!(matches!(pool.allocate_block_specific("10.0.5.0/24".parse()?), Err(Error::AlreadyAllocated { .. })));
    /// assert!(matches!(pool.allocate_block_specific("10.0.0.4/29".parse()?), Err(Error::Misaligned { .. })));
    /// assert!(matches!(pool.allocate_block_specific("10.1.0.0/24".parse()?), Err(Error::OutOfPool { .. })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn allocate_block_specific(&mut self, block: Ipv4Net) -> Result<(), Error> {
        let (start, end) = self.block_offsets(block)?;
        let order = (end - start).trailing_zeros();
        if self.tree.is_leaf_block(order) {
            // Checked and taken in one pass over the block's words.
            if let Some(pos) = self.reserved.first_in(start, end - 1) {
                return Err(Error::Reserved { addr: self.addr(pos) });
            }
            self.tree
                .take_given_block(start, order)
                .map_err(|pos| Error::AlreadyAllocated { addr: self.addr(pos) })?;
            self.allocated += end - start;
            return Ok(());
        }
        self.check_free(start, end)?;
        self.mark(start, end, true);
        Ok(())
    }

    /// Gives one allocated address back. O(tree depth).
    ///
    /// ```
    /// use ipam_core::{Error, Pool};
    ///
    /// let mut pool = Pool::new("10.0.0.0/24".parse()?)?;
    /// let addr = pool.allocate()?;
    /// pool.release(addr)?;
    /// assert!(matches!(pool.release(addr), Err(Error::NotAllocated { .. })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    // Always inlined: a release in the hot word is a few compares and a field write, and as a call
    // (which `#[inline]` let the compiler choose) it cost 19 more instructions per allocate + release.
    #[inline(always)]
    pub fn release(&mut self, addr: Ipv4Addr) -> Result<(), Error> {
        let pos = self.offset(addr)?;
        // Reserved addresses are marked used, so checking them first gives the same answers.
        if self.reserved.contains(pos) || !self.tree.clear_used(pos) {
            return Err(self.not_released(pos));
        }
        self.allocated -= 1;
        Ok(())
    }

    /// Gives an aligned block back; every address in it must be allocated (however it was taken).
    ///
    /// ```
    /// use ipam_core::{Error, Pool};
    ///
    /// let mut pool = Pool::new("10.0.0.0/24".parse()?)?;
    /// let block = pool.allocate_block(28)?;
    /// pool.release(block.network())?;
    /// // the first address is already free, so the block cannot be released whole
    /// assert!(matches!(pool.release_block(block), Err(Error::NotAllocated { .. })));
    /// pool.release_range(block.network()..=block.broadcast()).unwrap_err();
    /// pool.allocate_specific(block.network())?;
    /// pool.release_block(block)?;
    /// assert_eq!(pool.allocated_count(), 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn release_block(&mut self, block: Ipv4Net) -> Result<(), Error> {
        let (start, end) = self.block_offsets(block)?;
        let order = (end - start).trailing_zeros();
        if !self.tree.is_leaf_block(order) {
            self.check_allocated(start, end)?;
            self.mark(start, end, false);
            return Ok(());
        }
        if let Some(pos) = self.reserved.first_in(start, end - 1) {
            return Err(Error::Reserved { addr: self.addr(pos) });
        }
        self.tree.free_block(start, order).map_err(|pos| Error::NotAllocated { addr: self.addr(pos) })?;
        self.allocated -= end - start;
        Ok(())
    }

    /// Whether `addr` is allocated. Reserved addresses and addresses outside the pool are not.
    ///
    /// ```
    /// let mut pool = ipam_core::Pool::new("10.0.0.0/24".parse()?)?;
    /// let addr = pool.allocate()?;
    /// assert!(pool.is_allocated(addr));
    /// assert!(!pool.is_allocated("10.0.0.9".parse()?));
    /// assert!(!pool.is_allocated("192.0.2.1".parse()?));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline]
    pub fn is_allocated(&self, addr: Ipv4Addr) -> bool {
        self.offset(addr).is_ok_and(|pos| self.tree.get(pos) && !self.reserved.contains(pos))
    }

    /// Whether `addr` is reserved or excluded (never handed out).
    ///
    /// ```
    /// let pool = ipam_core::Pool::builder("10.0.0.0/24".parse()?).reserve_network_broadcast(true).build()?;
    /// assert!(pool.is_reserved("10.0.0.255".parse()?));
    /// assert!(!pool.is_reserved("10.0.0.1".parse()?));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_reserved(&self, addr: Ipv4Addr) -> bool {
        self.offset(addr).is_ok_and(|pos| self.reserved.contains(pos))
    }

    /// The prefix length of the largest aligned free block, or `None` when nothing is free. O(1).
    ///
    /// ```
    /// let mut pool = ipam_core::Pool::new("10.0.0.0/24".parse()?)?;
    /// assert_eq!(pool.largest_free_block(), Some(24));
    /// pool.allocate()?;
    /// assert_eq!(pool.largest_free_block(), Some(25));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn largest_free_block(&self) -> Option<u8> {
        self.tree.max_free_order().map(prefix_len_of)
    }

    /// The RoundRobin cursor: where the next search of [`Policy::RoundRobin`] starts (the address after
    /// the last one handed out). Stored so a pool can be rebuilt exactly with [`PoolBuilder::cursor`].
    ///
    /// ```
    /// let mut pool = ipam_core::Pool::new("10.0.0.0/24".parse()?)?;
    /// pool.allocate_block(30)?;
    /// assert_eq!(pool.cursor().to_string(), "10.0.0.4");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn cursor(&self) -> Ipv4Addr {
        self.addr(self.cursor_offset())
    }

    /// Bytes the pool holds on the heap (the struct itself not included).
    ///
    /// ```
    /// let pool = ipam_core::Pool::new("0.0.0.0/0".parse()?)?;
    /// assert!(pool.heap_bytes() < 1 << 20); // lazy: 4 billion addresses, under 1 MiB
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn heap_bytes(&self) -> usize {
        self.tree.heap_bytes() + self.reserved.heap_bytes()
    }

    /// Checks every internal invariant: summaries agree with the bitmap, the counters agree with the
    /// bits, reservations are marked. For tests and fuzzing; O(pool size).
    #[doc(hidden)]
    pub fn validate(&self) -> Result<(), String> {
        self.tree.validate()?;
        let used = self.tree.count_used();
        let expected = self.allocated + self.reserved.count();
        if used != expected {
            return Err(format!(
                "bitmap holds {used} used, counters say {} allocated + {} reserved",
                self.allocated,
                self.reserved.count()
            ));
        }
        for &(first, last) in self.reserved.ranges() {
            if let Some(free) = self.tree.next_free(first).filter(|&pos| pos <= last) {
                return Err(format!("reserved {} is marked free", self.addr(free)));
            }
        }
        if self.cursor > self.tree.size() {
            return Err(format!("cursor offset {} is past the pool", self.cursor));
        }
        Ok(())
    }

    /// A free block of `order` chosen by the policy, marked used and counted.
    fn take_block(&mut self, order: u32) -> Option<u64> {
        if self.policy == Policy::FirstFit && self.tree.is_leaf_block(order) {
            let pos = self.tree.take_first_block(order)?;
            self.allocated += 1 << order;
            return Some(pos);
        }
        let pos = self.choose(order)?;
        self.mark(pos, pos + (1 << order), true);
        Some(pos)
    }

    fn choose(&mut self, order: u32) -> Option<u64> {
        match self.policy {
            Policy::FirstFit if order == 0 => self.tree.first_free(),
            Policy::FirstFit => self.tree.find_first(order, 0),
            Policy::BestFit => self.tree.find_best(order),
            Policy::RoundRobin => {
                let cursor = self.cursor_offset();
                self.tree.find_first(order, cursor).or_else(|| self.tree.find_first(order, 0))
            }
        }
    }

    /// Marks `start..end` and keeps the counter; the caller has checked every address.
    fn mark(&mut self, start: u64, end: u64, used: bool) {
        if end - start == 1 {
            if used { self.tree.set(start) } else { self.tree.clear(start) }
        } else {
            self.tree.fill(start, end, used);
        }
        if used {
            self.allocated += end - start;
        } else {
            self.allocated -= end - start;
        }
    }

    /// Fails unless every address in `start..end` is free.
    fn check_free(&self, start: u64, end: u64) -> Result<(), Error> {
        if let Some(pos) = self.reserved.first_in(start, end - 1) {
            return Err(Error::Reserved { addr: self.addr(pos) });
        }
        match self.tree.first_used_in(start, end) {
            Some(pos) => Err(Error::AlreadyAllocated { addr: self.addr(pos) }),
            None => Ok(()),
        }
    }

    /// Fails unless every address in `start..end` is allocated.
    fn check_allocated(&self, start: u64, end: u64) -> Result<(), Error> {
        if let Some(pos) = self.reserved.first_in(start, end - 1) {
            return Err(Error::Reserved { addr: self.addr(pos) });
        }
        match self.tree.first_free_in(start, end) {
            Some(pos) => Err(Error::NotAllocated { addr: self.addr(pos) }),
            None => Ok(()),
        }
    }

    /// Where the next round-robin search starts.
    fn cursor_offset(&self) -> u64 {
        self.cursor & (self.tree.size() - 1)
    }

    /// A single address chosen by a policy other than first fit, taken.
    #[inline(never)]
    fn take_chosen(&mut self) -> Option<u64> {
        if self.policy == Policy::RoundRobin {
            // The rolling search has its own hot-word shortcut; a descent only when it moves on.
            return self.tree.take_next_free(self.cursor_offset());
        }
        self.choose(0).inspect(|&pos| self.tree.set(pos))
    }

    /// Order of a block of `prefix_len`, if the pool can hold one.
    fn block_order(&self, prefix_len: u8) -> Result<u32, Error> {
        let min = self.net.prefix_len();
        if !(min..=32).contains(&prefix_len) {
            return Err(Error::InvalidPrefixLength { prefix_len, min });
        }
        Ok(32 - u32::from(prefix_len))
    }

    /// Offsets `start..end` of an aligned block inside the pool.
    fn block_offsets(&self, block: Ipv4Net) -> Result<(u64, u64), Error> {
        // Integer arithmetic rather than `Ipv4Net::network`/`broadcast`: this is every block
        // release's first step, and they cost as much as the release itself.
        let first = u64::from(block.addr().to_bits());
        let size = 1u64 << (32 - u32::from(block.prefix_len()));
        if first & (size - 1) != 0 {
            return Err(Error::Misaligned { block });
        }
        self.span_offsets(first, first + size - 1)
    }

    /// Offsets `start..end` of the addresses `first..=last`, all of which must lie inside the pool.
    fn span_offsets(&self, first: u64, last: u64) -> Result<(u64, u64), Error> {
        let base = u64::from(self.net.addr().to_bits());
        let pool_last = base + self.tree.size() - 1;
        let outside = if first < base {
            Some(first)
        } else if last > pool_last {
            Some(first.max(pool_last + 1))
        } else {
            None
        };
        if let Some(addr) = outside {
            return Err(Error::OutOfPool { addr: addr_from(addr), pool: self.net });
        }
        Ok((first - base, last - base + 1))
    }

    #[inline]
    fn offset(&self, addr: Ipv4Addr) -> Result<u64, Error> {
        let pos = addr.to_bits().wrapping_sub(self.net.addr().to_bits());
        if u64::from(pos) < self.tree.size() { Ok(u64::from(pos)) } else { Err(self.out_of_pool(addr)) }
    }

    /// Why the address at `pos` could not be released (the caller found it reserved or free).
    #[cold]
    fn not_released(&self, pos: u64) -> Error {
        let addr = self.addr(pos);
        if self.reserved.contains(pos) { Error::Reserved { addr } } else { Error::NotAllocated { addr } }
    }

    /// Why the address at `pos` could not be taken (the caller found it used).
    #[cold]
    fn not_taken(&self, pos: u64) -> Error {
        let addr = self.addr(pos);
        if self.reserved.contains(pos) { Error::Reserved { addr } } else { Error::AlreadyAllocated { addr } }
    }

    #[cold]
    fn out_of_pool(&self, addr: Ipv4Addr) -> Error {
        Error::OutOfPool { addr, pool: self.net }
    }

    #[inline]
    fn addr(&self, pos: u64) -> Ipv4Addr {
        // `net` has no host bits (the builder checks), so its address is its network.
        addr_from(u64::from(self.net.addr().to_bits()) + pos)
    }

    #[cold]
    fn exhausted(&self, wanted: u64) -> Error {
        Error::Exhausted { wanted, pool: self.net }
    }
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field("network", &self.net)
            .field("policy", &self.policy)
            .field("capacity", &self.capacity())
            .field("allocated", &self.allocated)
            .field("cursor", &self.cursor())
            .finish_non_exhaustive()
    }
}

/// The address at `value` (which is below 2^32 wherever this is called).
#[inline]
fn addr_from(value: u64) -> Ipv4Addr {
    Ipv4Addr::from_bits(value as u32)
}

/// Prefix length of a block of `2^order` addresses.
#[inline]
fn prefix_len_of(order: u32) -> u8 {
    (32 - order) as u8
}
