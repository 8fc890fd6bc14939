//! `ipam-cni`: reads the CNI environment and stdin, prints the result or the spec's error JSON on
//! stdout (logs on stderr), and exits non-zero on error.

use std::io::{Read, Write};
use std::process::ExitCode;

use ipam_cni::{CniError, Invocation, run};

/// Network configurations are small; a larger stdin is refused before it is read whole.
const MAX_STDIN: u64 = 4 << 20;

fn main() -> ExitCode {
    let mut stdin = Vec::new();
    let read = std::io::stdin().lock().take(MAX_STDIN + 1).read_to_end(&mut stdin);
    let outcome = match read {
        Err(e) => Err(CniError::new(CniError::IO_FAILURE, format!("reading stdin: {e}"))),
        Ok(_) if stdin.len() as u64 > MAX_STDIN => Err(CniError::new(
            CniError::INVALID_CONFIG,
            format!("the network configuration is over {MAX_STDIN} bytes"),
        )),
        Ok(_) => run(&Invocation::from_env(stdin.clone())),
    };
    let (text, code) = match outcome {
        Ok(Some(result)) => (Some(result), ExitCode::SUCCESS),
        Ok(None) => (None, ExitCode::SUCCESS),
        Err(e) => (Some(e.to_json(&version_of(&stdin))), ExitCode::FAILURE),
    };
    if let Some(text) = text {
        let mut out = std::io::stdout().lock();
        if writeln!(out, "{text}").and_then(|()| out.flush()).is_err() {
            return ExitCode::FAILURE;
        }
    }
    code
}

/// The configuration's `cniVersion`, for the error result (the newest when it cannot be read).
fn version_of(stdin: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(stdin)
        .ok()
        .and_then(|v| v.get("cniVersion").and_then(|v| v.as_str()).map(str::to_owned))
        .filter(|v| ipam_cni::SUPPORTED.contains(&v.as_str()))
        .unwrap_or_else(|| "1.1.0".to_owned())
}
