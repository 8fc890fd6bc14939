//! The plan invariants hold for any valid spec, and planning is a function of the spec.

use ipam_plan::{Plan, Spec, plan, strategies};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_valid_spec_gives_a_plan_that_keeps_the_invariants(spec in strategies::spec(0..=40_000)) {
        let plan = plan(&spec).unwrap();
        prop_assert_eq!(plan.check(), Ok(()));
        // The laws spelled out, so that a bug in `check` itself cannot hide a broken plan.
        let cidrs: Vec<_> = plan.segments.iter().map(|s| s.cidr).collect();
        prop_assert!(ipam_core::invariants::disjoint(&cidrs).is_ok());
        prop_assert!(ipam_core::invariants::aligned(&cidrs).is_ok());
        prop_assert!(ipam_core::invariants::all_inside(spec.base, &cidrs).is_ok());
        let vlans: Vec<u16> = plan.segments.iter().filter_map(|s| s.vlan.map(|v| v.get())).collect();
        let unique: std::collections::HashSet<_> = vlans.iter().collect();
        prop_assert_eq!(unique.len(), vlans.len());
        prop_assert!(vlans.iter().all(|v| (1..=4094).contains(v)));
        for s in &plan.segments {
            let size = 1u64 << (32 - u32::from(s.cidr.prefix_len()));
            prop_assert!(size >= s.kind.needed(s.planned, spec.growth) + s.kind.reserved(), "{} too small", s.name);
        }
    }

    #[test]
    fn the_same_spec_gives_the_same_plan(spec in strategies::spec(0..=20_000)) {
        prop_assert_eq!(plan(&spec).unwrap(), plan(&spec).unwrap());
    }

    #[test]
    fn a_plan_survives_its_json(spec in strategies::spec(0..=20_000), assign in any::<bool>()) {
        let mut plan = plan(&spec).unwrap();
        if assign && spec.gpus <= 4096 {
            ipam_plan::assign(&mut plan).unwrap();
            prop_assert_eq!(plan.check(), Ok(()));
        }
        prop_assert_eq!(Plan::from_json(&plan.to_json()).unwrap(), plan);
    }
}

#[test]
fn a_broken_plan_is_caught_by_check() {
    let good = plan(&Spec::for_gpus(256)).unwrap();
    type Breakage = (&'static str, fn(&mut Plan));
    let breakages: Vec<Breakage> = vec![
        ("overlap", |p| p.segments[9].cidr = p.segments[8].cidr),
        ("duplicate VLAN", |p| p.segments[9].vlan = p.segments[8].vlan),
        ("misaligned", |p| p.segments[8].cidr = "10.0.3.8/24".parse().unwrap()),
        ("outside base", |p| p.segments[8].cidr = "192.168.0.0/24".parse().unwrap()),
        ("usable", |p| p.segments[8].usable += 1),
        ("too small", |p| p.segments[8].planned = p.segments[8].usable),
        ("rail outside its aggregate", |p| p.aggregates.clear()),
        ("duplicate name", |p| p.segments[9].name = p.segments[8].name.clone()),
        ("VLAN on a routed segment", |p| p.segments[0].vlan = Some(ipam_plan::VlanId::must(7))),
        ("schema", |p| p.schema = 2),
    ];
    for (what, breaks) in breakages {
        let mut broken = good.clone();
        breaks(&mut broken);
        assert!(broken.check().is_err(), "{what} went unnoticed");
    }
}
