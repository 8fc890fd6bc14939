#![no_main]
//! See `ipam_fuzz::pool_from_roaring` for what this target checks.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Err(broken) = ipam_fuzz::pool_from_roaring::check(data) {
        panic!("pool_from_roaring: {broken}");
    }
});
