//! A checked 802.1Q VLAN id.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Error;

/// An 802.1Q VLAN id: 1 to 4094 (0 and 4095 are reserved by the standard).
///
/// ```
/// use ipam_plan::{Error, VlanId};
///
/// assert_eq!(VlanId::new(121)?.get(), 121);
/// assert!(matches!(VlanId::new(4095), Err(Error::InvalidVlan { value: 4095, .. })));
/// # Ok::<(), Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VlanId(u16);

impl VlanId {
    /// The smallest usable VLAN id.
    pub const MIN: VlanId = VlanId(1);
    /// The largest usable VLAN id.
    pub const MAX: VlanId = VlanId(4094);

    /// Checks `value`; anything outside 1-4094 is [`Error::InvalidVlan`].
    ///
    /// ```
    /// use ipam_plan::VlanId;
    ///
    /// assert!(VlanId::new(1).is_ok());
    /// assert!(VlanId::new(0).is_err());
    /// assert!(VlanId::new(-1).is_err());
    /// assert!(VlanId::new(65536).is_err());
    /// ```
    pub fn new(value: i64) -> Result<VlanId, Error> {
        match u16::try_from(value) {
            Ok(v @ 1..=4094) => Ok(VlanId(v)),
            _ => Err(Error::InvalidVlan { field: String::new(), value }),
        }
    }

    /// The same check at compile time, for literals; panics outside 1-4094.
    ///
    /// ```
    /// use ipam_plan::VlanId;
    ///
    /// const IN_BAND: VlanId = VlanId::must(121);
    /// assert_eq!(IN_BAND.get(), 121);
    /// ```
    pub const fn must(value: u16) -> VlanId {
        assert!(value >= 1 && value <= 4094, "VLAN id out of range 1-4094");
        VlanId(value)
    }

    /// The id as a number.
    ///
    /// ```
    /// assert_eq!(ipam_plan::VlanId::must(100).get(), 100);
    /// ```
    pub const fn get(self) -> u16 {
        self.0
    }
}

impl fmt::Display for VlanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Serialize for VlanId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u16(self.0)
    }
}

impl<'de> Deserialize<'de> for VlanId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<VlanId, D::Error> {
        let value = i64::deserialize(deserializer)?;
        VlanId::new(value).map_err(|_| {
            serde::de::Error::custom(format!("VLAN id {value} is out of range: it must be 1-4094"))
        })
    }
}
