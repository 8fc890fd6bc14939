//! The file: recognising it, creating it, and the connection settings that make it durable.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OpenFlags, TransactionBehavior};

use crate::Error;

/// `PRAGMA application_id` of our files: "IPAM".
pub(crate) const APPLICATION_ID: i64 = 0x4950_414d;
/// The schema this code writes and reads. A newer file is refused, never downgraded.
pub(crate) const SCHEMA_VERSION: i64 = 1;
/// How long a writer waits for another process's transaction before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

/// Version 1. Addresses are stored as integers; `changes` counts every mutation of a pool so that
/// a process can tell its in-memory copy is stale.
const SCHEMA_V1: &str = "
CREATE TABLE pools (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    network INTEGER NOT NULL CHECK (network BETWEEN 0 AND 4294967295),
    prefix_len INTEGER NOT NULL CHECK (prefix_len BETWEEN 0 AND 32),
    reserve_gateway INTEGER NOT NULL,
    reserve_network_broadcast INTEGER NOT NULL,
    policy TEXT NOT NULL,
    parent_id INTEGER REFERENCES pools(id),
    cursor INTEGER NOT NULL,
    changes INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE TABLE exclusions (
    pool_id INTEGER NOT NULL REFERENCES pools(id) ON DELETE CASCADE,
    network INTEGER NOT NULL,
    prefix_len INTEGER NOT NULL
) STRICT;
CREATE TABLE allocations (
    id INTEGER PRIMARY KEY,
    pool_id INTEGER NOT NULL REFERENCES pools(id) ON DELETE CASCADE,
    first INTEGER NOT NULL,
    last INTEGER NOT NULL CHECK (last >= first),
    shape TEXT NOT NULL CHECK (shape IN ('addr', 'block', 'range')),
    owner TEXT,
    created INTEGER NOT NULL,
    UNIQUE (pool_id, first)
) STRICT;
CREATE UNIQUE INDEX allocations_by_owner ON allocations (pool_id, owner) WHERE owner IS NOT NULL;
";

/// Opens (creating if missing or empty) a state file, after checking, read-only, that an
/// existing file is ours, not newer than us, and not damaged.
pub(crate) fn open(path: &Path) -> Result<Connection, Error> {
    let exists = std::fs::metadata(path).is_ok_and(|m| m.len() > 0);
    if exists {
        inspect(path)?;
    }
    let conn = Connection::open(path)?;
    configure(&conn)?;
    create(conn)
}

/// An in-memory store for tests and examples.
pub(crate) fn open_in_memory() -> Result<Connection, Error> {
    let conn = Connection::open_in_memory()?;
    conn.execute_batch("PRAGMA foreign_keys = ON;")?;
    create(conn)
}

/// Reads the header and checks the pages without writing a byte.
fn inspect(path: &Path) -> Result<(), Error> {
    let classify = |e: rusqlite::Error| match e.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) => {
            Error::NotOurs { path: path.to_owned(), reason: "not an SQLite database".into() }
        }
        Some(ErrorCode::DatabaseCorrupt) => Error::Corrupt { path: path.to_owned(), reason: e.to_string() },
        _ => Error::from(e),
    };
    let conn =
        Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
            .map_err(classify)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    let application_id: i64 = conn.query_row("PRAGMA application_id", [], |r| r.get(0)).map_err(classify)?;
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(classify)?;
    if application_id != APPLICATION_ID {
        let tables: i64 =
            conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0)).map_err(classify)?;
        let reason = if tables == 0 {
            "an empty SQLite database".to_owned()
        } else {
            format!("an SQLite database of another program (application id {application_id:#x})")
        };
        return Err(Error::NotOurs { path: path.to_owned(), reason });
    }
    if version > SCHEMA_VERSION {
        return Err(Error::NewerSchema { path: path.to_owned(), found: version, supported: SCHEMA_VERSION });
    }
    let check: String = conn.query_row("PRAGMA quick_check", [], |r| r.get(0)).map_err(classify)?;
    if check != "ok" {
        return Err(Error::Corrupt { path: path.to_owned(), reason: check });
    }
    Ok(())
}

/// WAL with `synchronous = FULL`: a transaction reported committed survives a crash of the
/// process (and, on hardware that honours fsync, of the machine).
fn configure(conn: &Connection) -> Result<(), Error> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    let _mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")?;
    Ok(())
}

/// Creates the schema in a new file; concurrent openers serialise on the write lock.
fn create(mut conn: Connection) -> Result<Connection, Error> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version == 0 {
        tx.execute_batch(SCHEMA_V1)?;
        tx.execute_batch(&format!(
            "PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {SCHEMA_VERSION};"
        ))?;
    }
    tx.commit()?;
    Ok(conn)
}
