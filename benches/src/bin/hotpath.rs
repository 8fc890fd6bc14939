//! A fixed workload for `valgrind --tool=callgrind` (instruction counts are stable on a noisy machine):
//! `hotpath DATASET OP N [first|best|round]` runs N iterations of one hot-path operation on ours, with
//! the pool's policy (first fit unless told).
//!
//! ```sh
//! cargo build --release -p ipam-benches --bin hotpath
//! valgrind --tool=callgrind target/release/hotpath empty next_free 1000000
//! ```

use std::hint::black_box;
use std::time::{Duration, Instant};

use ipam_benches::batches::timed_batches;
use ipam_benches::ours::Ours;
use ipam_benches::{Allocator, BlockAllocator, Dataset};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: hotpath empty|random-50|random-99|frontier-99|fragmented|fragmented-16|singles-26s|rare-24 \
                 next_free|release_allocate|release_specific|release|specific|block_24|block_reserve|free_blocks|from_roaring N [first|best|round]";
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
        "fragmented-16" => Dataset::fragmented_16(),
        "singles-26s" => Dataset::singles_26s(),
        "rare-24" => Dataset::rare_24(),
        _ => {
            eprintln!("{usage}");
            std::process::exit(2);
        }
    };
    let elapsed = match args.get(4).map_or("first", String::as_str) {
        "first" => run::<0>(&data, op, n),
        "best" => run::<1>(&data, op, n),
        "round" => run::<2>(&data, op, n),
        _ => None,
    };
    let Some(elapsed) = elapsed else {
        eprintln!("{usage}");
        std::process::exit(2);
    };
    println!("{:.1} ns per iteration", elapsed.as_nanos() as f64 / n as f64);
}

/// Runs `n` iterations of `op` on ours with policy `P` (see [`Ours`]); the time they took, or `None`
/// if `op` is unknown.
#[inline(never)]
fn run<const P: u8>(data: &Dataset, op: &str, n: u64) -> Option<Duration> {
    let mut pool = Ours::<P>::build(data);
    let started = Instant::now();
    match op {
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
        "free_blocks" => {
            for _ in 0..n {
                black_box(black_box(&pool.pool).free_blocks().count());
            }
        }
        "block_24" => {
            for _ in 0..n {
                let start = pool.allocate_block(8).expect("room");
                pool.release_block(black_box(start), 8);
            }
        }
        "block_reserve" => {
            // The `block_reserve` group's work: given free /24s in turn, each taken and given back.
            let free_24s: Vec<_> = {
                let mut probe = pool.pool.clone();
                std::iter::from_fn(|| probe.allocate_block(24).ok()).take(256).collect()
            };
            if free_24s.is_empty() {
                eprintln!("{}: no free /24 to time", data.name);
                std::process::exit(2);
            }
            let started = Instant::now();
            for i in 0..n as usize {
                let block = free_24s[i % free_24s.len()];
                pool.pool.allocate_block_specific(black_box(block)).expect("free");
                pool.pool.release_block(block).expect("taken");
            }
            return Some(started.elapsed());
        }
        "release_specific" => {
            // The `release` and `specific` groups' work: used addresses in random order, released,
            // then taken again one by one.
            let mut used = data.used_sample(1 << 16);
            fastrand::Rng::with_seed(3).shuffle(&mut used);
            for round in 0..n.div_ceil(used.len() as u64) {
                let batch = &used[..used.len().min((n - round * used.len() as u64) as usize)];
                for &offset in batch {
                    pool.release(black_box(offset));
                }
                for &offset in batch {
                    pool.allocate_specific(black_box(offset));
                }
            }
        }
        "release" | "specific" => {
            // The criterion groups' work and order (benches/benches/alloc.rs): only the first half of
            // each batch is timed. Callgrind counts both halves, as `release_specific` does.
            let release = op == "release";
            let offsets = if release {
                let mut used = data.used_sample(1 << 16);
                fastrand::Rng::with_seed(3).shuffle(&mut used);
                used
            } else {
                data.free_sample(1 << 16)
            };
            if offsets.is_empty() {
                eprintln!("{}: no {} address to time", data.name, if release { "used" } else { "free" });
                std::process::exit(2);
            }
            return Some(if release {
                timed_batches(&mut pool, &offsets, n, Ours::release, Ours::allocate_specific)
            } else {
                timed_batches(&mut pool, &offsets, n, Ours::allocate_specific, Ours::release)
            });
        }
        _ => return None,
    }
    Some(started.elapsed())
}
