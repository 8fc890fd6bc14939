//! The backend seam: what the store asks of a database ([`Rows`]), and the checks every row read
//! back goes through, whichever database it came from. Each backend's SQL lives in its own
//! module (`sqlite_rows.rs`, `postgres/rows.rs`); nothing there decides anything, and nothing
//! here knows SQL.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

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
    pub(crate) fn checksum(&self) -> i64 {
        let d = &self.def;
        Sum::new("pool")
            .int(self.id)
            .bytes(d.name.as_bytes())
            .int(i64::from(u32::from(d.cidr.network())))
            .int(i64::from(d.cidr.prefix_len()))
            .int(i64::from(d.gateway))
            .int(i64::from(d.network_broadcast))
            .bytes(exclusions_text(&d.exclusions).as_bytes())
            .bytes(d.policy_text().as_bytes())
            .int(self.parent_id.unwrap_or(-1))
            .int(i64::from(u32::from(self.cursor)))
            .int(self.changes)
            .int(to_i64(self.capacity))
            .int(to_i64(self.allocated))
            .int(to_i64(self.allocations))
            .bytes(&self.summary)
            .finish()
    }

    /// The checksum of what a backend that keeps counts and summary bytes in each chunk's row
    /// stores in the pool's row: the definition and the cursor.
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))] // Only that backend keeps one.
    pub(crate) fn definition_checksum(&self) -> i64 {
        let definition =
            PoolRow { changes: 0, allocated: 0, allocations: 0, summary: Vec::new(), ..self.clone() };
        definition.checksum()
    }

    /// The pool's exclusions as stored: CIDRs separated by spaces.
    pub(crate) fn exclusions_text(&self) -> String {
        exclusions_text(&self.def.exclusions)
    }
}

/// A pool's row as a backend read it, before it is checked.
pub(crate) struct RawPool {
    pub(crate) row: PoolRow,
    pub(crate) exclusions: String,
    pub(crate) policy: String,
    pub(crate) checksum: i64,
}

/// An allocation's row as a backend read it, before it is checked.
pub(crate) struct RawAllocation {
    pub(crate) pool_id: i64,
    pub(crate) first: u32,
    pub(crate) last: u32,
    pub(crate) shape: String,
    pub(crate) owner: Option<String>,
    pub(crate) created: u64,
    pub(crate) checksum: i64,
}

/// A chunk's row as a backend read it, before it is checked. `summary` is the chunk's summary
/// byte, for backends that keep it in the chunk's row ([`Rows::per_chunk`]).
pub(crate) struct RawChunk {
    pub(crate) used: u64,
    pub(crate) bits: Vec<u8>,
    pub(crate) summary: Option<u8>,
    pub(crate) checksum: i64,
}

/// What a write transaction does when another writer holds the chunk it wants.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Lock {
    /// Wait for it.
    Wait,
    /// Go on without it: the caller tries another chunk.
    Skip,
}

/// A chunk as it was written: its bits (serialized; empty when it holds none), how many, its
/// summary byte, and how many allocation rows starting in it were added (or removed).
pub(crate) struct ChunkWrite<'a> {
    pub(crate) used: u64,
    pub(crate) bits: &'a [u8],
    pub(crate) summary: u8,
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))] // SQLite counts rows in the pool's row.
    pub(crate) rows_added: i64,
}

/// Which pool rows to read.
#[derive(Clone, Copy, Debug)]
pub(crate) enum PoolsBy<'a> {
    /// By name, through the name index. In a write transaction the backend locks the row until
    /// the commit: this is the lock that serialises writers of one pool.
    Name(&'a str),
    /// By id (never locked: a child's parent is read for its name only).
    Id(i64),
    /// Every pool, by name.
    All,
    /// Pools whose network contains the address, widest first.
    Containing(Ipv4Addr),
    /// Every root pool, read without an index.
    Roots,
}

/// Which pool rows to count, without an index.
#[derive(Clone, Copy, Debug)]
pub(crate) enum CountPools<'a> {
    Named(&'a str),
    All,
    ChildrenOf(i64),
}

/// Which allocation rows to read.
#[derive(Clone, Copy, Debug)]
pub(crate) enum AllocationsBy<'a> {
    /// A pool's, lowest first.
    Pool(i64),
    /// What an owner holds in a pool.
    Owner(i64, &'a str),
    /// What an owner holds in every pool, by pool id and address.
    OwnerEverywhere(&'a str),
    /// A pool's rows whose owner is in `from..=to` (`to` included only if `inclusive`).
    OwnerBetween { pool_id: i64, from: &'a str, to: &'a str, inclusive: bool },
    /// The row starting at the address.
    At(i64, Ipv4Addr),
    /// The last row starting at or below the address.
    AtOrBelow(i64, Ipv4Addr),
}

/// What the store asks of a database, inside one transaction. Implemented by each backend; every
/// rule of the store is written once, against this.
pub(crate) trait Rows {
    /// Whether counts and summary bytes live in each chunk's row, so that writers of different
    /// chunks of one pool never wait for each other (PostgreSQL). The pool's row is then written
    /// only for its cursor, and only under RoundRobin.
    fn per_chunk(&self) -> bool {
        false
    }
    /// The checksum a pool's row is stored with.
    fn pool_checksum(&self, row: &PoolRow) -> i64 {
        row.checksum()
    }
    fn pools(&self, by: PoolsBy<'_>) -> Result<Vec<RawPool>, Error>;
    fn count_pools(&self, by: CountPools<'_>) -> Result<u64, Error>;
    /// Inserts a pool's row (checksum still 0) and returns its id.
    fn insert_pool(&self, row: &PoolRow) -> Result<i64, Error>;
    /// Writes a pool's cursor, counters, summary and checksum.
    fn update_pool(&self, row: &PoolRow, checksum: i64) -> Result<(), Error>;
    /// Deletes a pool with its chunks and allocations.
    fn delete_pool(&self, id: i64) -> Result<(), Error>;
    /// A chunk's row (in a write transaction locked until the commit); `None` if there is none,
    /// or, with [`Lock::Skip`], if another writer holds it.
    fn chunk(&self, pool_id: i64, idx: usize, lock: Lock) -> Result<Option<RawChunk>, Error>;
    /// A pool's chunk rows, by index, with their summary bytes where the rows keep them (in a
    /// write transaction, all of them locked until the commit).
    fn chunk_list(&self, pool_id: i64) -> Result<Vec<(usize, Option<u8>)>, Error>;
    /// Writes a chunk (a backend that keeps rows only for chunks holding bits drops it when it
    /// holds none).
    fn put_chunk(&self, pool_id: i64, idx: usize, chunk: &ChunkWrite<'_>, checksum: i64)
    -> Result<(), Error>;
    fn allocations(&self, by: AllocationsBy<'_>) -> Result<Vec<RawAllocation>, Error>;
    fn insert_allocation(&self, pool_id: i64, a: &Allocation, checksum: i64) -> Result<(), Error>;
    /// Deletes the allocation starting at `first`; returns how many rows went (0 or 1).
    fn delete_allocation(&self, pool_id: i64, first: Ipv4Addr) -> Result<u64, Error>;
    /// Locks a pool's row against every other writer until the commit (before it is removed).
    fn lock_pool(&self, _id: i64) -> Result<(), Error> {
        Ok(())
    }
    /// What the database's own check of its storage reports (empty: nothing wrong).
    fn integrity(&self) -> Result<Vec<String>, Error>;
}

/// A pool's row by name, verified.
pub(crate) fn pool_by_name(db: &dyn Rows, name: &str) -> Result<Option<PoolRow>, Error> {
    let found = db
        .pools(PoolsBy::Name(name))?
        .into_iter()
        .map(|raw| verify_pool(db, raw))
        .collect::<Result<Vec<_>, _>>()?;
    match <[PoolRow; 1]>::try_from(found) {
        Ok([row]) if row.def.name != name => {
            Err(damaged(format!("the pool index leads `{name}` to `{}`", row.def.name)))
        }
        Ok([mut row]) => {
            // The parent's name comes from the parent's own verified row.
            if let Some(parent_id) = row.parent_id {
                let parent = db
                    .pools(PoolsBy::Id(parent_id))?
                    .into_iter()
                    .next()
                    .map(|raw| verify_pool(db, raw))
                    .transpose()?;
                let parent = parent
                    .filter(|p| p.id == parent_id)
                    .ok_or_else(|| damaged(format!("pool `{name}` names a parent that is not there")))?;
                row.def.parent = Some(parent.def.name);
            }
            Ok(Some(row))
        }
        Err(found) if found.is_empty() => {
            // A miss is rare and cheap to confirm without the index, which damage could hide it from.
            if db.count_pools(CountPools::Named(name))? > 0 {
                Err(damaged(format!("the pool index has lost pool `{name}`")))
            } else {
                Ok(None)
            }
        }
        Err(_) => Err(damaged(format!("the pool index leads `{name}` to several rows"))),
    }
}

/// Every pool's row, by name, verified.
pub(crate) fn all_pools(db: &dyn Rows) -> Result<Vec<PoolRow>, Error> {
    let mut rows =
        db.pools(PoolsBy::All)?.into_iter().map(|raw| verify_pool(db, raw)).collect::<Result<Vec<_>, _>>()?;
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
    let count = db.count_pools(CountPools::All)?;
    if rows.windows(2).any(|w| w[0].def.name >= w[1].def.name) || count != rows.len() as u64 {
        return Err(damaged("the list of pools does not check out".into()));
    }
    Ok(rows)
}

/// Pools whose network contains `addr`, widest first.
pub(crate) fn pools_containing(db: &dyn Rows, addr: Ipv4Addr) -> Result<Vec<PoolRow>, Error> {
    let rows = db
        .pools(PoolsBy::Containing(addr))?
        .into_iter()
        .map(|raw| verify_pool(db, raw))
        .collect::<Result<Vec<_>, _>>()?;
    if rows.iter().any(|r| !r.def.cidr.contains(&addr)) {
        return Err(damaged(format!("the pool index leads {addr} to a pool that does not contain it")));
    }
    Ok(rows)
}

/// The root pool (if any) that overlaps `cidr`. Every root row is read and verified, not looked
/// up through an index that damage could make miss one: creating a root pool is rare.
pub(crate) fn root_overlapping(db: &dyn Rows, cidr: Ipv4Net) -> Result<Option<(String, Ipv4Net)>, Error> {
    for raw in db.pools(PoolsBy::Roots)? {
        let other = verify_pool(db, raw)?.def;
        if other.cidr.contains(&cidr) || cidr.contains(&other.cidr) {
            return Ok(Some((other.name, other.cidr)));
        }
    }
    Ok(None)
}

/// How many child pools a pool has (counted without an index).
pub(crate) fn children(db: &dyn Rows, id: i64) -> Result<u64, Error> {
    db.count_pools(CountPools::ChildrenOf(id))
}

fn verify_pool(db: &dyn Rows, raw: RawPool) -> Result<PoolRow, Error> {
    let RawPool { mut row, exclusions, policy, checksum } = raw;
    let name = row.def.name.clone();
    if policy == crate::model::CONTAINER_POLICY {
        row.def.container = true;
    } else {
        row.def.policy =
            policy.parse().map_err(|_| damaged(format!("pool `{name}` has an unknown policy")))?;
    }
    row.def.exclusions = exclusions
        .split_whitespace()
        .map(ipam_core::parse::net)
        .collect::<Result<_, _>>()
        .map_err(|_| damaged(format!("pool `{name}` has an unreadable exclusion")))?;
    if db.pool_checksum(&row) != checksum {
        return Err(damaged(format!("pool `{name}`: its row does not match its checksum")));
    }
    Ok(row)
}

/// Inserts a new pool row and returns its id.
pub(crate) fn insert_pool(db: &dyn Rows, row: &mut PoolRow) -> Result<i64, Error> {
    row.id = db.insert_pool(row)?;
    db.update_pool(row, db.pool_checksum(row))?;
    Ok(row.id)
}

/// Writes a pool's counters, cursor and summary back.
pub(crate) fn update_pool(db: &dyn Rows, row: &PoolRow) -> Result<(), Error> {
    db.update_pool(row, db.pool_checksum(row))
}

pub(crate) fn lock_pool(db: &dyn Rows, id: i64) -> Result<(), Error> {
    db.lock_pool(id)
}

pub(crate) fn delete_pool(db: &dyn Rows, id: i64) -> Result<(), Error> {
    db.delete_pool(id)
}

/// A chunk row's checksum: its pool, index, count and bits, and its summary byte where the row
/// keeps one.
pub(crate) fn chunk_checksum(pool_id: i64, idx: usize, used: u64, bits: &[u8], summary: Option<u8>) -> i64 {
    let sum = Sum::new("chunk").int(pool_id).int(to_i64(idx as u64)).int(to_i64(used)).bytes(bits);
    match summary {
        Some(byte) => sum.int(i64::from(byte)).finish(),
        None => sum.finish(),
    }
}

/// A chunk as read, verified.
pub(crate) enum ChunkRead {
    /// Another writer holds it (only with [`Lock::Skip`]).
    Busy,
    /// Its (count, serialized bits) when its row holds any, and its summary byte where the row
    /// keeps one.
    Read { bits: Option<(u64, Vec<u8>)>, summary: Option<u8> },
}

/// A chunk's serialized bitmap and count, verified.
pub(crate) fn chunk(db: &dyn Rows, pool_id: i64, idx: usize, lock: Lock) -> Result<ChunkRead, Error> {
    let Some(raw) = db.chunk(pool_id, idx, lock)? else {
        return match (db.per_chunk(), lock) {
            (false, _) => Ok(ChunkRead::Read { bits: None, summary: None }),
            (true, Lock::Skip) => Ok(ChunkRead::Busy),
            (true, Lock::Wait) => Err(damaged(format!("chunk {idx} of pool id {pool_id} has no row"))),
        };
    };
    let (bits, summary) = verified_chunk(pool_id, idx, raw, db.per_chunk())?;
    Ok(ChunkRead::Read { bits, summary })
}

/// A chunk's (count, serialized bits) when its row holds any, and its summary byte where the row
/// keeps one.
pub(crate) type VerifiedChunk = (Option<(u64, Vec<u8>)>, Option<u8>);

/// A chunk row read, checked against its checksum. `per_chunk`: the backend keeps a row for
/// every chunk, so a row may hold no bits.
pub(crate) fn verified_chunk(
    pool_id: i64,
    idx: usize,
    raw: RawChunk,
    per_chunk: bool,
) -> Result<VerifiedChunk, Error> {
    if raw.checksum != chunk_checksum(pool_id, idx, raw.used, &raw.bits, raw.summary) {
        return Err(damaged(format!("chunk {idx} of pool id {pool_id} does not match its checksum")));
    }
    // A backend that keeps a row for every chunk has rows that hold no bits.
    let empty = raw.used == 0 && raw.bits.is_empty() && per_chunk;
    Ok(((!empty).then_some((raw.used, raw.bits)), raw.summary))
}

/// A pool's chunk rows, with their summary bytes where the rows keep them.
pub(crate) fn chunk_list(db: &dyn Rows, pool_id: i64) -> Result<Vec<(usize, Option<u8>)>, Error> {
    db.chunk_list(pool_id)
}

pub(crate) fn put_chunk(
    db: &dyn Rows,
    pool_id: i64,
    idx: usize,
    chunk: &ChunkWrite<'_>,
) -> Result<(), Error> {
    let summary = db.per_chunk().then_some(chunk.summary);
    db.put_chunk(pool_id, idx, chunk, chunk_checksum(pool_id, idx, chunk.used, chunk.bits, summary))
}

/// An allocation row's checksum.
pub(crate) fn allocation_checksum(pool_id: i64, a: &Allocation) -> i64 {
    Sum::new("allocation")
        .int(pool_id)
        .int(i64::from(u32::from(a.first)))
        .int(i64::from(u32::from(a.last)))
        .bytes(a.shape.as_str().as_bytes())
        .text(a.owner.as_deref())
        .int(to_i64(a.created))
        .finish()
}

pub(crate) fn insert_allocation(db: &dyn Rows, pool_id: i64, a: &Allocation) -> Result<(), Error> {
    db.insert_allocation(pool_id, a, allocation_checksum(pool_id, a))
}

pub(crate) fn delete_allocation(db: &dyn Rows, pool_id: i64, first: Ipv4Addr) -> Result<(), Error> {
    let removed = db.delete_allocation(pool_id, first)?;
    if removed == 0 && db.per_chunk() {
        // Another writer removed it after this transaction read it.
        return Err(lost_race(format!("allocation {first} of pool id {pool_id} went meanwhile")));
    }
    Ok(())
}

/// A race another writer won, in a backend where writers run side by side: the transaction is
/// run again.
#[derive(Debug)]
pub(crate) struct LostRace(pub(crate) String);

impl std::fmt::Display for LostRace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for LostRace {}

pub(crate) fn lost_race(what: String) -> Error {
    Error::Database(Box::new(LostRace(what)))
}

fn allocations_by(db: &dyn Rows, by: AllocationsBy<'_>) -> Result<Vec<(i64, Allocation)>, Error> {
    db.allocations(by)?
        .into_iter()
        .map(|raw| {
            let pool_id = raw.pool_id;
            let shape = Shape::parse(&raw.shape)
                .ok_or_else(|| damaged(format!("an allocation of pool id {pool_id} has no known shape")))?;
            let a = Allocation {
                first: Ipv4Addr::from(raw.first),
                last: Ipv4Addr::from(raw.last),
                shape,
                owner: raw.owner,
                created: raw.created,
            };
            if raw.checksum != allocation_checksum(pool_id, &a) || raw.first > raw.last {
                return Err(damaged(format!(
                    "allocation {a} of pool id {pool_id} does not match its checksum"
                )));
            }
            Ok((pool_id, a))
        })
        .collect()
}

/// Every allocation of a pool, lowest first.
pub(crate) fn allocations(db: &dyn Rows, pool_id: i64) -> Result<Vec<Allocation>, Error> {
    let rows = allocations_by(db, AllocationsBy::Pool(pool_id))?;
    let in_order = rows.windows(2).all(|w| w[0].1.last < w[1].1.first);
    if !in_order || rows.iter().any(|(id, _)| *id != pool_id) {
        return Err(damaged(format!("the allocations of pool id {pool_id} do not check out")));
    }
    Ok(rows.into_iter().map(|(_, a)| a).collect())
}

/// What an owner holds in a pool.
pub(crate) fn by_owner(db: &dyn Rows, pool_id: i64, owner: &str) -> Result<Option<Allocation>, Error> {
    let rows = allocations_by(db, AllocationsBy::Owner(pool_id, owner))?;
    one(rows, pool_id, |a| a.owner.as_deref() == Some(owner))
}

/// What an owner holds in every pool, as (pool id, allocation).
pub(crate) fn everywhere_by_owner(db: &dyn Rows, owner: &str) -> Result<Vec<(i64, Allocation)>, Error> {
    let rows = allocations_by(db, AllocationsBy::OwnerEverywhere(owner))?;
    if rows.iter().any(|(_, a)| a.owner.as_deref() != Some(owner)) {
        return Err(damaged(format!("the owner index leads `{}` to the wrong rows", crate::excerpt(owner))));
    }
    Ok(rows)
}

/// A pool's blocks whose cooldown ended at or before `now`.
pub(crate) fn cooled(db: &dyn Rows, pool_id: i64, now: u64) -> Result<Vec<Allocation>, Error> {
    let from = crate::model::COOLDOWN_PREFIX;
    let to = format!("{from}{now:020}:~");
    owned_between(db, pool_id, from, &to, true)
}

/// The allocations of a pool whose owner starts with `prefix`.
pub(crate) fn owned_with_prefix(db: &dyn Rows, pool_id: i64, prefix: &str) -> Result<Vec<Allocation>, Error> {
    // Owners between the prefix and the prefix followed by the highest character.
    let to = format!("{prefix}\u{10FFFF}");
    let rows = owned_between(db, pool_id, prefix, &to, false)?;
    if rows.iter().any(|a| !a.owner.as_deref().is_some_and(|o| o.starts_with(prefix))) {
        return Err(damaged(format!("the owner index of pool id {pool_id} leads to the wrong rows")));
    }
    Ok(rows)
}

fn owned_between(
    db: &dyn Rows,
    pool_id: i64,
    from: &str,
    to: &str,
    inclusive: bool,
) -> Result<Vec<Allocation>, Error> {
    let rows = allocations_by(db, AllocationsBy::OwnerBetween { pool_id, from, to, inclusive })?;
    let within = |o: &str| o >= from && if inclusive { o <= to } else { o < to };
    if rows.iter().any(|(id, a)| *id != pool_id || !a.owner.as_deref().is_some_and(within)) {
        return Err(damaged(format!("the owner index of pool id {pool_id} leads to the wrong rows")));
    }
    Ok(rows.into_iter().map(|(_, a)| a).collect())
}

/// The allocation starting at `first`.
pub(crate) fn at(db: &dyn Rows, pool_id: i64, first: Ipv4Addr) -> Result<Option<Allocation>, Error> {
    let rows = allocations_by(db, AllocationsBy::At(pool_id, first))?;
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
pub(crate) fn holding(db: &dyn Rows, pool_id: i64, addr: Ipv4Addr) -> Result<Option<Allocation>, Error> {
    let rows = allocations_by(db, AllocationsBy::AtOrBelow(pool_id, addr))?;
    if rows.len() > 1 || rows.iter().any(|(id, a)| *id != pool_id || a.first > addr) {
        return Err(damaged(format!("an index of pool id {pool_id}'s allocations leads to the wrong rows")));
    }
    Ok(rows.into_iter().map(|(_, a)| a).find(|a| a.last >= addr))
}

/// A pool's name by id, from its verified row (for reports that span pools).
pub(crate) fn pool_name(db: &dyn Rows, id: i64) -> Result<String, Error> {
    match db.pools(PoolsBy::Id(id))?.into_iter().next().map(|raw| verify_pool(db, raw)).transpose()? {
        Some(row) if row.id == id => Ok(row.def.name),
        _ => Err(damaged(format!("an allocation names pool id {id}, which is not there"))),
    }
}

fn exclusions_text(exclusions: &[Ipv4Net]) -> String {
    exclusions.iter().map(ToString::to_string).collect::<Vec<_>>().join(" ")
}

/// A network from its stored integers (the schemas' CHECKs keep them in range).
pub(crate) fn net(network: u32, prefix_len: u8) -> Ipv4Net {
    Ipv4Net::new(Ipv4Addr::from(network), prefix_len.min(32)).expect("prefix length clamped to 32").trunc()
}

/// Counts as SQL integers (every count here is far below 2^63).
pub(crate) fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}
