//! What the store keeps: pool definitions and allocations.

use std::fmt;
use std::net::Ipv4Addr;

use ipam_core::{Policy, PoolBuilder, PoolStats};
use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

use crate::Error;

/// How a pool is set up: its network, reservations, exclusions, policy and optional parent.
///
/// ```
/// use ipam_store::PoolDef;
///
/// let def = PoolDef::new("racks", "10.1.0.0/16".parse()?).gateway(true);
/// assert!(def.network_broadcast && def.gateway);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolDef {
    /// Unique name: 1-63 letters, digits, `-`, `_`, `.`, starting with a letter or digit.
    pub name: String,
    /// The network.
    pub cidr: Ipv4Net,
    /// Reserve the gateway (the first usable address).
    pub gateway: bool,
    /// Reserve the network and broadcast addresses (ignored for /31 and /32).
    pub network_broadcast: bool,
    /// Excluded networks inside the pool.
    pub exclusions: Vec<Ipv4Net>,
    /// How addresses are chosen.
    pub policy: Policy,
    /// The pool this one was carved from (its network is a block allocated there).
    pub parent: Option<String>,
    /// A container: it holds child pools and hands out nothing itself (an `ipam apply`
    /// aggregate). Its use is the sum of its children's, so it is never "full".
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub container: bool,
}

impl PoolDef {
    /// A root pool with network and broadcast reserved, first fit, nothing excluded.
    ///
    /// ```
    /// let def = ipam_store::PoolDef::new("lab", "192.168.7.0/24".parse()?);
    /// assert_eq!(def.policy, ipam_core::Policy::FirstFit);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(name: &str, cidr: Ipv4Net) -> PoolDef {
        PoolDef {
            name: name.to_owned(),
            cidr,
            gateway: false,
            network_broadcast: true,
            exclusions: Vec::new(),
            policy: Policy::FirstFit,
            parent: None,
            container: false,
        }
    }

    /// Whether to reserve the gateway.
    ///
    /// ```
    /// # let def = ipam_store::PoolDef::new("lab", "192.168.7.0/24".parse()?);
    /// assert!(def.gateway(true).gateway);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn gateway(mut self, yes: bool) -> PoolDef {
        self.gateway = yes;
        self
    }

    /// Whether the pool is a container of child pools that hands out nothing itself (it then
    /// reserves nothing either: no gateway, network or broadcast).
    ///
    /// ```
    /// let mut store = ipam_store::Store::open_in_memory()?;
    /// store.add_pool(&ipam_store::PoolDef::new("backend", "10.0.0.0/16".parse()?).container(true))?;
    /// let refused = store.allocate("backend", ipam_store::Request::Next, None).unwrap_err();
    /// assert!(matches!(refused, ipam_store::Error::Container { .. }));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn container(mut self, yes: bool) -> PoolDef {
        self.container = yes;
        if yes {
            // Its children hold every address: a container reserves none of its own.
            (self.gateway, self.network_broadcast) = (false, false);
        }
        self
    }

    /// What the `policy` column stores: the policy, or `container` (which hands out nothing).
    pub(crate) fn policy_text(&self) -> String {
        if self.container { CONTAINER_POLICY.to_owned() } else { self.policy.to_string() }
    }

    /// The allocator's builder for this definition.
    pub(crate) fn builder(&self) -> PoolBuilder {
        let mut builder = ipam_core::Pool::builder(self.cidr)
            .reserve_gateway(self.gateway)
            .reserve_network_broadcast(self.network_broadcast)
            .policy(self.policy);
        for &net in &self.exclusions {
            builder = builder.exclude(net);
        }
        builder
    }
}

/// What to allocate.
///
/// ```
/// use ipam_store::Request;
///
/// let wanted = Request::Block(26);
/// assert_ne!(wanted, Request::Next);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request {
    /// The next free address under the pool's policy.
    Next,
    /// This address.
    Addr(Ipv4Addr),
    /// An aligned block of this prefix length.
    Block(u8),
    /// This many contiguous addresses.
    Range(u32),
}

/// What to release.
///
/// ```
/// use ipam_store::Release;
///
/// let by_owner = Release::Owner("node-7".into());
/// assert!(matches!(by_owner, Release::Owner(_)));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Release {
    /// The single-address allocation of this address.
    Addr(Ipv4Addr),
    /// The block allocation of this network.
    Block(Ipv4Net),
    /// The range allocation from the first to the last address.
    Range(Ipv4Addr, Ipv4Addr),
    /// Whatever this owner holds in the pool.
    Owner(String),
}

/// The shape of an allocation.
///
/// ```
/// assert_eq!(serde_json::to_string(&ipam_store::Shape::Block).unwrap(), "\"block\"");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Shape {
    /// One address.
    Addr,
    /// An aligned CIDR block.
    Block,
    /// A contiguous range.
    Range,
}

impl Shape {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Shape::Addr => "addr",
            Shape::Block => "block",
            Shape::Range => "range",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<Shape> {
        [Shape::Addr, Shape::Block, Shape::Range].into_iter().find(|s| s.as_str() == text)
    }
}

/// One allocation, as recorded.
///
/// ```
/// use ipam_store::{PoolDef, Request, Store};
///
/// let mut store = Store::open_in_memory()?;
/// store.add_pool(&PoolDef::new("lab", "10.9.0.0/24".parse()?))?;
/// let a = store.allocate("lab", Request::Block(30), Some("switch-1"))?;
/// assert_eq!(a.to_string(), "10.9.0.4/30"); // 10.9.0.0/30 holds the reserved network address
/// assert_eq!(a.owner.as_deref(), Some("switch-1"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Allocation {
    /// First address.
    pub first: Ipv4Addr,
    /// Last address (equal to `first` for one address).
    pub last: Ipv4Addr,
    /// Its shape.
    pub shape: Shape,
    /// Who holds it (hostname, MAC, pod id), if recorded.
    pub owner: Option<String>,
    /// When it was made, in seconds since the Unix epoch (RFC 3339 in JSON, which reads either).
    #[serde(with = "crate::time::created")]
    pub created: u64,
}

impl Allocation {
    /// How many addresses it spans.
    ///
    /// ```
    /// use ipam_store::{Allocation, Shape};
    ///
    /// let a = Allocation { first: "10.0.0.4".parse()?, last: "10.0.0.7".parse()?, shape: Shape::Block, owner: None, created: 0 };
    /// assert_eq!(a.size(), 4);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn size(&self) -> u64 {
        u64::from(u32::from(self.last).saturating_sub(u32::from(self.first))) + 1
    }
}

impl fmt::Display for Allocation {
    /// `10.0.0.5`, `10.0.0.0/26` or `10.0.0.5-10.0.0.44`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.shape {
            Shape::Addr => write!(f, "{}", self.first),
            Shape::Block => match block_prefix_len(self.first, self.last) {
                Some(len) => write!(f, "{}/{len}", self.first),
                // Only an allocation read from a hostile import can be a "block" that is none.
                None => write!(f, "{}-{}", self.first, self.last),
            },
            Shape::Range => write!(f, "{}-{}", self.first, self.last),
        }
    }
}

/// The prefix length of the aligned block `first..=last`, if it is one.
pub(crate) fn block_prefix_len(first: Ipv4Addr, last: Ipv4Addr) -> Option<u8> {
    let (first, last) = (u64::from(u32::from(first)), u64::from(u32::from(last)));
    let size = last.checked_sub(first)? + 1;
    (size.is_power_of_two() && first % size == 0).then(|| 32 - size.trailing_zeros() as u8)
}

/// A pool with its state: definition, counts and free space.
///
/// ```
/// use ipam_store::{PoolDef, Store};
///
/// let mut store = Store::open_in_memory()?;
/// store.add_pool(&PoolDef::new("lab", "10.9.0.0/24".parse()?))?;
/// let info = store.pool("lab")?;
/// assert_eq!(info.stats.capacity, 254);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PoolInfo {
    /// How it is set up.
    pub def: PoolDef,
    /// Where the RoundRobin policy continues.
    pub cursor: Ipv4Addr,
    /// Allocations recorded.
    pub allocations: u64,
    /// Counts, largest free block, fragmentation.
    pub stats: PoolStats,
}

/// A pool's use as its row records it: what `ipam pool list` shows, read without touching the
/// pool's allocations or bitmap.
///
/// ```
/// use ipam_store::{PoolDef, Request, Store};
///
/// let mut store = Store::open_in_memory()?;
/// store.add_pool(&PoolDef::new("lab", "10.9.0.0/24".parse()?))?;
/// store.allocate("lab", Request::Block(26), None)?;
/// let lab = &store.pools()?[0];
/// assert_eq!((lab.capacity, lab.allocated, lab.free), (254, 64, 190));
/// assert_eq!(lab.largest_free_block, Some(26));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PoolUse {
    /// How it is set up.
    pub def: PoolDef,
    /// Where the RoundRobin policy continues (`round_robin_cursor` in JSON).
    #[serde(rename = "round_robin_cursor")]
    pub cursor: Ipv4Addr,
    /// Allocations recorded.
    pub allocations: u64,
    /// Addresses that can be handed out (reservations excluded).
    pub capacity: u64,
    /// Addresses handed out (child pools' blocks included).
    pub allocated: u64,
    /// Addresses still free.
    pub free: u64,
    /// Prefix length of the largest aligned free block, if any (`"/26"` in JSON).
    #[serde(serialize_with = "prefix_text")]
    pub largest_free_block: Option<u8>,
}

/// A prefix length as people write it: `"/26"`.
fn prefix_text<S: serde::Serializer>(len: &Option<u8>, s: S) -> Result<S::Ok, S::Error> {
    match len {
        Some(len) => s.serialize_str(&format!("/{len}")),
        None => s.serialize_none(),
    }
}

impl PoolUse {
    /// Allocated share of the capacity, 0.0 to 1.0.
    ///
    /// ```
    /// let mut store = ipam_store::Store::open_in_memory()?;
    /// store.add_pool(&ipam_store::PoolDef::new("lab", "10.9.0.0/30".parse()?))?;
    /// store.allocate("lab", ipam_store::Request::Next, None)?;
    /// assert_eq!(store.pools()?[0].utilization(), 0.5);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn utilization(&self) -> f64 {
        if self.capacity == 0 { 0.0 } else { self.allocated as f64 / self.capacity as f64 }
    }
}

/// Checks a pool name with the rule every front end shares (`ipam_core::parse::name`).
pub(crate) fn check_name(name: &str) -> Result<(), Error> {
    ipam_core::parse::name(name).map(|_| ()).map_err(|_| Error::InvalidName { name: crate::excerpt(name) })
}

/// Owners are free text (hostnames, MACs, pod ids) but never empty, huge, or with control
/// characters; the `pool:` prefix marks a child pool's block, `cooldown:` a released block that
/// is not handed out again yet.
pub(crate) fn check_owner(owner: &str) -> Result<(), Error> {
    let ok = !owner.is_empty()
        && owner.len() <= 255
        && !owner.chars().any(char::is_control)
        && !owner.starts_with(CHILD_PREFIX)
        && !owner.starts_with(COOLDOWN_PREFIX);
    if ok { Ok(()) } else { Err(Error::InvalidOwner { owner: crate::excerpt(owner) }) }
}

/// The `policy` column of a container pool: kept there so that the schema stays as it is and a
/// container's row checksum covers it.
pub(crate) const CONTAINER_POLICY: &str = "container";

/// The owner recorded on a parent's block that became a child pool.
pub(crate) const CHILD_PREFIX: &str = "pool:";

/// The owner of a released block during its cooldown: `cooldown:UNTIL:FIRST`, UNTIL in seconds
/// since the epoch, zero-padded to 20 digits so that owners sort by time.
pub(crate) const COOLDOWN_PREFIX: &str = "cooldown:";

/// Whether `owner` is the cooldown owner of a block starting at `first`.
pub(crate) fn is_cooldown_owner(owner: &str, first: std::net::Ipv4Addr) -> bool {
    let Some(rest) = owner.strip_prefix(COOLDOWN_PREFIX) else { return false };
    let Some((until, addr)) = rest.split_once(':') else { return false };
    until.len() == 20
        && until.bytes().all(|b| b.is_ascii_digit())
        && until.parse::<u64>().is_ok()
        && addr == first.to_string()
}

/// The cooldown owner of a block released at `first` until `until`.
pub(crate) fn cooldown_owner(until: u64, first: std::net::Ipv4Addr) -> String {
    format!("{COOLDOWN_PREFIX}{until:020}:{first}")
}
