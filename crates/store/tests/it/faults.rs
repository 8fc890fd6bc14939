//! A store's sessions broken under load (shared by the terminate test here and the restart
//! test, which runs alone in its own binary because it stops the server for everyone).

use std::collections::HashSet;
use std::net::Ipv4Addr;
use std::time::Duration;

use ipam_store::{Error, PoolDef, Request, Store};

/// Two threads allocate, each owner retried until it is acknowledged, while `disrupt` breaks
/// their sessions; then every acknowledged allocation is a row, and every row was acknowledged.
pub(crate) fn survives(name: &str, disrupt: impl FnOnce(&str)) {
    let Some(url) = crate::backend::database(name) else { return };
    let mut store = Store::open(&url).unwrap();
    store.add_pool(&PoolDef::new("p", "10.77.0.0/16".parse().unwrap())).unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let workers: Vec<_> = (0..2)
        .map(|t| {
            let (url, stop) = (url.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut acknowledged = Vec::new();
                let mut refused = 0;
                let mut store = None;
                for i in 0.. {
                    if stop.load(std::sync::atomic::Ordering::Relaxed) {
                        break;
                    }
                    let owner = format!("t{t}-{i}");
                    loop {
                        let opened = match store.take() {
                            Some(s) => Ok(s),
                            None => Store::open(&url),
                        };
                        let outcome = opened.and_then(|mut s| {
                            let a = s.allocate("p", Request::Next, Some(&owner));
                            store = Some(s);
                            a
                        });
                        match outcome {
                            Ok(a) => {
                                acknowledged.push((owner.clone(), a.first));
                                break;
                            }
                            Err(Error::Unreachable { .. }) => {
                                refused += 1;
                                std::thread::sleep(Duration::from_millis(20));
                            }
                            Err(e) => panic!("{owner}: {e}"),
                        }
                    }
                }
                (acknowledged, refused)
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    disrupt(&url);
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut held = std::collections::BTreeMap::new();
    let mut refused = 0;
    for w in workers {
        let (acknowledged, r) = w.join().unwrap();
        refused += r;
        for (owner, addr) in acknowledged {
            assert!(held.insert(owner, addr).is_none());
        }
    }
    let unique: HashSet<_> = held.values().collect();
    assert_eq!(unique.len(), held.len(), "an address was handed out twice");
    let mut store = Store::open(&url).unwrap();
    let rows: std::collections::BTreeMap<String, Ipv4Addr> =
        store.allocations("p").unwrap().into_iter().map(|a| (a.owner.unwrap(), a.first)).collect();
    assert_eq!(rows, held, "acknowledged = recorded");
    assert!(store.check().unwrap().is_empty());
    assert!(refused > 0, "the disruption was seen");
    // And the store works on.
    store.allocate("p", Request::Next, Some("after")).unwrap();
}
