//! Debian's real `bridge` and `macvlan` plugins calling `ipam-cni`, entirely inside network
//! namespaces this test creates: a "host" namespace where the plugins run (so the bridge, its
//! gateway address and the dummy master link never touch the machine's own namespace), and a
//! "container" namespace per pod. Skipped, with the reason printed, where the machine cannot.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use ipam_store::Store;

use super::{json, scratch};

const PLUGINS: &str = "/usr/lib/cni";

/// Network namespaces removed when the test ends, passing or failing.
struct Namespaces(Vec<String>);

impl Namespaces {
    fn add(&mut self, name: String) -> Result<String, String> {
        let out = Command::new("ip").args(["netns", "add", &name]).output().map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_owned());
        }
        self.0.push(name.clone());
        Ok(name)
    }
}

impl Drop for Namespaces {
    fn drop(&mut self) {
        for ns in self.0.iter().rev() {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

fn ip(args: &[&str]) -> String {
    let out = Command::new("ip").args(args).output().expect("ip runs");
    assert!(out.status.success(), "ip {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs a main plugin inside the host namespace, as a runtime would.
fn plugin(
    host: &str,
    plugin: &str,
    command: &str,
    pod: &str,
    ifname: &str,
    cni_path: &Path,
    conf: &str,
) -> Output {
    let mut child = Command::new("ip")
        .args(["netns", "exec", host, &format!("{PLUGINS}/{plugin}")])
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("CNI_COMMAND", command)
        .env("CNI_CONTAINERID", pod)
        .env("CNI_NETNS", format!("/var/run/netns/{pod}"))
        .env("CNI_IFNAME", ifname)
        .env("CNI_PATH", format!("{}:{PLUGINS}", cni_path.display()))
        .env("IPAM_CNI_NODE", "node-a")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ip netns exec runs");
    child.stdin.take().unwrap().write_all(conf.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

/// Why this machine cannot run the test, if it cannot.
fn unable() -> Option<String> {
    if !Path::new(&format!("{PLUGINS}/bridge")).exists() || !Path::new(&format!("{PLUGINS}/macvlan")).exists()
    {
        return Some(format!("no {PLUGINS}/bridge or macvlan (Debian package containernetworking-plugins)"));
    }
    match Command::new("id").arg("-u").output() {
        Ok(o) if String::from_utf8_lossy(&o.stdout).trim() == "0" => None,
        _ => Some("not root: network namespaces need it".into()),
    }
}

/// A directory holding our plugin under its CNI name.
fn cni_path(dir: &Path) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_ipam-cni"), bin.join("ipam-cni")).unwrap();
    bin
}

fn addresses(pod: &str, dev: &str) -> String {
    ip(&["-n", pod, "-4", "-o", "addr", "show", "dev", dev])
}

#[test]
fn bridge_and_macvlan_configure_the_address_we_hand_out() {
    if let Some(why) = unable() {
        println!("skipped: {why}");
        return;
    }
    let dir = scratch("cni-real-plugins");
    let state = dir.join("state.db");
    let bin = cni_path(&dir);
    let tag = std::process::id();
    let mut namespaces = Namespaces(Vec::new());
    let host = match namespaces.add(format!("ipamcni-host-{tag}")) {
        Ok(ns) => ns,
        Err(why) => {
            println!("skipped: cannot create a network namespace: {why}");
            return;
        }
    };
    let pods: Vec<String> =
        (0..2).map(|i| namespaces.add(format!("ipamcni-pod{i}-{tag}")).unwrap()).collect();
    ip(&["-n", &host, "link", "set", "lo", "up"]);

    // bridge, its gateway address on the bridge inside the host namespace.
    let bridge = format!(
        r#"{{"cniVersion": "1.0.0", "name": "rail0", "type": "bridge", "bridge": "ipamcni0", "isGateway": true,
            "ipam": {{"type": "ipam-cni", "subnet": "10.99.0.0/24", "state": "{}"}}}}"#,
        state.display()
    );
    let out = plugin(&host, "bridge", "ADD", &pods[0], "eth0", &bin, &bridge);
    assert!(
        out.status.success(),
        "bridge ADD: {} {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let given = json(&out)["ips"][0]["address"].as_str().unwrap().to_owned();
    assert_eq!(given, "10.99.0.2/24");
    assert!(addresses(&pods[0], "eth0").contains(&given), "{}", addresses(&pods[0], "eth0"));
    assert!(
        ip(&["-n", &host, "-4", "-o", "addr", "show", "dev", "ipamcni0"]).contains("10.99.0.1/24"),
        "the gateway on the bridge"
    );

    // macvlan on a dummy master link in the host namespace (a veth end where the kernel has no
    // dummy driver).
    let dummy = Command::new("ip")
        .args(["-n", &host, "link", "add", "ipamdummy0", "type", "dummy"])
        .output()
        .unwrap();
    if !dummy.status.success() {
        println!(
            "note: no dummy links here ({}); a veth end is the macvlan master",
            String::from_utf8_lossy(&dummy.stderr).trim()
        );
        ip(&["-n", &host, "link", "add", "ipamdummy0", "type", "veth", "peer", "name", "ipamdummy1"]);
        ip(&["-n", &host, "link", "set", "ipamdummy1", "up"]);
    }
    ip(&["-n", &host, "link", "set", "ipamdummy0", "up"]);
    let macvlan = format!(
        r#"{{"cniVersion": "1.0.0", "name": "rail1", "type": "macvlan", "master": "ipamdummy0", "mode": "bridge",
            "ipam": {{"type": "ipam-cni", "subnet": "10.98.0.0/24", "state": "{}", "node_block": 26}}}}"#,
        state.display()
    );
    let out = plugin(&host, "macvlan", "ADD", &pods[1], "net1", &bin, &macvlan);
    assert!(
        out.status.success(),
        "macvlan ADD: {} {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let given_macvlan = json(&out)["ips"][0]["address"].as_str().unwrap().to_owned();
    assert_eq!(given_macvlan, "10.98.0.2/24");
    assert!(addresses(&pods[1], "net1").contains(&given_macvlan));

    // CHECK through the main plugins, then DEL removes and releases.
    let store = Store::open_read_only(&state).unwrap();
    assert_eq!(store.find_owner(&format!("rail0/node-a/{}/eth0", pods[0])).unwrap().len(), 1);
    drop(store);
    for (name, conf, pod, ifname) in
        [("bridge", &bridge, &pods[0], "eth0"), ("macvlan", &macvlan, &pods[1], "net1")]
    {
        let out = plugin(&host, name, "DEL", pod, ifname, &bin, conf);
        assert!(out.status.success(), "{name} DEL: {}", String::from_utf8_lossy(&out.stdout));
        let left = Command::new("ip").args(["-n", pod, "link", "show", ifname]).output().unwrap();
        assert!(!left.status.success(), "{name}: {ifname} is still in the pod");
    }
    let store = Store::open_read_only(&state).unwrap();
    assert!(store.find_owner(&format!("rail0/node-a/{}/eth0", pods[0])).unwrap().is_empty(), "released");
    let cooling = store.allocations("rail0").unwrap();
    assert!(
        cooling.iter().all(|a| a.owner.as_deref().is_some_and(|o| o.starts_with("cooldown:"))),
        "{cooling:?}"
    );
    drop(namespaces);
    for ns in [&host, &pods[0], &pods[1]] {
        assert!(!Path::new(&format!("/var/run/netns/{ns}")).exists(), "{ns} was left behind");
    }
}
