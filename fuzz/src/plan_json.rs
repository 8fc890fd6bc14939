//! Arbitrary text as a plan (`--previous`, `ipam apply`): an error or a plan that keeps every
//! invariant, survives its own JSON unchanged, and renders in every format; never a panic.

use ipam_plan::{Plan, render};

pub fn check(data: &[u8]) -> Result<(), String> {
    let Ok(text) = std::str::from_utf8(data) else { return Ok(()) };
    let Ok(plan) = Plan::from_json(text) else { return Ok(()) };
    plan.check().map_err(|v| format!("a plan read back breaks an invariant: {v}"))?;
    let again = Plan::from_json(&plan.to_json()).map_err(|e| format!("its own JSON was refused: {e}"))?;
    if again != plan {
        return Err("the plan changed through its JSON".into());
    }
    let _ = (render::table(&plan), render::table_detail(&plan), render::svg(&plan));
    let _ = (render::vlan_groups_csv(&plan), render::vlans_csv(&plan), render::prefixes_csv(&plan));
    let _ = (render::ip_addresses_csv(&plan), render::dns_zones(&plan));
    Ok(())
}
