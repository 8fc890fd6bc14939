#![no_main]
//! See `ipam_fuzz::plan_json` for what this target checks.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Err(broken) = ipam_fuzz::plan_json::check(data) {
        panic!("plan_json: {broken}");
    }
});
