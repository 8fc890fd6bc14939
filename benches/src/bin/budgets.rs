//! Reads criterion's saved medians, prints ours beside every peer, and checks `benches/budgets.toml`.
//!
//! ```sh
//! cargo bench -p ipam-benches            # writes target/criterion/**/new/estimates.json
//! cargo run -p ipam-benches --release --bin budgets [-- --markdown]
//! ```
//! Exits 1 when a budget or a ratio is missed, 2 when the results or the budget file cannot be read.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use ipam_benches::estimates::{Medians, read_medians};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Budgets {
    budget: Vec<Budget>,
    ratio: Vec<Ratio>,
    #[serde(default)]
    scale: Vec<Scale>,
}

/// Ours on bigger datasets against ours on a base dataset of the same group: "a command costs
/// what it touches" as a number.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Scale {
    group: String,
    base: String,
    datasets: Vec<String>,
    max_ratio: f64,
    what: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Budget {
    group: String,
    datasets: Vec<String>,
    ns: f64,
    target: Option<f64>,
    what: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Ratio {
    group: String,
    datasets: Vec<String>,
    peers: Vec<String>,
    min_ratio: f64,
    /// Where the bar is meant to end up: reported when missed, not enforced (like a budget's target).
    target_ratio: Option<f64>,
    #[serde(default)]
    vs_best: bool,
    what: String,
}

const OURS: &str = "ours";

fn main() -> ExitCode {
    let markdown = std::env::args().any(|a| a == "--markdown");
    let root = workspace_root();
    let budgets: Budgets = match std::fs::read_to_string(root.join("benches/budgets.toml"))
        .map_err(|e| e.to_string())
        .and_then(|text| toml::from_str(&text).map_err(|e| e.to_string()))
    {
        Ok(budgets) => budgets,
        Err(e) => {
            eprintln!("budgets: benches/budgets.toml: {e}");
            return ExitCode::from(2);
        }
    };
    let medians = match read_medians(&root.join("target/criterion")) {
        Ok(m) if !m.is_empty() => m,
        Ok(_) | Err(_) => {
            eprintln!("budgets: no results under target/criterion; run `cargo bench -p ipam-benches` first");
            return ExitCode::from(2);
        }
    };
    print_table(&medians, &budgets, markdown);
    let failures = check(&medians, &budgets);
    for failure in &failures {
        println!("MISSED: {failure}");
    }
    if failures.is_empty() {
        println!("\nall budgets and ratios met");
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// The workspace root, from this crate's manifest directory (benches/).
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
}

fn format_ns(ns: f64) -> String {
    if ns >= 1_000_000.0 {
        format!("{:.2} ms", ns / 1_000_000.0)
    } else if ns >= 1_000.0 {
        format!("{:.2} us", ns / 1_000.0)
    } else {
        format!("{ns:.1} ns")
    }
}

fn print_table(medians: &Medians, budgets: &Budgets, markdown: bool) {
    let groups: BTreeSet<(&str, &str)> =
        medians.keys().map(|(group, _, dataset)| (group.as_str(), dataset.as_str())).collect();
    if markdown {
        println!("| operation | dataset | ours (median) | budget | peers: median (peer / ours) |");
        println!("| --- | --- | ---: | ---: | --- |");
    } else {
        println!(
            "{:<18} {:<14} {:>11} {:>9}  peers: median (peer / ours)",
            "operation", "dataset", "ours", "budget"
        );
    }
    for (group, dataset) in groups {
        let key = |f: &str| (group.to_owned(), f.to_owned(), dataset.to_owned());
        let Some(&ours) = medians.get(&key(OURS)) else { continue };
        let budget = budgets
            .budget
            .iter()
            .find(|b| b.group == group && b.datasets.iter().any(|d| d == dataset))
            .map_or_else(|| "-".to_owned(), |b| format!("<= {}", format_ns(b.ns)));
        let peers: Vec<String> = medians
            .iter()
            .filter(|((g, f, d), _)| g == group && d == dataset && f != OURS)
            .map(|((_, f, _), &ns)| format!("{f} {} ({:.1}x)", format_ns(ns), ns / ours))
            .collect();
        if markdown {
            println!("| {group} | {dataset} | {} | {budget} | {} |", format_ns(ours), peers.join("; "));
        } else {
            println!("{group:<18} {dataset:<14} {:>11} {budget:>9}  {}", format_ns(ours), peers.join("; "));
        }
    }
}

fn check(medians: &Medians, budgets: &Budgets) -> Vec<String> {
    let mut failures = Vec::new();
    let get = |g: &str, f: &str, d: &str| medians.get(&(g.to_owned(), f.to_owned(), d.to_owned())).copied();
    for budget in &budgets.budget {
        for dataset in &budget.datasets {
            match get(&budget.group, OURS, dataset) {
                None => failures.push(format!("{}/{dataset}: no result ({})", budget.group, budget.what)),
                Some(ns) if ns > budget.ns => failures.push(format!(
                    "{}/{dataset}: {} > budget {} ({})",
                    budget.group,
                    format_ns(ns),
                    format_ns(budget.ns),
                    budget.what
                )),
                Some(ns) => {
                    if let Some(target) = budget.target.filter(|&t| ns > t) {
                        println!(
                            "note: {}/{dataset}: {} is within budget, above the target {}",
                            budget.group,
                            format_ns(ns),
                            format_ns(target)
                        );
                    }
                }
            }
        }
    }
    for ratio in &budgets.ratio {
        for dataset in &ratio.datasets {
            let Some(ours) = get(&ratio.group, OURS, dataset) else {
                failures.push(format!("{}/{dataset}: no result for ours ({})", ratio.group, ratio.what));
                continue;
            };
            let peers: Vec<(&str, f64)> = ratio
                .peers
                .iter()
                .filter_map(|p| get(&ratio.group, p, dataset).map(|ns| (p.as_str(), ns)))
                .collect();
            if peers.len() != ratio.peers.len() {
                failures.push(format!("{}/{dataset}: a peer has no result ({})", ratio.group, ratio.what));
                continue;
            }
            let judged: Vec<(&str, f64)> = if ratio.vs_best {
                peers.into_iter().min_by(|a, b| a.1.total_cmp(&b.1)).into_iter().collect()
            } else {
                peers
            };
            for (peer, ns) in judged {
                if let Some(target) =
                    ratio.target_ratio.filter(|&t| ns / ours < t && ns / ours >= ratio.min_ratio)
                {
                    println!(
                        "note: {}/{dataset}: {peer}/ours = {:.2}, meets {} but not the target {target}",
                        ratio.group,
                        ns / ours,
                        ratio.min_ratio
                    );
                }
                if ns / ours < ratio.min_ratio {
                    failures.push(format!(
                        "{}/{dataset}: {peer}/ours = {:.2}, wanted >= {} ({})",
                        ratio.group,
                        ns / ours,
                        ratio.min_ratio,
                        ratio.what
                    ));
                }
            }
        }
    }
    for scale in &budgets.scale {
        let Some(base) = get(&scale.group, OURS, &scale.base) else {
            failures.push(format!("{}/{}: no result ({})", scale.group, scale.base, scale.what));
            continue;
        };
        for dataset in &scale.datasets {
            match get(&scale.group, OURS, dataset) {
                None => failures.push(format!("{}/{dataset}: no result ({})", scale.group, scale.what)),
                Some(ns) if ns / base > scale.max_ratio => failures.push(format!(
                    "{}/{dataset}: {:.2}x its time on {}, wanted <= {} ({})",
                    scale.group,
                    ns / base,
                    scale.base,
                    scale.max_ratio,
                    scale.what
                )),
                Some(_) => {}
            }
        }
    }
    failures
}
