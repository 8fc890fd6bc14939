//! `ipam-cni` driven exactly as a runtime drives it: environment variables, stdin, stdout.

mod concurrency;
mod real_plugins;
mod verbs;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A fresh scratch directory under the target directory.
fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch directory");
    dir
}

/// One attachment's call: the verb, container ID, interface and node.
struct Call<'a> {
    command: &'a str,
    container: &'a str,
    ifname: &'a str,
    node: &'a str,
}

impl<'a> Call<'a> {
    fn new(command: &'a str, container: &'a str, ifname: &'a str) -> Call<'a> {
        Call { command, container, ifname, node: "node-a" }
    }

    fn on(mut self, node: &'a str) -> Call<'a> {
        self.node = node;
        self
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ipam-cni"));
        cmd.env_clear()
            .env("CNI_COMMAND", self.command)
            .env("CNI_CONTAINERID", self.container)
            .env("CNI_IFNAME", self.ifname)
            .env("CNI_NETNS", "/var/run/netns/test")
            .env("CNI_PATH", "/opt/cni/bin")
            .env("IPAM_CNI_NODE", self.node)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    fn run(&self, config: &str) -> Output {
        let mut child = self.command().spawn().expect("ipam-cni runs");
        child.stdin.take().unwrap().write_all(config.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    }
}

/// A network configuration for `name` on `subnet`, with extra `ipam` keys.
fn config(version: &str, name: &str, state: &Path, subnet: &str, extra: &str) -> String {
    format!(
        r#"{{"cniVersion": "{version}", "name": "{name}", "type": "macvlan", "master": "eth0",
            "ipam": {{"type": "ipam-cni", "subnet": "{subnet}", "state": "{}"{extra}}}}}"#,
        state.display()
    )
}

/// stdout as JSON.
fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

/// The address (without prefix length) of an ADD result.
fn address(out: &Output) -> String {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    let text = json(out)["ips"][0]["address"].as_str().unwrap().to_owned();
    text.split('/').next().unwrap().to_owned()
}

/// Asserts an error result with `code`, and returns its message.
fn error(out: &Output, code: u64) -> String {
    assert!(!out.status.success(), "succeeded: {}", String::from_utf8_lossy(&out.stdout));
    let value = json(out);
    assert_eq!(value["code"], code, "{value}");
    value["msg"].as_str().unwrap_or_default().to_owned()
}
