//! Checks on a spec's meaning that its syntax cannot express.

use std::collections::HashSet;

use crate::spec::Spec;
use crate::{Error, Role};

const MTU_RANGE: std::ops::RangeInclusive<u16> = 576..=9216;

/// Refuses a spec that cannot be planned whatever the base block.
pub(crate) fn spec(spec: &Spec) -> Result<(), Error> {
    if !(spec.growth.is_finite() && (1.0..=1024.0).contains(&spec.growth)) {
        return Err(Error::InvalidGrowth { growth: spec.growth });
    }
    let [first, last] = spec.vlan_range;
    if first > last {
        return Err(Error::InvalidVlanRange { first, last });
    }
    setting("gpus_per_node", spec.gpus_per_node.into(), 1..=64, "it must be 1 to 64")?;
    setting("nodes_per_su", spec.nodes_per_su.into(), 1..=1024, "it must be 1 to 1024")?;
    if let Some(rails) = spec.rails {
        setting("rails", rails.into(), 1..=64, "it must be 1 to 64")?;
    }
    let roles = &spec.roles;
    let overrides = [
        (Role::Backend, &roles.backend),
        (Role::Frontend, &roles.frontend),
        (Role::Storage, &roles.storage),
        (Role::Oob, &roles.oob),
        (Role::Monitoring, &roles.monitoring),
        (Role::Lb, &roles.lb),
        (Role::Loopback, &roles.loopback),
        (Role::Anycast, &roles.anycast),
        (Role::Fabric, &roles.fabric),
    ];
    for (role, o) in overrides {
        if let Some(mtu) = o.mtu {
            mtu_in_range(format!("roles.{role}.mtu"), mtu)?;
        }
        if let Some(count) = o.count {
            setting(&format!("roles.{role}.count"), count, 0..=1 << 32, "it must be at most 2^32")?;
        }
    }
    let mut names: HashSet<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
    for site in &spec.sites {
        name(&site.name)?;
        if !names.insert(&site.name) || site.name.starts_with("backend-rail-") {
            return Err(Error::DuplicateName { name: site.name.clone() });
        }
        if let Some(mtu) = site.mtu {
            mtu_in_range(format!("site {}: mtu", site.name), mtu)?;
        }
        setting(
            &format!("site {}: devices", site.name),
            site.devices,
            0..=1 << 32,
            "it must be at most 2^32",
        )?;
    }
    let mut endpoints = HashSet::new();
    for endpoint in &spec.anycast {
        name(&endpoint.name)?;
        if !endpoints.insert(&endpoint.name) {
            return Err(Error::DuplicateName { name: endpoint.name.clone() });
        }
    }
    Ok(())
}

fn setting(
    field: &str,
    value: u64,
    range: std::ops::RangeInclusive<u64>,
    reason: &'static str,
) -> Result<(), Error> {
    if range.contains(&value) {
        Ok(())
    } else {
        Err(Error::InvalidSetting { field: field.to_owned(), value, reason })
    }
}

fn mtu_in_range(field: String, mtu: u16) -> Result<(), Error> {
    if MTU_RANGE.contains(&mtu) {
        Ok(())
    } else {
        Err(Error::InvalidSetting { field, value: mtu.into(), reason: "an MTU must be 576 to 9216" })
    }
}

/// Names become segment names, CSV cells and file names downstream: the shared rule of
/// `ipam_core::parse::name`.
fn name(name: &str) -> Result<(), Error> {
    match ipam_core::parse::name(name) {
        Ok(_) => Ok(()),
        Err(ipam_core::parse::ParseError::InvalidName { reason, .. }) => {
            Err(Error::InvalidName { name: name.to_owned(), reason })
        }
        Err(_) => Err(Error::InvalidName { name: name.to_owned(), reason: "not a plain name" }),
    }
}
