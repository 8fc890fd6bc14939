//! Version 1 files, read once to upgrade them (`schema.rs`).

use std::collections::HashMap;
use std::net::Ipv4Addr;

use rusqlite::Connection;

use crate::Error;
use crate::exchange::{EXPORT_VERSION, Export, ExportedPool};
use crate::model::{Allocation, PoolDef, Shape};
use crate::rows::net;

/// The whole content of a version 1 file as an export.
pub(crate) fn read(conn: &Connection) -> Result<Export, Error> {
    let bad = |what: &str| Error::Import { reason: format!("upgrading a version 1 file: {what}") };
    let mut exclusions: HashMap<i64, Vec<ipnet::Ipv4Net>> = HashMap::new();
    let mut stmt = conn.prepare("SELECT pool_id, network, prefix_len FROM exclusions ORDER BY network")?;
    for row in stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, net(r.get(1)?, r.get(2)?))))? {
        let (id, excluded) = row?;
        exclusions.entry(id).or_default().push(excluded);
    }
    let mut allocations: HashMap<i64, Vec<Allocation>> = HashMap::new();
    let mut stmt =
        conn.prepare("SELECT pool_id, first, last, shape, owner, created FROM allocations ORDER BY first")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, u32>(1)?,
            r.get::<_, u32>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, Option<String>>(4)?,
            r.get::<_, u64>(5)?,
        ))
    })?;
    for row in rows {
        let (id, first, last, shape, owner, created) = row?;
        let shape = Shape::parse(&shape).ok_or_else(|| bad("an allocation has no known shape"))?;
        let a =
            Allocation { first: Ipv4Addr::from(first), last: Ipv4Addr::from(last), shape, owner, created };
        allocations.entry(id).or_default().push(a);
    }
    let mut stmt = conn.prepare(
        "SELECT p.id, p.name, p.network, p.prefix_len, p.reserve_gateway, p.reserve_network_broadcast, p.policy,
                parent.name, p.cursor
         FROM pools p LEFT JOIN pools parent ON parent.id = p.parent_id ORDER BY p.name",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            net(r.get(2)?, r.get(3)?),
            r.get::<_, bool>(4)?,
            r.get::<_, bool>(5)?,
            r.get::<_, String>(6)?,
            r.get::<_, Option<String>>(7)?,
            r.get::<_, u32>(8)?,
        ))
    })?;
    let mut pools = Vec::new();
    for row in rows {
        let (id, name, cidr, gateway, network_broadcast, policy, parent, cursor) = row?;
        let policy = policy.parse().map_err(|_| bad("a pool has an unknown policy"))?;
        let def = PoolDef {
            name,
            cidr,
            gateway,
            network_broadcast,
            exclusions: exclusions.remove(&id).unwrap_or_default(),
            policy,
            parent,
            container: false,
        };
        let cursor = Ipv4Addr::from(cursor);
        let cursor = if cidr.contains(&cursor) { cursor } else { cidr.network() };
        pools.push(ExportedPool { def, cursor, allocations: allocations.remove(&id).unwrap_or_default() });
    }
    Ok(Export { ipam_state: EXPORT_VERSION, pools })
}
