//! The database: recognising it, and creating the schema in it.

use postgres::Client;

use crate::Error;

/// This backend's schema version. 3 added each chunk's `version`: a number no other write of any
/// chunk ever gets again, so that a controller that keeps a chunk in memory can tell with one
/// comparison whether another controller changed it.
pub(crate) const SCHEMA_VERSION: i64 = 3;

/// Every update of a chunk gets a new version, whoever makes it (an ipam from before schema 3
/// still running too).
macro_rules! version_trigger {
    () => {
        r#"
CREATE OR REPLACE FUNCTION chunk_new_version() RETURNS trigger LANGUAGE plpgsql AS $body$
BEGIN
    NEW.version := nextval('chunk_versions');
    RETURN NEW;
END
$body$;
CREATE TRIGGER chunk_versions BEFORE UPDATE ON chunks FOR EACH ROW EXECUTE FUNCTION chunk_new_version();
"#
    };
}

/// What marks a database as ours: a row of `ipam_meta`.
const APPLICATION: &str = "ipam";

/// The tables of the SQLite file's version 2 (`crate::schema`), but with a row for every chunk
/// of a pool that keeps the chunk's summary byte and counts, so that writers of different chunks
/// of one pool never wait for each other (the pool's row changes only for a RoundRobin cursor);
/// and what only a server can promise: two allocations of one pool can never overlap (an exclusion constraint over
/// `int8range`s, from `btree_gist`) and an owner holds at most one allocation per pool, whatever
/// the writer, even a row typed into `psql`.
const SCHEMA: &str = concat!(
    r#"
CREATE EXTENSION IF NOT EXISTS btree_gist;
CREATE SEQUENCE IF NOT EXISTS chunk_versions;
CREATE TABLE ipam_meta (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE pools (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL UNIQUE,
    network bigint NOT NULL CHECK (network BETWEEN 0 AND 4294967295),
    prefix_len smallint NOT NULL CHECK (prefix_len BETWEEN 0 AND 32),
    reserve_gateway boolean NOT NULL,
    reserve_network_broadcast boolean NOT NULL,
    exclusions text NOT NULL,
    policy text NOT NULL,
    parent_id bigint REFERENCES pools (id),
    cursor bigint NOT NULL CHECK (cursor BETWEEN 0 AND 4294967295),
    capacity bigint NOT NULL CHECK (capacity >= 0),
    checksum bigint NOT NULL
);
CREATE INDEX pools_by_network ON pools (network);
CREATE INDEX pools_by_parent ON pools (parent_id) WHERE parent_id IS NOT NULL;
CREATE TABLE chunks (
    pool_id bigint NOT NULL REFERENCES pools (id) ON DELETE CASCADE,
    idx bigint NOT NULL CHECK (idx >= 0),
    used bigint NOT NULL CHECK (used >= 0),
    bits bytea NOT NULL,
    summary smallint NOT NULL CHECK (summary BETWEEN 0 AND 255),
    allocations bigint NOT NULL CHECK (allocations >= 0),
    checksum bigint NOT NULL,
    version bigint NOT NULL DEFAULT nextval('chunk_versions'),
    PRIMARY KEY (pool_id, idx)
);
CREATE TABLE allocations (
    pool_id bigint NOT NULL REFERENCES pools (id) ON DELETE CASCADE,
    first bigint NOT NULL CHECK (first BETWEEN 0 AND 4294967295),
    last bigint NOT NULL CHECK (last BETWEEN first AND 4294967295),
    shape text NOT NULL CHECK (shape IN ('addr', 'block', 'range')),
    owner text COLLATE "C",
    created bigint NOT NULL CHECK (created >= 0),
    checksum bigint NOT NULL,
    PRIMARY KEY (pool_id, first),
    CONSTRAINT allocations_never_overlap EXCLUDE USING gist (pool_id WITH =, int8range(first, last, '[]') WITH &&),
    CONSTRAINT one_allocation_per_owner UNIQUE (owner, pool_id)
);
"#,
    version_trigger!()
);

/// Schema 2 to 3: chunk versions. Existing chunks get one each (the table is rewritten, under
/// its lock, once). Every update of a chunk gets a new one from the trigger, whoever writes it:
/// an older ipam still running from before the upgrade too.
const UPGRADE_FROM_2: &str = concat!(
    r#"
CREATE SEQUENCE IF NOT EXISTS chunk_versions;
ALTER TABLE chunks ADD COLUMN version bigint NOT NULL DEFAULT nextval('chunk_versions');
"#,
    version_trigger!(),
    r#"
UPDATE ipam_meta SET value = '3' WHERE key = 'schema_version';
"#
);

/// What [`inspect`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Found {
    /// None of our tables.
    Empty,
    /// Our schema, this version.
    Current,
    /// Our schema 2: readable as it is, upgraded by the first writer.
    Version2,
}

/// Checks that the database is ours and current, creating the schema in an empty one (unless
/// `read_only`) and upgrading an older one of ours. Another program's tables, or a newer schema,
/// are refused untouched.
pub(crate) fn prepare(client: &mut Client, location: &str, read_only: bool) -> Result<(), Error> {
    match inspect(client, location)? {
        Found::Current => Ok(()),
        Found::Version2 if read_only => Ok(()),
        Found::Empty if read_only => Err(Error::NoStateFile { path: location.into() }),
        Found::Empty | Found::Version2 => {
            let mut tx = client.transaction()?;
            // Two processes creating the schema at once: the second waits, then finds it.
            tx.execute("SELECT pg_advisory_xact_lock(1229996365)", &[])?;
            match inspect_in(&mut tx, location)? {
                Found::Empty => {
                    tx.batch_execute(SCHEMA)?;
                    tx.execute(
                        "INSERT INTO ipam_meta (key, value) VALUES ('application', $1), ('schema_version', $2)",
                        &[&APPLICATION, &SCHEMA_VERSION.to_string()],
                    )?;
                }
                Found::Version2 => tx.batch_execute(UPGRADE_FROM_2)?,
                Found::Current => {}
            }
            tx.commit()?;
            Ok(())
        }
    }
}

fn inspect(client: &mut Client, location: &str) -> Result<Found, Error> {
    let mut tx = client.build_transaction().read_only(true).start()?;
    let found = inspect_in(&mut tx, location)?;
    tx.commit()?;
    Ok(found)
}

/// Whether the database is empty, or ours and of a version this ipam reads.
fn inspect_in(tx: &mut postgres::Transaction<'_>, location: &str) -> Result<Found, Error> {
    let not_ours = |reason: &str| Error::NotOurs { path: location.into(), reason: reason.into() };
    let row = tx.query_one(
        "SELECT to_regclass('ipam_meta') IS NOT NULL,
                to_regclass('pools') IS NOT NULL OR to_regclass('chunks') IS NOT NULL
                    OR to_regclass('allocations') IS NOT NULL",
        &[],
    )?;
    let (meta, tables): (bool, bool) = (row.try_get(0)?, row.try_get(1)?);
    if !meta {
        return if tables {
            Err(not_ours("it has tables named like ipam's (pools, chunks, allocations) but no ipam_meta"))
        } else {
            Ok(Found::Empty)
        };
    }
    let rows = tx.query("SELECT key, value FROM ipam_meta", &[])?;
    let value = |key: &str| rows.iter().find(|r| r.get::<_, &str>(0) == key).map(|r| r.get::<_, String>(1));
    if value("application").as_deref() != Some(APPLICATION) {
        return Err(not_ours("its ipam_meta table does not name ipam"));
    }
    let version = value("schema_version").and_then(|v| v.parse::<i64>().ok());
    match version {
        Some(v) if v == SCHEMA_VERSION => Ok(Found::Current),
        Some(2) => Ok(Found::Version2),
        Some(v) if v > SCHEMA_VERSION => {
            Err(Error::NewerSchema { path: location.into(), found: v, supported: SCHEMA_VERSION })
        }
        _ => Err(not_ours("its ipam_meta table names no schema version this ipam wrote")),
    }
}
