//! Where a segment, switch or node sits in the topology.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The topology position of a segment, aggregate, switch or node: any of `pod`, `su`, `rack` and
/// `rail` (cluster plans) or `region` and `site` (edge plans); empty for cluster-wide ones.
///
/// Two scopes *meet* when no key present in both differs: a cluster-wide segment meets every
/// other, `{su: 3}` meets `{su: 3, rail: 1}` but not `{su: 4}`. Segments whose scopes meet share
/// switches, so they never share a VLAN id.
///
/// ```
/// use ipam_plan::Scope;
///
/// let su3 = Scope { su: Some(3), ..Scope::default() };
/// let su4 = Scope { su: Some(4), ..Scope::default() };
/// assert!(su3.meets(&Scope::default()));
/// assert!(!su3.meets(&su4));
/// assert_eq!(su3.to_string(), "su03");
/// assert_eq!(Scope::default().to_string(), "cluster");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scope {
    /// The edge region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The edge site.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    /// The pod (present only when the plan has more than one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod: Option<u32>,
    /// The scalable unit, numbered across the cluster from 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub su: Option<u32>,
    /// The rack inside its SU, from 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rack: Option<u32>,
    /// The backend rail, from 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rail: Option<u32>,
}

impl Scope {
    /// The cluster-wide scope (no key).
    ///
    /// ```
    /// assert!(ipam_plan::Scope::cluster().is_cluster());
    /// ```
    pub fn cluster() -> Scope {
        Scope::default()
    }

    /// Whether no key is set.
    ///
    /// ```
    /// assert!(!ipam_plan::Scope { rail: Some(0), ..Default::default() }.is_cluster());
    /// ```
    pub fn is_cluster(&self) -> bool {
        *self == Scope::default()
    }

    /// Whether the two scopes meet: no key present in both differs.
    ///
    /// ```
    /// use ipam_plan::Scope;
    /// let a = Scope { su: Some(1), rail: Some(0), ..Scope::default() };
    /// let b = Scope { su: Some(1), rail: Some(1), ..Scope::default() };
    /// assert!(!a.meets(&b));
    /// ```
    pub fn meets(&self, other: &Scope) -> bool {
        fn agree<T: PartialEq>(a: &Option<T>, b: &Option<T>) -> bool {
            match (a, b) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            }
        }
        agree(&self.region, &other.region)
            && agree(&self.site, &other.site)
            && agree(&self.pod, &other.pod)
            && agree(&self.su, &other.su)
            && agree(&self.rack, &other.rack)
            && agree(&self.rail, &other.rail)
    }
}

/// The scope as a short name: `pod01-su08-rack2`, `store-01`, `cluster`; used for VLAN groups.
impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(region) = &self.region {
            parts.push(region.clone());
        }
        if let Some(site) = &self.site {
            parts.push(site.clone());
        }
        if let Some(pod) = self.pod {
            parts.push(format!("pod{pod:02}"));
        }
        if let Some(su) = self.su {
            parts.push(format!("su{su:02}"));
        }
        if let Some(rack) = self.rack {
            parts.push(format!("rack{rack}"));
        }
        if let Some(rail) = self.rail {
            parts.push(format!("rail{rail}"));
        }
        if parts.is_empty() { f.write_str("cluster") } else { f.write_str(&parts.join("-")) }
    }
}
