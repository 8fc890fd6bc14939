//! Export then import into an empty file gives the same state.

use ipam_core::strategies::aligned_net;
use ipam_store::{Export, PoolDef, Request, Store};
use proptest::prelude::*;

fn request() -> impl Strategy<Value = (Request, Option<String>)> {
    let shape = prop_oneof![
        Just(Request::Next),
        (26u8..=32).prop_map(Request::Block),
        (1u32..20).prop_map(Request::Range)
    ];
    (shape, proptest::option::of("[a-z0-9:,\" -]{1,12}"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn export_then_import_is_the_same_state(
        net in aligned_net(20..=28),
        child in any::<bool>(),
        requests in proptest::collection::vec(request(), 0..40),
        gateway in any::<bool>(),
    ) {
        let mut store = Store::open_in_memory().unwrap();
        store.add_pool(&PoolDef::new("root", net).gateway(gateway)).unwrap();
        let mut pools = vec!["root"];
        if child && net.prefix_len() < 28 {
            let block = store.allocate("root", Request::Block(net.prefix_len() + 2), None).unwrap();
            store.release("root", &ipam_store::Release::Block(format!("{block}").parse().unwrap())).unwrap();
            let def = PoolDef { parent: Some("root".into()), ..PoolDef::new("child", format!("{block}").parse().unwrap()) };
            store.add_pool(&def).unwrap();
            pools.push("child");
        }
        for (i, (request, owner)) in requests.into_iter().enumerate() {
            let _ = store.allocate(pools[i % pools.len()], request, owner.as_deref());
        }
        let export = store.export().unwrap();
        let json = export.to_json();
        let mut copy = Store::open_in_memory().unwrap();
        copy.import(&Export::from_json(&json).unwrap()).unwrap();
        prop_assert_eq!(copy.export().unwrap(), export);
        // Importing the same pools again is refused as a whole.
        prop_assert!(copy.import(&Export::from_json(&json).unwrap()).is_err());
    }
}

pub(crate) fn hostile_imports_are_refused_whole(b: &crate::backend::Backend) {
    let mut store = b.fresh();
    store.add_pool(&PoolDef::new("lab", "10.9.0.0/24".parse().unwrap())).unwrap();
    store.allocate("lab", Request::Next, Some("a")).unwrap();
    let good = store.export().unwrap().to_json();
    let breakages: [(&str, &str); 6] = [
        ("\"first\": \"10.9.0.1\"", "\"first\": \"10.10.0.1\""),
        ("\"last\": \"10.9.0.1\"", "\"last\": \"10.9.0.0\""),
        ("\"name\": \"lab\"", "\"name\": \"../lab\""),
        ("\"ipam_state\": 2", "\"ipam_state\": 3"),
        ("\"created\": \"", "\"created\": \"x"),
        ("\"owner\": \"a\"", "\"owner\": \"a\", \"extra\": 1"),
    ];
    for (from, to) in breakages {
        assert!(good.contains(from), "{from}");
        let bad = good.replace(from, to);
        let mut empty = b.fresh();
        let result = Export::from_json(&bad).and_then(|e| empty.import(&e));
        assert!(result.is_err(), "{to} was imported");
        assert!(empty.pools().unwrap().is_empty(), "{to}: half imported");
    }
    for text in ["", "null", "[]", "{\"ipam_state\": 2}", "\u{feff}{}", "\0"] {
        assert!(Export::from_json(text).is_err(), "{text:?}");
    }
}

/// What the allocator would refuse, an import refuses too, naming the pool and the record.
pub(crate) fn imports_are_checked_as_the_allocator_checks(b: &crate::backend::Backend) {
    let pool = |name: &str, cidr: &str, parent: &str, allocations: &str| {
        format!(
            r#"{{"def": {{"name": "{name}", "cidr": "{cidr}", "gateway": false, "network_broadcast": true,
               "exclusions": [], "policy": "first-fit", "parent": {parent}}}, "cursor": "{}",
               "allocations": [{allocations}]}}"#,
            cidr.split('/').next().unwrap()
        )
    };
    let alloc = |first: &str, last: &str, shape: &str, owner: &str, created: &str| {
        format!(
            r#"{{"first": "{first}", "last": "{last}", "shape": "{shape}", "owner": {owner}, "created": {created}}}"#
        )
    };
    let file = |pools: &[String]| format!(r#"{{"ipam_state": 1, "pools": [{}]}}"#, pools.join(","));
    let cases = [
        // An `addr` record covering 11 addresses could never be released.
        (
            file(&[pool("p", "10.0.0.0/24", "null", &alloc("10.0.0.1", "10.0.0.11", "addr", "null", "0"))]),
            "allocation 1",
        ),
        // A `block` that is not an aligned power of two.
        (
            file(&[pool("p", "10.0.0.0/24", "null", &alloc("10.0.0.4", "10.0.0.9", "block", "null", "0"))]),
            "aligned",
        ),
        // Two allocations for one owner.
        (
            file(&[pool(
                "p",
                "10.0.0.0/24",
                "null",
                &[
                    alloc("10.0.0.1", "10.0.0.1", "addr", "\"x\"", "0"),
                    alloc("10.0.0.2", "10.0.0.2", "addr", "\"x\"", "0"),
                ]
                .join(","),
            )]),
            "allocation 2",
        ),
        // A creation time the file cannot store.
        (
            file(&[pool(
                "p",
                "10.0.0.0/24",
                "null",
                &alloc("10.0.0.1", "10.0.0.1", "addr", "null", "9223372036854775808"),
            )]),
            "created",
        ),
        // A child pool's record in a pool that is not its parent.
        (
            file(&[
                pool(
                    "a",
                    "10.0.0.0/16",
                    "null",
                    &alloc("10.0.4.0", "10.0.4.255", "block", "\"pool:c\"", "0"),
                ),
                pool(
                    "b",
                    "10.1.0.0/16",
                    "null",
                    &alloc("10.1.4.0", "10.1.4.255", "block", "\"pool:c\"", "0"),
                ),
                pool("c", "10.0.4.0/24", "\"a\"", ""),
            ]),
            "pool `b`, allocation 1",
        ),
        // A child pool its parent does not record.
        (
            file(&[pool("a", "10.0.0.0/16", "null", ""), pool("c", "10.0.4.0/24", "\"a\"", "")]),
            "not recorded",
        ),
    ];
    for (text, expected) in cases {
        let mut store = b.fresh();
        let err = Export::from_json(&text).and_then(|e| store.import(&e)).unwrap_err();
        assert!(matches!(err, ipam_store::Error::Import { .. }), "{err:?}");
        assert!(err.to_string().contains(expected), "{err} should say {expected}");
        assert!(store.pools().unwrap().is_empty(), "half imported: {err}");
    }
}

/// Format version 1 (creation times as seconds since the epoch) still imports, and exports as
/// version 2 with RFC 3339 times.
#[test]
fn a_version_1_export_imports_and_times_read_as_rfc_3339() {
    let v1 = r#"{"ipam_state": 1, "pools": [{"def": {"name": "lab", "cidr": "10.9.0.0/24",
        "gateway": false, "network_broadcast": true, "exclusions": [], "policy": "first-fit",
        "parent": null}, "cursor": "10.9.0.0", "allocations": [{"first": "10.9.0.5",
        "last": "10.9.0.5", "shape": "addr", "owner": "a", "created": 1796204592}]}]}"#;
    let mut store = Store::open_in_memory().unwrap();
    store.import(&Export::from_json(v1).unwrap()).unwrap();
    let json = store.export().unwrap().to_json();
    assert!(
        json.contains("\"ipam_state\": 2") && json.contains("\"created\": \"2026-12-02T09:43:12Z\""),
        "{json}"
    );
    assert_eq!(store.allocations("lab").unwrap()[0].created, 1_796_204_592);
    assert!(store.export().unwrap().to_csv().ends_with(",2026-12-02T09:43:12Z\n"));
}

pub(crate) fn merging_adds_to_pools_of_the_same_definition_all_or_nothing(b: &crate::backend::Backend) {
    let mut from = b.fresh();
    from.add_pool(&PoolDef::new("lab", "10.9.0.0/24".parse().unwrap())).unwrap();
    from.add_pool(&PoolDef::new("new", "10.7.0.0/24".parse().unwrap())).unwrap();
    from.allocate("lab", Request::Next, Some("node-1")).unwrap();
    from.allocate("new", Request::Next, Some("cam-1")).unwrap();
    let export = from.export().unwrap();

    let mut into = b.fresh();
    into.add_pool(&PoolDef::new("lab", "10.9.0.0/24".parse().unwrap())).unwrap();
    into.allocate("lab", Request::Addr("10.9.0.9".parse().unwrap()), Some("node-9")).unwrap();
    assert!(into.import(&export).is_err(), "a plain import refuses an existing pool");
    into.import_merging(&export).unwrap();
    assert_eq!(into.allocations("lab").unwrap().len(), 2);
    assert_eq!(into.allocations("new").unwrap().len(), 1);
    into.import_merging(&export).unwrap();
    assert_eq!(into.allocations("lab").unwrap().len(), 2, "merging again adds nothing");

    // An owner holding something else, an address taken, a pool defined otherwise: refused whole.
    let mut other = b.fresh();
    other.add_pool(&PoolDef::new("lab", "10.9.0.0/24".parse().unwrap())).unwrap();
    other.allocate("lab", Request::Addr("10.9.0.20".parse().unwrap()), Some("node-1")).unwrap();
    let err = other.import_merging(&export).unwrap_err();
    assert!(err.to_string().contains("node-1"), "{err}");
    assert!(other.pools().unwrap().len() == 1, "nothing half-merged");
    let mut taken = b.fresh();
    taken.add_pool(&PoolDef::new("lab", "10.9.0.0/24".parse().unwrap())).unwrap();
    taken.allocate("lab", Request::Next, Some("someone")).unwrap();
    assert!(taken.import_merging(&export).is_err());
    let mut wider = b.fresh();
    wider.add_pool(&PoolDef::new("lab", "10.9.0.0/24".parse().unwrap()).gateway(true)).unwrap();
    let err = wider.import_merging(&export).unwrap_err();
    assert!(err.to_string().contains("other settings"), "{err}");
}
