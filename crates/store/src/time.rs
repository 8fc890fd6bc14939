//! Times as people and other tools read them: RFC 3339 in UTC (`2026-12-02T09:43:12Z`). The
//! store keeps seconds since the Unix epoch; output writes RFC 3339, input reads either.

use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserializer, Serializer};

/// Seconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ` (a year past 9999 keeps all its digits, so
/// every time the store holds reads back).
///
/// Days to a civil date by Howard Hinnant's algorithm (`civil_from_days`), exact for every `u64`
/// day count the store can hold.
pub(crate) fn rfc3339(secs: u64) -> String {
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rest / 3_600, rest % 3_600 / 60, rest % 60)
}

/// The seconds of `YYYY-MM-DDTHH:MM:SSZ` (UTC only, as this store writes it; a year past 9999
/// has more digits), if valid and representable.
pub(crate) fn parse_rfc3339(text: &str) -> Option<u64> {
    // The year is everything before the fixed-width rest: `-MM-DDTHH:MM:SSZ`.
    let split = text.len().checked_sub(16)?;
    let (year, rest) = (text.get(..split)?, text.get(split..)?);
    let b = rest.as_bytes();
    let shape = year.len() >= 4
        && year.bytes().all(|c| c.is_ascii_digit())
        && (year.len() == 4 || !year.starts_with('0'))
        && b[0] == b'-'
        && b[3] == b'-'
        && b[6] == b'T'
        && b[9] == b':'
        && b[12] == b':'
        && b[15] == b'Z';
    if !shape {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u64> {
        let part = rest.get(r)?;
        part.bytes().all(|c| c.is_ascii_digit()).then(|| part.parse().ok())?
    };
    let year: u64 = year.parse().ok()?;
    let (month, day) = (num(1..3)?, num(4..6)?);
    let (hour, minute, second) = (num(7..9)?, num(10..12)?, num(13..15)?);
    let leap = year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400));
    let days_in = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let valid = year >= 1970
        && (1..=12).contains(&month)
        && day >= 1
        && day <= days_in[(month - 1) as usize]
        && hour < 24
        && minute < 60
        && second < 60;
    if !valid {
        return None;
    }
    // Days from civil (the inverse of `rfc3339`'s), checked: a hostile year must not overflow.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era.checked_mul(146_097)?.checked_add(doe)?.checked_sub(719_468)?;
    days.checked_mul(86_400)?.checked_add(hour * 3_600 + minute * 60 + second)
}

/// Serde for a creation time: written as RFC 3339, read from RFC 3339 or (format version 1)
/// seconds since the epoch.
pub(crate) mod created {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(secs: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&rfc3339(*secs))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        d.deserialize_any(Either)
    }

    struct Either;

    impl Visitor<'_> for Either {
        type Value = u64;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an RFC 3339 UTC time (2026-12-02T09:43:12Z) or seconds since the epoch")
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
            Ok(v)
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<u64, E> {
            u64::try_from(v).map_err(|_| E::custom(format!("`created` {v} is before 1970")))
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<u64, E> {
            parse_rfc3339(v).ok_or_else(|| {
                E::custom(format!("`created` {:?} is not an RFC 3339 UTC time", crate::excerpt(v)))
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn known_times() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_796_204_592), "2026-12-02T09:43:12Z");
        assert_eq!(parse_rfc3339("2026-12-02T09:43:12Z"), Some(1_796_204_592));
        for bad in [
            "2026-02-29T00:00:00Z",
            "2026-12-02 09:43:12Z",
            "2026-12-02T24:00:00Z",
            "1969-12-31T23:59:59Z",
            "+026-12-02T09:43:12Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    proptest! {
        #[test]
        fn every_time_through_year_9999_round_trips(secs in 0u64..=253_402_300_799) {
            prop_assert_eq!(parse_rfc3339(&rfc3339(secs)), Some(secs));
        }

        /// Every time the store can hold (imports take `created` up to `i64::MAX`) reads back.
        #[test]
        fn every_storable_time_round_trips(secs in 0u64..=i64::MAX as u64) {
            prop_assert_eq!(parse_rfc3339(&rfc3339(secs)), Some(secs));
        }
    }

    #[test]
    fn far_years_read_back_and_hostile_ones_do_not_overflow() {
        let far = i64::MAX as u64;
        assert_eq!(parse_rfc3339(&rfc3339(far)), Some(far));
        assert_eq!(
            parse_rfc3339("570975-05-21T03:51:55Z").map(rfc3339).as_deref(),
            Some("570975-05-21T03:51:55Z")
        );
        assert_eq!(parse_rfc3339("99999999999999999999-01-01T00:00:00Z"), None);
        assert_eq!(parse_rfc3339("012026-01-01T00:00:00Z"), None, "no leading zero on a long year");
    }
}
