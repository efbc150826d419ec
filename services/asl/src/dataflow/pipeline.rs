//! The data-flow pipeline of one state: the stages a state runner asks for, in the state's
//! query language, so that no runner knows the fields or their order.
//!
//! JSONPath (the only language run so far): input = `InputPath`; arguments = `Parameters`;
//! result selection = `ResultSelector`; output = `ResultPath` (into the raw input), then
//! `OutputPath`; a catcher's error output = its `ResultPath` over `{"Error", "Cause"}`. A field
//! the state lacks is absent (see [`DataFlowFields`]), so every runner calls the same stages.

use serde_json::{Value, json};

use super::{evaluate_path, evaluate_template, write_result};
use crate::entropy::Entropy;
use crate::failure::Failure;
use crate::model::{Catcher, DataFlowFields, NullablePath};

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
    pub fn input(&self, raw_input: &Value, context: &Value) -> Result<Value, Failure> {
        filter(&self.fields.input_path, raw_input, context)
    }

    /// What the state works on: the `Parameters` template over the effective input, else the
    /// effective input itself.
    pub fn arguments(
        &self,
        effective: &Value,
        context: &Value,
        entropy: &mut Entropy,
    ) -> Result<Value, Failure> {
        match &self.fields.parameters {
            Some(template) => evaluate_template(template, effective, context, entropy),
            None => Ok(effective.clone()),
        }
    }

    /// A Task's, Parallel's or Map's result through `ResultSelector`.
    pub fn select_result(
        &self,
        result: Value,
        context: &Value,
        entropy: &mut Entropy,
    ) -> Result<Value, Failure> {
        match &self.fields.result_selector {
            Some(template) => evaluate_template(template, &result, context, entropy),
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
        context: &Value,
    ) -> Result<Value, Failure> {
        let written = write_result(&self.fields.result_path, raw_input, result)?;
        match &self.fields.output_path {
            NullablePath::Absent => Ok(written),
            path => filter(path, &written, context),
        }
    }
}

/// What a catcher passes on: its `ResultPath` writes `{"Error", "Cause"}` into the raw input.
pub fn error_output(
    catcher: &Catcher,
    raw_input: &Value,
    failure: &Failure,
) -> Result<Value, Failure> {
    let error_output = json!({ "Error": failure.error, "Cause": failure.cause });
    write_result(&catcher.result_path, raw_input, error_output)
}

/// `InputPath`/`OutputPath`: absent = the value itself; null = `{}`; else the path's value.
fn filter(path: &NullablePath, value: &Value, context: &Value) -> Result<Value, Failure> {
    match path {
        NullablePath::Absent => Ok(value.clone()),
        NullablePath::Null => Ok(Value::Object(serde_json::Map::new())),
        NullablePath::Path(path) => evaluate_path(path, value, context),
    }
}
