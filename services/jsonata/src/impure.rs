//! The built-ins that would read a clock or a random source, or evaluate text as code.
//!
//! An execution must come out the same every time it is replayed from its seed and its clock,
//! so jsonata-core's own `$now`, `$millis`, `$random` and `$shuffle` (which call
//! `chrono::Utc::now` and `rand`) are never reached: `$now`, `$millis` and `$random` are the
//! host's (`Env::function`) or fail, `$shuffle` draws from the host's `$random`, and
//! `$toMillis` takes the date parts its picture leaves out from the host's clock. `$eval` is
//! refused, as AWS Step Functions refuses it.

use std::rc::Rc;

use jsonata_core::evaluator::EvaluatorError;
use jsonata_core::value::JValue;
use serde_json::Value;

use crate::error::Error;
use crate::guards::markers;
use crate::run::Run;

/// The built-ins replaced here, and the internal name each replacement is registered under.
pub(crate) const REPLACED: [(&str, &str); 5] = [
    ("eval", "refused eval"),
    ("now", "host-supplied now"),
    ("millis", "host-supplied millis"),
    ("random", "host-supplied random"),
    ("shuffle", "shuffle by host random"),
];

/// The host functions a replacement calls.
pub(crate) fn host_functions_needed(name: &str) -> &'static [&'static str] {
    match name {
        "shuffle" => &["random"],
        "toMillis" => &["millis", "now"],
        _ => &[],
    }
}

/// The replacement of built-in `name`, for an evaluation whose host did not supply one.
pub(crate) fn replacement(
    name: &str,
    run: &Rc<Run>,
) -> impl Fn(&[JValue]) -> Result<JValue, EvaluatorError> + 'static {
    let run = Rc::clone(run);
    let name = name.to_string();
    move |args: &[JValue]| {
        match name.as_str() {
        "eval" => Err(run.fail(Error::Unsupported {
            function: "eval".to_string(),
        })),
        "shuffle" => shuffle(&run, args),
        other => Err(run.fail(Error::Function {
            name: other.to_string(),
            message: format!(
                "${other} is supplied by the host (the execution's clock and seeded randomness), and this evaluation has none"
            ),
        })),
    }
    }
}

/// `$shuffle(array)`, jsonata-js's Fisher–Yates, drawing from the host's `$random`.
fn shuffle(run: &Run, args: &[JValue]) -> Result<JValue, EvaluatorError> {
    let mut items = match args.first() {
        None | Some(JValue::Undefined) => return Ok(JValue::Undefined),
        Some(JValue::Array(items)) => items.iter().cloned().collect::<Vec<_>>(),
        Some(other) => vec![other.clone()],
    };
    if items.len() > 1 {
        let Some(random) = run.host_function("random") else {
            return Err(run.fail(Error::Function {
                name: "shuffle".to_string(),
                message: "$shuffle draws from $random, which the host supplies, and this evaluation has none".to_string(),
            }));
        };
        for index in (1..items.len()).rev() {
            let draw = match random(&[]) {
                Ok(Some(Value::Number(n))) => n.as_f64().unwrap_or(0.0),
                Ok(_) => 0.0,
                Err(message) => {
                    return Err(run.fail(Error::Function {
                        name: "random".to_string(),
                        message,
                    }));
                }
            };
            let j = ((draw.clamp(0.0, 1.0) * (index as f64 + 1.0)).floor() as usize).min(index);
            items.swap(index, j);
        }
    }
    Ok(JValue::array(items))
}

/// Separates the date parts put in front of a `$toMillis` timestamp from it: a character no
/// timestamp has.
const SEPARATOR: &str = "\u{1}";

/// The components of a date/time, in the order jsonata fills the ones a picture leaves out:
/// from the clock up to the first one given, with defaults after it.
const ORDER: [(char, &str); 7] = [
    ('Y', "[Y0001]"),
    ('M', "[M01]"),
    ('D', "[D01]"),
    ('H', "[H01]"),
    ('m', "[m01]"),
    ('s', "[s01]"),
    ('f', "[f001]"),
];

/// How many of `ORDER`'s components `picture` leaves to the clock.
fn clock_components(picture: &str) -> usize {
    let present: Vec<char> = markers(picture)
        .filter_map(|marker| marker.chars().find(|c| !c.is_whitespace()))
        .collect();
    // Without markers the picture matches nothing (undefined); with a year, or with ISO week
    // components (which jsonata does not parse: D3136), no part comes from the clock.
    if present.is_empty() || present.iter().any(|c| "YXxWw".contains(*c)) {
        return 0;
    }
    // The day of the year counts from the year alone.
    if present.contains(&'d') {
        return 1;
    }
    ORDER
        .iter()
        .position(|(component, _)| {
            present.contains(component)
                || (*component == 'H' && present.iter().any(|c| matches!(c, 'h' | 'P')))
        })
        .unwrap_or(ORDER.len())
}

/// `[timestamp, picture]`: the timestamp, preceded by the clock's date parts its picture leaves out.
pub(crate) fn clock_timestamp(run: &Run, args: &[JValue]) -> Result<JValue, EvaluatorError> {
    let timestamp = args.first().cloned().unwrap_or(JValue::Undefined);
    let (Some(stamp), Some(picture)) = (timestamp.as_str(), args.get(1).and_then(JValue::as_str))
    else {
        return Ok(timestamp);
    };
    let missing = clock_components(picture);
    if missing == 0 {
        return Ok(timestamp);
    }
    let millis = now_millis(run)?;
    let parts = utc_parts(millis);
    let mut out = String::new();
    for (i, (component, _)) in ORDER.iter().take(missing).enumerate() {
        let width = if *component == 'Y' {
            4
        } else if *component == 'f' {
            3
        } else {
            2
        };
        out.push_str(&format!("{:0width$}", parts[i], width = width));
        out.push_str(SEPARATOR);
    }
    out.push_str(stamp);
    Ok(JValue::string(out))
}

/// `[timestamp, picture]`: the picture, preceded by markers for the parts `clock_timestamp` adds.
pub(crate) fn clock_picture(_run: &Run, args: &[JValue]) -> Result<JValue, EvaluatorError> {
    let picture = args.get(1).cloned().unwrap_or(JValue::Undefined);
    let (Some(_), Some(text)) = (args.first().and_then(JValue::as_str), picture.as_str()) else {
        return Ok(picture);
    };
    let missing = clock_components(text);
    if missing == 0 {
        return Ok(picture);
    }
    let mut out = String::new();
    for (_, marker) in ORDER.iter().take(missing) {
        out.push_str(marker);
        out.push_str(SEPARATOR);
    }
    out.push_str(text);
    Ok(JValue::string(out))
}

/// The host's clock, in milliseconds since the epoch: `$millis`, or `$now` read as ISO 8601.
fn now_millis(run: &Run) -> Result<i64, EvaluatorError> {
    if let Some(millis) = run.now_millis.get() {
        return Ok(millis);
    }
    let from_millis = run.host_function("millis").map(|millis| match millis(&[]) {
        Ok(Some(Value::Number(n))) => n
            .as_f64()
            .map(|n| n as i64)
            .ok_or_else(|| "$millis returned a number out of range".to_string()),
        Ok(_) => Err("$millis returned no number".to_string()),
        Err(message) => Err(message),
    });
    let from_now = || {
        run.host_function("now").map(|now| match now(&[]) {
            Ok(Some(Value::String(s))) => parse_iso_millis(&s)
                .ok_or_else(|| format!("$now returned {s:?}, not an ISO 8601 timestamp")),
            Ok(_) => Err("$now returned no string".to_string()),
            Err(message) => Err(message),
        })
    };
    match from_millis.or_else(from_now) {
        Some(Ok(millis)) => {
            run.now_millis.set(Some(millis));
            Ok(millis)
        }
        Some(Err(message)) => Err(run.fail(Error::Function {
            name: "toMillis".to_string(),
            message,
        })),
        None => Err(run.fail(Error::Function {
            name: "toMillis".to_string(),
            message: "the picture leaves out date parts, which come from the clock ($millis or $now); the host supplies it, and this evaluation has none".to_string(),
        })),
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Year, month, day, hour, minute, second and millisecond of `millis` in UTC.
fn utc_parts(millis: i64) -> [i64; 7] {
    let days = millis.div_euclid(86_400_000);
    let in_day = millis.rem_euclid(86_400_000);
    // Howard Hinnant's `civil_from_days`.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    [
        year,
        month,
        day,
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000,
    ]
}

/// `YYYY-MM-DDTHH:MM[:SS[.fff]](Z|±HH[:]MM)` as milliseconds since the epoch.
fn parse_iso_millis(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    let number = |from: usize, len: usize| -> Option<i64> {
        let digits = text.get(from..from + len)?;
        digits
            .bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| digits.parse().ok())?
    };
    let year = number(0, 4)?;
    let month = number(5, 2)?;
    let day = number(8, 2)?;
    if bytes.get(4) != Some(&b'-')
        || bytes.get(7) != Some(&b'-')
        || !matches!(bytes.get(10), Some(b'T' | b't' | b' '))
    {
        return None;
    }
    let hour = number(11, 2)?;
    let minute = number(14, 2)?;
    let mut at = 16;
    let mut second = 0;
    let mut millis = 0;
    if bytes.get(at) == Some(&b':') {
        second = number(at + 1, 2)?;
        at += 3;
        if bytes.get(at) == Some(&b'.') {
            let digits = bytes[at + 1..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
            let fraction = text.get(at + 1..at + 1 + digits.min(3))?;
            millis = fraction.parse::<i64>().ok()? * 10_i64.pow(3 - digits.min(3) as u32);
            at += 1 + digits;
        }
    }
    let offset_minutes = match bytes.get(at) {
        None | Some(b'Z' | b'z') => 0,
        Some(sign @ (b'+' | b'-')) => {
            let hours = number(at + 1, 2)?;
            let minutes = number(at + 3, 2).or_else(|| number(at + 4, 2)).unwrap_or(0);
            let total = hours * 60 + minutes;
            if *sign == b'+' { total } else { -total }
        }
        Some(_) => return None,
    };
    let days = days_from_civil(year, month, day);
    Some(((days * 24 + hour) * 60 + minute - offset_minutes) * 60_000 + second * 1000 + millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_round_trip() {
        for millis in [0, 1_715_000_123_456, -86_400_001, 951_782_400_000] {
            let [y, mo, d, h, mi, s, f] = utc_parts(millis);
            let text = format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{f:03}Z");
            assert_eq!(parse_iso_millis(&text), Some(millis), "{text}");
        }
        assert_eq!(
            parse_iso_millis("2024-05-06T15:45:00+02:00"),
            parse_iso_millis("2024-05-06T13:45:00Z")
        );
        assert_eq!(parse_iso_millis("yesterday"), None);
    }

    #[test]
    fn pictures_leave_leading_parts_to_the_clock() {
        assert_eq!(clock_components("[Y]-[M]-[D]"), 0);
        assert_eq!(clock_components("[H]:[m]"), 3);
        assert_eq!(clock_components("[h]:[m] [P]"), 3);
        assert_eq!(clock_components("[D]/[M]"), 1);
        assert_eq!(clock_components("[m]"), 4);
        assert_eq!(clock_components("[d]"), 1);
        assert_eq!(clock_components("[Z]"), 7);
        assert_eq!(clock_components("Hello"), 0);
        assert_eq!(clock_components("[X]-[W]-[F1]"), 0);
    }
}
