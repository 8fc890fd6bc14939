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
    let pod = u64::from(spec.sus_per_pod);
    if !(1..=1024).contains(&pod) || !pod.is_power_of_two() {
        return Err(Error::InvalidSetting {
            field: "sus_per_pod".into(),
            value: pod,
            reason: "it must be a power of two from 1 to 1024 (a pod is one aligned block)",
        });
    }
    setting(
        "nodes_per_rack",
        spec.nodes_per_rack.into(),
        1..=spec.nodes_per_su.into(),
        "it must be 1 to nodes_per_su",
    )?;
    let sus =
        u64::from(spec.gpus).div_ceil(u64::from(spec.gpus_per_node)).div_ceil(u64::from(spec.nodes_per_su));
    setting(
        "gpus",
        sus,
        0..=1_000_000,
        "it needs more than 1,000,000 scalable units (the leaf ASN plan's limit)",
    )
    .map_err(|_| Error::InvalidSetting {
        field: "gpus".into(),
        value: spec.gpus.into(),
        reason: "it needs more than 1,000,000 scalable units (the leaf ASN plan's limit)",
    })?;
    if spec.numbering == crate::spec::Numbering::Server
        && spec.backend_addressing != crate::spec::BackendAddressing::P2p31
    {
        return Err(Error::InvalidSetting {
            field: "numbering".into(),
            value: 0,
            reason: "\"server\" numbers /31s: it needs backend_addressing = \"p2p31\"",
        });
    }
    let roles = &spec.roles;
    for (role, o) in
        [(Role::Backend, &roles.backend), (Role::Loopback, &roles.loopback), (Role::Fabric, &roles.fabric)]
    {
        if o.count.is_some() {
            return Err(Error::InvalidSetting {
                field: format!("roles.{role}.count"),
                value: o.count.unwrap_or(0),
                reason: "this role is sized by the topology (gpus, gpus_per_node, rails, nodes_per_su); set those instead",
            });
        }
    }
    let routed = [
        (
            Role::Backend,
            roles.backend.vlan.is_some() && spec.backend_addressing == crate::spec::BackendAddressing::P2p31,
        ),
        (Role::Loopback, roles.loopback.vlan.is_some()),
        (Role::Anycast, roles.anycast.vlan.is_some()),
        (Role::Fabric, roles.fabric.vlan.is_some()),
    ];
    if let Some((role, _)) = routed.into_iter().find(|(_, bad)| *bad) {
        return Err(Error::RoutedHasNoVlan { role });
    }
    if let Some(rails) = spec.rails {
        setting("rails", rails.into(), 1..=64, "it must be 1 to 64")?;
    }
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
    let mut derived: HashSet<String> = HashSet::new();
    for site in &spec.sites {
        name(&site.name)?;
        if !names.insert(&site.name) || generated(&site.name) {
            return Err(Error::DuplicateName { name: site.name.clone() });
        }
        // The site's aggregate and segments are named after it: no two sites may share a name.
        let own = [
            crate::edge::site_aggregate(&site.name),
            format!("{}-mgmt", site.name),
            format!("{}-uplink", site.name),
        ];
        for n in own {
            name(&n)?;
            if !derived.insert(n.clone()) {
                return Err(Error::DuplicateName { name: n });
            }
        }
        if let Some(region) = &site.region {
            name(&crate::edge::region_aggregate(region))?;
            if site.prefix.is_some() {
                return Err(Error::InvalidSetting {
                    field: format!("site {}: prefix", site.name),
                    value: 0,
                    reason: "a site in a region takes its block from the region's aggregate; drop the prefix or the region",
                });
            }
        }
        if let Some(mgmt) = site.mgmt {
            setting(&format!("site {}: mgmt", site.name), mgmt, 0..=1 << 24, "it must be at most 2^24")?;
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
    if let Some(clash) = spec.sites.iter().find(|s| derived.contains(&s.name)) {
        return Err(Error::DuplicateName { name: clash.name.clone() });
    }
    domain(&spec.domain)?;
    let mut endpoints = HashSet::new();
    for endpoint in &spec.anycast {
        name(&endpoint.name)?;
        if !endpoints.insert(&endpoint.name) {
            return Err(Error::DuplicateName { name: endpoint.name.clone() });
        }
    }
    let roles = &spec.roles;
    let counted = [&roles.frontend, &roles.storage, &roles.oob, &roles.monitoring, &roles.lb, &roles.anycast]
        .iter()
        .any(|r| r.count.is_some_and(|n| n > 0));
    if spec.gpus == 0 && spec.sites.is_empty() && spec.anycast.is_empty() && !counted {
        return Err(Error::NothingToPlan);
    }
    Ok(())
}

/// Whether the planner may generate this name itself (`storage-su03`, `leaf-su00-rail1`...).
pub(crate) fn generated(name: &str) -> bool {
    let roles = Role::ALL.iter().filter(|r| **r != Role::Site).map(|r| r.as_str());
    let mut prefixes = roles.chain(["leaf", "spine", "superspine"]);
    prefixes.any(|p| name.strip_prefix(p).is_some_and(|rest| rest.starts_with('-')))
}

/// A DNS domain: dot-separated labels of lowercase letters, digits and inner hyphens.
pub(crate) fn domain(domain: &str) -> Result<(), Error> {
    let label_ok = |l: &str| {
        (1..=63).contains(&l.len())
            && l.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if domain.len() <= 200 && domain.split('.').all(label_ok) {
        Ok(())
    } else {
        Err(Error::InvalidName {
            name: domain.to_owned(),
            reason: "a domain is dot-separated labels of lowercase letters, digits and inner hyphens",
        })
    }
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
