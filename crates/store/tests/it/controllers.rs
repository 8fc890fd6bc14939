//! Long-lived controllers on PostgreSQL keep their pools in memory between calls and allocate in
//! one statement: each must see what the others changed, and the rules of the transaction path
//! (owners, cooled blocks, schema versions) must hold as they did.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use ipam_core::strategies::aligned_net;
use ipam_core::{Policy, Pool};
use ipam_store::{PoolDef, Release, Request, Store};
use proptest::prelude::*;

use crate::backend::database;

fn psql(url: &str) -> postgres::Client {
    postgres::Client::connect(url, postgres::NoTls).unwrap()
}

#[derive(Clone, Debug)]
enum Op {
    Next,
    Block(u8),
    /// Release the allocation at this index (modulo how many there are).
    Release(usize),
}

fn ops(net: ipnet::Ipv4Net) -> impl Strategy<Value = Vec<(bool, Op)>> {
    let len = net.prefix_len();
    let op = prop_oneof![
        4 => Just(Op::Next),
        2 => (len..=30).prop_map(Op::Block),
        3 => any::<usize>().prop_map(Op::Release),
    ];
    proptest::collection::vec((any::<bool>(), op), 1..50)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// Two controllers take turns on one first-fit pool (up to 8 chunks), each keeping it in
    /// memory. With nobody holding a chunk meanwhile, every answer is the whole pool's first fit:
    /// what a controller's copy missed, the claim's version and policy checks catch.
    #[test]
    fn two_controllers_taking_turns_answer_as_one_pool((net, ops) in aligned_net(13..=20).prop_flat_map(|n| (Just(n), ops(n)))) {
        let Some(url) = database("pg_two_controllers") else { return Ok(()) };
        let mut stores = [Store::open(&url).unwrap(), Store::open(&url).unwrap()];
        let def = PoolDef::new("p", net);
        stores[0].add_pool(&def).unwrap();
        let mut whole = Pool::builder(net).reserve_gateway(def.gateway)
            .reserve_network_broadcast(def.network_broadcast).policy(Policy::FirstFit).build().unwrap();
        let mut held = Vec::new();
        for (second, op) in ops {
            let store = &mut stores[usize::from(second)];
            match op {
                Op::Next => {
                    let ours = store.allocate("p", Request::Next, None).map(|a| a.first);
                    let theirs = whole.allocate();
                    prop_assert_eq!(ours.as_ref().ok(), theirs.as_ref().ok(), "{:?}", ours);
                    if let Ok(a) = ours { held.push(Release::Addr(a)); }
                }
                Op::Block(len) => {
                    let ours = store.allocate("p", Request::Block(len), None).map(|a| (a.first, a.last));
                    let theirs = whole.allocate_block(len).map(|b| (b.network(), b.broadcast()));
                    prop_assert_eq!(ours.as_ref().ok(), theirs.as_ref().ok(), "{:?}", ours);
                    if let Ok((first, last)) = ours {
                        held.push(Release::Block(ipnet::Ipv4Net::new(first, len).unwrap()));
                        prop_assert!(last >= first);
                    }
                }
                Op::Release(i) => {
                    if held.is_empty() { continue; }
                    let target = held.swap_remove(i % held.len());
                    let gone = store.release("p", &target).unwrap();
                    whole.release_range(gone[0].first..=gone[0].last).unwrap();
                }
            }
        }
        prop_assert!(stores[0].check().unwrap().is_empty());
        prop_assert_eq!(stores[1].allocations("p").unwrap().len(), held.len());
    }
}

#[test]
fn a_controller_sees_releases_made_elsewhere_and_by_itself() {
    let Some(url) = database("pg_controller_fresh") else { return };
    let (mut a, mut b) = (Store::open(&url).unwrap(), Store::open(&url).unwrap());
    a.add_pool(&PoolDef::new("p", "10.60.0.0/24".parse().unwrap())).unwrap();
    let first = a.allocate("p", Request::Next, None).unwrap().first;
    let second = b.allocate("p", Request::Next, None).unwrap().first;
    assert_eq!(a.allocate("p", Request::Next, None).unwrap().to_string(), "10.60.0.3");
    b.release("p", &Release::Addr(second)).unwrap();
    assert_eq!(a.allocate("p", Request::Next, None).unwrap().first, second, "freed by the other");
    a.release("p", &Release::Addr(first)).unwrap();
    assert_eq!(a.allocate("p", Request::Next, None).unwrap().first, first, "freed by itself");
    // A pool removed and made again under the same name is a new pool to the controller.
    for store in [&mut a, &mut b] {
        for held in store.allocations("p").unwrap() {
            store.release("p", &Release::Addr(held.first)).unwrap();
        }
    }
    b.remove_pool("p", false).unwrap();
    b.add_pool(&PoolDef::new("p", "10.61.0.0/24".parse().unwrap())).unwrap();
    assert_eq!(a.allocate("p", Request::Next, None).unwrap().to_string(), "10.61.0.1");
    assert!(a.check().unwrap().is_empty());
}

#[test]
fn an_owner_claiming_again_gets_what_it_holds_and_cooled_blocks_come_back_on_time() {
    let Some(url) = database("pg_controller_rules") else { return };
    let now = Arc::new(AtomicU64::new(1_000));
    let mut a = Store::open(&url).unwrap();
    let clock = now.clone();
    a.set_clock(move || clock.load(Ordering::Relaxed));
    a.add_pool(&PoolDef::new("rail0", "10.62.0.0/29".parse().unwrap())).unwrap();
    let pod = a.allocate("rail0", Request::Next, Some("pod-a/net1")).unwrap();
    assert_eq!(a.allocate("rail0", Request::Next, Some("pod-a/net1")).unwrap(), pod, "idempotent");
    let err = a.allocate("rail0", Request::Block(30), Some("pod-a/net1")).unwrap_err();
    assert!(matches!(err, ipam_store::Error::OwnerHoldsOther { .. }), "{err}");
    // Another controller releases it with a cooldown; this one must not hand it out meanwhile,
    // and must free it (first fit) once the cooldown is over.
    let mut b = Store::open(&url).unwrap();
    b.set_clock(|| 1_000);
    b.release_cooling("rail0", &Release::Owner("pod-a/net1".into()), 30).unwrap();
    assert_ne!(a.allocate("rail0", Request::Next, Some("pod-b/net1")).unwrap().first, pod.first);
    now.store(1_030, Ordering::Relaxed);
    assert_eq!(a.allocate("rail0", Request::Next, Some("pod-c/net1")).unwrap().first, pod.first);
    assert!(a.check().unwrap().is_empty());
}

#[test]
fn a_schema_2_database_is_read_as_it_is_and_upgraded_by_the_first_writer() {
    let Some(url) = database("pg_schema_2") else { return };
    let mut store = Store::open(&url).unwrap();
    store.add_pool(&PoolDef::new("p", "10.63.0.0/24".parse().unwrap())).unwrap();
    let a = store.allocate("p", Request::Next, Some("a")).unwrap();
    drop(store);
    // Back to what ipam wrote before chunk versions.
    psql(&url)
        .batch_execute(
            "DROP TRIGGER chunk_versions ON chunks; DROP FUNCTION chunk_new_version();
             ALTER TABLE chunks DROP COLUMN version; DROP SEQUENCE chunk_versions;
             UPDATE ipam_meta SET value = '2' WHERE key = 'schema_version'",
        )
        .unwrap();
    let version = |url: &str| -> String {
        psql(url).query_one("SELECT value FROM ipam_meta WHERE key = 'schema_version'", &[]).unwrap().get(0)
    };
    let reader = Store::open_read_only(&url).unwrap();
    assert_eq!(reader.allocations("p").unwrap(), vec![a.clone()]);
    assert_eq!(version(&url), "2", "a reader changes nothing");
    let mut writer = Store::open(&url).unwrap();
    assert_eq!(version(&url), "3");
    assert_eq!(writer.allocate("p", Request::Next, Some("a")).unwrap(), a);
    assert_eq!(writer.allocate("p", Request::Next, Some("b")).unwrap().to_string(), "10.63.0.2");
    assert!(writer.check().unwrap().is_empty());
    // A chunk written by anyone, even an ipam from before the upgrade that does not know the
    // column, gets a new version: a controller's copy of it is then stale, not silently wrong.
    let mut client = psql(&url);
    let before: i64 = client.query_one("SELECT version FROM chunks WHERE idx = 0", &[]).unwrap().get(0);
    client.execute("UPDATE chunks SET used = used WHERE idx = 0", &[]).unwrap();
    let after: i64 = client.query_one("SELECT version FROM chunks WHERE idx = 0", &[]).unwrap().get(0);
    assert_ne!(before, after);
}

#[test]
fn a_read_only_store_allocates_nothing() {
    let Some(url) = database("pg_controller_read_only") else { return };
    Store::open(&url).unwrap().add_pool(&PoolDef::new("p", "10.64.0.0/24".parse().unwrap())).unwrap();
    let mut reader = Store::open_read_only(&url).unwrap();
    assert!(reader.allocate("p", Request::Next, None).is_err());
    assert!(reader.allocations("p").unwrap().is_empty());
}

#[test]
fn a_chunk_freed_elsewhere_is_the_policys_choice_again() {
    // The controller's view of chunks it did not try is old, but the claim checks them.
    let Some(url) = database("pg_controller_policy") else { return };
    let (mut a, mut b) = (Store::open(&url).unwrap(), Store::open(&url).unwrap());
    for (name, policy) in [("first", Policy::FirstFit), ("best", Policy::BestFit)] {
        let net = if policy == Policy::FirstFit { "10.64.0.0/14" } else { "10.68.0.0/14" };
        a.add_pool(&PoolDef { policy, ..PoolDef::new(name, net.parse().unwrap()) }).unwrap();
        let first = a.allocate(name, Request::Block(17), None).unwrap();
        let second = a.allocate(name, Request::Block(17), None).unwrap();
        b.release(name, &Release::Block(ipnet::Ipv4Net::new(first.first, 17).unwrap())).unwrap();
        let again = a.allocate(name, Request::Block(17), None).unwrap();
        assert_eq!(again.first, first.first, "{name}: {first} was freed, {second} was next");
        assert!(a.check().unwrap().is_empty());
    }
}
