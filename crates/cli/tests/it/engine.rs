//! The state engine through the binary: bulk allocation, lookups, the deep check, results that
//! cannot be delivered, bounded errors, and files on read-only or full file systems.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use super::{scratch, stderr, stdout};

fn run(state: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ipam")).arg("--state").arg(state).args(args).output().expect("ipam runs")
}

fn ok(state: &Path, args: &[&str]) -> String {
    let out = run(state, args);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    stdout(&out)
}

fn with_stdin(state: &Path, args: &[&str], input: &str) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_ipam"))
        .arg("--state")
        .arg(state)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn bulk_allocation_is_one_transaction_in_input_order() {
    let dir = scratch("engine-bulk");
    let state = dir.join("ipam.db");
    ok(&state, &["pool", "add", "cams", "10.30.0.0/29"]);
    ok(&state, &["alloc", "cams", "--owner", "cam-b"]);
    let out = with_stdin(&state, &["alloc", "cams", "--owners", "-"], "cam-a\ncam-b\n\ncam-c\ncam-a\n");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "10.30.0.2 cam-a\n10.30.0.1 cam-b\n10.30.0.3 cam-c\n10.30.0.2 cam-a\n");
    // Four more owners than the pool has room for: nothing is allocated.
    let out = with_stdin(&state, &["alloc", "cams", "--owners", "-"], "d\ne\nf\ng\n");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    assert_eq!(ok(&state, &["list", "cams"]).lines().count(), 3, "all or nothing");
    // Blocks per owner, from a file.
    let owners = dir.join("owners.txt");
    std::fs::write(&owners, "rack-1\nrack-2\n").unwrap();
    ok(&state, &["pool", "add", "racks", "10.40.0.0/24"]);
    let text = ok(&state, &["alloc", "racks", "--owners", owners.to_str().unwrap(), "--block", "28"]);
    assert_eq!(text, "10.40.0.16/28 rack-1\n10.40.0.32/28 rack-2\n");
}

#[test]
fn find_names_the_pool_and_the_owner() {
    let dir = scratch("engine-find");
    let state = dir.join("ipam.db");
    ok(&state, &["pool", "add", "dc", "10.0.0.0/16"]);
    ok(&state, &["pool", "add", "rack", "10.0.4.0/24", "--parent", "dc"]);
    ok(&state, &["alloc", "rack", "--owner", "gpu-node-001"]);
    ok(&state, &["pool", "add", "bmc", "10.250.0.0/24"]);
    ok(&state, &["alloc", "bmc", "--owner", "gpu-node-001"]);
    assert_eq!(ok(&state, &["find", "10.0.4.1"]), "dc 10.0.4.0/24 pool:rack\nrack 10.0.4.1 gpu-node-001\n");
    let free = run(&state, &["find", "10.0.4.77"]);
    assert_eq!(free.status.code(), Some(1));
    assert!(stderr(&free).contains("not allocated in pool `rack`"), "{}", stderr(&free));
    let nowhere = run(&state, &["find", "192.0.2.1"]);
    assert_eq!(nowhere.status.code(), Some(1));
    assert!(stderr(&nowhere).contains("in no pool"));
    assert_eq!(ok(&state, &["find", "--owner", "gpu-node-001"]), "bmc 10.250.0.1\nrack 10.0.4.1\n");
    let json: serde_json::Value = serde_json::from_str(&ok(&state, &["find", "10.0.4.1", "--json"])).unwrap();
    assert_eq!(json[1]["allocation"]["owner"], "gpu-node-001");
    assert_eq!(ok(&state, &["check"]), "ok\n");
}

#[test]
fn reads_on_a_missing_file_create_nothing() {
    let dir = scratch("engine-missing");
    let state = dir.join("typo.db");
    for args in [&["list", "foo"][..], &["pool", "list"], &["export"], &["find", "10.0.0.1"], &["check"]] {
        let out = run(&state, args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(stderr(&out).contains("no state file"), "{}", stderr(&out));
    }
    assert!(std::fs::read_dir(&dir).unwrap().next().is_none(), "a file was created");
}

#[test]
fn an_undelivered_allocation_is_released_again() {
    let dir = scratch("engine-dev-full");
    let state = dir.join("ipam.db");
    ok(&state, &["pool", "add", "p", "10.20.0.0/24"]);
    ok(&state, &["alloc", "p", "--owner", "kept"]);
    let full = std::fs::File::create("/dev/full")
        .or_else(|_| std::fs::OpenOptions::new().write(true).open("/dev/full"));
    let Ok(full) = full else {
        println!("skipped: no /dev/full on this machine");
        return;
    };
    for args in [&["alloc", "p"][..], &["alloc", "p", "--owner", "kept"], &["alloc", "p", "--owner", "new"]] {
        let out = Command::new(env!("CARGO_BIN_EXE_ipam"))
            .arg("--state")
            .arg(&state)
            .args(args)
            .stdout(full.try_clone().unwrap())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr(&out).contains("never delivered"), "{}", stderr(&out));
    }
    // What an owner held before stays theirs; nothing new is left behind.
    assert_eq!(ok(&state, &["list", "p"]), "10.20.0.1 kept\n");
}

#[test]
fn errors_quote_input_briefly_and_harmlessly() {
    let dir = scratch("engine-errors");
    let state = dir.join("ipam.db");
    ok(&state, &["pool", "add", "p", "10.20.0.0/24"]);
    let huge = "x".repeat(100_000);
    let out = run(&state, &["list", &huge]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stderr.len() < 1_200, "{} bytes on stderr", out.stderr.len());
    let out = run(&state, &["alloc", "p", "--owner", "evil\u{1b}[2Jname"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(!stderr(&out).contains('\u{1b}'), "a raw escape reached the terminal");
    assert!(stderr(&out).contains("\\u{1b}"), "{}", stderr(&out));
    // Input files are refused before parsing when over the limit.
    let export = dir.join("big.json");
    std::fs::write(&export, ok(&state, &["export"])).unwrap();
    let out = run(&state, &["--max-input-bytes", "10", "import", export.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("input limit"), "{}", stderr(&out));
}

#[test]
fn hostile_imports_exit_one() {
    let dir = scratch("engine-imports");
    let state = dir.join("ipam.db");
    let file = dir.join("import.json");
    let records = [
        r#"{"first": "10.0.0.1", "last": "10.0.0.1", "shape": "addr", "owner": "x", "created": 0}, {"first": "10.0.0.2", "last": "10.0.0.2", "shape": "addr", "owner": "x", "created": 0}"#,
        r#"{"first": "10.0.0.1", "last": "10.0.0.1", "shape": "addr", "owner": null, "created": 9223372036854775808}"#,
        r#"{"first": "10.0.0.1", "last": "10.0.0.11", "shape": "addr", "owner": null, "created": 0}"#,
    ];
    for record in records {
        let text = format!(
            r#"{{"ipam_state": 1, "pools": [{{"def": {{"name": "p", "cidr": "10.0.0.0/24", "gateway": false,
               "network_broadcast": true, "exclusions": [], "policy": "first-fit", "parent": null}},
               "cursor": "10.0.0.0", "allocations": [{record}]}}]}}"#
        );
        std::fs::write(&file, text).unwrap();
        let out = run(&state, &["import", file.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1), "{record}: {}", stderr(&out));
        assert!(stderr(&out).contains("allocation"), "{}", stderr(&out));
    }
}

/// Mounts a tmpfs of `size` at `dir`; None (with the reason printed) where this machine does not
/// let the test mount (not root, no mount command, a container without the capability).
fn tmpfs(dir: &Path, size: &str) -> Option<Mounted> {
    std::fs::create_dir_all(dir).unwrap();
    let out =
        Command::new("mount").args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"]).arg(dir).output();
    match out {
        Ok(o) if o.status.success() => Some(Mounted(dir.to_owned())),
        Ok(o) => {
            println!("skipped: cannot mount a tmpfs here: {}", String::from_utf8_lossy(&o.stderr).trim());
            None
        }
        Err(e) => {
            println!("skipped: cannot run mount: {e}");
            None
        }
    }
}

/// A mount that is undone when the test ends, passing or failing.
struct Mounted(std::path::PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn reads_work_on_a_read_only_mount() {
    let dir = scratch("engine-ro").join("mnt");
    let Some(mount) = tmpfs(&dir, "8m") else { return };
    let state = dir.join("ipam.db");
    ok(&state, &["pool", "add", "p", "10.20.0.0/24"]);
    ok(&state, &["alloc", "p", "--owner", "node-1"]);
    let remount = Command::new("mount").args(["-o", "remount,ro"]).arg(&mount.0).status().unwrap();
    assert!(remount.success());
    assert_eq!(ok(&state, &["list", "p"]), "10.20.0.1 node-1\n");
    assert!(ok(&state, &["export"]).contains("node-1"));
    assert!(ok(&state, &["pool", "list"]).contains("10.20.0.0/24"));
    assert_eq!(ok(&state, &["find", "10.20.0.1"]), "p 10.20.0.1 node-1\n");
    let out = run(&state, &["alloc", "p"]);
    assert_ne!(out.status.code(), Some(0), "a write on a read-only mount succeeded");
    drop(mount);
}

#[test]
fn reads_work_and_nothing_is_lost_on_a_full_disk() {
    let dir = scratch("engine-full").join("mnt");
    let Some(mount) = tmpfs(&dir, "2m") else { return };
    let state = dir.join("ipam.db");
    ok(&state, &["pool", "add", "p", "10.20.0.0/16"]);
    let owners: String = (0..200).map(|i| format!("node-{i:03}\n")).collect();
    assert!(with_stdin(&state, &["alloc", "p", "--owners", "-"], &owners).status.success());
    let before = ok(&state, &["export"]);
    // Fill the file system.
    let filler = dir.join("filler");
    let _ =
        Command::new("dd").arg("if=/dev/zero").arg(format!("of={}", filler.display())).arg("bs=64k").output();
    let many: String = (0..5000).map(|i| format!("late-{i:05}\n")).collect();
    let out = with_stdin(&state, &["alloc", "p", "--owners", "-"], &many);
    assert_ne!(out.status.code(), Some(0), "5,000 rows fitted on a full disk");
    assert_eq!(ok(&state, &["export"]), before, "a read on the full disk differs");
    assert_eq!(ok(&state, &["list", "p"]).lines().count(), 200);
    std::fs::remove_file(&filler).unwrap();
    assert_eq!(ok(&state, &["export"]), before, "the failed write left a trace");
    assert_eq!(ok(&state, &["check"]), "ok\n");
    drop(mount);
}
