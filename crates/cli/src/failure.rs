//! Why a command failed, split by exit code.

use std::fmt;

/// A failed command: bad input (exit 1) or a bug or I/O failure on our side (exit 2).
#[derive(Debug)]
pub(crate) enum Failure {
    Input(String),
    Internal(String),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Input(message) | Failure::Internal(message) => f.write_str(message),
        }
    }
}

impl From<ipam_plan::Error> for Failure {
    fn from(e: ipam_plan::Error) -> Failure {
        if e.is_internal() { Failure::Internal(e.to_string()) } else { Failure::Input(e.to_string()) }
    }
}

impl From<ipam_store::Error> for Failure {
    fn from(e: ipam_store::Error) -> Failure {
        Failure::from_store(e, None)
    }
}

impl Failure {
    /// Store errors are bad input, except a failing database (disk full, I/O), which is ours.
    pub(crate) fn from_store(e: ipam_store::Error, state: Option<&std::path::Path>) -> Failure {
        let text = match (state, &e) {
            (Some(path), ipam_store::Error::Database(_)) => {
                format!("{}: {e}", ipam_store::redacted(&path.display().to_string()))
            }
            _ => e.to_string(),
        };
        match e {
            // Ours or the environment's, not the input's: a failing disk or database, a database
            // server that is down, writers that kept winning.
            ipam_store::Error::Database(_)
            | ipam_store::Error::Unreachable { .. }
            | ipam_store::Error::Contended { .. } => Failure::Internal(text),
            _ => Failure::Input(text),
        }
    }
}
