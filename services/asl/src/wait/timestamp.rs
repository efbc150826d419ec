//! RFC 3339 timestamps as Step Functions reads them at run time (Wait `Timestamp`/`TimestampPath`,
//! Choice `Timestamp…` comparators and `IsTimestamp`):
//! `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`.
//!
//! AWS documents "an uppercase T must separate the date and time portions, and an uppercase Z must
//! denote that a numeric time zone offset is not present", so lowercase `t`/`z` are refused here.
//! The fraction takes 1 to 9 digits (AWS accepts nanoseconds, e.g. `…29.243167252Z` in the Wait
//! corpus; the Java parser behind AWS's "ISO-8601 extended offset date-time" wording stops at 9).

/// An instant: whole seconds since the Unix epoch plus nanoseconds in `[0, 1e9)`. Compared
/// field-wise, which orders instants correctly because `nanos` is always non-negative.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Instant {
    pub secs: i64,
    pub nanos: u32,
}

impl Instant {
    /// Epoch milliseconds, rounding down (sub-millisecond digits cannot move a timer).
    pub fn epoch_ms(self) -> i64 {
        self.secs * 1000 + i64::from(self.nanos / 1_000_000)
    }
}

/// Parses `text` into an instant, or `None` if it is not a timestamp AWS accepts.
pub(crate) fn parse_instant(text: &str) -> Option<Instant> {
    let bytes = text.as_bytes();
    if bytes.len() < 20 {
        return None;
    }
    let shape_ok = bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes[10] == b'T'
        && bytes[13] == b':'
        && bytes[16] == b':';
    if !shape_ok {
        return None;
    }
    let year = digits(&bytes[0..4])?;
    let month = digits(&bytes[5..7])?;
    let day = digits(&bytes[8..10])?;
    let hour = digits(&bytes[11..13])?;
    let minute = digits(&bytes[14..16])?;
    let second = digits(&bytes[17..19])?;
    let date_ok = (1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month);
    // 60 admits a leap second, as RFC 3339 (and the definition validator) do; it counts as the
    // first second of the next minute.
    let time_ok = hour <= 23 && minute <= 59 && second <= 60;
    if !(date_ok && time_ok) {
        return None;
    }
    let (nanos, rest) = fraction(&bytes[19..])?;
    let offset_secs = offset(rest)?;
    let days = days_from_civil(i64::from(year), month, day);
    let local = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second);
    Some(Instant {
        secs: local - offset_secs,
        nanos,
    })
}

/// An optional `.fraction` (1 to 9 digits) as nanoseconds, and the bytes after it.
fn fraction(rest: &[u8]) -> Option<(u32, &[u8])> {
    let Some(after_dot) = rest.strip_prefix(b".") else {
        return Some((0, rest));
    };
    let count = after_dot.iter().take_while(|b| b.is_ascii_digit()).count();
    if !(1..=9).contains(&count) {
        return None;
    }
    let value = digits(&after_dot[..count])?;
    // Scale "243" (milliseconds) or "243167252" (nanoseconds) alike to nanoseconds.
    let scale = 10u32.pow(9 - count as u32);
    Some((value * scale, &after_dot[count..]))
}

/// `Z` or `±HH:MM` as seconds east of UTC; anything else (including trailing bytes) is invalid.
fn offset(rest: &[u8]) -> Option<i64> {
    match rest {
        [b'Z'] => Some(0),
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let hours = digits(&[*h1, *h2])?;
            let minutes = digits(&[*m1, *m2])?;
            if hours > 23 || minutes > 59 {
                return None;
            }
            let secs = i64::from(hours * 3600 + minutes * 60);
            Some(if *sign == b'-' { -secs } else { secs })
        }
        _ => None,
    }
}

fn digits(bytes: &[u8]) -> Option<u32> {
    bytes.iter().try_fold(0u32, |value, byte| {
        byte.is_ascii_digit()
            .then(|| value * 10 + u32::from(byte - b'0'))
    })
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn is_leap(year: u32) -> bool {
    year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = i64::from(month);
    let shifted_month = if month > 2 { month - 3 } else { month + 9 };
    let day_of_year = (153 * shifted_month + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::{Instant, parse_instant};

    fn ms(text: &str) -> Option<i64> {
        parse_instant(text).map(Instant::epoch_ms)
    }

    #[test]
    fn parses_utc_and_epoch_boundaries() {
        assert_eq!(ms("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(ms("2016-03-14T01:59:00Z"), Some(1_457_920_740_000));
        assert_eq!(ms("1969-12-31T23:59:59Z"), Some(-1000));
        assert_eq!(ms("2000-02-29T00:00:00Z"), Some(951_782_400_000));
        assert_eq!(ms("9999-12-31T23:59:59Z"), Some(253_402_300_799_000));
    }

    #[test]
    fn applies_offsets() {
        let utc = ms("2012-10-09T18:00:55Z");
        assert_eq!(ms("2012-10-09T19:00:55+01:00"), utc);
        assert_eq!(ms("2012-10-09T12:30:55-05:30"), utc);
        assert_eq!(ms("2012-10-09T18:00:55+00:00"), utc);
        assert_eq!(ms("2012-10-09T18:00:55-00:00"), utc);
    }

    #[test]
    fn keeps_fractional_seconds() {
        assert_eq!(ms("1970-01-01T00:00:00.5Z"), Some(500));
        assert_eq!(ms("1970-01-01T00:00:00.123Z"), Some(123));
        assert_eq!(ms("1970-01-01T00:00:00.123999999Z"), Some(123));
        // Before the epoch the milliseconds still round down (towards the past).
        assert_eq!(ms("1969-12-31T23:59:59.5Z"), Some(-500));
        let a = parse_instant("2016-03-05T21:29:29.243167252Z");
        let b = parse_instant("2016-03-05T21:29:29.243167253Z");
        assert!(a < b);
        assert_eq!(a.map(|i| i.nanos), Some(243_167_252));
    }

    #[test]
    fn leap_second_is_the_next_minute() {
        assert_eq!(
            parse_instant("2016-12-31T23:59:60Z"),
            parse_instant("2017-01-01T00:00:00Z")
        );
    }

    #[test]
    fn refuses_invalid_forms() {
        for text in [
            "2016-13-05T21:29:29Z",
            "05-12-2016T21:29:29Z",
            "2016-12-05T25:29:29Z",
            "2016-12-05T21:60:29Z",
            "2016-12-05T21:29:61Z",
            "2016-12-05 21:29:29Z",
            "2016-12-05T21:29:29",
            "2016-12-05t21:29:29Z",
            "2016-12-05T21:29:29z",
            "2023-02-29T00:00:00Z",
            "1900-02-29T00:00:00Z",
            "2016-04-31T00:00:00Z",
            "2016-12-05T21:29:29.Z",
            "2016-12-05T21:29:29.1234567890Z",
            "2016-12-05T21:29:29+0530",
            "2016-12-05T21:29:29+05",
            "2016-12-05T21:29:29+24:00",
            "2016-12-05T21:29:29+05:60",
            "2016-12-05T21:29:29Z ",
            " 2016-12-05T21:29:29Z",
            "2016-12-05T21:29Z",
            "2023-02-24",
            "+2016-12-05T21:29:29Z",
            "2016-1２-05T21:29:29Z",
            "",
        ] {
            assert_eq!(parse_instant(text), None, "{text}");
        }
    }
}
