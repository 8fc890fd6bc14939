//! From a spec to the list of segments to place, in the order a plan lists them.

use ipnet::Ipv4Net;

use crate::spec::{BackendAddressing, FabricLinks, RoleSpec, Spec};
use crate::topology::Counts;
use crate::{Error, Kind, Role, VlanId};

/// One segment still to be placed.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Demand {
    pub(crate) name: String,
    pub(crate) role: Role,
    pub(crate) kind: Kind,
    pub(crate) planned: u64,
    pub(crate) vlan: Option<VlanId>,
    pub(crate) mtu: u16,
    pub(crate) prefix: Option<Ipv4Net>,
    /// A backend rail, placed inside the backend aggregate.
    pub(crate) rail: bool,
    /// For a second prefix: the segment it adds space to.
    pub(crate) extends: Option<String>,
    /// Usable addresses the block must offer at least (a second prefix makes up a shortfall).
    pub(crate) min_usable: u64,
    /// For a second prefix: the block it should sit next to, so that both stay close (often one
    /// route).
    pub(crate) near: Option<Ipv4Net>,
}

impl Demand {
    /// The prefix length of its block, or `None` when larger than IPv4.
    pub(crate) fn prefix_len(&self, growth: f64) -> Option<u8> {
        let usable = self.kind.needed(self.planned, growth).max(self.min_usable);
        crate::sizing::smallest_block(usable + self.kind.reserved())
    }
}

/// Every segment `spec` needs with these counts; roles with nothing to hold are left out.
pub(crate) fn derive(spec: &Spec, counts: &Counts) -> Result<Vec<Demand>, Error> {
    let mut out = Vec::new();
    let roles = &spec.roles;
    let backend_kind = match spec.backend_addressing {
        BackendAddressing::P2p31 => Kind::Links,
        BackendAddressing::SubnetPerRail => Kind::Subnet,
    };
    if backend_kind == Kind::Links && roles.backend.vlan.is_some() {
        return Err(Error::RoutedHasNoVlan { role: Role::Backend });
    }
    for (rail, &nics) in counts.rails.iter().enumerate() {
        let planned = if backend_kind == Kind::Links { 2 * nics } else { nics };
        // An explicit VLAN numbers the rails from it upwards.
        let vlan = match roles.backend.vlan {
            Some(first) => {
                Some(VlanId::new(i64::from(first.get()) + rail as i64).map_err(|_| Error::InvalidVlan {
                    field: "roles.backend.vlan".into(),
                    value: i64::from(first.get()) + rail as i64,
                })?)
            }
            None => None,
        };
        out.push(Demand {
            name: format!("backend-rail-{rail}"),
            vlan,
            prefix: None,
            rail: true,
            ..demand(Role::Backend, backend_kind, planned, &roles.backend)
        });
    }
    let subnets = [
        (Role::Frontend, counts.frontend, &roles.frontend),
        (Role::Storage, counts.storage, &roles.storage),
        (Role::Oob, counts.oob, &roles.oob),
        (Role::Monitoring, counts.monitoring, &roles.monitoring),
        (Role::Lb, counts.lb, &roles.lb),
    ];
    for (role, planned, overrides) in subnets {
        out.push(demand(role, Kind::Subnet, planned, overrides));
    }
    for (role, overrides) in [(Role::Loopback, &roles.loopback), (Role::Anycast, &roles.anycast)] {
        if overrides.vlan.is_some() {
            return Err(Error::RoutedHasNoVlan { role });
        }
    }
    out.push(demand(Role::Loopback, Kind::Hosts, counts.loopback, &roles.loopback));
    let endpoints = spec.anycast.len() as u64;
    out.push(demand(
        Role::Anycast,
        Kind::Hosts,
        roles.anycast.count.unwrap_or(0).max(endpoints),
        &roles.anycast,
    ));
    if roles.fabric.vlan.is_some() {
        return Err(Error::RoutedHasNoVlan { role: Role::Fabric });
    }
    if spec.fabric_links == FabricLinks::P2p31 || roles.fabric.count.is_some() {
        out.push(demand(Role::Fabric, Kind::Links, 2 * counts.fabric_links, &roles.fabric));
    }
    for site in &spec.sites {
        out.push(Demand {
            name: site.name.clone(),
            vlan: site.vlan,
            mtu: site.mtu.unwrap_or(Role::Site.default_mtu()),
            prefix: site.prefix,
            ..demand(Role::Site, Kind::Subnet, site.devices, &RoleSpec::default())
        });
    }
    out.retain(|d| d.planned > 0 || d.prefix.is_some());
    Ok(out)
}

fn demand(role: Role, kind: Kind, planned: u64, overrides: &RoleSpec) -> Demand {
    Demand {
        name: role.as_str().to_owned(),
        role,
        kind,
        planned,
        vlan: overrides.vlan,
        mtu: overrides.mtu.unwrap_or(role.default_mtu()),
        prefix: overrides.prefix,
        rail: false,
        extends: None,
        min_usable: 0,
        near: None,
    }
}
