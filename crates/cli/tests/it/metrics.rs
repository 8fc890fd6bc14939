//! `ipam metrics`, read back by a real parser of the Prometheus text format (Debian's
//! python3-prometheus-client, which CI installs), against `pool list --json`.

use std::io::Write;
use std::process::{Command, Stdio};

use super::{ipam, scratch, stderr, stdout};

/// The samples of an exposition as `NAME POOL NETWORK VALUE` lines, by the reference parser;
/// `None` (saying why) when it is not installed.
fn parsed(text: &str) -> Option<String> {
    let script = "import sys\nfrom prometheus_client.parser import text_string_to_metric_families as f\n\
                  for fam in f(sys.stdin.read()):\n\
                  \x20   assert fam.type == 'gauge', fam.type\n\
                  \x20   for s in fam.samples:\n\
                  \x20       print(s.name, s.labels['pool'], s.labels['network'], int(s.value))\n";
    for python in ["/usr/bin/python3", "python3"] {
        let Ok(mut child) = Command::new(python)
            .args(["-c", script])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
        else {
            continue;
        };
        child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        if out.status.success() {
            return Some(String::from_utf8(out.stdout).unwrap());
        }
        if !String::from_utf8_lossy(&out.stderr).contains("ModuleNotFoundError") {
            panic!("the parser refused the exposition: {}", String::from_utf8_lossy(&out.stderr));
        }
    }
    eprintln!("skipped: python3-prometheus-client is not installed (CI installs it)");
    None
}

#[test]
fn metrics_parse_and_match_pool_list() {
    let dir = scratch("metrics");
    let state = dir.join("ipam.db");
    let s = state.to_str().unwrap();
    for args in [
        &["pool", "add", "nodes", "10.20.0.0/24", "--gateway"][..],
        &["pool", "add", "edge", "10.30.0.0/16", "--container"],
        &["pool", "add", "cams", "10.30.4.0/24", "--parent", "edge"],
        &["alloc", "nodes", "--block", "26"],
        &["alloc", "cams", "--owner", "cam-1"],
    ] {
        let mut all = vec!["--state", s];
        all.extend_from_slice(args);
        let out = ipam(&all);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    }
    let out = ipam(&["--state", s, "metrics"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("# TYPE ipam_pool_free_addresses gauge"));
    let textfile = dir.join("ipam.prom");
    let out = ipam(&["--state", s, "metrics", "--textfile", textfile.to_str().unwrap()]);
    assert!(out.status.success() && stdout(&out).is_empty(), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&textfile).unwrap(), text);
    assert!(
        std::fs::read_dir(&dir).unwrap().all(|e| !e.unwrap().file_name().to_string_lossy().ends_with(".tmp"))
    );

    let pools: serde_json::Value =
        serde_json::from_str(&stdout(&ipam(&["--state", s, "pool", "list", "--json"]))).unwrap();
    let Some(samples) = parsed(&text) else { return };
    let value = |name: &str, pool: &str| -> u64 {
        let line = samples
            .lines()
            .find(|l| l.split(' ').take(2).eq([name, pool]))
            .unwrap_or_else(|| panic!("{name} {pool}"));
        line.rsplit(' ').next().unwrap().parse().unwrap()
    };
    for p in pools.as_array().unwrap() {
        let name = p["def"]["name"].as_str().unwrap();
        for (metric, field) in [
            ("ipam_pool_capacity_addresses", "capacity"),
            ("ipam_pool_allocated_addresses", "allocated"),
            ("ipam_pool_free_addresses", "free"),
        ] {
            assert_eq!(value(metric, name), p[field].as_u64().unwrap(), "{metric} {name}");
        }
        let len = p["largest_free_block"].as_str().map(|l| l.trim_start_matches('/').parse::<u32>().unwrap());
        let largest = len.map_or(0, |len| 1u64 << (32 - len));
        assert_eq!(value("ipam_pool_largest_free_block_addresses", name), largest, "{name}");
    }
    assert_eq!(value("ipam_pool_allocated_addresses", "edge"), 1, "a container counts its children's");
}
