//! The plan as a text table, for people: a screen at any size, or every line with `--detail`.

use std::collections::BTreeSet;
use std::fmt::Write;

use super::{aggregate_index, enclosing, outer_aggregates, thousands};
use crate::model::{Aggregate, Plan, Segment};
use crate::sizing::block_size;

/// Top-level segments of one role listed one by one up to this many; more are one line.
const LISTED_PER_ROLE: usize = 4;

/// The plan as a screen: one line per role aggregate with its per-SU pattern ("frontend
/// 10.0.24.0/23, 4 segments: a /26 per SU, VLAN 100 in every SU"), the cluster-wide segments,
/// anycast endpoints, switches by tier, totals per role, headroom and the per-1,000-GPU budget
/// (warnings are the caller's: `plan.summary.warnings`). It stays under 60 lines for 100,000 GPUs; [`table_detail`] lists everything.
///
/// ```
/// let plan = ipam_plan::plan(&ipam_plan::Spec::for_gpus(100_000))?;
/// let text = ipam_plan::render::table(&plan);
/// assert!(text.starts_with("Plan for 100,000 GPUs"));
/// assert!(text.lines().count() <= 60);
/// assert!(text.contains("VLAN 101 in every SU"));
/// # Ok::<(), ipam_plan::Error>(())
/// ```
pub fn table(plan: &Plan) -> String {
    let mut out = header(plan);
    let _ = writeln!(out, "{:<19}  {:<18}  LAYOUT", "BLOCK", "CIDR");
    let index = aggregate_index(plan);
    let outer = outer_aggregates(plan, &index);
    // Sites outside any region are one line when there are many (regions are one line each).
    let lone_site = |a: &Aggregate| a.role == crate::Role::Site && a.scope.site.is_some();
    let lone_sites: Vec<&&Aggregate> = outer.iter().filter(|a| lone_site(a)).collect();
    let group_sites = lone_sites.len() > LISTED_PER_ROLE;
    for a in outer.iter().filter(|a| !(group_sites && lone_site(a))) {
        let members: Vec<&Segment> =
            plan.segments.iter().filter(|s| s.role == a.role && a.cidr.contains(&s.cidr)).collect();
        let _ = writeln!(out, "{:<19}  {:<18}  {}", a.name, a.cidr.to_string(), pattern(plan, a, &members));
    }
    if group_sites {
        let lens: BTreeSet<u8> = lone_sites.iter().map(|a| a.cidr.prefix_len()).collect();
        let names: std::collections::HashSet<&str> =
            lone_sites.iter().filter_map(|a| a.scope.site.as_deref()).collect();
        let members: Vec<&Segment> = plan
            .segments
            .iter()
            .filter(|s| s.scope.site.as_deref().is_some_and(|n| names.contains(n)))
            .collect();
        let seg_lens: BTreeSet<u8> = members.iter().map(|s| s.cidr.prefix_len()).collect();
        let vlans: BTreeSet<u16> = members.iter().filter_map(|s| s.vlan.map(|v| v.get())).collect();
        let _ = writeln!(
            out,
            "{:<19}  {:<18}  {} sites ({}), {} segments: {}, {}; listed with --detail",
            "sites",
            "-",
            thousands(lone_sites.len() as u64),
            prefix_lens(&lens),
            thousands(members.len() as u64),
            prefix_lens(&seg_lens),
            vlan_text(&vlans, "site"),
        );
    }
    let loose: Vec<&Segment> = plan
        .segments
        .iter()
        .filter(|s| !index.contains_key(&s.cidr) && enclosing(&index, s.cidr).next().is_none())
        .collect();
    let roles: BTreeSet<_> = loose.iter().map(|s| s.role).collect();
    for role in roles {
        let of_role: Vec<&&Segment> = loose.iter().filter(|s| s.role == role).collect();
        if of_role.len() <= LISTED_PER_ROLE {
            for s in of_role {
                let _ = writeln!(out, "{:<19}  {:<18}  {}", s.name, s.cidr.to_string(), describe(s));
            }
        } else {
            let lens: BTreeSet<u8> = of_role.iter().map(|s| s.cidr.prefix_len()).collect();
            let vlans: BTreeSet<u16> = of_role.iter().filter_map(|s| s.vlan.map(|v| v.get())).collect();
            let _ = writeln!(
                out,
                "{:<19}  {:<18}  {} segments ({}), {}, listed with --detail",
                role.as_str(),
                "-",
                thousands(of_role.len() as u64),
                prefix_lens(&lens),
                vlan_text(&vlans, "site"),
            );
        }
    }
    if !plan.anycast.is_empty() {
        let names: Vec<String> =
            plan.anycast.iter().take(4).map(|a| format!("{} {}", a.name, a.address)).collect();
        let more = plan.anycast.len().saturating_sub(4);
        let tail = if more > 0 { format!(" and {more} more") } else { String::new() };
        let _ = writeln!(out, "\nAnycast endpoints: {}{tail}", names.join(", "));
    }
    switches(plan, &mut out);
    totals(plan, &mut out);
    if let Some(nodes) = &plan.assignments {
        let interfaces: usize = nodes.iter().map(|n| n.interfaces.len()).sum();
        let devices = nodes.iter().filter(|n| n.scope.site.is_some()).count();
        let mut who = Vec::new();
        if nodes.len() > devices || devices == 0 {
            who.push(format!("{} nodes", thousands((nodes.len() - devices) as u64)));
        }
        if devices > 0 {
            who.push(format!("{} edge devices", thousands(devices as u64)));
        }
        let _ = writeln!(
            out,
            "\nAssigned: {}, {} interfaces (every address with --detail, JSON or CSV)",
            who.join(" and "),
            thousands(interfaces as u64)
        );
    }
    out
}

/// Every segment, aggregate, switch, link and assignment, one per line.
///
/// ```
/// let plan = ipam_plan::plan(&ipam_plan::Spec::for_gpus(1024))?;
/// let text = ipam_plan::render::table_detail(&plan);
/// assert!(text.contains("backend-su03-rail7"));
/// assert!(text.contains("leaf-su03-rail7"));
/// # Ok::<(), ipam_plan::Error>(())
/// ```
pub fn table_detail(plan: &Plan) -> String {
    let mut out = header(plan);
    let name_width = plan.segments.iter().map(|s| s.name.len()).max().unwrap_or(0).max(7);
    let _ = writeln!(
        out,
        "{:<name_width$}  {:<10}  {:<14}  {:>4}  {:<18}  {:<15}  {:>9}  {:>9}  {:>9}",
        "SEGMENT", "ROLE", "SCOPE", "VLAN", "CIDR", "GATEWAY", "MTU", "PLANNED", "USABLE"
    );
    for seg in &plan.segments {
        let vlan = seg.vlan.map_or("-".to_owned(), |v| v.to_string());
        let gateway = seg.gateway.map_or("-".to_owned(), |g| g.to_string());
        let mtu = match seg.switch_mtu {
            Some(switch) => format!("{}/{switch}", seg.mtu),
            None => seg.mtu.to_string(),
        };
        let _ = writeln!(
            out,
            "{:<name_width$}  {:<10}  {:<14}  {:>4}  {:<18}  {:<15}  {:>9}  {:>9}  {:>9}",
            seg.name,
            seg.role.as_str(),
            seg.scope.to_string(),
            vlan,
            seg.cidr.to_string(),
            gateway,
            mtu,
            thousands(seg.planned),
            thousands(seg.usable)
        );
    }
    if plan.segments.iter().any(|s| s.switch_mtu.is_some()) {
        let _ = writeln!(out, "(MTU host/switch where the switch ports differ)");
    }
    let _ = writeln!(out, "\n{:<24}  {:<10}  {:<18}  SEGMENTS", "AGGREGATE", "ROLE", "CIDR");
    let index = aggregate_index(plan);
    let mut members = vec![0usize; plan.aggregates.len()];
    for s in &plan.segments {
        let inside = index.get(&s.cidr).copied().into_iter().chain(enclosing(&index, s.cidr));
        for i in inside.filter(|&i| plan.aggregates[i].role == s.role) {
            members[i] += 1;
        }
    }
    for (a, members) in plan.aggregates.iter().zip(members) {
        let _ =
            writeln!(out, "{:<24}  {:<10}  {:<18}  {members}", a.name, a.role.as_str(), a.cidr.to_string());
    }
    if !plan.switches.is_empty() {
        let _ = writeln!(out, "\n{:<20}  {:<10}  {:<15}  {:<10}  MGMT", "SWITCH", "TIER", "LOOPBACK", "ASN");
        for s in &plan.switches {
            let _ = writeln!(
                out,
                "{:<20}  {:<10}  {:<15}  {:<10}  {}",
                s.name,
                s.tier,
                s.loopback.to_string(),
                s.asn,
                s.mgmt
            );
        }
    }
    if !plan.links.is_empty() {
        let _ = writeln!(out, "\n{:<20}  {:<15}  {:<20}  {:<15}  CIDR", "A", "A ADDRESS", "B", "B ADDRESS");
        for l in &plan.links {
            let _ = writeln!(
                out,
                "{:<20}  {:<15}  {:<20}  {:<15}  {}",
                l.a,
                l.a_address.to_string(),
                l.b,
                l.b_address.to_string(),
                l.cidr
            );
        }
    }
    if !plan.anycast.is_empty() {
        let _ = writeln!(out, "\nAnycast endpoints");
        for a in &plan.anycast {
            let _ = writeln!(out, "  {:<24} {}", a.name, a.address);
        }
    }
    totals(plan, &mut out);
    if let Some(nodes) = &plan.assignments {
        let _ = writeln!(
            out,
            "\n{:<14}  {:<10}  {:<20}  {:<18}  {:<15}  LEAF",
            "NODE", "INTERFACE", "SEGMENT", "ADDRESS", "PEER"
        );
        for node in nodes {
            for i in &node.interfaces {
                let peer = i.peer.map_or("-".to_owned(), |p| p.to_string());
                let leaf = i.leaf.as_deref().unwrap_or("-");
                let _ = writeln!(
                    out,
                    "{:<14}  {:<10}  {:<20}  {:<18}  {peer:<15}  {leaf}",
                    node.node,
                    i.name,
                    i.segment,
                    i.address.to_string()
                );
            }
        }
    }
    out
}

fn header(plan: &Plan) -> String {
    let s = &plan.summary;
    let what = if s.gpus > 0 {
        let many = |n: u64, one: &str| format!("{} {one}{}", thousands(n), if n == 1 { "" } else { "s" });
        format!(
            "{} ({} in {}, {} per node, {})",
            many(s.gpus.into(), "GPU"),
            many(s.nodes, "node"),
            many(s.sus, "SU"),
            s.gpus_per_node,
            many(s.rails.into(), "rail")
        )
    } else {
        "no GPUs".to_owned()
    };
    let slots =
        if s.su_slots > 0 { format!("; {} SU slots reserved", thousands(s.su_slots)) } else { String::new() };
    format!("Plan for {what} in {}, growth {}x{slots}\n\n", plan.base, plan.growth)
}

/// "32 segments: a /26 per SU and rail (8 rails), a /31 per GPU NIC, MTU 9000 (switch 9216)".
fn pattern(plan: &Plan, aggregate: &Aggregate, members: &[&Segment]) -> String {
    let Some(first) = members.first() else { return "empty".into() };
    let per = match (first.scope.su.is_some(), first.scope.rack.is_some(), first.scope.rail.is_some()) {
        (true, true, _) => "per rack",
        (true, false, true) => "per SU and rail",
        (true, false, false) => "per SU",
        _ if first.scope.pod.is_some() => "per pod",
        _ if first.scope.site.is_some() => "per site",
        _ => "",
    };
    let lens: BTreeSet<u8> = members.iter().map(|s| s.cidr.prefix_len()).collect();
    let mut text = String::new();
    if aggregate.scope.region.is_some() && aggregate.scope.site.is_none() {
        let sites: BTreeSet<&str> = members.iter().filter_map(|s| s.scope.site.as_deref()).collect();
        let _ = write!(text, "{} sites, ", thousands(sites.len() as u64));
    }
    let _ = write!(text, "{} segments: {} {per}", thousands(members.len() as u64), prefix_lens(&lens));
    let rails: BTreeSet<u32> = members.iter().filter_map(|s| s.scope.rail).collect();
    if rails.len() > 1 {
        let _ =
            write!(text, " ({} rails in a /{} each)", rails.len(), rail_len(plan, aggregate).unwrap_or(0));
    }
    if first.kind == crate::Kind::Links {
        let end = plan.topology.as_ref().map_or("even", |t| match t.leaf_end {
            crate::LeafEnd::Even => "even",
            crate::LeafEnd::Odd => "odd",
        });
        let _ = write!(text, ", a /31 per GPU NIC (leaf on the {end} end)");
    }
    let vlans: BTreeSet<u16> = members.iter().filter_map(|s| s.vlan.map(|v| v.get())).collect();
    let scope = match per {
        "per rack" => "rack",
        "per pod" => "pod",
        "per site" => "site",
        _ => "SU",
    };
    if !vlans.is_empty() {
        let _ = write!(text, ", {}", vlan_text(&vlans, scope));
    }
    let _ = write!(text, ", MTU {}", first.mtu);
    if let Some(switch) = first.switch_mtu {
        let _ = write!(text, " (switch {switch})");
    }
    let used = members.iter().map(|s| block_size(s.cidr.prefix_len())).sum::<u64>();
    let _ = write!(
        text,
        "; {:.0}% reserved for growth",
        100.0 - 100.0 * used as f64 / block_size(aggregate.cidr.prefix_len()) as f64
    );
    text
}

fn rail_len(plan: &Plan, aggregate: &Aggregate) -> Option<u8> {
    plan.aggregates
        .iter()
        .find(|a| {
            a.scope.rail.is_some()
                && a.scope.pod.is_none()
                && aggregate.cidr.contains(&a.cidr)
                && a.cidr != aggregate.cidr
        })
        .map(|a| a.cidr.prefix_len())
}

fn prefix_lens(lens: &BTreeSet<u8>) -> String {
    match (lens.first(), lens.last()) {
        (Some(a), Some(b)) if a == b => format!("a /{a}"),
        (Some(a), Some(b)) => format!("/{b} to /{a}"),
        _ => String::new(),
    }
}

fn vlan_text(vlans: &BTreeSet<u16>, scope: &str) -> String {
    match (vlans.first(), vlans.last(), vlans.len()) {
        (Some(v), _, 1) => format!("VLAN {v} in every {scope}"),
        (Some(a), Some(b), n) => format!("{n} VLANs {a}-{b}"),
        _ => "no VLAN".into(),
    }
}

fn describe(s: &Segment) -> String {
    let mut text = format!("{}, {} planned of {} usable", s.role, thousands(s.planned), thousands(s.usable));
    if let Some(vlan) = s.vlan {
        let _ = write!(text, ", VLAN {vlan}");
    }
    if let Some(g) = s.gateway {
        let _ = write!(text, ", gateway {g}");
    }
    let _ = write!(text, ", MTU {}", s.mtu);
    if let Some(of) = &s.extends {
        let _ = write!(text, ", adds space to {of}");
    }
    text
}

fn switches(plan: &Plan, out: &mut String) {
    if plan.switches.is_empty() {
        return;
    }
    let _ = writeln!(out, "\nSwitches");
    for tier in ["leaf", "spine", "superspine"] {
        let of_tier: Vec<_> = plan.switches.iter().filter(|s| s.tier == tier).collect();
        let (Some(first), Some(last)) = (of_tier.first(), of_tier.last()) else { continue };
        let asns: BTreeSet<u32> = of_tier.iter().map(|s| s.asn).collect();
        let asn = if asns.len() == 1 {
            format!("ASN {first_asn} shared", first_asn = first.asn)
        } else {
            format!(
                "{} ASNs {}-{}",
                thousands(asns.len() as u64),
                asns.first().unwrap_or(&0),
                asns.last().unwrap_or(&0)
            )
        };
        let _ = writeln!(
            out,
            "  {:<11} {:>6}  {} .. {}, loopbacks {} .. {}, {asn}",
            tier,
            thousands(of_tier.len() as u64),
            first.name,
            last.name,
            first.loopback,
            last.loopback
        );
    }
    if !plan.links.is_empty() {
        let _ = writeln!(
            out,
            "  {:<11} {:>6}  numbered /31s, MTU 9216, lower tier on the even end",
            "links",
            thousands(plan.links.len() as u64)
        );
    }
}

fn totals(plan: &Plan, out: &mut String) {
    let s = &plan.summary;
    let _ = writeln!(
        out,
        "\n{:<12}  {:>8}  {:>9}  {:>9}  {:>10}",
        "ROLE", "SEGMENTS", "PLANNED", "USABLE", "ADDRESSES"
    );
    for r in &s.roles {
        let _ = writeln!(
            out,
            "{:<12}  {:>8}  {:>9}  {:>9}  {:>10}",
            r.role.as_str(),
            thousands(r.segments as u64),
            thousands(r.planned),
            thousands(r.usable),
            thousands(r.addresses)
        );
    }
    let base_size = 1u64 << (32 - u32::from(plan.base.prefix_len()));
    let _ = writeln!(
        out,
        "\nBase used: {} of {} addresses ({:.3}%)",
        thousands(s.addresses),
        thousands(base_size),
        s.base_share * 100.0
    );
    if let Some(more) = s.gpu_headroom {
        let next = s.limited_by.as_deref().map_or(String::new(), |l| format!("; one more SU adds {l}"));
        let free = s.su_slots.saturating_sub(s.sus);
        let _ = writeln!(
            out,
            "Headroom: {} more GPUs fit in the reserved space ({} free SU slots){next}",
            thousands(more),
            thousands(free)
        );
    }
    if !s.budget.is_empty() {
        let _ = writeln!(out, "\nPer 1,000 GPUs, next to the generic budget");
        for b in &s.budget {
            let range = format!("{}-{}", b.generic[0], b.generic[1]);
            let _ = writeln!(
                out,
                "  {:<11} {:>6}  (generic {range:>7})  {}",
                b.category,
                thousands(b.planned_per_1000_gpus),
                b.note
            );
        }
    }
}
