//! Where output goes: results to stdout (or a file), notes and errors to stderr.

use std::fs;
use std::io::{Read, Write};
use std::path::Path;
use std::sync::OnceLock;

use crate::failure::Failure;

/// The largest input file read (`--max-input-bytes`), set once by `main`.
static MAX_INPUT: OnceLock<u64> = OnceLock::new();

pub(crate) fn set_max_input(bytes: u64) {
    let _ = MAX_INPUT.set(bytes);
}

/// Reads a UTF-8 text file named on the command line (`-`: stdin), refusing one over the input
/// limit before reading it whole.
pub(crate) fn read(path: &Path) -> Result<String, Failure> {
    let limit = *MAX_INPUT.get().unwrap_or(&u64::MAX);
    let named = || path.display().to_string();
    let mut bytes = Vec::new();
    let source: Box<dyn Read> = if path == Path::new("-") {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(fs::File::open(path).map_err(|e| Failure::Input(format!("{}: {e}", named())))?)
    };
    source
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| Failure::Input(format!("{}: {e}", named())))?;
    if bytes.len() as u64 > limit {
        return Err(Failure::Input(format!(
            "{}: larger than the {limit}-byte input limit (--max-input-bytes, IPAM_MAX_INPUT_BYTES)",
            named()
        )));
    }
    String::from_utf8(bytes).map_err(|_| Failure::Input(format!("{}: not UTF-8 text", named())))
}

/// Writes a result that must reach its reader: every failure, a closed pipe included, is reported.
pub(crate) fn deliver(text: &str) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()
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

/// A message for the terminal: control characters escaped, and at most 1,000 characters, so
/// echoed input can neither drive the terminal nor flood it.
pub(crate) fn clean(message: &str) -> String {
    const MAX: usize = 1000;
    let mut out = String::new();
    for c in message.chars().take(MAX) {
        if c.is_control() { out.extend(c.escape_default()) } else { out.push(c) }
    }
    if message.chars().nth(MAX).is_some() {
        out.push_str("...");
    }
    out
}
