//! `Store::apply`: a plan's aggregates become containers, its segments child pools, and every
//! address it hands out is recorded with its owner; applying again or a grown plan adds only
//! what is new, and a plan that moved something is refused whole.

use ipam_plan::{Plan, Spec};
use ipam_store::{Allocation, Error, PoolDef, Release, Request, Shape, Store};

use crate::backend::Backend;

fn assigned(gpus: u32) -> Plan {
    let mut plan = ipam_plan::plan(&Spec::for_gpus(gpus)).unwrap();
    ipam_plan::assign(&mut plan).unwrap();
    plan
}

fn rows(store: &Store) -> usize {
    store.export().unwrap().pools.iter().map(|p| p.allocations.len()).sum()
}

pub(crate) fn aggregates_are_containers_counting_their_children(b: &Backend) {
    let plan = ipam_plan::plan(&Spec::for_gpus(512)).unwrap();
    let mut store = b.fresh();
    store.apply(&plan).unwrap();
    let refused = store.allocate("backend", Request::Next, Some("gpu-node-001")).unwrap_err();
    assert!(matches!(refused, Error::Container { .. }), "{refused}");
    assert!(matches!(store.allocate("storage", Request::Block(24), None), Err(Error::Container { .. })));
    let uses = store.pools().unwrap();
    let of = |name: &str| uses.iter().find(|u| u.def.name == name).unwrap();
    let storage_segments: Vec<_> =
        plan.segments.iter().filter(|s| s.name.starts_with("storage-su")).collect();
    let capacity: u64 = storage_segments.iter().map(|s| s.usable).sum();
    assert_eq!(
        (of("storage").capacity, of("storage").allocated),
        (capacity, 0),
        "not full: its children are empty"
    );
    store.allocate("storage-su01", Request::Next, Some("gpu-node-033/storage0")).unwrap();
    let uses = store.pools().unwrap();
    let storage = uses.iter().find(|u| u.def.name == "storage").unwrap();
    assert_eq!((storage.allocated, storage.free), (1, capacity - 1));
    let shown = store.pool("storage").unwrap();
    assert_eq!((shown.stats.capacity, shown.stats.allocated), (capacity, 1));
    // Backend leaves' ends are recorded: the container is the sum of its /31 segments.
    let backend = uses.iter().find(|u| u.def.name == "backend").unwrap();
    assert_eq!(backend.allocated * 2, backend.capacity, "one end of every /31 is the leaf's");

    // A container survives export and import, and an import that puts an address in one is refused.
    let export = store.export().unwrap();
    let mut copy = b.fresh();
    copy.import(&export).unwrap();
    assert!(copy.definition("backend").unwrap().container);
    let mut lone = b.fresh();
    lone.add_pool(&PoolDef::new("c", "10.0.0.0/24".parse().unwrap()).container(true)).unwrap();
    let mut hostile = lone.export().unwrap();
    let address = "10.0.0.5".parse().unwrap();
    let intruder = Allocation {
        first: address,
        last: address,
        shape: Shape::Addr,
        owner: Some("intruder".into()),
        created: 0,
    };
    hostile.pools[0].allocations.push(intruder);
    let err = b.fresh().import(&hostile).unwrap_err();
    assert!(err.to_string().contains("container"), "{err}");
}

pub(crate) fn an_assigned_plan_is_recorded_with_interface_owners(b: &Backend) {
    let plan = assigned(256);
    let mut store = b.fresh();
    let applied = store.apply(&plan).unwrap();
    let nodes = plan.assignments.as_ref().unwrap();
    let interfaces: u64 = nodes.iter().map(|n| n.interfaces.len() as u64).sum();
    let leaf_ends: u64 = nodes.iter().flat_map(|n| &n.interfaces).filter(|i| i.peer.is_some()).count() as u64;
    let expected = interfaces
        + leaf_ends
        + 2 * plan.switches.len() as u64
        + 2 * plan.links.len() as u64
        + plan.anycast.len() as u64;
    assert_eq!(applied.recorded, expected);
    for node in nodes {
        for i in &node.interfaces {
            let owner = format!("{}/{}", node.node, i.name);
            let held = store.allocate(&i.segment, Request::Next, Some(&owner)).unwrap();
            assert_eq!(held.first, i.address.addr(), "{owner}");
            if let (Some(peer), Some(leaf)) = (i.peer, &i.leaf) {
                let found = store.find(peer).unwrap();
                let in_segment = found.iter().find(|f| f.pool == i.segment).unwrap();
                let leaf_end = in_segment.allocation.as_ref().unwrap();
                assert_eq!(leaf_end.owner.as_deref(), Some(format!("{leaf}/{}", node.node).as_str()));
            }
        }
    }
    let leaf = &plan.switches[0];
    let held = store.find_owner(&format!("{}/loopback", leaf.name)).unwrap();
    assert_eq!(held[0].allocation.first, leaf.loopback);
    assert_eq!(store.find_owner(&format!("{}/mgmt", leaf.name)).unwrap()[0].allocation.first, leaf.mgmt);

    let again = store.apply(&plan).unwrap();
    assert_eq!((again.created.len(), again.recorded, again.kept), (0, 0, expected));
    assert!(store.check().unwrap().is_empty());
}

pub(crate) fn leaf_ends_are_kept_without_assign_and_a_grown_plan_adds_only_what_is_new(b: &Backend) {
    let plan = ipam_plan::plan(&Spec::for_gpus(256)).unwrap();
    let mut store = b.fresh();
    let first = store.apply(&plan).unwrap();
    // The next free address of a backend /31 segment is the first host's end, as --assign has it.
    let with_nodes = assigned(256);
    let rail0 = &with_nodes.assignments.as_ref().unwrap()[0].interfaces[0];
    let next = store.allocate(&rail0.segment, Request::Next, Some("gpu-node-001/rail0")).unwrap();
    assert_eq!(next.first, rail0.address.addr());
    store.release(&rail0.segment, &Release::Owner("gpu-node-001/rail0".into())).unwrap();
    // The same plan with its nodes adds their ends only.
    let nodes = store.apply(&with_nodes).unwrap();
    assert!(nodes.created.is_empty());
    assert_eq!(nodes.kept, first.recorded);
    // Growth within the headroom adds segments and addresses, and changes none.
    let before = rows(&store);
    let mut grown = ipam_plan::replan(&Spec::for_gpus(512), &with_nodes).unwrap();
    ipam_plan::assign(&mut grown).unwrap();
    let applied = store.apply(&grown).unwrap();
    assert!(
        !applied.created.is_empty() && applied.created.iter().all(|name| name.contains("su01")),
        "{:?}",
        applied.created
    );
    assert_eq!(rows(&store), before + applied.recorded as usize + applied.created.len());
    assert_eq!(applied.kept, nodes.kept + nodes.recorded);
}

pub(crate) fn a_plan_that_moves_something_is_refused_whole(b: &Backend) {
    let plan = assigned(256);
    let mut store = b.fresh();
    store.apply(&plan).unwrap();
    let node = &plan.assignments.as_ref().unwrap()[0];
    let storage0 = node.interfaces.iter().find(|i| i.name == "storage0").unwrap();
    let owner = format!("{}/storage0", node.node);
    store.release(&storage0.segment, &Release::Owner(owner.clone())).unwrap();
    store.allocate(&storage0.segment, Request::Next, Some("filler")).unwrap();
    let elsewhere = store.allocate(&storage0.segment, Request::Next, Some(&owner)).unwrap();
    assert_ne!(elsewhere.first, storage0.address.addr());
    let before = store.export().unwrap();
    let err = store.apply(&plan).unwrap_err();
    assert!(err.to_string().contains(&owner) && err.to_string().contains("moves"), "{err}");
    assert_eq!(store.export().unwrap(), before, "nothing changed");

    // Someone else holds a planned address.
    store.release(&storage0.segment, &Release::Owner(owner.clone())).unwrap();
    store.release(&storage0.segment, &Release::Owner("filler".into())).unwrap();
    store.allocate(&storage0.segment, Request::Addr(storage0.address.addr()), Some("intruder")).unwrap();
    let err = store.apply(&plan).unwrap_err();
    assert!(err.to_string().contains("intruder"), "{err}");

    // A segment the plan moved.
    let mut spec = Spec::for_gpus(256);
    spec.base = "10.64.0.0/10".parse().unwrap();
    let moved = ipam_plan::plan(&spec).unwrap();
    let err = store.apply(&moved).unwrap_err();
    assert!(matches!(err, Error::Apply { .. }) && err.to_string().contains("moves pool"), "{err}");
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(12))]

    /// Apply, then export: every address the plan assigned is recorded in its segment for its
    /// interface-qualified owner, and nothing else is (besides the leaves' ends, switches and
    /// child pools' blocks).
    #[test]
    fn an_applied_plan_exports_as_its_assignments(spec in ipam_plan::strategies::spec(1..=512)) {
        let mut plan = ipam_plan::plan(&spec).unwrap();
        ipam_plan::assign(&mut plan).unwrap();
        let mut store = Store::open_in_memory().unwrap();
        store.apply(&plan).unwrap();
        let mut recorded = std::collections::HashMap::new();
        for pool in store.export().unwrap().pools {
            for a in pool.allocations {
                if let Some(owner) = a.owner {
                    recorded.insert(owner, (pool.def.name.clone(), a.first, a.last));
                }
            }
        }
        let mut wanted = 0;
        for node in plan.assignments.iter().flatten() {
            for i in &node.interfaces {
                let owner = format!("{}/{}", node.node, i.name);
                let at = (i.segment.clone(), i.address.addr(), i.address.addr());
                proptest::prop_assert_eq!(recorded.get(&owner), Some(&at), "{}", owner);
                wanted += 1;
            }
        }
        let switches = plan.switches.len() * 2 + plan.links.len() * 2 + plan.anycast.len();
        let leaf_ends = plan.assignments.iter().flatten().flat_map(|n| &n.interfaces).filter(|i| i.peer.is_some()).count();
        let blocks = recorded.keys().filter(|o| o.starts_with("pool:")).count();
        proptest::prop_assert_eq!(recorded.len(), wanted + switches + leaf_ends + blocks);
    }
}
