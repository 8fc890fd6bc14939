//! Inputs the fuzz targets found, kept as ordinary tests, each with the bug it showed.

use ipam_store::{Error, Export, Store};

/// `import` fuzz target: an allocation whose last address comes before its first made the
/// error message itself panic (the block's size was computed as `last - first + 1`, which
/// underflowed while formatting "... is empty or overlaps another allocation").
#[test]
fn an_allocation_ending_before_it_starts_is_refused_not_a_panic() {
    let text = r#"{"ipam_state": 1, "pools": [{"def": {"name": "dc", "cidr": "10.0.0.0/16", "gateway": false,
        "network_broadcast": true, "exclusions": [], "policy": "first-fit", "parent": null},
        "cursor": "10.0.0.0", "allocations": [{"first": "10.0.0.127", "last": "10.0.0.64",
        "shape": "block", "owner": null, "created": 0}]}]}"#;
    let mut store = Store::open_in_memory().unwrap();
    let err = store.import(&Export::from_json(text).unwrap()).unwrap_err();
    assert!(matches!(err, Error::Import { .. }), "{err:?}");
    assert!(err.to_string().contains("10.0.0.127-10.0.0.64"), "{err}");
}
