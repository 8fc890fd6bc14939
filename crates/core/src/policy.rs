//! How the pool chooses among free addresses and blocks.

/// The choice the pool makes when several free addresses or blocks would do.
///
/// ```
/// use ipam_core::{Policy, Pool};
///
/// let mut pool = Pool::builder("10.0.0.0/29".parse()?).policy(Policy::RoundRobin).build()?;
/// let first = pool.allocate()?;
/// pool.release(first)?;
/// // RoundRobin moves on instead of handing the just-released address out again.
/// assert_ne!(pool.allocate()?, first);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
#[non_exhaustive]
pub enum Policy {
    /// The lowest free address or aligned block: deterministic, and packs the pool from the bottom.
    #[default]
    FirstFit,
    /// The free address or block inside the smallest free region that holds it: small allocations
    /// go into already-fragmented space and large aligned blocks stay whole.
    BestFit,
    /// The next free address or block after the last one handed out, wrapping at the end, so a
    /// just-released address is not reused at once (stale ARP caches).
    RoundRobin,
}

impl std::fmt::Display for Policy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Policy::FirstFit => "first-fit",
            Policy::BestFit => "best-fit",
            Policy::RoundRobin => "round-robin",
        })
    }
}

impl std::str::FromStr for Policy {
    type Err = UnknownPolicy;

    /// Parses the names `Display` writes: `first-fit`, `best-fit`, `round-robin`.
    ///
    /// ```
    /// use ipam_core::Policy;
    ///
    /// assert_eq!("best-fit".parse::<Policy>()?, Policy::BestFit);
    /// assert!("worst-fit".parse::<Policy>().is_err());
    /// # Ok::<(), ipam_core::UnknownPolicy>(())
    /// ```
    fn from_str(s: &str) -> Result<Policy, UnknownPolicy> {
        match s {
            "first-fit" => Ok(Policy::FirstFit),
            "best-fit" => Ok(Policy::BestFit),
            "round-robin" => Ok(Policy::RoundRobin),
            _ => Err(UnknownPolicy { name: s.to_owned() }),
        }
    }
}

/// A policy name that [`Policy`]'s `FromStr` does not know.
///
/// ```
/// let err = "lifo".parse::<ipam_core::Policy>().unwrap_err();
/// assert_eq!(err.to_string(), "unknown policy \"lifo\"; expected first-fit, best-fit or round-robin");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown policy {name:?}; expected first-fit, best-fit or round-robin")]
pub struct UnknownPolicy {
    /// The name as given.
    pub name: String,
}
