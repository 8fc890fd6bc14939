//! Reconcile: what the network shows in use against what the store recorded.

use std::net::Ipv4Addr;
use std::ops::RangeInclusive;

use roaring::RoaringBitmap;
use serde::Serialize;

use crate::Error;
use crate::model::{Allocation, CHILD_PREFIX};
use crate::ops::counted_allocations;
use crate::rows::Rows;
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
    /// The allocations with an address that was not seen, with their owners: who to ask.
    pub unseen_held: Vec<Allocation>,
    /// Seen addresses outside the pool.
    pub outside: u64,
}

/// [`Store::reconcile_all`]: every pool's report, and what was seen outside every pool.
///
/// ```
/// use ipam_store::{PoolDef, Request, Store};
///
/// let mut store = Store::open_in_memory()?;
/// store.add_pool(&PoolDef::new("a", "10.9.0.0/24".parse()?))?;
/// store.add_pool(&PoolDef::new("b", "10.8.0.0/24".parse()?))?;
/// store.allocate("b", Request::Next, Some("node-1"))?;
/// let seen = ipam_store::parse_seen("10.9.0.7\n192.168.1.1\n")?;
/// let all = store.reconcile_all(&seen)?;
/// assert_eq!(all.pools.len(), 2);
/// assert_eq!(all.pools[1].1.unseen_held[0].owner.as_deref(), Some("node-1"));
/// assert_eq!(all.outside, vec!["192.168.1.1".parse()?..="192.168.1.1".parse()?]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReconcileAll {
    /// Each pool's report, by pool name.
    pub pools: Vec<(String, Reconcile)>,
    /// Seen addresses inside no pool at all, as ranges.
    pub outside: Vec<RangeInclusive<Ipv4Addr>>,
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
        self.read(|conn| report(conn, pool, seen))
    }

    /// [`Store::reconcile`] for every pool at once (from one snapshot), and the seen addresses
    /// that are inside no pool. An address in a child pool is the child's to report.
    pub fn reconcile_all(&self, seen: &[Ipv4Addr]) -> Result<ReconcileAll, Error> {
        self.read(|conn| {
            let rows = crate::rows::all_pools(conn)?;
            let mut covered = RoaringBitmap::new();
            let mut pools = Vec::with_capacity(rows.len());
            for row in &rows {
                covered.insert_range(u32::from(row.def.cidr.network())..=u32::from(row.def.cidr.broadcast()));
                pools.push((row.def.name.clone(), report(conn, &row.def.name, seen)?));
            }
            let seen: RoaringBitmap = seen.iter().map(|&a| u32::from(a)).collect();
            Ok(ReconcileAll { pools, outside: ranges(&(&seen - &covered)) })
        })
    }
}

/// One pool's report, in a read transaction.
fn report(conn: &dyn Rows, pool: &str, seen: &[Ipv4Addr]) -> Result<Reconcile, Error> {
    let mut state = PoolState::load(conn, pool)?;
    let allocations = counted_allocations(conn, &state.row)?;
    let (net, alloc) = (state.row.def.cidr, state.whole(conn)?);
    let (mut recorded, mut delegated) = (RoaringBitmap::new(), RoaringBitmap::new());
    for a in &allocations {
        let range = u32::from(a.first)..=u32::from(a.last);
        if a.owner.as_deref().is_some_and(|o| o.starts_with(CHILD_PREFIX)) {
            delegated.insert_range(range);
        } else {
            recorded.insert_range(range);
        }
    }
    let seen_inside =
        seen.iter().filter(|a| net.contains(*a)).map(|&a| u32::from(a)).collect::<RoaringBitmap>();
    // What a child pool holds is the child's to report.
    let inside: RoaringBitmap =
        seen.iter().filter(|a| net.contains(*a) && !alloc.is_reserved(**a)).map(|&a| u32::from(a)).collect();
    let unseen = &recorded - &seen_inside;
    let unseen_held = allocations
        .into_iter()
        .filter(|a| !a.owner.as_deref().is_some_and(|o| o.starts_with(CHILD_PREFIX)))
        .filter(|a| unseen.range_cardinality(u32::from(a.first)..=u32::from(a.last)) > 0)
        .collect();
    Ok(Reconcile {
        seen: seen_inside.len(),
        recorded: recorded.len(),
        unrecorded: ranges(&(&(&inside - &recorded) - &delegated)),
        unseen: ranges(&unseen),
        unseen_held,
        outside: seen.iter().filter(|a| !net.contains(*a)).count() as u64,
    })
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
