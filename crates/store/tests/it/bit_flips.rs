//! A damaged file never costs an address: flip one bit of a small state file, then `list`,
//! `export` and `alloc` either refuse with the damaged-file error or work on exactly what was
//! written, and `alloc` never hands out an address that is held.
//!
//! CI flips a spread sample of the bits (every 13th); `IPAM_BITFLIP_ALL=1` flips every one:
//! `IPAM_BITFLIP_ALL=1 cargo test --release -p ipam-store --test it bit_flips -- --nocapture`.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use ipam_store::{Allocation, Error, Export, PoolDef, Request, Store};
use roaring::RoaringBitmap;

const POOLS: [&str; 4] = ["big", "cams", "dc", "rack"];

struct Baseline {
    bytes: Vec<u8>,
    lists: BTreeMap<&'static str, Vec<Allocation>>,
    export: Export,
    /// Each pool's allocated addresses (a child pool's block counts in the child, not the parent).
    used: BTreeMap<String, RoaringBitmap>,
}

fn baseline(dir: &Path) -> Baseline {
    let path = dir.join("baseline.db");
    {
        let mut store = Store::open(&path).unwrap();
        store.add_pool(&PoolDef::new("dc", "10.0.0.0/16".parse().unwrap()).gateway(true)).unwrap();
        let rack =
            PoolDef { parent: Some("dc".into()), ..PoolDef::new("rack", "10.0.4.0/24".parse().unwrap()) };
        store.add_pool(&rack).unwrap();
        let cams = PoolDef {
            exclusions: vec!["10.9.3.0/24".parse().unwrap()],
            policy: ipam_core::Policy::RoundRobin,
            ..PoolDef::new("cams", "10.9.0.0/22".parse().unwrap())
        };
        store.add_pool(&cams).unwrap();
        store.add_pool(&PoolDef::new("big", "10.64.0.0/12".parse().unwrap())).unwrap();
        let owners = |prefix: &str, n: usize| (0..n).map(|i| format!("{prefix}-{i:03}")).collect::<Vec<_>>();
        for (pool, prefix, n) in [("dc", "gpu-node", 20), ("rack", "bmc", 10), ("cams", "cam", 24)] {
            let names = owners(prefix, n);
            store
                .allocate_many(pool, Request::Next, &names.iter().map(String::as_str).collect::<Vec<_>>())
                .unwrap();
        }
        store.allocate("big", Request::Block(16), Some("tenant-a")).unwrap();
        store.allocate("big", Request::Range(300), Some("tenant-b")).unwrap();
        for a in ["10.66.1.1", "10.70.9.9", "10.79.255.254"] {
            store.allocate("big", Request::Addr(a.parse().unwrap()), None).unwrap();
        }
        store.release("dc", &ipam_store::Release::Owner("gpu-node-007".into())).unwrap();
    }
    let store = Store::open(&path).unwrap();
    let lists = POOLS.iter().map(|&p| (p, store.allocations(p).unwrap())).collect();
    let export = store.export().unwrap();
    let mut used: BTreeMap<String, RoaringBitmap> = BTreeMap::new();
    for p in &export.pools {
        let set = used.entry(p.def.name.clone()).or_default();
        for a in p.allocations.iter().filter(|a| !a.owner.as_deref().is_some_and(|o| o.starts_with("pool:")))
        {
            set.insert_range(u32::from(a.first)..=u32::from(a.last));
        }
    }
    drop(store);
    Baseline { bytes: std::fs::read(&path).unwrap(), lists, export, used }
}

/// A refusal with the damaged-file error (or, for a damaged header, "not ours"/"newer").
fn refused(e: &Error) -> bool {
    matches!(
        e,
        Error::Damaged { .. } | Error::Corrupt { .. } | Error::NotOurs { .. } | Error::NewerSchema { .. }
    )
}

#[derive(Default)]
struct Tally {
    refused_at_open: u64,
    refused_later: u64,
    unharmed: u64,
}

fn trial(base: &Baseline, path: &Path, bit: usize, tally: &mut Tally) -> Result<(), String> {
    for side in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{side}", path.display()));
    }
    let mut bytes = base.bytes.clone();
    bytes[bit / 8] ^= 1 << (bit % 8);
    std::fs::write(path, &bytes).unwrap();
    let mut store = match Store::open(path) {
        Ok(store) => store,
        Err(e) if refused(&e) => {
            tally.refused_at_open += 1;
            return Ok(());
        }
        Err(e) => return Err(format!("open: {e:?}")),
    };
    let mut damage_seen = false;
    let mut check = |what: &str, r: Result<(), Error>| match r {
        Ok(()) => Ok(()),
        Err(e) if refused(&e) => {
            damage_seen = true;
            Ok(())
        }
        Err(e) => Err(format!("{what}: {e:?}")),
    };
    for pool in POOLS {
        let listed = store
            .allocations(pool)
            .map(|list| if list != base.lists[pool] { Some(format!("list {pool} differs")) } else { None });
        match listed {
            Ok(Some(diff)) => return Err(diff),
            Ok(None) => {}
            Err(e) => check(&format!("list {pool}"), Err(e))?,
        }
    }
    match store.export() {
        Ok(export) if export != base.export => {
            let theirs = base.export.pools.iter().zip(&export.pools).find(|(a, b)| a != b);
            return Err(format!("export differs: {theirs:?}"));
        }
        Ok(_) => {}
        Err(e) => check("export", Err(e))?,
    }
    for pool in POOLS {
        match store.allocate(pool, Request::Next, Some("intruder")) {
            Ok(a) if base.used[pool].contains(u32::from(a.first)) => {
                return Err(format!("alloc {pool} handed out {} again", a.first));
            }
            Ok(a)
                if !base.export.pools.iter().any(|p| p.def.name == pool && p.def.cidr.contains(&a.first)) =>
            {
                return Err(format!("alloc {pool} handed out {} outside the pool", a.first));
            }
            Ok(_) => {}
            Err(e) => check(&format!("alloc {pool}"), Err(e))?,
        }
    }
    if damage_seen {
        tally.refused_later += 1
    } else {
        tally.unharmed += 1
    }
    Ok(())
}

fn scratch(name: &str) -> PathBuf {
    // tmpfs where there is one: thousands of small durable writes.
    let shm = Path::new("/dev/shm");
    let dir = if shm.is_dir() {
        shm.join(format!("ipam-{name}-{}", std::process::id()))
    } else {
        super::scratch(name)
    };
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn no_single_bit_flip_costs_an_address() {
    let dir = scratch("bit-flips");
    let base = baseline(&dir);
    let all = std::env::var_os("IPAM_BITFLIP_ALL").is_some();
    let stride = if all {
        1
    } else {
        std::env::var("IPAM_BITFLIP_STRIDE").ok().and_then(|s| s.parse().ok()).unwrap_or(13)
    };
    // IPAM_BITFLIP_ONLY=3,77,...: just these bits (to replay a report).
    let only: Option<Vec<usize>> = std::env::var("IPAM_BITFLIP_ONLY")
        .ok()
        .map(|s| s.split(',').filter_map(|b| b.trim().parse().ok()).collect());
    let path = dir.join("flipped.db");
    let mut tally = Tally::default();
    let mut failures = Vec::new();
    for bit in
        (0..base.bytes.len() * 8).step_by(stride).filter(|b| only.as_ref().is_none_or(|o| o.contains(b)))
    {
        if let Err(why) = trial(&base, &path, bit, &mut tally) {
            failures.push(format!("bit {bit} (byte {}, page {}): {why}", bit / 8, bit / 8 / 4096));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    if let Ok(report) = std::env::var("IPAM_BITFLIP_REPORT") {
        std::fs::write(report, failures.join("\n")).unwrap();
    }
    println!(
        "{} bytes, {} flips: {} refused at open, {} refused by a command, {} worked on identical data, {} broke the rule",
        base.bytes.len(),
        tally.refused_at_open + tally.refused_later + tally.unharmed + failures.len() as u64,
        tally.refused_at_open,
        tally.refused_later,
        tally.unharmed,
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} flips broke the rule, first: {:?}",
        failures.len(),
        &failures[..failures.len().min(20)]
    );
}

#[test]
fn the_baseline_is_sound() {
    let dir = scratch("bit-flips-baseline");
    let base = baseline(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(base.bytes.len() > 8 * 4096, "several pages: {}", base.bytes.len());
    assert_eq!(base.lists["dc"].len(), 20, "19 nodes and the rack's block");
    let _ = Ipv4Addr::UNSPECIFIED;
}
