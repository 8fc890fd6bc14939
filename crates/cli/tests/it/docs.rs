//! Completions and the manual, generated from the command definitions: the bash script parses
//! and names every command, and every page renders with `man -l` where man is installed.

use std::process::Command;

use super::{ipam, scratch, stderr, stdout};

const COMMANDS: [&str; 14] = [
    "plan",
    "pool",
    "alloc",
    "release",
    "list",
    "apply",
    "export",
    "import",
    "find",
    "metrics",
    "completions",
    "man",
    "check",
    "reconcile",
];

#[test]
fn completions_parse_and_cover_every_command() {
    let dir = scratch("completions");
    for shell in ["bash", "zsh", "fish"] {
        let out = ipam(&["completions", shell]);
        assert!(out.status.success(), "{shell}: {}", stderr(&out));
        let script = stdout(&out);
        for command in COMMANDS {
            assert!(script.contains(command), "{shell} completion misses {command}");
        }
        if shell == "bash" {
            let file = dir.join("ipam.bash");
            std::fs::write(&file, &script).unwrap();
            let checked = Command::new("bash").arg("-n").arg(&file).output().unwrap();
            assert!(checked.status.success(), "bash -n: {}", String::from_utf8_lossy(&checked.stderr));
            // Sourced, it registers the completion function.
            let sourced = Command::new("bash")
                .arg("-c")
                .arg(format!("source {} && complete -p ipam", file.display()))
                .output()
                .unwrap();
            assert!(stdout(&sourced).contains("_ipam"), "{}", stderr(&sourced));
        }
    }
    let out = ipam(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn the_manual_has_a_page_per_command_and_renders() {
    let page = stdout(&ipam(&["man"]));
    assert!(page.starts_with(".ie") || page.starts_with(".TH"), "{}", &page[..page.len().min(200)]);
    let dir = scratch("man");
    let out = ipam(&["man", "--dir", dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    for command in COMMANDS.iter().chain(&["pool-add", "pool-list", "pool-show", "pool-remove"]) {
        let file = dir.join(format!("ipam-{command}.1"));
        let text = std::fs::read_to_string(&file).unwrap_or_else(|_| panic!("no page for {command}"));
        assert!(page.contains(&format!(".TH ipam-{command} 1")), "the one-document manual misses {command}");
        if Command::new("man").arg("--version").output().is_err() {
            continue;
        }
        let rendered = Command::new("man").env("MANWIDTH", "100").arg("-l").arg(&file).output().unwrap();
        assert!(rendered.status.success(), "man -l {}: {}", file.display(), stderr(&rendered));
        assert!(stdout(&rendered).contains("SYNOPSIS"), "{command}: {}", stdout(&rendered));
        assert!(text.contains(".SH NAME"));
    }
    if Command::new("man").arg("--version").output().is_err() {
        eprintln!("skipped: man is not installed, the pages were only read as text");
    }
}
