//! Many ADDs at once, and ADDs killed at random moments: never an address twice, never half done.

use std::collections::HashSet;
use std::os::unix::process::CommandExt;

use ipam_store::Store;

use super::{Call, address, config, scratch};

/// A pod with 8 RDMA interfaces, one per rail network: 8 processes at a time, 100 pods.
#[test]
fn eight_rails_eight_processes_no_address_twice() {
    let dir = scratch("cni-concurrent");
    let state = dir.join("state.db");
    let confs: Vec<String> = (0..8)
        .map(|r| config("1.0.0", &format!("rail{r}"), &state, &format!("10.{}.0.0/24", 100 + r), ""))
        .collect();
    let mut all = Vec::new();
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..8)
            .map(|worker| {
                let confs = &confs;
                s.spawn(move || {
                    let mut got = Vec::new();
                    for pod in (worker..100).step_by(8) {
                        for (r, conf) in confs.iter().enumerate() {
                            let container = format!("pod-{pod:03}");
                            got.push((
                                r,
                                address(&Call::new("ADD", &container, &format!("net{r}")).run(conf)),
                            ));
                        }
                    }
                    got
                })
            })
            .collect();
        for w in workers {
            all.extend(w.join().unwrap());
        }
    });
    assert_eq!(all.len(), 800);
    let distinct: HashSet<_> = all.iter().collect();
    assert_eq!(distinct.len(), 800, "an address was handed out twice");
    let store = Store::open_read_only(&state).unwrap();
    for r in 0..8 {
        assert_eq!(store.allocations(&format!("rail{r}")).unwrap().len(), 100);
    }
    assert!(store.check().unwrap().is_empty());
}

/// ADDs killed at random moments: a later ADD of the same attachment returns what was recorded,
/// or allocates fresh; nothing is half done.
#[test]
fn kill_dash_nine_leaves_nothing_half_done() {
    let dir = scratch("cni-kill");
    let state = dir.join("state.db");
    let conf = config("1.0.0", "rail0", &state, "10.50.0.0/22", "");
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    for round in 0..40 {
        let mut children = Vec::new();
        for k in 0..4 {
            let container = format!("pod-{round:02}-{k}");
            let call = Call::new("ADD", &container, "net1");
            let mut cmd = call.command();
            cmd.process_group(0);
            let mut child = cmd.spawn().unwrap();
            use std::io::Write;
            let _ = child.stdin.take().unwrap().write_all(conf.as_bytes());
            children.push(child);
        }
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        std::thread::sleep(std::time::Duration::from_micros(rng % 8_000));
        for mut child in children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
    // Every attachment, asked again, gets one address; none is shared; the file checks out.
    let mut seen = HashSet::new();
    for round in 0..40 {
        for k in 0..4 {
            let a = address(&Call::new("ADD", &format!("pod-{round:02}-{k}"), "net1").run(&conf));
            assert!(seen.insert(a), "an address twice");
        }
    }
    let store = Store::open_read_only(&state).unwrap();
    assert_eq!(store.allocations("rail0").unwrap().len(), 160);
    assert!(store.check().unwrap().is_empty());
}
