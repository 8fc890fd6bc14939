//! Reconcile: what the network shows in use against what the store recorded.

use std::net::Ipv4Addr;
use std::ops::RangeInclusive;

use roaring::RoaringBitmap;
use serde::Serialize;

use crate::Error;
use crate::model::CHILD_PREFIX;
use crate::ops::counted_allocations;
use crate::state::PoolState;
use crate::store::Store;

/// The difference between addresses seen in use and addresses recorded.
///
/// ```
/// use ipam_store::{PoolDef, Request, Store};
///
/// let mut store = Store::open_in_memory()?;
/// store.add_pool(&PoolDef::new("lab", "10.9.0.0/24".parse()?))?;
/// store.allocate("lab", Request::Addr("10.9.0.10".parse()?), None)?;
/// let seen = ipam_store::parse_seen("10.9.0.11\n# a comment\n10.9.0.12\n")?;
/// let report = store.reconcile("lab", &seen)?;
/// assert_eq!(report.unrecorded.len(), 1); // 10.9.0.11-10.9.0.12: conflicts waiting to happen
/// assert_eq!(report.unseen.len(), 1);     // 10.9.0.10: a possible leak, never freed automatically
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Reconcile {
    /// Addresses seen inside the pool.
    pub seen: u64,
    /// Addresses recorded (child pools' blocks aside).
    pub recorded: u64,
    /// Seen in use but not recorded, as ranges: conflicts waiting to happen.
    pub unrecorded: Vec<RangeInclusive<Ipv4Addr>>,
    /// Recorded but not seen, as ranges: possible leaks (never freed automatically).
    pub unseen: Vec<RangeInclusive<Ipv4Addr>>,
    /// Seen addresses outside the pool.
    pub outside: u64,
}

impl Store {
    /// Compares the addresses `seen` in use (an ARP table, a ping sweep) with the pool's records.
    /// Reserved addresses (gateway, network, broadcast, exclusions) seen in use are expected and
    /// not reported.
    ///
    /// ```
    /// # let mut store = ipam_store::Store::open_in_memory()?;
    /// # store.add_pool(&ipam_store::PoolDef::new("lab", "10.9.0.0/24".parse()?))?;
    /// let report = store.reconcile("lab", &["10.9.0.0".parse()?])?; // the network address
    /// assert!(report.unrecorded.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn reconcile(&self, pool: &str, seen: &[Ipv4Addr]) -> Result<Reconcile, Error> {
        let (net, alloc, allocations) = self.read(|conn| {
            let mut state = PoolState::load(conn, pool)?;
            let allocations = counted_allocations(conn, &state.row)?;
            Ok((state.row.def.cidr, state.whole(conn)?, allocations))
        })?;
        let mut recorded = RoaringBitmap::new();
        for a in allocations {
            if !a.owner.as_deref().is_some_and(|o| o.starts_with(CHILD_PREFIX)) {
                recorded.insert_range(u32::from(a.first)..=u32::from(a.last));
            }
        }
        let inside: RoaringBitmap = seen
            .iter()
            .filter(|a| net.contains(*a) && !alloc.is_reserved(**a))
            .map(|&a| u32::from(a))
            .collect();
        let seen_inside =
            seen.iter().filter(|a| net.contains(*a)).map(|&a| u32::from(a)).collect::<RoaringBitmap>();
        Ok(Reconcile {
            seen: seen_inside.len(),
            recorded: recorded.len(),
            unrecorded: ranges(&(&inside - &recorded)),
            unseen: ranges(&(&recorded - &seen_inside)),
            outside: seen.iter().filter(|a| !net.contains(*a)).count() as u64,
        })
    }
}

/// Reads a list of addresses, one per line; blank lines and `#` comments are skipped.
///
/// ```
/// use ipam_store::{parse_seen, Error};
///
/// assert_eq!(parse_seen("10.0.0.1\n\n# arp\n10.0.0.2\r\n")?.len(), 2);
/// assert!(matches!(parse_seen("10.0.0.1\n10.0.0.300\n"), Err(Error::SeenList { line: 2, .. })));
/// # Ok::<(), Error>(())
/// ```
pub fn parse_seen(text: &str) -> Result<Vec<Ipv4Addr>, Error> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        out.push(ipam_core::parse::addr(line).map_err(|source| Error::SeenList { line: i + 1, source })?);
    }
    Ok(out)
}

/// Consecutive addresses as ranges.
fn ranges(set: &RoaringBitmap) -> Vec<RangeInclusive<Ipv4Addr>> {
    let mut out: Vec<RangeInclusive<Ipv4Addr>> = Vec::new();
    for a in set {
        match out.last_mut() {
            Some(r) if u32::from(*r.end()).checked_add(1) == Some(a) => *r = *r.start()..=Ipv4Addr::from(a),
            _ => out.push(Ipv4Addr::from(a)..=Ipv4Addr::from(a)),
        }
    }
    out
}
