//! [`PoolBuilder`]: reservations, exclusions, policy, and restoring a saved state in one pass.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use roaring::RoaringBitmap;

use super::{Pool, addr_from};
use crate::reserved::Reserved;
use crate::tree::Tree;
use crate::{Error, Policy};

/// Configures a [`Pool`]; made by [`Pool::builder`], finished by [`PoolBuilder::build`], which checks
/// everything at once.
///
/// ```
/// use ipam_core::{Error, Policy, Pool};
///
/// let pool = Pool::builder("10.1.0.0/16".parse()?)
///     .reserve_network_broadcast(true)   // no-op for /31 and /32 (RFC 3021)
///     .reserve_gateway(true)             // the first usable address
///     .exclude("10.1.255.0/24".parse()?) // any number of excluded CIDRs inside the pool
///     .policy(Policy::BestFit)
///     .build()?;
/// assert!(pool.is_reserved("10.1.0.1".parse()?));
///
/// let err = Pool::builder("10.1.0.0/16".parse()?).exclude("10.2.0.0/24".parse()?).build().unwrap_err();
/// assert!(matches!(err, Error::OutOfPool { .. }));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
#[must_use = "a builder does nothing until .build() is called"]
pub struct PoolBuilder {
    net: Ipv4Net,
    network_broadcast: bool,
    gateway: bool,
    exclusions: Vec<Ipv4Net>,
    policy: Policy,
    allocated: Option<RoaringBitmap>,
    cursor: Option<Ipv4Addr>,
}

impl PoolBuilder {
    pub(super) fn new(net: Ipv4Net) -> PoolBuilder {
        PoolBuilder {
            net,
            network_broadcast: false,
            gateway: false,
            exclusions: Vec::new(),
            policy: Policy::default(),
            allocated: None,
            cursor: None,
        }
    }

    /// Reserve the network and broadcast addresses. A no-op for /31 and /32, whose every address is
    /// usable (RFC 3021).
    ///
    /// ```
    /// let pool = ipam_core::Pool::builder("10.0.0.0/31".parse()?).reserve_network_broadcast(true).build()?;
    /// assert_eq!(pool.capacity(), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn reserve_network_broadcast(mut self, yes: bool) -> PoolBuilder {
        self.network_broadcast = yes;
        self
    }

    /// Reserve the gateway: the first usable address (after the network address, when that is
    /// reserved).
    ///
    /// ```
    /// let pool = ipam_core::Pool::builder("10.0.0.0/24".parse()?)
    ///     .reserve_network_broadcast(true)
    ///     .reserve_gateway(true)
    ///     .build()?;
    /// assert!(pool.is_reserved("10.0.0.1".parse()?));
    /// assert!(!pool.is_reserved("10.0.0.2".parse()?));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn reserve_gateway(mut self, yes: bool) -> PoolBuilder {
        self.gateway = yes;
        self
    }

    /// Exclude a CIDR (it must lie inside the pool and have no host bits set); call once per CIDR.
    /// Exclusions may overlap each other and the other reservations.
    ///
    /// ```
    /// let pool = ipam_core::Pool::builder("10.0.0.0/24".parse()?)
    ///     .exclude("10.0.0.0/26".parse()?)
    ///     .exclude("10.0.0.200/32".parse()?)
    ///     .build()?;
    /// assert_eq!(pool.capacity(), 256 - 64 - 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn exclude(mut self, net: Ipv4Net) -> PoolBuilder {
        self.exclusions.push(net);
        self
    }

    /// Choose the allocation policy (default [`Policy::FirstFit`]).
    ///
    /// ```
    /// use ipam_core::{Policy, Pool};
    /// let pool = Pool::builder("10.0.0.0/24".parse()?).policy(Policy::RoundRobin).build()?;
    /// assert_eq!(pool.policy(), Policy::RoundRobin);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn policy(mut self, policy: Policy) -> PoolBuilder {
        self.policy = policy;
        self
    }

    /// Start from these allocated addresses (as [`Pool::allocated`] exports them). Every address must
    /// lie inside the pool and none may be reserved.
    ///
    /// ```
    /// use ipam_core::Pool;
    /// use roaring::RoaringBitmap;
    ///
    /// let mut used = RoaringBitmap::new();
    /// used.insert_range(u32::from_be_bytes([10, 0, 0, 0])..u32::from_be_bytes([10, 0, 0, 100]));
    /// let mut pool = Pool::builder("10.0.0.0/24".parse()?).allocated(&used).build()?;
    /// assert_eq!(pool.allocate()?.to_string(), "10.0.0.100");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn allocated(mut self, addresses: &RoaringBitmap) -> PoolBuilder {
        self.allocated = Some(addresses.clone());
        self
    }

    /// Start the RoundRobin search at this address (as [`Pool::cursor`] reads it back).
    ///
    /// ```
    /// use ipam_core::{Policy, Pool};
    /// let mut pool = Pool::builder("10.0.0.0/24".parse()?)
    ///     .policy(Policy::RoundRobin)
    ///     .cursor("10.0.0.42".parse()?)
    ///     .build()?;
    /// assert_eq!(pool.allocate()?.to_string(), "10.0.0.42");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn cursor(mut self, addr: Ipv4Addr) -> PoolBuilder {
        self.cursor = Some(addr);
        self
    }

    /// Checks the configuration and builds the pool.
    ///
    /// Fails with [`Error::HostBitsSet`] for a network or exclusion with host bits set,
    /// [`Error::OutOfPool`] for an exclusion, allocated address or cursor outside the network, and
    /// [`Error::Reserved`] for an allocated address that is reserved.
    ///
    /// ```
    /// use ipam_core::{Error, Pool};
    /// let err = Pool::builder("10.0.0.1/24".parse()?).build().unwrap_err();
    /// assert_eq!(err, Error::HostBitsSet { net: "10.0.0.1/24".parse()? });
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn build(self) -> Result<Pool, Error> {
        let net = self.net;
        if net.addr() != net.network() {
            return Err(Error::HostBitsSet { net });
        }
        let mut pool = Pool {
            net,
            tree: Tree::new(32 - u32::from(net.prefix_len())),
            reserved: Reserved::default(),
            allocated: 0,
            policy: self.policy,
            cursor: 0,
        };
        pool.tree.write_releases_through(self.policy == Policy::RoundRobin);
        pool.reserved = Reserved::new(self.reservations(&pool)?);
        for &(first, last) in pool.reserved.ranges() {
            pool.tree.fill(first, last + 1, true);
        }
        if let Some(addresses) = &self.allocated {
            pool.load(addresses)?;
        }
        if let Some(cursor) = self.cursor {
            pool.cursor = pool.offset(cursor)?;
        }
        Ok(pool)
    }

    /// The reserved offset ranges: network, broadcast, gateway and exclusions.
    fn reservations(&self, pool: &Pool) -> Result<Vec<(u64, u64)>, Error> {
        let last = pool.tree.size() - 1;
        let split = self.network_broadcast && self.net.prefix_len() <= 30;
        let mut ranges = Vec::with_capacity(self.exclusions.len() + 3);
        if split {
            ranges.extend([(0, 0), (last, last)]);
        }
        if self.gateway {
            let gateway = u64::from(split);
            ranges.push((gateway, gateway));
        }
        for &excluded in &self.exclusions {
            if excluded.addr() != excluded.network() {
                return Err(Error::HostBitsSet { net: excluded });
            }
            let first = u64::from(excluded.network().to_bits());
            let (start, end) = pool.span_offsets(first, u64::from(excluded.broadcast().to_bits()))?;
            ranges.push((start, end - 1));
        }
        Ok(ranges)
    }
}

impl Pool {
    /// Marks a set of addresses allocated, refusing any outside the pool or reserved.
    fn load(&mut self, addresses: &RoaringBitmap) -> Result<(), Error> {
        let base = u64::from(self.net.network().to_bits());
        let pool_last = base + self.tree.size() - 1;
        if let Some(outside) = addresses
            .min()
            .filter(|&min| u64::from(min) < base)
            .or_else(|| addresses.max().filter(|&max| u64::from(max) > pool_last))
        {
            return Err(Error::OutOfPool { addr: Ipv4Addr::from_bits(outside), pool: self.net });
        }
        for &(first, last) in self.reserved.ranges() {
            let range = addr_bits(base + first)..=addr_bits(base + last);
            if let Some(taken) = addresses.range(range).next() {
                return Err(Error::Reserved { addr: Ipv4Addr::from_bits(taken) });
            }
        }
        let mut runs = addresses.iter();
        let ranges = std::iter::from_fn(|| runs.next_range())
            .map(|run| (u64::from(*run.start()) - base, u64::from(*run.end()) - base + 1));
        self.tree.fill_many(ranges);
        self.allocated += addresses.len();
        Ok(())
    }
}

/// The address value at `value`, which callers keep below 2^32.
fn addr_bits(value: u64) -> u32 {
    addr_from(value).to_bits()
}
