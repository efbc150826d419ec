//! RFC 3339 timestamps as a Wait state's `Timestamp` must write them:
//! `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`, with real calendar values.

pub(crate) fn is_rfc3339(text: &str) -> bool {
    let bytes = text.as_bytes();
    if bytes.len() < 20 {
        return false;
    }
    let shape_ok = bytes[4] == b'-'
        && bytes[7] == b'-'
        && matches!(bytes[10], b'T' | b't')
        && bytes[13] == b':'
        && bytes[16] == b':';
    if !shape_ok {
        return false;
    }
    let (Some(year), Some(month), Some(day), Some(hour), Some(minute), Some(second)) = (
        digits(&bytes[0..4]),
        digits(&bytes[5..7]),
        digits(&bytes[8..10]),
        digits(&bytes[11..13]),
        digits(&bytes[14..16]),
        digits(&bytes[17..19]),
    ) else {
        return false;
    };
    let date_ok = (1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month);
    // 60 admits a leap second, as RFC 3339 does.
    let time_ok = hour <= 23 && minute <= 59 && second <= 60;
    date_ok && time_ok && offset_ok(&bytes[19..])
}

/// An optional `.fraction`, then `Z` or `±HH:MM`.
fn offset_ok(rest: &[u8]) -> bool {
    let rest = match rest.first() {
        Some(b'.') => {
            let fraction = rest[1..].iter().take_while(|b| b.is_ascii_digit()).count();
            if fraction == 0 {
                return false;
            }
            &rest[1 + fraction..]
        }
        _ => rest,
    };
    match rest {
        [b'Z' | b'z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => match (digits(&[*h1, *h2]), digits(&[*m1, *m2])) {
            (Some(hours), Some(minutes)) => hours <= 23 && minutes <= 59,
            _ => false,
        },
        _ => false,
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

#[cfg(test)]
mod tests {
    use super::is_rfc3339;

    #[test]
    fn accepts_rfc3339() {
        for text in [
            "2016-03-14T01:59:00Z",
            "2016-03-14T01:59:00.123Z",
            "2016-03-14T01:59:00+05:30",
            "2024-02-29T23:59:59-08:00",
        ] {
            assert!(is_rfc3339(text), "{text}");
        }
    }

    #[test]
    fn refuses_what_aws_refuses() {
        for text in [
            "2016-13-05T21:29:29Z",
            "05-12-2016T21:29:29Z",
            "2016-12-05T25:29:29Z",
            "2016-12-05 21:29:29Z",
            "2016-12-05T21:29:29",
            "2023-02-29T00:00:00Z",
            "2016-12-05T21:29:29.Z",
            "{% '2016-03-14T01:59:00Z' %}",
            "",
            "2016-12-05T21:29:29+0530",
        ] {
            assert!(!is_rfc3339(text), "{text}");
        }
    }
}
