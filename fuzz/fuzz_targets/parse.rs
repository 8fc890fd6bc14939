#![no_main]
//! See `ipam_fuzz::parse` for what this target checks.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Err(broken) = ipam_fuzz::parse::check(data) {
        panic!("parse: {broken}");
    }
});
