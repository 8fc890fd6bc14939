//! ipam-store's integration tests: one binary, one module per concern.

mod against_core;
mod apply;
mod backend;
mod bad_files;
mod bit_flips;
#[cfg(feature = "postgres")]
mod controllers;
mod engine;
#[cfg(feature = "postgres")]
mod faults;
mod fuzz_regressions;
mod pools;
#[cfg(feature = "postgres")]
mod postgres;
mod round_trip;
mod suite;

/// A fresh directory for state files.
fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
