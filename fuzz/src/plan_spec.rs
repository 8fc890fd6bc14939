//! Arbitrary text as a cluster spec: an error or a valid plan, never a panic; a plan passes the
//! plan invariants, survives its JSON, renders in every format, and re-plans onto itself unchanged.

use ipam_plan::{Plan, Spec, assign, plan, render, replan};

/// Per-node assignment is checked only for clusters up to this many nodes (time, not risk).
const MAX_ASSIGNED_NODES: u64 = 2048;

pub fn check(data: &[u8]) -> Result<(), String> {
    let Ok(text) = std::str::from_utf8(data) else { return Ok(()) };
    let Ok(spec) = Spec::from_toml(text) else { return Ok(()) };
    let Ok(mut first) = plan(&spec) else { return Ok(()) };
    first.check().map_err(|v| format!("fresh plan: {v}"))?;
    let back = Plan::from_json(&first.to_json()).map_err(|e| format!("its own JSON was refused: {e}"))?;
    if back != first {
        return Err("the plan changed through JSON".into());
    }
    let again = replan(&spec, &first).map_err(|e| format!("re-planning onto itself failed: {e}"))?;
    if again != first {
        return Err("re-planning onto itself changed the plan".into());
    }
    let _ =
        (render::table(&first), render::svg(&first), render::vlans_csv(&first), render::prefixes_csv(&first));
    if first.summary.nodes <= MAX_ASSIGNED_NODES {
        if assign(&mut first).is_ok() {
            first.check().map_err(|v| format!("assigned plan: {v}"))?;
            let _ = (render::ip_addresses_csv(&first), render::dns_zones(&first));
        }
    }
    Ok(())
}
