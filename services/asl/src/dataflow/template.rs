//! Payload templates (`Parameters`, `ItemSelector`, `ResultSelector`): a JSON copy of the template
//! in which every `"key.$": "<path or intrinsic>"` is replaced by `"key": <value>`.
//!
//! Key order: AWS keeps the template's static fields in order and appends the evaluated `.$`
//! fields in the iteration order of a `java.util.HashMap` (recorded executions show e.g.
//! `{"Question.$", "Answer.$"}` coming out as `{"Answer", "Question"}`). Outputs are compared
//! byte for byte, so that order is reproduced here.

use serde_json::{Map, Value};

use super::select::{SelectError, select};
use crate::entropy::Entropy;
use crate::failure::Failure;
use crate::intrinsics;
use crate::limits::Budget;
use crate::variables::Env;

/// Evaluates a payload template against `input` (and `context` for `$$` paths). The values it
/// gathers are counted as they come: a template that would build more than AWS's payload limit
/// (`{"a.$": "$", "b.$": "$", ...}` over a large input) fails with `States.DataLimitExceeded`
/// before it holds more than that.
pub fn evaluate(
    template: &Value,
    input: &Value,
    env: &Env<'_>,
    entropy: &mut Entropy,
) -> Result<Value, Failure> {
    evaluate_within(template, input, env, entropy, &mut Budget::payload())
}

fn evaluate_within(
    template: &Value,
    input: &Value,
    env: &Env<'_>,
    entropy: &mut Entropy,
    budget: &mut Budget,
) -> Result<Value, Failure> {
    match template {
        Value::Object(fields) => {
            let mut out = Map::new();
            let mut dynamic: Vec<(&str, &str, &Value)> = Vec::new();
            for (key, value) in fields {
                match key.strip_suffix(".$") {
                    Some(name) => dynamic.push((name, key, value)),
                    None => {
                        let value = evaluate_within(value, input, env, entropy, budget)?;
                        out.insert(key.clone(), value);
                    }
                }
            }
            let names: Vec<&str> = dynamic.iter().map(|(name, _, _)| *name).collect();
            for position in java_hash_map_order(&names) {
                let (name, key, expression) = dynamic[position];
                let value = evaluate_expression(key, expression, input, env, entropy)?;
                budget.take(&value)?;
                out.insert(name.to_string(), value);
            }
            Ok(Value::Object(out))
        }
        Value::Array(items) => items
            .iter()
            .map(|item| evaluate_within(item, input, env, entropy, budget))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        other => Ok(other.clone()),
    }
}

/// The value of one `.$` field: a path, a context path or an intrinsic function call.
fn evaluate_expression(
    key: &str,
    expression: &Value,
    input: &Value,
    env: &Env<'_>,
    entropy: &mut Entropy,
) -> Result<Value, Failure> {
    let Value::String(text) = expression else {
        return Err(Failure::runtime(format!(
            "The value for the field '{key}' must be a STRING that contains a JSONPath but was {}",
            json_type_name(expression)
        )));
    };
    if intrinsics::is_intrinsic(text) {
        return intrinsics::evaluate(text, input, env, entropy);
    }
    if !text.starts_with("$$") && text.starts_with('$') && input.is_null() {
        // What AWS reports when a state's input is null and a template reads from it.
        return Err(Failure::runtime(
            "Unable to apply Path transformation to null or empty input.",
        ));
    }
    select_for_field(text, key, input, env)
}

/// Evaluates `path` on behalf of the field `field` (e.g. `"name.$"`, `"ErrorPath"`), failing the
/// way AWS does for those: "The JSONPath '$.x' specified for the field 'name.$' could not be
/// found in the input '{...}'".
pub fn select_for_field(
    path: &str,
    field: &str,
    input: &Value,
    env: &Env<'_>,
) -> Result<Value, Failure> {
    select(path, input, env).map_err(|error| match error {
        SelectError::NotFound(_) => {
            let document = if path.starts_with("$$") {
                &env.context
            } else {
                input
            };
            Failure::runtime(format!(
                "The JSONPath '{path}' specified for the field '{field}' could not be found in the input '{document}'"
            ))
        }
        SelectError::Syntax(message) => {
            Failure::runtime(format!("Invalid path '{path}' : {message}"))
        }
        SelectError::UndefinedVariable(name) => undefined_variable(path, field, &name),
    })
}

/// A path that reads a variable nobody assigned (the validator refuses the ones it can see).
pub fn undefined_variable(path: &str, field: &str, name: &str) -> Failure {
    Failure::runtime(format!(
        "The JSONPath '{path}' specified for the field '{field}' refers to the variable '${name}', which is not defined"
    ))
}

fn json_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "NULL",
        Value::Bool(_) => "BOOLEAN",
        Value::Number(_) => "NUMBER",
        Value::String(_) => "STRING",
        Value::Array(_) => "ARRAY",
        Value::Object(_) => "OBJECT",
    }
}

/// The positions of `keys` in the order a `java.util.HashMap` filled with them (in this order)
/// iterates: by bucket of the spread `String.hashCode`, insertion order within a bucket, with the
/// table grown from 16 slots whenever it is more than three quarters full.
pub fn java_hash_map_order(keys: &[&str]) -> Vec<usize> {
    let mut capacity: usize = 16;
    // Resizing keeps each bucket's relative order, so only the final capacity matters.
    while keys.len() * 4 > capacity * 3 {
        capacity *= 2;
    }
    let mask = u32::try_from(capacity - 1).unwrap_or(u32::MAX);
    let mut positions: Vec<(u32, usize)> = keys
        .iter()
        .enumerate()
        .map(|(i, key)| {
            let h = java_string_hash(key);
            ((h ^ (h >> 16)) & mask, i)
        })
        .collect();
    // Stable sort: within a bucket, insertion order.
    positions.sort_by_key(|(bucket, _)| *bucket);
    positions.into_iter().map(|(_, i)| i).collect()
}

/// Java's `String.hashCode`: over UTF-16 code units, `h = 31 * h + c`, wrapping.
fn java_string_hash(s: &str) -> u32 {
    s.encode_utf16().fold(0u32, |h, unit| {
        h.wrapping_mul(31).wrapping_add(u32::from(unit))
    })
}
