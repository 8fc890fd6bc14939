//! The plan as a text table, for people.

use std::fmt::Write;

use super::thousands;
use crate::model::Plan;

/// The plan as a text table: segments, aggregates, anycast endpoints, totals per role, headroom,
/// the comparison with the generic per-1,000-GPU budget, every node's interfaces when assigned, and
/// warnings.
///
/// ```
/// let plan = ipam_plan::plan(&ipam_plan::Spec::for_gpus(1024))?;
/// let text = ipam_plan::render::table(&plan);
/// assert!(text.starts_with("Plan for 1,024 GPUs"));
/// assert!(text.contains("storage"));
/// # Ok::<(), ipam_plan::Error>(())
/// ```
pub fn table(plan: &Plan) -> String {
    let mut out = String::new();
    let s = &plan.summary;
    let what = if s.gpus > 0 {
        format!(
            "{} GPUs ({} nodes, {} per node, {} rails)",
            thousands(s.gpus.into()),
            thousands(s.nodes),
            s.gpus_per_node,
            s.rails
        )
    } else {
        "no GPUs".to_owned()
    };
    let _ = writeln!(out, "Plan for {what} in {}, growth {}x\n", plan.base, plan.growth);
    let name_width = plan.segments.iter().map(|s| s.name.len()).max().unwrap_or(0).max(7);
    let _ = writeln!(
        out,
        "{:<name_width$}  {:<10}  {:>4}  {:<18}  {:<15}  {:>4}  {:>9}  {:>9}",
        "SEGMENT", "ROLE", "VLAN", "CIDR", "GATEWAY", "MTU", "PLANNED", "USABLE"
    );
    for seg in &plan.segments {
        let vlan = seg.vlan.map_or("-".to_owned(), |v| v.to_string());
        let gateway = seg.gateway.map_or("-".to_owned(), |g| g.to_string());
        let _ = writeln!(
            out,
            "{:<name_width$}  {:<10}  {:>4}  {:<18}  {:<15}  {:>4}  {:>9}  {:>9}",
            seg.name,
            seg.role.as_str(),
            vlan,
            seg.cidr.to_string(),
            gateway,
            seg.mtu,
            thousands(seg.planned),
            thousands(seg.usable)
        );
    }
    for a in &plan.aggregates {
        let members =
            plan.segments.iter().filter(|seg| a.cidr.contains(&seg.cidr) && seg.role == a.role).count();
        let _ = writeln!(out, "\nAggregate {} {}: one route for {members} segments", a.name, a.cidr);
    }
    if !plan.anycast.is_empty() {
        let _ = writeln!(out, "\nAnycast endpoints");
        for a in &plan.anycast {
            let _ = writeln!(out, "  {:<24} {}", a.name, a.address);
        }
    }
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
            r.segments,
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
        let limit = s.limited_by.as_deref().map_or(String::new(), |l| format!(", then `{l}` must grow"));
        let _ = writeln!(out, "Headroom: {} more GPUs fit{limit}", thousands(more));
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
    if let Some(nodes) = &plan.assignments {
        let _ = writeln!(
            out,
            "\n{:<14}  {:<10}  {:<20}  {:<18}  PEER",
            "NODE", "INTERFACE", "SEGMENT", "ADDRESS"
        );
        for node in nodes {
            for i in &node.interfaces {
                let peer = i.peer.map_or("-".to_owned(), |p| p.to_string());
                let _ = writeln!(
                    out,
                    "{:<14}  {:<10}  {:<20}  {:<18}  {peer}",
                    node.node,
                    i.name,
                    i.segment,
                    i.address.to_string()
                );
            }
        }
    }
    for w in &s.warnings {
        let _ = writeln!(out, "\nwarning: {w}");
    }
    out
}
