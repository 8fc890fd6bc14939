//! The allocation hot path, ours beside the peers, one criterion group per operation.
//!
//! `cargo bench -p ipam-benches` runs everything (under 10 minutes on a 2-core machine);
//! `cargo run -p ipam-benches --release --bin budgets` then prints the table and checks the budgets.
//! Every iteration leaves the state as it found it (or swaps one used address for another), so every
//! call searches the same fill. Ids: `group/implementation/dataset`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{
    BatchSize, BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main, measurement::WallTime,
};
use ipam_benches::batches::timed_batches;
use ipam_benches::ours::{Ours, OursBestFit, OursFirstFit, OursRoundRobin};
use ipam_benches::peers::{GoIpam, IpRangeFree, K8sBitmap, NextFit, RoaringFree, WordScan};
use ipam_benches::{Allocator, BlockAllocator, Dataset};
use ipam_core::Pool;
use roaring::RoaringBitmap;

/// Peers whose one call can take milliseconds on a dense fill get the minimum sample count.
fn slow_settings<A: Allocator>(group: &mut BenchmarkGroup<'_, WallTime>, data: &Dataset) {
    let slow = matches!(A::NAME, "go_ipam" | "k8s_bitmap")
        || (A::NAME == "word_scan" || A::NAME == "roaring_free") && data.name == "frontier-99";
    if slow {
        group
            .sample_size(10)
            .warm_up_time(Duration::from_millis(200))
            .measurement_time(Duration::from_secs(2));
    } else {
        // Nanosecond calls: 1.5 s is hundreds of millions of iterations, and keeps the suite under
        // 10 minutes on 2 cores.
        group
            .sample_size(50)
            .warm_up_time(Duration::from_millis(300))
            .measurement_time(Duration::from_millis(1500));
    }
}

/// Next free address, then its release: the state never changes, so every call searches.
fn next_free<A: Allocator>(group: &mut BenchmarkGroup<'_, WallTime>, data: &Dataset) {
    slow_settings::<A>(group, data);
    group.bench_function(criterion::BenchmarkId::new(A::NAME, data.name), |b| {
        let mut pool = A::build(data);
        b.iter(|| {
            let offset = pool.allocate().expect("datasets leave room");
            pool.release(black_box(offset));
        })
    });
}

/// Release a random used address, then take the next free: the fill stays, the lowest free moves.
fn release_allocate<A: Allocator>(group: &mut BenchmarkGroup<'_, WallTime>, data: &Dataset, used: &[u32]) {
    slow_settings::<A>(group, data);
    group.bench_function(criterion::BenchmarkId::new(A::NAME, data.name), |b| {
        let mut pool = A::build(data);
        let mut used = used.to_vec();
        let mut rng = fastrand::Rng::with_seed(42);
        b.iter(|| {
            let i = rng.usize(0..used.len());
            pool.release(used[i]);
            used[i] = pool.allocate().expect("one was just released");
        })
    });
}

/// Release of one allocated address (random order), alone.
fn release<A: Allocator>(group: &mut BenchmarkGroup<'_, WallTime>, data: &Dataset, used: &[u32]) {
    slow_settings::<A>(group, data);
    group.bench_function(criterion::BenchmarkId::new(A::NAME, data.name), |b| {
        let mut pool = A::build(data);
        let mut offsets: Vec<u32> = used.to_vec();
        fastrand::Rng::with_seed(3).shuffle(&mut offsets);
        offsets.truncate(1 << 16);
        b.iter_custom(|iters| timed_batches(&mut pool, &offsets, iters, A::release, A::allocate_specific))
    });
}

/// Taking one given free address (random order), alone.
fn specific<A: Allocator>(group: &mut BenchmarkGroup<'_, WallTime>, data: &Dataset) {
    slow_settings::<A>(group, data);
    group.bench_function(criterion::BenchmarkId::new(A::NAME, data.name), |b| {
        let mut pool = A::build(data);
        let offsets = data.free_sample(1 << 16);
        b.iter_custom(|iters| timed_batches(&mut pool, &offsets, iters, A::allocate_specific, A::release))
    });
}

/// An aligned block of `2^order`, then its release.
fn block<A: BlockAllocator>(group: &mut BenchmarkGroup<'_, WallTime>, data: &Dataset, order: u32) {
    group.sample_size(20).warm_up_time(Duration::from_millis(300)).measurement_time(Duration::from_secs(2));
    group.bench_function(criterion::BenchmarkId::new(A::NAME, data.name), |b| {
        let mut pool = A::build(data);
        b.iter(|| {
            let start = pool.allocate_block(order).expect("the dataset has a free block");
            pool.release_block(black_box(start), order);
        })
    });
}

fn single_address_groups(c: &mut Criterion) {
    let datasets = Dataset::singles();

    let mut group = c.benchmark_group("next_free");
    group.throughput(Throughput::Elements(1));
    for data in &datasets {
        next_free::<OursFirstFit>(&mut group, data);
        next_free::<NextFit>(&mut group, data);
        next_free::<WordScan>(&mut group, data);
        next_free::<RoaringFree>(&mut group, data);
        next_free::<K8sBitmap>(&mut group, data);
        next_free::<GoIpam>(&mut group, data);
    }
    group.finish();

    let mut group = c.benchmark_group("release_allocate");
    group.throughput(Throughput::Elements(1));
    for data in datasets.iter().filter(|d| !d.used.is_empty()) {
        let used = data.used_sample(1 << 16);
        release_allocate::<OursFirstFit>(&mut group, data, &used);
        // The rolling policy beside `next_fit`, which rolls too: first fit reuses the lowest free.
        release_allocate::<OursRoundRobin>(&mut group, data, &used);
        release_allocate::<NextFit>(&mut group, data, &used);
        release_allocate::<WordScan>(&mut group, data, &used);
        release_allocate::<RoaringFree>(&mut group, data, &used);
        release_allocate::<K8sBitmap>(&mut group, data, &used);
        release_allocate::<GoIpam>(&mut group, data, &used);
    }
    group.finish();

    let mut group = c.benchmark_group("release");
    group.throughput(Throughput::Elements(1));
    for data in datasets.iter().filter(|d| d.name == "random-99" || d.name == "random-50") {
        let used = data.used_sample(1 << 16);
        release::<OursFirstFit>(&mut group, data, &used);
        release::<WordScan>(&mut group, data, &used);
        release::<RoaringFree>(&mut group, data, &used);
    }
    group.finish();

    let mut group = c.benchmark_group("specific");
    group.throughput(Throughput::Elements(1));
    for data in datasets.iter().filter(|d| d.name == "random-99" || d.name == "random-50") {
        specific::<OursFirstFit>(&mut group, data);
        specific::<WordScan>(&mut group, data);
        specific::<RoaringFree>(&mut group, data);
    }
    group.finish();

    let mut group = c.benchmark_group("policies");
    group.throughput(Throughput::Elements(1));
    for data in datasets.iter().filter(|d| d.name == "random-50" || d.name == "random-99") {
        let used = data.used_sample(1 << 16);
        release_allocate::<OursFirstFit>(&mut group, data, &used);
        release_allocate::<OursBestFit>(&mut group, data, &used);
        release_allocate::<OursRoundRobin>(&mut group, data, &used);
    }
    group.finish();
}

fn block_groups(c: &mut Criterion) {
    let sets = Dataset::fragmented_sets();
    for (name, order) in [("block_24", 8), ("block_16", 16)] {
        let mut group = c.benchmark_group(name);
        group.throughput(Throughput::Elements(1));
        for data in &sets {
            block::<OursFirstFit>(&mut group, data, order);
            block::<OursBestFit>(&mut group, data, order);
            block::<WordScan>(&mut group, data, order);
            block::<RoaringFree>(&mut group, data, order);
            block::<IpRangeFree>(&mut group, data, order);
        }
        group.finish();
    }
    let data = Dataset::fragmented();

    let mut group = c.benchmark_group("block_reserve");
    group.throughput(Throughput::Elements(1));
    group.sample_size(50).measurement_time(Duration::from_secs(2));
    let mut ours = OursFirstFit::build(&data);
    let free_24s: Vec<_> = {
        let mut probe = ours.pool.clone();
        std::iter::from_fn(|| probe.allocate_block(24).ok()).take(256).collect()
    };
    group.bench_function(criterion::BenchmarkId::new(OursFirstFit::NAME, data.name), |b| {
        let mut i = 0;
        b.iter(|| {
            let block = free_24s[i % free_24s.len()];
            i += 1;
            ours.pool.allocate_block_specific(black_box(block)).expect("free");
            ours.pool.release_block(block).expect("taken");
        })
    });
    group.finish();

    let mut group = c.benchmark_group("range_128");
    group.throughput(Throughput::Elements(1));
    group.sample_size(20).measurement_time(Duration::from_secs(3));
    for data in [Dataset::fragmented_16(), Dataset::fragmented()] {
        let mut ours = OursFirstFit::build(&data);
        let id = if data.order == 16 { "fragmented-16" } else { data.name };
        group.bench_function(criterion::BenchmarkId::new(OursFirstFit::NAME, id), |b| {
            b.iter(|| {
                let range = ours.pool.allocate_range(128).expect("room for 128");
                ours.pool.release_range(black_box(range)).expect("taken");
            })
        });
    }
    group.finish();
}

fn report_groups(c: &mut Criterion) {
    let data = Dataset::fragmented_16();
    let mut group = c.benchmark_group("free_blocks");
    group.sample_size(30).measurement_time(Duration::from_secs(2));
    let ours = OursFirstFit::build(&data);
    let cidrs = ours.pool.free_blocks().count() as u64;
    group.throughput(Throughput::Elements(cidrs));
    group.bench_function(criterion::BenchmarkId::new(OursFirstFit::NAME, data.name), |b| {
        b.iter(|| black_box(&ours.pool).free_blocks().count())
    });
    // Peer: the free set as a roaring bitmap, its runs cut into CIDRs the same greedy way.
    let mut free = RoaringBitmap::new();
    free.insert_range(0..1 << 16);
    free -= &data.used;
    group.bench_function(criterion::BenchmarkId::new(RoaringFree::NAME, data.name), |b| {
        b.iter(|| {
            let mut runs = black_box(&free).iter();
            let mut count = 0u64;
            while let Some(run) = runs.next_range() {
                let (mut pos, end) = (u64::from(*run.start()), u64::from(*run.end()) + 1);
                while pos < end {
                    pos += 1 << pos.trailing_zeros().min(16).min((end - pos).ilog2());
                    count += 1;
                }
            }
            count
        })
    });
    group.finish();

    // Rebuilding a pool from the exchange format: 1M allocated addresses spread over the /8.
    let mut group = c.benchmark_group("from_roaring");
    group.sample_size(10).measurement_time(Duration::from_secs(3));
    group.throughput(Throughput::Elements(1 << 20));
    let mut rng = fastrand::Rng::with_seed(11);
    let net = Ours::<0>::network(&Dataset::empty());
    let base = net.network().to_bits();
    let mut addresses = RoaringBitmap::new();
    while addresses.len() < 1 << 20 {
        addresses.insert(base + rng.u32(0..1 << 24));
    }
    group.bench_function(criterion::BenchmarkId::new(OursFirstFit::NAME, "random-1m"), |b| {
        b.iter_batched(
            || (),
            |()| Pool::from_allocated(net, black_box(&addresses)).expect("fits"),
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, single_address_groups, block_groups, report_groups);
criterion_main!(benches);
