#![no_main]
//! See `ipam_fuzz::cni_config` for what this target checks.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Err(broken) = ipam_fuzz::cni_config::check(data) {
        panic!("cni_config: {broken}");
    }
});
