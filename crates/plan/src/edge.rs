//! Edge sites and regions. A site is an aggregate `site-NAME` holding its devices segment `NAME`,
//! its management segment `NAME-mgmt` and its WAN uplink `NAME-uplink`; the sites of a region
//! are packed in one aligned aggregate `region-REGION`, sized for `growth` times its sites (and
//! one more site at least). On
//! replan, every site the previous plan placed keeps its block, and new sites take free space of
//! the region, so adding sites never moves one.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use crate::layout::{Item, Member, Top, draft, len_of};
use crate::model::Plan;
use crate::scope::Scope;
use crate::sizing::block_size;
use crate::space::Space;
use crate::spec::{RoleSpec, Site, Spec, Uplink};
use crate::{Error, Kind, Role};

/// Management addresses of a site whose spec names none.
pub(crate) const DEFAULT_MGMT: u64 = 4;

/// The name of a site's aggregate.
pub(crate) fn site_aggregate(site: &str) -> String {
    format!("site-{site}")
}

/// The name of a region's aggregate.
pub(crate) fn region_aggregate(region: &str) -> String {
    format!("region-{region}")
}

/// The tops of the spec's sites: one per region, and one per site outside any region. `prune`
/// drops the blocks of sites the spec no longer has (else they stay held).
pub(crate) fn tops(spec: &Spec, previous: Option<&Plan>, prune: bool) -> Result<Vec<Top>, Error> {
    let mut tops = Vec::new();
    let mut regions: Vec<(&str, Vec<&Site>)> = Vec::new();
    for site in &spec.sites {
        match site.region.as_deref() {
            None => {
                let (prefix_len, members) = site_block(spec, site, previous, &mut tops)?;
                tops.push(Top { prefix_len, explicit: site.prefix, members });
            }
            Some(region) => match regions.iter_mut().find(|(r, _)| *r == region) {
                Some((_, sites)) => sites.push(site),
                None => regions.push((region, vec![site])),
            },
        }
    }
    for (region, sites) in regions {
        let top = region_top(spec, region, &sites, previous, prune, &mut tops)?;
        tops.push(top);
    }
    Ok(tops)
}

/// A site's block: its prefix length and members (the aggregate first, offsets from its start).
/// Segments are packed largest first, so each is aligned. A site the previous plan has keeps
/// its layout; a segment that outgrew its block gets a second prefix (`NAME-2`), pushed to
/// `extra` as a top of its own.
fn site_block(
    spec: &Spec,
    site: &Site,
    previous: Option<&Plan>,
    extra: &mut Vec<Top>,
) -> Result<(u8, Vec<Member>), Error> {
    let scope = Scope { region: site.region.clone(), site: Some(site.name.clone()), ..Scope::default() };
    let o = RoleSpec { vlan: site.vlan, mtu: site.mtu, prefix: None, count: None };
    let mut devices = draft(site.name.clone(), Role::Site, Kind::Subnet, scope.clone(), site.devices, &o);
    devices.vlan_key = Some(if site.vlan.is_some() { format!("site-{}", site.name) } else { "site".into() });
    let mgmt_count = site.mgmt.unwrap_or(DEFAULT_MGMT);
    let mut mgmt = draft(
        format!("{}-mgmt", site.name),
        Role::Site,
        Kind::Subnet,
        scope.clone(),
        mgmt_count,
        &RoleSpec::default(),
    );
    mgmt.vlan_key = Some("site-mgmt".into());
    let (kind, planned, uplink_len) = match site.uplink {
        Uplink::P2p31 => (Kind::Links, 2, 31),
        Uplink::Loopback => (Kind::Hosts, 1, 32),
    };
    let uplink = draft(
        format!("{}-uplink", site.name),
        Role::Site,
        kind,
        scope.clone(),
        planned,
        &RoleSpec::default(),
    );
    let name = site_aggregate(&site.name);
    let was = previous.and_then(|p| Some((p, p.aggregates.iter().find(|a| a.name == name)?)));
    if let Some((previous, block)) = was {
        return kept_site(spec, previous, block.cidr, [devices, mgmt, uplink], scope, extra);
    }
    let sized =
        |d: &crate::layout::Draft| len_of(&d.name, d.kind.needed(d.planned, spec.growth) + d.kind.reserved());
    let mut parts = vec![(sized(&devices)?, devices), (sized(&mgmt)?, mgmt), (uplink_len, uplink)];
    parts.sort_by_key(|(len, _)| *len);
    let total: u64 = parts.iter().map(|(len, _)| block_size(*len)).sum();
    let len = len_of(&name, total)?;
    let mut members =
        vec![Member { offset: 0, prefix_len: len, item: Item::Aggregate { name, role: Role::Site, scope } }];
    let mut offset = 0;
    for (prefix_len, d) in parts {
        members.push(Member { offset, prefix_len, item: Item::Segment(d) });
        offset += block_size(prefix_len);
    }
    Ok((len, members))
}

/// A site as the previous plan laid it out in `block`: each segment where it was (one it did not
/// have takes the free space left, or a top of its own), with a second prefix for a shortfall.
fn kept_site(
    spec: &Spec,
    previous: &Plan,
    block: Ipv4Net,
    drafts: [crate::layout::Draft; 3],
    scope: Scope,
    extra: &mut Vec<Top>,
) -> Result<(u8, Vec<Member>), Error> {
    let name = site_aggregate(scope.site.as_deref().unwrap_or_default());
    let mut members = vec![Member {
        offset: 0,
        prefix_len: block.prefix_len(),
        item: Item::Aggregate { name, role: Role::Site, scope },
    }];
    for d in drafts {
        let Some(was) = previous.segments.iter().find(|s| s.name == d.name && block.contains(&s.cidr)) else {
            extra.push(crate::layout::fixed_top(spec, d, 0)?); // new to this site: a block of its own
            continue;
        };
        if d.kind != Kind::Subnet {
            // The uplink: one /31 or /32, never grown.
            let prefix_len = was.cidr.prefix_len();
            members.push(Member { offset: offset_in(block, was.cidr), prefix_len, item: Item::Segment(d) });
            continue;
        }
        // The segment and its earlier second prefixes take what fits them with headroom, in
        // order; what is left gets a new second prefix.
        let mut left = d.planned;
        let fits = |usable: u64| {
            let mut n = (usable as f64 / spec.growth.max(1.0)) as u64;
            while n > 0 && d.kind.needed(n, spec.growth) > usable {
                n -= 1;
            }
            n
        };
        let mut primary = d.clone();
        primary.planned = left.min(fits(was.usable));
        left -= primary.planned;
        let prefix_len = was.cidr.prefix_len();
        members.push(Member { offset: offset_in(block, was.cidr), prefix_len, item: Item::Segment(primary) });
        for ext in previous.segments.iter().filter(|s| s.extends.as_deref() == Some(d.name.as_str())) {
            let mut more = d.clone();
            more.name = ext.name.clone();
            more.planned = left.min(fits(ext.usable));
            left -= more.planned;
            more.extends = Some(d.name.clone());
            more.vlan = None;
            more.vlan_key = Some(ext.name.clone());
            extra.push(Top {
                prefix_len: ext.cidr.prefix_len(),
                explicit: None,
                members: vec![Member {
                    offset: 0,
                    prefix_len: ext.cidr.prefix_len(),
                    item: Item::Segment(more),
                }],
            });
        }
        if left > 0 {
            let k = (2..)
                .find(|k| !previous.segments.iter().any(|s| s.name == format!("{}-{k}", d.name)))
                .unwrap_or(2);
            let mut more = d.clone();
            more.name = format!("{}-{k}", d.name);
            more.planned = left;
            more.extends = Some(d.name.clone());
            more.vlan = None;
            more.vlan_key = Some(more.name.clone());
            extra.push(crate::layout::fixed_top(spec, more, 0)?);
        }
    }
    Ok((block.prefix_len(), members))
}

/// A region's top: its sites packed in an aggregate sized for `growth` times their blocks, or
/// the previous plan's block for the region, with every previous site where it was.
fn region_top(
    spec: &Spec,
    region: &str,
    sites: &[&Site],
    previous: Option<&Plan>,
    prune: bool,
    extra: &mut Vec<Top>,
) -> Result<Top, Error> {
    let name = region_aggregate(region);
    let blocks = sites.iter().map(|s| site_block(spec, s, previous, extra)).collect::<Result<Vec<_>, _>>()?;
    let total: u64 = blocks.iter().map(|(len, _)| block_size(*len)).sum();
    // Room for growth, and for one more site at least (so the region is never just its site).
    let largest = blocks.iter().map(|(len, _)| block_size(*len)).max().unwrap_or(0);
    let needed = len_of(&name, Kind::Hosts.needed(total, spec.growth).max(total + largest))?;
    let was = previous.and_then(|p| p.aggregates.iter().find(|a| a.name == name));
    let base = match was {
        Some(a) if a.cidr.prefix_len() <= needed => a.cidr,
        Some(a) => {
            return Err(Error::Previous {
                reason: format!(
                    "region `{region}` has outgrown its block {}: its sites need a /{needed}; split it into a new region",
                    a.cidr
                ),
            });
        }
        None => Ipv4Net::new(Ipv4Addr::UNSPECIFIED, needed).expect("a prefix length from len_of"),
    };
    let scope = Scope { region: Some(region.to_owned()), ..Scope::default() };
    let mut members = vec![Member {
        offset: 0,
        prefix_len: base.prefix_len(),
        item: Item::Aggregate { name, role: Role::Site, scope },
    }];
    let mut space = Space::new(base)?;
    let mut offsets: Vec<Option<u64>> = vec![None; sites.len()];
    if let Some(previous) = previous {
        let held =
            |a: &&crate::Aggregate| a.role == Role::Site && a.scope.site.is_some() && base.contains(&a.cidr);
        for a in previous.aggregates.iter().filter(held) {
            let here = sites.iter().position(|s| a.scope.site.as_deref() == Some(s.name.as_str()));
            match here {
                Some(i) if blocks[i].0 == a.cidr.prefix_len() => {
                    space.claim(&a.name, a.cidr)?;
                    offsets[i] = Some(offset_in(base, a.cidr));
                }
                Some(_) => {} // resized: placed afresh below, and its segments refuse to move
                None if prune => {}
                None => {
                    // A site the spec dropped keeps its block (and its segments, kept unplanned).
                    space.claim(&a.name, a.cidr)?;
                    let item =
                        Item::Aggregate { name: a.name.clone(), role: Role::Site, scope: a.scope.clone() };
                    members.push(Member {
                        offset: offset_in(base, a.cidr),
                        prefix_len: a.cidr.prefix_len(),
                        item,
                    });
                }
            }
        }
    }
    let mut order: Vec<usize> = (0..sites.len()).filter(|&i| offsets[i].is_none()).collect();
    order.sort_by_key(|&i| blocks[i].0);
    for i in order {
        let block = space.place(&site_aggregate(&sites[i].name), blocks[i].0)?;
        offsets[i] = Some(offset_in(base, block));
    }
    for ((_, site_members), offset) in blocks.into_iter().zip(offsets) {
        let offset = offset.expect("every site was placed");
        members.extend(site_members.into_iter().map(|m| Member { offset: offset + m.offset, ..m }));
    }
    Ok(Top { prefix_len: base.prefix_len(), explicit: None, members })
}

fn offset_in(base: Ipv4Net, block: Ipv4Net) -> u64 {
    u64::from(u32::from(block.network()) - u32::from(base.network()))
}

/// Every edge device's address, for `assign`: device `k` of site `NAME` is `NAME-dev00k` with
/// one interface `eth0`, at host `k` of the site's devices segment (after its network, gateway
/// and VRR pair), continuing in the site's second prefixes. Positional, as nodes are: a site
/// that grows adds devices and moves none.
pub(crate) fn devices(plan: &Plan) -> Vec<crate::model::NodeAssignment> {
    use crate::model::{Interface, NodeAssignment};
    let mut out = Vec::new();
    let sites =
        plan.aggregates.iter().filter(|a| a.role == Role::Site).filter_map(|a| a.scope.site.as_deref());
    for site in sites {
        // The site's own segment first, then its second prefixes in the order they were added.
        let mut family: Vec<&crate::Segment> = plan
            .segments
            .iter()
            .filter(|s| s.role == Role::Site && (s.name == site || s.extends.as_deref() == Some(site)))
            .collect();
        let added =
            |s: &crate::Segment| s.name.rsplit('-').next().and_then(|k| k.parse::<u64>().ok()).unwrap_or(0);
        family.sort_by_key(|s| (s.name != site, added(s)));
        let mut k = 0u64;
        for s in family {
            for i in 0..s.planned {
                let offset = crate::position::FIRST_HOST + i;
                let address = Ipv4Addr::from(u32::from(s.cidr.network()).saturating_add(offset as u32));
                k += 1;
                out.push(NodeAssignment {
                    node: format!("{site}-dev{k:03}"),
                    scope: s.scope.clone(),
                    interfaces: vec![Interface {
                        name: "eth0".into(),
                        segment: s.name.clone(),
                        address: Ipv4Net::new(address, s.cidr.prefix_len())
                            .expect("a segment's prefix length"),
                        peer: None,
                        leaf: None,
                    }],
                });
            }
        }
    }
    out
}
