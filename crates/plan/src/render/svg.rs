//! The plan as an SVG map of its base block along a Hilbert curve.

use std::fmt::Write;

use ipnet::Ipv4Net;

use super::hilbert::{Rect, map_size, rect};
use super::thousands;
use crate::Role;
use crate::model::Plan;

const PANEL: u64 = 512;

/// An SVG picture of the base block as a Hilbert-curve map (neighbouring addresses stay
/// neighbours, every aligned block is a square or a 2:1 rectangle), each segment coloured by role,
/// every aggregate drawn pale with an outline (its reserved growth shows), with a legend of roles
/// and of the outermost aggregates with their CIDRs. When the segments fill only a corner of the
/// base, a second panel zooms into the smallest block holding them all.
///
/// ```
/// let plan = ipam_plan::plan(&ipam_plan::Spec::for_gpus(1024))?;
/// let svg = ipam_plan::render::svg(&plan);
/// assert!(svg.contains("<title>storage-su00 10.0.16.0/25 VLAN 101</title>"));
/// assert!(svg.trim_end().ends_with("</svg>"));
/// # Ok::<(), ipam_plan::Error>(())
/// ```
pub fn svg(plan: &Plan) -> String {
    let mut panels = vec![plan.base];
    if let Some(zoom) = covering_block(plan).filter(|z| z.prefix_len() >= plan.base.prefix_len() + 4) {
        panels.push(zoom);
    }
    let roles: Vec<Role> =
        Role::ALL.into_iter().filter(|r| plan.segments.iter().any(|s| s.role == *r)).collect();
    let outer = super::outer_aggregates(plan, &super::aggregate_index(plan));
    let width = 20 + panels.len() as u64 * (PANEL + 20);
    let height = 40
        + PANEL
        + 30
        + 20 * roles.len() as u64
        + if outer.is_empty() { 0 } else { 30 + 20 * outer.len() as u64 };
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="13">"#
    );
    let _ = writeln!(out, "<title>Address plan of {}</title>", plan.base);
    let _ = writeln!(out, r#"<rect width="{width}" height="{height}" fill="white"/>"#);
    for (i, &net) in panels.iter().enumerate() {
        panel(&mut out, plan, net, 20 + i as u64 * (PANEL + 20), i > 0);
    }
    let mut y = 40 + PANEL + 30;
    for role in roles {
        let total: u64 = plan
            .segments
            .iter()
            .filter(|s| s.role == role)
            .map(|s| 1u64 << (32 - u32::from(s.cidr.prefix_len())))
            .sum();
        let _ =
            writeln!(out, r#"<rect x="20" y="{}" width="14" height="14" fill="{}"/>"#, y - 12, colour(role));
        let _ = writeln!(out, r#"<text x="42" y="{y}">{role}: {} addresses</text>"#, thousands(total));
        y += 20;
    }
    if !outer.is_empty() {
        // Every role's block, reserved growth included: the routes a network engineer announces.
        let _ = writeln!(
            out,
            r#"<text x="20" y="{}">Aggregates (outlined on the map; the pale part is reserved for growth)</text>"#,
            y + 10
        );
        y += 30;
        for a in &outer {
            let _ = writeln!(
                out,
                r#"<rect x="20" y="{}" width="14" height="14" fill="{}" fill-opacity="0.25" stroke="{}"/>"#,
                y - 12,
                colour(a.role),
                colour(a.role)
            );
            let _ = writeln!(out, r#"<text x="42" y="{y}">{} {}</text>"#, a.name, a.cidr);
            y += 20;
        }
    }
    out.push_str("</svg>\n");
    out
}

/// One map: `net` drawn in a `PANEL`-wide box at `x`.
fn panel(out: &mut String, plan: &Plan, net: Ipv4Net, x: u64, zoomed: bool) {
    let bits = 32 - u32::from(net.prefix_len());
    let (w, h) = map_size(bits);
    let (pw, ph) = (PANEL, PANEL * h / w);
    let label = if zoomed { format!("zoom: {net}") } else { format!("{net}, one cell per address") };
    let _ = writeln!(out, r#"<text x="{x}" y="28">{label}</text>"#);
    let _ = writeln!(
        out,
        r#"<svg x="{x}" y="40" width="{pw}" height="{ph}" viewBox="0 0 {w} {h}" preserveAspectRatio="none" shape-rendering="crispEdges">"#
    );
    let _ = writeln!(out, r##"<rect width="{w}" height="{h}" fill="#eeeeee"/>"##);
    let start = u64::from(u32::from(net.network()));
    // Aggregates first, pale, so that the space they reserve shows; nested ones as outlines.
    for a in plan.aggregates.iter().filter(|a| net.contains(&a.cidr)) {
        let offset = u64::from(u32::from(a.cidr.network())) - start;
        let Rect { x, y, width, height } = rect(bits, offset, 32 - u32::from(a.cidr.prefix_len()));
        let _ = writeln!(
            out,
            r#"<rect x="{x}" y="{y}" width="{width}" height="{height}" fill="{c}" fill-opacity="0.15" stroke="{c}" stroke-width="1" vector-effect="non-scaling-stroke"><title>{} {}</title></rect>"#,
            a.name,
            a.cidr,
            c = colour(a.role),
        );
    }
    let mut labels = Vec::new();
    for s in plan.segments.iter().filter(|s| net.contains(&s.cidr)) {
        let offset = u64::from(u32::from(s.cidr.network())) - start;
        let r = rect(bits, offset, 32 - u32::from(s.cidr.prefix_len()));
        let Rect { x, y, width, height } = r;
        let vlan = s.vlan.map_or(String::new(), |v| format!(" VLAN {v}"));
        let _ = writeln!(
            out,
            r#"<rect x="{x}" y="{y}" width="{width}" height="{height}" fill="{}" stroke="white" stroke-width="0.5" vector-effect="non-scaling-stroke"><title>{} {}{vlan}</title></rect>"#,
            colour(s.role),
            s.name,
            s.cidr,
        );
        labels.push((r, s.name.as_str()));
    }
    out.push_str("</svg>\n");
    // Names on the blocks large enough to hold them, in page units so the text is not stretched.
    for (r, name) in labels {
        let (cx, cy) = (x + (2 * r.x + r.width) * pw / (2 * w), 40 + (2 * r.y + r.height) * ph / (2 * h));
        if r.width * pw / w >= 8 * name.len() as u64 && r.height * ph / h >= 16 {
            let _ = writeln!(
                out,
                r#"<text x="{cx}" y="{}" text-anchor="middle" fill="white">{name}</text>"#,
                cy + 5
            );
        }
    }
}

/// The smallest aligned block holding every segment.
fn covering_block(plan: &Plan) -> Option<Ipv4Net> {
    let first = plan.segments.iter().map(|s| u32::from(s.cidr.network())).min()?;
    let last = plan.segments.iter().map(|s| u32::from(s.cidr.broadcast())).max()?;
    let common = (first ^ last).leading_zeros() as u8;
    Ipv4Net::new(first.into(), common).ok().map(|n| n.trunc())
}

fn colour(role: Role) -> &'static str {
    match role {
        Role::Backend => "#d62728",
        Role::Frontend => "#1f77b4",
        Role::Storage => "#2ca02c",
        Role::Oob => "#9467bd",
        Role::Monitoring => "#ff7f0e",
        Role::Lb => "#8c564b",
        Role::Loopback => "#e377c2",
        Role::Anycast => "#17becf",
        Role::Fabric => "#7f7f7f",
        Role::Site => "#bcbd22",
    }
}
