//! The SQLite backend's rows: every statement the store runs, and the checksum of every row it
//! reads back. Nothing here decides anything; `state.rs` and the commands do.

use std::net::Ipv4Addr;

use ipam_core::Policy;
use ipnet::Ipv4Net;
use rusqlite::{Connection, OptionalExtension, params};

use crate::checksum::Sum;
use crate::model::{Allocation, PoolDef, Shape};
use crate::{Error, damaged};

/// A pool's row: its definition, counters and chunk summary.
#[derive(Clone, Debug)]
pub(crate) struct PoolRow {
    pub(crate) id: i64,
    pub(crate) def: PoolDef,
    pub(crate) parent_id: Option<i64>,
    pub(crate) cursor: Ipv4Addr,
    /// Bumped by every mutation of the pool.
    pub(crate) changes: i64,
    /// Addresses that can be handed out.
    pub(crate) capacity: u64,
    /// Addresses handed out (child pools' blocks included).
    pub(crate) allocated: u64,
    /// Allocation rows.
    pub(crate) allocations: u64,
    /// One byte per chunk (see `layout.rs`).
    pub(crate) summary: Vec<u8>,
}

impl PoolRow {
    fn checksum(&self) -> i64 {
        let d = &self.def;
        Sum::new("pool")
            .int(self.id)
            .bytes(d.name.as_bytes())
            .int(i64::from(u32::from(d.cidr.network())))
            .int(i64::from(d.cidr.prefix_len()))
            .int(i64::from(d.gateway))
            .int(i64::from(d.network_broadcast))
            .bytes(exclusions_text(&d.exclusions).as_bytes())
            .bytes(d.policy.to_string().as_bytes())
            .int(self.parent_id.unwrap_or(-1))
            .int(i64::from(u32::from(self.cursor)))
            .int(self.changes)
            .int(to_i64(self.capacity))
            .int(to_i64(self.allocated))
            .int(to_i64(self.allocations))
            .bytes(&self.summary)
            .finish()
    }
}

const POOL_COLUMNS: &str =
    "p.id, p.name, p.network, p.prefix_len, p.reserve_gateway, p.reserve_network_broadcast,
    p.exclusions, p.policy, p.parent_id, NULL, p.cursor, p.changes, p.capacity, p.allocated,
    p.allocations, p.summary, p.checksum";

/// A pool's row by name, verified.
pub(crate) fn pool_by_name(conn: &Connection, name: &str) -> Result<Option<PoolRow>, Error> {
    let sql = format!("SELECT {POOL_COLUMNS} FROM pools p WHERE p.name = ?1");
    let raw = conn.prepare_cached(&sql)?.query_row([name], raw_pool).optional()?;
    match raw.map(verify_pool).transpose()? {
        Some(row) if row.def.name != name => {
            Err(damaged(format!("the pool index leads `{name}` to `{}`", row.def.name)))
        }
        Some(mut row) => {
            // The parent's name comes from the parent's own verified row.
            if let Some(parent_id) = row.parent_id {
                let sql = format!("SELECT {POOL_COLUMNS} FROM pools p WHERE p.id = ?1");
                let parent = conn.prepare_cached(&sql)?.query_row([parent_id], raw_pool).optional()?;
                let parent = parent.map(verify_pool).transpose()?.filter(|p| p.id == parent_id);
                let parent = parent
                    .ok_or_else(|| damaged(format!("pool `{name}` names a parent that is not there")))?;
                row.def.parent = Some(parent.def.name);
            }
            Ok(Some(row))
        }
        None => {
            // A miss is rare and cheap to confirm without the index, which damage could hide it from.
            let there: i64 = conn
                .prepare_cached("SELECT count(*) FROM pools NOT INDEXED WHERE name = ?1")?
                .query_row([name], |r| r.get(0))?;
            if there > 0 { Err(damaged(format!("the pool index has lost pool `{name}`"))) } else { Ok(None) }
        }
    }
}

/// Every pool's row, by name, verified.
pub(crate) fn all_pools(conn: &Connection) -> Result<Vec<PoolRow>, Error> {
    let sql = format!("SELECT {POOL_COLUMNS} FROM pools p ORDER BY p.name");
    let mut stmt = conn.prepare_cached(&sql)?;
    let raws = stmt.query_map([], raw_pool)?.collect::<Result<Vec<_>, _>>()?;
    let mut rows = raws.into_iter().map(verify_pool).collect::<Result<Vec<_>, _>>()?;
    let names: std::collections::HashMap<i64, String> =
        rows.iter().map(|r| (r.id, r.def.name.clone())).collect();
    for row in &mut rows {
        if let Some(parent_id) = row.parent_id {
            let parent = names.get(&parent_id).cloned();
            row.def.parent = Some(parent.ok_or_else(|| {
                damaged(format!("pool `{}` names a parent that is not there", row.def.name))
            })?);
        }
    }
    let count: i64 =
        conn.prepare_cached("SELECT count(*) FROM pools NOT INDEXED")?.query_row([], |r| r.get(0))?;
    if rows.windows(2).any(|w| w[0].def.name >= w[1].def.name) || count != rows.len() as i64 {
        return Err(damaged("the list of pools does not check out".into()));
    }
    Ok(rows)
}

/// Pools whose network contains `addr`, widest first.
pub(crate) fn pools_containing(conn: &Connection, addr: Ipv4Addr) -> Result<Vec<PoolRow>, Error> {
    // Every pool containing `addr` starts at or below it (a range scan of the network index).
    let sql = format!(
        "SELECT {POOL_COLUMNS} FROM pools p
         WHERE p.network <= ?1 AND p.network + (1 << (32 - p.prefix_len)) > ?1 ORDER BY p.prefix_len"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let raws = stmt.query_map([u32::from(addr)], raw_pool)?.collect::<Result<Vec<_>, _>>()?;
    raws.into_iter().map(verify_pool).collect()
}

/// The root pool (if any) that overlaps `cidr`. Every root row is read and verified, not looked
/// up through an index that damage could make miss one: creating a root pool is rare.
pub(crate) fn root_overlapping(conn: &Connection, cidr: Ipv4Net) -> Result<Option<(String, Ipv4Net)>, Error> {
    let sql = format!("SELECT {POOL_COLUMNS} FROM pools p NOT INDEXED WHERE p.parent_id IS NULL");
    let mut stmt = conn.prepare_cached(&sql)?;
    let raws = stmt.query_map([], raw_pool)?.collect::<Result<Vec<_>, _>>()?;
    for row in raws.into_iter().map(verify_pool) {
        let other = row?.def;
        if other.cidr.contains(&cidr) || cidr.contains(&other.cidr) {
            return Ok(Some((other.name, other.cidr)));
        }
    }
    Ok(None)
}

/// How many child pools a pool has (counted without an index).
pub(crate) fn children(conn: &Connection, id: i64) -> Result<u64, Error> {
    Ok(conn
        .prepare_cached("SELECT count(*) FROM pools NOT INDEXED WHERE parent_id = ?1")?
        .query_row([id], |r| r.get(0))?)
}

type RawPool = (PoolRow, Option<String>, String, String, i64);

fn raw_pool(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawPool> {
    let def = PoolDef {
        name: r.get(1)?,
        cidr: net(r.get(2)?, r.get(3)?),
        gateway: r.get(4)?,
        network_broadcast: r.get(5)?,
        exclusions: Vec::new(),
        policy: Policy::FirstFit,
        parent: r.get(9)?,
    };
    let row = PoolRow {
        id: r.get(0)?,
        def,
        parent_id: r.get(8)?,
        cursor: Ipv4Addr::from(r.get::<_, u32>(10)?),
        changes: r.get(11)?,
        capacity: r.get(12)?,
        allocated: r.get(13)?,
        allocations: r.get(14)?,
        summary: r.get(15)?,
    };
    Ok((row, r.get(9)?, r.get(6)?, r.get(7)?, r.get(16)?))
}

fn verify_pool((mut row, _, exclusions, policy, checksum): RawPool) -> Result<PoolRow, Error> {
    let name = row.def.name.clone();
    row.def.policy = policy.parse().map_err(|_| damaged(format!("pool `{name}` has an unknown policy")))?;
    row.def.exclusions = exclusions
        .split_whitespace()
        .map(ipam_core::parse::net)
        .collect::<Result<_, _>>()
        .map_err(|_| damaged(format!("pool `{name}` has an unreadable exclusion")))?;
    if row.checksum() != checksum {
        return Err(damaged(format!("pool `{name}`: its row does not match its checksum")));
    }
    Ok(row)
}

/// Inserts a new pool row and returns its id.
pub(crate) fn insert_pool(conn: &Connection, row: &mut PoolRow) -> Result<i64, Error> {
    let d = &row.def;
    conn.prepare_cached(
        "INSERT INTO pools (name, network, prefix_len, reserve_gateway, reserve_network_broadcast, exclusions,
            policy, parent_id, cursor, changes, capacity, allocated, allocations, summary, checksum)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, 0)",
    )?
    .execute(params![
        d.name,
        u32::from(d.cidr.network()),
        d.cidr.prefix_len(),
        d.gateway,
        d.network_broadcast,
        exclusions_text(&d.exclusions),
        d.policy.to_string(),
        row.parent_id,
        u32::from(row.cursor),
        row.changes,
        to_i64(row.capacity),
        to_i64(row.allocated),
        to_i64(row.allocations),
        row.summary,
    ])?;
    row.id = conn.last_insert_rowid();
    conn.prepare_cached("UPDATE pools SET checksum = ?2 WHERE id = ?1")?
        .execute(params![row.id, row.checksum()])?;
    Ok(row.id)
}

/// Writes a pool's counters, cursor and summary back.
pub(crate) fn update_pool(conn: &Connection, row: &PoolRow) -> Result<(), Error> {
    conn.prepare_cached(
        "UPDATE pools SET cursor = ?2, changes = ?3, allocated = ?4, allocations = ?5, summary = ?6, checksum = ?7
         WHERE id = ?1",
    )?
    .execute(params![
        row.id,
        u32::from(row.cursor),
        row.changes,
        to_i64(row.allocated),
        to_i64(row.allocations),
        row.summary,
        row.checksum()
    ])?;
    Ok(())
}

pub(crate) fn delete_pool(conn: &Connection, id: i64) -> Result<(), Error> {
    conn.prepare_cached("DELETE FROM allocations WHERE pool_id = ?1")?.execute([id])?;
    conn.prepare_cached("DELETE FROM chunks WHERE pool_id = ?1")?.execute([id])?;
    conn.prepare_cached("DELETE FROM pools WHERE id = ?1")?.execute([id])?;
    Ok(())
}

fn chunk_checksum(pool_id: i64, idx: usize, used: u64, bits: &[u8]) -> i64 {
    Sum::new("chunk").int(pool_id).int(to_i64(idx as u64)).int(to_i64(used)).bytes(bits).finish()
}

/// A chunk's serialized bitmap and count, verified; `None` if it has no row.
pub(crate) fn chunk(conn: &Connection, pool_id: i64, idx: usize) -> Result<Option<(u64, Vec<u8>)>, Error> {
    let row = conn
        .prepare_cached("SELECT used, bits, checksum FROM chunks WHERE pool_id = ?1 AND idx = ?2")?
        .query_row(params![pool_id, to_i64(idx as u64)], |r| {
            Ok((r.get::<_, u64>(0)?, r.get::<_, Vec<u8>>(1)?, r.get::<_, i64>(2)?))
        })
        .optional()?;
    match row {
        Some((used, bits, sum)) if sum == chunk_checksum(pool_id, idx, used, &bits) => Ok(Some((used, bits))),
        Some(_) => Err(damaged(format!("chunk {idx} of pool id {pool_id} does not match its checksum"))),
        None => Ok(None),
    }
}

/// The indices of a pool's stored chunks.
pub(crate) fn chunk_indices(conn: &Connection, pool_id: i64) -> Result<Vec<usize>, Error> {
    let mut stmt = conn.prepare_cached("SELECT idx FROM chunks WHERE pool_id = ?1 ORDER BY idx")?;
    let rows = stmt.query_map([pool_id], |r| r.get::<_, u64>(0))?;
    rows.map(|r| Ok(usize::try_from(r?).unwrap_or(usize::MAX))).collect()
}

pub(crate) fn put_chunk(
    conn: &Connection,
    pool_id: i64,
    idx: usize,
    used: u64,
    bits: &[u8],
) -> Result<(), Error> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO chunks (pool_id, idx, used, bits, checksum) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        pool_id,
        to_i64(idx as u64),
        to_i64(used),
        bits,
        chunk_checksum(pool_id, idx, used, bits)
    ])?;
    Ok(())
}

pub(crate) fn delete_chunk(conn: &Connection, pool_id: i64, idx: usize) -> Result<(), Error> {
    conn.prepare_cached("DELETE FROM chunks WHERE pool_id = ?1 AND idx = ?2")?
        .execute(params![pool_id, to_i64(idx as u64)])?;
    Ok(())
}

fn allocation_checksum(pool_id: i64, a: &Allocation) -> i64 {
    Sum::new("allocation")
        .int(pool_id)
        .int(i64::from(u32::from(a.first)))
        .int(i64::from(u32::from(a.last)))
        .bytes(a.shape.as_str().as_bytes())
        .text(a.owner.as_deref())
        .int(to_i64(a.created))
        .finish()
}

pub(crate) fn insert_allocation(conn: &Connection, pool_id: i64, a: &Allocation) -> Result<(), Error> {
    conn.prepare_cached(
        "INSERT INTO allocations (pool_id, first, last, shape, owner, created, checksum) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        pool_id,
        u32::from(a.first),
        u32::from(a.last),
        a.shape.as_str(),
        a.owner,
        to_i64(a.created),
        allocation_checksum(pool_id, a)
    ])?;
    Ok(())
}

pub(crate) fn delete_allocation(conn: &Connection, pool_id: i64, first: Ipv4Addr) -> Result<(), Error> {
    conn.prepare_cached("DELETE FROM allocations WHERE pool_id = ?1 AND first = ?2")?
        .execute(params![pool_id, u32::from(first)])?;
    Ok(())
}

const ALLOCATION_COLUMNS: &str = "pool_id, first, last, shape, owner, created, checksum";

fn allocations_where(
    conn: &Connection,
    condition: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<(i64, Allocation)>, Error> {
    let sql = format!("SELECT {ALLOCATION_COLUMNS} FROM allocations WHERE {condition}");
    let mut stmt = conn.prepare_cached(&sql)?;
    let raws = stmt
        .query_map(params, |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, u32>(1)?,
                r.get::<_, u32>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, u64>(5)?,
                r.get::<_, i64>(6)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    raws.into_iter()
        .map(|(pool_id, first, last, shape, owner, created, sum)| {
            let shape = Shape::parse(&shape)
                .ok_or_else(|| damaged(format!("an allocation of pool id {pool_id} has no known shape")))?;
            let a = Allocation {
                first: Ipv4Addr::from(first),
                last: Ipv4Addr::from(last),
                shape,
                owner,
                created,
            };
            if sum != allocation_checksum(pool_id, &a) || first > last {
                return Err(damaged(format!(
                    "allocation {a} of pool id {pool_id} does not match its checksum"
                )));
            }
            Ok((pool_id, a))
        })
        .collect()
}

/// Every allocation of a pool, lowest first.
pub(crate) fn allocations(conn: &Connection, pool_id: i64) -> Result<Vec<Allocation>, Error> {
    let rows = allocations_where(conn, "pool_id = ?1 ORDER BY first", [pool_id])?;
    let in_order = rows.windows(2).all(|w| w[0].1.last < w[1].1.first);
    if !in_order || rows.iter().any(|(id, _)| *id != pool_id) {
        return Err(damaged(format!("the allocations of pool id {pool_id} do not check out")));
    }
    Ok(rows.into_iter().map(|(_, a)| a).collect())
}

/// What an owner holds in a pool.
pub(crate) fn by_owner(conn: &Connection, pool_id: i64, owner: &str) -> Result<Option<Allocation>, Error> {
    let rows = allocations_where(conn, "owner = ?2 AND pool_id = ?1", params![pool_id, owner])?;
    one(rows, pool_id, |a| a.owner.as_deref() == Some(owner))
}

/// What an owner holds in every pool, as (pool id, allocation).
pub(crate) fn everywhere_by_owner(conn: &Connection, owner: &str) -> Result<Vec<(i64, Allocation)>, Error> {
    allocations_where(conn, "owner = ?1 ORDER BY pool_id, first", [owner])
}

/// A pool's blocks whose cooldown ended at or before `now`.
pub(crate) fn cooled(conn: &Connection, pool_id: i64, now: u64) -> Result<Vec<Allocation>, Error> {
    let (from, to) =
        (crate::model::COOLDOWN_PREFIX.to_owned(), format!("{}{now:020}:~", crate::model::COOLDOWN_PREFIX));
    let rows =
        allocations_where(conn, "owner >= ?2 AND owner <= ?3 AND pool_id = ?1", params![pool_id, from, to])?;
    if rows.iter().any(|(id, a)| {
        *id != pool_id || !a.owner.as_deref().is_some_and(|o| o >= from.as_str() && o <= to.as_str())
    }) {
        return Err(damaged(format!("the owner index of pool id {pool_id} leads to the wrong rows")));
    }
    Ok(rows.into_iter().map(|(_, a)| a).collect())
}

/// The allocations of a pool whose owner starts with `prefix`.
pub(crate) fn owned_with_prefix(
    conn: &Connection,
    pool_id: i64,
    prefix: &str,
) -> Result<Vec<Allocation>, Error> {
    // Owners between the prefix and the prefix followed by the highest character.
    let to = format!("{prefix}\u{10FFFF}");
    let rows =
        allocations_where(conn, "owner >= ?2 AND owner < ?3 AND pool_id = ?1", params![pool_id, prefix, to])?;
    if rows.iter().any(|(id, a)| *id != pool_id || !a.owner.as_deref().is_some_and(|o| o.starts_with(prefix)))
    {
        return Err(damaged(format!("the owner index of pool id {pool_id} leads to the wrong rows")));
    }
    Ok(rows.into_iter().map(|(_, a)| a).collect())
}

/// The allocation starting at `first`.
pub(crate) fn at(conn: &Connection, pool_id: i64, first: Ipv4Addr) -> Result<Option<Allocation>, Error> {
    let rows = allocations_where(conn, "pool_id = ?1 AND first = ?2", params![pool_id, u32::from(first)])?;
    one(rows, pool_id, |a| a.first == first)
}

/// The one row a lookup found, which must be what was looked up.
fn one(
    rows: Vec<(i64, Allocation)>,
    pool_id: i64,
    wanted: impl Fn(&Allocation) -> bool,
) -> Result<Option<Allocation>, Error> {
    match rows.as_slice() {
        [] => Ok(None),
        [(id, a)] if *id == pool_id && wanted(a) => Ok(Some(a.clone())),
        _ => Err(damaged(format!("an index of pool id {pool_id}'s allocations leads to the wrong rows"))),
    }
}

/// The allocation holding `addr`, if any: the last one starting at or below it.
pub(crate) fn holding(conn: &Connection, pool_id: i64, addr: Ipv4Addr) -> Result<Option<Allocation>, Error> {
    let rows = allocations_where(
        conn,
        "pool_id = ?1 AND first <= ?2 ORDER BY first DESC LIMIT 1",
        params![pool_id, u32::from(addr)],
    )?;
    Ok(rows.into_iter().map(|(_, a)| a).find(|a| a.last >= addr))
}

/// A pool's name by id, from its verified row (for reports that span pools).
pub(crate) fn pool_name(conn: &Connection, id: i64) -> Result<String, Error> {
    let sql = format!("SELECT {POOL_COLUMNS} FROM pools p WHERE p.id = ?1");
    let raw = conn.prepare_cached(&sql)?.query_row([id], raw_pool).optional()?;
    match raw.map(verify_pool).transpose()? {
        Some(row) if row.id == id => Ok(row.def.name),
        _ => Err(damaged(format!("an allocation names pool id {id}, which is not there"))),
    }
}

fn exclusions_text(exclusions: &[Ipv4Net]) -> String {
    exclusions.iter().map(ToString::to_string).collect::<Vec<_>>().join(" ")
}

/// A network from its stored integers (the schema's CHECKs keep them in range).
pub(crate) fn net(network: u32, prefix_len: u8) -> Ipv4Net {
    Ipv4Net::new(Ipv4Addr::from(network), prefix_len.min(32)).expect("prefix length clamped to 32").trunc()
}

/// Counts as SQLite integers (every count here is far below 2^63).
pub(crate) fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}
