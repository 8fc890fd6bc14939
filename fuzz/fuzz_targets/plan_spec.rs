#![no_main]
//! See `ipam_fuzz::plan_spec` for what this target checks.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Err(broken) = ipam_fuzz::plan_spec::check(data) {
        panic!("plan_spec: {broken}");
    }
});
