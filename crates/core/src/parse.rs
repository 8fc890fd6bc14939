//! Strict parsing of user-typed addresses and networks.
//!
//! `std` and ipnet accept a few spellings that are mistakes in an address plan: `10.0.0.1/24`
//! (host bits set: did you mean the network or the host?) and prefix lengths with leading zeros.
//! These functions refuse them with a reason, so every front end (spec files, the CLI, state
//! imports) reads networks the same way.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

/// Why a string is not an IPv4 address or network.
///
/// ```
/// use ipam_core::parse::{net, ParseError};
///
/// assert!(matches!(net("10.0.0.1/24"), Err(ParseError::HostBitsSet { .. })));
/// assert!(matches!(net("10.0.0.0/33"), Err(ParseError::InvalidPrefixLength { .. })));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// Nothing to parse.
    #[error("empty input where an IPv4 address or network was expected")]
    Empty,
    /// Not a dotted-quad IPv4 address (leading zeros, hex, IPv6, missing octets...).
    #[error("`{input}` is not an IPv4 address (expected four decimal octets, like 10.0.0.1)")]
    NotAnAddress {
        /// The text as given.
        input: String,
    },
    /// An address where a network (`ADDR/LEN`) was expected.
    #[error("`{input}` has no prefix length; write a network like 10.0.0.0/24")]
    MissingPrefix {
        /// The text as given.
        input: String,
    },
    /// The part after `/` is not a decimal number from 0 to 32 without leading zeros.
    #[error("`{input}` has an invalid prefix length (expected /0 to /32)")]
    InvalidPrefixLength {
        /// The text as given.
        input: String,
    },
    /// A name (of a pool, site or endpoint) that is not plain enough to name things downstream.
    #[error("name {input:?} is invalid: {reason}")]
    InvalidName {
        /// The text as given.
        input: String,
        /// What is accepted.
        reason: &'static str,
    },
    /// The network has bits set past its prefix length.
    #[error("{given} has host bits set; the network is {}", given.trunc())]
    HostBitsSet {
        /// The network as given.
        given: Ipv4Net,
    },
}

/// Parses a dotted-quad IPv4 address, with no surrounding whitespace.
///
/// ```
/// use ipam_core::parse::{addr, ParseError};
///
/// assert_eq!(addr("10.0.0.1")?, std::net::Ipv4Addr::new(10, 0, 0, 1));
/// assert!(matches!(addr("010.0.0.1"), Err(ParseError::NotAnAddress { .. })));
/// # Ok::<(), ParseError>(())
/// ```
pub fn addr(input: &str) -> Result<Ipv4Addr, ParseError> {
    if input.is_empty() {
        return Err(ParseError::Empty);
    }
    // std's parser already refuses leading zeros, hex, short forms and surrounding whitespace.
    input.parse().map_err(|_| ParseError::NotAnAddress { input: input.to_owned() })
}

/// Parses a network `ADDR/LEN` whose host bits are all zero.
///
/// ```
/// use ipam_core::parse::{net, ParseError};
///
/// assert_eq!(net("10.0.0.0/8")?.to_string(), "10.0.0.0/8");
/// assert!(matches!(net("10.0.0.0"), Err(ParseError::MissingPrefix { .. })));
/// assert!(matches!(net("10.0.0.0/024"), Err(ParseError::InvalidPrefixLength { .. })));
/// # Ok::<(), ParseError>(())
/// ```
pub fn net(input: &str) -> Result<Ipv4Net, ParseError> {
    if input.is_empty() {
        return Err(ParseError::Empty);
    }
    let Some((address, len)) = input.split_once('/') else {
        return Err(match addr(input) {
            Ok(_) => ParseError::MissingPrefix { input: input.to_owned() },
            Err(e) => e,
        });
    };
    let address = addr(address).map_err(|_| ParseError::NotAnAddress { input: input.to_owned() })?;
    let canonical = len.bytes().all(|b| b.is_ascii_digit()) && (len == "0" || !len.starts_with('0'));
    let prefix_len = match len.parse::<u8>() {
        Ok(n) if canonical && n <= 32 => n,
        _ => return Err(ParseError::InvalidPrefixLength { input: input.to_owned() }),
    };
    let given = Ipv4Net::new(address, prefix_len)
        .map_err(|_| ParseError::InvalidPrefixLength { input: input.to_owned() })?;
    if given.trunc() != given {
        return Err(ParseError::HostBitsSet { given });
    }
    Ok(given)
}

/// Checks a name for a pool, site or endpoint: 1-63 ASCII letters, digits, `-`, `_` or `.`,
/// starting with a letter or digit. Names end up in file names, CSV cells, shells and NetBox, so
/// anything else (`../x`, spaces, control or full-width characters) is refused.
///
/// ```
/// use ipam_core::parse::{name, ParseError};
///
/// assert_eq!(name("rack-01.dc2")?, "rack-01.dc2");
/// assert!(matches!(name("../x"), Err(ParseError::InvalidName { .. })));
/// # Ok::<(), ParseError>(())
/// ```
pub fn name(input: &str) -> Result<&str, ParseError> {
    let invalid = |reason| Err(ParseError::InvalidName { input: input.to_owned(), reason });
    if input.is_empty() || input.len() > 63 {
        return invalid("it must be 1 to 63 characters");
    }
    if !input.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')) {
        return invalid("only letters, digits, `-`, `_` and `.` are allowed");
    }
    if !input.as_bytes()[0].is_ascii_alphanumeric() {
        return invalid("it must start with a letter or digit");
    }
    Ok(input)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_spellings_are_refused_with_their_reason() {
        type Case = (&'static str, fn(&ParseError) -> bool);
        let cases: &[Case] = &[
            ("", |e| matches!(e, ParseError::Empty)),
            ("10.0.0.1/24", |e| matches!(e, ParseError::HostBitsSet { .. })),
            ("010.0.0.0/8", |e| matches!(e, ParseError::NotAnAddress { .. })),
            ("0x0a.0.0.0/8", |e| matches!(e, ParseError::NotAnAddress { .. })),
            ("10.0.0/8", |e| matches!(e, ParseError::NotAnAddress { .. })),
            ("10.0.0.0/33", |e| matches!(e, ParseError::InvalidPrefixLength { .. })),
            ("10.0.0.0/024", |e| matches!(e, ParseError::InvalidPrefixLength { .. })),
            ("10.0.0.0/-1", |e| matches!(e, ParseError::InvalidPrefixLength { .. })),
            ("10.0.0.0/+8", |e| matches!(e, ParseError::InvalidPrefixLength { .. })),
            ("10.0.0.0/", |e| matches!(e, ParseError::InvalidPrefixLength { .. })),
            ("10.0.0.0", |e| matches!(e, ParseError::MissingPrefix { .. })),
            (" 10.0.0.0/8", |e| matches!(e, ParseError::NotAnAddress { .. })),
            ("10.0.0.0/8\r\n", |e| matches!(e, ParseError::InvalidPrefixLength { .. })),
            ("１０.0.0.0/8", |e| matches!(e, ParseError::NotAnAddress { .. })),
            ("fd00::/8", |e| matches!(e, ParseError::NotAnAddress { .. })),
            ("10.0.0.0\0/8", |e| matches!(e, ParseError::NotAnAddress { .. })),
        ];
        for (input, is_expected) in cases {
            let err = net(input).expect_err(input);
            assert!(is_expected(&err), "{input:?} gave {err:?}");
        }
    }

    #[test]
    fn edges_of_the_address_space_parse() {
        assert_eq!(net("0.0.0.0/0").unwrap().prefix_len(), 0);
        assert_eq!(net("255.255.255.255/32").unwrap().prefix_len(), 32);
        assert!(matches!(net("255.255.255.255/31"), Err(ParseError::HostBitsSet { .. })));
    }
}
