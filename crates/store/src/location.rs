//! Where a state lives: a file's path, or a PostgreSQL URL, and how errors may name it.

/// Whether `location` names a PostgreSQL database (`postgres://` or `postgresql://`) rather than
/// a file.
///
/// ```
/// assert!(ipam_store::is_postgres_url("postgresql:///ipam?host=/run/postgresql"));
/// assert!(!ipam_store::is_postgres_url("/var/lib/ipam/state.db"));
/// ```
pub fn is_postgres_url(location: &str) -> bool {
    location.starts_with("postgres://") || location.starts_with("postgresql://")
}

/// `location` as errors and logs may show it: a URL's password (in `user:password@` or a
/// `password=` parameter) replaced by `***`.
///
/// ```
/// assert_eq!(ipam_store::redacted("postgres://ipam:s3cret@db/ipam"), "postgres://ipam:***@db/ipam");
/// assert_eq!(ipam_store::redacted("state.db"), "state.db");
/// ```
pub fn redacted(location: &str) -> String {
    redact(location)
}

/// `text` with the password of any URL in it replaced by `***`: in `user:password@` and in a
/// `password=` parameter.
pub(crate) fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(scheme) = rest.find("://") {
        let (head, tail) = rest.split_at(scheme + 3);
        out.push_str(head);
        // The user information ends at the last `@` before the query: parsers accept a `/` in a
        // password, so the authority cannot be cut at the first `/`.
        let query = tail.find(['?', '#', ' ']).unwrap_or(tail.len());
        let authority_end = match tail[..query].rfind('@') {
            Some(at) => at + tail[at..query].find('/').unwrap_or(query - at),
            None => tail.find(['/', '?', '#', ' ']).unwrap_or(tail.len()),
        };
        let authority = &tail[..authority_end];
        match (authority.rfind('@'), authority.find(':')) {
            (Some(at), Some(colon)) if colon < at => {
                out.push_str(&authority[..colon]);
                out.push_str(":***");
                out.push_str(&authority[at..]);
            }
            _ => out.push_str(authority),
        }
        rest = &tail[authority_end..];
    }
    out.push_str(rest);
    redact_parameter(&out)
}

/// `password=...` (query string or key/value form) with its value hidden.
fn redact_parameter(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("password=") {
        let (head, tail) = rest.split_at(at + "password=".len());
        out.push_str(head);
        out.push_str("***");
        let end = tail.find(['&', ' ', '#']).unwrap_or(tail.len());
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_never_show() {
        assert_eq!(redact("postgres://ipam:s3cret@db:5432/ipam"), "postgres://ipam:***@db:5432/ipam");
        assert_eq!(
            redact("postgresql:///ipam?host=/run/pg&password=s3cret&user=x"),
            "postgresql:///ipam?host=/run/pg&password=***&user=x"
        );
        assert_eq!(redact("postgres://ipam@db/ipam"), "postgres://ipam@db/ipam");
        assert_eq!(redact("host=db password=s3cret user=ipam"), "host=db password=*** user=ipam");
        assert_eq!(redact("postgres://u:p@a@b/x"), "postgres://u:***@b/x");
        assert_eq!(redact("postgres://ipam:pa/ss@db/x"), "postgres://ipam:***@db/x");
        assert_eq!(redact("postgres://db:5432/x?user=u"), "postgres://db:5432/x?user=u");
    }
}
