//! Durable state for ipam: pools and allocations in one crash-safe SQLite file, or (feature
//! `postgres`) in a PostgreSQL database that many controllers share.
//!
//! A [`Store`] keeps pool definitions and every allocation (with an optional owner and its
//! creation time) in an embedded SQLite database (bundled: no system library needed), in WAL mode
//! with `synchronous = FULL`. Each pool's bitmap is kept in the file in chunks of 2^16 addresses,
//! with a summary byte per chunk in the pool's row, so a command reads only the chunks it touches
//! and lets an [`ipam_core::Pool`] over that window choose. Every mutation is one immediate
//! transaction, so several processes can share one file: they wait for each other and never
//! double-allocate; readers ([`Store::open_read_only`]) never wait for writers. Every row read
//! back is checked against its checksum and the counts kept beside it: a damaged file is refused
//! ([`Error::Damaged`]), never trusted.
//!
//! ```
//! use ipam_store::{PoolDef, Release, Request, Store};
//!
//! let mut store = Store::open_in_memory()?;           // Store::open(path) for a file
//! store.add_pool(&PoolDef::new("bmc", "10.250.0.0/24".parse()?).gateway(true))?;
//! let a = store.allocate("bmc", Request::Next, Some("gpu-node-001"))?;
//! assert_eq!(a.to_string(), "10.250.0.2");          // .0 network, .1 gateway
//! store.release("bmc", &Release::Owner("gpu-node-001".into()))?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Organization
//! - [`Store`]: open, pools ([`PoolDef`], [`PoolInfo`], [`PoolUse`]), [`Request`] / [`Release`]
//!   of [`Allocation`]s (one, or many owners at once: [`Claim`]), lookups ([`Found`], [`Held`]),
//!   [`Store::export`] / [`Store::import`] ([`Export`]), [`Store::reconcile`] ([`Reconcile`],
//!   [`parse_seen`]), [`Store::apply`] for an `ipam plan` ([`Applied`]) and [`Store::check`].
//! - [`Error`]: one typed error; a failed mutation changes nothing.
//!
//! The schema is versioned (`PRAGMA user_version`) and marked as ours (`PRAGMA application_id`);
//! a file from a newer version, a damaged file or another program's file is refused untouched.
//!
//! # PostgreSQL
//! `Store::open("postgresql://user@host/db")` (or `postgresql:///db?host=/run/postgresql`) keeps
//! the same tables in a database, versioned in `ipam_meta`. There, every chunk has a row holding
//! its summary byte and counts, so writers of different chunks of one pool lock different rows and
//! commit side by side (a writer passes over a chunk another one holds); the database itself
//! refuses overlapping allocations (an exclusion constraint) and second owners (unique), whoever
//! writes. A transaction that loses a race is run again; a server that is down gives
//! [`Error::Unreachable`], and the next call connects again.

mod apply;
mod check;
mod checksum;
mod container;
#[cfg(feature = "postgres")]
mod controller;
mod error;
mod exchange;
mod find;
mod layout;
mod location;
mod model;
mod ops;
mod plan_holdings;
#[cfg(feature = "postgres")]
mod postgres;
mod reconcile;
mod resize;
mod rows;
mod schema;
mod sqlite_rows;
mod state;
mod store;
mod time;
mod v1;

pub use apply::Applied;
pub use error::Error;
pub use exchange::{Export, ExportedPool};
pub use find::{Found, Held};
pub use location::{is_postgres_url, redacted};
pub use model::{Allocation, PoolDef, PoolInfo, PoolUse, Release, Request, Shape};
pub use ops::Claim;
pub use reconcile::{Reconcile, ReconcileAll, parse_seen};
pub use store::Store;

/// An error for data that does not check out.
pub(crate) fn damaged(reason: String) -> Error {
    Error::Damaged { reason }
}

/// Input quoted in an error: at most 80 characters, control characters escaped, so a hostile
/// name can neither flood the terminal nor drive it.
pub(crate) fn excerpt(text: &str) -> String {
    const MAX: usize = 80;
    let mut out = String::new();
    for c in text.chars().take(MAX) {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    if text.chars().nth(MAX).is_some() {
        out.push_str(&format!("... ({} bytes)", text.len()));
    }
    out
}
