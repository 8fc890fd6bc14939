//! Laws that address plans and allocations obey, as checks you can run on your own data.
//!
//! Each check returns the first [`Violation`] it finds, naming the offending networks or address,
//! rather than a bare `bool`, so a failing property test says what went wrong. The pool's own tests
//! use the same checks.
//!
//! ```
//! use ipam_core::invariants::{self, Violation};
//! use ipnet::Ipv4Net;
//!
//! let a: Ipv4Net = "10.0.0.0/25".parse()?;
//! let b: Ipv4Net = "10.0.0.64/26".parse()?;
//! assert_eq!(invariants::disjoint(&[a, b]), Err(Violation::Overlap { a, b }));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::HashSet;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

/// A broken law, with the networks or address that break it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Violation {
    /// Two networks share addresses.
    #[error("{a} and {b} overlap")]
    Overlap {
        /// The network that starts first (or the larger, when both start together).
        a: Ipv4Net,
        /// The network that overlaps it.
        b: Ipv4Net,
    },
    /// A network does not lie inside the parent it should.
    #[error("{net} is not inside {parent}")]
    Outside {
        /// The network outside.
        net: Ipv4Net,
        /// The parent it should lie in.
        parent: Ipv4Net,
    },
    /// A network's address has host bits set (it is not aligned to its size).
    #[error("{net} is not aligned to its size")]
    Misaligned {
        /// The network as given.
        net: Ipv4Net,
    },
    /// Two networks of a cover are buddies that one shorter prefix would cover: the cover is not minimal.
    #[error("{a} and {b} should be the one block {merged}")]
    NotMinimal {
        /// The lower buddy.
        a: Ipv4Net,
        /// The upper buddy.
        b: Ipv4Net,
        /// The block that covers both.
        merged: Ipv4Net,
    },
    /// An address occurs more than once.
    #[error("{addr} occurs more than once")]
    Duplicate {
        /// The repeated address.
        addr: Ipv4Addr,
    },
}

/// First and last address of `net` as integers.
fn span(net: &Ipv4Net) -> (u32, u32) {
    (net.network().to_bits(), net.broadcast().to_bits())
}

/// No two networks share an address. O(n log n).
///
/// ```
/// use ipam_core::invariants::{disjoint, Violation};
/// let nets = ["10.0.0.0/24".parse()?, "10.0.1.0/24".parse()?, "10.0.0.128/25".parse()?];
/// assert!(matches!(disjoint(&nets), Err(Violation::Overlap { .. })));
/// assert_eq!(disjoint(&nets[..2]), Ok(()));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn disjoint(nets: &[Ipv4Net]) -> Result<(), Violation> {
    let mut sorted: Vec<Ipv4Net> = nets.iter().map(Ipv4Net::trunc).collect();
    // Same start: the larger first, so it is the one `b` is reported against.
    sorted.sort_by_key(|net| (net.network(), net.prefix_len()));
    let mut widest: Option<Ipv4Net> = None;
    for net in sorted {
        if let Some(prev) = widest
            && span(&net).0 <= span(&prev).1
        {
            return Err(Violation::Overlap { a: prev, b: net });
        }
        if widest.is_none_or(|prev| span(&net).1 > span(&prev).1) {
            widest = Some(net);
        }
    }
    Ok(())
}

/// Every network lies inside `parent`.
///
/// ```
/// use ipam_core::invariants::{all_inside, Violation};
/// let parent = "10.0.0.0/16".parse()?;
/// let net = "10.1.0.0/24".parse()?;
/// assert_eq!(all_inside(parent, &[net]), Err(Violation::Outside { net, parent }));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn all_inside(parent: Ipv4Net, nets: &[Ipv4Net]) -> Result<(), Violation> {
    match nets.iter().find(|net| !parent.contains(*net)) {
        Some(&net) => Err(Violation::Outside { net, parent }),
        None => Ok(()),
    }
}

/// Every network's address is its network address (no host bits: aligned to its size).
///
/// ```
/// use ipam_core::invariants::{aligned, Violation};
/// let net = "10.0.0.4/29".parse()?;
/// assert_eq!(aligned(&[net]), Err(Violation::Misaligned { net }));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn aligned(nets: &[Ipv4Net]) -> Result<(), Violation> {
    match nets.iter().find(|net| net.addr() != net.network()) {
        Some(&net) => Err(Violation::Misaligned { net }),
        None => Ok(()),
    }
}

/// The networks are the minimal CIDR cover of their union: aligned, disjoint, and no two of them
/// are buddies (a set of disjoint aligned blocks is minimal exactly when no two could merge).
///
/// ```
/// use ipam_core::invariants::{minimal_cover, Violation};
/// let free = ["10.0.0.0/25".parse()?, "10.0.0.128/26".parse()?, "10.0.0.192/26".parse()?];
/// assert!(matches!(minimal_cover(&free), Err(Violation::NotMinimal { .. })));
/// assert_eq!(minimal_cover(&free[..2]), Ok(()));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn minimal_cover(nets: &[Ipv4Net]) -> Result<(), Violation> {
    aligned(nets)?;
    disjoint(nets)?;
    let present: HashSet<Ipv4Net> = nets.iter().copied().collect();
    for &net in nets {
        let Some(merged) = net.supernet() else { continue };
        let lower = Ipv4Net::new_assert(merged.network(), net.prefix_len());
        let upper = Ipv4Net::new_assert(
            Ipv4Addr::from_bits(lower.broadcast().to_bits().wrapping_add(1)),
            net.prefix_len(),
        );
        if present.contains(&lower) && present.contains(&upper) {
            return Err(Violation::NotMinimal { a: lower, b: upper, merged });
        }
    }
    Ok(())
}

/// No address occurs twice.
///
/// ```
/// use std::net::Ipv4Addr;
/// use ipam_core::invariants::{no_duplicates, Violation};
/// let handed_out = [Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2), Ipv4Addr::new(10, 0, 0, 1)];
/// assert_eq!(no_duplicates(handed_out), Err(Violation::Duplicate { addr: Ipv4Addr::new(10, 0, 0, 1) }));
/// ```
pub fn no_duplicates(addresses: impl IntoIterator<Item = Ipv4Addr>) -> Result<(), Violation> {
    let mut seen = HashSet::new();
    for addr in addresses {
        if !seen.insert(addr) {
            return Err(Violation::Duplicate { addr });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(list: &[&str]) -> Vec<Ipv4Net> {
        list.iter().map(|s| s.parse().unwrap()).collect()
    }

    #[test]
    fn overlap_names_the_pair() {
        let list = nets(&["10.0.0.0/24", "10.0.2.0/24", "10.0.0.0/16", "10.0.3.0/24"]);
        assert_eq!(disjoint(&list), Err(Violation::Overlap { a: list[2], b: list[0] }));
        let nested_late = nets(&["10.0.0.0/24", "10.0.0.255/32"]);
        assert_eq!(disjoint(&nested_late), Err(Violation::Overlap { a: nested_late[0], b: nested_late[1] }));
        assert_eq!(disjoint(&nets(&["10.0.0.0/25", "10.0.0.128/25", "0.0.0.0/32"])), Ok(()));
    }

    #[test]
    fn minimal_cover_edges() {
        // A /0 has no buddy; the top of the space has one.
        assert_eq!(minimal_cover(&nets(&["0.0.0.0/0"])), Ok(()));
        let top = nets(&["255.255.255.254/32", "255.255.255.255/32"]);
        assert!(matches!(minimal_cover(&top), Err(Violation::NotMinimal { .. })));
        // Same size and adjacent but not buddies: still minimal.
        assert_eq!(minimal_cover(&nets(&["10.0.1.0/24", "10.0.2.0/24"])), Ok(()));
        assert!(matches!(minimal_cover(&nets(&["10.0.0.1/24"])), Err(Violation::Misaligned { .. })));
    }
}
