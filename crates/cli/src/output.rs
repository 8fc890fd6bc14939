//! Where output goes: results to stdout (or a file), notes and errors to stderr.

use std::fs;
use std::io::Write;
use std::path::Path;

use crate::failure::Failure;

/// Reads a UTF-8 text file named on the command line.
pub(crate) fn read(path: &Path) -> Result<String, Failure> {
    let bytes = fs::read(path).map_err(|e| Failure::Input(format!("{}: {e}", path.display())))?;
    String::from_utf8(bytes).map_err(|_| Failure::Input(format!("{}: not UTF-8 text", path.display())))
}

/// Writes `text` to `path`, or to stdout without one.
pub(crate) fn emit(path: Option<&Path>, text: &str) -> Result<(), Failure> {
    match path {
        Some(path) => fs::write(path, text).map_err(|e| Failure::Input(format!("{}: {e}", path.display()))),
        None => {
            let mut stdout = std::io::stdout().lock();
            match stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()) {
                // A closed pipe (`ipam plan | head`) is the reader's choice, not a failure.
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    Err(Failure::Internal(format!("stdout: {e}")))
                }
                _ => Ok(()),
            }
        }
    }
}

/// A note for people, on stderr, so that stdout stays what scripts read.
pub(crate) fn note(text: &str) {
    eprintln!("{text}");
}
