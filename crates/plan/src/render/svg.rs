//! The plan as an SVG map: an overview of the used part of the base, then one panel per
//! aggregate or edge region, each zoomed to what it holds.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write;

use ipnet::Ipv4Net;

use super::svg_panel::{Block, MARGIN, Panel, WIDTH, draw, esc};
use super::thousands;
use crate::Role;
use crate::model::{Aggregate, Plan, Segment};

/// More sites outside any region than this share one panel.
const LONE_SITE_PANELS: usize = 8;

/// An SVG map of the plan, 1,600 px wide. The first panel is the smallest aligned block holding
/// everything planned, with the outermost aggregates and loose segments; then one panel per
/// outermost aggregate or region, with a row per nesting level (rails, pods, sites) and a row of
/// segments. Every aggregate is labeled with its name and CIDR, in its cell or in a numbered key
/// under the panel; a segment shows its SU or site index where it fits. Address ticks run under
/// each panel; the legend gives each role's addresses, VLAN ids and MTUs, and each region's
/// colour. [`svg_detail`] names every segment too.
///
/// ```
/// let plan = ipam_plan::plan(&ipam_plan::Spec::for_gpus(1024))?;
/// let svg = ipam_plan::render::svg(&plan);
/// assert!(svg.contains(">backend-rail7 10.0.14.0/23</text>"));
/// assert!(svg.trim_end().ends_with("</svg>"));
/// # Ok::<(), ipam_plan::Error>(())
/// ```
pub fn svg(plan: &Plan) -> String {
    render(plan, false)
}

/// [`svg`] with every segment named, in its cell or in the panel's key.
///
/// ```
/// let plan = ipam_plan::plan(&ipam_plan::Spec::for_gpus(1024))?;
/// let svg = ipam_plan::render::svg_detail(&plan);
/// assert!(plan.segments.iter().all(|s| svg.contains(&format!("{} {}", s.name, s.cidr))));
/// # Ok::<(), ipam_plan::Error>(())
/// ```
pub fn svg_detail(plan: &Plan) -> String {
    render(plan, true)
}

fn render(plan: &Plan, detail: bool) -> String {
    let colours = Colours::new(plan);
    let mut body = String::new();
    let mut y = 10.0;
    for panel in panels(plan, &colours) {
        y = draw(&mut body, &panel, y, detail);
    }
    y = legend(&mut body, plan, &colours, y);
    let height = y.ceil() + 10.0;
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(out, "<title>Address plan of {}</title>", plan.base);
    let _ = writeln!(out, r#"<rect width="{WIDTH}" height="{height}" fill="white"/>"#);
    out.push_str(&body);
    out.push_str("</svg>\n");
    out
}

/// The overview, then a panel per outermost aggregate (sites outside any region share one
/// when there are many).
fn panels(plan: &Plan, colours: &Colours) -> Vec<Panel> {
    let index = super::aggregate_index(plan);
    let outer = super::outer_aggregates(plan, &index);
    let loose: Vec<&Segment> = plan
        .segments
        .iter()
        .filter(|s| !index.contains_key(&s.cidr) && super::enclosing(&index, s.cidr).next().is_none())
        .collect();
    let mut panels = Vec::new();
    let everything = outer.iter().map(|a| a.cidr).chain(loose.iter().map(|s| s.cidr));
    if let Some(range) = covering(everything) {
        let mut row: Vec<Block> = outer.iter().map(|a| colours.aggregate(a)).collect();
        row.extend(loose.iter().map(|s| Block { named: true, ..colours.segment(s) }));
        row.sort_by_key(|b| b.net.network());
        panels.push(Panel {
            title: format!(
                "{} of {}: {} planned, {} segments",
                range,
                plan.base,
                thousands(used(plan)),
                thousands(plan.segments.len() as u64)
            ),
            range,
            rows: vec![row],
            caption: Some(
                "each outlined block below gets its own panel; pale parts are reserved for growth".into(),
            ),
        });
    }
    let lone = |a: &Aggregate| a.role == Role::Site && a.scope.site.is_some();
    let lone_sites: Vec<&&Aggregate> = outer.iter().filter(|a| lone(a)).collect();
    let group = lone_sites.len() > LONE_SITE_PANELS;
    for a in outer.iter().filter(|a| !(group && lone(a))) {
        panels.push(panel_of(plan, colours, &format!("{} {}", a.name, a.cidr), a.cidr));
    }
    if group && let Some(range) = covering(lone_sites.iter().map(|a| a.cidr)) {
        let title = format!("{} sites outside any region, in {range}", thousands(lone_sites.len() as u64));
        panels.push(panel_of(plan, colours, &title, range));
    }
    panels
}

/// A panel of everything inside `range`: a row per aggregate nesting level, then the segments.
fn panel_of(plan: &Plan, colours: &Colours, title: &str, range: Ipv4Net) -> Panel {
    let mut aggregates: Vec<&Aggregate> =
        plan.aggregates.iter().filter(|a| range.contains(&a.cidr)).collect();
    aggregates.sort_by_key(|a| (a.cidr.network(), a.cidr.prefix_len()));
    let mut rows: Vec<Vec<Block>> = Vec::new();
    let mut open: Vec<Ipv4Net> = Vec::new();
    for a in aggregates {
        while open.last().is_some_and(|net| !net.contains(&a.cidr) || *net == a.cidr) {
            open.pop();
        }
        let depth = open.len();
        if rows.len() <= depth {
            rows.resize_with(depth + 1, Vec::new);
        }
        rows[depth].push(colours.aggregate(a));
        open.push(a.cidr);
    }
    let segments: Vec<&Segment> = plan.segments.iter().filter(|s| range.contains(&s.cidr)).collect();
    let caption = pattern(&segments);
    rows.push(segments.iter().map(|s| colours.segment(s)).collect());
    Panel { title: title.to_owned(), range, rows, caption }
}

/// What repeats in a panel's segments: how many, their sizes, per what, and the index range.
fn pattern(segments: &[&Segment]) -> Option<String> {
    let first = segments.first()?;
    let lens: BTreeSet<u8> = segments.iter().map(|s| s.cidr.prefix_len()).collect();
    let lens: Vec<String> = lens.iter().map(|l| format!("/{l}")).collect();
    let sus: BTreeSet<u32> = segments.iter().filter_map(|s| s.scope.su).collect();
    let sites: BTreeSet<&str> = segments.iter().filter_map(|s| s.scope.site.as_deref()).collect();
    let per = match (sus.first(), sus.last(), sites.len()) {
        (Some(a), Some(b), _) if a != b => format!(", per SU: su{a:02} to su{b:02}"),
        (Some(a), _, _) => format!(", su{a:02}"),
        (_, _, n) if n > 1 => format!(", {} sites", thousands(n as u64)),
        _ => String::new(),
    };
    let vlans: BTreeSet<u16> = segments.iter().filter_map(|s| s.vlan.map(|v| v.get())).collect();
    let vlans = match (vlans.first(), vlans.last()) {
        (Some(a), Some(b)) if a != b => format!(", VLANs {a}-{b}"),
        (Some(a), _) => format!(", VLAN {a}"),
        _ => String::new(),
    };
    Some(format!(
        "{} segment{} ({}){per}{vlans}, MTU {}; --detail names each",
        thousands(segments.len() as u64),
        if segments.len() == 1 { "" } else { "s" },
        lens.join(", "),
        first.mtu
    ))
}

/// Per-role colours; sites coloured by region.
struct Colours {
    regions: HashMap<String, &'static str>,
}

const REGION_COLOURS: [&str; 10] = [
    "#bcbd22", "#17becf", "#e377c2", "#8c564b", "#9467bd", "#2ca02c", "#ff7f0e", "#1f77b4", "#d62728",
    "#7f7f7f",
];

impl Colours {
    fn new(plan: &Plan) -> Colours {
        let mut regions = HashMap::new();
        for name in plan.aggregates.iter().filter_map(|a| a.scope.region.as_deref()) {
            let next = REGION_COLOURS[regions.len() % REGION_COLOURS.len()];
            regions.entry(name.to_owned()).or_insert(next);
        }
        Colours { regions }
    }

    fn of(&self, role: Role, region: Option<&str>) -> &'static str {
        match region.and_then(|r| self.regions.get(r)) {
            Some(c) if role == Role::Site => c,
            _ => colour(role),
        }
    }

    fn aggregate(&self, a: &Aggregate) -> Block {
        self.block(a.cidr, &a.name, a.role, &a.scope, true)
    }

    fn segment(&self, s: &Segment) -> Block {
        self.block(s.cidr, &s.name, s.role, &s.scope, false)
    }

    /// An aggregate's cell is pale and always named; a segment's is solid.
    fn block(&self, net: Ipv4Net, name: &str, role: Role, scope: &crate::Scope, aggregate: bool) -> Block {
        Block {
            net,
            name: name.to_owned(),
            short: short(scope),
            colour: self.of(role, scope.region.as_deref()).to_owned(),
            aggregate,
            named: aggregate,
        }
    }
}

/// The index a narrow cell shows: its SU, its site's number, its pod or rail.
fn short(scope: &crate::Scope) -> Option<String> {
    if let Some(su) = scope.su {
        return Some(format!("su{su:02}"));
    }
    if let Some(site) = &scope.site {
        let digits: String = site.chars().rev().take_while(char::is_ascii_digit).collect();
        return Some(if digits.is_empty() { site.clone() } else { digits.chars().rev().collect() });
    }
    scope.pod.map(|p| format!("pod{p:02}")).or_else(|| scope.rail.map(|r| format!("rail{r}")))
}

/// Roles with their addresses, VLAN ids and MTUs, then the regions' colours.
fn legend(out: &mut String, plan: &Plan, colours: &Colours, mut y: f64) -> f64 {
    for role in Role::ALL {
        let of_role: Vec<&Segment> = plan.segments.iter().filter(|s| s.role == role).collect();
        if of_role.is_empty() {
            continue;
        }
        let addresses: u64 = of_role.iter().map(|s| 1u64 << (32 - u32::from(s.cidr.prefix_len()))).sum();
        let vlans: BTreeSet<u16> = of_role.iter().filter_map(|s| s.vlan.map(|v| v.get())).collect();
        let mtus: BTreeSet<u16> = of_role.iter().map(|s| s.mtu).collect();
        let vlans = match (vlans.first(), vlans.last()) {
            (Some(a), Some(b)) if a != b => format!("VLANs {a}-{b}"),
            (Some(a), _) => format!("VLAN {a}"),
            _ => "no VLAN (routed)".into(),
        };
        let mtus: Vec<String> = mtus.iter().map(u16::to_string).collect();
        // Sites in regions take their region's colour, listed below.
        if role != Role::Site || colours.regions.is_empty() {
            let _ = writeln!(
                out,
                r#"<rect x="{MARGIN}" y="{y}" width="14" height="14" fill="{}"/>"#,
                colour(role)
            );
        }
        let _ = writeln!(
            out,
            r#"<text x="{}" y="{}">{role}: {} segment{}, {} addresses, {vlans}, MTU {}</text>"#,
            MARGIN + 22.0,
            y + 12.0,
            thousands(of_role.len() as u64),
            if of_role.len() == 1 { "" } else { "s" },
            thousands(addresses),
            mtus.join("/")
        );
        y += 20.0;
    }
    let mut regions: Vec<(&String, &&str)> = colours.regions.iter().collect();
    regions.sort();
    for (region, c) in regions {
        let _ = writeln!(out, r#"<rect x="{MARGIN}" y="{y}" width="14" height="14" fill="{c}"/>"#);
        let _ = writeln!(
            out,
            r#"<text x="{}" y="{}">sites of region {}</text>"#,
            MARGIN + 22.0,
            y + 12.0,
            esc(region)
        );
        y += 20.0;
    }
    y
}

/// Addresses of all segments.
fn used(plan: &Plan) -> u64 {
    plan.segments.iter().map(|s| 1u64 << (32 - u32::from(s.cidr.prefix_len()))).sum()
}

/// The smallest aligned block holding every block of `nets`.
fn covering(nets: impl Iterator<Item = Ipv4Net>) -> Option<Ipv4Net> {
    let (mut first, mut last) = (u32::MAX, 0u32);
    let mut any = false;
    for net in nets {
        any = true;
        first = first.min(u32::from(net.network()));
        last = last.max(u32::from(net.broadcast()));
    }
    let common = (first ^ last).leading_zeros() as u8;
    any.then(|| Ipv4Net::new(first.into(), common).expect("a prefix length of at most 32").trunc())
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
