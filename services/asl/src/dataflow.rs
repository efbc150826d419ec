//! The data flow of a state: `InputPath`, `Parameters`/`ItemSelector`, `ResultSelector`,
//! `ResultPath`, `OutputPath`, and the paths and templates they use.
//!
//! Submodules: `path` parses JSONPath as AWS accepts it, `select` evaluates it (Jayway's
//! semantics and messages), `template` evaluates payload templates, `result_path` writes results.
//!
//! Failure causes are AWS's text without the "An error occurred while executing the state 'X'
//! (entered at the event id #N). " prefix, which the interpreter adds since only it knows both.

mod path;
mod result_path;
mod select;
mod template;

use serde_json::{Map, Value};

use crate::entropy::Entropy;
use crate::failure::Failure;
use crate::model::NullablePath;

pub use path::{ParsedPath, Root, Segment, parse as parse_path};
pub use template::{java_hash_map_order, select_for_field as evaluate_path_for_field};

/// Evaluates a path as used by `.$` template values, Choice `Variable`s and `…Path` fields:
/// `$…` reads from `input`, `$$…` from the context object. Definite paths yield the value;
/// indefinite ones (wildcards, filters, slices, `..`) the array of matches, possibly empty.
/// A definite path that selects nothing fails with `States.Runtime` and AWS's InputPath/OutputPath
/// cause: "Invalid path '$.x' : No results for path: $['x']".
pub fn evaluate_path(path: &str, input: &Value, context: &Value) -> Result<Value, Failure> {
    select::select(path, input, context)
        .map_err(|e| Failure::runtime(format!("Invalid path '{path}' : {}", e.message())))
}

/// Whether `path` is a valid path that selects at most one node (a reference path, possibly
/// into the context object).
pub fn is_definite_path(path: &str) -> bool {
    path::parse(path).is_ok_and(|p| p.is_definite())
}

/// Evaluates a payload template (`Parameters`, `ItemSelector`, `ResultSelector`): a copy of the
/// template in which each `"key.$"` is replaced by `"key"` with the value of its path, context
/// path or intrinsic function.
pub fn evaluate_template(
    template: &Value,
    input: &Value,
    context: &Value,
    entropy: &mut Entropy,
) -> Result<Value, Failure> {
    template::evaluate(template, input, context, entropy)
}

/// `InputPath`: absent = `$` (the whole input); JSON null = `{}`; else the path's value.
pub fn apply_input_path(
    state: &Value,
    raw_input: &Value,
    context: &Value,
) -> Result<Value, Failure> {
    apply_filter_path(state, "InputPath", raw_input, context)
}

/// `Parameters` (Pass, Task, Parallel, legacy Map): the template evaluated against the effective
/// input if the state has one, else the input unchanged.
pub fn apply_parameters(
    state: &Value,
    effective_input: &Value,
    context: &Value,
    entropy: &mut Entropy,
) -> Result<Value, Failure> {
    apply_template_field(state, "Parameters", effective_input, context, entropy)
}

/// `ItemSelector` (Map): the template evaluated for one item (the context carries
/// `Map.Item.Value`/`Index`), else the legacy `Parameters`, else the item itself.
pub fn apply_item_selector(
    state: &Value,
    effective_input: &Value,
    item: &Value,
    context: &Value,
    entropy: &mut Entropy,
) -> Result<Value, Failure> {
    match state
        .get("ItemSelector")
        .or_else(|| state.get("Parameters"))
    {
        Some(template) => evaluate_template(template, effective_input, context, entropy),
        None => Ok(item.clone()),
    }
}

/// `ResultSelector` (Task, Parallel, Map), applied to the raw result if present.
pub fn apply_result_selector(
    state: &Value,
    result: &Value,
    context: &Value,
    entropy: &mut Entropy,
) -> Result<Value, Failure> {
    apply_template_field(state, "ResultSelector", result, context, entropy)
}

/// `ResultPath` of `carrier` (a state, or a Catch entry): absent = `$` (the result replaces the
/// input); JSON null = the result is discarded and the raw input passes through; else the result
/// is written into a copy of the raw input (`States.ResultPathMatchFailure` if it cannot be).
pub fn apply_result_path(
    carrier: &Value,
    raw_input: &Value,
    result: Value,
) -> Result<Value, Failure> {
    let result_path = match carrier.get("ResultPath") {
        None => NullablePath::Absent,
        Some(Value::Null) => NullablePath::Null,
        Some(Value::String(reference)) => NullablePath::Path(reference.clone()),
        Some(other) => return Err(Failure::runtime(format!("Invalid ResultPath: {other}"))),
    };
    write_result(&result_path, raw_input, result)
}

/// A typed `ResultPath` (a state's or a catcher's): absent = the result replaces the input;
/// null = the result is discarded and the raw input passes through; a path = the result is
/// written into a copy of the raw input.
pub fn write_result(
    result_path: &NullablePath,
    raw_input: &Value,
    result: Value,
) -> Result<Value, Failure> {
    match result_path {
        NullablePath::Absent => Ok(result),
        NullablePath::Null => Ok(raw_input.clone()),
        NullablePath::Path(reference) => result_path::write(reference, raw_input, result),
    }
}

/// `OutputPath`: absent = `$`; JSON null = `{}`; else the path's value.
pub fn apply_output_path(state: &Value, value: &Value, context: &Value) -> Result<Value, Failure> {
    apply_filter_path(state, "OutputPath", value, context)
}

fn apply_filter_path(
    state: &Value,
    field: &str,
    value: &Value,
    context: &Value,
) -> Result<Value, Failure> {
    match state.get(field) {
        None => Ok(value.clone()),
        Some(Value::Null) => Ok(Value::Object(Map::new())),
        Some(Value::String(path)) => evaluate_path(path, value, context),
        Some(other) => Err(Failure::runtime(format!("Invalid {field}: {other}"))),
    }
}

fn apply_template_field(
    state: &Value,
    field: &str,
    input: &Value,
    context: &Value,
    entropy: &mut Entropy,
) -> Result<Value, Failure> {
    match state.get(field) {
        Some(template) => evaluate_template(template, input, context, entropy),
        None => Ok(input.clone()),
    }
}

#[cfg(test)]
mod tests;
