//! How big a segment must be: headroom, reservations, rounding up to a CIDR block.

use serde::{Deserialize, Serialize};

/// How a segment's addresses are used, which decides its reservations.
///
/// ```
/// use ipam_plan::Kind;
///
/// assert_eq!(Kind::Subnet.reserved(), 5);
/// assert_eq!(Kind::Links.reserved(), 0);
/// // 40 hosts with 2x headroom: 80 + 5 reserved, rounded up to a /25.
/// assert_eq!(Kind::Subnet.prefix_len(40, 2.0), Some(25));
/// // 64 /31 links (128 addresses) with 1.5x headroom: 96 links, a /24.
/// assert_eq!(Kind::Links.prefix_len(128, 1.5), Some(24));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A VLAN segment: network, gateway (`.1`), the switches' VRR pair (`.2`, `.3`) and broadcast
    /// are reserved, as in NVIDIA's BasePOD configurations.
    Subnet,
    /// Routed point-to-point /31s (RFC 3021): both addresses of each pair are used.
    Links,
    /// Routed /32s (loopbacks, anycast): every address is used.
    Hosts,
}

impl Kind {
    /// Addresses of the block that hosts cannot use.
    ///
    /// ```
    /// assert_eq!(ipam_plan::Kind::Hosts.reserved(), 0);
    /// ```
    pub const fn reserved(self) -> u64 {
        match self {
            Kind::Subnet => 5,
            Kind::Links | Kind::Hosts => 0,
        }
    }

    /// Whether segments of this kind get a VLAN and a gateway.
    ///
    /// ```
    /// assert!(ipam_plan::Kind::Subnet.has_vlan());
    /// ```
    pub const fn has_vlan(self) -> bool {
        matches!(self, Kind::Subnet)
    }

    /// Usable addresses needed for `planned` addresses with `growth` headroom. Links grow by
    /// whole /31s.
    ///
    /// ```
    /// assert_eq!(ipam_plan::Kind::Links.needed(6, 1.5), 10);
    /// assert_eq!(ipam_plan::Kind::Subnet.needed(6, 1.5), 9);
    /// ```
    pub fn needed(self, planned: u64, growth: f64) -> u64 {
        match self {
            Kind::Links => 2 * scale(planned.div_ceil(2), growth),
            Kind::Subnet | Kind::Hosts => scale(planned, growth),
        }
    }

    /// The prefix length of the smallest block holding `planned` with headroom and reservations,
    /// or `None` when no IPv4 block is that large.
    ///
    /// ```
    /// assert_eq!(ipam_plan::Kind::Hosts.prefix_len(12, 1.0), Some(28));
    /// assert_eq!(ipam_plan::Kind::Hosts.prefix_len(1 << 33, 1.0), None);
    /// ```
    pub fn prefix_len(self, planned: u64, growth: f64) -> Option<u8> {
        smallest_block(self.needed(planned, growth) + self.reserved())
    }
}

/// `ceil(count x growth)`, exact for every count an IPv4 plan can hold.
fn scale(count: u64, growth: f64) -> u64 {
    (count as f64 * growth).ceil() as u64
}

/// The prefix length of the smallest block of at least `addresses`, or `None` past IPv4's size.
pub(crate) fn smallest_block(addresses: u64) -> Option<u8> {
    let size = addresses.max(1).checked_next_power_of_two()?;
    (size <= 1 << 32).then(|| 32 - size.trailing_zeros() as u8)
}

/// Addresses in a block of this prefix length.
pub(crate) fn block_size(prefix_len: u8) -> u64 {
    1u64 << (32 - u32::from(prefix_len))
}
