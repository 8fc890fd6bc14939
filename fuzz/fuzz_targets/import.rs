#![no_main]
//! See `ipam_fuzz::import` for what this target checks.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Err(broken) = ipam_fuzz::import::check(data) {
        panic!("import: {broken}");
    }
});
