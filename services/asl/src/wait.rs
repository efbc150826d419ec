//! When a Wait state ends: `Seconds`, `Timestamp`, `SecondsPath` or `TimestampPath`.
//!
//! Causes are AWS's own words without the prefix AWS puts before every state-level runtime cause
//! ("An error occurred while executing the state '<name>' (entered at the event id #<id>). "):
//! only the interpreter knows the state's name and event id, so it adds that prefix.

pub(crate) mod timestamp;

use crate::entropy::Entropy;
use crate::jsonata::{self, States};
use crate::variables::Env;
use serde_json::Value;

use crate::dataflow::evaluate_path;
use crate::failure::Failure;
use crate::model::{OrExpression, WaitState};

/// Epoch milliseconds at which a Wait state entered at `now_ms` with this (effective) input ends.
///
/// A timestamp already in the past ends the wait at once, so the result is never before `now_ms`.
pub fn wait_until_ms(
    state: &WaitState,
    input: &Value,
    env: &Env<'_>,
    now_ms: i64,
    entropy: &mut Entropy,
) -> Result<i64, Failure> {
    // JSONata: `Seconds` and `Timestamp` may be expressions over `$states.input`.
    if let Some(OrExpression::Expression(text)) = &state.seconds
        && jsonata::expression_text(&Value::String(text.clone())).is_some()
    {
        let seconds =
            jsonata::evaluate_integer("Seconds", text, 0, States::input(input), env, entropy)?;
        return Ok(after_seconds(now_ms, seconds));
    }
    if let Some(text) = &state.timestamp
        && let Some(expression) = jsonata::expression_text(&Value::String(text.clone()))
    {
        let value = jsonata::evaluate_field(
            "Timestamp",
            &Value::String(text.clone()),
            States::input(input),
            env,
            entropy,
        )?;
        return match value.as_str().and_then(parse_timestamp_ms) {
            Some(at) => Ok(at.max(now_ms)),
            None => Err(Failure::query_evaluation(
                Some("Timestamp"),
                format!(
                    "The JSONata expression '{expression}' specified for the field 'Timestamp' returned an unexpected result. Expected an ISO-8601 extended offset date-time format string, but was: {value}"
                ),
            )),
        };
    }
    if let Some(seconds) = &state.seconds {
        // The validator guarantees a non-negative integer; anything else (a JSONata expression
        // read as JSONPath, a number beyond a Java long) is reported the way AWS reports a bad
        // SecondsPath value rather than panicking.
        return match seconds.literal_i64() {
            Some(seconds) if seconds >= 0 => Ok(after_seconds(now_ms, seconds)),
            _ => Err(Failure::runtime(format!(
                "The Seconds parameter cannot be parsed as a long value: {}",
                match seconds {
                    OrExpression::Literal(n) => n.to_string(),
                    OrExpression::Expression(text) => text.clone(),
                }
            ))),
        };
    }
    if let Some(text) = &state.timestamp {
        return match parse_timestamp_ms(text) {
            Some(at) => Ok(at.max(now_ms)),
            None => Err(Failure::runtime(format!(
                "The Timestamp parameter does not reference a valid ISO-8601 extended offset \
                 date-time format string: {text}"
            ))),
        };
    }
    if let Some(path) = &state.seconds_path {
        let value = resolve("SecondsPath", path, input, env)?;
        return match value.as_i64() {
            Some(seconds) if seconds >= 0 => Ok(after_seconds(now_ms, seconds)),
            Some(_) => Err(Failure::runtime(format!(
                "The SecondsPath parameter references a negative value: {path} == {}",
                render(&value)
            ))),
            // Fractions, strings, u64 beyond a Java long and every other JSON type.
            None => Err(Failure::runtime(format!(
                "The SecondsPath parameter cannot be parsed as a long value: {path} == {}",
                render(&value)
            ))),
        };
    }
    if let Some(path) = &state.timestamp_path {
        let value = resolve("TimestampPath", path, input, env)?;
        return match value.as_str().and_then(parse_timestamp_ms) {
            Some(at) => Ok(at.max(now_ms)),
            None => Err(Failure::runtime(format!(
                "The TimestampPath parameter does not reference a valid ISO-8601 extended offset \
                 date-time format string: {path} == {}",
                render(&value)
            ))),
        };
    }
    Err(Failure::runtime(
        "A Wait state requires one of Seconds, Timestamp, SecondsPath or TimestampPath",
    ))
}

/// Parses an RFC 3339 timestamp as AWS does into epoch milliseconds (None if invalid).
pub fn parse_timestamp_ms(text: &str) -> Option<i64> {
    timestamp::parse_instant(text).map(timestamp::Instant::epoch_ms)
}

/// `now + seconds`, saturating: a SecondsPath may hold any Java long, far beyond any timer.
fn after_seconds(now_ms: i64, seconds: i64) -> i64 {
    now_ms.saturating_add(seconds.saturating_mul(1000))
}

fn resolve(field: &str, path: &str, input: &Value, env: &Env<'_>) -> Result<Value, Failure> {
    evaluate_path(path, input, env).map_err(|_| {
        Failure::runtime(format!(
            "The {field} parameter does not reference an input value: {path}"
        ))
    })
}

/// A value as AWS prints it after `==`: strings bare (`$.t == 2016-12-05T21:29:29`), the rest
/// as JSON text (`$.s == -1.5`).
fn render(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::{parse_timestamp_ms, wait_until_ms};
    use crate::failure::errors;
    use crate::model::{State, StateKind, WaitState};

    const NOW: i64 = 1_700_000_000_000;

    /// The Wait state written as `fields` (plus its type and `End`), as the model reads it.
    fn wait_state(fields: Value) -> Result<WaitState, serde_json::Error> {
        let mut state = fields;
        state["Type"] = json!("Wait");
        state["End"] = json!(true);
        match serde_json::from_value::<State>(state)?.kind {
            StateKind::Wait(wait) => Ok(wait),
            other => panic!("not a Wait state: {other:?}"),
        }
    }

    fn until(state: Value, input: Value) -> Result<i64, (String, String)> {
        let state = wait_state(state).expect("a well-formed Wait state");
        wait_until_ms(
            &state,
            &input,
            &crate::variables::Env::context_only(json!({})),
            NOW,
            &mut crate::entropy::Entropy::new(1),
        )
        .map_err(|f| (f.error, f.cause))
    }

    fn runtime(cause: &str) -> Result<i64, (String, String)> {
        Err((errors::RUNTIME.to_string(), cause.to_string()))
    }

    #[test]
    fn seconds() {
        assert_eq!(until(json!({"Seconds": 0}), json!({})), Ok(NOW));
        assert_eq!(until(json!({"Seconds": 60}), json!({})), Ok(NOW + 60_000));
        // The model refuses a negative literal: no execution ever waits on one.
        assert!(wait_state(json!({"Seconds": -1})).is_err());
    }

    #[test]
    fn timestamp() {
        let future = json!({"Timestamp": "2030-01-01T00:00:00Z"});
        assert_eq!(until(future, json!({})), Ok(1_893_456_000_000));
        // A past timestamp ends the wait on entry.
        let past = json!({"Timestamp": "2016-03-14T01:59:00Z"});
        assert_eq!(until(past, json!({})), Ok(NOW));
        let bad = json!({"Timestamp": "2016-03-14T01:59:00"});
        assert!(until(bad, json!({})).is_err());
    }

    #[test]
    fn seconds_path() {
        let state = json!({"SecondsPath": "$.input.waitSeconds"});
        let with = |v: Value| until(state.clone(), json!({"input": {"waitSeconds": v}}));
        assert_eq!(with(json!(0)), Ok(NOW));
        assert_eq!(with(json!(1)), Ok(NOW + 1000));
        assert_eq!(with(json!(i64::MAX)), Ok(i64::MAX));
        assert_eq!(
            with(json!(-1.5)),
            runtime(
                "The SecondsPath parameter cannot be parsed as a long value: \
                 $.input.waitSeconds == -1.5"
            )
        );
        assert_eq!(
            with(json!(-1)),
            runtime(
                "The SecondsPath parameter references a negative value: $.input.waitSeconds == -1"
            )
        );
        assert_eq!(
            with(json!("5")),
            runtime(
                "The SecondsPath parameter cannot be parsed as a long value: $.input.waitSeconds == 5"
            )
        );
        for value in [
            json!(1.0),
            json!(null),
            json!(true),
            json!([1]),
            json!(u64::MAX),
        ] {
            assert!(with(value).is_err());
        }
        assert_eq!(
            until(state, json!({})),
            runtime(
                "The SecondsPath parameter does not reference an input value: $.input.waitSeconds"
            )
        );
    }

    #[test]
    fn timestamp_path() {
        let state = json!({"TimestampPath": "$.TimestampValue"});
        let with = |v: Value| until(state.clone(), json!({"TimestampValue": v}));
        assert_eq!(
            with(json!("2030-01-01T01:00:00+01:00")),
            Ok(1_893_456_000_000)
        );
        assert_eq!(with(json!("2016-03-05T21:29:29.243167252Z")), Ok(NOW));
        for text in [
            "2016-13-05T21:29:29Z",
            "05-12-2016T21:29:29Z",
            "2016-12-05T25:29:29Z",
            "2016-12-05 21:29:29Z",
            "2016-12-05T21:29:29",
        ] {
            let cause = format!(
                "The TimestampPath parameter does not reference a valid ISO-8601 extended offset \
                 date-time format string: $.TimestampValue == {text}"
            );
            assert_eq!(with(json!(text)), runtime(&cause));
        }
        assert!(with(json!(12)).is_err());
        assert_eq!(
            until(state, json!({})),
            runtime(
                "The TimestampPath parameter does not reference an input value: $.TimestampValue"
            )
        );
    }

    #[test]
    fn missing_field_is_an_error() {
        assert!(until(json!({"Type": "Wait"}), json!({})).is_err());
    }

    #[test]
    fn public_parser() {
        assert_eq!(parse_timestamp_ms("1970-01-01T00:00:01.5Z"), Some(1500));
        assert_eq!(parse_timestamp_ms("nope"), None);
    }
}
