//! The state commands, run as separate processes: a session, kill -9 at random moments, eight
//! processes racing for one pool, and files that are not ours.

use std::collections::HashSet;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use super::{ipam, scratch, stderr, stdout};

fn run(state: &Path, args: &[&str]) -> std::process::Output {
    let mut all = vec!["--state", state.to_str().unwrap()];
    all.extend_from_slice(args);
    ipam(&all)
}

fn ok(state: &Path, args: &[&str]) -> String {
    let out = run(state, args);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    stdout(&out)
}

/// A shell loop running `ipam alloc POOL` until it fails, in its own process group.
fn alloc_loop(state: &Path, pool: &str, out: &Path, err: &Path) -> std::process::Child {
    let script = format!(
        "while \"$IPAM\" --state \"$STATE\" alloc {pool} >> \"{}\" 2>> \"{}\"; do :; done",
        out.display(),
        err.display()
    );
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .env("IPAM", env!("CARGO_BIN_EXE_ipam"))
        .env("STATE", state)
        .stdin(Stdio::null())
        .process_group(0)
        .spawn()
        .expect("sh runs")
}

fn kill_group(child: &mut std::process::Child) {
    let pgid = format!("-{}", child.id());
    let _ = Command::new("kill").args(["-9", "--", &pgid]).status();
    let _ = child.wait();
}

/// Every allocation recorded once, and the pool rebuilt from the file agrees with the records.
fn consistent(state: &Path, pool: &str) -> Vec<ipam_store::Allocation> {
    let store = ipam_store::Store::open(state).expect("the file reopens");
    // On PostgreSQL a killed client's server session may still be finishing its last statement:
    // wait until two reads 20 ms apart agree, so the checks below see one state.
    let mut all = store.allocations(pool).unwrap();
    for _ in 0..250 {
        std::thread::sleep(Duration::from_millis(20));
        let again = store.allocations(pool).unwrap();
        if again.len() == all.len() {
            break;
        }
        all = again;
    }
    assert_eq!(store.check().unwrap(), Vec::<String>::new(), "the deep check");
    let firsts: HashSet<_> = all.iter().map(|a| a.first).collect();
    assert_eq!(firsts.len(), all.len(), "an allocation is recorded twice");
    let total: u64 = all.iter().map(|a| u64::from(u32::from(a.last) - u32::from(a.first)) + 1).sum();
    assert_eq!(store.pool(pool).unwrap().stats.allocated, total);
    all
}

#[test]
fn a_session() {
    let dir = scratch("session");
    let state = dir.join("ipam.db");
    ok(&state, &["pool", "add", "nodes", "10.20.0.0/24", "--gateway", "--exclude", "10.20.0.240/28"]);
    assert_eq!(ok(&state, &["alloc", "nodes", "--owner", "gpu-node-001"]), "10.20.0.2\n");
    assert_eq!(ok(&state, &["alloc", "nodes", "--owner", "gpu-node-001"]), "10.20.0.2\n", "idempotent");
    assert_eq!(ok(&state, &["alloc", "nodes", "--block", "29"]), "10.20.0.8/29\n");
    assert_eq!(ok(&state, &["alloc", "nodes", "--range", "3"]), "10.20.0.3-10.20.0.5\n");
    assert_eq!(ok(&state, &["alloc", "nodes", "--addr", "10.20.0.100"]), "10.20.0.100\n");
    assert_eq!(
        ok(&state, &["list", "nodes"]),
        "10.20.0.2 gpu-node-001\n10.20.0.3-10.20.0.5\n10.20.0.8/29\n10.20.0.100\n"
    );
    ok(&state, &["release", "nodes", "10.20.0.8/29"]);
    ok(&state, &["release", "nodes", "10.20.0.3-10.20.0.5"]);
    ok(&state, &["release", "nodes", "--owner", "gpu-node-001"]);
    assert_eq!(ok(&state, &["list", "nodes"]), "10.20.0.100\n");
    let listed: serde_json::Value = serde_json::from_str(&ok(&state, &["pool", "list", "--json"])).unwrap();
    assert_eq!(listed[0]["allocated"], 1);
    assert_eq!(listed[0]["free"], 237);
    let shown = ok(&state, &["pool", "show", "nodes"]);
    assert!(shown.contains("largest     10.20.0.128/26 (64 addresses); 173 free outside it\n"), "{shown}");
    let json: serde_json::Value =
        serde_json::from_str(&ok(&state, &["pool", "show", "nodes", "--json"])).unwrap();
    assert_eq!(json["largest_free_block"], "10.20.0.128/26");
    assert_eq!(json["free_blocks_by_prefix"]["/26"], 1);
    assert_eq!(listed[0]["largest_free_block"], "/26");
    // Export, then import into a fresh file: the same state.
    let export = ok(&state, &["export"]);
    let file = dir.join("export.json");
    std::fs::write(&file, &export).unwrap();
    let copy = dir.join("copy.db");
    ok(&copy, &["import", file.to_str().unwrap()]);
    assert_eq!(ok(&copy, &["export"]), export);
    // Again: refused as it stands, and with --merge nothing is new.
    assert_eq!(run(&copy, &["import", file.to_str().unwrap()]).status.code(), Some(1));
    ok(&copy, &["import", "--merge", file.to_str().unwrap()]);
    assert_eq!(ok(&copy, &["export"]), export);
    // The environment names the state file too.
    let out = Command::new(env!("CARGO_BIN_EXE_ipam"))
        .args(["list", "nodes"])
        .env("IPAM_STATE", &copy)
        .output()
        .unwrap();
    assert_eq!(stdout(&out), "10.20.0.100\n");
    // A plan's pools, twice.
    let plan = dir.join("plan.json");
    ok(&state, &["plan", "--gpus", "256", "--format", "json", "--out", plan.to_str().unwrap()]);
    let created = ok(&state, &["apply", plan.to_str().unwrap()]);
    assert!(created.contains("created backend-su00-rail0\n"));
    assert_eq!(ok(&state, &["apply", plan.to_str().unwrap()]), "");
}

#[test]
fn an_applied_plan_hands_out_what_it_assigned() {
    let dir = scratch("state-apply");
    let state = dir.join("ipam.db");
    let plan = dir.join("plan.json");
    ok(&state, &["plan", "--gpus", "512", "--assign", "--format", "json", "--out", plan.to_str().unwrap()]);
    let applied = run(&state, &["apply", plan.to_str().unwrap()]);
    assert!(applied.status.success(), "{}", stderr(&applied));
    assert!(stderr(&applied).contains("addresses recorded for their owners"), "{}", stderr(&applied));
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&plan).unwrap()).unwrap();
    let node = &json["assignments"][33];
    for i in node["interfaces"].as_array().unwrap() {
        let owner = format!("{}/{}", node["node"].as_str().unwrap(), i["name"].as_str().unwrap());
        let address = i["address"].as_str().unwrap().split('/').next().unwrap();
        assert_eq!(
            ok(&state, &["alloc", i["segment"].as_str().unwrap(), "--owner", &owner]),
            format!("{address}\n")
        );
    }
    assert!(ok(&state, &["find", "--owner", "leaf-su01-rail0/gpu-node-034"]).contains("backend-su01-rail0"));
    // An aggregate is a container: never full, and it hands out nothing itself.
    let refused = run(&state, &["alloc", "backend", "--owner", "gpu-node-999"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(stderr(&refused).contains("container"), "{}", stderr(&refused));
    let pools: serde_json::Value = serde_json::from_str(&ok(&state, &["pool", "list", "--json"])).unwrap();
    let storage = pools.as_array().unwrap().iter().find(|p| p["def"]["name"] == "storage").unwrap();
    assert_eq!(storage["def"]["container"], true);
    assert!(storage["free"].as_u64().unwrap() > 0 && storage["allocated"].as_u64().unwrap() > 0);
    // A plan that moved the cluster is refused, naming what it moves.
    let moved = dir.join("moved.json");
    let spec = dir.join("moved.toml");
    std::fs::write(&spec, "gpus = 512\nbase = \"10.64.0.0/10\"\n").unwrap();
    ok(&state, &["plan", spec.to_str().unwrap(), "--format", "json", "--out", moved.to_str().unwrap()]);
    let refused = run(&state, &["apply", moved.to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(stderr(&refused).contains("moves pool"), "{}", stderr(&refused));
}

#[test]
fn bad_state_requests_exit_one() {
    let dir = scratch("state-errors");
    let state = dir.join("ipam.db");
    ok(&state, &["pool", "add", "lab", "10.9.0.0/30"]);
    let cases: [(&[&str], &str); 9] = [
        (&["alloc", "nope"], "no pool named"),
        (&["pool", "add", "x", "10.9.0.1/24"], "host bits"),
        (&["pool", "add", "../x", "10.8.0.0/24"], "invalid"),
        (&["pool", "add", "y", "10.9.0.0/24"], "overlaps"),
        (&["alloc", "lab", "--block", "33"], "33"),
        (&["alloc", "lab", "--block", "24", "--range", "3"], "cannot be used with"),
        (&["release", "lab", "10.9.0.1"], "no allocation"),
        (&["release", "lab"], "required"),
        (&["pool", "add", "z", "10.7.0.0/24", "--policy", "worst-fit"], "worst-fit"),
    ];
    for (args, mentions) in cases {
        let out = run(&state, args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(mentions), "{args:?}: {}", stderr(&out));
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    ok(&state, &["alloc", "lab"]);
    ok(&state, &["alloc", "lab"]);
    let out = run(&state, &["alloc", "lab"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("no free address"), "{}", stderr(&out));
}

#[test]
fn a_file_that_is_not_ours_is_refused_untouched() {
    let dir = scratch("not-ours");
    let state = dir.join("photo.jpg");
    let bytes: Vec<u8> = (0..4096u32).map(|i| (i * 7 + 3) as u8).collect();
    std::fs::write(&state, &bytes).unwrap();
    let out = run(&state, &["pool", "list"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("not an ipam state file"), "{}", stderr(&out));
    assert_eq!(std::fs::read(&state).unwrap(), bytes);
}

#[test]
fn kill_dash_nine_never_loses_a_reported_allocation() {
    let dir = scratch("kill");
    kill_dash_nine_at(&dir.join("ipam.db"), &dir);
}

#[test]
fn kill_dash_nine_never_loses_a_reported_allocation_on_postgresql() {
    let Some(url) = super::postgres_state("cli_kill") else { return };
    kill_dash_nine_at(Path::new(&url), &scratch("kill-postgres"));
}

/// Loops of `ipam alloc` killed at random moments: what was reported is recorded, once.
fn kill_dash_nine_at(state: &Path, dir: &Path) {
    let (out, err) = (dir.join("reported.txt"), dir.join("stderr.txt"));
    ok(state, &["pool", "add", "p", "10.40.0.0/16"]);
    let mut seed =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos() as u64 | 1;
    let mut kills = 0;
    while kills < 50 {
        let mut child = alloc_loop(state, "p", &out, &err);
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        std::thread::sleep(Duration::from_millis(5 + seed % 120));
        kill_group(&mut child);
        kills += 1;
        let recorded: HashSet<String> = consistent(state, "p").iter().map(|a| a.to_string()).collect();
        let reported = std::fs::read_to_string(&out).unwrap_or_default();
        for line in reported.lines().filter(|l| !l.is_empty()) {
            // A line cut short by the kill was never reported whole.
            if line.parse::<std::net::Ipv4Addr>().is_ok() {
                assert!(recorded.contains(line), "{line} was reported but is not in the file (kill {kills})");
            }
        }
        let errors = std::fs::read_to_string(&err).unwrap_or_default();
        assert!(!errors.contains("locked") && !errors.contains("damaged"), "kill {kills}: {errors}");
    }
    let reported = std::fs::read_to_string(&out).unwrap();
    let addresses: Vec<&str> = reported.lines().filter(|l| l.parse::<std::net::Ipv4Addr>().is_ok()).collect();
    let unique: HashSet<&&str> = addresses.iter().collect();
    assert_eq!(unique.len(), addresses.len(), "an address was handed out twice");
    // Progress, not speed: a slow disk (fsync per commit) may allow only a few per kill.
    assert!(addresses.len() >= 10, "the loops made progress: {}", addresses.len());
}

#[test]
fn eight_processes_share_one_pool_to_exhaustion() {
    let dir = scratch("eight");
    let state = dir.join("ipam.db");
    ok(&state, &["pool", "add", "p", "10.50.0.0/24", "--gateway"]);
    let capacity = 253;
    let mut children: Vec<_> = (0..8)
        .map(|i| {
            let (out, err) = (dir.join(format!("out-{i}")), dir.join(format!("err-{i}")));
            (alloc_loop(&state, "p", &out, &err), out, err)
        })
        .collect();
    let mut all = Vec::new();
    for (child, out, err) in &mut children {
        child.wait().unwrap();
        let text = std::fs::read_to_string(out).unwrap_or_default();
        all.extend(text.lines().map(str::to_owned));
        let errors = std::fs::read_to_string(err).unwrap();
        assert_eq!(errors.lines().count(), 1, "each loop ends on one error: {errors}");
        assert!(errors.contains("no free address") && !errors.contains("locked"), "{errors}");
    }
    let unique: HashSet<&String> = all.iter().collect();
    assert_eq!(unique.len(), all.len(), "an address was handed out twice");
    assert_eq!(all.len(), capacity, "every address handed out exactly once");
    assert_eq!(consistent(&state, "p").len(), capacity);
}

#[test]
fn reconcile_names_owners_and_checks_every_pool() {
    let dir = scratch("state-reconcile");
    let state = dir.join("ipam.db");
    ok(&state, &["pool", "add", "lab", "10.9.0.0/24"]);
    ok(&state, &["pool", "add", "cams", "10.8.0.0/24"]);
    ok(&state, &["alloc", "lab", "--owner", "node-1"]);
    ok(&state, &["alloc", "cams", "--owner", "cam-7"]);
    let seen = dir.join("seen.txt");
    std::fs::write(&seen, "10.9.0.50\n192.168.1.1\n").unwrap();
    let one = ok(&state, &["reconcile", "lab", seen.to_str().unwrap()]);
    assert!(
        one.contains("recorded but not seen (possible leaks; nothing was freed): 1\n  10.9.0.1 node-1\n"),
        "{one}"
    );
    let all = ok(&state, &["reconcile", "--all", seen.to_str().unwrap()]);
    assert!(all.contains("10.8.0.1 cam-7") && all.contains("10.9.0.50"), "{all}");
    assert!(all.ends_with("seen outside every pool: 1\n  192.168.1.1\n"), "{all}");
    let json: serde_json::Value =
        serde_json::from_str(&ok(&state, &["reconcile", "--all", seen.to_str().unwrap(), "--json"])).unwrap();
    assert_eq!(json["pools"].as_array().unwrap().len(), 2);
    let bad = run(&state, &["reconcile", "--all", "lab", seen.to_str().unwrap()]);
    assert_eq!(bad.status.code(), Some(1));
}

#[test]
fn a_pool_grows_in_place_and_refuses_to_shrink_past_what_it_holds() {
    let dir = scratch("state-resize");
    let state = dir.join("ipam.db");
    ok(&state, &["pool", "add", "nodes", "10.20.0.0/25"]);
    assert_eq!(ok(&state, &["alloc", "nodes", "--owner", "node-1"]), "10.20.0.1\n");
    ok(&state, &["alloc", "nodes", "--addr", "10.20.0.100", "--owner", "node-2"]);
    let grown = run(&state, &["pool", "resize", "nodes", "10.20.0.0/24"]);
    assert!(grown.status.success() && stderr(&grown).contains("254 addresses"), "{}", stderr(&grown));
    assert_eq!(ok(&state, &["list", "nodes"]), "10.20.0.1 node-1\n10.20.0.100 node-2\n");
    let refused = run(&state, &["pool", "resize", "nodes", "10.20.0.0/26"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(stderr(&refused).contains("node-2"), "{}", stderr(&refused));
}
