//! The one error type of this crate.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

/// Why a pool operation failed. A failed operation leaves the pool exactly as it was.
///
/// Match variants with `{ .. }`: they carry context, and new variants may be added.
///
/// ```
/// use ipam_core::{Error, Pool};
///
/// let mut pool = Pool::new("10.0.0.0/30".parse()?)?;
/// pool.allocate_specific("10.0.0.1".parse()?)?;
/// let err = pool.allocate_specific("10.0.0.1".parse()?).unwrap_err();
/// assert!(matches!(err, Error::AlreadyAllocated { .. }));
/// assert_eq!(err.to_string(), "10.0.0.1 is already allocated");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A pool's network has bits set past its prefix length (`10.0.0.1/24`); write `10.0.0.0/24`.
    #[error("{net} has host bits set; the network is {}", net.trunc())]
    HostBitsSet {
        /// The network as given.
        net: Ipv4Net,
    },
    /// A prefix length outside what the operation accepts (for blocks: from the pool's own length to 32).
    #[error("prefix length /{prefix_len} is invalid here; expected /{min} to /32")]
    InvalidPrefixLength {
        /// The prefix length asked for.
        prefix_len: u8,
        /// The shortest prefix length accepted.
        min: u8,
    },
    /// A count of addresses that cannot be served, such as an empty range.
    #[error("invalid count {count}: {reason}")]
    InvalidCount {
        /// The count asked for.
        count: u64,
        /// Why it was refused.
        reason: &'static str,
    },
    /// An address range whose first address comes after its last.
    #[error("{first}-{last} is an empty range (the first address comes after the last)")]
    InvalidRange {
        /// The range's first address.
        first: Ipv4Addr,
        /// The range's last address.
        last: Ipv4Addr,
    },
    /// An address (the first one found) lies outside the pool.
    #[error("{addr} is outside the pool {pool}")]
    OutOfPool {
        /// The first address found outside the pool.
        addr: Ipv4Addr,
        /// The pool's network.
        pool: Ipv4Net,
    },
    /// A block's address is not aligned to its size (`10.0.0.4/29`).
    #[error("{block} is not aligned to its size; the enclosing block is {}", block.trunc())]
    Misaligned {
        /// The block as given.
        block: Ipv4Net,
    },
    /// An address (the first one found) is already allocated.
    #[error("{addr} is already allocated")]
    AlreadyAllocated {
        /// The first allocated address found.
        addr: Ipv4Addr,
    },
    /// An address (the first one found) was to be released but is not allocated.
    #[error("{addr} is not allocated")]
    NotAllocated {
        /// The first free address found.
        addr: Ipv4Addr,
    },
    /// An address (the first one found) is reserved or excluded: it is never handed out and cannot
    /// be released.
    #[error("{addr} is reserved")]
    Reserved {
        /// The first reserved address found.
        addr: Ipv4Addr,
    },
    /// No free block of the wanted size is left.
    #[error("{}", exhausted(*wanted, pool))]
    Exhausted {
        /// The number of contiguous addresses wanted (1 for a single address).
        wanted: u64,
        /// The pool's network.
        pool: Ipv4Net,
    },
}

fn exhausted(wanted: u64, pool: &Ipv4Net) -> String {
    if wanted == 1 {
        format!("no free address is left in {pool}")
    } else {
        format!("no {wanted} contiguous free addresses are left in {pool}")
    }
}
