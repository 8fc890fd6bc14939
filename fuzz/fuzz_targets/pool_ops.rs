#![no_main]
//! See `ipam_fuzz::pool_ops` for what this target checks.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Err(broken) = ipam_fuzz::pool_ops::check(data) {
        panic!("pool_ops: {broken}");
    }
});
