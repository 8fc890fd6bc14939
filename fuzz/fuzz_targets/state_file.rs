#![no_main]
//! See `ipam_fuzz::state_file` for what this target checks.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Err(broken) = ipam_fuzz::state_file::check(data) {
        panic!("state_file: {broken}");
    }
});
