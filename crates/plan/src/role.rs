//! The kinds of segment a plan is made of.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What a segment carries. Each role has its own defaults (MTU, whether it has a VLAN).
///
/// ```
/// use ipam_plan::Role;
///
/// assert_eq!("storage".parse::<Role>(), Ok(Role::Storage));
/// assert_eq!(Role::Backend.to_string(), "backend");
/// assert_eq!(Role::Storage.default_mtu(), 9000);
/// assert!("gpu".parse::<Role>().is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The GPU compute fabric: one NIC per GPU, each on its rail.
    Backend,
    /// In-band management and user traffic: one address per node.
    Frontend,
    /// The storage network: two ports per node plus the storage servers.
    Storage,
    /// Out-of-band management: BMCs, switch management ports, PDUs.
    Oob,
    /// Monitoring and telemetry collectors.
    Monitoring,
    /// Load balancers and gateways.
    Lb,
    /// A /32 per fabric switch.
    Loopback,
    /// Published inference endpoints: a /32 each.
    Anycast,
    /// Numbered leaf-spine links: a /31 each.
    Fabric,
    /// An edge site.
    Site,
}

impl Role {
    /// Every role, in the order a plan lists them.
    ///
    /// ```
    /// assert_eq!(ipam_plan::Role::ALL.len(), 10);
    /// ```
    pub const ALL: [Role; 10] = [
        Role::Backend,
        Role::Frontend,
        Role::Storage,
        Role::Oob,
        Role::Monitoring,
        Role::Lb,
        Role::Loopback,
        Role::Anycast,
        Role::Fabric,
        Role::Site,
    ];

    /// The role's name, as written in specs and plans.
    ///
    /// ```
    /// assert_eq!(ipam_plan::Role::Oob.as_str(), "oob");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Backend => "backend",
            Role::Frontend => "frontend",
            Role::Storage => "storage",
            Role::Oob => "oob",
            Role::Monitoring => "monitoring",
            Role::Lb => "lb",
            Role::Loopback => "loopback",
            Role::Anycast => "anycast",
            Role::Fabric => "fabric",
            Role::Site => "site",
        }
    }

    /// Jumbo frames on the training and storage networks, 1500 elsewhere.
    ///
    /// ```
    /// assert_eq!(ipam_plan::Role::Backend.default_mtu(), 9000);
    /// assert_eq!(ipam_plan::Role::Oob.default_mtu(), 1500);
    /// ```
    pub const fn default_mtu(self) -> u16 {
        match self {
            Role::Backend | Role::Storage => 9000,
            _ => 1500,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role name that is not one of [`Role::ALL`].
///
/// ```
/// let err = "gpu".parse::<ipam_plan::Role>().unwrap_err();
/// assert!(err.to_string().contains("gpu"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown role `{0}` (expected one of backend, frontend, storage, oob, monitoring, lb, loopback, anycast, fabric, site)"
)]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Role, UnknownRole> {
        Role::ALL.into_iter().find(|r| r.as_str() == s).ok_or_else(|| UnknownRole(s.to_owned()))
    }
}
