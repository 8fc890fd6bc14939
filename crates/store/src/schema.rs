//! The file: recognising it, creating or upgrading it, and the connection settings that make it
//! durable (writers) or never wait (readers).

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OpenFlags, Transaction, TransactionBehavior};

use crate::Error;

/// `PRAGMA application_id` of our files: "IPAM".
pub(crate) const APPLICATION_ID: i64 = 0x4950_414d;
/// The schema this code writes and reads. A newer file is refused, never downgraded.
pub(crate) const SCHEMA_VERSION: i64 = 3;
/// What `inspect` calls an SQLite file with no tables and no application id.
const EMPTY: &str = "an empty SQLite database";
/// How long a writer waits for another process's transaction before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

/// Version 2. Addresses are integers. A pool's row carries its counters and a summary byte per
/// chunk; `chunks` holds the allocated bits of each chunk that has any (a serialized
/// `RoaringBitmap`); `allocations` holds owners and history. Every row carries a checksum that is
/// verified whenever it is read.
const SCHEMA_V2: &str = "
CREATE TABLE pools (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    network INTEGER NOT NULL CHECK (network BETWEEN 0 AND 4294967295),
    prefix_len INTEGER NOT NULL CHECK (prefix_len BETWEEN 0 AND 32),
    reserve_gateway INTEGER NOT NULL,
    reserve_network_broadcast INTEGER NOT NULL,
    exclusions TEXT NOT NULL,
    policy TEXT NOT NULL,
    parent_id INTEGER REFERENCES pools(id),
    cursor INTEGER NOT NULL,
    changes INTEGER NOT NULL,
    capacity INTEGER NOT NULL,
    allocated INTEGER NOT NULL,
    allocations INTEGER NOT NULL,
    summary BLOB NOT NULL,
    checksum INTEGER NOT NULL
) STRICT;
CREATE INDEX pools_by_network ON pools (network);
CREATE INDEX pools_by_parent ON pools (parent_id) WHERE parent_id IS NOT NULL;
CREATE TABLE chunks (
    pool_id INTEGER NOT NULL REFERENCES pools(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    used INTEGER NOT NULL,
    bits BLOB NOT NULL,
    checksum INTEGER NOT NULL,
    PRIMARY KEY (pool_id, idx)
) STRICT, WITHOUT ROWID;
CREATE TABLE allocations (
    id INTEGER PRIMARY KEY,
    pool_id INTEGER NOT NULL REFERENCES pools(id) ON DELETE CASCADE,
    first INTEGER NOT NULL,
    last INTEGER NOT NULL CHECK (last >= first),
    shape TEXT NOT NULL CHECK (shape IN ('addr', 'block', 'range')),
    owner TEXT,
    created INTEGER NOT NULL,
    checksum INTEGER NOT NULL,
    UNIQUE (pool_id, first)
) STRICT;
CREATE UNIQUE INDEX allocations_by_owner ON allocations (owner, pool_id) WHERE owner IS NOT NULL;
";

/// Version 3: version 2 and a pool's owners in order, so a range of owners in one pool (cooled
/// blocks, release by owner prefix) is searched in that pool only.
const V3_INDEX: &str =
    "CREATE INDEX allocations_by_pool_owner ON allocations (pool_id, owner) WHERE owner IS NOT NULL;";

/// Opens (creating if missing or empty) a state file for writing, after checking, read-only,
/// that an existing file is ours and not newer than us. An older file is upgraded.
pub(crate) fn open(path: &Path) -> Result<Connection, Error> {
    let exists = std::fs::metadata(path).is_ok_and(|m| m.len() > 0);
    let mut current = false;
    if exists {
        match inspect_recovering(path) {
            Ok(version) => current = version == SCHEMA_VERSION,
            // No tables and no id: a file another ipam process is creating this instant (its
            // header is written before its schema). `create` waits for that writer, then sees
            // the schema, or creates it.
            Err(Error::NotOurs { reason, .. }) if reason == EMPTY => {}
            Err(e) => return Err(e),
        }
    }
    let conn = Connection::open(path).map_err(|e| classify(e, path))?;
    configure(&conn).map_err(|e| e.at(path))?;
    if current {
        // Ours and current: no schema work, so no write lock just to open.
        return Ok(conn);
    }
    create(conn).map_err(|e| e.at(path))
}

/// `inspect` on a read-only connection; one that finds a WAL left by a killed writer cannot
/// recover it (SQLite says "readonly"), so a read-write connection recovers it first (recovery
/// rebuilds the shared-memory index; it changes no page of the database).
fn inspect_recovering(path: &Path) -> Result<i64, Error> {
    match read_only_connection(path, false).and_then(|c| inspect(&c, path)) {
        Err(Error::Database(e)) if needs_recovery(e.as_ref()) => {
            let conn = Connection::open(path).map_err(|e| classify(e, path))?;
            conn.busy_timeout(BUSY_TIMEOUT)?;
            inspect(&conn, path)
        }
        other => other,
    }
}

fn needs_recovery(e: &(dyn std::error::Error + Send + Sync + 'static)) -> bool {
    e.downcast_ref::<rusqlite::Error>().and_then(rusqlite::Error::sqlite_error_code)
        == Some(ErrorCode::ReadOnly)
}

/// Opens an existing state file for reading only. Readers take no write lock, so they never wait
/// for a writer (WAL); on a read-only mount or a full disk, where SQLite cannot set up its shared
/// memory, the file is read as immutable, which is exact as long as no writer can reach it
/// either (no WAL file is waiting to be merged).
pub(crate) fn open_read_only(path: &Path) -> Result<Connection, Error> {
    if !std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() > 0) {
        return Err(Error::NoStateFile { path: path.to_owned() });
    }
    let conn = match read_only_connection(path, false).and_then(|c| inspect(&c, path).map(|v| (c, v))) {
        Ok((conn, _)) => conn,
        // A WAL left by a killed writer: recover it where the file can be written, then read.
        Err(Error::Database(e)) if needs_recovery(e.as_ref()) && wal_pending(path) => {
            inspect_recovering(path)?;
            let conn = read_only_connection(path, false)?;
            inspect(&conn, path)?;
            conn
        }
        // No shared memory to be had (read-only mount, full disk) and nothing waiting in a WAL.
        Err(Error::Database(_)) if !wal_pending(path) => {
            let conn = read_only_connection(path, true)?;
            inspect(&conn, path)?;
            conn
        }
        Err(e) => return Err(e),
    };
    let version: i64 =
        conn.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(|e| classify(e, path))?;
    if version < SCHEMA_VERSION {
        // An older file: upgrade it once (a write), then read.
        drop(conn);
        drop(open(path)?);
        return open_read_only(path);
    }
    Ok(conn)
}

/// An in-memory store for tests and examples.
pub(crate) fn open_in_memory() -> Result<Connection, Error> {
    let conn = Connection::open_in_memory()?;
    conn.execute_batch("PRAGMA foreign_keys = ON;")?;
    create(conn)
}

fn read_only_connection(path: &Path, immutable: bool) -> Result<Connection, Error> {
    let flags =
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
    let uri = format!("file:{}{}", uri_path(path), if immutable { "?immutable=1" } else { "" });
    let conn = Connection::open_with_flags(uri, flags).map_err(|e| classify(e, path))?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.execute_batch("PRAGMA cell_size_check = ON;")?;
    Ok(conn)
}

/// Whether a WAL file holds transactions not yet merged into the main file.
fn wal_pending(path: &Path) -> bool {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    std::fs::metadata(wal).is_ok_and(|m| m.len() > 0)
}

/// A path as a `file:` URI path: `%`, `?` and `#` escaped.
fn uri_path(path: &Path) -> String {
    let mut out = String::new();
    for c in path.to_string_lossy().chars() {
        match c {
            '%' | '?' | '#' => out.push_str(&format!("%{:02X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out
}

/// SQLite's complaints about the file itself, as our errors.
pub(crate) fn classify(e: rusqlite::Error, path: &Path) -> Error {
    match e.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) => {
            Error::NotOurs { path: path.to_owned(), reason: "not an SQLite database".into() }
        }
        Some(ErrorCode::DatabaseCorrupt) => Error::Corrupt { path: path.to_owned(), reason: e.to_string() },
        // Every uniqueness and type is checked before a write: a constraint the database still
        // finds broken means its pages disagree with each other.
        Some(ErrorCode::ConstraintViolation) => {
            Error::Corrupt { path: path.to_owned(), reason: format!("the file disagrees with itself ({e})") }
        }
        // The header's format bytes: a damaged header (ours are always 1 or 2).
        _ if matches!(&e, rusqlite::Error::SqliteFailure(_, Some(m)) if m == "unsupported file format") => {
            Error::Corrupt { path: path.to_owned(), reason: "its header names an unknown file format".into() }
        }
        // A value our schema cannot hold: the file changed under it.
        _ if matches!(
            e,
            rusqlite::Error::InvalidColumnType(..)
                | rusqlite::Error::FromSqlConversionFailure(..)
                | rusqlite::Error::IntegralValueOutOfRange(..)
                | rusqlite::Error::Utf8Error(..)
        ) =>
        {
            Error::Corrupt { path: path.to_owned(), reason: format!("a value does not fit its column ({e})") }
        }
        _ => Error::from(e),
    }
}

/// A file shorter than its header says: the cheap open-time check for truncation (a damaged
/// page inside is found when it is read: every row carries a checksum). Only a file at rest is
/// judged: while a WAL holds transactions, a checkpoint may be writing the file, header first.
fn check_length(path: &Path) -> Result<(), Error> {
    check_format(path)?;
    if wal_pending(path) {
        return Ok(());
    }
    if length_verdict(path).is_ok() {
        return Ok(());
    }
    // Perhaps a checkpoint that finished as we read: look once more.
    std::thread::sleep(Duration::from_millis(20));
    if wal_pending(path) { Ok(()) } else { length_verdict(path) }
}

/// The header's read and write format bytes (offsets 18, 19) are 1 (rollback journal) or 2 (WAL);
/// anything else makes SQLite refuse the file, or open it read-only, without saying it is damaged.
fn check_format(path: &Path) -> Result<(), Error> {
    use std::io::Read;
    let mut header = [0u8; 20];
    let Ok(mut file) = std::fs::File::open(path) else { return Ok(()) };
    if file.read_exact(&mut header).is_err() || &header[..16] != b"SQLite format 3\0" {
        return Ok(());
    }
    if !matches!((header[18], header[19]), (1 | 2, 1 | 2)) {
        return Err(Error::Corrupt {
            path: path.to_owned(),
            reason: "its header names an unknown file format".into(),
        });
    }
    Ok(())
}

fn length_verdict(path: &Path) -> Result<(), Error> {
    use std::io::Read;
    let mut header = [0u8; 100];
    let Ok(mut file) = std::fs::File::open(path) else { return Ok(()) };
    if file.read_exact(&mut header).is_err() || &header[..16] != b"SQLite format 3\0" {
        return Ok(()); // SQLite itself says what it is
    }
    let be32 = |at: usize| u32::from_be_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]]);
    let page_size = match u16::from_be_bytes([header[16], header[17]]) {
        1 => 65_536,
        n => u64::from(n),
    };
    let pages = u64::from(be32(28));
    let len = file.metadata().map_or(u64::MAX, |m| m.len());
    if be32(24) == be32(92) && len < pages * page_size {
        return Err(Error::Corrupt {
            path: path.to_owned(),
            reason: format!("truncated: {len} bytes where its header says {}", pages * page_size),
        });
    }
    Ok(())
}

/// Checks, without writing a byte, that the file is ours and not newer than us; returns its
/// schema version.
fn inspect(conn: &Connection, path: &Path) -> Result<i64, Error> {
    check_length(path)?;
    // One snapshot for every look: a creator commits its schema and id together.
    conn.execute_batch("BEGIN").map_err(|e| classify(e, path))?;
    let verdict = inspect_snapshot(conn, path);
    let _ = conn.execute_batch("COMMIT");
    verdict
}

fn inspect_snapshot(conn: &Connection, path: &Path) -> Result<i64, Error> {
    let application_id: i64 =
        conn.query_row("PRAGMA application_id", [], |r| r.get(0)).map_err(|e| classify(e, path))?;
    let version: i64 =
        conn.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(|e| classify(e, path))?;
    if application_id != APPLICATION_ID {
        let tables: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))
            .map_err(|e| classify(e, path))?;
        let reason = if tables == 0 {
            EMPTY.to_owned()
        } else {
            format!("an SQLite database of another program (application id {application_id:#x})")
        };
        return Err(Error::NotOurs { path: path.to_owned(), reason });
    }
    if version > SCHEMA_VERSION {
        return Err(Error::NewerSchema { path: path.to_owned(), found: version, supported: SCHEMA_VERSION });
    }
    if version < 1 {
        return Err(Error::Corrupt {
            path: path.to_owned(),
            reason: format!("it is ours, but of schema version {version}"),
        });
    }
    if version == SCHEMA_VERSION && schema_of(conn).map_err(|e| classify(e, path))? != *expected_schema() {
        return Err(Error::Corrupt {
            path: path.to_owned(),
            reason: "its tables are not the ones this version writes".into(),
        });
    }
    Ok(version)
}

type SchemaRows = Vec<(String, String, String, Option<String>)>;

/// The definitions of a file's tables and indexes (page 1: cheap to read).
fn schema_of(conn: &Connection) -> rusqlite::Result<SchemaRows> {
    let mut stmt = conn.prepare("SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY name")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
    rows.collect()
}

/// The definitions this version writes, read once from a new in-memory database.
fn expected_schema() -> &'static SchemaRows {
    static EXPECTED: std::sync::OnceLock<SchemaRows> = std::sync::OnceLock::new();
    EXPECTED.get_or_init(|| {
        let conn = Connection::open_in_memory().expect("an in-memory database");
        conn.execute_batch(SCHEMA_V2).expect("the schema is valid SQL");
        conn.execute_batch(V3_INDEX).expect("the schema is valid SQL");
        schema_of(&conn).expect("an in-memory schema reads back")
    })
}

/// WAL with `synchronous = FULL`: a transaction reported committed survives a crash of the
/// process (and, on hardware that honours fsync, of the machine).
fn configure(conn: &Connection) -> Result<(), Error> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    let _mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA cell_size_check = ON;")?;
    Ok(())
}

/// Creates the schema in a new file, or upgrades an older one; concurrent openers serialise on
/// the write lock.
fn create(mut conn: Connection) -> Result<Connection, Error> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    match version {
        0 => tx.execute_batch(SCHEMA_V2)?,
        1 => upgrade_v1(&tx)?,
        _ => {}
    }
    if version < 3 {
        tx.execute_batch(V3_INDEX)?;
    }
    if version < SCHEMA_VERSION {
        tx.execute_batch(&format!(
            "PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {SCHEMA_VERSION};"
        ))?;
    }
    tx.commit()?;
    Ok(conn)
}

/// Version 1 kept allocations only, and rebuilt every pool from all of them on each command. Its
/// content is read as an export, its tables dropped, and the export imported into version 2, with
/// every check an import makes: all in the one transaction.
fn upgrade_v1(tx: &Transaction<'_>) -> Result<(), Error> {
    let export = crate::v1::read(tx)?;
    tx.execute_batch("DROP TABLE allocations; DROP TABLE exclusions; DROP TABLE pools;")?;
    tx.execute_batch(SCHEMA_V2)?;
    let mut touched = crate::store::Touched::new();
    crate::exchange::import_in(&**tx, &mut touched, &export, false, 0).map_err(|e| match e {
        Error::Import { reason } => Error::Import { reason: format!("upgrading a version 1 file: {reason}") },
        other => other,
    })?;
    touched.flush(&**tx)
}
