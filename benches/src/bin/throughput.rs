//! Durable allocations per second with 1, 2, 4 and 8 concurrent controllers, each its own
//! connection: on one pool and on 8 pools, on PostgreSQL and on an SQLite file, beside the
//! in-memory `ipam_core::Pool`. Not a test: a measurement for the README.
//!
//! ```text
//! cargo run --release -p ipam-benches --bin throughput -- 'postgresql:///ipam_bench?host=/tmp/pg' [SECONDS]
//! ```
//! The database is emptied first (`ipam_meta`, `pools`, `chunks`, `allocations` and the `chunk_versions` sequence are dropped).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ipam_store::{PoolDef, Request, Store};

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(url) = args.next() else {
        eprintln!("usage: throughput POSTGRES_URL [SECONDS]");
        std::process::exit(2);
    };
    let seconds: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(5);
    let dir = std::env::temp_dir().join(format!("ipam-throughput-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sqlite = dir.join("state.db").display().to_string();
    println!(
        "| controllers | pools | PostgreSQL allocs/s | transactions per allocation | client CPU per allocation | SQLite file allocs/s |"
    );
    println!("|---:|---:|---:|---:|---:|---:|");
    for pools in [1, 8] {
        for controllers in [1, 2, 4, 8] {
            let (pg, per, cpu) = run(&url, controllers, pools, seconds, true);
            let _ = std::fs::remove_file(&sqlite);
            let (lite, _, _) = run(&sqlite, controllers, pools, seconds, false);
            println!("| {controllers} | {pools} | {pg:.0} | {per:.2} | {cpu:.0} us | {lite:.0} |");
        }
    }
    let memory = in_memory(seconds);
    println!("\nin-memory ipam_core::Pool, one thread, not durable: {memory:.0} allocs/s");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Allocations per second from `controllers` threads, each with its own store, spread over
/// `pools` pools (controller i uses pool i mod pools); and on PostgreSQL, how many transactions
/// the server committed or rolled back per allocation (each controller's first reads included);
/// and this process's CPU time per allocation, in microseconds.
fn run(location: &str, controllers: usize, pools: usize, seconds: u64, postgres: bool) -> (f64, f64, f64) {
    if postgres {
        empty(location);
    }
    let mut store = Store::open(location).unwrap();
    for p in 0..pools {
        let cidr = format!("10.{}.0.0/12", 16 * p).parse().unwrap();
        store.add_pool(&PoolDef::new(&format!("p{p}"), cidr)).unwrap();
    }
    drop(store);
    let transactions_before = if postgres { transactions(location) } else { 0 };
    let cpu_before = cpu_seconds();
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..controllers)
        .map(|c| {
            let (location, stop, done) = (location.to_owned(), stop.clone(), done.clone());
            std::thread::spawn(move || {
                let mut store = Store::open(&location).unwrap();
                let pool = format!("p{}", c % pools);
                while !stop.load(Ordering::Relaxed) {
                    store.allocate(&pool, Request::Next, None).unwrap();
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    // Connections made and statements prepared: count from here.
    std::thread::sleep(Duration::from_millis(300));
    let (start, before) = (Instant::now(), done.load(Ordering::Relaxed));
    std::thread::sleep(Duration::from_secs(seconds));
    let (elapsed, after) = (start.elapsed(), done.load(Ordering::Relaxed));
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.join().unwrap();
    }
    let cpu = (cpu_seconds() - cpu_before) * 1e6 / done.load(Ordering::Relaxed) as f64;
    let per = if postgres {
        // The workers' sessions have ended, and with them their statistics were written.
        std::thread::sleep(Duration::from_millis(200));
        (transactions(location) - transactions_before) as f64 / done.load(Ordering::Relaxed) as f64
    } else {
        0.0
    };
    ((after - before) as f64 / elapsed.as_secs_f64(), per, cpu)
}

/// CPU time (user and system) this process has used, in seconds, from `/proc/self/stat`.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command's closing parenthesis: utime and stime are the 12th and 13th.
    let rest = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let ticks: f64 = rest.split_whitespace().skip(11).take(2).filter_map(|t| t.parse::<f64>().ok()).sum();
    ticks / 100.0
}

/// Transactions the server has committed or rolled back in the database, as its statistics say.
fn transactions(url: &str) -> i64 {
    let mut client = postgres::Client::connect(url, postgres::NoTls).unwrap();
    let row = client
        .query_one(
            "SELECT (xact_commit + xact_rollback)::bigint FROM pg_stat_database WHERE datname = current_database()",
            &[],
        )
        .unwrap();
    row.get(0)
}

fn empty(url: &str) {
    let mut client = postgres::Client::connect(url, postgres::NoTls).unwrap();
    client.batch_execute("DROP TABLE IF EXISTS allocations, chunks, pools, ipam_meta; DROP SEQUENCE IF EXISTS chunk_versions").unwrap();
}

fn in_memory(seconds: u64) -> f64 {
    let mut pool = ipam_core::Pool::new("10.0.0.0/8".parse().unwrap()).unwrap();
    let (start, mut n) = (Instant::now(), 0u64);
    while start.elapsed() < Duration::from_secs(seconds) {
        for _ in 0..1000 {
            if pool.allocate().is_err() {
                pool = ipam_core::Pool::new("10.0.0.0/8".parse().unwrap()).unwrap();
            }
            n += 1;
        }
    }
    n as f64 / start.elapsed().as_secs_f64()
}
