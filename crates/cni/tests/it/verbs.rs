//! Every verb and every error, through the binary.

use ipam_store::Store;

use super::{Call, address, config, error, json, scratch};

#[test]
fn version_lists_what_it_speaks() {
    let out = Call::new("VERSION", "", "").run(r#"{"cniVersion": "1.0.0"}"#);
    assert!(out.status.success());
    assert_eq!(
        json(&out),
        serde_json::json!({"cniVersion": "1.0.0", "supportedVersions": ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]})
    );
}

#[test]
fn add_is_idempotent_and_shaped_by_the_version() {
    let dir = scratch("cni-add");
    // The first ADD creates the state's directory too.
    let state = dir.join("var/lib/ipam-cni/state.db");
    let routes = r#", "routes": [{"dst": "10.200.0.0/16"}, {"dst": "0.0.0.0/0", "gw": "10.10.0.254"}]"#;
    let conf = config("1.0.0", "rail0", &state, "10.10.0.0/24", routes);
    let first = Call::new("ADD", "c1", "net1").run(&conf);
    assert_eq!(
        json(&first),
        serde_json::json!({"cniVersion": "1.0.0", "ips": [{"address": "10.10.0.2/24", "gateway": "10.10.0.1"}],
            "routes": [{"dst": "10.200.0.0/16"}, {"dst": "0.0.0.0/0", "gw": "10.10.0.254"}]})
    );
    assert_eq!(json(&Call::new("ADD", "c1", "net1").run(&conf)), json(&first), "ADD twice");
    assert_eq!(address(&Call::new("ADD", "c1", "net2").run(&conf)), "10.10.0.3", "another interface");
    let old = config("0.3.1", "rail0", &state, "10.10.0.0/24", "");
    let out = Call::new("ADD", "c2", "net1").run(&old);
    assert_eq!(
        json(&out)["ips"][0],
        serde_json::json!({"address": "10.10.0.4/24", "gateway": "10.10.0.1", "version": "4"})
    );
    assert_eq!(json(&out)["cniVersion"], "0.3.1");
    // The owners are visible to the rest of the tool.
    let store = Store::open_read_only(&state).unwrap();
    let owners: Vec<_> = store.allocations("rail0").unwrap().into_iter().filter_map(|a| a.owner).collect();
    assert_eq!(owners, ["rail0/node-a/c1/net1", "rail0/node-a/c1/net2", "rail0/node-a/c2/net1"]);
}

#[test]
fn del_releases_into_the_cooldown_and_always_succeeds() {
    let dir = scratch("cni-del");
    let state = dir.join("state.db");
    // DEL before anything exists: success, and no state file is created.
    let conf = config("1.0.0", "rail0", &state, "10.10.0.0/29", "");
    let out = Call::new("DEL", "c1", "net1").run(&conf);
    assert!(out.status.success() && out.stdout.is_empty(), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(!state.exists());
    let a = address(&Call::new("ADD", "c1", "net1").run(&conf));
    assert!(Call::new("DEL", "c1", "net1").run(&conf).status.success());
    assert!(Call::new("DEL", "c1", "net1").run(&conf).status.success(), "DEL twice");
    // First fit would hand the same address out again at once; the cooldown keeps it back.
    assert_ne!(address(&Call::new("ADD", "c2", "net1").run(&conf)), a);
    // Without a cooldown it comes back.
    let conf0 = config("1.0.0", "rail1", &state, "10.11.0.0/29", r#", "cooldown": 0"#);
    let b = address(&Call::new("ADD", "c1", "net1").run(&conf0));
    assert!(Call::new("DEL", "c1", "net1").run(&conf0).status.success());
    assert_eq!(address(&Call::new("ADD", "c3", "net1").run(&conf0)), b);
}

#[test]
fn check_knows_what_each_attachment_holds() {
    let dir = scratch("cni-check");
    let state = dir.join("state.db");
    let conf = config("1.0.0", "rail0", &state, "10.10.0.0/24", "");
    let a = address(&Call::new("ADD", "c1", "net1").run(&conf));
    let with_prev = |address: &str| {
        conf.replacen("\"ipam\"", &format!(r#""prevResult": {{"cniVersion": "1.0.0", "ips": [{{"address": "{address}/24", "interface": 2}}]}}, "ipam""#), 1)
    };
    assert!(Call::new("CHECK", "c1", "net1").run(&with_prev(&a)).status.success());
    error(&Call::new("CHECK", "c1", "net1").run(&with_prev("10.10.0.99")), 101);
    error(&Call::new("CHECK", "c9", "net1").run(&conf), 3);
    error(&Call::new("CHECK", "c1", "net1").run(&config("0.3.1", "rail0", &state, "10.10.0.0/24", "")), 1);
}

#[test]
fn gc_releases_what_the_runtime_no_longer_knows_on_this_node() {
    let dir = scratch("cni-gc");
    let state = dir.join("state.db");
    let conf = config("1.1.0", "rail0", &state, "10.10.0.0/24", r#", "cooldown": 0"#);
    for (c, node) in [("c1", "node-a"), ("c2", "node-a"), ("c3", "node-b")] {
        address(&Call::new("ADD", c, "net1").on(node).run(&conf));
    }
    let gc = conf.replacen(
        "\"ipam\"",
        r#""cni.dev/valid-attachments": [{"containerID": "c1", "ifname": "net1"}], "ipam""#,
        1,
    );
    let out = Call::new("GC", "", "").run(&gc);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    let store = Store::open_read_only(&state).unwrap();
    let owners: Vec<_> = store.allocations("rail0").unwrap().into_iter().filter_map(|a| a.owner).collect();
    // c2 went; c3 lives on another node, whose runtime GCs its own.
    assert_eq!(owners, ["rail0/node-a/c1/net1", "rail0/node-b/c3/net1"]);
    error(&Call::new("GC", "", "").run(&config("1.0.0", "rail0", &state, "10.10.0.0/24", "")), 1);
}

#[test]
fn status_says_whether_an_add_can_succeed() {
    let dir = scratch("cni-status");
    let state = dir.join("state.db");
    let conf = config("1.1.0", "tiny", &state, "10.10.0.0/30", r#", "cooldown": 0"#);
    assert!(Call::new("STATUS", "", "").run(&conf).status.success(), "no state yet: ADD will create it");
    // A /30 has .1 (the gateway) and .2 to hand out: one ADD fills it.
    address(&Call::new("ADD", "c1", "net1").run(&conf));
    error(&Call::new("ADD", "c2", "net1").run(&conf), 100);
    error(&Call::new("STATUS", "", "").run(&conf), 50);
    assert!(Call::new("DEL", "c1", "net1").run(&conf).status.success());
    assert!(Call::new("STATUS", "", "").run(&conf).status.success(), "room again");
    // A state whose directory can never be made: under a regular file.
    std::fs::write(dir.join("a-file"), "").unwrap();
    let unreachable = config("1.1.0", "x", &dir.join("a-file/sub/state.db"), "10.10.0.0/24", "");
    error(&Call::new("STATUS", "", "").run(&unreachable), 50);
}

#[test]
fn node_blocks_are_per_node_and_honour_exclusions() {
    let dir = scratch("cni-node-block");
    let state = dir.join("state.db");
    let extra = r#", "node_block": 28, "exclude": ["10.10.0.16/28", "10.10.0.36/30"]"#;
    let conf = config("1.0.0", "rail0", &state, "10.10.0.0/24", extra);
    let add = |pod: &str, node: &str| Call::new("ADD", pod, "net1").on(node).run(&conf);
    // node-a takes 10.10.0.0/28: .0 (the network) and .1 (the gateway) are never given.
    let a: Vec<String> = (0..14).map(|i| address(&add(&format!("a{i}"), "node-a"))).collect();
    let expected: Vec<String> = (2..16).map(|i| format!("10.10.0.{i}")).collect();
    assert_eq!(a, expected);
    error(&add("a14", "node-a"), 100);
    // node-b's block goes around both exclusions: not .16/28, not .32/28 (it holds .36/30).
    let b: Vec<String> = (0..3).map(|i| address(&add(&format!("b{i}"), "node-b"))).collect();
    assert_eq!(b, ["10.10.0.48", "10.10.0.49", "10.10.0.50"]);
    let store = Store::open_read_only(&state).unwrap();
    let names: Vec<_> = store.pools().unwrap().into_iter().map(|p| p.def.name).collect();
    assert_eq!(names, ["rail0", "rail0.node-a", "rail0.node-b"]);
    assert!(store.check().unwrap().is_empty());
    // Changing the exclusions later is refused, not silently half applied.
    let changed = config("1.0.0", "rail0", &state, "10.10.0.0/24", r#", "node_block": 28"#);
    error(&Call::new("ADD", "a0", "net1").run(&changed), 7);
}

#[test]
fn bad_calls_get_the_specs_error_codes() {
    let dir = scratch("cni-errors");
    let state = dir.join("state.db");
    let add = |conf: &str| Call::new("ADD", "c1", "net1").run(conf);
    let msg = error(&add(&config("1.0.0", "n", &state, "10.0.0.0/24", r#", "rangeStart": "10.0.0.9""#)), 2);
    assert!(msg.contains("ipam.rangeStart") && msg.contains("10.0.0.9"), "{msg}");
    error(&add("{not json"), 6);
    error(&add(&config("0.2.0", "n", &state, "10.0.0.0/24", "")), 1);
    error(&add(&config("1.0.0", "n", &state, "10.0.0.1/24", "")), 7);
    error(&add(&config("1.0.0", "n", &state, "10.0.0.0/24", r#", "gateway": "10.9.0.1""#)), 7);
    error(&add(&config("1.0.0", "n", &state, "10.0.0.0/24", r#", "node_block": 20"#)), 7);
    error(&add(&config("1.0.0", "n", &state, "10.0.0.0/24", r#", "policy": "worst-fit""#)), 7);
    error(&Call::new("ADD", "", "net1").run(&config("1.0.0", "n", &state, "10.0.0.0/24", "")), 4);
    error(&Call::new("ADD", "c1/../x", "net1").run(&config("1.0.0", "n", &state, "10.0.0.0/24", "")), 4);
    error(&Call::new("FROB", "c1", "net1").run(&config("1.0.0", "n", &state, "10.0.0.0/24", "")), 4);
    // The same pool described two ways: the second is refused, naming the pool.
    address(&add(&config("1.0.0", "n", &state, "10.0.0.0/24", "")));
    let msg = error(&Call::new("ADD", "c2", "net1").run(&config("1.0.0", "n", &state, "10.0.0.0/23", "")), 7);
    assert!(msg.contains("pool `n` exists"), "{msg}");
    // Every error is one JSON document on stdout, and nothing else is printed there.
    let out = add(&config("1.0.0", "n", &state, "10.0.0.0/24", r#", "bogus": 1"#));
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
}

/// Nodes sharing one rail subnet through one PostgreSQL state: each node's block and every
/// address exactly once; DEL, CHECK and STATUS against the database.
#[test]
fn nodes_share_one_subnet_through_postgresql() {
    let Ok(server) = std::env::var("IPAM_TEST_POSTGRES") else {
        eprintln!("skipped: set IPAM_TEST_POSTGRES to a server's URL (see the README)");
        return;
    };
    let mut admin = postgres::Client::connect(&server, postgres::NoTls).unwrap();
    admin.batch_execute("DROP DATABASE IF EXISTS cni_shared WITH (FORCE)").unwrap();
    admin.batch_execute("CREATE DATABASE cni_shared").unwrap();
    let (base, query) = server.split_once('?').unwrap_or((&server, ""));
    let url = format!("{}/cni_shared?{query}", base.rsplit_once('/').map_or(base, |(s, _)| s));
    let conf = config("1.1.0", "rail0", std::path::Path::new(&url), "10.12.0.0/24", r#", "node_block": 28"#);
    // Before the first ADD, the empty database is ready for one.
    assert!(Call::new("STATUS", "", "").run(&conf).status.success());
    let mut seen = std::collections::HashSet::new();
    for node in ["node-a", "node-b", "node-c"] {
        for pod in 0..5 {
            let got = address(&Call::new("ADD", &format!("{node}-p{pod}"), "net1").on(node).run(&conf));
            assert!(seen.insert(got.clone()), "{got} twice");
        }
    }
    let store = Store::open_read_only(&url).unwrap();
    let blocks: Vec<String> =
        store.pools().unwrap().into_iter().skip(1).map(|p| p.def.cidr.to_string()).collect();
    assert_eq!(blocks, ["10.12.0.0/28", "10.12.0.16/28", "10.12.0.32/28"], "a block per node, none twice");
    assert!(store.check().unwrap().is_empty());
    assert!(Call::new("CHECK", "node-b-p3", "net1").on("node-b").run(&conf).status.success());
    assert!(Call::new("DEL", "node-b-p3", "net1").on("node-b").run(&conf).status.success());
    error(&Call::new("CHECK", "node-b-p3", "net1").on("node-b").run(&conf), 3);
    // GC on node-a keeps only p0: p1..p4 are released.
    let gc = r#""cni.dev/valid-attachments": [{"containerID": "node-a-p0", "ifname": "net1"}], "ipam""#;
    let out = Call::new("GC", "", "").on("node-a").run(&conf.replacen("\"ipam\"", gc, 1));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    let store = Store::open_read_only(&url).unwrap();
    let live = store
        .allocations("rail0.node-a")
        .unwrap()
        .into_iter()
        .filter(|a| !a.owner.as_deref().unwrap_or("").starts_with("cooldown:"))
        .count();
    assert_eq!(live, 1);
}
