//! Planning a cluster's address space, from a GPU count to placed, numbered segments.
//!
//! `ipam plan --gpus N` runs exactly this; `100k-assign` adds every node's addresses on every
//! segment (p2p31: 100,000 GPU NIC links, 200,000 addresses); `edge-40-sites` is 10,000 cameras
//! over 40 sites. Budget: 100k GPUs, and the edge fleet, in under 1 s.

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ipam_plan::{Site, Spec, assign, plan};

fn planning(c: &mut Criterion) {
    let mut group = c.benchmark_group("plan");
    group.sample_size(10).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(3));
    for (dataset, gpus) in [("1k", 1_024u32), ("16k", 16_384), ("100k", 100_000)] {
        let spec = Spec::for_gpus(gpus);
        group.throughput(Throughput::Elements(gpus.into()));
        group.bench_function(BenchmarkId::new("ours", dataset), |b| b.iter(|| plan(&spec).expect("plans")));
    }
    let edge = Spec {
        growth: 1.5,
        sites: (1..=40)
            .map(|i| Site {
                name: format!("store-{i:02}"),
                devices: 250,
                vlan: None,
                mtu: None,
                prefix: None,
            })
            .collect(),
        ..Spec::default()
    };
    group.throughput(Throughput::Elements(10_000));
    group.bench_function(BenchmarkId::new("ours", "edge-40-sites"), |b| {
        b.iter(|| plan(&edge).expect("plans"))
    });
    let spec = Spec::for_gpus(100_000);
    group.throughput(Throughput::Elements(100_000));
    group.bench_function(BenchmarkId::new("ours", "100k-assign"), |b| {
        b.iter(|| {
            let mut p = plan(&spec).expect("plans");
            assign(&mut p).expect("assigns");
            p
        })
    });
    group.finish();
}

criterion_group!(benches, planning);
criterion_main!(benches);
