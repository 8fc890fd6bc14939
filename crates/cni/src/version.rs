//! The versions of the specification this plugin speaks.

/// Every `cniVersion` accepted in a network configuration, oldest first.
pub const SUPPORTED: [&str; 5] = ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"];

/// Whether `version` is `minimum` or newer (both from [`SUPPORTED`]).
pub(crate) fn at_least(version: &str, minimum: &str) -> bool {
    let rank = |v: &str| SUPPORTED.iter().position(|s| *s == v);
    matches!((rank(version), rank(minimum)), (Some(v), Some(m)) if v >= m)
}

/// Results before 1.0.0 name each address's IP version.
pub(crate) fn names_ip_version(version: &str) -> bool {
    !at_least(version, "1.0.0")
}
