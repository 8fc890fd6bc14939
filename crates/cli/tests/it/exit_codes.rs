//! Exit codes (0 ok, 1 bad input, 2 internal error) and one clear line per error.

use super::{ipam, scratch, stderr, stdout};

#[test]
fn the_main_command_works_without_a_file() {
    let out = ipam(&["plan", "--gpus", "1024"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("Plan for 1,024 GPUs"));
}

#[test]
fn help_and_version_exit_zero() {
    for args in [&["--help"][..], &["plan", "--help"], &["--version"]] {
        let out = ipam(args);
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        assert!(!out.stdout.is_empty());
    }
    // `plan` reads no state, so its help does not offer `--state`; the state commands' do.
    assert!(!stdout(&ipam(&["plan", "--help"])).contains("--state"));
    assert!(stdout(&ipam(&["alloc", "--help"])).contains("--state"));
    assert!(stdout(&ipam(&["--help"])).contains("Plans and hands out"));
}

#[test]
fn bad_input_exits_one_with_one_line() {
    let dir = scratch("bad-input");
    let write = |name: &str, text: &[u8]| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let unknown_key = write("unknown.toml", b"gpus = 8\ngpu_count = 8\n");
    let vlan = write("vlan.toml", b"gpus = 8\n[roles.storage]\nvlan = 4095\n");
    let too_small = write("small.toml", b"gpus = 1024\nbase = \"10.0.0.0/22\"\n");
    let binary = write("binary.toml", &[0xff, 0xfe, 0x00, 0x01]);
    let corrupt_plan = write("plan.json", b"{\"schema\": 1, \"segments\": 7}");
    let storage_122 = write("s122.toml", b"gpus = 256\n[roles.storage]\nvlan = 122\n");
    let storage_121 = write("s121.toml", b"gpus = 512\n[roles.storage]\nvlan = 121\n");
    let previous = dir.join("previous.json");
    let made = ipam(&["plan", &storage_122, "--format", "json", "--out", previous.to_str().unwrap()]);
    assert_eq!(made.status.code(), Some(0), "{}", stderr(&made));
    let previous = previous.to_str().unwrap().to_owned();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["plan"], "--gpus"),
        (vec!["plan", "--gpus", "-3"], "-3"),
        (vec!["plan", "--gpus", "1e9x"], "1e9x"),
        (vec!["plan", "--bogus"], "--bogus"),
        (vec!["plan", "--gpus", "8", "--format", "xml"], "xml"),
        (vec!["plan", "/nonexistent/spec.toml"], "/nonexistent/spec.toml"),
        (vec!["plan", &unknown_key], "line 2, column 1"),
        (vec!["plan", &vlan], "1-4094"),
        (vec!["plan", &too_small], "short by"),
        (vec!["plan", &binary], "UTF-8"),
        (vec!["plan", "--gpus", "8", "--format", "csv"], "--out DIR"),
        (vec!["plan", "--gpus", "8", "--previous", &corrupt_plan], "previous plan"),
        (
            vec!["plan", &storage_121, "--previous", &previous],
            "`storage-su00`: the spec says vlan 121 but the previous plan has 122",
        ),
        (vec!["plan", "--gpus", "8", "--prune"], "--previous"),
        (vec!["plan", "--gpus", "0"], "nothing to plan"),
    ];
    for (args, mentions) in cases {
        let out = ipam(&args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains(mentions), "{args:?} should mention {mentions:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?} printed to stdout");
    }
    // Every error is exactly one line, clap's included.
    for args in
        [&["plan", &vlan][..], &["plan", "--bogus"], &["alloc"], &["plan", "--gpus", "8", "--format", "xml"]]
    {
        let out = ipam(args);
        assert_eq!(stderr(&out).lines().count(), 1, "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn a_public_base_warns_on_stderr_and_succeeds() {
    let dir = scratch("public");
    let path = dir.join("public.toml");
    std::fs::write(&path, "gpus = 64\nbase = \"8.0.0.0/16\"\n").unwrap();
    for format in ["json", "table"] {
        let out = ipam(&["plan", path.to_str().unwrap(), "--format", format]);
        assert_eq!(out.status.code(), Some(0));
        assert!(stderr(&out).starts_with("warning: base 8.0.0.0/16"), "{format}");
        assert!(!stdout(&out).contains("warning: "), "{format}: warnings go to stderr only");
    }
}
