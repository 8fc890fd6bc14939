//! The `ipam` binary, run as users run it.

mod docs;
mod engine;
mod exit_codes;
mod golden;
mod metrics;
mod state;
mod zones;

use std::path::PathBuf;
use std::process::{Command, Output};

/// The workspace root, where `examples/` lives.
fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs `ipam` with `args` from the workspace root.
fn ipam(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ipam")).args(args).current_dir(root()).output().expect("ipam runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("UTF-8 output")
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).expect("UTF-8 output")
}

/// A fresh scratch directory under the target directory.
fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch directory");
    dir
}

/// A fresh PostgreSQL database on the server `IPAM_TEST_POSTGRES` names, as a URL; `None` (saying
/// why) when no server is given.
fn postgres_state(name: &str) -> Option<String> {
    let Ok(url) = std::env::var("IPAM_TEST_POSTGRES") else {
        eprintln!("skipped on PostgreSQL: {name}: set IPAM_TEST_POSTGRES to a server's URL (see the README)");
        return None;
    };
    let mut admin = postgres::Client::connect(&url, postgres::NoTls).expect("the test server answers");
    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).unwrap();
    admin.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
    let (base, query) = url.split_once('?').unwrap_or((&url, ""));
    let server = base.rsplit_once('/').map_or(base, |(server, _)| server);
    Some(format!("{server}/{name}?{query}"))
}
