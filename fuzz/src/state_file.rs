//! A hostile or damaged state file: opening it and running `list`, `export`, `check` and `alloc`
//! on it returns typed errors, never a panic or a hang; and when the deep check passes, `alloc`
//! never hands out an address the file records as held.

use std::path::PathBuf;

use ipam_store::{Request, Store};

fn scratch() -> PathBuf {
    let base = if std::path::Path::new("/dev/shm").is_dir() { PathBuf::from("/dev/shm") } else { std::env::temp_dir() };
    base.join(format!("ipam-fuzz-state-{}.db", std::process::id()))
}

pub fn check(data: &[u8]) -> Result<(), String> {
    let path = scratch();
    for side in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{side}", path.display()));
    }
    std::fs::write(&path, data).map_err(|e| format!("scratch file: {e}"))?;
    let Ok(mut store) = Store::open(&path) else { return Ok(()) };
    let Ok(pools) = store.pools() else { return Ok(()) };
    let _ = store.export();
    let sound = store.check().is_ok_and(|problems| problems.is_empty());
    for pool in pools {
        let name = pool.def.name;
        let held = store.allocations(&name);
        if let Ok(a) = store.allocate(&name, Request::Next, Some("fuzz-intruder")) {
            if let (true, Ok(held)) = (sound, held) {
                let own = held.iter().filter(|h| !h.owner.as_deref().is_some_and(|o| o.starts_with("pool:")));
                if let Some(h) = own.clone().find(|h| h.first <= a.first && a.first <= h.last) {
                    return Err(format!("pool {name}: {} handed out again (held as {h})", a.first));
                }
            }
        }
    }
    Ok(())
}
