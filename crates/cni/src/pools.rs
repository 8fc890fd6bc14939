//! The pools behind a network: one pool for the subnet, and with `node_block` one child pool per
//! node carved from it. Created on first use, and checked against the configuration after.

use std::net::Ipv4Addr;

use ipam_store::{Error, PoolDef, Store};
use ipnet::Ipv4Net;

use crate::CniError;
use crate::config::Ipam;

/// The subnet's pool as the configuration defines it.
fn subnet_pool(ipam: &Ipam) -> PoolDef {
    let mut def = PoolDef { policy: ipam.policy, ..PoolDef::new(&ipam.pool, ipam.subnet) };
    def.exclusions = ipam.exclude.clone();
    def.exclusions.sort();
    def.exclusions.dedup();
    if ipam.node_block.is_some() {
        // Nodes carve blocks around the exclusions, from anywhere else in the subnet; each node's
        // pool reserves the subnet's network, broadcast and gateway addresses that fall in it.
        def.network_broadcast = false;
        return def;
    }
    match ipam.gateway {
        Some(g) if Some(g) == first_usable(ipam.subnet) => def.gateway = true,
        Some(g) => def.exclusions.push(Ipv4Net::from(g)),
        None => {}
    }
    def.exclusions.sort();
    def.exclusions.dedup();
    def
}

/// A node's pool on `block`: the subnet's network, broadcast and gateway addresses that fall in
/// the block are never handed out (the exclusions never fall in it: blocks are carved around them).
fn node_pool(ipam: &Ipam, name: &str, block: Ipv4Net) -> PoolDef {
    let subnet = ipam.subnet;
    let mut reserved: Vec<Ipv4Net> = Vec::new();
    if subnet.prefix_len() <= 30 {
        reserved.extend([Ipv4Net::from(subnet.network()), Ipv4Net::from(subnet.broadcast())]);
    }
    reserved.extend(ipam.gateway.map(Ipv4Net::from));
    let mut exclusions: Vec<Ipv4Net> = reserved
        .into_iter()
        .filter_map(|r| if r.contains(&block) { Some(block) } else { block.contains(&r).then_some(r) })
        .collect();
    exclusions.sort();
    exclusions.dedup();
    let all = exclusions.clone();
    exclusions.retain(|e| all.iter().all(|o| o == e || !o.contains(e)));
    PoolDef { network_broadcast: false, exclusions, policy: ipam.policy, ..PoolDef::new(name, block) }
}

/// The name of a node's pool: `POOL.NODE`, shortened with a hash when longer than a pool name
/// may be.
pub(crate) fn node_pool_name(pool: &str, node: &str) -> String {
    let plain: String = node
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '.' { c } else { '-' })
        .collect();
    let name = format!("{pool}.{plain}");
    if name.len() <= 63 && ipam_core::parse::name(&name).is_ok() {
        return name;
    }
    // FNV-1a of both names keeps distinct nodes distinct after shortening; the parts are ASCII.
    let hash = format!("{pool}/{node}")
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    let pool_part = &pool[..pool.len().min(30)];
    let node_part = &plain[..plain.len().min(63 - pool_part.len() - 1 - 17)];
    format!("{pool_part}.{node_part}-{hash:016x}")
}

fn first_usable(subnet: Ipv4Net) -> Option<Ipv4Addr> {
    (subnet.prefix_len() <= 30).then(|| Ipv4Addr::from(u32::from(subnet.network()) + 1))
}

/// Makes sure the pool that serves `node` exists as configured (creating it on first use) and
/// returns its name.
pub(crate) fn ensure(store: &mut Store, ipam: &Ipam, node: &str) -> Result<String, CniError> {
    let def = subnet_pool(ipam);
    match store.definition(&def.name) {
        Ok(existing) => same(&existing, &def)?,
        Err(Error::NoSuchPool { .. }) => match store.add_pool(&def) {
            Ok(()) => {}
            // Another node created it meanwhile.
            Err(Error::PoolExists { .. }) => same(&store.definition(&def.name)?, &def)?,
            Err(e) => return Err(e.into()),
        },
        Err(e) => return Err(e.into()),
    }
    let Some(len) = ipam.node_block else { return Ok(def.name) };
    let name = node_pool_name(&ipam.pool, node);
    let existing = match store.definition(&name) {
        Ok(existing) => existing,
        // Once per node (the read first, so that later ADDs take no write lock for it).
        Err(Error::NoSuchPool { .. }) => {
            store.carve_pool(&ipam.pool, &name, len, |block| node_pool(ipam, &name, block))?
        }
        Err(e) => return Err(e.into()),
    };
    let wanted = node_pool(ipam, &name, existing.cidr);
    let wanted = PoolDef { parent: Some(ipam.pool.clone()), ..wanted };
    same(&existing, &wanted)?;
    Ok(name)
}

/// The pool that serves `node`, if it exists (DEL, CHECK, GC and STATUS create nothing).
pub(crate) fn existing(store: &Store, ipam: &Ipam, node: &str) -> Result<Option<String>, CniError> {
    let name = match ipam.node_block {
        Some(_) => node_pool_name(&ipam.pool, node),
        None => ipam.pool.clone(),
    };
    match store.definition(&name) {
        Ok(_) => Ok(Some(name)),
        Err(Error::NoSuchPool { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

fn same(existing: &PoolDef, wanted: &PoolDef) -> Result<(), CniError> {
    if existing == wanted {
        return Ok(());
    }
    Err(CniError::new(
        CniError::INVALID_CONFIG,
        format!(
            "pool `{}` exists as {} ({} exclusions, {}) but this network's ipam config describes {} ({} exclusions, {}); \
             fix the config or the pool (`ipam pool show {}`)",
            existing.name,
            existing.cidr,
            existing.exclusions.len(),
            existing.policy,
            wanted.cidr,
            wanted.exclusions.len(),
            wanted.policy,
            existing.name
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_node_names_stay_distinct_and_valid() {
        let a = node_pool_name("rail0", &"gpu-node-".repeat(10));
        let b = node_pool_name("rail0", &format!("{}x", "gpu-node-".repeat(10)));
        assert!(a.len() <= 63 && b.len() <= 63);
        assert_ne!(a, b);
        assert!(ipam_core::parse::name(&a).is_ok());
        assert_eq!(node_pool_name("rail0", "node-7.dc"), "rail0.node-7.dc");
        let long_pool = "p".repeat(63);
        let c = node_pool_name(&long_pool, "node-a");
        assert!(c.len() <= 63 && ipam_core::parse::name(&c).is_ok(), "{c}");
        assert_ne!(c, node_pool_name(&long_pool, "node-b"));
    }
}
