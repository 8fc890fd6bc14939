//! Planning a cluster's address space, from a GPU count to placed, numbered segments.
//!
//! `ipam plan --gpus N` runs exactly this; `100k-assign` adds every node's addresses on every
//! segment (p2p31: 100,000 GPU NIC links, 200,000 addresses); `edge-40-sites` is 10,000 cameras
//! over 40 sites, `edge-5000-sites` 10,000 cameras over 5,000 sites in 50 regions, `edge-500-sites`
//! 500 sites of 20 cameras. Budget: 100k GPUs, and each edge fleet, in under 1 s.

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
    // (dataset, sites, devices per site, sites per region: 0 for none)
    for (dataset, sites, devices, per_region) in
        [("edge-40-sites", 40, 250, 0), ("edge-5000-sites", 5_000, 2, 100), ("edge-500-sites", 500, 20, 0)]
    {
        let edge = fleet(sites, devices, per_region);
        group.throughput(Throughput::Elements(sites * devices));
        group.bench_function(BenchmarkId::new("ours", dataset), |b| b.iter(|| plan(&edge).expect("plans")));
    }
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

/// An edge fleet of `sites` sites of `devices` devices, `per_region` sites to a region.
fn fleet(sites: u64, devices: u64, per_region: u64) -> Spec {
    Spec {
        growth: 1.5,
        sites: (0..sites)
            .map(|i| Site {
                name: format!("store-{i:04}"),
                devices,
                vlan: None,
                mtu: None,
                prefix: None,
                region: (per_region > 0).then(|| format!("region-{:02}", i / per_region)),
                mgmt: None,
                uplink: ipam_plan::Uplink::P2p31,
            })
            .collect(),
        ..Spec::default()
    }
}

criterion_group!(benches, planning);
criterion_main!(benches);
