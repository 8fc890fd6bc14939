//! The verbs: what the runtime asks, on the store.

use std::path::Path;

use ipam_store::{Release, Request, Store};
use serde_json::{Value, json};

use crate::config::NetConf;
use crate::version::{SUPPORTED, at_least, names_ip_version};
use crate::{CniError, pools};

/// One call of the plugin: the CNI environment variables and stdin.
///
/// ```
/// use ipam_cni::Invocation;
///
/// let call = Invocation { command: "VERSION".into(), stdin: br#"{"cniVersion": "1.0.0"}"#.to_vec(), ..Invocation::default() };
/// let out = ipam_cni::run(&call).unwrap().unwrap();
/// assert!(out.contains(r#""supportedVersions":["0.3.0","0.3.1","0.4.0","1.0.0","1.1.0"]"#));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Invocation {
    /// `CNI_COMMAND`.
    pub command: String,
    /// `CNI_CONTAINERID`.
    pub container_id: Option<String>,
    /// `CNI_IFNAME`.
    pub ifname: Option<String>,
    /// `CNI_NETNS`.
    pub netns: Option<String>,
    /// The node this plugin runs on (`IPAM_CNI_NODE`, else the host name).
    pub node: String,
    /// The network configuration.
    pub stdin: Vec<u8>,
}

impl Invocation {
    /// The call as the process environment describes it (empty variables count as unset).
    ///
    /// ```
    /// let call = ipam_cni::Invocation::from_env(Vec::new());
    /// assert!(!call.node.is_empty());
    /// ```
    pub fn from_env(stdin: Vec<u8>) -> Invocation {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let node = var("IPAM_CNI_NODE").or_else(host_name).unwrap_or_else(|| "localhost".to_owned());
        Invocation {
            command: var("CNI_COMMAND").unwrap_or_default(),
            container_id: var("CNI_CONTAINERID"),
            ifname: var("CNI_IFNAME"),
            netns: var("CNI_NETNS"),
            node,
            stdin,
        }
    }
}

fn host_name() -> Option<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    Some(name.trim().to_owned()).filter(|n| !n.is_empty())
}

/// Runs one call. `Ok(Some(text))` is a result for stdout, `Ok(None)` a success that prints
/// nothing; an error is printed as the spec's error JSON (see [`CniError::to_json`]).
///
/// ```
/// use ipam_cni::{CniError, Invocation};
///
/// let call = Invocation { command: "ADD".into(), stdin: b"{}".to_vec(), ..Invocation::default() };
/// assert_eq!(ipam_cni::run(&call).unwrap_err().code, CniError::INVALID_CONFIG);
/// ```
pub fn run(call: &Invocation) -> Result<Option<String>, CniError> {
    if call.command == "VERSION" {
        return Ok(Some(version(&call.stdin)));
    }
    let conf = NetConf::parse(&call.stdin)?;
    match call.command.as_str() {
        "ADD" => add(call, &conf).map(Some),
        "DEL" => del(call, &conf).map(|()| None),
        "CHECK" => check(call, &conf).map(|()| None),
        "GC" => gc(call, &conf).map(|()| None),
        "STATUS" => status(call, &conf).map(|()| None),
        "" => Err(CniError::new(CniError::INVALID_ENVIRONMENT, "CNI_COMMAND is missing")),
        other => Err(CniError::new(
            CniError::INVALID_ENVIRONMENT,
            format!("unknown CNI_COMMAND `{}`", crate::config::excerpt(other)),
        )),
    }
}

/// VERSION: the versions spoken, answered in the version asked.
fn version(stdin: &[u8]) -> String {
    let asked: Option<String> = serde_json::from_slice::<Value>(stdin)
        .ok()
        .and_then(|v| v.get("cniVersion").and_then(Value::as_str).map(str::to_owned))
        .filter(|v| SUPPORTED.contains(&v.as_str()));
    json!({ "cniVersion": asked.as_deref().unwrap_or("1.1.0"), "supportedVersions": SUPPORTED }).to_string()
}

/// The owner of an attachment: `NETWORK/NODE/CONTAINER/IFNAME`, unique per network, visible in
/// `ipam list` and releasable with `ipam release POOL --owner ...`.
fn owner(call: &Invocation, conf: &NetConf) -> Result<String, CniError> {
    let id = attachment_part(call.container_id.as_deref(), "CNI_CONTAINERID")?;
    let ifname = attachment_part(call.ifname.as_deref(), "CNI_IFNAME")?;
    let owner = format!("{}/{}/{id}/{ifname}", conf.name, call.node);
    if owner.len() > 255 || owner.chars().any(char::is_control) {
        return Err(CniError::new(
            CniError::INVALID_ENVIRONMENT,
            format!(
                "the attachment `{}` is over 255 bytes: shorten the node name (IPAM_CNI_NODE)",
                crate::config::excerpt(&owner)
            ),
        ));
    }
    Ok(owner)
}

fn attachment_part<'a>(value: Option<&'a str>, name: &str) -> Result<&'a str, CniError> {
    let value =
        value.ok_or_else(|| CniError::new(CniError::INVALID_ENVIRONMENT, format!("{name} is missing")))?;
    let fine = value.len() <= 100 && value.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    if fine {
        Ok(value)
    } else {
        Err(CniError::new(
            CniError::INVALID_ENVIRONMENT,
            format!(
                "{name} `{}` is not 1-100 letters, digits, `-`, `_` or `.`",
                crate::config::excerpt(value)
            ),
        ))
    }
}

/// The state: a file's path or a PostgreSQL URL (shared by every node).
fn state_path(conf: &NetConf) -> Result<&str, CniError> {
    Ok(conf.ipam.state.as_str())
}

/// A store error, naming the state (a URL without its password).
fn at_state(state: &str) -> impl Fn(ipam_store::Error) -> CniError + '_ {
    move |e| {
        let mut err = CniError::from(e);
        let shown = ipam_store::redacted(state);
        err.msg = format!("state {}: {}", crate::config::excerpt(&shown), err.msg);
        err
    }
}

/// Opens the state for writing (creating the file, not its directory).
fn open(conf: &NetConf) -> Result<Store, CniError> {
    let state = state_path(conf)?;
    Store::open(state).map_err(at_state(state))
}

/// Opens the state for an ADD: the first one on a node creates the file and its directory.
fn open_creating(conf: &NetConf) -> Result<Store, CniError> {
    let state = state_path(conf)?;
    let file = (!ipam_store::is_postgres_url(state)).then(|| Path::new(state));
    if let Some(dir) = file.and_then(Path::parent).filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
        std::fs::create_dir_all(dir).map_err(|e| {
            CniError::new(
                CniError::IO_FAILURE,
                format!("creating {}: {e}", crate::config::excerpt(&dir.display().to_string())),
            )
        })?;
    }
    open(conf)
}

/// Opens an existing state for writing; `None` if there is none yet (nothing is created).
fn open_existing(conf: &NetConf) -> Result<Option<Store>, CniError> {
    let state = state_path(conf)?;
    // A database is always there to open (an empty one gets the schema, harmlessly).
    if !ipam_store::is_postgres_url(state) && !Path::new(state).exists() {
        return Ok(None);
    }
    open(conf).map(Some)
}

/// Opens an existing state for reading only (CHECK, STATUS): no write lock, works on a read-only
/// mount; `None` if there is none yet.
fn open_to_read(conf: &NetConf) -> Result<Option<Store>, CniError> {
    let state = state_path(conf)?;
    let postgres = ipam_store::is_postgres_url(state);
    if !postgres && !Path::new(state).exists() {
        return Ok(None);
    }
    match Store::open_read_only(state) {
        // A database with no schema yet: the first ADD creates it.
        Err(ipam_store::Error::NoStateFile { .. }) if postgres => Ok(None),
        opened => opened.map(Some).map_err(at_state(state)),
    }
}

/// ADD: the attachment's address (the same one again if it has one), with gateway and routes.
fn add(call: &Invocation, conf: &NetConf) -> Result<String, CniError> {
    let owner = owner(call, conf)?;
    if call.netns.is_none() {
        return Err(CniError::new(CniError::INVALID_ENVIRONMENT, "CNI_NETNS is missing"));
    }
    let mut store = open_creating(conf)?;
    let pool = pools::ensure(&mut store, &conf.ipam, &call.node)?;
    let held = store.allocate(&pool, Request::Next, Some(&owner))?;
    let ipam = &conf.ipam;
    let mut ip = json!({ "address": format!("{}/{}", held.first, ipam.subnet.prefix_len()) });
    if let Some(gateway) = ipam.gateway {
        ip["gateway"] = gateway.to_string().into();
    }
    if names_ip_version(&conf.cni_version) {
        ip["version"] = "4".into();
    }
    let routes: Vec<Value> = ipam
        .routes
        .iter()
        .map(|r| match r.gw {
            Some(gw) => json!({ "dst": r.dst.to_string(), "gw": gw.to_string() }),
            None => json!({ "dst": r.dst.to_string() }),
        })
        .collect();
    let mut result = json!({ "cniVersion": conf.cni_version, "ips": [ip] });
    if !routes.is_empty() {
        result["routes"] = routes.into();
    }
    Ok(result.to_string())
}

/// DEL: releases the attachment's address into the cooldown; nothing to release is success.
fn del(call: &Invocation, conf: &NetConf) -> Result<(), CniError> {
    let owner = owner(call, conf)?;
    let Some(mut store) = open_existing(conf)? else { return Ok(()) };
    let Some(pool) = pools::existing(&store, &conf.ipam, &call.node)? else { return Ok(()) };
    match store.release_cooling(&pool, &Release::Owner(owner), conf.ipam.cooldown) {
        Ok(_) | Err(ipam_store::Error::NoSuchAllocation { .. }) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// CHECK: the attachment holds an address, and the one its previous result names.
fn check(call: &Invocation, conf: &NetConf) -> Result<(), CniError> {
    if !at_least(&conf.cni_version, "0.4.0") {
        return Err(CniError::new(CniError::INCOMPATIBLE_VERSION, "config version does not allow CHECK"));
    }
    let owner = owner(call, conf)?;
    let unknown =
        || CniError::new(CniError::UNKNOWN_CONTAINER, format!("no address is recorded for {owner}"));
    let store = open_to_read(conf)?.ok_or_else(unknown)?;
    let pool = pools::existing(&store, &conf.ipam, &call.node)?.ok_or_else(unknown)?;
    let held = store.find_owner(&owner)?.into_iter().find(|h| h.pool == pool).ok_or_else(unknown)?;
    if !conf.prev_ips.is_empty() && !conf.prev_ips.contains(&held.allocation.first) {
        return Err(CniError::new(
            CniError::ADDRESS_MISMATCH,
            format!(
                "{owner} holds {} in pool `{pool}`, not {:?} as its result says",
                held.allocation.first, conf.prev_ips
            ),
        ));
    }
    Ok(())
}

/// GC: releases every attachment of this network on this node that the runtime no longer lists.
fn gc(call: &Invocation, conf: &NetConf) -> Result<(), CniError> {
    if !at_least(&conf.cni_version, "1.1.0") {
        return Err(CniError::new(CniError::INCOMPATIBLE_VERSION, "config version does not allow GC"));
    }
    let valid = conf.valid_attachments.clone().ok_or_else(|| {
        CniError::new(
            CniError::INVALID_CONFIG,
            "GC needs `cni.dev/valid-attachments` (an empty list releases everything)",
        )
    })?;
    let Some(mut store) = open_existing(conf)? else { return Ok(()) };
    let Some(pool) = pools::existing(&store, &conf.ipam, &call.node)? else { return Ok(()) };
    let prefix = format!("{}/{}/", conf.name, call.node);
    let keep = |owner: &str| {
        let rest = owner.strip_prefix(&prefix).unwrap_or_default();
        rest.rsplit_once('/').is_some_and(|(id, ifname)| valid.contains(&(id.to_owned(), ifname.to_owned())))
    };
    store.release_owned(&pool, &prefix, keep, conf.ipam.cooldown)?;
    Ok(())
}

/// STATUS: whether an ADD can succeed now.
fn status(call: &Invocation, conf: &NetConf) -> Result<(), CniError> {
    if !at_least(&conf.cni_version, "1.1.0") {
        return Err(CniError::new(CniError::INCOMPATIBLE_VERSION, "config version does not allow STATUS"));
    }
    let unavailable = |code, why: String| Err(CniError::new(code, why));
    let store = match open_to_read(conf) {
        Ok(Some(store)) => store,
        Ok(None) if ipam_store::is_postgres_url(&conf.ipam.state) => return Ok(()),
        Ok(None) => {
            // ADD will create the state file and its directory: the nearest existing one must be
            // a writable directory.
            let mut dir = Path::new(&conf.ipam.state)
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            while !dir.exists()
                && let Some(up) = dir.parent().filter(|d| !d.as_os_str().is_empty())
            {
                dir = up;
            }
            let writable = std::fs::metadata(dir).is_ok_and(|m| m.is_dir() && !m.permissions().readonly());
            return if writable {
                Ok(())
            } else {
                unavailable(
                    CniError::NOT_AVAILABLE,
                    format!("state directory {} is not writable", dir.display()),
                )
            };
        }
        Err(e) if e.code == CniError::IO_FAILURE => {
            return unavailable(CniError::NOT_AVAILABLE_DEGRADED, e.msg);
        }
        Err(e) => return unavailable(CniError::NOT_AVAILABLE, e.msg),
    };
    let pools = store.pools().map_err(|e| CniError::new(CniError::NOT_AVAILABLE_DEGRADED, e.to_string()))?;
    let free = |name: &str| pools.iter().find(|p| p.def.name == name).map(|p| p.free);
    let node_pool = pools::existing(&store, &conf.ipam, &call.node)?;
    let room = match (conf.ipam.node_block, node_pool) {
        // The node's block has room, or the subnet can still give the node a block.
        (Some(len), node) => {
            node.as_deref().and_then(free).is_some_and(|f| f > 0)
                || (node.is_none()
                    && pools.iter().any(|p| {
                        p.def.name == conf.ipam.pool && p.largest_free_block.is_some_and(|l| l <= len)
                    }))
                || free(&conf.ipam.pool).is_none()
        }
        (None, _) => free(&conf.ipam.pool).is_none_or(|f| f > 0),
    };
    if room {
        Ok(())
    } else {
        unavailable(
            CniError::NOT_AVAILABLE,
            format!("pool `{}` has no free address for this node", conf.ipam.pool),
        )
    }
}
