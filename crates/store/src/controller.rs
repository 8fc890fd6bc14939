//! A long-lived controller's pools, kept in memory between calls: where the database itself
//! arbitrates (PostgreSQL), an allocation is one statement, with no transaction around it.
//!
//! Each chunk in memory carries the version its row had when it was read. The controller
//! chooses from its own copy and sends one statement that writes the chunk and inserts the
//! allocation only if the row still has that version; the same statement, when it does not,
//! returns the row as it is now, so a controller reloads only what another one changed. A chunk
//! another writer holds is passed over, as the transaction path does; after passing one over, the
//! controller keeps to the chunk it then got (its home), so that controllers sharing a pool
//! settle on different chunks instead of meeting on the lowest one. Whatever this path does not
//! settle (an owner that already holds something, cooled blocks due to be freed, a full view,
//! every chunk held by others, a pool that changed shape) goes to the transaction path, which
//! decides with the rows locked.

use std::collections::HashMap;

use ipnet::Ipv4Net;

use crate::Error;
use crate::layout::{CHUNK_ORDER, STORED};
use crate::model::{Allocation, Request, Shape};
use crate::rows::{ChunkWrite, RawChunk, allocation_checksum, chunk_checksum};
use crate::state::PoolState;
use ipam_core::Policy;

/// How many statements one allocation sends on this path before it leaves the decision to a
/// transaction.
const ATTEMPTS: usize = 8;

/// What a backend that can arbitrate a claim by itself offers.
pub(crate) trait Claims {
    /// The pool named `name`, with no chunk read (`None` if there is none).
    fn load_pool(&self, name: &str) -> Result<Option<PoolState>, Error>;
    /// Chunk `idx` of a pool and its version, read without a lock (`None`: it has no row).
    fn load_chunk(&self, pool_id: i64, idx: usize) -> Result<Option<(i64, RawChunk)>, Error>;
    /// Writes the chunk and inserts the allocation, in one statement, if the chunk's row still
    /// has `claim.version` and no other writer holds it.
    fn claim(&self, claim: &Claim<'_>) -> Result<Outcome, Error>;
}

/// One allocation as the controller would write it.
pub(crate) struct Claim<'a> {
    pub(crate) pool_id: i64,
    pub(crate) idx: usize,
    /// The version of the chunk the choice was made on.
    pub(crate) version: i64,
    pub(crate) chunk: ChunkWrite<'a>,
    pub(crate) chunk_checksum: i64,
    pub(crate) allocation: &'a Allocation,
    pub(crate) allocation_checksum: i64,
    /// The time now: cooled blocks whose time is up are freed by a transaction first.
    pub(crate) now: u64,
    /// The order of the block taken (0: one address).
    pub(crate) order: u32,
    /// Which other chunks the policy would rather take it from.
    pub(crate) better: Better,
}

/// Which chunks the policy would have chosen before this one, had the controller seen them as
/// they are now: a claim is refused while one of them has room, so a controller's stale view of
/// the chunks it did not try never changes what the policy picks.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Better {
    /// First fit: any lower chunk with room.
    FirstFit,
    /// Best fit: a chunk whose largest free block fits more tightly than `rank` (this chunk's,
    /// before the take), or as tightly and lower.
    BestFit { rank: u8 },
    /// No check: the controller keeps to its home chunk.
    Unchecked,
}

/// What became of a [`Claim`].
pub(crate) enum Outcome {
    /// Written; the chunk's new version.
    Claimed(i64),
    /// Another writer holds the chunk.
    Busy,
    /// The chunk changed: its version and row now.
    Stale(i64, RawChunk),
    /// Other chunks the policy would rather use have room: their indices and summary bytes.
    Better(Vec<(usize, u8)>),
    /// Not for this path: the pool has cooled blocks to free, the owner holds something
    /// already, or a constraint refused the row.
    Declined,
    /// The chunk has no row (the pool was removed or reshaped).
    Gone,
}

/// The pools a store keeps in memory between calls.
#[derive(Default)]
pub(crate) struct Controller {
    pools: HashMap<String, Held>,
}

/// One pool in memory.
struct Held {
    state: PoolState,
    versions: HashMap<usize, i64>,
    /// The chunk this controller got after passing over one another writer held.
    home: Option<usize>,
}

impl Controller {
    /// Allocates `request` from `pool` in one statement, if this path can settle it; `None`
    /// leaves it to a transaction.
    pub(crate) fn allocate(
        &mut self,
        db: &dyn Claims,
        pool: &str,
        request: Request,
        owner: Option<&str>,
        now: u64,
    ) -> Result<Option<Allocation>, Error> {
        let (order, shape) = match request {
            Request::Next => (0, Shape::Addr),
            Request::Block(len) if len <= 32 && 32 - u32::from(len) <= CHUNK_ORDER => {
                (32 - u32::from(len), Shape::Block)
            }
            _ => return Ok(None),
        };
        if !self.pools.contains_key(pool) {
            let Some(state) = db.load_pool(pool)? else { return Ok(None) };
            self.pools.insert(pool.to_owned(), Held { state, versions: HashMap::new(), home: None });
        }
        let held = self.pools.get_mut(pool).expect("inserted above");
        let def = &held.state.row.def;
        if def.container || def.policy == Policy::RoundRobin || order > 32 - u32::from(def.cidr.prefix_len())
        {
            return Ok(None);
        }
        match held.allocate(db, order, shape, owner, now) {
            Ok(Ok(allocation)) => Ok(Some(allocation)),
            Ok(Err(Fallback::Wait)) => Ok(None),
            // The transaction path decides, and the pool is read afresh next time.
            Ok(Err(Fallback::Reread)) => {
                self.pools.remove(pool);
                Ok(None)
            }
            Err(e) => {
                // Not known what was written (the connection may have gone before or after the
                // commit), or a row was unreadable: the copy in memory is dropped.
                self.pools.remove(pool);
                Err(e)
            }
        }
    }
}

/// Why the transaction path takes over.
enum Fallback {
    /// Nothing is wrong with the copy in memory (every chunk with room was held by another
    /// writer, or the request is one a transaction settles).
    Wait,
    /// The copy in memory is out of date as a whole (no room in it, or the pool was removed).
    Reread,
}

impl Held {
    /// The loop of [`Controller::allocate`]: chunks tried in the policy's order (this
    /// controller's home first), each one statement.
    fn allocate(
        &mut self,
        db: &dyn Claims,
        order: u32,
        shape: Shape,
        owner: Option<&str>,
        now: u64,
    ) -> Result<Result<Allocation, Fallback>, Error> {
        let mut sent = 0;
        'attempts: loop {
            let mut passed_busy = false;
            let mut candidates = self.state.candidates(order, 1);
            if let Some(home) = self.home {
                match candidates.iter().position(|&i| i == home) {
                    Some(at) => {
                        candidates.remove(at);
                        candidates.insert(0, home);
                    }
                    // Full: the policy's order again, until another writer is met.
                    None => self.home = None,
                }
            }
            if candidates.is_empty() {
                return Ok(Err(Fallback::Reread));
            }
            for idx in candidates {
                if sent >= ATTEMPTS {
                    return Ok(Err(Fallback::Wait));
                }
                if !self.state.has_window(idx) {
                    sent += 1;
                    let Some((version, raw)) = db.load_chunk(self.state.row.id, idx)? else {
                        return Ok(Err(Fallback::Reread));
                    };
                    self.state.adopt_chunk(idx, raw)?;
                    self.versions.insert(idx, version);
                }
                let rank = self.state.summary(idx) & !STORED;
                let Some(block) = self.state.take_in(idx, order)? else { continue };
                sent += 1;
                // Once settled on a home, or past a chunk another writer holds, the policy's
                // order among chunks gives way (as in a transaction, which passes over it too).
                let better = match self.state.row.def.policy {
                    _ if self.home.is_some() || passed_busy => Better::Unchecked,
                    Policy::BestFit => Better::BestFit { rank },
                    _ => Better::FirstFit,
                };
                let (outcome, allocation) = self.claim(db, idx, block, shape, owner, now, order, better)?;
                match outcome {
                    Outcome::Claimed(version) => {
                        self.versions.insert(idx, version);
                        if passed_busy {
                            self.home = Some(idx);
                        }
                        return Ok(Ok(allocation));
                    }
                    Outcome::Busy => {
                        self.state.untake(idx, block)?;
                        passed_busy = true;
                    }
                    Outcome::Stale(version, raw) => {
                        self.state.adopt_chunk(idx, raw)?;
                        self.versions.insert(idx, version);
                        continue 'attempts;
                    }
                    Outcome::Better(chunks) => {
                        self.state.untake(idx, block)?;
                        for (other, summary) in chunks {
                            self.state.forget_window(other, summary)?;
                            self.versions.remove(&other);
                        }
                        continue 'attempts;
                    }
                    Outcome::Declined => {
                        self.state.untake(idx, block)?;
                        return Ok(Err(Fallback::Wait));
                    }
                    Outcome::Gone => return Ok(Err(Fallback::Reread)),
                }
            }
            // Every chunk with room was held by another writer (or had none after all): a
            // transaction waits for them.
            return Ok(Err(Fallback::Wait));
        }
    }

    /// Sends the claim of `block`, just taken from chunk `idx` in memory.
    #[allow(clippy::too_many_arguments)] // One claim's parts, named where they are sent.
    fn claim(
        &mut self,
        db: &dyn Claims,
        idx: usize,
        block: Ipv4Net,
        shape: Shape,
        owner: Option<&str>,
        now: u64,
        order: u32,
        better: Better,
    ) -> Result<(Outcome, Allocation), Error> {
        let allocation = Allocation {
            first: block.network(),
            last: block.broadcast(),
            shape,
            owner: owner.map(str::to_owned),
            created: now,
        };
        let id = self.state.row.id;
        let (used, bits) = self.state.image(idx)?;
        let summary = self.state.summary(idx);
        let claim = Claim {
            pool_id: id,
            idx,
            version: self.versions[&idx],
            chunk: ChunkWrite { used, bits: &bits, summary, rows_added: 1 },
            chunk_checksum: chunk_checksum(id, idx, used, &bits, Some(summary)),
            allocation: &allocation,
            allocation_checksum: allocation_checksum(id, &allocation),
            now,
            order,
            better,
        };
        Ok((db.claim(&claim)?, allocation))
    }
}
