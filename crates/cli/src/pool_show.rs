//! `ipam pool show`: one pool explained, for people and (`--json`) for scripts. The JSON field
//! names are a stable interface (README, "pool show --json").

use std::collections::BTreeMap;
use std::fmt::Write;

use ipam_core::Policy;
use ipam_store::{PoolDef, PoolInfo};
use ipnet::Ipv4Net;
use serde::Serialize;

/// Free blocks listed in the text; `--json` lists them all.
const FREE_BLOCKS_SHOWN: usize = 32;

/// A pool's policy as listed: a container hands out nothing, so it has none.
pub(crate) fn policy(def: &PoolDef) -> String {
    if def.container { "container".to_owned() } else { def.policy.to_string() }
}

/// What `pool show --json` prints.
#[derive(Serialize)]
pub(crate) struct Shown<'a> {
    name: &'a str,
    network: Ipv4Net,
    /// `first-fit`, `best-fit`, `round-robin` or `container`.
    policy: String,
    parent: Option<&'a str>,
    reserves_gateway: bool,
    reserves_network_broadcast: bool,
    exclusions: &'a [Ipv4Net],
    /// Addresses that can be handed out, allocated and free (a container: its children's).
    capacity: u64,
    allocated: u64,
    free: u64,
    /// Reserved and excluded addresses.
    reserved: u64,
    allocations: u64,
    /// The largest free aligned block, as a CIDR (the first of that size).
    largest_free_block: Option<Ipv4Net>,
    /// Free addresses outside that block: 0 when the free space is one block.
    free_outside_largest_block: u64,
    /// The free space as its fewest aligned blocks, counted by prefix length (`"/26": 1`).
    free_blocks_by_prefix: BTreeMap<String, u64>,
    /// Where a round-robin pool's next search starts (round-robin only).
    #[serde(skip_serializing_if = "Option::is_none")]
    round_robin_cursor: Option<std::net::Ipv4Addr>,
    /// Every free block, lowest first.
    free_blocks: &'a [Ipv4Net],
}

/// The JSON view of a pool and its free blocks.
pub(crate) fn json<'a>(info: &'a PoolInfo, free: &'a [Ipv4Net]) -> Shown<'a> {
    let (d, s) = (&info.def, &info.stats);
    let largest = largest(free);
    let mut by_prefix: BTreeMap<u8, u64> = BTreeMap::new();
    for block in free {
        *by_prefix.entry(block.prefix_len()).or_default() += 1;
    }
    Shown {
        name: &d.name,
        network: d.cidr,
        policy: policy(d),
        parent: d.parent.as_deref(),
        reserves_gateway: d.gateway,
        reserves_network_broadcast: d.network_broadcast,
        exclusions: &d.exclusions,
        capacity: s.capacity,
        allocated: s.allocated,
        free: s.free,
        reserved: s.reserved,
        allocations: info.allocations,
        largest_free_block: largest,
        free_outside_largest_block: outside(free, largest),
        free_blocks_by_prefix: by_prefix.into_iter().map(|(len, n)| (format!("/{len}"), n)).collect(),
        round_robin_cursor: (d.policy == Policy::RoundRobin && !d.container).then_some(info.cursor),
        free_blocks: free,
    }
}

/// The pool for people.
pub(crate) fn text(info: &PoolInfo, free: &[Ipv4Net]) -> String {
    let (d, s) = (&info.def, &info.stats);
    let mut out = String::new();
    let _ = writeln!(out, "pool        {}\nnetwork     {}\npolicy      {}", d.name, d.cidr, policy(d));
    let _ = writeln!(out, "parent      {}", d.parent.as_deref().unwrap_or("-"));
    let reserved: Vec<String> = [(d.network_broadcast, "network+broadcast"), (d.gateway, "gateway")]
        .into_iter()
        .filter(|(on, _)| *on)
        .map(|(_, what)| what.to_owned())
        .chain(d.exclusions.iter().map(|e| e.to_string()))
        .collect();
    let _ = writeln!(
        out,
        "reserved    {}",
        if reserved.is_empty() {
            "-".to_owned()
        } else {
            format!("{} ({})", reserved.join(", "), plural(s.reserved, "address"))
        }
    );
    let share = s.utilization() * 100.0;
    let largest = largest(free);
    if d.container {
        // The counts are its children's; its own free blocks are the space no child holds yet.
        let _ =
            writeln!(out, "allocated   {} of {} ({share:.1}%) in its child pools", s.allocated, s.capacity);
        let _ = writeln!(out, "free        {} in its child pools", s.free);
    } else {
        let _ = writeln!(
            out,
            "allocated   {} of {} ({share:.1}%) in {}",
            s.allocated,
            s.capacity,
            plural(info.allocations, "allocation")
        );
        let _ = writeln!(out, "free        {} in {}", s.free, plural(free.len() as u64, "block"));
    }
    match largest {
        Some(block) => {
            let _ = writeln!(
                out,
                "largest     {block} ({}); {} free outside it",
                plural(1u64 << (32 - u32::from(block.prefix_len())), "address"),
                outside(free, largest)
            );
        }
        None => {
            let _ = writeln!(out, "largest     - (nothing free)");
        }
    }
    if d.policy == Policy::RoundRobin && !d.container {
        let _ = writeln!(out, "next search {} (round-robin continues from here)", info.cursor);
    }
    let title = if d.container { "unassigned blocks (room for new child pools)" } else { "free blocks" };
    let more = if free.len() > FREE_BLOCKS_SHOWN {
        format!(" (first {FREE_BLOCKS_SHOWN} of {}; --json lists all)", free.len())
    } else {
        String::new()
    };
    let _ = writeln!(out, "\n{title}{more}");
    for block in free.iter().take(FREE_BLOCKS_SHOWN) {
        let _ = writeln!(out, "  {block}");
    }
    out
}

/// The first of the largest free blocks.
fn largest(free: &[Ipv4Net]) -> Option<Ipv4Net> {
    free.iter().copied().min_by_key(|b| (b.prefix_len(), b.network()))
}

/// Free addresses outside `largest`.
fn outside(free: &[Ipv4Net], largest: Option<Ipv4Net>) -> u64 {
    let total: u64 = free.iter().map(|b| 1u64 << (32 - u32::from(b.prefix_len()))).sum();
    total - largest.map_or(0, |b| 1u64 << (32 - u32::from(b.prefix_len())))
}

/// `1 allocation`, `2 allocations`; `1 address`, `3 addresses`.
fn plural(n: u64, one: &str) -> String {
    let suffix = if n == 1 {
        ""
    } else if one.ends_with('s') {
        "es"
    } else {
        "s"
    };
    format!("{n} {one}{suffix}")
}
