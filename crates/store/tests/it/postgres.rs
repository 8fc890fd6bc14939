//! What only the PostgreSQL backend promises: the database itself refuses duplicates, foreign
//! databases are left alone, passwords never show, and many processes share one pool.

use std::collections::HashSet;
use std::net::Ipv4Addr;
use std::process::Command;
use std::time::{Duration, Instant};

use ipam_store::{Error, PoolDef, Release, Request, Store};

use crate::backend::{database, server};

fn psql(url: &str) -> postgres::Client {
    postgres::Client::connect(url, postgres::NoTls).unwrap()
}

#[test]
fn the_database_refuses_overlaps_and_second_owners_typed_by_hand() {
    let Some(url) = database("pg_by_hand") else { return };
    let mut store = Store::open(&url).unwrap();
    store.add_pool(&PoolDef::new("lab", "10.9.0.0/24".parse().unwrap())).unwrap();
    store.allocate("lab", Request::Block(28), Some("rack-1")).unwrap();
    let mut client = psql(&url);
    let insert = |client: &mut postgres::Client, first: i64, last: i64, owner: &str| {
        client.execute(
            "INSERT INTO allocations (pool_id, first, last, shape, owner, created, checksum)
             SELECT id, $1, $2, 'range', $3, 0, 0 FROM pools WHERE name = 'lab'",
            &[&first, &last, &owner],
        )
    };
    let base = i64::from(u32::from("10.9.0.0".parse::<Ipv4Addr>().unwrap()));
    let overlap = insert(&mut client, base + 10, base + 20, "someone").unwrap_err();
    assert_eq!(overlap.code(), Some(&postgres::error::SqlState::EXCLUSION_VIOLATION), "{overlap}");
    let owner = insert(&mut client, base + 100, base + 100, "rack-1").unwrap_err();
    assert_eq!(owner.code(), Some(&postgres::error::SqlState::UNIQUE_VIOLATION), "{owner}");
    let outside = insert(&mut client, -1, 5, "x").unwrap_err();
    assert_eq!(outside.code(), Some(&postgres::error::SqlState::CHECK_VIOLATION), "{outside}");
    // A row the constraints let through but that ipam did not write is refused when read.
    insert(&mut client, base + 200, base + 200, "forged").unwrap();
    let err = store.find("10.9.0.200".parse().unwrap()).unwrap_err();
    assert!(matches!(err, Error::Damaged { .. }), "{err}");
}

#[test]
fn a_writer_passes_over_a_chunk_another_writer_holds() {
    let Some(url) = database("pg_skip_locked") else { return };
    let mut store = Store::open(&url).unwrap();
    store.add_pool(&PoolDef::new("wide", "10.70.0.0/15".parse().unwrap())).unwrap();
    // Another controller in the middle of a transaction on the first chunk (10.70.0.0/16).
    let mut other = psql(&url);
    let mut tx = other.transaction().unwrap();
    tx.execute("SELECT 1 FROM chunks WHERE idx = 0 FOR UPDATE", &[]).unwrap();
    let a = store.allocate("wide", Request::Next, Some("while-held")).unwrap();
    assert_eq!(a.to_string(), "10.71.0.0", "the second chunk, without waiting");
    tx.rollback().unwrap();
    // Having met another writer there, this controller keeps to the chunk it got, so that
    // controllers sharing a pool settle on different chunks.
    let b = store.allocate("wide", Request::Next, Some("after")).unwrap();
    assert_eq!(b.to_string(), "10.71.0.1", "the chunk it got");
    // Another controller, having met no one, takes first fit.
    let mut fresh = Store::open(&url).unwrap();
    let c = fresh.allocate("wide", Request::Next, Some("fresh")).unwrap();
    assert_eq!(c.to_string(), "10.70.0.1", "first fit once the chunk is free");
    assert!(store.check().unwrap().is_empty());
}

#[test]
fn a_database_that_is_not_ours_or_newer_is_left_untouched() {
    let Some(url) = database("pg_not_ours") else { return };
    psql(&url).batch_execute("CREATE TABLE pools (id int); INSERT INTO pools VALUES (7)").unwrap();
    let err = Store::open(&url).err().unwrap();
    assert!(matches!(err, Error::NotOurs { .. }), "{err}");
    let still: i64 = psql(&url).query_one("SELECT count(*) FROM pools", &[]).unwrap().get(0);
    assert_eq!(still, 1);

    let Some(url) = database("pg_newer") else { return };
    Store::open(&url).unwrap();
    psql(&url).batch_execute("UPDATE ipam_meta SET value = '99' WHERE key = 'schema_version'").unwrap();
    let err = Store::open(&url).err().unwrap();
    assert!(matches!(err, Error::NewerSchema { found: 99, .. }), "{err}");

    let Some(url) = database("pg_empty_read") else { return };
    assert!(matches!(Store::open_read_only(&url), Err(Error::NoStateFile { .. })));
    let tables: i64 = psql(&url)
        .query_one("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", &[])
        .unwrap()
        .get(0);
    assert_eq!(tables, 0, "a read creates nothing");
}

#[test]
fn the_password_never_shows() {
    let Some(url) = server() else {
        eprintln!("skipped: the_password_never_shows: set IPAM_TEST_POSTGRES");
        return;
    };
    // A server that is not there, and a role that is not there, each with a password.
    for bad in [
        "postgresql://ipam:Sup3rSecret@127.0.0.1:1/ipam".to_owned(),
        format!("{}&password=Sup3rSecret", crate::backend::with_database(&url, "no_such_db_here")),
    ] {
        let err = Store::open(&bad).err().unwrap();
        let text = format!("{err} / {err:?}");
        assert!(!text.contains("Sup3rSecret"), "{text}");
        assert!(matches!(err, Error::Unreachable { .. } | Error::Database(_)), "{text}");
    }
}

/// One worker process: `IPAM_WORKER=URL,POOL,ID,SECONDS` allocates from two threads until the
/// pool is exhausted (SECONDS = 0) or, releasing as it goes, for SECONDS; prints what it holds.
#[test]
fn worker() {
    let Ok(spec) = std::env::var("IPAM_WORKER") else { return };
    let parts: Vec<&str> = spec.split(',').collect();
    let (url, pool, id, seconds) = (parts[0], parts[1], parts[2], parts[3].parse::<u64>().unwrap());
    let threads: Vec<_> = (0..2)
        .map(|t| {
            let (url, pool) = (url.to_owned(), pool.to_owned());
            let me = format!("{id}-{t}");
            std::thread::spawn(move || work(&url, &pool, &me, seconds))
        })
        .collect();
    for t in threads {
        for a in t.join().unwrap() {
            println!("held {a}");
        }
    }
}

/// Allocates (and with `seconds`, releases every other one) and returns what it still holds.
fn work(url: &str, pool: &str, me: &str, seconds: u64) -> Vec<String> {
    let mut store = Store::open(url).unwrap();
    let until = Instant::now() + Duration::from_secs(seconds);
    let mut held: Vec<(String, Ipv4Addr)> = Vec::new();
    for i in 0.. {
        let owner = format!("{me}-{i}");
        match store.allocate(pool, Request::Next, Some(&owner)) {
            Ok(a) => held.push((owner, a.first)),
            Err(Error::Pool(ipam_core::Error::Exhausted { .. })) if seconds == 0 => break,
            Err(Error::Pool(ipam_core::Error::Exhausted { .. })) => {}
            Err(e) => panic!("{me}: {e}"),
        }
        if seconds > 0 {
            if i % 2 == 1 && !held.is_empty() {
                let (owner, _) = held.remove(0);
                store.release(pool, &Release::Owner(owner)).unwrap();
            }
            if Instant::now() > until {
                break;
            }
        }
    }
    held.into_iter().map(|(owner, a)| format!("{owner} {a}")).collect()
}

/// Runs 8 worker processes on one pool and checks: every address held once, and the rows are
/// exactly the union of what the workers hold.
fn eight_processes(name: &str, seconds: u64) {
    let Some(url) = database(name) else { return };
    let mut store = Store::open(&url).unwrap();
    store.add_pool(&PoolDef::new("small", "10.66.0.0/24".parse().unwrap())).unwrap();
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..8)
        .map(|p| {
            Command::new(&exe)
                .args(["--exact", "postgres::worker", "--nocapture", "--test-threads=1"])
                .env("IPAM_WORKER", format!("{url},small,w{p},{seconds}"))
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut held = std::collections::BTreeMap::new();
    let mut addresses = HashSet::new();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            // libtest may print its own "test ... " on the same line first.
            let Some(at) = line.find("held ") else { continue };
            let rest = &line[at + "held ".len()..];
            let (owner, addr) = rest.split_once(' ').unwrap();
            assert!(addresses.insert(addr.to_owned()), "{addr} handed out twice");
            held.insert(owner.to_owned(), addr.parse::<Ipv4Addr>().unwrap());
        }
    }
    let rows: std::collections::BTreeMap<String, Ipv4Addr> =
        store.allocations("small").unwrap().into_iter().map(|a| (a.owner.unwrap(), a.first)).collect();
    assert_eq!(rows, held, "the rows are what the workers hold");
    if seconds == 0 {
        assert_eq!(held.len(), 254, "every address of the /24, exactly once");
    }
    assert!(store.check().unwrap().is_empty());
}

#[test]
fn eight_processes_of_two_threads_exhaust_a_pool_and_get_each_address_once() {
    eight_processes("pg_exhaust", 0);
}

#[test]
fn eight_processes_allocating_and_releasing_agree_with_the_rows() {
    // 30 s as the issue asks; IPAM_CHURN_SECONDS shortens it for a quick local run.
    let seconds = std::env::var("IPAM_CHURN_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(30);
    eight_processes("pg_churn", seconds);
}

use crate::faults::survives;

#[test]
fn sessions_terminated_mid_transaction_leave_no_row_and_lose_nothing() {
    survives("pg_terminate", |url| {
        let mut admin = psql(url);
        for _ in 0..20 {
            admin
                .execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                     WHERE datname = current_database() AND pid <> pg_backend_pid()",
                    &[],
                )
                .unwrap();
            std::thread::sleep(Duration::from_millis(30));
        }
    });
}

/// Four controllers release the same 150 owners at once while two allocate: each release happens
/// once (the others find it gone), and no address freed twice is handed to a new owner's harm.
#[test]
fn racing_releases_of_one_allocation_free_it_once() {
    let Some(url) = database("pg_racing_releases") else { return };
    let mut store = Store::open(&url).unwrap();
    store.add_pool(&PoolDef::new("p", "10.80.0.0/24".parse().unwrap())).unwrap();
    let owners: Vec<String> = (0..150).map(|i| format!("old-{i}")).collect();
    let refs: Vec<&str> = owners.iter().map(String::as_str).collect();
    store.allocate_many("p", Request::Next, &refs).unwrap();
    let releasers: Vec<_> = (0..4)
        .map(|_| {
            let (url, owners) = (url.clone(), owners.clone());
            std::thread::spawn(move || {
                let mut store = Store::open(&url).unwrap();
                let mut released = 0;
                for owner in owners {
                    match store.release("p", &Release::Owner(owner)) {
                        Ok(_) => released += 1,
                        Err(Error::NoSuchAllocation { .. }) => {}
                        Err(e) => panic!("{e}"),
                    }
                }
                released
            })
        })
        .collect();
    let allocators: Vec<_> = (0..2)
        .map(|t| {
            let url = url.clone();
            std::thread::spawn(move || {
                let mut store = Store::open(&url).unwrap();
                for i in 0..50 {
                    store.allocate("p", Request::Next, Some(&format!("new-{t}-{i}"))).unwrap();
                }
            })
        })
        .collect();
    let released: usize = releasers.into_iter().map(|h| h.join().unwrap()).sum();
    allocators.into_iter().for_each(|h| h.join().unwrap());
    assert_eq!(released, 150, "every allocation released exactly once");
    let rows = store.allocations("p").unwrap();
    assert_eq!(rows.len(), 100);
    assert!(store.check().unwrap().is_empty(), "{:?}", store.check());
    assert_eq!(store.pool("p").unwrap().stats.allocated, 100);
}
