//! Arbitrary bytes as an `ipam import` file: an error, or an import that exports to something
//! that imports again into the same state. The in-memory store keeps the file system out of it.

use ipam_store::{Export, Store};

pub fn check(data: &[u8]) -> Result<(), String> {
    let Ok(text) = std::str::from_utf8(data) else { return Ok(()) };
    let Ok(export) = Export::from_json(text) else { return Ok(()) };
    let mut store = Store::open_in_memory().map_err(|e| e.to_string())?;
    if store.import(&export).is_err() {
        // All or nothing: a refused import leaves no pool behind.
        return match store.pools() {
            Ok(pools) if pools.is_empty() => Ok(()),
            Ok(_) => Err("a refused import left pools behind".into()),
            Err(e) => Err(e.to_string()),
        };
    }
    let exported = store.export().map_err(|e| e.to_string())?;
    let mut copy = Store::open_in_memory().map_err(|e| e.to_string())?;
    copy.import(&Export::from_json(&exported.to_json()).map_err(|e| e.to_string())?)
        .map_err(|e| format!("re-import failed: {e}"))?;
    if copy.export().map_err(|e| e.to_string())? != exported {
        return Err("export, import, export changed the state".into());
    }
    Ok(())
}
