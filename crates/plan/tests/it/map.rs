//! The SVG map names what it draws: every aggregate by name and CIDR (in its cell, in the key
//! under its panel, or, in a long run of narrow cells, in the run's key line and its tooltip),
//! and with `--detail` every segment in visible text.

use ipam_plan::{Spec, plan, render};

/// The visible text of an SVG: the content of its `<text>` elements, a two-line label (name
/// over CIDR) joined on one line.
fn visible(svg: &str) -> String {
    let lines: String = svg
        .split("<text")
        .skip(1)
        .filter_map(|t| t.split_once('>').and_then(|(_, rest)| rest.split_once("</text>")))
        .map(|(text, _)| format!("{text}\n"))
        .collect();
    // A name followed by a CIDR line is one label.
    let mut out = String::new();
    for line in lines.lines() {
        if line.parse::<ipnet::Ipv4Net>().is_ok() && out.ends_with('\n') && !line.contains(' ') {
            out.pop();
            out.push(' ');
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

fn edge(sites: usize, per_region: usize) -> Spec {
    let mut text = String::from("growth = 1.5\n");
    for i in 0..sites {
        text.push_str(&format!(
            "[[site]]\nname = \"shop-{i:03}\"\ndevices = 20\nregion = \"r{}\"\n",
            i / per_region
        ));
    }
    Spec::from_toml(&text).unwrap()
}

#[test]
fn every_aggregate_is_named_and_with_detail_every_segment() {
    for spec in [Spec::for_gpus(1024), Spec::for_gpus(16_384), edge(500, 50)] {
        let plan = plan(&spec).unwrap();
        let svg = render::svg(&plan);
        let shown = visible(&svg);
        for a in &plan.aggregates {
            let named = format!("{} {}", a.name, a.cidr);
            let in_cell_or_key = shown.lines().any(|l| l.ends_with(&named));
            let in_a_run = svg.contains(&format!("<title>{named}</title>")) && shown.contains("all ");
            assert!(in_cell_or_key || in_a_run, "{named} is not named on the map");
        }
        let detail = visible(&render::svg_detail(&plan));
        for s in &plan.segments {
            let named = format!("{} {}", s.name, s.cidr);
            assert!(
                detail.lines().any(|l| l == s.name || l.ends_with(&named)),
                "{named} is not named with --detail"
            );
        }
    }
}

#[test]
fn panels_have_ticks_and_the_legend_gives_vlans_and_mtus() {
    let plan = plan(&Spec::for_gpus(1024)).unwrap();
    let shown = visible(&render::svg(&plan));
    assert!(shown.contains("backend 10.0.0.0/20") && shown.contains("10.0.15.255"), "{shown}");
    assert!(shown.contains("storage: 4 segments, 512 addresses, VLAN 101, MTU 9000"), "{shown}");
    let sites = plan_of_regions();
    assert!(visible(&render::svg(&sites)).contains("sites of region r1"));
}

fn plan_of_regions() -> ipam_plan::Plan {
    plan(&edge(20, 10)).unwrap()
}
