//! Golden files: every example in every format, compared byte for byte, so that any change to
//! a plan shows up as a reviewable diff. Regenerate with `UPDATE_GOLDEN=1 cargo test -p ipam-cli`.

use std::fs;
use std::path::Path;

use super::{ipam, root, scratch, stderr, stdout};

const EXAMPLES: [&str; 6] = [
    "gpu-256-one-su",
    "gpu-512-launch-kit",
    "gpu-1024-four-su",
    "gpu-16384-p2p31",
    "gpu-100k-multi-pod",
    "edge-fleet",
];

/// Outputs larger than this are kept as a digest (`FILE.digest`: length, lines and FNV-1a 64),
/// not byte for byte: the 100,000-GPU plan with assignments is 30 MB.
const LARGEST_KEPT_WHOLE: usize = 400_000;

/// The length, line count and FNV-1a 64-bit hash of `text`.
fn digest(text: &str) -> String {
    let hash =
        text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    format!("{} bytes, {} lines, fnv1a64 {hash:016x}\n", text.len(), text.lines().count())
}

fn compare(golden: &Path, actual: &str) {
    let digested = golden.with_file_name(format!("{}.digest", golden.file_name().unwrap().to_string_lossy()));
    let (golden, actual) = if actual.len() > LARGEST_KEPT_WHOLE {
        (digested.as_path(), digest(actual))
    } else {
        (golden, actual.to_owned())
    };
    let actual = actual.as_str();
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        fs::create_dir_all(golden.parent().unwrap()).unwrap();
        fs::write(golden, actual).unwrap();
        return;
    }
    let expected = fs::read_to_string(golden).unwrap_or_else(|_| {
        panic!("{} is missing: run UPDATE_GOLDEN=1 cargo test -p ipam-cli", golden.display())
    });
    if expected != actual {
        let line = expected.lines().zip(actual.lines()).position(|(a, b)| a != b).map_or(0, |i| i + 1);
        panic!(
            "{} differs (first at line {line}); review and run UPDATE_GOLDEN=1 cargo test -p ipam-cli",
            golden.display()
        );
    }
}

fn golden_dir(example: &str) -> std::path::PathBuf {
    root().join("crates/cli/tests/golden").join(example)
}

#[test]
fn every_example_in_every_format() {
    for example in EXAMPLES {
        let spec = format!("examples/{example}.toml");
        for (format, file) in [("table", "plan.txt"), ("json", "plan.json"), ("svg", "plan.svg")] {
            let out = ipam(&["plan", &spec, "--format", format]);
            assert!(out.status.success(), "{example} {format}: {}", stderr(&out));
            compare(&golden_dir(example).join(file), &stdout(&out));
        }
        let dir = scratch(&format!("csv-{example}"));
        let out = ipam(&["plan", &spec, "--format", "csv", "--out", dir.to_str().unwrap()]);
        assert!(out.status.success(), "{example} csv: {}", stderr(&out));
        assert_eq!(stdout(&out), "", "csv goes to files only");
        for file in ["vlan-groups.csv", "vlans.csv", "prefixes.csv"] {
            compare(&golden_dir(example).join(file), &fs::read_to_string(dir.join(file)).unwrap());
        }
        let out = ipam(&["plan", &spec, "--detail"]);
        assert!(out.status.success(), "{example} --detail: {}", stderr(&out));
        compare(&golden_dir(example).join("detail.txt"), &stdout(&out));
    }
}

#[test]
fn per_node_assignments_of_every_example() {
    for example in EXAMPLES {
        let spec = format!("examples/{example}.toml");
        let out = ipam(&["plan", &spec, "--assign", "--format", "json"]);
        assert!(out.status.success(), "{example}: {}", stderr(&out));
        compare(&golden_dir(example).join("assign.json"), &stdout(&out));
        let dir = scratch(&format!("csv-assign-{example}"));
        let out = ipam(&["plan", &spec, "--assign", "--format", "csv", "--out", dir.to_str().unwrap()]);
        assert!(out.status.success(), "{example}: {}", stderr(&out));
        if let Ok(addresses) = fs::read_to_string(dir.join("ip-addresses.csv")) {
            compare(&golden_dir(example).join("ip-addresses.csv"), &addresses);
        }
    }
}

#[test]
fn the_default_table_fits_a_screen_at_100k_gpus() {
    let out = ipam(&["plan", "examples/gpu-100k-multi-pod.toml"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let lines = stdout(&out).lines().count();
    assert!(lines <= 60, "{lines} lines");
}

#[test]
fn json_written_with_out_equals_stdout() {
    let dir = scratch("out-file");
    let path = dir.join("plan.json");
    let out = ipam(&["plan", "--gpus", "1024", "--format", "json", "--out", path.to_str().unwrap()]);
    assert!(out.status.success() && out.stdout.is_empty());
    let direct = ipam(&["plan", "--gpus", "1024", "--format", "json"]);
    assert_eq!(fs::read_to_string(path).unwrap(), stdout(&direct));
}

#[test]
fn replanning_from_a_previous_plan_keeps_it() {
    let dir = scratch("previous");
    let previous = dir.join("plan.json");
    let out = ipam(&["plan", "--gpus", "256", "--format", "json", "--out", previous.to_str().unwrap()]);
    assert!(out.status.success());
    let out = ipam(&["plan", "--gpus", "4096", "--previous", previous.to_str().unwrap(), "--format", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let before = ipam_plan::Plan::from_json(&fs::read_to_string(&previous).unwrap()).unwrap();
    let after = ipam_plan::Plan::from_json(&stdout(&out)).unwrap();
    for old in &before.segments {
        assert!(
            after
                .segments
                .contains(&ipam_plan::Segment { planned: after_planned(&after, &old.name), ..old.clone() })
        );
    }
}

fn after_planned(plan: &ipam_plan::Plan, name: &str) -> u64 {
    plan.segments.iter().find(|s| s.name == name).map_or(0, |s| s.planned)
}

#[test]
fn the_readme_shows_what_the_main_command_prints() {
    let readme = fs::read_to_string(root().join("README.md")).unwrap();
    let shown = readme
        .split_once("The first command prints:\n\n```text\n")
        .and_then(|(_, rest)| rest.split_once("```\n"))
        .map(|(block, _)| block)
        .expect("the README shows the first command's output");
    let out = ipam(&["plan", "--gpus", "1024"]);
    assert_eq!(shown, stdout(&out), "README.md's output block is stale: paste `ipam plan --gpus 1024`");
}

#[test]
fn dns_zones_of_every_example_with_nameservers() {
    for example in EXAMPLES {
        let spec = format!("examples/{example}.toml");
        let text = fs::read_to_string(root().join(&spec)).unwrap();
        let dir = scratch(&format!("dns-{example}"));
        let out = ipam(&["plan", &spec, "--assign", "--format", "dns", "--out", dir.to_str().unwrap()]);
        if !text.contains("nameservers") {
            assert_eq!(out.status.code(), Some(1), "{example}: no nameservers, no zones");
            assert!(stderr(&out).contains("nameservers"), "{}", stderr(&out));
            continue;
        }
        assert!(out.status.success(), "{example}: {}", stderr(&out));
        let mut files: Vec<_> = fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
        files.sort();
        for file in &files {
            let name = file.file_name().unwrap().to_string_lossy().into_owned();
            compare(&golden_dir(example).join("dns").join(&name), &fs::read_to_string(file).unwrap());
        }
        super::zones::check(&files);
    }
}

#[test]
fn every_example_map_renders_with_rsvg() {
    if std::process::Command::new("rsvg-convert").arg("--version").output().is_err() {
        eprintln!("rsvg-convert is not installed (Debian librsvg2-bin): the maps are only compared as text");
        return;
    }
    for example in EXAMPLES {
        let dir = scratch(&format!("svg-{example}"));
        let (svg, png) = (dir.join("plan.svg"), dir.join("plan.png"));
        let spec = format!("examples/{example}.toml");
        let out = ipam(&["plan", &spec, "--format", "svg", "--out", svg.to_str().unwrap()]);
        assert!(out.status.success(), "{example}: {}", stderr(&out));
        let render = std::process::Command::new("rsvg-convert")
            .args(["--width", "1600", "-o", png.to_str().unwrap(), svg.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(render.status.success(), "{example}: {}", String::from_utf8_lossy(&render.stderr));
        assert!(fs::metadata(&png).unwrap().len() > 1000, "{example}: an empty picture");
    }
}
