//! The state engine's promises beyond single commands: readers never wait for a writer, and
//! files of earlier versions are upgraded (version 1 with every check an import makes).

use std::time::{Duration, Instant};

use ipam_store::{Error, PoolDef, Request, Store};
use rusqlite::Connection;

#[test]
fn a_reader_finishes_while_a_writer_holds_the_lock() {
    let dir = super::scratch("reader-vs-writer");
    let path = dir.join("state.db");
    let mut store = Store::open(&path).unwrap();
    store.add_pool(&PoolDef::new("p", "10.0.0.0/24".parse().unwrap())).unwrap();
    store.allocate("p", Request::Next, Some("node-1")).unwrap();
    // Another process's write transaction, holding the write lock until we let go.
    let writer = Connection::open(&path).unwrap();
    writer.execute_batch("BEGIN IMMEDIATE; UPDATE pools SET changes = changes WHERE 0;").unwrap();
    let started = Instant::now();
    let reader = Store::open_read_only(&path).unwrap();
    assert_eq!(reader.allocations("p").unwrap().len(), 1);
    assert_eq!(reader.pools().unwrap().len(), 1);
    assert_eq!(reader.export().unwrap().pools.len(), 1);
    assert!(started.elapsed() < Duration::from_secs(30), "the reader waited for the writer");
    // A write through the read-only store is refused, never attempted.
    let mut reader = reader;
    assert!(reader.allocate("p", Request::Next, None).is_err());
    writer.execute_batch("ROLLBACK").unwrap();
}

#[test]
fn reading_a_missing_file_creates_nothing() {
    let dir = super::scratch("missing");
    let path = dir.join("typo.db");
    assert!(matches!(Store::open_read_only(&path), Err(Error::NoStateFile { .. })));
    assert!(std::fs::read_dir(&dir).unwrap().next().is_none(), "something was created");
}

/// A version 1 file, written with version 1's own schema and rows.
fn v1_file(path: &std::path::Path, extra: &str) {
    let conn = Connection::open(path).unwrap();
    conn.execute_batch(include_str!("../fixtures/schema-v1.sql")).unwrap();
    conn.execute_batch(&format!(
        "PRAGMA application_id = 1229996365; PRAGMA user_version = 1;
         INSERT INTO pools (id, name, network, prefix_len, reserve_gateway, reserve_network_broadcast, policy, parent_id, cursor, changes)
           VALUES (1, 'dc', 167772160, 16, 1, 1, 'first-fit', NULL, 167772160, 3),
                  (2, 'rack', 167773184, 24, 0, 1, 'round-robin', 1, 167773194, 1);
         INSERT INTO exclusions (pool_id, network, prefix_len) VALUES (1, 167823360, 24);
         INSERT INTO allocations (pool_id, first, last, shape, owner, created) VALUES
           (1, 167773184, 167773439, 'block', 'pool:rack', 1700000000),
           (1, 167772162, 167772162, 'addr', 'gpu-node-001', 1700000001),
           (2, 167773185, 167773187, 'range', NULL, 1700000002);
         {extra}"
    ))
    .unwrap();
}

#[test]
fn a_version_1_file_is_upgraded_with_its_allocations() {
    let dir = super::scratch("upgrade");
    let path = dir.join("state.db");
    v1_file(&path, "");
    let mut store = Store::open(&path).unwrap();
    let export = store.export().unwrap();
    let names: Vec<_> = export.pools.iter().map(|p| p.def.name.as_str()).collect();
    assert_eq!(names, ["dc", "rack"]);
    assert_eq!(export.pools[0].def.exclusions, ["10.0.200.0/24".parse().unwrap()]);
    assert_eq!(export.pools[0].allocations.len(), 2);
    assert_eq!(export.pools[1].allocations[0].to_string(), "10.0.4.1-10.0.4.3");
    assert_eq!(export.pools[1].cursor.to_string(), "10.0.4.10");
    assert!(store.check().unwrap().is_empty());
    // The allocator knows what version 1 recorded.
    assert_eq!(store.allocate("dc", Request::Next, None).unwrap().first.to_string(), "10.0.0.3");
    assert_eq!(
        store.allocate("dc", Request::Next, Some("gpu-node-001")).unwrap().first.to_string(),
        "10.0.0.2"
    );
}

#[test]
fn a_version_2_file_gains_the_pools_owner_index_read_only_or_not() {
    let dir = super::scratch("upgrade-v2");
    let path = dir.join("state.db");
    let mut store = Store::open(&path).unwrap();
    store.add_pool(&PoolDef::new("p", "10.0.0.0/24".parse().unwrap())).unwrap();
    store.allocate("p", Request::Next, Some("node-1")).unwrap();
    drop(store);
    // Version 2 is version 3 without that index.
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch("DROP INDEX allocations_by_pool_owner; PRAGMA user_version = 2;").unwrap();
    drop(conn);
    let reader = Store::open_read_only(&path).unwrap();
    assert_eq!(reader.allocations("p").unwrap()[0].owner.as_deref(), Some("node-1"));
    let conn = Connection::open(&path).unwrap();
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    let index: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_schema WHERE name = 'allocations_by_pool_owner'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!((version, index), (3, 1));
    let mut store = Store::open(&path).unwrap();
    assert!(store.check().unwrap().is_empty());
    assert_eq!(store.allocate("p", Request::Next, None).unwrap().first.to_string(), "10.0.0.2");
}

#[test]
fn a_damaged_version_1_file_is_refused_and_kept() {
    let dir = super::scratch("upgrade-refused");
    let path = dir.join("state.db");
    // Two allocations over one address: version 1 never checked its rows on open.
    v1_file(
        &path,
        "INSERT INTO allocations (pool_id, first, last, shape, owner, created) VALUES (2, 167773186, 167773190, 'range', NULL, 0);",
    );
    let err = Store::open(&path).err().unwrap();
    assert!(matches!(err, Error::Import { .. }), "{err}");
    let conn = Connection::open(&path).unwrap();
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    let rows: i64 = conn.query_row("SELECT count(*) FROM allocations", [], |r| r.get(0)).unwrap();
    assert_eq!((version, rows), (1, 4), "the file changed");
}

pub(crate) fn cooling_blocks_survive_export_and_import_and_prefix_releases_spare_child_pools(
    b: &crate::backend::Backend,
) {
    let mut store = b.fresh();
    store.set_clock(|| 1_000);
    store.add_pool(&PoolDef::new("rail", "10.0.0.0/24".parse().unwrap())).unwrap();
    let child = PoolDef {
        parent: Some("rail".into()),
        ..PoolDef::new("rail.node-a", "10.0.0.128/26".parse().unwrap())
    };
    store.add_pool(&child).unwrap();
    store.allocate_many("rail", Request::Next, &["pod-1", "pod-2"]).unwrap();
    store.release_cooling("rail", &ipam_store::Release::Owner("pod-1".into()), 30).unwrap();
    // A prefix that every owner matches releases neither the child's block nor the cooling one.
    let gone = store.release_owned("rail", "", |_| false, 0).unwrap();
    assert_eq!(gone.iter().map(|a| a.owner.clone().unwrap()).collect::<Vec<_>>(), ["pod-2"]);
    assert!(store.check().unwrap().is_empty());
    // The cooling block travels through an export.
    let export = store.export().unwrap();
    let mut copy = b.fresh();
    copy.import(&ipam_store::Export::from_json(&export.to_json()).unwrap()).unwrap();
    assert_eq!(copy.export().unwrap(), export);
    // A forged cooldown owner is refused.
    let forged = export.to_json().replace("cooldown:00000000000000001030:", "cooldown:soon:");
    let err = b.fresh().import(&ipam_store::Export::from_json(&forged).unwrap()).unwrap_err();
    assert!(matches!(err, Error::Import { .. }), "{err}");
}
