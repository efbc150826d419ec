//! The eight state types. Each struct lists every field its type accepts in either query
//! language and refuses any other (AWS refuses them too: SCHEMA_VALIDATION_FAILED), so a
//! definition that validates always parses. Payload templates and JSONata values stay raw JSON:
//! the data flow evaluates them as written.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::choice::ChoiceRule;
use super::definition::{Branch, QueryLanguage};
use super::fields::{DataFlowFields, IntegerField, NullablePath, present};
use super::map::MapState;
use super::retry::{Catcher, Retrier};

/// One state, by its `Type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "Type")]
pub enum State {
    Pass(PassState),
    Task(TaskState),
    Choice(ChoiceState),
    Wait(WaitState),
    Succeed(SucceedState),
    Fail(FailState),
    Parallel(ParallelState),
    Map(Box<MapState>),
}

impl State {
    /// The `Type` as written.
    pub fn type_name(&self) -> &'static str {
        match self {
            State::Pass(_) => "Pass",
            State::Task(_) => "Task",
            State::Choice(_) => "Choice",
            State::Wait(_) => "Wait",
            State::Succeed(_) => "Succeed",
            State::Fail(_) => "Fail",
            State::Parallel(_) => "Parallel",
            State::Map(_) => "Map",
        }
    }

    /// `Next`, for the states that have one (Choice states pick theirs from `Choices`).
    pub fn next(&self) -> Option<&str> {
        match self {
            State::Pass(s) => s.next.as_deref(),
            State::Task(s) => s.next.as_deref(),
            State::Wait(s) => s.next.as_deref(),
            State::Parallel(s) => s.next.as_deref(),
            State::Map(s) => s.next.as_deref(),
            State::Choice(_) | State::Succeed(_) | State::Fail(_) => None,
        }
    }

    pub fn retriers(&self) -> &[Retrier] {
        match self {
            State::Task(s) => s.retry.as_deref(),
            State::Parallel(s) => s.retry.as_deref(),
            State::Map(s) => s.retry.as_deref(),
            _ => None,
        }
        .unwrap_or_default()
    }

    pub fn catchers(&self) -> &[Catcher] {
        match self {
            State::Task(s) => s.catch.as_deref(),
            State::Parallel(s) => s.catch.as_deref(),
            State::Map(s) => s.catch.as_deref(),
            _ => None,
        }
        .unwrap_or_default()
    }

    /// The state's data-flow fields, one view for every type.
    pub fn data_flow(&self) -> DataFlowFields<'_> {
        let none = DataFlowFields::none();
        match self {
            State::Pass(s) => DataFlowFields {
                input_path: &s.input_path,
                parameters: s.parameters.as_ref(),
                result_path: &s.result_path,
                output_path: &s.output_path,
                output: s.output.as_ref(),
                assign: s.assign.as_ref(),
                ..none
            },
            State::Task(s) => DataFlowFields {
                input_path: &s.input_path,
                parameters: s.parameters.as_ref(),
                result_selector: s.result_selector.as_ref(),
                result_path: &s.result_path,
                output_path: &s.output_path,
                arguments: s.arguments.as_ref(),
                output: s.output.as_ref(),
                assign: s.assign.as_ref(),
            },
            State::Choice(s) => DataFlowFields {
                input_path: &s.input_path,
                output_path: &s.output_path,
                output: s.output.as_ref(),
                assign: s.assign.as_ref(),
                ..none
            },
            State::Wait(s) => DataFlowFields {
                input_path: &s.input_path,
                output_path: &s.output_path,
                output: s.output.as_ref(),
                assign: s.assign.as_ref(),
                ..none
            },
            State::Succeed(s) => DataFlowFields {
                input_path: &s.input_path,
                output_path: &s.output_path,
                output: s.output.as_ref(),
                ..none
            },
            State::Fail(_) => none,
            State::Parallel(s) => DataFlowFields {
                input_path: &s.input_path,
                parameters: s.parameters.as_ref(),
                result_selector: s.result_selector.as_ref(),
                result_path: &s.result_path,
                output_path: &s.output_path,
                arguments: s.arguments.as_ref(),
                output: s.output.as_ref(),
                assign: s.assign.as_ref(),
            },
            State::Map(s) => DataFlowFields {
                input_path: &s.input_path,
                result_selector: s.result_selector.as_ref(),
                result_path: &s.result_path,
                output_path: &s.output_path,
                output: s.output.as_ref(),
                assign: s.assign.as_ref(),
                ..none
            },
        }
    }

    pub fn query_language(&self) -> Option<QueryLanguage> {
        match self {
            State::Pass(s) => s.query_language,
            State::Task(s) => s.query_language,
            State::Choice(s) => s.query_language,
            State::Wait(s) => s.query_language,
            State::Succeed(s) => s.query_language,
            State::Fail(s) => s.query_language,
            State::Parallel(s) => s.query_language,
            State::Map(s) => s.query_language,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct PassState {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_language: Option<QueryLanguage>,
    #[serde(default, skip_serializing_if = "NullablePath::is_absent")]
    pub input_path: NullablePath,
    #[serde(default, skip_serializing_if = "NullablePath::is_absent")]
    pub output_path: NullablePath,
    #[serde(default, skip_serializing_if = "NullablePath::is_absent")]
    pub result_path: NullablePath,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub parameters: Option<Value>,
    /// A `null` result is a result: kept apart from an absent one.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub result: Option<Value>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub output: Option<Value>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub assign: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct TaskState {
    pub resource: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_language: Option<QueryLanguage>,
    #[serde(default, skip_serializing_if = "NullablePath::is_absent")]
    pub input_path: NullablePath,
    #[serde(default, skip_serializing_if = "NullablePath::is_absent")]
    pub output_path: NullablePath,
    #[serde(default, skip_serializing_if = "NullablePath::is_absent")]
    pub result_path: NullablePath,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub parameters: Option<Value>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub result_selector: Option<Value>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub arguments: Option<Value>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub output: Option<Value>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub assign: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry: Option<Vec<Retrier>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub catch: Option<Vec<Catcher>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<IntegerField>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_seconds_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub heartbeat_seconds: Option<IntegerField>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub heartbeat_seconds_path: Option<String>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub credentials: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ChoiceState {
    pub choices: Vec<ChoiceRule>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_language: Option<QueryLanguage>,
    #[serde(default, skip_serializing_if = "NullablePath::is_absent")]
    pub input_path: NullablePath,
    #[serde(default, skip_serializing_if = "NullablePath::is_absent")]
    pub output_path: NullablePath,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub output: Option<Value>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub assign: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct WaitState {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seconds: Option<IntegerField>,
    /// RFC 3339 text, or a JSONata expression.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seconds_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_language: Option<QueryLanguage>,
    #[serde(default, skip_serializing_if = "NullablePath::is_absent")]
    pub input_path: NullablePath,
    #[serde(default, skip_serializing_if = "NullablePath::is_absent")]
    pub output_path: NullablePath,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub output: Option<Value>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub assign: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct SucceedState {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_language: Option<QueryLanguage>,
    #[serde(default, skip_serializing_if = "NullablePath::is_absent")]
    pub input_path: NullablePath,
    #[serde(default, skip_serializing_if = "NullablePath::is_absent")]
    pub output_path: NullablePath,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub output: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct FailState {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_language: Option<QueryLanguage>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ParallelState {
    pub branches: Vec<Branch>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_language: Option<QueryLanguage>,
    #[serde(default, skip_serializing_if = "NullablePath::is_absent")]
    pub input_path: NullablePath,
    #[serde(default, skip_serializing_if = "NullablePath::is_absent")]
    pub output_path: NullablePath,
    #[serde(default, skip_serializing_if = "NullablePath::is_absent")]
    pub result_path: NullablePath,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub parameters: Option<Value>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub result_selector: Option<Value>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub arguments: Option<Value>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub output: Option<Value>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub assign: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry: Option<Vec<Retrier>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub catch: Option<Vec<Catcher>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end: Option<bool>,
}
