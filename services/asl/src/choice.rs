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

use crate::variables::Env;
use serde_json::{Number, Value};

use crate::dataflow::evaluate_path;
use crate::entropy::Entropy;
use crate::failure::Failure;
use crate::jsonata::{self, States};
use crate::model::{ChoiceRule, ChoiceState, Comparator, Comparison, Condition, Operand};
use crate::wait::timestamp::parse_instant;

/// AWS's cause when no rule matches and the state has no `Default`.
pub const NO_NEXT_STATE_CAUSE: &str =
    "Failed to transition out of the state. The state does not point to a next state.";

/// Evaluates one Choice rule (a top-level rule or nested And/Or/Not member) against the state input.
pub fn evaluate_rule(
    rule: &ChoiceRule,
    input: &Value,
    env: &Env<'_>,
    entropy: &mut Entropy,
) -> Result<bool, Failure> {
    // And/Or short-circuit: a later member that would fail on a missing path is not evaluated
    // once the outcome is known.
    match &rule.condition {
        Condition::And(members) => {
            for member in members {
                if !evaluate_rule(member, input, env, entropy)? {
                    return Ok(false);
                }
            }
            Ok(true)
        }
        Condition::Or(members) => {
            for member in members {
                if evaluate_rule(member, input, env, entropy)? {
                    return Ok(true);
                }
            }
            Ok(false)
        }
        Condition::Not(inner) => Ok(!evaluate_rule(inner, input, env, entropy)?),
        Condition::Compare(comparison) => evaluate_comparison(comparison, input, env),
        Condition::Jsonata(condition) => {
            let value = jsonata::evaluate_field(
                "Condition",
                condition,
                States::input(input),
                env,
                entropy,
            )?;
            match value {
                Value::Bool(holds) => Ok(holds),
                other => Err(jsonata::unexpected_type(
                    "Condition",
                    jsonata::expression_text(condition).unwrap_or_default(),
                    "boolean",
                    &other,
                )),
            }
        }
    }
}

/// The next state of a Choice state and the rule that chose it: the first matching rule's
/// `Next`, else `Default` (no rule); an error when nothing matches and there is no `Default`
/// (see the module comment for which).
pub fn next_state<'s>(
    state: &'s ChoiceState,
    input: &Value,
    env: &Env<'_>,
    entropy: &mut Entropy,
) -> Result<(String, Option<&'s ChoiceRule>), Failure> {
    for rule in &state.choices {
        if evaluate_rule(rule, input, env, entropy)? {
            return match &rule.next {
                Some(next) => Ok((next.clone(), Some(rule))),
                None => Err(Failure::runtime(NO_NEXT_STATE_CAUSE)),
            };
        }
    }
    match &state.default {
        Some(default) => Ok((default.clone(), None)),
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

/// What a comparator does.
fn operator(comparator: Comparator) -> Operator {
    use Comparator as C;
    use Kind::{Boolean, Numeric, String, Timestamp};
    use Relation::{Equals, GreaterThan, GreaterThanEquals, LessThan, LessThanEquals};
    match comparator {
        C::StringEquals => Operator::Compare(String, Equals),
        C::StringLessThan => Operator::Compare(String, LessThan),
        C::StringGreaterThan => Operator::Compare(String, GreaterThan),
        C::StringLessThanEquals => Operator::Compare(String, LessThanEquals),
        C::StringGreaterThanEquals => Operator::Compare(String, GreaterThanEquals),
        C::StringMatches => Operator::StringMatches,
        C::NumericEquals => Operator::Compare(Numeric, Equals),
        C::NumericLessThan => Operator::Compare(Numeric, LessThan),
        C::NumericGreaterThan => Operator::Compare(Numeric, GreaterThan),
        C::NumericLessThanEquals => Operator::Compare(Numeric, LessThanEquals),
        C::NumericGreaterThanEquals => Operator::Compare(Numeric, GreaterThanEquals),
        C::TimestampEquals => Operator::Compare(Timestamp, Equals),
        C::TimestampLessThan => Operator::Compare(Timestamp, LessThan),
        C::TimestampGreaterThan => Operator::Compare(Timestamp, GreaterThan),
        C::TimestampLessThanEquals => Operator::Compare(Timestamp, LessThanEquals),
        C::TimestampGreaterThanEquals => Operator::Compare(Timestamp, GreaterThanEquals),
        C::BooleanEquals => Operator::Compare(Boolean, Equals),
        C::IsNull => Operator::IsNull,
        C::IsPresent => Operator::IsPresent,
        C::IsNumeric => Operator::IsNumeric,
        C::IsString => Operator::IsString,
        C::IsBoolean => Operator::IsBoolean,
        C::IsTimestamp => Operator::IsTimestamp,
    }
}

fn evaluate_comparison(
    comparison: &Comparison,
    input: &Value,
    env: &Env<'_>,
) -> Result<bool, Failure> {
    let op = operator(comparison.comparator);
    let variable = evaluate_path(&comparison.variable, input, env);
    if let Operator::IsPresent = op {
        let expected =
            matches!(comparison.operand, Operand::Boolean(flag) if flag == variable.is_ok());
        return Ok(expected);
    }
    let variable = variable.map_err(|_| invalid_path(&comparison.variable))?;
    let operand = match &comparison.operand {
        Operand::Path(path) => evaluate_path(path, input, env).map_err(|_| invalid_path(path))?,
        Operand::String(text) => Value::String(text.clone()),
        Operand::Number(number) => Value::Number(number.clone()),
        Operand::Boolean(flag) => Value::Bool(*flag),
    };
    let expected = operand.as_bool();
    Ok(match op {
        Operator::Compare(kind, relation) => {
            compare(kind, &variable, &operand).is_some_and(|ordering| relation.holds(ordering))
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
