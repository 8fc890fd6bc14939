//! The plan invariants and the topology laws hold for any valid spec, in both numbering orders,
//! and planning is a function of the spec.

use std::collections::HashMap;

use ipam_plan::{Numbering, Plan, Role, Spec, plan, strategies};
use proptest::prelude::*;

fn nodes_in_su(spec: &Spec, su: u32) -> u64 {
    let nodes = u64::from(spec.gpus).div_ceil(u64::from(spec.gpus_per_node));
    let first = u64::from(su) * u64::from(spec.nodes_per_su);
    nodes.saturating_sub(first).min(u64::from(spec.nodes_per_su))
}

fn nics_on_rail(spec: &Spec, rail: u32) -> u64 {
    (0..spec.gpus_per_node).filter(|k| k % spec.rails() == rail).count() as u64
}

/// Backend by position: each backend segment holds exactly the /31s (or addresses) of the nodes
/// of its SU (on its rail), sits in its rail's aggregate and in the backend aggregate, and with
/// pods in its pod's aggregate.
fn backend_by_position(spec: &Spec, plan: &Plan) -> Result<(), TestCaseError> {
    let links = spec.backend_addressing == ipam_plan::BackendAddressing::P2p31;
    for s in plan.segments.iter().filter(|s| s.role == Role::Backend) {
        let su = s.scope.su.expect("a backend segment has its SU");
        let per_node = match (spec.numbering, s.scope.rail) {
            (Numbering::Rail, Some(rail)) => nics_on_rail(spec, rail),
            (Numbering::Server, None) => u64::from(spec.gpus_per_node),
            _ => {
                return Err(TestCaseError::fail(format!(
                    "{}: scope {:?} for {:?}",
                    s.name, s.scope, spec.numbering
                )));
            }
        };
        let wanted = nodes_in_su(spec, su) * per_node * if links { 2 } else { 1 };
        prop_assert_eq!(s.planned, wanted, "{} planned", &s.name);
        let holders: Vec<_> = plan.aggregates.iter().filter(|a| a.cidr.contains(&s.cidr)).collect();
        prop_assert!(
            holders.iter().any(|a| a.name.starts_with("backend") && a.scope.is_cluster()),
            "{}",
            &s.name
        );
        if let Some(rail) = s.scope.rail.filter(|_| spec.rails() > 1) {
            prop_assert!(
                holders.iter().any(|a| a.scope.rail == Some(rail) && a.scope.pod.is_none()),
                "{}",
                &s.name
            );
        }
        if let Some(pod) = s.scope.pod {
            prop_assert_eq!(pod, su / spec.sus_per_pod);
        }
    }
    Ok(())
}

/// Every aggregate is aligned and holds only its role; a segment of an aggregate's pod (or rail)
/// sits in that aggregate.
fn every_level_is_one_route(plan: &Plan) -> Result<(), TestCaseError> {
    for a in &plan.aggregates {
        prop_assert_eq!(a.cidr.trunc(), a.cidr);
        for s in plan.segments.iter().filter(|s| a.cidr.contains(&s.cidr)) {
            prop_assert_eq!(s.role, a.role, "{} in {}", &s.name, &a.name);
            if let Some(pod) = a.scope.pod {
                prop_assert_eq!(s.scope.pod, Some(pod), "{} in {}", &s.name, &a.name);
            }
            if let Some(rail) = a.scope.rail {
                prop_assert_eq!(s.scope.rail, Some(rail), "{} in {}", &s.name, &a.name);
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_valid_spec_gives_a_plan_that_keeps_the_laws(spec in strategies::spec(0..=40_000)) {
        let plan = plan(&spec).unwrap();
        prop_assert_eq!(plan.check(), Ok(()));
        // The laws spelled out, so that a bug in `check` itself cannot hide a broken plan.
        let cidrs: Vec<_> = plan.segments.iter().map(|s| s.cidr).collect();
        prop_assert!(ipam_core::invariants::disjoint(&cidrs).is_ok());
        prop_assert!(ipam_core::invariants::aligned(&cidrs).is_ok());
        prop_assert!(ipam_core::invariants::all_inside(spec.base, &cidrs).is_ok());
        let mut by_vlan: HashMap<u16, Vec<&ipam_plan::Segment>> = HashMap::new();
        for s in &plan.segments {
            prop_assert!(s.usable >= s.planned, "{} too small", s.name);
            if let Some(v) = s.vlan {
                let same = by_vlan.entry(v.get()).or_default();
                prop_assert!(same.iter().all(|o| !o.scope.meets(&s.scope)), "VLAN {} twice where {} is", v, s.name);
                if spec.vlan_scope == ipam_plan::VlanScope::Unique {
                    prop_assert!(same.is_empty(), "VLAN {} repeated under unique", v);
                }
                same.push(s);
            }
        }
        backend_by_position(&spec, &plan)?;
        every_level_is_one_route(&plan)?;
        let leaves = plan.switches.iter().filter(|s| s.tier == "leaf").count() as u64;
        prop_assert_eq!(leaves, plan.summary.sus * u64::from(spec.rails()));
        // The headroom is what the reserved SU slots hold (under unique VLANs, at most).
        if spec.gpus > 0 && spec.vlan_scope == ipam_plan::VlanScope::Template {
            let per_su = u64::from(spec.nodes_per_su) * u64::from(spec.gpus_per_node);
            prop_assert_eq!(plan.summary.gpu_headroom, Some(plan.summary.su_slots * per_su - u64::from(spec.gpus)));
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

    #[test]
    fn assigned_interfaces_sit_in_their_leaf_block(spec in strategies::spec(1..=4_096)) {
        let mut plan = plan(&spec).unwrap();
        ipam_plan::assign(&mut plan).unwrap();
        prop_assert_eq!(plan.check(), Ok(()));
        let segments: HashMap<&str, &ipam_plan::Segment> = plan.segments.iter().map(|s| (s.name.as_str(), s)).collect();
        let mut held: HashMap<&str, u64> = HashMap::new();
        // GPU nodes first, by position; edge devices follow, in their sites.
        let nodes = plan.assignments.as_ref().unwrap().iter().filter(|n| n.scope.site.is_none());
        for (n, node) in nodes.enumerate() {
            let su = (n as u64 / u64::from(spec.nodes_per_su)) as u32;
            prop_assert_eq!(node.scope.su, Some(su));
            for i in &node.interfaces {
                let s = segments[i.segment.as_str()];
                prop_assert!(s.cidr.contains(&i.address.addr()));
                prop_assert_eq!(s.scope.su.unwrap_or(su), su, "{} of {} in {}", &i.name, &node.node, &s.name);
                *held.entry(s.name.as_str()).or_default() += 1 + u64::from(i.peer.is_some());
                if let Some(peer) = i.peer {
                    let rail: u32 = i.name.trim_start_matches("rail").split('.').next().unwrap().parse().unwrap();
                    prop_assert_eq!(i.leaf.clone(), Some(format!("leaf-su{su:02}-rail{rail}")));
                    let switch_even = spec.leaf_end == ipam_plan::LeafEnd::Even;
                    prop_assert_eq!(u32::from(peer) % 2 == 0, switch_even);
                }
            }
        }
        // Every backend segment holds exactly what its nodes need.
        for s in plan.segments.iter().filter(|s| s.role == Role::Backend) {
            prop_assert_eq!(held.get(s.name.as_str()).copied().unwrap_or(0), s.planned, "{}", &s.name);
        }
    }
}

#[test]
fn a_broken_plan_is_caught_by_check() {
    let good = plan(&Spec::for_gpus(256)).unwrap();
    let at = |p: &Plan, name: &str| p.segments.iter().position(|s| s.name == name).unwrap();
    type Breakage = (&'static str, Box<dyn Fn(&mut Plan)>);
    let breakages: Vec<Breakage> = vec![
        (
            "overlap",
            Box::new(move |p| {
                let (a, b) = (at(p, "storage-su00"), at(p, "oob-su00"));
                p.segments[b].cidr = p.segments[a].cidr
            }),
        ),
        (
            "duplicate VLAN in one scope",
            Box::new(move |p| {
                let (a, b) = (at(p, "storage-su00"), at(p, "oob-su00"));
                p.segments[b].vlan = p.segments[a].vlan
            }),
        ),
        (
            "misaligned",
            Box::new(move |p| {
                let a = at(p, "storage-su00");
                p.segments[a].cidr = "10.0.3.8/25".parse().unwrap()
            }),
        ),
        (
            "outside base",
            Box::new(move |p| {
                let a = at(p, "storage-su00");
                p.segments[a].cidr = "192.168.0.0/25".parse().unwrap()
            }),
        ),
        (
            "usable",
            Box::new(move |p| {
                let a = at(p, "storage-su00");
                p.segments[a].usable += 1
            }),
        ),
        (
            "too small",
            Box::new(move |p| {
                let a = at(p, "storage-su00");
                p.segments[a].planned = p.segments[a].usable + 1
            }),
        ),
        ("rail outside its aggregate", Box::new(|p| p.aggregates.clear())),
        (
            "duplicate name",
            Box::new(move |p| {
                let (a, b) = (at(p, "storage-su00"), at(p, "oob-su00"));
                p.segments[b].name = p.segments[a].name.clone()
            }),
        ),
        ("VLAN on a routed segment", Box::new(|p| p.segments[0].vlan = Some(ipam_plan::VlanId::must(7)))),
        ("schema", Box::new(|p| p.schema = 3)),
        ("MTU", Box::new(|p| p.segments[0].mtu = 9217)),
        ("switch loopback twice", Box::new(|p| p.switches[1].loopback = p.switches[0].loopback)),
        ("public ASN", Box::new(|p| p.switches[0].asn = 65000)),
        ("growth below 1", Box::new(|p| p.growth = 0.5)),
        (
            "a segment that extends itself",
            Box::new(|p| p.segments[0].extends = Some(p.segments[0].name.clone())),
        ),
        ("an invalid name", Box::new(|p| p.segments[0].name = "../x".into())),
    ];
    for (what, breaks) in breakages {
        let mut broken = good.clone();
        breaks(&mut broken);
        assert!(broken.check().is_err(), "{what} went unnoticed");
    }
}
