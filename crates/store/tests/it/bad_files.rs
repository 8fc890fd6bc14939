//! Files that are not ours, damaged, or newer: a clear error, and the file untouched.

use ipam_store::{Error, PoolDef, Request, Store};

fn untouched_after_open(name: &str, bytes: &[u8]) -> Error {
    let dir = super::scratch(name);
    let path = dir.join("state.db");
    std::fs::write(&path, bytes).unwrap();
    let err = Store::open(&path).err().unwrap_or_else(|| panic!("{name}: opened"));
    assert_eq!(std::fs::read(&path).unwrap(), bytes, "{name}: the file changed");
    err
}

fn a_real_state_file() -> Vec<u8> {
    let dir = super::scratch(&format!("real-{}", fastish()));
    let path = dir.join("state.db");
    {
        let mut store = Store::open(&path).unwrap();
        store.add_pool(&PoolDef::new("p", "10.0.0.0/16".parse().unwrap())).unwrap();
        for _ in 0..2000 {
            store.allocate("p", Request::Next, Some(&format!("owner-{}", fastish()))).ok();
        }
    }
    // Closing the last connection checkpoints the WAL into the main file.
    std::fs::read(&path).unwrap()
}

fn fastish() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

#[test]
fn random_bytes_are_not_ours() {
    let bytes: Vec<u8> = (0..8192u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    assert!(matches!(untouched_after_open("random", &bytes), Error::NotOurs { .. }));
}

#[test]
fn a_text_file_is_not_ours() {
    assert!(matches!(untouched_after_open("text", &b"pools:\n  - lab\n".repeat(200)), Error::NotOurs { .. }));
}

#[test]
fn another_programs_database_is_not_ours() {
    let dir = super::scratch("other-db");
    let path = dir.join("other.db");
    rusqlite_free_other_db(&path);
    let bytes = std::fs::read(&path).unwrap();
    assert!(matches!(untouched_after_open("other", &bytes), Error::NotOurs { .. }));
}

/// Another program's SQLite file: made by ours, then given another application id through a
/// raw header edit (bytes 68-71), so this test needs no SQL of its own.
fn rusqlite_free_other_db(path: &std::path::Path) {
    let mut bytes = a_real_state_file();
    bytes[68..72].copy_from_slice(&0x1234_5678u32.to_be_bytes());
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn a_newer_schema_is_refused() {
    let mut bytes = a_real_state_file();
    // user_version lives at bytes 60-63 of the header.
    bytes[60..64].copy_from_slice(&99u32.to_be_bytes());
    assert!(matches!(untouched_after_open("newer", &bytes), Error::NewerSchema { found: 99, .. }));
}

#[test]
fn a_truncated_file_is_damaged_or_not_ours() {
    let bytes = a_real_state_file();
    assert!(bytes.len() > 8192, "the file should span several pages");
    for cut in [50, bytes.len() / 2, bytes.len() - 1000] {
        let err = untouched_after_open(&format!("truncated-{cut}"), &bytes[..cut]);
        assert!(matches!(err, Error::Corrupt { .. } | Error::NotOurs { .. }), "cut at {cut}: {err:?}");
    }
}

#[test]
fn a_real_file_reopens() {
    let bytes = a_real_state_file();
    let dir = super::scratch("reopen");
    let path = dir.join("state.db");
    std::fs::write(&path, &bytes).unwrap();
    let store = Store::open(&path).unwrap();
    assert_eq!(store.allocations("p").unwrap().len(), 2000);
}
