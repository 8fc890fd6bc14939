//! The one error type of this crate.

use std::path::PathBuf;

use ipnet::Ipv4Net;

/// Why a store operation failed. A failed mutation changes nothing, on disk or in memory.
///
/// ```
/// use ipam_store::{Error, Store};
///
/// let mut store = Store::open_in_memory()?;
/// let err = store.pool("nope").unwrap_err();
/// assert!(matches!(err, Error::NoSuchPool { .. }));
/// # Ok::<(), Error>(())
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file is not an SQLite database, or is one that some other program wrote.
    #[error("{path}: not an ipam state file ({reason}); it was left untouched")]
    NotOurs {
        /// The file.
        path: PathBuf,
        /// What gave it away.
        reason: String,
    },
    /// The file was written by a newer version of ipam.
    #[error("{path}: schema version {found} is newer than this ipam understands ({supported}); upgrade ipam")]
    NewerSchema {
        /// The file.
        path: PathBuf,
        /// The file's schema version.
        found: i64,
        /// The newest version this code reads.
        supported: i64,
    },
    /// The file is damaged (truncated, or pages that do not check out).
    #[error("{path}: the state file is damaged ({reason}); it was left untouched")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What SQLite reported.
        reason: String,
    },
    /// Data read from the state does not match its checksum or the counts kept beside it: the
    /// file was damaged after it was written. Nothing was decided on it and nothing was changed.
    #[error(
        "the state is damaged: {reason}; nothing was changed (run `ipam check`, restore from a backup or an export)"
    )]
    Damaged {
        /// What did not check out.
        reason: String,
    },
    /// A read of a state file that does not exist (nothing was created).
    #[error("{path}: no state file here (a write command such as `ipam pool add` creates one)")]
    NoStateFile {
        /// The path given.
        path: PathBuf,
    },
    /// A pool name that is empty, too long, or not plain (`../x`).
    #[error(
        "pool name \"{name}\" is invalid: use 1-63 letters, digits, `-`, `_` or `.`, starting with a letter or digit"
    )]
    InvalidName {
        /// The name given.
        name: String,
    },
    /// An owner key that is empty, over 255 bytes, holds control characters, or starts with `pool:`.
    #[error(
        "owner \"{owner}\" is invalid: 1-255 characters, no control characters, not starting with `pool:`"
    )]
    InvalidOwner {
        /// The owner given.
        owner: String,
    },
    /// The block is a child pool's network: remove the child pool instead.
    #[error("{block} in pool `{pool}` is the child pool `{child}`; remove that pool instead")]
    HeldByChildPool {
        /// The parent pool.
        pool: String,
        /// The block.
        block: String,
        /// The child pool.
        child: String,
    },
    /// A pool of that name exists already.
    #[error("pool `{name}` exists already")]
    PoolExists {
        /// The name.
        name: String,
    },
    /// No pool of that name.
    #[error("no pool named `{name}`")]
    NoSuchPool {
        /// The name.
        name: String,
    },
    /// A root pool would overlap another root pool.
    #[error("{cidr} overlaps pool `{other}` ({other_cidr})")]
    Overlap {
        /// The new pool's network.
        cidr: Ipv4Net,
        /// The pool it overlaps.
        other: String,
        /// That pool's network.
        other_cidr: Ipv4Net,
    },
    /// A pool still holds allocations (remove them, or pass `force`).
    #[error("pool `{name}` holds {allocations} allocations; release them or force the removal")]
    InUse {
        /// The pool.
        name: String,
        /// How many allocations it holds.
        allocations: u64,
    },
    /// The owner already holds a different allocation in this pool.
    #[error("owner `{owner}` already holds {held} in pool `{pool}`")]
    OwnerHoldsOther {
        /// The pool.
        pool: String,
        /// The owner.
        owner: String,
        /// What it holds.
        held: String,
    },
    /// A resize that cannot be done as asked.
    #[error("pool `{pool}` cannot be resized: {reason}")]
    Resize {
        /// The pool.
        pool: String,
        /// Why.
        reason: String,
    },
    /// The pool is a container of child pools: addresses come from its children.
    #[error(
        "pool `{pool}` is a container of child pools and hands out nothing itself; allocate from one of its children (`ipam pool list`)"
    )]
    Container {
        /// The pool.
        pool: String,
    },
    /// Nothing was allocated under that address, block, range or owner.
    #[error("pool `{pool}` has no allocation {what}")]
    NoSuchAllocation {
        /// The pool.
        pool: String,
        /// What was asked for.
        what: String,
    },
    /// The allocator refused the operation (exhausted, out of the pool, already allocated...).
    #[error(transparent)]
    Pool(#[from] ipam_core::Error),
    /// An export file that cannot be imported.
    #[error("import: {reason}")]
    Import {
        /// What is wrong with it.
        reason: String,
    },
    /// A plan that cannot be applied as it is.
    #[error("apply: {reason}")]
    Apply {
        /// Why.
        reason: String,
    },
    /// A list of addresses (for reconcile) with a line that is not an address.
    #[error("line {line}: {source}")]
    SeenList {
        /// 1-based line.
        line: usize,
        /// Why it is not an address.
        source: ipam_core::parse::ParseError,
    },
    /// A PostgreSQL URL given to a build without the `postgres` feature.
    #[error("this build of ipam has no PostgreSQL support (build ipam-store with the `postgres` feature)")]
    NoPostgres,
    /// The database server cannot be reached (down, restarting, refused us); the next call
    /// connects again. A change whose commit was under way may have been made: one made for an
    /// owner is safe to repeat (it returns what the owner holds).
    #[error(
        "{location}: cannot reach the database ({reason}); try again when it is back (a change made for an owner is safe to repeat: it returns what the owner holds)"
    )]
    Unreachable {
        /// The database, as its URL without the password.
        location: String,
        /// What the connection reported.
        reason: String,
    },
    /// Other writers kept winning the same rows: the transaction was run again `attempts` times
    /// and gave up. Nothing was changed.
    #[error(
        "{location}: gave up after {attempts} attempts, other writers kept changing the same rows ({reason})"
    )]
    Contended {
        /// The database, as its URL without the password.
        location: String,
        /// How many times the transaction ran.
        attempts: u32,
        /// The last conflict, as the database reported it.
        reason: String,
    },
    /// The database failed (disk full, I/O error...). The cause is kept as a source; its type
    /// is the backend's and not part of this API.
    #[error("state file: {0}")]
    Database(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl Error {
    /// Names the file in errors that SQLite raised about the file itself.
    pub(crate) fn at(self, path: &std::path::Path) -> Error {
        match self {
            Error::Database(e) => match e.downcast::<rusqlite::Error>() {
                Ok(e) => crate::schema::classify(*e, path),
                Err(e) => Error::Database(e),
            },
            other => other,
        }
    }
}

// The conversion that `?` uses inside the crate; hidden because the SQLite binding is an
// implementation detail (a PostgreSQL backend would bring its own).
#[doc(hidden)]
impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Error {
        Error::Database(Box::new(e))
    }
}

// The PostgreSQL binding's errors, likewise hidden.
#[cfg(feature = "postgres")]
#[doc(hidden)]
impl From<postgres::Error> for Error {
    fn from(e: postgres::Error) -> Error {
        Error::Database(Box::new(e))
    }
}
