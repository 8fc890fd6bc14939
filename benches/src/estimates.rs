//! Reading criterion's saved results (`target/criterion/GROUP/FUNCTION/VALUE/new/estimates.json`).

use std::collections::BTreeMap;
use std::path::Path;

/// Median time per iteration, in nanoseconds, keyed by (group, implementation, dataset).
pub type Medians = BTreeMap<(String, String, String), f64>;

/// Reads every saved estimate under `root` (normally `target/criterion`).
pub fn read_medians(root: &Path) -> std::io::Result<Medians> {
    let mut out = Medians::new();
    for group in std::fs::read_dir(root)? {
        let group = group?.path();
        for function in dirs(&group)? {
            for value in dirs(&function)? {
                let file = value.join("new").join("estimates.json");
                let Ok(text) = std::fs::read_to_string(&file) else {
                    continue;
                };
                let json: serde_json::Value = serde_json::from_str(&text)
                    .map_err(|e| std::io::Error::other(format!("{}: {e}", file.display())))?;
                if let Some(median) = json["median"]["point_estimate"].as_f64() {
                    out.insert((name(&group), name(&function), name(&value)), median);
                }
            }
        }
    }
    Ok(out)
}

fn dirs(path: &Path) -> std::io::Result<Vec<std::path::PathBuf>> {
    if !path.is_dir() {
        return Ok(Vec::new());
    }
    let mut out: Vec<_> = std::fs::read_dir(path)?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| {
            path.is_dir() && path.file_name().is_some_and(|n| n != "report" && n != "new" && n != "base")
        })
        .collect();
    out.sort();
    Ok(out)
}

fn name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}
