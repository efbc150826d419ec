//! Evaluating Choice rules (JSONPath): the comparators, their `…Path` twins, the type tests and
//! `And`/`Or`/`Not`.
//!
//! AWS's behaviour, which this follows:
//! - A comparator whose operands have the wrong JSON type is false, not an error.
//! - A `Variable` (or `…Path` operand) that does not resolve is a `States.Runtime` error, except
//!   for `IsPresent`, which is exactly the test for that.
//! - Nothing matching and no `Default` is `States.Runtime`, "Failed to transition out of the
//!   state. The state does not point to a next state." — what AWS reports (verified against
//!   us-east-1 by other emulators' authors), although the ASL specification names
//!   `States.NoChoiceMatched`.
//!
//! Causes omit AWS's "An error occurred while executing the state '<name>' (entered at the event
//! id #<id>). " prefix, which the interpreter adds because only it knows the name and event id.

mod matches;
#[cfg(test)]
mod tests;

use std::cmp::Ordering;

use serde_json::{Number, Value};

use crate::dataflow::evaluate_path;
use crate::failure::Failure;
use crate::wait::timestamp::parse_instant;

/// AWS's cause when no rule matches and the state has no `Default`.
pub const NO_NEXT_STATE_CAUSE: &str =
    "Failed to transition out of the state. The state does not point to a next state.";

/// Evaluates one Choice rule (a top-level rule or nested And/Or/Not member) against the state input.
pub fn evaluate_rule(rule: &Value, input: &Value, context: &Value) -> Result<bool, Failure> {
    // And/Or short-circuit: a later member that would fail on a missing path is not evaluated
    // once the outcome is known.
    if let Some(members) = rule.get("And") {
        for member in members.as_array().map(Vec::as_slice).unwrap_or_default() {
            if !evaluate_rule(member, input, context)? {
                return Ok(false);
            }
        }
        return Ok(true);
    }
    if let Some(members) = rule.get("Or") {
        for member in members.as_array().map(Vec::as_slice).unwrap_or_default() {
            if evaluate_rule(member, input, context)? {
                return Ok(true);
            }
        }
        return Ok(false);
    }
    if let Some(inner) = rule.get("Not") {
        return Ok(!evaluate_rule(inner, input, context)?);
    }
    evaluate_data_test(rule, input, context)
}

/// The next state of a Choice state: the first matching rule's `Next`, else `Default`; an error
/// when nothing matches and there is no `Default` (see the module comment for which).
pub fn next_state(state: &Value, input: &Value, context: &Value) -> Result<String, Failure> {
    let rules = state.get("Choices").and_then(Value::as_array);
    for rule in rules.map(Vec::as_slice).unwrap_or_default() {
        if evaluate_rule(rule, input, context)? {
            return match rule.get("Next").and_then(Value::as_str) {
                Some(next) => Ok(next.to_string()),
                None => Err(Failure::runtime(NO_NEXT_STATE_CAUSE)),
            };
        }
    }
    match state.get("Default").and_then(Value::as_str) {
        Some(default) => Ok(default.to_string()),
        None => Err(Failure::runtime(NO_NEXT_STATE_CAUSE)),
    }
}

/// What a comparator compares.
#[derive(Clone, Copy)]
enum Kind {
    String,
    Numeric,
    Boolean,
    Timestamp,
}

/// How the ordering of the two operands decides the comparator.
#[derive(Clone, Copy)]
enum Relation {
    Equals,
    LessThan,
    GreaterThan,
    LessThanEquals,
    GreaterThanEquals,
}

impl Relation {
    fn holds(self, ordering: Ordering) -> bool {
        match self {
            Relation::Equals => ordering.is_eq(),
            Relation::LessThan => ordering.is_lt(),
            Relation::GreaterThan => ordering.is_gt(),
            Relation::LessThanEquals => ordering.is_le(),
            Relation::GreaterThanEquals => ordering.is_ge(),
        }
    }
}

enum Operator {
    Compare(Kind, Relation),
    StringMatches,
    IsNull,
    IsPresent,
    IsNumeric,
    IsString,
    IsBoolean,
    IsTimestamp,
}

/// The operator a comparator name denotes (for the sixteen comparators, without `Path`).
fn operator(name: &str) -> Option<Operator> {
    let test = match name {
        "StringMatches" => Some(Operator::StringMatches),
        "IsNull" => Some(Operator::IsNull),
        "IsPresent" => Some(Operator::IsPresent),
        "IsNumeric" => Some(Operator::IsNumeric),
        "IsString" => Some(Operator::IsString),
        "IsBoolean" => Some(Operator::IsBoolean),
        "IsTimestamp" => Some(Operator::IsTimestamp),
        _ => None,
    };
    if test.is_some() {
        return test;
    }
    const KINDS: [(&str, Kind); 4] = [
        ("String", Kind::String),
        ("Numeric", Kind::Numeric),
        ("Boolean", Kind::Boolean),
        ("Timestamp", Kind::Timestamp),
    ];
    let (kind, rest) = KINDS
        .iter()
        .find_map(|(prefix, kind)| name.strip_prefix(prefix).map(|rest| (*kind, rest)))?;
    let relation = match (kind, rest) {
        (_, "Equals") => Relation::Equals,
        // Booleans have only BooleanEquals.
        (Kind::Boolean, _) => return None,
        (_, "LessThan") => Relation::LessThan,
        (_, "GreaterThan") => Relation::GreaterThan,
        (_, "LessThanEquals") => Relation::LessThanEquals,
        (_, "GreaterThanEquals") => Relation::GreaterThanEquals,
        _ => return None,
    };
    Some(Operator::Compare(kind, relation))
}

/// The rule's operator, whether its operand is a path (`…Path`), and the operand.
fn find_operator(rule: &Value) -> Option<(Operator, bool, &Value)> {
    let fields = rule.as_object()?;
    fields.iter().find_map(|(name, operand)| {
        if let Some(op) = operator(name) {
            return Some((op, false, operand));
        }
        // Only the sixteen comparators have `…Path` twins (not StringMatches nor the tests).
        match operator(name.strip_suffix("Path")?)? {
            op @ Operator::Compare(..) => Some((op, true, operand)),
            _ => None,
        }
    })
}

fn evaluate_data_test(rule: &Value, input: &Value, context: &Value) -> Result<bool, Failure> {
    let Some((op, is_path, operand)) = find_operator(rule) else {
        return Err(Failure::runtime(format!(
            "The choice rule has no comparison operator: {rule}"
        )));
    };
    let variable_path = rule.get("Variable").and_then(Value::as_str).unwrap_or("");
    let variable = evaluate_path(variable_path, input, context);
    if let Operator::IsPresent = op {
        return Ok(operand.as_bool() == Some(variable.is_ok()));
    }
    let variable = variable.map_err(|_| invalid_path(variable_path))?;
    let resolved;
    let operand = if is_path {
        let path = operand.as_str().unwrap_or("");
        resolved = evaluate_path(path, input, context).map_err(|_| invalid_path(path))?;
        &resolved
    } else {
        operand
    };
    let expected = operand.as_bool();
    Ok(match op {
        Operator::Compare(kind, relation) => {
            compare(kind, &variable, operand).is_some_and(|ordering| relation.holds(ordering))
        }
        Operator::StringMatches => match (variable.as_str(), operand.as_str()) {
            (Some(text), Some(pattern)) => matches::string_matches(text, pattern),
            _ => false,
        },
        Operator::IsNull => expected == Some(variable.is_null()),
        Operator::IsNumeric => expected == Some(variable.is_number()),
        Operator::IsString => expected == Some(variable.is_string()),
        Operator::IsBoolean => expected == Some(variable.is_boolean()),
        Operator::IsTimestamp => {
            let is_timestamp = variable.as_str().and_then(parse_instant).is_some();
            expected == Some(is_timestamp)
        }
        // Answered above already; here the variable is known to be present.
        Operator::IsPresent => expected == Some(true),
    })
}

fn invalid_path(path: &str) -> Failure {
    Failure::runtime(format!(
        "Invalid path '{path}': The choice state's condition path references an invalid value."
    ))
}

/// The ordering of two operands of a comparator's kind, or `None` when either has the wrong
/// JSON type (or, for timestamps, is not a valid timestamp), which makes the rule false.
fn compare(kind: Kind, left: &Value, right: &Value) -> Option<Ordering> {
    match kind {
        // Java-style UTF-16 code-unit order, as AWS compares strings; it differs from Rust's
        // byte order only for characters above U+FFFF against U+E000..U+FFFF.
        Kind::String => Some(
            left.as_str()?
                .encode_utf16()
                .cmp(right.as_str()?.encode_utf16()),
        ),
        Kind::Numeric => compare_numbers(left.as_number()?, right.as_number()?),
        // Only Equals exists for booleans; an unequal pair must not read as "equal".
        Kind::Boolean => Some(if left.as_bool()? == right.as_bool()? {
            Ordering::Equal
        } else {
            Ordering::Less
        }),
        Kind::Timestamp => {
            Some(parse_instant(left.as_str()?)?.cmp(&parse_instant(right.as_str()?)?))
        }
    }
}

/// Numbers by value: integers exactly (`u64` and `i64` alike), otherwise as doubles, so
/// `1 == 1.0`.
fn compare_numbers(left: &Number, right: &Number) -> Option<Ordering> {
    fn integer(n: &Number) -> Option<i128> {
        n.as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from))
    }
    match (integer(left), integer(right)) {
        (Some(a), Some(b)) => Some(a.cmp(&b)),
        _ => left.as_f64()?.partial_cmp(&right.as_f64()?),
    }
}
