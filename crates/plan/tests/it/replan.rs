//! Re-planning for growth never moves or renumbers what exists.

use ipam_plan::{Plan, Spec, plan, replan, strategies};
use proptest::prelude::*;

fn kept(before: &Plan, after: &Plan) -> Result<(), TestCaseError> {
    for old in &before.segments {
        let now = after.segments.iter().find(|s| s.name == old.name);
        prop_assert!(now.is_some(), "{} disappeared", old.name);
        let now = now.unwrap();
        prop_assert_eq!(
            (now.cidr, now.vlan, now.gateway),
            (old.cidr, old.vlan, old.gateway),
            "{} moved",
            &old.name
        );
    }
    for old in &before.aggregates {
        prop_assert!(after.aggregates.contains(old), "aggregate {} moved", old.name);
    }
    for old in &before.anycast {
        prop_assert!(after.anycast.contains(old) || !after.anycast.iter().any(|a| a.name == old.name));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn growth_sequences_never_move_an_existing_segment(
        spec in strategies::spec(1..=4_096),
        steps in proptest::collection::vec((0u32..=3_000, 0u64..=800), 1..5),
    ) {
        let mut previous = plan(&spec).unwrap();
        let mut spec = spec;
        for (more_gpus, site_devices) in steps {
            spec.gpus += more_gpus;
            if let Some(site) = spec.sites.first_mut() {
                site.devices += site_devices;
            }
            let next = replan(&spec, &previous).unwrap();
            prop_assert_eq!(next.check(), Ok(()));
            kept(&previous, &next)?;
            // Round trip through JSON, as `--previous` does.
            previous = Plan::from_json(&next.to_json()).unwrap();
        }
    }
}

#[test]
fn growth_goes_beside_the_segment_when_it_can() {
    let spec = Spec::from_toml("gpus = 256\n[roles.frontend]\nprefix = \"10.64.0.0/25\"").unwrap();
    let before = plan(&spec).unwrap();
    let bigger = Spec { gpus: 1024, ..spec };
    let after = replan(&bigger, &before).unwrap();
    let second = after.segments.iter().find(|s| s.extends.as_deref() == Some("frontend")).unwrap();
    let first: ipnet::Ipv4Net = "10.64.0.0/25".parse().unwrap();
    let touching = |a: ipnet::Ipv4Net, b: ipnet::Ipv4Net| {
        u32::from(a.broadcast()).wrapping_add(1) == u32::from(b.network())
    };
    assert!(
        touching(first, second.cidr) || touching(second.cidr, first),
        "{} is not beside {first}",
        second.cidr
    );
    assert_ne!(second.vlan, before.segments.iter().find(|s| s.name == "frontend").unwrap().vlan);
    after.check().unwrap();
}

#[test]
fn a_replan_with_nothing_new_is_the_same_plan() {
    let before = plan(&Spec::for_gpus(1024)).unwrap();
    assert_eq!(replan(&Spec::for_gpus(1024), &before).unwrap(), before);
}

#[test]
fn backend_growth_adds_a_second_aggregate_of_rails() {
    let before = plan(&Spec::for_gpus(1024)).unwrap();
    let after = replan(&Spec::for_gpus(8192), &before).unwrap();
    after.check().unwrap();
    assert_eq!(after.aggregates.len(), 2);
    assert_eq!(after.aggregates[1].name, "backend-2");
    let seconds = after
        .segments
        .iter()
        .filter(|s| s.extends.as_deref().is_some_and(|e| e.starts_with("backend-rail-")));
    assert!(
        seconds.clone().count() == 8
            && seconds.into_iter().all(|s| after.aggregates[1].cidr.contains(&s.cidr))
    );
}

#[test]
fn a_previous_plan_on_another_base_is_refused() {
    let before = plan(&Spec::for_gpus(64)).unwrap();
    let moved = Spec { base: "172.16.0.0/12".parse().unwrap(), ..Spec::for_gpus(64) };
    assert!(matches!(replan(&moved, &before), Err(ipam_plan::Error::Previous { .. })));
}

#[test]
fn corrupt_previous_plans_are_refused() {
    for text in ["", "{", "[]", "{\"schema\": 2}", "{\"schema\": 1}", "{\"schema\": \"1\"}"] {
        assert!(matches!(Plan::from_json(text), Err(ipam_plan::Error::Previous { .. })), "{text:?}");
    }
    let mut overlapping = plan(&Spec::for_gpus(64)).unwrap();
    overlapping.segments[9].cidr = overlapping.segments[8].cidr;
    assert!(matches!(Plan::from_json(&overlapping.to_json()), Err(ipam_plan::Error::Previous { .. })));
}
