//! The data-flow pipeline of one state: the stages a state runner asks for, in the state's
//! query language, so that no runner knows the fields or their order.
//!
//! JSONPath (the only language run so far): input = `InputPath`; arguments = `Parameters`;
//! result selection = `ResultSelector`; output = `ResultPath` (into the raw input), then
//! `OutputPath`; a catcher's error output = its `ResultPath` over `{"Error", "Cause"}`. A field
//! the state lacks is absent (see [`DataFlowFields`]), so every runner calls the same stages.

use crate::variables::Env;
use serde_json::{Value, json};

use super::{evaluate_path, evaluate_template, write_result};
use crate::entropy::Entropy;
use crate::failure::Failure;
use crate::model::{Catcher, DataFlowFields, NullablePath};
use crate::variables::Frame;

/// A JSONPath state's stages over its data-flow fields. Borrowed and `Copy`: building one
/// costs nothing. (`IndexedState::pipeline` is where a JSONata state will get its own.)
#[derive(Debug, Clone, Copy)]
pub struct Pipeline<'a> {
    fields: &'a DataFlowFields,
}

impl<'a> Pipeline<'a> {
    pub fn new(fields: &'a DataFlowFields) -> Self {
        Pipeline { fields }
    }

    /// The effective input: `InputPath` (absent = the whole input, null = `{}`).
    pub fn input(&self, raw_input: &Value, env: &Env<'_>) -> Result<Value, Failure> {
        filter(&self.fields.input_path, raw_input, env)
    }

    /// What the state works on: the `Parameters` template over the effective input, else the
    /// effective input itself.
    pub fn arguments(
        &self,
        effective: &Value,
        env: &Env<'_>,
        entropy: &mut Entropy,
    ) -> Result<Value, Failure> {
        match &self.fields.parameters {
            Some(template) => evaluate_template(template, effective, env, entropy),
            None => Ok(effective.clone()),
        }
    }

    /// A Task's, Parallel's or Map's result through `ResultSelector`.
    pub fn select_result(
        &self,
        result: Value,
        env: &Env<'_>,
        entropy: &mut Entropy,
    ) -> Result<Value, Failure> {
        match &self.fields.result_selector {
            Some(template) => evaluate_template(template, &result, env, entropy),
            None => Ok(result),
        }
    }

    /// The state's output: the result written into the raw input by `ResultPath`, then
    /// `OutputPath`. States without a result (Choice, Wait, Succeed) pass their effective
    /// input as the result; they have no `ResultPath`.
    pub fn output(
        &self,
        raw_input: &Value,
        result: Value,
        env: &Env<'_>,
    ) -> Result<Value, Failure> {
        let written = write_result(&self.fields.result_path, raw_input, result)?;
        match &self.fields.output_path {
            NullablePath::Absent => Ok(written),
            path => filter(path, &written, env),
        }
    }

    /// The state's `Assign`, over `value`: JSONPath's `$` in Assign is the state's result (a
    /// Task's, Parallel's or Map's before `ResultSelector`; a Pass state's `Result` or
    /// `Parameters`; the effective input of a state without a result).
    pub fn assign(
        &self,
        value: &Value,
        env: &Env<'_>,
        entropy: &mut Entropy,
    ) -> Result<Frame, Failure> {
        assign(self.fields.assign.as_ref(), value, env, entropy)
    }
}

/// Evaluates an `Assign` field (a state's, a Choice rule's or a catcher's) over `value`: a
/// payload template whose fields are the variables. Absent: nothing assigned.
pub fn assign(
    field: Option<&Value>,
    value: &Value,
    env: &Env<'_>,
    entropy: &mut Entropy,
) -> Result<Frame, Failure> {
    let Some(template) = field else {
        return Ok(Frame::new());
    };
    match evaluate_template(template, value, env, entropy)? {
        Value::Object(frame) => Ok(frame),
        other => Err(Failure::runtime(format!(
            "The value of the field 'Assign' must be an object, but was {other}"
        ))),
    }
}

/// The error output a catcher sees: `{"Error", "Cause"}`.
pub fn caught_error(failure: &Failure) -> Value {
    json!({ "Error": failure.error, "Cause": failure.cause })
}

/// What a catcher passes on and assigns: its `ResultPath` writes the error output into the raw
/// input; its `Assign` reads the error output as `$`.
pub fn error_output(
    catcher: &Catcher,
    raw_input: &Value,
    failure: &Failure,
    env: &Env<'_>,
    entropy: &mut Entropy,
) -> Result<(Value, Frame), Failure> {
    let error_output = caught_error(failure);
    let assigned = assign(catcher.assign.as_ref(), &error_output, env, entropy)?;
    let output = write_result(&catcher.result_path, raw_input, error_output)?;
    Ok((output, assigned))
}

/// `InputPath`/`OutputPath`: absent = the value itself; null = `{}`; else the path's value.
fn filter(path: &NullablePath, value: &Value, env: &Env<'_>) -> Result<Value, Failure> {
    match path {
        NullablePath::Absent => Ok(value.clone()),
        NullablePath::Null => Ok(Value::Object(serde_json::Map::new())),
        NullablePath::Path(path) => evaluate_path(path, value, env),
    }
}
