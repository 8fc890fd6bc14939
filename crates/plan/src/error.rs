//! The one error type of this crate.

use ipnet::Ipv4Net;

use crate::VlanId;

/// Why a spec could not be planned (or a previous plan could not be read).
///
/// Every variant names the field or segment at fault, so a front end can print it as one line.
///
/// ```
/// use ipam_plan::{plan, Error, Spec};
///
/// let mut spec = Spec::for_gpus(1024);
/// spec.base = "10.0.0.0/24".parse()?;
/// let err = plan(&spec).unwrap_err();
/// assert!(matches!(err, Error::DoesNotFit { .. }));
/// println!("{err}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The spec is not valid TOML for a cluster description (unknown key, wrong type...).
    #[error("spec line {line}, column {column}: {message}")]
    Spec {
        /// 1-based line of the offending text.
        line: usize,
        /// 1-based column (in characters).
        column: usize,
        /// What is wrong, from the TOML reader.
        message: String,
    },
    /// A VLAN id outside 1-4094.
    #[error("{field}: VLAN id {value} is out of range: it must be 1-4094")]
    InvalidVlan {
        /// The field that holds it (empty when checked on its own).
        field: String,
        /// The value given.
        value: i64,
    },
    /// `vlan_range` whose first id comes after its last.
    #[error("vlan_range: {first} comes after {last}")]
    InvalidVlanRange {
        /// The first id given.
        first: VlanId,
        /// The last id given.
        last: VlanId,
    },
    /// Two segments ask for the same VLAN id.
    #[error("VLAN {vlan} is given to both `{first}` and `{second}`")]
    VlanTaken {
        /// The VLAN id.
        vlan: VlanId,
        /// The segment that has it.
        first: String,
        /// The segment that asked for it too.
        second: String,
    },
    /// More segments need a VLAN than `vlan_range` has free ids.
    #[error("vlan_range {first}-{last} has no free VLAN id left for `{segment}`")]
    VlansExhausted {
        /// First id of the range.
        first: VlanId,
        /// Last id of the range.
        last: VlanId,
        /// The first segment left without one.
        segment: String,
    },
    /// A spec with no GPUs, no sites, no anycast endpoints and no counted roles.
    #[error(
        "nothing to plan: no GPUs, no [[site]], no [[anycast]] and no role with a count; give --gpus N or one of those"
    )]
    NothingToPlan,
    /// `growth` is not a finite number from 1 to 1024.
    #[error("growth: {growth} is invalid; it must be a number from 1.0 to 1024")]
    InvalidGrowth {
        /// The value given.
        growth: f64,
    },
    /// A numeric setting out of its range.
    #[error("{field}: {value} is invalid; {reason}")]
    InvalidSetting {
        /// The field.
        field: String,
        /// The value given.
        value: u64,
        /// What is accepted.
        reason: &'static str,
    },
    /// A site or anycast name that cannot name a segment.
    #[error("name {name:?} is invalid: {reason}")]
    InvalidName {
        /// The name given.
        name: String,
        /// What is accepted.
        reason: &'static str,
    },
    /// Two sites, or two anycast endpoints, share a name.
    #[error("name `{name}` is used twice")]
    DuplicateName {
        /// The name.
        name: String,
    },
    /// A VLAN id set on a routed role (p2p31 backend, loopbacks, anycast, fabric links).
    #[error("roles.{role}.vlan: `{role}` is routed and has no VLAN")]
    RoutedHasNoVlan {
        /// The role.
        role: crate::Role,
    },
    /// An explicit prefix outside `base`.
    #[error("`{segment}`: {prefix} is outside the base block {base}")]
    OutsideBase {
        /// The segment.
        segment: String,
        /// Its prefix.
        prefix: Ipv4Net,
        /// The base block.
        base: Ipv4Net,
    },
    /// Two explicit (or kept) prefixes overlap.
    #[error("`{first}` ({first_prefix}) overlaps `{second}` ({second_prefix})")]
    Overlap {
        /// One segment.
        first: String,
        /// Its prefix.
        first_prefix: Ipv4Net,
        /// The other segment.
        second: String,
        /// Its prefix.
        second_prefix: Ipv4Net,
    },
    /// An explicit prefix too small for what the segment needs.
    #[error("`{segment}`: {prefix} offers {usable} addresses but {needed} are needed (short by {})", needed.saturating_sub(*usable))]
    PrefixTooSmall {
        /// The segment.
        segment: String,
        /// Its prefix.
        prefix: Ipv4Net,
        /// Addresses needed: the planned count with growth headroom.
        needed: u64,
        /// Addresses the prefix offers after reservations.
        usable: u64,
    },
    /// A segment for which no free block of its size is left in `base`.
    #[error(
        "`{segment}` needs a /{prefix_len} ({} addresses) but the largest free block left in {base} is {} (short by {} addresses)",
        size(*prefix_len), largest_free.map_or("none".to_owned(), |p| format!("a /{p}")),
        size(*prefix_len) - largest_free.map_or(0, size)
    )]
    DoesNotFit {
        /// The segment (or aggregate) that did not fit.
        segment: String,
        /// The prefix length it needs.
        prefix_len: u8,
        /// The largest free block left, if any.
        largest_free: Option<u8>,
        /// The base block.
        base: Ipv4Net,
    },
    /// A segment needs more addresses than IPv4 has.
    #[error("`{segment}` needs {needed} addresses, more than IPv4 has")]
    TooLarge {
        /// The segment.
        segment: String,
        /// Addresses needed.
        needed: u64,
    },
    /// A segment ran out of addresses while assigning nodes (its `count` was set below the need).
    #[error("`{segment}` has no address left for {node}")]
    AssignmentShort {
        /// The segment.
        segment: String,
        /// The first node left without an address.
        node: String,
    },
    /// A spec value (or topology setting) that contradicts the previous plan: a re-plan never
    /// renumbers, so the spec must agree with what exists.
    #[error(
        "`{segment}`: the spec says {field} {spec} but the previous plan has {previous}; a re-plan never renumbers (change the spec back, or plan afresh)"
    )]
    Contradicts {
        /// The segment (or `topology` for a setting).
        segment: String,
        /// The field (`vlan`, `mtu`, `prefix`, or the setting's name).
        field: String,
        /// The spec's value.
        spec: String,
        /// The previous plan's value.
        previous: String,
    },
    /// DNS zones were asked for, but the spec names no DNS server for their NS records.
    #[error(
        "DNS zones for {domain} need the servers that answer for them: add `nameservers = [\"ADDRESS\"]` to the spec"
    )]
    NoNameservers {
        /// The plan's domain.
        domain: String,
    },
    /// A previous plan (for `--previous`) that cannot be used.
    #[error("previous plan: {reason}")]
    Previous {
        /// What is wrong with it.
        reason: String,
    },
    /// A bug: a plan came out breaking one of its own invariants. Please report it.
    #[error("internal error (please report): the plan breaks an invariant: {reason}")]
    Invariant {
        /// The invariant and what breaks it.
        reason: String,
    },
    /// A bug: the allocator refused a step the planner had checked. Please report it.
    #[error("internal error (please report): {0}")]
    Internal(#[from] ipam_core::Error),
}

impl Error {
    /// Whether this is a bug rather than bad input (front ends exit with 2 instead of 1).
    ///
    /// ```
    /// assert!(!ipam_plan::Error::DuplicateName { name: "a".into() }.is_internal());
    /// ```
    pub fn is_internal(&self) -> bool {
        matches!(self, Error::Internal(_) | Error::Invariant { .. })
    }
}

fn size(prefix_len: u8) -> u64 {
    1u64 << (32 - u32::from(prefix_len.min(32)))
}
