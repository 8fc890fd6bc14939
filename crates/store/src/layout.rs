//! How a pool is cut into chunks: the unit the store reads, checks and writes.
//!
//! A chunk is an aligned window of 2^16 addresses (the whole pool when it is smaller). The file
//! keeps one row per chunk that holds allocations, and the pool's row keeps one summary byte per
//! chunk: the order (log2 size) of the largest free aligned block in it, or [`NONE_FREE`], with
//! [`STORED`] set when the chunk has a row. So a command finds the chunk it needs from one row
//! and reads only that chunk, whatever else the file holds. The chunk size is this file format's
//! own, independent of the allocator's in-memory layout.

use std::net::Ipv4Addr;

use ipam_core::{Policy, Pool};
use ipnet::Ipv4Net;
use roaring::RoaringBitmap;

use crate::Error;
use crate::model::PoolDef;

/// log2 of the addresses in a chunk.
pub(crate) const CHUNK_ORDER: u32 = 16;
/// Summary value of a chunk with no free address.
pub(crate) const NONE_FREE: u8 = 0x7f;
/// Summary flag: the chunk has a row in the file.
pub(crate) const STORED: u8 = 0x80;

/// A pool's chunks and reservations.
#[derive(Clone, Debug)]
pub(crate) struct Layout {
    net: Ipv4Net,
    policy: Policy,
    /// Network, broadcast, gateway and exclusions, as CIDRs (they are nested or disjoint).
    reserved: Vec<Ipv4Net>,
}

impl Layout {
    pub(crate) fn new(def: &PoolDef) -> Layout {
        let net = def.cidr;
        let split = def.network_broadcast && net.prefix_len() <= 30;
        let mut reserved = Vec::with_capacity(def.exclusions.len() + 3);
        if split {
            reserved.push(Ipv4Net::from(net.network()));
            reserved.push(Ipv4Net::from(net.broadcast()));
        }
        if def.gateway {
            let gateway = u32::from(net.network()).saturating_add(u32::from(split));
            reserved.push(Ipv4Net::from(Ipv4Addr::from(gateway)));
        }
        reserved.extend(def.exclusions.iter().copied());
        Layout { net, policy: def.policy, reserved }
    }

    /// The order of one chunk's window.
    pub(crate) fn window_order(&self) -> u32 {
        (32 - u32::from(self.net.prefix_len())).min(CHUNK_ORDER)
    }

    /// How many chunks the pool has (1 to 2^16).
    pub(crate) fn chunks(&self) -> usize {
        1usize << (32 - u32::from(self.net.prefix_len()) - self.window_order())
    }

    /// The network of chunk `idx`.
    pub(crate) fn window(&self, idx: usize) -> Ipv4Net {
        let first = u64::from(u32::from(self.net.network())) + ((idx as u64) << self.window_order());
        let first = u32::try_from(first).unwrap_or(u32::MAX);
        Ipv4Net::new_assert(Ipv4Addr::from(first), (32 - self.window_order()) as u8)
    }

    /// The chunk holding `addr` (which the caller knows to be in the pool).
    pub(crate) fn chunk_of(&self, addr: Ipv4Addr) -> usize {
        ((u32::from(addr) - u32::from(self.net.network())) >> self.window_order()) as usize
    }

    /// The chunks `first..=last` touches.
    pub(crate) fn chunks_of(&self, first: Ipv4Addr, last: Ipv4Addr) -> std::ops::RangeInclusive<usize> {
        self.chunk_of(first)..=self.chunk_of(last)
    }

    /// The allocator for one chunk: its window, the reservations inside it, and `allocated`.
    pub(crate) fn window_pool(
        &self,
        idx: usize,
        allocated: &RoaringBitmap,
        cursor: Option<Ipv4Addr>,
    ) -> Result<Pool, Error> {
        let window = self.window(idx);
        let mut builder = Pool::builder(window)
            .reserve_network_broadcast(false)
            .reserve_gateway(false)
            .policy(self.policy)
            .allocated(allocated);
        for r in &self.reserved {
            if r.contains(&window) {
                builder = builder.exclude(window);
            } else if window.contains(r) {
                builder = builder.exclude(*r);
            }
        }
        if let Some(cursor) = cursor.filter(|c| window.contains(c)) {
            builder = builder.cursor(cursor);
        }
        Ok(builder.build()?)
    }

    /// The summary of a pool with nothing allocated.
    pub(crate) fn pristine_summary(&self) -> Result<Vec<u8>, Error> {
        let mut summary = vec![self.window_order() as u8; self.chunks()];
        let mut partial = Vec::new();
        for r in &self.reserved {
            for idx in self.chunks_of(r.network(), r.broadcast()) {
                if r.contains(&self.window(idx)) {
                    summary[idx] = NONE_FREE;
                } else {
                    partial.push(idx);
                }
            }
        }
        partial.sort_unstable();
        partial.dedup();
        for idx in partial {
            if summary[idx] != NONE_FREE {
                summary[idx] = free_order(&self.window_pool(idx, &RoaringBitmap::new(), None)?);
            }
        }
        Ok(summary)
    }
}

/// A window pool's summary value.
pub(crate) fn free_order(pool: &Pool) -> u8 {
    pool.largest_free_block().map_or(NONE_FREE, |len| 32 - len)
}

/// The CIDR blocks that exactly cover `first..=last`, lowest first.
pub(crate) fn cover(first: Ipv4Addr, last: Ipv4Addr) -> Vec<Ipv4Net> {
    let (mut at, end) = (u64::from(u32::from(first)), u64::from(u32::from(last)) + 1);
    let mut out = Vec::new();
    while at < end {
        let align = if at == 0 { 32 } else { at.trailing_zeros().min(32) };
        let fit = 63 - (end - at).leading_zeros();
        let order = align.min(fit);
        let addr = Ipv4Addr::from(u32::try_from(at).unwrap_or(u32::MAX));
        out.push(Ipv4Net::new_assert(addr, (32 - order) as u8));
        at += 1 << order;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cover_is_exact_and_minimal() {
        let a = |s: &str| s.parse::<Ipv4Addr>().unwrap();
        let strs = |v: Vec<Ipv4Net>| v.iter().map(ToString::to_string).collect::<Vec<_>>();
        assert_eq!(
            strs(cover(a("10.0.0.1"), a("10.0.0.6"))),
            ["10.0.0.1/32", "10.0.0.2/31", "10.0.0.4/31", "10.0.0.6/32"]
        );
        assert_eq!(strs(cover(a("0.0.0.0"), a("255.255.255.255"))), ["0.0.0.0/0"]);
        assert_eq!(strs(cover(a("255.255.255.255"), a("255.255.255.255"))), ["255.255.255.255/32"]);
    }

    #[test]
    fn chunks_split_large_pools_and_keep_small_ones_whole() {
        let big = Layout::new(&PoolDef::new("a", "10.0.0.0/8".parse().unwrap()));
        assert_eq!((big.chunks(), big.window(1).to_string()), (256, "10.1.0.0/16".to_owned()));
        let small = Layout::new(&PoolDef::new("b", "10.0.0.0/24".parse().unwrap()));
        assert_eq!((small.chunks(), small.window(0).to_string()), (1, "10.0.0.0/24".to_owned()));
        let all = Layout::new(&PoolDef::new("c", "0.0.0.0/0".parse().unwrap()));
        assert_eq!(all.chunks(), 65_536);
        assert_eq!(all.chunk_of("255.255.255.255".parse().unwrap()), 65_535);
    }

    #[test]
    fn pristine_summary_counts_reservations() {
        let mut def = PoolDef::new("a", "10.0.0.0/14".parse().unwrap());
        def.exclusions = vec!["10.1.0.0/16".parse().unwrap(), "10.2.128.0/17".parse().unwrap()];
        let summary = Layout::new(&def).pristine_summary().unwrap();
        // chunk 0 loses its network address, chunk 3 its broadcast: both keep a free /17.
        assert_eq!(summary, [15, NONE_FREE, 15, 15]);
    }
}
