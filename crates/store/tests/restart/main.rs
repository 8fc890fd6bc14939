//! PostgreSQL restarted under load. Its own test binary: it stops the server for every session,
//! so it must not run beside the other tests (cargo runs test binaries one at a time).

#![cfg(feature = "postgres")]

#[path = "../it/backend.rs"]
#[allow(dead_code, unused_macros, unused_imports)]
mod backend;
#[path = "../it/faults.rs"]
mod faults;

use std::process::Command;

#[test]
fn a_server_restarted_under_load_loses_nothing_acknowledged() {
    let Ok(data) = std::env::var("IPAM_TEST_POSTGRES_DATA") else {
        eprintln!("skipped: restart: set IPAM_TEST_POSTGRES_DATA to the test server's data directory");
        return;
    };
    faults::survives("pg_restart", |_| {
        let pg_ctl = std::fs::read_dir("/usr/lib/postgresql")
            .unwrap()
            .filter_map(|e| Some(e.ok()?.path().join("bin/pg_ctl")))
            .find(|p| p.exists())
            .unwrap();
        let status = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(pg_ctl)
            .args(["-D", &data, "-m", "fast", "-w", "restart"])
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
    });
}
