//! Heap bytes per address: ours beside the peers, on the bench datasets and on whole-space pools.
//!
//! `cargo run -p ipam-benches --release --bin memory`

use std::net::Ipv4Addr;

use ipam_benches::Allocator;
use ipam_benches::Dataset;
use ipam_benches::ours::OursFirstFit;
use ipam_benches::peers::{GoIpam, RoaringFree, WordScan};
use ipam_core::Pool;
use roaring::RoaringBitmap;

fn bits_per_address(bytes: usize, addresses: u64) -> f64 {
    bytes as f64 * 8.0 / addresses as f64
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("{:<34} {:>14} {:>14} {:>14} {:>14}", "pool", "ours", "flat bitmap", "roaring_free", "go_ipam");
    println!(
        "{:<34} {:>14} {:>14} {:>14} {:>14}",
        "", "bits/address", "bits/address", "bits/address", "bits/address"
    );
    for data in Dataset::singles() {
        let size = u64::from(data.size());
        let ours = OursFirstFit::build(&data).heap_bytes();
        let flat = WordScan::build(&data).heap_bytes();
        let roaring = RoaringFree::build(&data).heap_bytes();
        let go = GoIpam::build(&data).heap_bytes();
        println!(
            "{:<34} {:>14.4} {:>14.4} {:>14.4} {:>14.4}",
            format!("10.0.0.0/8 {}", data.name),
            bits_per_address(ours, size),
            bits_per_address(flat, size),
            bits_per_address(roaring, size),
            bits_per_address(go, size),
        );
    }

    let whole = "0.0.0.0/0".parse()?;
    let fresh = Pool::new(whole)?;
    println!(
        "\n0.0.0.0/0 fresh: ours {} KiB in all (a flat bitmap: 512 MiB; a roaring free set: {} KiB)",
        fresh.heap_bytes() / 1024,
        {
            let mut all = RoaringBitmap::new();
            all.insert_range(..);
            all.serialized_size() / 1024
        }
    );

    // 1M addresses in clusters scattered over the space: 4,096 /24s, then 16 /16s.
    for (label, cluster_order) in [("4,096 scattered /24s", 8u32), ("16 scattered /16s", 16)] {
        let mut rng = fastrand::Rng::with_seed(5);
        let mut clustered = RoaringBitmap::new();
        while clustered.len() < 1 << 20 {
            let start = rng.u32(..) >> cluster_order << cluster_order;
            clustered.insert_range(start..=start | ((1 << cluster_order) - 1));
        }
        let pool = Pool::from_allocated(whole, &clustered)?;
        println!(
            "0.0.0.0/0 with 1M addresses in {label}: ours {:.2} MiB ({:.1} bytes per allocated address); \
             roaring of the same set: {:.2} MiB; first cluster at {}",
            pool.heap_bytes() as f64 / (1 << 20) as f64,
            pool.heap_bytes() as f64 / clustered.len() as f64,
            clustered.serialized_size() as f64 / (1 << 20) as f64,
            Ipv4Addr::from_bits(clustered.min().unwrap_or(0)),
        );
    }
    println!(
        "(ours stores a 200-byte header for every 2^18-address chunk touched, and 576 bytes of bitmap \
         and summaries for every 4,096-address leaf touched)"
    );
    Ok(())
}
