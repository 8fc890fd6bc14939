//! The state file: a command costs what it touches, not what the file holds.
//!
//! Every iteration is what one `ipam` command does in-process: open the file, do the one thing,
//! close it (each write is one durable transaction: WAL, `synchronous = FULL`, an fsync). The
//! datasets are files holding 0, 100,000 or 1,000,000 allocations: `-same` works on the pool
//! that holds them, `-other` on a small pool beside it. `budgets.toml` holds every dataset to
//! 3x its time on the empty file (`[[scale]]`), bulk allocation of 10,000 owners to 1 s, and
//! applying a plan of 40,000 segments, or of 100,000 GPUs (17,000 pools with L2 per rack; or
//! 265,000 owned addresses with `--assign`) to a few seconds.
//!
//! The files are built once under `target/ipam-bench-state/` (about 20 s for the 1M file).

use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ipam_plan::{Aggregate, Kind, Role, Scope, Segment, Spec, plan};
use ipam_store::{PoolDef, Release, Request, Store};
use ipnet::Ipv4Net;

/// The pool holding the dataset's allocations, and the small pool beside it.
const BIG: &str = "big";
const SMALL: &str = "small";

fn dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/ipam-bench-state");
    std::fs::create_dir_all(&dir).expect("bench directory");
    dir
}

/// A state file with `n` allocations in `big` (10.0.0.0/8) and 10 in `small`.
fn state_file(n: usize) -> PathBuf {
    // The version in the name rebuilds the files when the format changes.
    let path = dir().join(format!("state-v3-{n}.db"));
    if path.exists() {
        return path;
    }
    let building = path.with_extension("building");
    let _ = std::fs::remove_file(&building);
    {
        let mut store = Store::open(&building).expect("opens");
        store.add_pool(&PoolDef::new(BIG, "10.0.0.0/8".parse().unwrap())).unwrap();
        store.add_pool(&PoolDef::new(SMALL, "11.0.0.0/24".parse().unwrap())).unwrap();
        let owners: Vec<String> = (0..n).map(|i| format!("node-{i:07}")).collect();
        for batch in owners.chunks(100_000) {
            let batch: Vec<&str> = batch.iter().map(String::as_str).collect();
            store.allocate_many(BIG, Request::Next, &batch).unwrap();
        }
        let small: Vec<String> = (0..10).map(|i| format!("small-{i}")).collect();
        store
            .allocate_many(SMALL, Request::Next, &small.iter().map(String::as_str).collect::<Vec<_>>())
            .unwrap();
    }
    std::fs::rename(&building, &path).unwrap();
    path
}

fn datasets() -> Vec<(String, PathBuf, &'static str)> {
    let mut out = Vec::new();
    for (label, n) in [("0", 0), ("100k", 100_000), ("1m", 1_000_000)] {
        let path = state_file(n);
        if n == 0 {
            out.push(("0".to_owned(), path, BIG));
        } else {
            out.push((format!("{label}-same"), path.clone(), BIG));
            out.push((format!("{label}-other"), path, SMALL));
        }
    }
    out
}

fn commands(c: &mut Criterion) {
    let sets = datasets();
    let mut group = c.benchmark_group("state_alloc_release");
    group.sample_size(20).warm_up_time(Duration::from_millis(300)).measurement_time(Duration::from_secs(3));
    for (dataset, path, pool) in &sets {
        group.bench_function(BenchmarkId::new("ours", dataset), |b| {
            b.iter(|| {
                let a = Store::open(path).unwrap().allocate(pool, Request::Next, None).unwrap();
                Store::open(path).unwrap().release(pool, &Release::Addr(a.first)).unwrap();
            })
        });
    }
    group.finish();
    // Reads work on the small pool while the big one holds the dataset.
    let reads = sets.iter().filter(|(d, _, pool)| *pool == SMALL || d == "0");
    let mut group = c.benchmark_group("state_read");
    group.sample_size(20).warm_up_time(Duration::from_millis(300)).measurement_time(Duration::from_secs(2));
    for (dataset, path, _) in reads {
        group.bench_function(BenchmarkId::new("ours", format!("list-{dataset}")), |b| {
            b.iter(|| Store::open_read_only(path).unwrap().allocations(SMALL).unwrap())
        });
        group.bench_function(BenchmarkId::new("ours", format!("pool-show-{dataset}")), |b| {
            b.iter(|| {
                let store = Store::open_read_only(path).unwrap();
                (store.pool(SMALL).unwrap(), store.free_blocks(SMALL).unwrap())
            })
        });
        group.bench_function(BenchmarkId::new("ours", format!("pool-list-{dataset}")), |b| {
            b.iter(|| Store::open_read_only(path).unwrap().pools().unwrap())
        });
    }
    group.finish();
}

fn bulk(c: &mut Criterion) {
    let mut group = c.benchmark_group("state_bulk");
    group.sample_size(10).warm_up_time(Duration::from_millis(300)).measurement_time(Duration::from_secs(5));
    let owners: Vec<String> = (0..10_000).map(|i| format!("cam-{i:05}")).collect();
    let owners: Vec<&str> = owners.iter().map(String::as_str).collect();
    let empty = state_file(0);
    let scratch = dir().join("bulk.db");
    group.throughput(Throughput::Elements(10_000));
    group.bench_function(BenchmarkId::new("ours", "alloc-10k-owners"), |b| {
        b.iter_batched(
            || copy(&empty, &scratch),
            |path| Store::open(path).unwrap().allocate_many(BIG, Request::Next, &owners).unwrap(),
            BatchSize::PerIteration,
        )
    });
    let plan = plan_of_segments(40_000);
    let scratch = dir().join("apply.db");
    group.throughput(Throughput::Elements(40_000));
    group.bench_function(BenchmarkId::new("ours", "apply-40k-segments"), |b| {
        b.iter_batched(
            || copy(&empty, &scratch),
            |path| Store::open(path).unwrap().apply(&plan).unwrap(),
            BatchSize::PerIteration,
        )
    });
    // Real plans (beside the files' pools): nested aggregates, every address handed out recorded.
    for (dataset, spec, assign) in [
        (
            "apply-100k-racks",
            "gpus = 100000\nsus_per_pod = 8\nl2_scope = \"rack\"\nbase = \"12.0.0.0/8\"\n",
            false,
        ),
        ("apply-100k-assign", "gpus = 100000\nsus_per_pod = 8\nbase = \"12.0.0.0/8\"\n", true),
    ] {
        let mut real = ipam_plan::plan(&Spec::from_toml(spec).unwrap()).unwrap();
        if assign {
            ipam_plan::assign(&mut real).unwrap();
        }
        group.throughput(Throughput::Elements(real.segments.len() as u64));
        group.bench_function(BenchmarkId::new("ours", dataset), |b| {
            b.iter_batched(
                || copy(&empty, &scratch),
                |path| Store::open(path).unwrap().apply(&real).unwrap(),
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

/// A fresh copy of `from` at `to` (its WAL and shared-memory files removed).
fn copy(from: &Path, to: &Path) -> PathBuf {
    for suffix in ["-wal", "-shm"] {
        let mut side = to.as_os_str().to_owned();
        side.push(suffix);
        let _ = std::fs::remove_file(side);
    }
    std::fs::copy(from, to).unwrap();
    to.to_owned()
}

/// A plan of `n` routed /29 segments in one aggregate (12.0.0.0/12): apply makes the aggregate a
/// pool and every segment a child pool carved from it.
fn plan_of_segments(n: u32) -> ipam_plan::Plan {
    let mut p = plan(&Spec::for_gpus(8)).expect("plans");
    let aggregate: Ipv4Net = "12.0.0.0/12".parse().unwrap();
    p.base = "12.0.0.0/8".parse().unwrap();
    p.growth = 1.0;
    p.anycast.clear();
    p.assignments = None;
    p.switches.clear();
    p.links.clear();
    p.topology = None; // no positions: nothing but the pools to create
    p.aggregates = vec![Aggregate {
        name: "rails".into(),
        role: Role::Backend,
        scope: Scope::default(),
        cidr: aggregate,
    }];
    p.segments = (0..n)
        .map(|i| Segment {
            name: format!("link-{i:05}"),
            role: Role::Backend,
            scope: Scope::default(),
            kind: Kind::Links,
            vlan: None,
            cidr: Ipv4Net::new(std::net::Ipv4Addr::from(u32::from(aggregate.network()) + i * 8), 29).unwrap(),
            gateway: None,
            mtu: 9000,
            switch_mtu: None,
            planned: 1,
            usable: 8,
            extends: None,
        })
        .collect();
    p.check().expect("a valid plan");
    p
}

criterion_group!(benches, commands, bulk);
criterion_main!(benches);
