//! A fixed workload for `valgrind --tool=callgrind` (instruction counts are stable on a noisy machine):
//! `hotpath DATASET OP N` runs N iterations of one hot-path operation on ours.
//!
//! ```sh
//! cargo build --release -p ipam-benches --bin hotpath
//! valgrind --tool=callgrind target/release/hotpath empty next_free 1000000
//! ```

use std::hint::black_box;

use ipam_benches::ours::OursFirstFit;
use ipam_benches::{Allocator, BlockAllocator, Dataset};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: hotpath empty|random-50|random-99|frontier-99|fragmented next_free|release_allocate|block_24|from_roaring N";
    let (Some(dataset), Some(op), Some(n)) =
        (args.get(1), args.get(2), args.get(3).and_then(|n| n.parse::<u64>().ok()))
    else {
        eprintln!("{usage}");
        std::process::exit(2);
    };
    let data = match dataset.as_str() {
        "empty" => Dataset::empty(),
        "random-50" => Dataset::random_50(),
        "random-99" => Dataset::random_99(),
        "frontier-99" => Dataset::frontier_99(),
        "fragmented" => Dataset::fragmented(),
        _ => {
            eprintln!("{usage}");
            std::process::exit(2);
        }
    };
    let mut pool = OursFirstFit::build(&data);
    let started = std::time::Instant::now();
    match op.as_str() {
        "next_free" => {
            for _ in 0..n {
                let offset = pool.allocate().expect("room");
                pool.release(black_box(offset));
            }
        }
        "release_allocate" => {
            let mut used = data.used_sample(1 << 16);
            let mut rng = fastrand::Rng::with_seed(42);
            for _ in 0..n {
                let i = rng.usize(0..used.len());
                pool.release(used[i]);
                used[i] = pool.allocate().expect("room");
            }
        }
        "from_roaring" => {
            // Rebuild the pool from its own exchange form, N times.
            let exported = pool.pool.allocated();
            let net = pool.pool.network();
            for _ in 0..n {
                black_box(ipam_core::Pool::from_allocated(net, &exported).expect("round trip"));
            }
        }
        "block_24" => {
            for _ in 0..n {
                let start = pool.allocate_block(8).expect("room");
                pool.release_block(black_box(start), 8);
            }
        }
        _ => {
            eprintln!("{usage}");
            std::process::exit(2);
        }
    }
    let elapsed = started.elapsed();
    println!("{:.1} ns per iteration", elapsed.as_nanos() as f64 / n as f64);
}
