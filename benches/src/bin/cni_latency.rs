//! ADD and DEL latency of `ipam-cni` beside Debian's `host-local`, whole process, as a runtime
//! calls them: on an empty range and with 2,000 and 10,000 attachments held.
//!
//! ```sh
//! cargo build --release -p ipam-cni
//! cargo run --release -p ipam-benches --bin cni_latency [-- ITERATIONS]   # default 200
//! ```
//!
//! Each plugin gets its own fresh state in a temporary directory; the attachments held are made
//! by ADD calls first; then ITERATIONS times, an ADD of a new attachment and its DEL are timed.
//! Prints the median and the 99th percentile of each.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const HOST_LOCAL: &str = "/usr/lib/cni/host-local";

fn main() {
    let iterations: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(200);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let ours = root.join("target/release/ipam-cni");
    if !ours.exists() {
        eprintln!("cni_latency: build it first: cargo build --release -p ipam-cni");
        std::process::exit(2);
    }
    let plugins: Vec<(&str, PathBuf)> = if Path::new(HOST_LOCAL).exists() {
        vec![("ipam-cni", ours), ("host-local", PathBuf::from(HOST_LOCAL))]
    } else {
        eprintln!(
            "cni_latency: no {HOST_LOCAL} (Debian package containernetworking-plugins); measuring ours alone"
        );
        vec![("ipam-cni", ours)]
    };
    println!(
        "{:<11} {:>6}  {:>12} {:>12}  {:>12} {:>12}",
        "plugin", "held", "ADD median", "ADD p99", "DEL median", "DEL p99"
    );
    for held in [0usize, 2_000, 10_000] {
        for (name, binary) in &plugins {
            let dir =
                std::env::temp_dir().join(format!("ipam-cni-latency-{name}-{held}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            let conf = config(name, &dir);
            for i in 0..held {
                call(binary, "ADD", &format!("held-{i:05}"), &conf);
            }
            let (mut add, mut del) = (Vec::new(), Vec::new());
            for i in 0..iterations {
                let id = format!("probe-{i:05}");
                add.push(call(binary, "ADD", &id, &conf));
                del.push(call(binary, "DEL", &id, &conf));
            }
            println!(
                "{name:<11} {held:>6}  {:>12} {:>12}  {:>12} {:>12}",
                ms(percentile(&mut add, 0.5)),
                ms(percentile(&mut add, 0.99)),
                ms(percentile(&mut del, 0.5)),
                ms(percentile(&mut del, 0.99))
            );
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}

fn config(plugin: &str, dir: &Path) -> String {
    let ipam = if plugin == "host-local" {
        format!(
            r#"{{"type": "host-local", "subnet": "10.77.0.0/16", "dataDir": "{}"}}"#,
            dir.join("host-local").display()
        )
    } else {
        format!(
            r#"{{"type": "ipam-cni", "subnet": "10.77.0.0/16", "state": "{}"}}"#,
            dir.join("state.db").display()
        )
    };
    format!(r#"{{"cniVersion": "1.0.0", "name": "bench", "type": "bridge", "ipam": {ipam}}}"#)
}

/// One whole-process call; panics on failure (a benchmark of failures measures nothing).
fn call(binary: &Path, command: &str, container: &str, conf: &str) -> Duration {
    let started = Instant::now();
    let mut child = Command::new(binary)
        .env_clear()
        .env("CNI_COMMAND", command)
        .env("CNI_CONTAINERID", container)
        .env("CNI_IFNAME", "eth0")
        .env("CNI_NETNS", "/var/run/netns/bench")
        .env("CNI_PATH", "/usr/lib/cni")
        .env("IPAM_CNI_NODE", "bench-node")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the plugin runs");
    child.stdin.take().unwrap().write_all(conf.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let took = started.elapsed();
    assert!(out.status.success(), "{} {command}: {}", binary.display(), String::from_utf8_lossy(&out.stdout));
    took
}

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort_unstable();
    let rank = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[rank.min(samples.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}
