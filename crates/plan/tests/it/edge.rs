//! Edge fleets: for random sites and regions, every site sits in its region's block, regions are
//! disjoint, VLAN ids are unique within each site, and growing a region moves no site.

use std::collections::{HashMap, HashSet};

use ipam_plan::{Plan, Role, Site, Spec, Uplink, VlanScope, plan, replan};
use proptest::prelude::*;

fn fleet() -> impl Strategy<Value = Spec> {
    let site = (0u64..3_000, prop::option::of(0usize..4), prop::option::of(0u64..40), any::<bool>());
    (prop::collection::vec(site, 1..40), 1.0f64..3.0, any::<bool>()).prop_map(|(sites, growth, unique)| {
        Spec {
            growth,
            vlan_scope: if unique { VlanScope::Unique } else { VlanScope::Template },
            sites: sites
                .into_iter()
                .enumerate()
                .map(|(i, (devices, region, mgmt, loopback))| Site {
                    name: format!("s{i:03}"),
                    devices,
                    vlan: None,
                    mtu: None,
                    prefix: None,
                    region: region.map(|r| format!("r{r}")),
                    mgmt,
                    uplink: if loopback { Uplink::Loopback } else { Uplink::P2p31 },
                })
                .collect(),
            ..Spec::default()
        }
    })
}

fn laws(spec: &Spec, plan: &Plan) -> Result<(), TestCaseError> {
    prop_assert_eq!(plan.check(), Ok(()));
    let regions: Vec<_> =
        plan.aggregates.iter().filter(|a| a.role == Role::Site && a.scope.site.is_none()).collect();
    for (i, a) in regions.iter().enumerate() {
        for b in &regions[i + 1..] {
            prop_assert!(
                !a.cidr.contains(&b.cidr) && !b.cidr.contains(&a.cidr),
                "{} and {} overlap",
                a.name,
                b.name
            );
        }
    }
    for site in &spec.sites {
        let block = plan.aggregates.iter().find(|a| a.name == format!("site-{}", site.name));
        let block = block.ok_or_else(|| TestCaseError::fail(format!("no block for {}", site.name)))?;
        if let Some(region) = &site.region {
            let holder = regions.iter().find(|r| r.cidr.contains(&block.cidr));
            prop_assert_eq!(
                holder.map(|r| r.scope.region.as_deref()),
                Some(Some(region.as_str())),
                "{}",
                &site.name
            );
        }
        for name in [site.name.clone(), format!("{}-mgmt", site.name), format!("{}-uplink", site.name)] {
            let s = plan.segments.iter().find(|s| s.name == name).unwrap();
            prop_assert!(block.cidr.contains(&s.cidr), "{} is outside its site", name);
        }
    }
    let mut per_site: HashMap<&str, HashSet<u16>> = HashMap::new();
    for s in &plan.segments {
        if let (Some(site), Some(vlan)) = (s.scope.site.as_deref(), s.vlan) {
            prop_assert!(
                per_site.entry(site).or_default().insert(vlan.get()),
                "VLAN {} twice in {}",
                vlan,
                site
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn sites_sit_in_their_regions_and_keep_their_blocks(spec in fleet(), more in 0u64..2_000, added in 0usize..5) {
        let before = plan(&spec).unwrap();
        laws(&spec, &before)?;
        // Grow a site and add sites to the first region: no site moves, none renumbered.
        let mut grown = spec.clone();
        grown.sites[0].devices += more;
        let region = grown.sites.iter().find_map(|s| s.region.clone());
        for k in 0..added {
            grown.sites.push(Site { name: format!("n{k}"), devices: 10, region: region.clone(), ..grown.sites[0].clone() });
        }
        match replan(&grown, &before) {
            Ok(after) => {
                laws(&grown, &after)?;
                for s in &before.segments {
                    let now = after.segments.iter().find(|x| x.name == s.name).unwrap();
                    prop_assert_eq!((now.cidr, now.vlan), (s.cidr, s.vlan), "{} moved", &s.name);
                }
            }
            // A region that outgrew its block says so; nothing else may fail.
            Err(e) => prop_assert!(e.to_string().contains("outgrown"), "{}", e),
        }
    }
}
