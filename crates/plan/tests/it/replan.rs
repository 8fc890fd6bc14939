//! Re-planning: growth within the headroom renumbers nothing and adds no aggregate, one SU past
//! it adds a generation, and the spec may not contradict what exists.

use std::collections::HashMap;

use ipam_plan::{Error, Plan, Spec, assign, plan, replan, replan_pruning, strategies};
use proptest::prelude::*;

fn kept(before: &Plan, after: &Plan) -> Result<(), TestCaseError> {
    for old in &before.segments {
        let now = after.segments.iter().find(|s| s.name == old.name);
        prop_assert!(now.is_some(), "{} disappeared", old.name);
        let now = now.unwrap();
        prop_assert_eq!(
            (now.cidr, now.vlan, now.gateway, now.mtu),
            (old.cidr, old.vlan, old.gateway, old.mtu),
            "{} moved",
            &old.name
        );
    }
    for old in &before.aggregates {
        prop_assert!(after.aggregates.contains(old), "aggregate {} moved", old.name);
    }
    for old in &before.switches {
        prop_assert!(after.switches.contains(old), "switch {} changed", old.name);
    }
    let links: std::collections::HashSet<_> = after.links.iter().collect();
    for old in &before.links {
        prop_assert!(links.contains(old), "link {} {}-{} changed", old.cidr, old.a, old.b);
    }
    for old in &before.anycast {
        prop_assert!(after.anycast.contains(old) || !after.anycast.iter().any(|a| a.name == old.name));
    }
    Ok(())
}

/// Every node of `before` keeps every address in `after`.
fn nodes_kept(before: &Plan, after: &Plan) -> Result<(), TestCaseError> {
    let now: HashMap<&str, &ipam_plan::NodeAssignment> =
        after.assignments.iter().flatten().map(|n| (n.node.as_str(), n)).collect();
    for node in before.assignments.iter().flatten() {
        prop_assert_eq!(Some(&node), now.get(node.node.as_str()), "{} was renumbered", &node.node);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn growth_within_the_headroom_renumbers_nothing(
        spec in strategies::spec(1..=4_096),
        steps in proptest::collection::vec((0.0f64..=1.0, 0u64..=800), 1..4),
    ) {
        let mut previous = plan(&spec).unwrap();
        assign(&mut previous).unwrap();
        let mut spec = spec;
        for (share, site_devices) in steps {
            let headroom = previous.summary.gpu_headroom.unwrap();
            spec.gpus += (headroom as f64 * share) as u32;
            if let Some(site) = spec.sites.first_mut() {
                site.devices += site_devices;
            }
            let mut next = replan(&spec, &previous).unwrap();
            assign(&mut next).unwrap();
            prop_assert_eq!(next.check(), Ok(()));
            kept(&previous, &next)?;
            nodes_kept(&previous, &next)?;
            // Within the headroom no aggregate is added (pods are reserved with their slots).
            prop_assert_eq!(&next.aggregates, &previous.aggregates);
            prop_assert_eq!(&next.topology.as_ref().unwrap().generations, &previous.topology.as_ref().unwrap().generations);
            previous = Plan::from_json(&next.to_json()).unwrap();
        }
    }

    #[test]
    fn one_su_past_the_headroom_adds_a_generation(spec in strategies::spec(1..=4_096)) {
        // Past the headroom a plan may hold 4x its segments: unique VLAN ids could run out.
        prop_assume!(spec.vlan_scope == ipam_plan::VlanScope::Template || spec.gpus <= 512);
        let before = plan(&spec).unwrap();
        let per_su = spec.nodes_per_su * spec.gpus_per_node;
        let past = Spec { gpus: spec.gpus + before.summary.gpu_headroom.unwrap() as u32 + per_su, ..spec.clone() };
        let after = replan(&past, &before).unwrap();
        prop_assert_eq!(after.check(), Ok(()));
        kept(&before, &after)?;
        let names = |p: &Plan| -> Vec<String> {
            p.aggregates.iter().map(|a| a.name.clone()).chain(p.segments.iter().map(|s| s.name.clone())).collect()
        };
        let old = names(&before);
        let added: Vec<String> = names(&after).into_iter().filter(|n| !old.contains(n)).collect();
        let added: Vec<&str> = added.iter().map(String::as_str).collect();
        prop_assert!(!added.is_empty());
        // The summary said which: the new backend and L2 aggregates.
        let said = before.summary.limited_by.clone().unwrap();
        for name in said.split(", ") {
            prop_assert!(added.contains(&name), "{} said but {:?} added", name, added);
        }
        prop_assert_eq!(after.topology.unwrap().generations.len(), 2);
    }
}

#[test]
fn the_issue_example_1024_then_1025_and_2048() {
    let p1024 = plan(&Spec::for_gpus(1024)).unwrap();
    assert_eq!(p1024.summary.gpu_headroom, Some(1024));
    let p2048 = replan(&Spec::for_gpus(2048), &p1024).unwrap();
    assert_eq!(p2048.aggregates, p1024.aggregates, "1,024 more GPUs fit: no aggregate added");
    let p2049 = replan(&Spec::for_gpus(2049), &p2048).unwrap();
    assert!(p2049.aggregates.iter().any(|a| a.name == "backend-2"));
    let mut assigned = replan(&Spec::for_gpus(1025), &p1024).unwrap();
    assign(&mut assigned).unwrap();
    let node129 = &assigned.assignments.as_ref().unwrap()[128];
    assert_eq!(node129.interfaces[0].segment, "backend-su04-rail0", "node 129 opens SU 4");
    let su4 = assigned.segments.iter().find(|s| s.name == "backend-su04-rail0").unwrap();
    assert_eq!(su4.planned, 2);
}

#[test]
fn a_spec_that_contradicts_the_previous_plan_is_refused_by_name() {
    let before = plan(&Spec::from_toml("gpus = 256\n[roles.storage]\nvlan = 122").unwrap()).unwrap();
    let err =
        replan(&Spec::from_toml("gpus = 512\n[roles.storage]\nvlan = 121").unwrap(), &before).unwrap_err();
    assert!(
        matches!(&err, Error::Contradicts { segment, field, .. } if segment == "storage-su00" && field == "vlan")
    );
    assert!(err.to_string().contains("121") && err.to_string().contains("122"), "{err}");
    let err =
        replan(&Spec::from_toml("gpus = 512\n[roles.storage]\nvlan = 122\nmtu = 1500").unwrap(), &before)
            .unwrap_err();
    assert!(matches!(&err, Error::Contradicts { field, .. } if field == "mtu"), "{err}");
    let with_prefix =
        plan(&Spec::from_toml("gpus = 256\n[roles.oob]\nprefix = \"10.255.0.0/22\"").unwrap()).unwrap();
    let err = replan(
        &Spec::from_toml("gpus = 256\n[roles.oob]\nprefix = \"10.254.0.0/22\"").unwrap(),
        &with_prefix,
    )
    .unwrap_err();
    assert!(
        matches!(&err, Error::Contradicts { segment, field, .. } if segment == "oob" && field == "prefix"),
        "{err}"
    );
    let err = replan(&Spec { nodes_per_su: 16, ..Spec::for_gpus(256) }, &plan(&Spec::for_gpus(256)).unwrap())
        .unwrap_err();
    assert!(matches!(&err, Error::Contradicts { field, .. } if field == "nodes_per_su"), "{err}");
}

#[test]
fn a_removed_site_is_kept_and_reported_unless_pruned() {
    let before =
        plan(&Spec::from_toml("gpus = 64\n[[site]]\nname = \"edge-1\"\ndevices = 10").unwrap()).unwrap();
    let after = replan(&Spec::for_gpus(64), &before).unwrap();
    let kept = after.segments.iter().find(|s| s.name == "edge-1").unwrap();
    assert_eq!(kept.planned, 0);
    assert!(after.summary.warnings.iter().any(|w| w.contains("edge-1") && w.contains("--prune")));
    let pruned = replan_pruning(&Spec::for_gpus(64), &before).unwrap();
    assert!(pruned.segments.iter().all(|s| s.name != "edge-1"));
    pruned.check().unwrap();
}

#[test]
fn a_schema_1_plan_is_read_but_not_grown() {
    let v1 = include_str!("schema1.json");
    let plan = Plan::from_json(v1).unwrap();
    assert_eq!(plan.schema, 1);
    assert!(!ipam_plan::render::table(&plan).is_empty());
    let err = replan(&Spec::for_gpus(512), &plan).unwrap_err();
    assert!(err.to_string().contains("schema 1"), "{err}");
}

#[test]
fn a_site_that_outgrows_its_block_gets_a_second_prefix() {
    let before = plan(&Spec::from_toml("[[site]]\nname = \"edge-1\"\ndevices = 100").unwrap()).unwrap();
    let after =
        replan(&Spec::from_toml("[[site]]\nname = \"edge-1\"\ndevices = 1000").unwrap(), &before).unwrap();
    after.check().unwrap();
    let second = after.segments.iter().find(|s| s.extends.as_deref() == Some("edge-1")).unwrap();
    assert_eq!(second.name, "edge-1-2");
    let again =
        replan(&Spec::from_toml("[[site]]\nname = \"edge-1\"\ndevices = 1000").unwrap(), &after).unwrap();
    assert_eq!(again, after, "re-planning onto itself changes nothing");
}

#[test]
fn shrinking_keeps_what_was_planned_unless_pruned() {
    let before = plan(&Spec::for_gpus(1024)).unwrap();
    let after = replan(&Spec::for_gpus(512), &before).unwrap();
    after.check().unwrap();
    let su3 = after.segments.iter().find(|s| s.name == "frontend-su03").unwrap();
    assert_eq!(su3.planned, 0);
    assert!(after.summary.warnings.iter().any(|w| w.contains("backend-su02-rail0") && w.contains("--prune")));
    let pruned = replan_pruning(&Spec::for_gpus(512), &before).unwrap();
    assert!(pruned.segments.iter().all(|s| s.name != "frontend-su03"));
}

#[test]
fn unique_vlans_with_an_explicit_start_replan_onto_themselves() {
    let spec = Spec::from_toml("gpus = 512\nvlan_scope = \"unique\"\n[roles.storage]\nvlan = 122").unwrap();
    let first = plan(&spec).unwrap();
    assert_eq!(replan(&spec, &first).unwrap(), first);
    let grown = replan(&Spec { gpus: 1024, ..spec }, &first).unwrap();
    grown.check().unwrap();
}

#[test]
fn an_explicit_cluster_wide_vlan_survives_growth_past_the_headroom() {
    let spec = Spec::from_toml("gpus = 1024\n[roles.monitoring]\nvlan = 150").unwrap();
    let first = plan(&spec).unwrap();
    let grown = replan(&Spec { gpus: 2304, ..spec }, &first).unwrap();
    grown.check().unwrap();
    assert!(grown.aggregates.iter().any(|a| a.name == "backend-2"));
}

#[test]
fn switching_a_role_to_an_explicit_count_is_a_contradiction() {
    let first = plan(&Spec::for_gpus(4096)).unwrap();
    let counted = Spec::from_toml("gpus = 4096\n[roles.monitoring]\ncount = 500").unwrap();
    let err = replan(&counted, &first).unwrap_err();
    assert!(matches!(&err, Error::Contradicts { field, .. } if field == "counted roles"), "{err}");
}

#[test]
fn growth_past_one_pod_starts_the_new_generation_on_a_pod_boundary() {
    let first = plan(&Spec { growth: 1.0, ..Spec::for_gpus(1024) }).unwrap();
    let grown = replan(&Spec { growth: 1.0, ..Spec::for_gpus(10_240) }, &first).unwrap();
    grown.check().unwrap();
    let generations = &grown.topology.as_ref().unwrap().generations;
    assert_eq!(generations[1].first_su, 4);
    assert!(generations[1].pods);
    // SU 16 is in pod 2 in its scope and in its pod segments' names alike.
    let s = grown.segments.iter().find(|s| s.name == "storage-su16").unwrap();
    assert_eq!(s.scope.pod, Some(2));
    assert!(grown.segments.iter().any(|s| s.name == "oob-fabric-2-pod02" && s.scope.pod == Some(2)));
}
