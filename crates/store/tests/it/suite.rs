//! The shared suite: every test here runs on every backend (go-ipam's `pkg/test/suite` is the
//! model). A test takes the [`Backend`] and makes its stores with it.

use ipam_store::{Error, Export, PoolDef, Release, Request, Store};

use crate::backend::{Backend, on_every_backend};

on_every_backend! {
    pools::every_request_shape_is_recorded_and_released,
    pools::owners_are_idempotent_and_exclusive,
    pools::round_robin_cursor_survives_reopening,
    pools::child_pools_are_blocks_of_their_parent,
    pools::bad_pools_are_refused_with_their_reason,
    pools::a_failed_allocation_leaves_file_and_memory_as_they_were,
    pools::another_connection_sees_changes_and_the_cache_follows,
    pools::reconcile_finds_conflicts_and_leaks,
    pools::reconcile_names_owners_and_all_pools_at_once,
    pools::pools_grow_and_shrink_in_place,
    pools::applying_a_plan_creates_its_pools_once,
    apply::aggregates_are_containers_counting_their_children,
    apply::an_assigned_plan_is_recorded_with_interface_owners,
    apply::leaf_ends_are_kept_without_assign_and_a_grown_plan_adds_only_what_is_new,
    apply::a_plan_that_moves_something_is_refused_whole,
    round_trip::hostile_imports_are_refused_whole,
    round_trip::imports_are_checked_as_the_allocator_checks,
    round_trip::merging_adds_to_pools_of_the_same_definition_all_or_nothing,
    engine::cooling_blocks_survive_export_and_import_and_prefix_releases_spare_child_pools,
    suite::lookups_bulk_owners_and_the_deep_check_agree,
    suite::an_export_imports_into_the_other_backend_unchanged,
    suite::large_pools_span_chunks_and_carve_node_blocks,
}

pub(crate) fn lookups_bulk_owners_and_the_deep_check_agree(b: &Backend) {
    let mut store = b.fresh();
    store.add_pool(&PoolDef::new("rail0", "10.8.0.0/22".parse().unwrap())).unwrap();
    let owners: Vec<String> = (0..300).map(|i| format!("pod-{i:03}")).collect();
    let refs: Vec<&str> = owners.iter().map(String::as_str).collect();
    let claims = store.allocate_many("rail0", Request::Next, &refs).unwrap();
    assert_eq!(claims.len(), 300);
    assert!(claims.iter().all(|c| c.fresh));
    let again = store.allocate_many("rail0", Request::Next, &refs).unwrap();
    assert!(again.iter().all(|c| !c.fresh), "idempotent");
    let held = store.find_owner("pod-123").unwrap();
    assert_eq!(held.len(), 1);
    let found = store.find(held[0].allocation.first).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(store.pools().unwrap()[0].allocated, 300);
    store.release("rail0", &Release::Owner("pod-123".into())).unwrap();
    assert!(store.find_owner("pod-123").unwrap().is_empty());
    assert!(store.check().unwrap().is_empty());
    let reader = Store::open_read_only(store_location(b, &store)).unwrap();
    assert_eq!(reader.pools().unwrap()[0].allocated, 299);
}

/// The location a test opened `store` at, to open it again (a URL keeps its password only here).
fn store_location(b: &Backend, store: &Store) -> String {
    match b {
        Backend::Sqlite(_) => store.location(),
        Backend::Postgres(_, url) => crate::backend::with_database(url, &database_of(&store.location())),
    }
}

fn database_of(location: &str) -> String {
    let base = location.split('?').next().unwrap_or(location);
    base.rsplit('/').next().unwrap_or_default().to_owned()
}

pub(crate) fn an_export_imports_into_the_other_backend_unchanged(b: &Backend) {
    let mut store = b.fresh();
    store.set_clock(|| 1_700_000_000);
    store.add_pool(&PoolDef::new("dc", "10.0.0.0/16".parse().unwrap())).unwrap();
    store
        .add_pool(&PoolDef {
            parent: Some("dc".into()),
            ..PoolDef::new("r1", "10.0.4.0/24".parse().unwrap())
        })
        .unwrap();
    store.allocate("r1", Request::Range(7), Some("rack")).unwrap();
    store.allocate("dc", Request::Block(26), Some("svc")).unwrap();
    store.allocate("dc", Request::Addr("10.0.200.1".parse().unwrap()), None).unwrap();
    let export = store.export().unwrap();
    let mut sqlite = Store::open_in_memory().unwrap();
    sqlite.import(&Export::from_json(&export.to_json()).unwrap()).unwrap();
    assert_eq!(sqlite.export().unwrap(), export);
    let mut back = b.fresh();
    back.import(&sqlite.export().unwrap()).unwrap();
    assert_eq!(back.export().unwrap(), export);
    assert!(matches!(back.import(&export), Err(Error::PoolExists { .. } | Error::Import { .. })));
}

pub(crate) fn large_pools_span_chunks_and_carve_node_blocks(b: &Backend) {
    let mut store = b.fresh();
    store.add_pool(&PoolDef::new("big", "10.0.0.0/12".parse().unwrap())).unwrap();
    let block = store.allocate("big", Request::Block(14), Some("half")).unwrap();
    assert_eq!(block.to_string(), "10.4.0.0/14", "the first /14 holds the reserved network address");
    let next = store.allocate("big", Request::Next, None).unwrap();
    assert_eq!(next.to_string(), "10.0.0.1");
    let shape = |block| PoolDef::new("-", block);
    let a = store.carve_pool("big", "big.node-a", 24, shape).unwrap();
    assert_eq!(store.carve_pool("big", "big.node-a", 24, shape).unwrap(), a);
    store.release("big", &Release::Owner("half".into())).unwrap();
    assert_eq!(store.pool("big").unwrap().stats.allocated, 1 + 256);
    assert!(store.check().unwrap().is_empty());
}
