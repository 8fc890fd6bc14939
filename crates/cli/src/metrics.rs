//! `ipam metrics`: every pool's use in the Prometheus text exposition format (version 0.0.4),
//! for a scrape or node_exporter's textfile collector.

use std::fmt::Write;
use std::io::Write as _;
use std::path::Path;

use ipam_store::PoolUse;

use crate::failure::Failure;

/// A gauge family: its name, its help text, and how to read it from a pool's use.
type Family = (&'static str, &'static str, fn(&PoolUse) -> u64);

/// The gauge families.
const FAMILIES: [Family; 4] = [
    (
        "ipam_pool_capacity_addresses",
        "Addresses the pool can hand out (reservations excluded; a container counts its children's).",
        |p| p.capacity,
    ),
    ("ipam_pool_allocated_addresses", "Addresses handed out (child pools' blocks included).", |p| {
        p.allocated
    }),
    ("ipam_pool_free_addresses", "Addresses still free.", |p| p.free),
    (
        "ipam_pool_largest_free_block_addresses",
        "Size of the pool's largest free aligned block, in addresses (0 when full).",
        |p| p.largest_free_block.map_or(0, |len| 1u64 << (32 - u32::from(len.min(32)))),
    ),
];

/// The exposition text: one family per figure, a sample per pool labelled `pool` and `network`.
pub(crate) fn exposition(pools: &[PoolUse]) -> String {
    let mut out = String::new();
    for (name, help, value) in FAMILIES {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
        for p in pools {
            let _ = writeln!(
                out,
                "{name}{{pool=\"{}\",network=\"{}\"}} {}",
                label(&p.def.name),
                p.def.cidr,
                value(p)
            );
        }
    }
    out
}

/// A label value as the format escapes it: backslash, double quote and newline.
fn label(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// Writes `text` to `path` atomically: a temporary file in the same directory, synced, then
/// renamed over it, so node_exporter never reads half a file.
pub(crate) fn write_atomically(path: &Path, text: &str) -> Result<(), Failure> {
    let fail = |e: std::io::Error| Failure::Input(format!("{}: {e}", path.display()));
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name =
        path.file_name().ok_or_else(|| Failure::Input(format!("{}: not a file name", path.display())))?;
    let temp = dir.join(format!(".{}.{}.tmp", name.to_string_lossy(), std::process::id()));
    let written = std::fs::File::create(&temp)
        .and_then(|mut f| f.write_all(text.as_bytes()).and_then(|()| f.sync_all()))
        .and_then(|()| std::fs::rename(&temp, path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(fail(e));
    }
    Ok(())
}
