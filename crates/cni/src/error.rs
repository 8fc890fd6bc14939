//! The spec's error result: a code, a message and details, printed on stdout.

use std::fmt;

/// A CNI error: the well-known codes of the specification, and ours from 100.
///
/// ```
/// use ipam_cni::CniError;
///
/// let e = CniError::new(CniError::UNSUPPORTED_FIELD, "unsupported field `ipam.foo` = 1");
/// assert_eq!(e.to_json("1.0.0"), r#"{"cniVersion":"1.0.0","code":2,"msg":"unsupported field `ipam.foo` = 1"}"#);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CniError {
    /// The code.
    pub code: u32,
    /// One line saying what is wrong.
    pub msg: String,
    /// More, where there is more to say.
    pub details: Option<String>,
}

impl CniError {
    /// The configuration's `cniVersion` is not one this plugin speaks (or the verb needs a newer one).
    pub const INCOMPATIBLE_VERSION: u32 = 1;
    /// A key of the `ipam` object that this plugin does not know.
    pub const UNSUPPORTED_FIELD: u32 = 2;
    /// The attachment is unknown (CHECK: nothing is recorded for it).
    pub const UNKNOWN_CONTAINER: u32 = 3;
    /// A required environment variable is missing or invalid.
    pub const INVALID_ENVIRONMENT: u32 = 4;
    /// Reading stdin or the state failed.
    pub const IO_FAILURE: u32 = 5;
    /// Stdin is not JSON.
    pub const DECODING_FAILURE: u32 = 6;
    /// The configuration is invalid, or contradicts the pool the state already holds.
    pub const INVALID_CONFIG: u32 = 7;
    /// Transient: the state is busy; try again.
    pub const TRY_AGAIN_LATER: u32 = 11;
    /// STATUS: an ADD cannot succeed now (state unreachable, pool exhausted).
    pub const NOT_AVAILABLE: u32 = 50;
    /// STATUS: not available, and existing attachments may be affected (the state is damaged).
    pub const NOT_AVAILABLE_DEGRADED: u32 = 51;
    /// Ours: the pool has no free address left.
    pub const EXHAUSTED: u32 = 100;
    /// Ours: CHECK found the attachment holding another address than its result says.
    pub const ADDRESS_MISMATCH: u32 = 101;

    /// An error with no details.
    ///
    /// ```
    /// let e = ipam_cni::CniError::new(7, "subnet is missing");
    /// assert_eq!((e.code, e.details), (7, None));
    /// ```
    pub fn new(code: u32, msg: impl Into<String>) -> CniError {
        CniError { code, msg: msg.into(), details: None }
    }

    /// The error as the spec prints it.
    ///
    /// ```
    /// let e = ipam_cni::CniError::new(4, "CNI_IFNAME is missing");
    /// assert!(e.to_json("0.4.0").starts_with(r#"{"cniVersion":"0.4.0","code":4"#));
    /// ```
    pub fn to_json(&self, cni_version: &str) -> String {
        let mut value = serde_json::json!({ "cniVersion": cni_version, "code": self.code, "msg": self.msg });
        if let Some(details) = &self.details {
            value["details"] = details.clone().into();
        }
        value.to_string()
    }
}

impl fmt::Display for CniError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "code {}: {}", self.code, self.msg)
    }
}

impl std::error::Error for CniError {}

impl From<ipam_store::Error> for CniError {
    fn from(e: ipam_store::Error) -> CniError {
        use ipam_store::Error as E;
        let code = match &e {
            E::Pool(ipam_core::Error::Exhausted { .. }) => CniError::EXHAUSTED,
            // Another writer held the state past the wait (SQLite's own words).
            E::Database(_) if e.to_string().contains("database is locked") => CniError::TRY_AGAIN_LATER,
            // PostgreSQL down or restarting, or writers that kept winning: the runtime retries.
            E::Unreachable { .. } | E::Contended { .. } => CniError::TRY_AGAIN_LATER,
            E::Database(_)
            | E::Damaged { .. }
            | E::Corrupt { .. }
            | E::NotOurs { .. }
            | E::NewerSchema { .. } => CniError::IO_FAILURE,
            _ => CniError::INVALID_CONFIG,
        };
        CniError::new(code, e.to_string())
    }
}
