//! One pool inside a transaction: its row, and the chunks a command has touched so far.
//!
//! Every decision is the allocator's (`ipam_core::Pool`), made on the window of one chunk, which
//! the pool's summary names without reading any other chunk. What was loaded is verified against
//! its checksum and against the summary; what was changed is written back by [`PoolState::flush`].

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::Ipv4Addr;

use crate::rows::Rows;
use ipam_core::{Policy, Pool};
use ipnet::Ipv4Net;
use roaring::RoaringBitmap;

use crate::layout::{CHUNK_ORDER, Layout, NONE_FREE, STORED, cover, free_order};
use crate::model::{PoolDef, Request, Shape};
use crate::rows::{self, ChunkRead, ChunkWrite, Lock, PoolRow};
use crate::{Error, damaged};

/// A pool as one transaction sees it.
pub(crate) struct PoolState {
    pub(crate) row: PoolRow,
    layout: Layout,
    windows: HashMap<usize, Pool>,
    dirty: BTreeSet<usize>,
    changed: bool,
    /// The backend keeps counts and summary bytes per chunk ([`crate::rows::Rows::per_chunk`]):
    /// other writers may change chunks this transaction has not read, so the pool row's counts
    /// are a snapshot, and each chunk's summary byte is taken from its row when it is read.
    per_chunk: bool,
    /// Allocation rows added (or removed) per chunk of their first address.
    rows_added: BTreeMap<usize, i64>,
}

impl PoolState {
    /// The pool named `name`, with no chunk read yet.
    pub(crate) fn load(conn: &dyn Rows, name: &str) -> Result<PoolState, Error> {
        let row = rows::pool_by_name(conn, name)?
            .ok_or_else(|| Error::NoSuchPool { name: crate::excerpt(name) })?;
        PoolState::from_row(conn, row)
    }

    pub(crate) fn from_row(conn: &dyn Rows, row: PoolRow) -> Result<PoolState, Error> {
        let layout = Layout::new(&row.def);
        if row.summary.len() != layout.chunks() {
            return Err(damaged(format!("pool `{}`: its summary has the wrong size", row.def.name)));
        }
        Ok(PoolState {
            row,
            layout,
            windows: HashMap::new(),
            dirty: BTreeSet::new(),
            changed: false,
            per_chunk: conn.per_chunk(),
            rows_added: BTreeMap::new(),
        })
    }

    /// A new pool's row (not yet inserted).
    pub(crate) fn new_row(def: &PoolDef, parent_id: Option<i64>) -> Result<PoolRow, Error> {
        let whole = def.builder().build()?;
        Ok(PoolRow {
            id: 0,
            def: def.clone(),
            parent_id,
            cursor: whole.cursor(),
            changes: 0,
            capacity: whole.capacity(),
            allocated: 0,
            allocations: 0,
            summary: Layout::new(def).pristine_summary()?,
        })
    }

    pub(crate) fn name(&self) -> &str {
        &self.row.def.name
    }

    fn avail(&self, idx: usize) -> u8 {
        self.row.summary[idx] & !STORED
    }

    /// The allocator of chunk `idx`, read and verified on first use.
    fn window(&mut self, conn: &dyn Rows, idx: usize) -> Result<&mut Pool, Error> {
        let name = self.row.def.name.clone();
        let missing = || damaged(format!("pool `{name}`: chunk {idx} is held by another writer"));
        self.window_or_busy(conn, idx, Lock::Wait)?.ok_or_else(missing)
    }

    /// The allocator of chunk `idx`, or `None` if another writer holds it and `lock` skips.
    fn window_or_busy(
        &mut self,
        conn: &dyn Rows,
        idx: usize,
        lock: Lock,
    ) -> Result<Option<&mut Pool>, Error> {
        if !self.windows.contains_key(&idx) {
            let Some(pool) = self.read_window(conn, idx, lock)? else { return Ok(None) };
            self.windows.insert(idx, pool);
        }
        Ok(self.windows.get_mut(&idx))
    }

    fn read_window(&mut self, conn: &dyn Rows, idx: usize, lock: Lock) -> Result<Option<Pool>, Error> {
        match rows::chunk(conn, self.row.id, idx, lock)? {
            ChunkRead::Busy => Ok(None),
            ChunkRead::Read { bits, summary } => self.window_from(idx, bits, summary).map(Some),
        }
    }

    /// The allocator of chunk `idx` from its row's verified bits and summary byte.
    fn window_from(
        &mut self,
        idx: usize,
        bits: Option<(u64, Vec<u8>)>,
        summary: Option<u8>,
    ) -> Result<Pool, Error> {
        if let Some(byte) = summary {
            // The chunk's own row is newer than the pool's snapshot of it.
            self.row.summary[idx] = byte;
        }
        let name = &self.row.def.name;
        let stored = self.row.summary[idx] & STORED != 0;
        let bits = match bits {
            Some((used, bytes)) if stored => {
                let bits = RoaringBitmap::deserialize_from(&bytes[..])
                    .map_err(|_| damaged(format!("pool `{name}`: chunk {idx} is unreadable")))?;
                if bits.len() != used || used == 0 {
                    return Err(damaged(format!(
                        "pool `{name}`: chunk {idx} holds {} addresses, not {used}",
                        bits.len()
                    )));
                }
                bits
            }
            None if !stored => RoaringBitmap::new(),
            _ => return Err(damaged(format!("pool `{name}`: chunk {idx} and the pool's summary disagree"))),
        };
        let pool = self
            .layout
            .window_pool(idx, &bits, Some(self.row.cursor))
            .map_err(|e| damaged(format!("pool `{name}`: chunk {idx} does not fit the pool ({e})")))?;
        if free_order(&pool) != self.avail(idx) {
            return Err(damaged(format!("pool `{name}`: chunk {idx} and the pool's summary disagree")));
        }
        Ok(pool)
    }

    /// Notes that chunk `idx` changed, keeping the summary exact for the next choice.
    fn touched(&mut self, idx: usize) {
        let order = free_order(&self.windows[&idx]);
        self.row.summary[idx] = (self.row.summary[idx] & STORED) | order;
        self.dirty.insert(idx);
        self.changed = true;
    }

    /// Allocates what `request` asks for; returns its first and last address and shape.
    pub(crate) fn allocate(
        &mut self,
        conn: &dyn Rows,
        request: Request,
    ) -> Result<(Ipv4Addr, Ipv4Addr, Shape), Error> {
        let net = self.row.def.cidr;
        let (first, last, shape) = match request {
            Request::Next => {
                let a = self.choose(conn, 0, |w| w.allocate().map(Ipv4Net::from))?;
                (a.addr(), a.addr(), Shape::Addr)
            }
            Request::Addr(a) => {
                self.take(conn, a, a)?;
                (a, a, Shape::Addr)
            }
            Request::Block(len) => {
                if len < net.prefix_len() || len > 32 {
                    return Err(ipam_core::Error::InvalidPrefixLength {
                        prefix_len: len,
                        min: net.prefix_len(),
                    }
                    .into());
                }
                let order = 32 - u32::from(len);
                let block = if order <= self.layout.window_order() {
                    self.choose(conn, order, |w| w.allocate_block(len))?
                } else {
                    self.take_whole_chunks(conn, order)?
                };
                (block.network(), block.broadcast(), Shape::Block)
            }
            Request::Range(count) => {
                let range = self.whole(conn)?.allocate_range(count)?;
                self.take(conn, *range.start(), *range.end())?;
                (*range.start(), *range.end(), Shape::Range)
            }
        };
        Ok((first, last, shape))
    }

    /// Tries the chunks that can hold a block of `order`, in the policy's order, until `op` succeeds.
    /// Where writers of one pool run side by side ([`PoolState::per_chunk`]), a chunk another writer
    /// holds is passed over and waited for only when no other chunk has room, and a chunk whose
    /// room went meanwhile is passed over.
    fn choose(
        &mut self,
        conn: &dyn Rows,
        order: u32,
        mut op: impl FnMut(&mut Pool) -> Result<Ipv4Net, ipam_core::Error>,
    ) -> Result<Ipv4Net, Error> {
        let candidates = self.candidates(order, 1);
        let (cursor, round_robin) = (self.row.cursor, self.row.def.policy == Policy::RoundRobin);
        let cursor_chunk = self.layout.chunk_of(cursor.max(self.row.def.cidr.network()));
        // First pass: pass over chunks other writers hold; second: wait for those.
        let mut lock = if self.per_chunk && !round_robin { Lock::Skip } else { Lock::Wait };
        let mut pending = candidates.clone();
        while !pending.is_empty() {
            let mut busy = Vec::new();
            for (n, idx) in pending.into_iter().enumerate() {
                // (RoundRobin always waits, so it makes one pass over every candidate.)
                let last_try = n + 1 == candidates.len();
                let Some(window) = self.window_or_busy(conn, idx, lock)? else {
                    busy.push(idx);
                    continue;
                };
                match op(window) {
                    // RoundRobin: free space behind the cursor waits until every later chunk was tried.
                    Ok(block)
                        if round_robin && !last_try && idx == cursor_chunk && block.network() < cursor =>
                    {
                        // Put it back, and let the last try (after the wrap) search from the chunk's
                        // start, as the whole pool's cursor would.
                        window.release_block(block)?;
                        let bits = window.allocated();
                        let fresh = self.layout.window_pool(idx, &bits, None)?;
                        self.windows.insert(idx, fresh);
                    }
                    Ok(block) => {
                        self.row.cursor = after(self.row.def.cidr, block);
                        self.row.allocated += 1 << (32 - u32::from(block.prefix_len()));
                        self.touched(idx);
                        return Ok(block);
                    }
                    Err(ipam_core::Error::Exhausted { .. }) if round_robin || self.per_chunk => {}
                    Err(e) => return Err(e.into()),
                }
            }
            (pending, lock) = (busy, Lock::Wait);
        }
        Err(ipam_core::Error::Exhausted { wanted: 1 << order, pool: self.row.def.cidr }.into())
    }

    /// Chunk indices, stepping by `step`, whose summary allows a block of `order`, in the order
    /// the pool's policy tries them.
    pub(crate) fn candidates(&self, order: u32, step: usize) -> Vec<usize> {
        let fits = |idx: usize| {
            (0..step).all(|k| {
                let avail = self.avail(idx + k);
                avail != NONE_FREE && u32::from(avail) >= order.min(self.layout.window_order())
            })
        };
        let all = (0..self.layout.chunks()).step_by(step).filter(|&i| fits(i));
        // With per-chunk writers every fitting chunk is a candidate (another writer may hold or
        // fill the first); otherwise the summary is exact and the first one is the answer.
        let many = if self.per_chunk { usize::MAX } else { 1 };
        match self.row.def.policy {
            Policy::BestFit if step == 1 => {
                let mut fitting: Vec<usize> = all.collect();
                fitting.sort_by_key(|&i| (self.avail(i), i));
                fitting.truncate(many);
                fitting
            }
            Policy::RoundRobin => {
                let start = self.layout.chunk_of(
                    self.row.cursor.max(self.row.def.cidr.network()).min(self.row.def.cidr.broadcast()),
                );
                let start = start - start % step;
                let (after, before): (Vec<usize>, Vec<usize>) = all.partition(|&i| i >= start);
                // The cursor's chunk comes again last: its part below the cursor.
                after.into_iter().chain(before).chain(std::iter::once(start).filter(|&i| fits(i))).collect()
            }
            _ => all.take(many).collect(),
        }
    }

    /// A block larger than a chunk: aligned whole chunks, every one entirely free.
    fn take_whole_chunks(&mut self, conn: &dyn Rows, order: u32) -> Result<Ipv4Net, Error> {
        let step = 1usize << (order - CHUNK_ORDER);
        let whole = |s: &Self, idx: usize| (idx..idx + step).all(|i| u32::from(s.avail(i)) == CHUNK_ORDER);
        let found = self.candidates(order, step).into_iter().find(|&idx| whole(self, idx));
        let Some(idx) = found else {
            return Err(ipam_core::Error::Exhausted { wanted: 1 << order, pool: self.row.def.cidr }.into());
        };
        let first = self.layout.window(idx).network();
        let block = Ipv4Net::new_assert(first, (32 - order) as u8);
        let per_chunk = self.per_chunk;
        self.take(conn, block.network(), block.broadcast()).map_err(|e| match e {
            // The summary was a snapshot: another writer took part of these chunks meanwhile.
            Error::Pool(ipam_core::Error::AlreadyAllocated { .. }) if per_chunk => {
                crate::rows::lost_race(format!("{block} was taken meanwhile"))
            }
            other => other,
        })?;
        self.row.cursor = after(self.row.def.cidr, block);
        Ok(block)
    }

    /// Takes exactly `first..=last`, every address of which must be free and unreserved.
    pub(crate) fn take(&mut self, conn: &dyn Rows, first: Ipv4Addr, last: Ipv4Addr) -> Result<(), Error> {
        self.check_inside(first)?;
        self.check_inside(last)?;
        for idx in self.layout.chunks_of(first, last) {
            let window = self.window(conn, idx)?;
            for block in clip(window.network(), first, last) {
                window.allocate_block_specific(block)?;
            }
            self.touched(idx);
        }
        self.row.allocated += u64::from(u32::from(last) - u32::from(first)) + 1;
        Ok(())
    }

    /// Frees exactly `first..=last`, every address of which the chunks must hold.
    pub(crate) fn free(&mut self, conn: &dyn Rows, first: Ipv4Addr, last: Ipv4Addr) -> Result<(), Error> {
        let name = self.row.def.name.clone();
        if first > last || !self.row.def.cidr.contains(&first) || !self.row.def.cidr.contains(&last) {
            return Err(damaged(format!("pool `{name}` records {first}-{last}, which is not inside it")));
        }
        for idx in self.layout.chunks_of(first, last) {
            let window = self.window(conn, idx)?;
            for block in clip(window.network(), first, last) {
                window.release_block(block).map_err(|e| {
                    damaged(format!("pool `{name}` records {first}-{last} but its chunk does not ({e})"))
                })?;
            }
            self.touched(idx);
        }
        let size = u64::from(u32::from(last) - u32::from(first)) + 1;
        self.row.allocated = match self.row.allocated.checked_sub(size) {
            Some(left) => left,
            // The pool's count is a snapshot that other writers' chunks have moved on from.
            None if self.per_chunk => 0,
            None => return Err(damaged(format!("pool `{name}`: its address count went below zero"))),
        };
        Ok(())
    }

    /// Fails unless chunk `idx` lies inside the pool: a row past its end is damage.
    fn check_chunk_index(&self, idx: usize) -> Result<(), Error> {
        if idx >= self.layout.chunks() {
            return Err(damaged(format!("pool `{}` has a chunk past its end", self.row.def.name)));
        }
        Ok(())
    }

    fn check_inside(&self, addr: Ipv4Addr) -> Result<(), Error> {
        if self.row.def.cidr.contains(&addr) {
            Ok(())
        } else {
            Err(ipam_core::Error::OutOfPool { addr, pool: self.row.def.cidr }.into())
        }
    }

    /// The whole pool as one allocator (every stored chunk read): for ranges, reports and checks.
    pub(crate) fn whole(&mut self, conn: &dyn Rows) -> Result<Pool, Error> {
        let mut on_file = Vec::new();
        for (idx, summary) in rows::chunk_list(conn, self.row.id)? {
            self.check_chunk_index(idx)?;
            match summary {
                // A chunk this transaction has not read: its row is newer than the snapshot.
                Some(byte) if !self.windows.contains_key(&idx) => self.row.summary[idx] = byte,
                _ => {}
            }
            if summary.is_none_or(|byte| byte & STORED != 0) {
                on_file.push(idx);
            }
        }
        let stored: Vec<usize> =
            (0..self.layout.chunks()).filter(|&i| self.row.summary[i] & STORED != 0).collect();
        if stored != on_file {
            return Err(damaged(format!(
                "pool `{}`: its chunks and its summary disagree",
                self.row.def.name
            )));
        }
        let mut all = RoaringBitmap::new();
        for idx in stored.iter().copied().chain(self.dirty.clone()) {
            all |= self.window(conn, idx)?.allocated();
        }
        let pool = self.row.def.builder().allocated(&all).cursor(self.row.cursor).build().map_err(|e| {
            damaged(format!("pool `{}` does not fit its definition ({e})", self.row.def.name))
        })?;
        Ok(pool)
    }

    /// Counts one more (or one fewer) allocation row, the one starting at `first`.
    pub(crate) fn count_rows(&mut self, first: Ipv4Addr, added: bool) -> Result<(), Error> {
        self.row.allocations = if added {
            self.row.allocations + 1
        } else {
            match self.row.allocations.checked_sub(1) {
                Some(left) => left,
                None if self.per_chunk => 0,
                None => {
                    let name = &self.row.def.name;
                    return Err(damaged(format!("pool `{name}`: its row count went below zero")));
                }
            }
        };
        *self.rows_added.entry(self.layout.chunk_of(first)).or_default() += if added { 1 } else { -1 };
        self.changed = true;
        Ok(())
    }

    /// Sets where the RoundRobin policy continues.
    pub(crate) fn set_cursor(&mut self, cursor: Ipv4Addr) {
        self.row.cursor = cursor;
        self.changed = true;
    }

    /// Writes the touched chunks and the pool's row.
    pub(crate) fn flush(&mut self, conn: &dyn Rows) -> Result<(), Error> {
        if !self.changed {
            return Ok(());
        }
        let mut rows_added = std::mem::take(&mut self.rows_added);
        rows_added.retain(|_, n| *n != 0);
        let mut indices = std::mem::take(&mut self.dirty);
        if self.per_chunk {
            indices.extend(rows_added.keys().copied());
        }
        for idx in indices {
            self.window(conn, idx)?;
            let (used, bytes) = self.image(idx)?;
            let chunk = ChunkWrite {
                used,
                bits: &bytes,
                summary: self.row.summary[idx],
                rows_added: rows_added.get(&idx).copied().unwrap_or(0),
            };
            rows::put_chunk(conn, self.row.id, idx, &chunk)?;
        }
        self.row.changes += 1;
        rows::update_pool(conn, &self.row)?;
        self.changed = false;
        Ok(())
    }
}

impl PoolState {
    /// Chunk `idx` as its row keeps it: the number of addresses held and the serialized bits
    /// (empty when none). Sets the summary byte's flag for a stored chunk.
    pub(crate) fn image(&mut self, idx: usize) -> Result<(u64, Vec<u8>), Error> {
        let window =
            self.windows.get(&idx).ok_or_else(|| damaged(format!("chunk {idx} is not in memory")))?;
        let mut bits = window.allocated();
        let mut bytes = Vec::new();
        if bits.is_empty() {
            self.row.summary[idx] &= !STORED;
        } else {
            // Runs of addresses (how most pools fill) are stored as runs.
            bits.optimize();
            bytes.reserve(bits.serialized_size());
            bits.serialize_into(&mut bytes).map_err(|e| Error::Database(Box::new(e)))?;
            self.row.summary[idx] |= STORED;
        }
        Ok((bits.len(), bytes))
    }
}

/// A pool kept in memory between transactions ([`crate::controller`]): its chunks come from
/// rows read (or returned) outside a transaction, and its changes are written by the caller.
#[cfg(feature = "postgres")]
impl PoolState {
    /// Whether chunk `idx` is in memory.
    pub(crate) fn has_window(&self, idx: usize) -> bool {
        self.windows.contains_key(&idx)
    }

    /// Puts chunk `idx` in memory from its row, replacing what was there.
    pub(crate) fn adopt_chunk(&mut self, idx: usize, raw: rows::RawChunk) -> Result<(), Error> {
        self.check_chunk_index(idx)?;
        let (bits, summary) = rows::verified_chunk(self.row.id, idx, raw, self.per_chunk)?;
        let pool = self.window_from(idx, bits, summary)?;
        self.windows.insert(idx, pool);
        Ok(())
    }

    /// Drops chunk `idx` from memory, taking `summary` as its summary byte: it is read again
    /// when it is tried.
    pub(crate) fn forget_window(&mut self, idx: usize, summary: u8) -> Result<(), Error> {
        self.check_chunk_index(idx)?;
        self.windows.remove(&idx);
        self.row.summary[idx] = summary;
        Ok(())
    }

    /// Takes a block of `order` (0: the next address) from chunk `idx`, which must be in memory;
    /// `None` if the chunk has no room (its summary byte is corrected).
    pub(crate) fn take_in(&mut self, idx: usize, order: u32) -> Result<Option<Ipv4Net>, Error> {
        let window =
            self.windows.get_mut(&idx).ok_or_else(|| damaged(format!("chunk {idx} is not in memory")))?;
        let taken = if order == 0 {
            window.allocate().map(Ipv4Net::from)
        } else {
            window.allocate_block((32 - order) as u8)
        };
        self.touched(idx);
        self.dirty.remove(&idx);
        match taken {
            Ok(block) => Ok(Some(block)),
            Err(ipam_core::Error::Exhausted { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Gives back `block`, just taken from chunk `idx` by [`PoolState::take_in`].
    pub(crate) fn untake(&mut self, idx: usize, block: Ipv4Net) -> Result<(), Error> {
        let window =
            self.windows.get_mut(&idx).ok_or_else(|| damaged(format!("chunk {idx} is not in memory")))?;
        window.release_block(block)?;
        self.touched(idx);
        self.dirty.remove(&idx);
        Ok(())
    }

    /// The summary byte of chunk `idx`.
    pub(crate) fn summary(&self, idx: usize) -> u8 {
        self.row.summary[idx]
    }
}

/// The RoundRobin cursor after handing out `block`: the next address, wrapping to the start.
fn after(net: Ipv4Net, block: Ipv4Net) -> Ipv4Addr {
    if block.broadcast() == net.broadcast() {
        net.network()
    } else {
        Ipv4Addr::from(u32::from(block.broadcast()) + 1)
    }
}

/// The CIDR blocks of `first..=last` inside `window`.
fn clip(window: Ipv4Net, first: Ipv4Addr, last: Ipv4Addr) -> Vec<Ipv4Net> {
    cover(first.max(window.network()), last.min(window.broadcast()))
}
