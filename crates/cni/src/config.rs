//! The network configuration on stdin, and its `ipam` object, checked before anything is done.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use ipam_core::Policy;
use ipnet::Ipv4Net;
use serde_json::{Map, Value};

use crate::CniError;
use crate::version::SUPPORTED;

/// Where the state lives when the configuration does not say.
pub const DEFAULT_STATE: &str = "/var/lib/ipam-cni/state.db";
/// Seconds a released address waits before it is handed out again, by default.
pub const DEFAULT_COOLDOWN: u64 = 30;

/// The keys of the `ipam` object.
const IPAM_KEYS: [&str; 10] =
    ["type", "subnet", "pool", "gateway", "exclude", "routes", "state", "cooldown", "policy", "node_block"];

/// A route handed to the container.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    /// Destination.
    pub dst: Ipv4Net,
    /// Next hop (the interface's gateway when absent).
    pub gw: Option<Ipv4Addr>,
}

/// The `ipam` object, checked.
///
/// ```
/// let conf = ipam_cni::NetConf::parse(br#"{"cniVersion": "1.0.0", "name": "rail0", "type": "macvlan",
///     "ipam": {"type": "ipam-cni", "subnet": "10.10.0.0/16", "node_block": 24}}"#)?;
/// assert_eq!(conf.ipam.pool, "rail0");
/// assert_eq!(conf.ipam.gateway.unwrap().to_string(), "10.10.0.1");
/// assert_eq!(conf.ipam.cooldown, 30);
/// # Ok::<(), ipam_cni::CniError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Ipam {
    /// The pool's network.
    pub subnet: Ipv4Net,
    /// The pool's name (default: the network's name).
    pub pool: String,
    /// The gateway handed out with every address (default: the first usable address); never
    /// allocated.
    pub gateway: Option<Ipv4Addr>,
    /// Networks never handed out.
    pub exclude: Vec<Ipv4Net>,
    /// Routes for the container.
    pub routes: Vec<Route>,
    /// A state file path, or a `postgres://` URL.
    pub state: String,
    /// Seconds a released address is not handed out again.
    pub cooldown: u64,
    /// How addresses are chosen.
    pub policy: Policy,
    /// The prefix length of the block each node takes from the pool, if nodes take blocks.
    pub node_block: Option<u8>,
}

/// The parts of the network configuration this plugin reads.
///
/// ```
/// use ipam_cni::{CniError, NetConf};
///
/// let err = NetConf::parse(br#"{"cniVersion": "1.0.0", "name": "n", "ipam": {"type": "ipam-cni",
///     "subnet": "10.0.0.0/24", "rangeStart": "10.0.0.9"}}"#).unwrap_err();
/// assert_eq!(err.code, CniError::UNSUPPORTED_FIELD);
/// assert!(err.msg.contains("rangeStart") && err.msg.contains("10.0.0.9"));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct NetConf {
    /// The version the runtime speaks; results are written in it.
    pub cni_version: String,
    /// The network's name.
    pub name: String,
    /// The `ipam` object.
    pub ipam: Ipam,
    /// The addresses of the previous result (CHECK).
    pub prev_ips: Vec<Ipv4Addr>,
    /// GC: the attachments still in use, as (container ID, interface name).
    pub valid_attachments: Option<BTreeSet<(String, String)>>,
}

impl NetConf {
    /// Reads and checks a network configuration.
    ///
    /// ```
    /// let err = ipam_cni::NetConf::parse(b"{not json").unwrap_err();
    /// assert_eq!(err.code, ipam_cni::CniError::DECODING_FAILURE);
    /// ```
    pub fn parse(stdin: &[u8]) -> Result<NetConf, CniError> {
        let value: Value = serde_json::from_slice(stdin).map_err(|e| {
            CniError::new(CniError::DECODING_FAILURE, format!("the network configuration is not JSON: {e}"))
        })?;
        let top =
            value.as_object().ok_or_else(|| invalid("the network configuration is not a JSON object"))?;
        let cni_version = cni_version(top)?;
        let name = text(top, "name")?.ok_or_else(|| invalid("`name` is missing"))?.to_owned();
        if ipam_core::parse::name(&name).is_err() {
            return Err(invalid(format!(
                "network name `{}` is not a valid name here (1-63 letters, digits, `-`, `_`, `.`)",
                excerpt(&name)
            )));
        }
        let ipam = top
            .get("ipam")
            .and_then(Value::as_object)
            .ok_or_else(|| invalid("the `ipam` object is missing"))?;
        Ok(NetConf {
            ipam: Ipam::parse(ipam, &name)?,
            prev_ips: prev_ips(top),
            valid_attachments: valid_attachments(top)?,
            cni_version,
            name,
        })
    }
}

impl Ipam {
    fn parse(ipam: &Map<String, Value>, network: &str) -> Result<Ipam, CniError> {
        if let Some((key, value)) = ipam.iter().find(|(k, _)| !IPAM_KEYS.contains(&k.as_str())) {
            return Err(CniError::new(
                CniError::UNSUPPORTED_FIELD,
                format!("unsupported field `ipam.{}` = {}", excerpt(key), excerpt(&value.to_string())),
            ));
        }
        let subnet_text = text(ipam, "subnet")?.ok_or_else(|| invalid("`ipam.subnet` is missing"))?;
        let subnet =
            ipam_core::parse::net(subnet_text).map_err(|e| invalid(format!("`ipam.subnet`: {e}")))?;
        let pool = match text(ipam, "pool")? {
            Some(pool) => pool.to_owned(),
            None => network.to_owned(),
        };
        if ipam_core::parse::name(&pool).is_err() {
            return Err(invalid(format!("`ipam.pool` `{}` is not a valid pool name", excerpt(&pool))));
        }
        let gateway = match text(ipam, "gateway")? {
            Some(g) => Some(ipam_core::parse::addr(g).map_err(|e| invalid(format!("`ipam.gateway`: {e}")))?),
            None => first_usable(subnet),
        };
        if let Some(g) = gateway.filter(|g| !subnet.contains(g)) {
            return Err(invalid(format!("`ipam.gateway` {g} is outside {subnet}")));
        }
        let mut exclude = Vec::new();
        for item in array(ipam, "exclude")? {
            let text = item.as_str().ok_or_else(|| invalid("`ipam.exclude` holds CIDR strings"))?;
            let net = ipam_core::parse::net(text).map_err(|e| invalid(format!("`ipam.exclude`: {e}")))?;
            if !subnet.contains(&net) {
                return Err(invalid(format!("`ipam.exclude` {net} is outside {subnet}")));
            }
            exclude.push(net);
        }
        let mut routes = Vec::new();
        for item in array(ipam, "routes")? {
            let route = item.as_object().ok_or_else(|| invalid("`ipam.routes` holds objects {dst, gw}"))?;
            let dst = text(route, "dst")?.ok_or_else(|| invalid("a route without `dst`"))?;
            let dst = ipam_core::parse::net(dst).map_err(|e| invalid(format!("`ipam.routes` dst: {e}")))?;
            let gw = match text(route, "gw")? {
                Some(g) => {
                    Some(ipam_core::parse::addr(g).map_err(|e| invalid(format!("`ipam.routes` gw: {e}")))?)
                }
                None => None,
            };
            routes.push(Route { dst, gw });
        }
        let state = text(ipam, "state")?.unwrap_or(DEFAULT_STATE).to_owned();
        let cooldown = match ipam.get("cooldown") {
            None => DEFAULT_COOLDOWN,
            Some(v) => v.as_u64().ok_or_else(|| invalid("`ipam.cooldown` is a whole number of seconds"))?,
        };
        let policy = match text(ipam, "policy")? {
            None => Policy::FirstFit,
            Some(p) => p.parse().map_err(|e| invalid(format!("`ipam.policy`: {e}")))?,
        };
        let node_block = match ipam.get("node_block") {
            None => None,
            Some(v) => {
                let len = v.as_u64().filter(|&l| l <= 32 && l >= u64::from(subnet.prefix_len()));
                let len = len.ok_or_else(|| {
                    invalid(format!(
                        "`ipam.node_block` is a prefix length from {} to 32",
                        subnet.prefix_len()
                    ))
                })?;
                Some(u8::try_from(len).unwrap_or(32))
            }
        };
        Ok(Ipam { subnet, pool, gateway, exclude, routes, state, cooldown, policy, node_block })
    }
}

/// The first usable address of a subnet that has a network address: its gateway by convention.
fn first_usable(subnet: Ipv4Net) -> Option<Ipv4Addr> {
    (subnet.prefix_len() <= 30).then(|| Ipv4Addr::from(u32::from(subnet.network()) + 1))
}

fn cni_version(top: &Map<String, Value>) -> Result<String, CniError> {
    let version = text(top, "cniVersion")?.ok_or_else(|| invalid("`cniVersion` is missing"))?;
    if !SUPPORTED.contains(&version) {
        let mut e = CniError::new(CniError::INCOMPATIBLE_VERSION, "incompatible CNI versions");
        e.details = Some(format!("config is \"{}\", plugin supports {SUPPORTED:?}", excerpt(version)));
        return Err(e);
    }
    Ok(version.to_owned())
}

/// The addresses of `prevResult.ips` (their IPv4 part).
fn prev_ips(top: &Map<String, Value>) -> Vec<Ipv4Addr> {
    let ips = top.get("prevResult").and_then(|r| r.get("ips")).and_then(Value::as_array);
    ips.into_iter()
        .flatten()
        .filter_map(|ip| ip.get("address").and_then(Value::as_str))
        .filter_map(|a| a.split('/').next().and_then(|a| ipam_core::parse::addr(a).ok()))
        .collect()
}

/// `cni.dev/valid-attachments` (the spec's 1.1.0 text calls it `cni.dev/attachments`; runtimes
/// send both).
fn valid_attachments(top: &Map<String, Value>) -> Result<Option<BTreeSet<(String, String)>>, CniError> {
    let Some(list) = top.get("cni.dev/valid-attachments").or_else(|| top.get("cni.dev/attachments")) else {
        return Ok(None);
    };
    let list = list.as_array().ok_or_else(|| invalid("`cni.dev/valid-attachments` is a list"))?;
    let mut out = BTreeSet::new();
    for item in list {
        let id = item.get("containerID").and_then(Value::as_str);
        let ifname = item.get("ifname").and_then(Value::as_str);
        let (Some(id), Some(ifname)) = (id, ifname) else {
            return Err(invalid("an entry of `cni.dev/valid-attachments` lacks `containerID` or `ifname`"));
        };
        out.insert((id.to_owned(), ifname.to_owned()));
    }
    Ok(Some(out))
}

fn text<'a>(map: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>, CniError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => {
            Err(invalid(format!("`{key}` should be a string, not {}", excerpt(&other.to_string()))))
        }
    }
}

fn array<'a>(map: &'a Map<String, Value>, key: &str) -> Result<&'a [Value], CniError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(_) => Err(invalid(format!("`ipam.{key}` should be a list"))),
    }
}

fn invalid(msg: impl Into<String>) -> CniError {
    CniError::new(CniError::INVALID_CONFIG, msg)
}

/// Input quoted in a message: short, control characters escaped.
pub(crate) fn excerpt(text: &str) -> String {
    let mut out: String = text
        .chars()
        .take(80)
        .flat_map(|c| if c.is_control() { c.escape_default().collect::<Vec<_>>() } else { vec![c] })
        .collect();
    if text.chars().count() > 80 {
        out.push_str("...");
    }
    out
}
