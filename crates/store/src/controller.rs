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
use crate::layout::CHUNK_ORDER;
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
}

/// What became of a [`Claim`].
pub(crate) enum Outcome {
    /// Written; the chunk's new version.
    Claimed(i64),
    /// Another writer holds the chunk.
    Busy,
    /// The chunk changed: its version and row now.
    Stale(i64, RawChunk),
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
        let mut sent = 0;
        // `Err(true)`: the view was wrong; read the pool afresh next time.
        let outcome: Result<Allocation, bool> = 'attempts: loop {
            let mut passed_busy = false;
            let mut candidates = held.state.candidates(order, 1);
            if let Some(home) = held.home
                && let Some(at) = candidates.iter().position(|&i| i == home)
            {
                candidates.remove(at);
                candidates.insert(0, home);
            }
            if candidates.is_empty() {
                break Err(true);
            }
            for idx in candidates {
                if sent == ATTEMPTS {
                    break 'attempts Err(false);
                }
                if !held.state.has_window(idx) {
                    sent += 1;
                    let Some((version, raw)) = db.load_chunk(held.state.row.id, idx)? else {
                        break 'attempts Err(true);
                    };
                    held.state.adopt_chunk(idx, raw)?;
                    held.versions.insert(idx, version);
                }
                let Some(block) = held.state.take_in(idx, order)? else { continue };
                sent += 1;
                let sent_claim = held.claim(db, idx, block, shape, owner, now);
                let Ok(outcome) = sent_claim else {
                    // Not known to be written (the connection may have gone before or after the
                    // commit): the copy in memory is dropped, and the pool read afresh next time.
                    self.pools.remove(pool);
                    return sent_claim.map(|_| None);
                };
                match outcome {
                    (Outcome::Claimed(version), allocation) => {
                        held.versions.insert(idx, version);
                        if passed_busy {
                            held.home = Some(idx);
                        }
                        break 'attempts Ok(allocation);
                    }
                    (Outcome::Busy, _) => {
                        held.state.untake(idx, block)?;
                        passed_busy = true;
                    }
                    (Outcome::Stale(version, raw), _) => {
                        held.state.adopt_chunk(idx, raw)?;
                        held.versions.insert(idx, version);
                        continue 'attempts;
                    }
                    (Outcome::Declined, _) => {
                        held.state.untake(idx, block)?;
                        return Ok(None);
                    }
                    (Outcome::Gone, _) => break 'attempts Err(true),
                }
            }
            // Every chunk with room was held by another writer (or had none after all): a
            // transaction waits for them.
            break Err(false);
        };
        match outcome {
            Ok(allocation) => Ok(Some(allocation)),
            Err(stale) => {
                if stale {
                    self.pools.remove(pool);
                }
                Ok(None)
            }
        }
    }
}

impl Held {
    /// Sends the claim of `block`, just taken from chunk `idx` in memory.
    fn claim(
        &mut self,
        db: &dyn Claims,
        idx: usize,
        block: Ipv4Net,
        shape: Shape,
        owner: Option<&str>,
        now: u64,
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
        };
        Ok((db.claim(&claim)?, allocation))
    }
}
