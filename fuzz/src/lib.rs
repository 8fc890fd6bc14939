//! What the fuzz targets check, one module per target; `fuzz_targets/*.rs` only hand the bytes over.
//! Each check returns the first broken rule as an error (the target then panics, which libFuzzer
//! reports as a crash), and treats inputs that are not even well-formed as uninteresting.

#![allow(missing_docs)]

pub mod cni_config;
pub mod import;
pub mod parse;
pub mod plan_json;
pub mod plan_spec;
pub mod pool_from_roaring;
pub mod pool_ops;
pub mod state_file;

// The allocator is checked by the very model and rules of ipam-core's own proptest.
#[path = "../../crates/core/tests/it/differential.rs"]
#[allow(dead_code)]
mod differential;
#[path = "../../crates/core/tests/it/model.rs"]
#[allow(dead_code)]
mod model;
