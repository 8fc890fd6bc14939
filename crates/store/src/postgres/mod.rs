//! The PostgreSQL backend: a connection (made again when it drops), transactions that are run
//! again when they lose a race, and errors that name the database without its password.

mod claims;
mod rows;
mod schema;

use std::cell::RefCell;
use std::time::Duration;

use postgres::error::SqlState;
use postgres::{Client, Config, IsolationLevel, NoTls};

use self::rows::{PgRows, Statements};
use crate::Error;
use crate::location::redact;
use crate::rows::Rows;

/// How many times a write that lost a race is run; the waits between grow from 1 ms.
const ATTEMPTS: u32 = 12;

/// A PostgreSQL database holding ipam's state.
pub(crate) struct Database {
    config: Config,
    location: String,
    read_only: bool,
    link: RefCell<Option<Link>>,
}

/// One open connection and the statements prepared on it.
struct Link {
    client: Client,
    statements: RefCell<Statements>,
}

impl Database {
    /// Connects to `url` and checks (or, unless `read_only`, creates) the schema.
    pub(crate) fn open(url: &str, read_only: bool) -> Result<Database, Error> {
        let location = redact(url);
        let config: Config = url.parse().map_err(|e: postgres::Error| Error::Unreachable {
            location: location.clone(),
            reason: format!("not a PostgreSQL URL: {}", redact(&e.to_string())),
        })?;
        let database = Database { config, location, read_only, link: RefCell::new(None) };
        {
            let mut link = database.link()?;
            let link = link.as_mut().expect("connected by link()");
            schema::prepare(&mut link.client, &database.location, read_only)
                .map_err(|e| database.classify(e))?;
        }
        Ok(database)
    }

    /// Whether this connection was opened for reading only.
    pub(crate) fn read_only(&self) -> bool {
        self.read_only
    }

    /// The URL without its password.
    pub(crate) fn location(&self) -> &str {
        &self.location
    }

    /// The open connection, made again if it was lost.
    fn link(&self) -> Result<std::cell::RefMut<'_, Option<Link>>, Error> {
        let mut link = self.link.borrow_mut();
        if link.as_ref().is_none_or(|l| l.client.is_closed()) {
            *link = None;
            let client = self
                .config
                .connect(NoTls)
                .map_err(|e| Error::Unreachable { location: self.location.clone(), reason: describe(&e) })?;
            *link = Some(Link { client, statements: RefCell::new(Statements::new()) });
        }
        Ok(link)
    }

    /// Runs `f` in a write transaction (READ COMMITTED; every pool row `f` reads by name is
    /// locked until the commit), again after a serialization failure, deadlock or constraint
    /// conflict, at most [`ATTEMPTS`] times.
    pub(crate) fn write<T>(&self, mut f: impl FnMut(&dyn Rows) -> Result<T, Error>) -> Result<T, Error> {
        let mut last = String::new();
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                std::thread::sleep(backoff(attempt));
            }
            let outcome = {
                let mut link = self.link()?;
                let link = link.as_mut().expect("connected by link()");
                let tx = if self.read_only {
                    link.client.build_transaction().read_only(true).start()
                } else {
                    link.client.transaction()
                };
                let tx = tx.map_err(|e| self.classify(e.into()))?;
                let rows = PgRows::new(tx, &link.statements, true);
                f(&rows).and_then(|value| rows.commit().map(|()| value))
            };
            match outcome {
                Ok(value) => return Ok(value),
                Err(e) => match lost_race(&e) {
                    Some(reason) => last = reason,
                    None => return Err(self.classify(e)),
                },
            }
        }
        Err(Error::Contended { location: self.location.clone(), attempts: ATTEMPTS, reason: last })
    }

    /// Runs `f` on one snapshot (a read-only REPEATABLE READ transaction: writers go on).
    pub(crate) fn read<T>(&self, f: impl FnOnce(&dyn Rows) -> Result<T, Error>) -> Result<T, Error> {
        let mut link = self.link()?;
        let link = link.as_mut().expect("connected by link()");
        let tx = link
            .client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .map_err(|e| self.classify(e.into()))?;
        let rows = PgRows::new(tx, &link.statements, false);
        f(&rows).and_then(|value| rows.commit().map(|()| value)).map_err(|e| self.classify(e))
    }

    /// A lost connection or a server going down becomes [`Error::Unreachable`]; the rest stays.
    fn classify(&self, e: Error) -> Error {
        let Error::Database(source) = &e else { return e };
        let Some(pg) = source.downcast_ref::<postgres::Error>() else { return e };
        let down = pg.is_closed()
            || pg.code().is_some_and(|c| {
                c.code().starts_with("08")
                    || [SqlState::ADMIN_SHUTDOWN, SqlState::CRASH_SHUTDOWN, SqlState::CANNOT_CONNECT_NOW]
                        .contains(c)
            })
            || (pg.code().is_none()
                && std::error::Error::source(pg).is_some_and(|s| s.is::<std::io::Error>()));
        if down {
            // The connection is no use after this; the next call makes a new one.
            if let Ok(mut link) = self.link.try_borrow_mut() {
                *link = None;
            }
            return Error::Unreachable { location: self.location.clone(), reason: describe(pg) };
        }
        e
    }
}

/// What went wrong, in the server's words where it said something ("db error" alone says
/// nothing), with the cause of a failed connection; passwords hidden.
fn describe(e: &postgres::Error) -> String {
    let text = match e.as_db_error() {
        Some(db) => db.message().to_owned(),
        None => match std::error::Error::source(e) {
            Some(cause) => format!("{e}: {cause}"),
            None => e.to_string(),
        },
    };
    redact(&text)
}

/// Why a transaction lost a race it may win when run again, if it did.
fn lost_race(e: &Error) -> Option<String> {
    let Error::Database(source) = e else { return None };
    if let Some(lost) = source.downcast_ref::<crate::rows::LostRace>() {
        return Some(lost.to_string());
    }
    let pg = source.downcast_ref::<postgres::Error>()?;
    let code = pg.code()?;
    let retried = [
        SqlState::T_R_SERIALIZATION_FAILURE,
        SqlState::T_R_DEADLOCK_DETECTED,
        SqlState::UNIQUE_VIOLATION,
        SqlState::EXCLUSION_VIOLATION,
    ];
    retried.contains(code).then(|| pg.to_string())
}

/// The wait before attempt `n` (1, 2, 4 ... 64 ms, with jitter so that the losers spread out).
fn backoff(attempt: u32) -> Duration {
    let base = 1u64 << attempt.min(6);
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    Duration::from_micros(base * 1000 / 2 + u64::from(nanos) % (base * 1000))
}
