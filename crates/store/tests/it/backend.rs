//! The backends the shared suite runs on: SQLite always, PostgreSQL when `IPAM_TEST_POSTGRES`
//! names a server (CI starts one: `.ci/postgres`).

use std::sync::atomic::{AtomicUsize, Ordering};

use ipam_store::Store;

/// Where a test's fresh states are made.
pub(crate) enum Backend {
    /// Files in the test's own directory.
    Sqlite(&'static str),
    /// Databases on a server: (the test's name, the URL of the server's database to create from).
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    Postgres(&'static str, String),
}

static FRESH: AtomicUsize = AtomicUsize::new(0);

impl Backend {
    /// PostgreSQL for the test `name`, or `None` (saying why) when no server is given.
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pub(crate) fn postgres(name: &'static str) -> Option<Backend> {
        let Some(url) = server() else {
            eprintln!(
                "skipped on PostgreSQL: {name}: set IPAM_TEST_POSTGRES to a server's URL (see the README)"
            );
            return None;
        };
        Some(Backend::Postgres(name, url))
    }

    /// The location of a fresh, empty state: a path, or a URL.
    pub(crate) fn location(&self) -> String {
        let n = FRESH.fetch_add(1, Ordering::Relaxed);
        match self {
            Backend::Sqlite(name) => {
                let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("suite").join(name);
                if n == 0 || !dir.exists() {
                    let _ = std::fs::remove_dir_all(&dir);
                }
                std::fs::create_dir_all(&dir).unwrap();
                let path = dir.join(format!("state-{n}.db"));
                let _ = std::fs::remove_file(&path);
                path.display().to_string()
            }
            Backend::Postgres(name, url) => fresh_database(url, &format!("t_{name}_{n}")),
        }
    }

    /// A store on a fresh, empty state.
    pub(crate) fn fresh(&self) -> Store {
        Store::open(self.location()).unwrap()
    }
}

/// A fresh database `name` on the test server, as a URL; `None` (saying why) without a server.
#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
pub(crate) fn database(name: &str) -> Option<String> {
    let Some(url) = server() else {
        eprintln!("skipped: {name}: set IPAM_TEST_POSTGRES to a server's URL (see the README)");
        return None;
    };
    Some(fresh_database(&url, name))
}

/// The server's URL, if the tests have one.
#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
pub(crate) fn server() -> Option<String> {
    std::env::var("IPAM_TEST_POSTGRES").ok().filter(|u| !u.is_empty())
}

/// Creates (again) the database `name` on the server of `url`, and returns its URL.
pub(crate) fn fresh_database(url: &str, name: &str) -> String {
    let name: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect();
    let name = &name[..name.len().min(60)];
    let mut admin = postgres::Client::connect(url, postgres::NoTls).expect("the test server answers");
    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).unwrap();
    admin.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
    with_database(url, name)
}

/// `url` with its database replaced by `name` (`postgresql://host/db?query` or `postgresql:///db?query`).
pub(crate) fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[scheme_end..].find('/').map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{name}", &base[..path_start]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

/// Defines one `#[test]` per backend for each suite test `fn(&Backend)`.
macro_rules! on_every_backend {
    ($($module:ident :: $test:ident),* $(,)?) => {
        mod sqlite {
            $( #[test] fn $test() { crate::$module::$test(&crate::backend::Backend::Sqlite(stringify!($test))) } )*
        }
        #[cfg(feature = "postgres")]
        mod postgres {
            $( #[test] fn $test() {
                if let Some(b) = crate::backend::Backend::postgres(stringify!($test)) { crate::$module::$test(&b) }
            } )*
        }
    };
}
pub(crate) use on_every_backend;
