//! The data flow of a state: `InputPath`, `Parameters`/`ItemSelector`, `ResultSelector`,
//! `ResultPath`, `OutputPath`, and the paths and templates they use.
//!
//! Submodules: `pipeline` is what state runners call (the stages of one state, in its query
//! language), `path` parses JSONPath as AWS accepts it, `select` evaluates it (Jayway's
//! semantics and messages), `template` evaluates payload templates, `result_path` writes results.
//!
//! Failure causes are AWS's text without the "An error occurred while executing the state 'X'
//! (entered at the event id #N). " prefix, which the interpreter adds since only it knows both.

mod path;
mod pipeline;
mod result_path;
mod select;
mod template;

use crate::variables::Env;
use serde_json::Value;

use crate::entropy::Entropy;
use crate::failure::Failure;
use crate::model::NullablePath;

pub use path::{ParsedPath, Root, Segment, parse as parse_path};
pub use pipeline::{Pipeline, StateData, assign, caught_error, error_output, jsonata_output};
pub use template::{java_hash_map_order, select_for_field as evaluate_path_for_field};

/// Evaluates a path as used by `.$` template values, Choice `Variable`s and `…Path` fields:
/// `$…` reads from `input`, `$$…` from the context object. Definite paths yield the value;
/// indefinite ones (wildcards, filters, slices, `..`) the array of matches, possibly empty.
/// A definite path that selects nothing fails with `States.Runtime` and AWS's InputPath/OutputPath
/// cause: "Invalid path '$.x' : No results for path: $['x']".
pub fn evaluate_path(path: &str, input: &Value, env: &Env<'_>) -> Result<Value, Failure> {
    select::select(path, input, env)
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
    env: &Env<'_>,
    entropy: &mut Entropy,
) -> Result<Value, Failure> {
    template::evaluate(template, input, env, entropy)
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

#[cfg(test)]
mod tests;
