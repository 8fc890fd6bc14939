//! Pools, owners, parents, and the errors that leave everything as it was.

use ipam_core::Policy;
use ipam_store::{Error, PoolDef, Release, Request, Store};

use crate::backend::Backend;

fn store_with(b: &Backend, name: &str, cidr: &str) -> Store {
    let mut store = b.fresh();
    store.add_pool(&PoolDef::new(name, cidr.parse().unwrap())).unwrap();
    store
}

pub(crate) fn every_request_shape_is_recorded_and_released(b: &Backend) {
    let mut store = store_with(b, "lab", "10.9.0.0/24");
    let one = store.allocate("lab", Request::Next, None).unwrap();
    let given = store.allocate("lab", Request::Addr("10.9.0.200".parse().unwrap()), None).unwrap();
    let block = store.allocate("lab", Request::Block(28), None).unwrap();
    let range = store.allocate("lab", Request::Range(5), None).unwrap();
    assert_eq!(
        [one.to_string(), given.to_string(), block.to_string(), range.to_string()],
        ["10.9.0.1", "10.9.0.200", "10.9.0.16/28", "10.9.0.2-10.9.0.6"]
    );
    assert_eq!(store.pool("lab").unwrap().stats.allocated, 1 + 1 + 16 + 5);
    store.release("lab", &Release::Block("10.9.0.16/28".parse().unwrap())).unwrap();
    store.release("lab", &Release::Range(range.first, range.last)).unwrap();
    store.release("lab", &Release::Addr(given.first)).unwrap();
    // Only what was allocated, as it was allocated, can be released.
    let part_of_nothing = store.release("lab", &Release::Addr("10.9.0.3".parse().unwrap())).unwrap_err();
    assert!(matches!(part_of_nothing, Error::NoSuchAllocation { .. }));
    assert_eq!(store.allocations("lab").unwrap(), vec![one]);
}

pub(crate) fn owners_are_idempotent_and_exclusive(b: &Backend) {
    let mut store = store_with(b, "lab", "10.9.0.0/24");
    let a = store.allocate("lab", Request::Next, Some("node-1")).unwrap();
    assert_eq!(store.allocate("lab", Request::Next, Some("node-1")).unwrap(), a);
    let other = store.allocate("lab", Request::Block(30), Some("node-1")).unwrap_err();
    assert!(matches!(other, Error::OwnerHoldsOther { .. }));
    for bad in ["", "pool:x", "a\nb", &"x".repeat(256)] {
        assert!(
            matches!(store.allocate("lab", Request::Next, Some(bad)), Err(Error::InvalidOwner { .. })),
            "{bad:?}"
        );
    }
    assert_eq!(store.allocations("lab").unwrap().len(), 1);
}

pub(crate) fn round_robin_cursor_survives_reopening(b: &Backend) {
    let path = b.location();
    let mut store = Store::open(&path).unwrap();
    store
        .add_pool(&PoolDef {
            policy: Policy::RoundRobin,
            ..PoolDef::new("rr", "10.1.0.0/29".parse().unwrap())
        })
        .unwrap();
    let a = store.allocate("rr", Request::Next, None).unwrap();
    store.release("rr", &Release::Addr(a.first)).unwrap();
    drop(store);
    let mut store = Store::open(&path).unwrap();
    let b = store.allocate("rr", Request::Next, None).unwrap();
    assert_ne!(a.first, b.first, "no immediate reuse across processes");
}

pub(crate) fn child_pools_are_blocks_of_their_parent(b: &Backend) {
    let mut store = store_with(b, "dc", "10.0.0.0/16");
    let rack =
        PoolDef { parent: Some("dc".into()), ..PoolDef::new("rack-1", "10.0.4.0/24".parse().unwrap()) };
    store.add_pool(&rack).unwrap();
    assert_eq!(store.allocations("dc").unwrap()[0].owner.as_deref(), Some("pool:rack-1"));
    // The parent cannot hand the block out again, nor release it behind the child's back.
    let taken = store.allocate("dc", Request::Addr("10.0.4.9".parse().unwrap()), None).unwrap_err();
    assert!(matches!(taken, Error::Pool(ipam_core::Error::AlreadyAllocated { .. })));
    let held = store.release("dc", &Release::Block("10.0.4.0/24".parse().unwrap())).unwrap_err();
    assert!(matches!(held, Error::HeldByChildPool { .. }));
    // A child must be a free block of its parent.
    let twice =
        PoolDef { parent: Some("dc".into()), ..PoolDef::new("rack-2", "10.0.4.0/25".parse().unwrap()) };
    assert!(matches!(store.add_pool(&twice), Err(Error::Pool(_))));
    assert!(matches!(store.remove_pool("dc", true), Err(Error::InUse { .. })), "children first");
    store.remove_pool("rack-1", false).unwrap();
    assert!(store.allocations("dc").unwrap().is_empty(), "the block went back");
}

pub(crate) fn bad_pools_are_refused_with_their_reason(b: &Backend) {
    let mut store = store_with(b, "a", "10.0.0.0/16");
    type Case = (PoolDef, fn(&Error) -> bool);
    let cases: Vec<Case> = vec![
        (PoolDef::new("a", "10.9.0.0/24".parse().unwrap()), |e| matches!(e, Error::PoolExists { .. })),
        (PoolDef::new("b", "10.0.128.0/17".parse().unwrap()), |e| matches!(e, Error::Overlap { .. })),
        (PoolDef::new("c", "9.0.0.0/6".parse().unwrap()), |e| {
            matches!(e, Error::Pool(ipam_core::Error::HostBitsSet { .. }))
        }),
        (PoolDef::new("../x", "10.8.0.0/24".parse().unwrap()), |e| matches!(e, Error::InvalidName { .. })),
        (PoolDef::new("", "10.8.0.0/24".parse().unwrap()), |e| matches!(e, Error::InvalidName { .. })),
        (PoolDef { parent: Some("none".into()), ..PoolDef::new("d", "10.8.0.0/24".parse().unwrap()) }, |e| {
            matches!(e, Error::NoSuchPool { .. })
        }),
    ];
    for (def, expected) in cases {
        let err = store.add_pool(&def).unwrap_err();
        assert!(expected(&err), "{def:?} gave {err:?}");
    }
    assert_eq!(store.pools().unwrap().len(), 1, "nothing half-created");
}

pub(crate) fn a_failed_allocation_leaves_file_and_memory_as_they_were(b: &Backend) {
    let mut store = store_with(b, "tiny", "10.0.0.0/30");
    store.allocate("tiny", Request::Next, None).unwrap();
    store.allocate("tiny", Request::Next, None).unwrap();
    let before = store.export().unwrap();
    assert!(matches!(
        store.allocate("tiny", Request::Next, None),
        Err(Error::Pool(ipam_core::Error::Exhausted { .. }))
    ));
    assert!(matches!(store.allocate("tiny", Request::Block(24), None), Err(Error::Pool(_))));
    assert_eq!(store.export().unwrap(), before);
    store.release("tiny", &Release::Addr("10.0.0.1".parse().unwrap())).unwrap();
    assert_eq!(store.allocate("tiny", Request::Next, None).unwrap().to_string(), "10.0.0.1");
}

pub(crate) fn another_connection_sees_changes_and_the_cache_follows(b: &Backend) {
    let path = b.location();
    let mut one = Store::open(&path).unwrap();
    one.add_pool(&PoolDef::new("p", "10.3.0.0/29".parse().unwrap())).unwrap();
    let mut two = Store::open(&path).unwrap();
    let mut seen = std::collections::HashSet::new();
    for i in 0..6 {
        let store = if i % 2 == 0 { &mut one } else { &mut two };
        assert!(seen.insert(store.allocate("p", Request::Next, None).unwrap().first));
    }
    assert!(one.allocate("p", Request::Next, None).is_err());
}

pub(crate) fn reconcile_finds_conflicts_and_leaks(b: &Backend) {
    let mut store = store_with(b, "lab", "10.9.0.0/24");
    for a in ["10.9.0.10", "10.9.0.11", "10.9.0.12"] {
        store.allocate("lab", Request::Addr(a.parse().unwrap()), None).unwrap();
    }
    let seen =
        ipam_store::parse_seen("10.9.0.10\n10.9.0.11\n10.9.0.50\n10.9.0.51\n10.9.0.255\n192.168.1.1\n")
            .unwrap();
    let report = store.reconcile("lab", &seen).unwrap();
    assert_eq!(report.unrecorded, vec!["10.9.0.50".parse().unwrap()..="10.9.0.51".parse().unwrap()]);
    assert_eq!(report.unseen, vec!["10.9.0.12".parse().unwrap()..="10.9.0.12".parse().unwrap()]);
    assert_eq!((report.outside, report.recorded), (1, 3));
    assert_eq!(store.allocations("lab").unwrap().len(), 3, "leaks are reported, never freed");
}

pub(crate) fn applying_a_plan_creates_its_pools_once(b: &Backend) {
    let plan = ipam_plan::plan(&ipam_plan::Spec::for_gpus(1024)).unwrap();
    let mut store = b.fresh();
    let applied = store.apply(&plan).unwrap();
    assert_eq!(applied.created.len(), plan.segments.len() + plan.aggregates.len());
    assert_eq!(store.apply(&plan).unwrap().created.len(), 0);
    let rail = store.pool("backend-rail0").unwrap();
    assert_eq!(rail.def.parent.as_deref(), Some("backend"));
    let leaf = store.pool("backend-su03-rail0").unwrap();
    assert_eq!(leaf.def.parent.as_deref(), Some("backend-rail0"));
    for s in &plan.segments {
        assert_eq!(store.pool(&s.name).unwrap().stats.capacity, s.usable, "{}", s.name);
    }
    // A pool in the way, with other settings: nothing is applied.
    let mut other = b.fresh();
    other.add_pool(&PoolDef::new("storage", "192.168.0.0/24".parse().unwrap())).unwrap();
    assert!(matches!(other.apply(&plan), Err(Error::Apply { .. })));
    assert_eq!(other.pools().unwrap().len(), 1);
}

pub(crate) fn reconcile_names_owners_and_all_pools_at_once(b: &Backend) {
    let mut store = b.fresh();
    store
        .add_pool(&PoolDef { network_broadcast: false, ..PoolDef::new("dc", "10.9.0.0/24".parse().unwrap()) })
        .unwrap();
    store
        .add_pool(&PoolDef {
            parent: Some("dc".into()),
            ..PoolDef::new("rack", "10.9.0.128/25".parse().unwrap())
        })
        .unwrap();
    store.allocate("dc", Request::Addr("10.9.0.5".parse().unwrap()), Some("node-1")).unwrap();
    store.allocate("rack", Request::Next, Some("node-2")).unwrap();
    let seen = ipam_store::parse_seen("10.9.0.50\n10.9.0.200\n192.168.1.1\n").unwrap();
    let dc = store.reconcile("dc", &seen).unwrap();
    // 10.9.0.200 is in the rack's block: the rack's to report, not dc's.
    assert_eq!(dc.unrecorded, vec!["10.9.0.50".parse().unwrap()..="10.9.0.50".parse().unwrap()]);
    assert_eq!(dc.unseen_held.len(), 1);
    assert_eq!(dc.unseen_held[0].owner.as_deref(), Some("node-1"));
    let all = store.reconcile_all(&seen).unwrap();
    let rack = &all.pools.iter().find(|(name, _)| name == "rack").unwrap().1;
    assert_eq!(rack.unrecorded, vec!["10.9.0.200".parse().unwrap()..="10.9.0.200".parse().unwrap()]);
    assert_eq!(rack.unseen_held[0].owner.as_deref(), Some("node-2"));
    assert_eq!(all.outside, vec!["192.168.1.1".parse().unwrap()..="192.168.1.1".parse().unwrap()]);
}

pub(crate) fn pools_grow_and_shrink_in_place(b: &Backend) {
    let mut store = b.fresh();
    let net = |s: &str| s.parse::<ipnet::Ipv4Net>().unwrap();
    store.add_pool(&PoolDef { network_broadcast: false, ..PoolDef::new("dc", net("10.0.0.0/23")) }).unwrap();
    store
        .add_pool(&PoolDef { parent: Some("dc".into()), ..PoolDef::new("rack", net("10.0.0.0/26")) })
        .unwrap();
    store
        .add_pool(&PoolDef { parent: Some("rack".into()), ..PoolDef::new("node", net("10.0.0.32/28")) })
        .unwrap();
    store.add_pool(&PoolDef::new("other", net("10.0.4.0/24"))).unwrap();
    let a = store.allocate("rack", Request::Next, Some("server-1")).unwrap();
    let n = store.allocate("node", Request::Next, Some("pod-1")).unwrap();
    let d = store.allocate("dc", Request::Addr("10.0.1.200".parse().unwrap()), Some("far")).unwrap();
    let before = store.allocations("rack").unwrap();

    // Grow the rack inside its parent: its allocations and its child pool stay put.
    store.resize_pool("rack", net("10.0.0.0/25")).unwrap();
    assert_eq!(store.definition("rack").unwrap().cidr, net("10.0.0.0/25"));
    assert_eq!(store.allocations("rack").unwrap(), before);
    assert_eq!(store.allocations("node").unwrap(), vec![n.clone()]);
    assert_eq!(store.pool("rack").unwrap().stats.capacity, 126);
    assert!(
        store
            .allocations("dc")
            .unwrap()
            .iter()
            .any(|x| x.first == net("10.0.0.0/25").network() && x.owner.as_deref() == Some("pool:rack"))
    );
    // Shrink it back; then refusals, each changing nothing.
    store.resize_pool("rack", net("10.0.0.0/26")).unwrap();
    let state = store.export().unwrap();
    let refusals = [
        ("rack", "10.0.0.0/22", "parent"),            // outside its parent
        ("rack", "10.0.2.0/26", "contain"),           // neither holds the other
        ("rack", "10.0.0.0/27", "child pool `node`"), // a child pool lies outside
        ("dc", "10.0.0.0/24", "far"),                 // an allocation outside, named by its owner
        ("dc", "10.0.0.0/21", "other"),               // overlaps another root
        ("rack", "10.0.0.1/26", "host bits"),
    ];
    for (pool, cidr, says) in refusals {
        let cidr: ipnet::Ipv4Net = cidr.parse().unwrap();
        let err = store.resize_pool(pool, cidr).unwrap_err();
        assert!(matches!(err, Error::Resize { .. }), "{pool} {cidr}: {err}");
        assert!(err.to_string().contains(says), "{pool} {cidr}: {err}");
        assert_eq!(store.export().unwrap(), state, "{pool} {cidr} changed something");
    }
    let _ = (a, d);
    assert!(store.check().unwrap().is_empty());
    // A reservation that would land on an allocation: shrinking to the upper half moves the
    // gateway to 10.0.8.129, which node-1 holds.
    store.add_pool(&PoolDef::new("gw", net("10.0.8.0/24")).gateway(true)).unwrap();
    store.allocate("gw", Request::Addr("10.0.8.129".parse().unwrap()), Some("node-1")).unwrap();
    let state = store.export().unwrap();
    let err = store.resize_pool("gw", net("10.0.8.128/25")).unwrap_err();
    assert!(err.to_string().contains("10.0.8.129") && err.to_string().contains("reserved"), "{err}");
    assert_eq!(store.export().unwrap(), state);
}
