//! `ipam-cni`: a Kubernetes CNI IPAM plugin (specification 1.1.0) on ipam's durable store.
//!
//! A main plugin (`bridge`, `macvlan`, `sriov`) or the runtime calls it with `"ipam": {"type":
//! "ipam-cni", ...}` in the network configuration. Every attachment (network, node, container,
//! interface) is an owner in the store, so a repeated ADD returns the same address, two
//! attachments never share one (a SQLite transaction decides, whatever runs at once), DEL
//! releases into a cooldown, and GC releases what the runtime no longer knows.
//!
//! ```
//! use ipam_cni::{Invocation, run};
//!
//! let dir = std::env::temp_dir().join(format!("ipam-cni-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let conf = format!(r#"{{"cniVersion": "1.0.0", "name": "rail0", "type": "macvlan",
//!     "ipam": {{"type": "ipam-cni", "subnet": "10.10.0.0/24", "state": "{}"}}}}"#,
//!     dir.join("state.db").display());
//! let add = Invocation {
//!     command: "ADD".into(), container_id: Some("c1".into()), ifname: Some("net1".into()),
//!     netns: Some("/var/run/netns/pod".into()), node: "node-a".into(), stdin: conf.into_bytes(),
//! };
//! let result = run(&add).unwrap().unwrap();
//! assert_eq!(result, r#"{"cniVersion":"1.0.0","ips":[{"address":"10.10.0.2/24","gateway":"10.10.0.1"}]}"#);
//! assert_eq!(run(&add).unwrap().unwrap(), result); // the same attachment, the same address
//! # std::fs::remove_dir_all(&dir).unwrap();
//! ```
//!
//! # Organization
//! - [`run`] takes an [`Invocation`] (environment and stdin) and returns the result or a
//!   [`CniError`]; the binary prints it.
//! - [`NetConf`] / [`Ipam`] read and check the configuration.

mod config;
mod error;
mod plugin;
mod pools;
mod version;

pub use config::{DEFAULT_COOLDOWN, DEFAULT_STATE, Ipam, NetConf, Route};
pub use error::CniError;
pub use plugin::{Invocation, run};
pub use version::SUPPORTED;
