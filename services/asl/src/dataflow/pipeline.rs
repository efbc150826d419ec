//! The data-flow pipeline of one state: the stages a state runner asks for, in the state's
//! query language, so that no runner knows the fields or their order.
//!
//! JSONPath: input = `InputPath`; arguments = `Parameters`; result selection =
//! `ResultSelector`; assign = the `Assign` template over the result (`$`); output = `ResultPath`
//! (into the raw input), then `OutputPath`; a catcher's error output = its `ResultPath` over
//! `{"Error", "Cause"}`.
//!
//! JSONata: input = the raw input; arguments = `Arguments`; no result selection; assign and
//! output = the `Assign` and `Output` expressions over `$states` (`input`, `result`,
//! `errorOutput`, `context`); a field left out passes the result (or the input) on. A field the
//! state lacks is absent (see [`DataFlowFields`]), so every runner calls the same stages.

use std::cell::RefCell;

use crate::variables::Env;
use serde_json::{Value, json};

use super::{evaluate_path, evaluate_template, write_result};
use crate::entropy::Entropy;
use crate::failure::Failure;
use crate::interpreter::probe::Inspection;
use crate::jsonata::{self, States};
use crate::model::{Catcher, DataFlowFields, NullablePath, QueryLanguage};
use crate::variables::Frame;

/// A state's stages over its data-flow fields, in its query language. Borrowed and `Copy`:
/// building one costs nothing. Under TestState, each stage also writes what it produced into
/// the state's inspection (as AWS reports it for the state's language).
#[derive(Debug, Clone, Copy)]
pub struct Pipeline<'a> {
    fields: &'a DataFlowFields,
    language: QueryLanguage,
    inspection: Option<&'a RefCell<Inspection>>,
}

/// What a state's `Assign` and `Output` read: its raw input, its effective input (JSONPath's
/// `InputPath`), and its result when it has one.
#[derive(Debug, Clone, Copy)]
pub struct StateData<'a> {
    pub input: &'a Value,
    pub effective: &'a Value,
    pub result: Option<&'a Value>,
}

impl<'a> StateData<'a> {
    /// A state without a result (Choice, Wait, Succeed).
    pub fn without_result(input: &'a Value, effective: &'a Value) -> Self {
        Self {
            input,
            effective,
            result: None,
        }
    }

    /// JSONPath's `$` in `Assign`: the result, else the effective input.
    fn jsonpath_value(&self) -> &'a Value {
        self.result.unwrap_or(self.effective)
    }

    fn states(&self) -> States<'a> {
        let states = States::input(self.input);
        match self.result {
            Some(result) => states.with_result(result),
            None => states,
        }
    }
}

impl<'a> Pipeline<'a> {
    /// A JSONPath state's pipeline.
    pub fn new(fields: &'a DataFlowFields) -> Self {
        Self::in_language(fields, QueryLanguage::JsonPath)
    }

    pub fn in_language(fields: &'a DataFlowFields, language: QueryLanguage) -> Self {
        Pipeline {
            fields,
            language,
            inspection: None,
        }
    }

    /// The same stages, writing what they produce into `inspection` (TestState).
    pub fn inspected(self, inspection: Option<&'a RefCell<Inspection>>) -> Self {
        Pipeline { inspection, ..self }
    }

    /// Writes into the inspection, when there is one.
    pub fn record(&self, write: impl FnOnce(&mut Inspection)) {
        if let Some(inspection) = self.inspection {
            write(&mut inspection.borrow_mut());
        }
    }

    /// Writes a JSONPath stage's value (JSONata states report none of these).
    pub fn record_jsonpath(&self, write: impl FnOnce(&mut Inspection)) {
        if !self.jsonata() {
            self.record(write);
        }
    }

    pub fn language(&self) -> QueryLanguage {
        self.language
    }

    /// Whether the state's result is dropped (JSONPath's `ResultPath: null`): a state that
    /// gathers results may then skip gathering them.
    pub fn discards_result(&self) -> bool {
        !self.jsonata() && self.fields.result_path == crate::model::NullablePath::Null
    }

    fn jsonata(&self) -> bool {
        self.language == QueryLanguage::Jsonata
    }

    /// The effective input: `InputPath` (absent = the whole input, null = `{}`); JSONata has
    /// none.
    pub fn input(&self, raw_input: &Value, env: &Env<'_>) -> Result<Value, Failure> {
        if self.jsonata() {
            return Ok(raw_input.clone());
        }
        let effective = filter(&self.fields.input_path, raw_input, env)?;
        self.record(|i| i.after_input_path = Some(effective.clone()));
        Ok(effective)
    }

    /// What the state works on: the `Parameters` template (JSONata: the `Arguments`) over the
    /// effective input, else the effective input itself.
    pub fn arguments(
        &self,
        effective: &Value,
        env: &Env<'_>,
        entropy: &mut Entropy,
    ) -> Result<Value, Failure> {
        if self.jsonata() {
            return match &self.fields.arguments {
                Some(arguments) => {
                    let arguments = jsonata::evaluate_field(
                        "Arguments",
                        arguments,
                        States::input(effective),
                        env,
                        entropy,
                    )?;
                    self.record(|i| i.after_arguments = Some(arguments.clone()));
                    Ok(arguments)
                }
                None => Ok(effective.clone()),
            };
        }
        let parameters = match &self.fields.parameters {
            Some(template) => evaluate_template(template, effective, env, entropy)?,
            None => effective.clone(),
        };
        self.record(|i| i.after_parameters = Some(parameters.clone()));
        Ok(parameters)
    }

    /// A Task's, Parallel's or Map's result through `ResultSelector` (JSONPath only).
    pub fn select_result(
        &self,
        result: Value,
        env: &Env<'_>,
        entropy: &mut Entropy,
    ) -> Result<Value, Failure> {
        self.record(|i| i.result = Some(result.clone()));
        let selected = match &self.fields.result_selector {
            Some(template) if !self.jsonata() => {
                evaluate_template(template, &result, env, entropy)?
            }
            _ => result,
        };
        self.record_jsonpath(|i| i.after_result_selector = Some(selected.clone()));
        Ok(selected)
    }

    /// The state's output. JSONPath: the result written into the raw input by `ResultPath`,
    /// then `OutputPath` (states without a result pass their effective input as the result;
    /// they have no `ResultPath`). JSONata: the `Output` expression, else the result (else the
    /// input).
    pub fn output(
        &self,
        raw_input: &Value,
        result: Value,
        env: &Env<'_>,
        entropy: &mut Entropy,
    ) -> Result<Value, Failure> {
        if self.jsonata() {
            let Some(output) = &self.fields.output else {
                return Ok(result);
            };
            let states = States::input(raw_input).with_result(&result);
            return jsonata::evaluate_field("Output", output, states, env, entropy);
        }
        let written = write_result(&self.fields.result_path, raw_input, result)?;
        self.record(|i| i.after_result_path = Some(written.clone()));
        match &self.fields.output_path {
            NullablePath::Absent => Ok(written),
            path => filter(path, &written, env),
        }
    }

    /// The state's `Assign` (see [`assign`]).
    pub fn assign(
        &self,
        data: StateData<'_>,
        env: &Env<'_>,
        entropy: &mut Entropy,
    ) -> Result<Frame, Failure> {
        assign(
            self.language,
            self.fields.assign.as_ref(),
            data,
            env,
            entropy,
        )
    }
}

/// A JSONata `Output` field (a state's or a Choice rule's) over the state's data; absent: the
/// value the state passes on.
pub fn jsonata_output(
    field: Option<&Value>,
    data: StateData<'_>,
    passed_on: Value,
    env: &Env<'_>,
    entropy: &mut Entropy,
) -> Result<Value, Failure> {
    match field {
        Some(output) => jsonata::evaluate_field("Output", output, data.states(), env, entropy),
        None => Ok(passed_on),
    }
}

/// Evaluates an `Assign` field (a state's or a Choice rule's). JSONPath: a payload template
/// whose `$` is the state's result (a Task's, Parallel's or Map's before `ResultSelector`; a
/// Pass state's `Result` or `Parameters`; the effective input of a state without a result).
/// JSONata: expressions over `$states`. Absent: nothing assigned.
pub fn assign(
    language: QueryLanguage,
    field: Option<&Value>,
    data: StateData<'_>,
    env: &Env<'_>,
    entropy: &mut Entropy,
) -> Result<Frame, Failure> {
    let Some(field) = field else {
        return Ok(Frame::new());
    };
    let assigned = match language {
        QueryLanguage::JsonPath => evaluate_template(field, data.jsonpath_value(), env, entropy)?,
        QueryLanguage::Jsonata => {
            jsonata::evaluate_field("Assign", field, data.states(), env, entropy)?
        }
    };
    into_frame(assigned)
}

fn into_frame(assigned: Value) -> Result<Frame, Failure> {
    match assigned {
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

/// What a catcher passes on and assigns. JSONPath: its `ResultPath` writes the error output
/// into the raw input; its `Assign` reads the error output as `$`. JSONata: its `Output` and
/// `Assign` read `$states.errorOutput` (and `$states.input`); without `Output` it passes the
/// error output on.
pub fn error_output(
    language: QueryLanguage,
    catcher: &Catcher,
    raw_input: &Value,
    failure: &Failure,
    env: &Env<'_>,
    entropy: &mut Entropy,
) -> Result<(Value, Frame), Failure> {
    let error_output = caught_error(failure);
    if language == QueryLanguage::Jsonata {
        let states = States::input(raw_input).with_error_output(&error_output);
        let assigned = match &catcher.assign {
            Some(field) => into_frame(jsonata::evaluate_field(
                "Assign", field, states, env, entropy,
            )?)?,
            None => Frame::new(),
        };
        let output = match &catcher.output {
            Some(field) => jsonata::evaluate_field("Output", field, states, env, entropy)?,
            None => error_output,
        };
        return Ok((output, assigned));
    }
    let assigned = match &catcher.assign {
        Some(field) => into_frame(evaluate_template(field, &error_output, env, entropy)?)?,
        None => Frame::new(),
    };
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
