//! The eight state types. Each struct lists the fields of its own type, in either
//! query language (the data-flow fields every type shares are in `State.flow`) and refuses any
//! other (AWS refuses them too: SCHEMA_VALIDATION_FAILED), so a definition that validates always
//! parses. Payload templates and JSONata values stay raw JSON:
//! the data flow evaluates them as written.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::choice::ChoiceRule;
use super::definition::{Branch, QueryLanguage};
use super::fields::{DataFlowFields, IntegerField, present};
use super::map::MapState;
use super::retry::{Catcher, Retrier};
use super::schema;

/// One state: what its `Type` makes it, and its data-flow fields, which every type holds the
/// same way. Parsed by hand: the data-flow fields the type takes (per [`schema::is_data_flow_field`])
/// go to `flow`, the rest to the type's struct, which refuses what it does not know (serde's
/// `flatten` cannot be combined with refusing unknown fields).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Map<String, Value>", into = "Map<String, Value>")]
pub struct State {
    pub kind: StateKind,
    pub flow: DataFlowFields,
}

/// The eight state types, by `Type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "Type")]
pub enum StateKind {
    Pass(PassState),
    Task(TaskState),
    Choice(ChoiceState),
    Wait(WaitState),
    Succeed(SucceedState),
    Fail(FailState),
    Parallel(ParallelState),
    Map(Box<MapState>),
}

impl TryFrom<Map<String, Value>> for State {
    type Error = String;

    fn try_from(mut fields: Map<String, Value>) -> Result<Self, String> {
        let state_type = fields
            .get("Type")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let mut flow = Map::new();
        for key in schema::DATA_FLOW_KEYS {
            if schema::is_data_flow_field(&state_type, key)
                && let Some(value) = fields.remove(key)
            {
                flow.insert(key.to_owned(), value);
            }
        }
        Ok(State {
            kind: serde_json::from_value(Value::Object(fields)).map_err(|e| e.to_string())?,
            flow: serde_json::from_value(Value::Object(flow)).map_err(|e| e.to_string())?,
        })
    }
}

impl From<State> for Map<String, Value> {
    fn from(state: State) -> Self {
        let mut fields = match serde_json::to_value(&state.kind) {
            Ok(Value::Object(fields)) => fields,
            _ => Map::new(),
        };
        if let Ok(Value::Object(flow)) = serde_json::to_value(&state.flow) {
            fields.extend(flow);
        }
        fields
    }
}

impl State {
    /// The `Type` as written.
    pub fn type_name(&self) -> &'static str {
        match self.kind {
            StateKind::Pass(_) => "Pass",
            StateKind::Task(_) => "Task",
            StateKind::Choice(_) => "Choice",
            StateKind::Wait(_) => "Wait",
            StateKind::Succeed(_) => "Succeed",
            StateKind::Fail(_) => "Fail",
            StateKind::Parallel(_) => "Parallel",
            StateKind::Map(_) => "Map",
        }
    }

    /// `Next`, for the states that have one (Choice states pick theirs from `Choices`).
    pub fn next(&self) -> Option<&str> {
        match &self.kind {
            StateKind::Pass(s) => s.next.as_deref(),
            StateKind::Task(s) => s.next.as_deref(),
            StateKind::Wait(s) => s.next.as_deref(),
            StateKind::Parallel(s) => s.next.as_deref(),
            StateKind::Map(s) => s.next.as_deref(),
            StateKind::Choice(_) | StateKind::Succeed(_) | StateKind::Fail(_) => None,
        }
    }

    pub fn retriers(&self) -> &[Retrier] {
        match &self.kind {
            StateKind::Task(s) => s.retry.as_deref(),
            StateKind::Parallel(s) => s.retry.as_deref(),
            StateKind::Map(s) => s.retry.as_deref(),
            _ => None,
        }
        .unwrap_or_default()
    }

    pub fn catchers(&self) -> &[Catcher] {
        match &self.kind {
            StateKind::Task(s) => s.catch.as_deref(),
            StateKind::Parallel(s) => s.catch.as_deref(),
            StateKind::Map(s) => s.catch.as_deref(),
            _ => None,
        }
        .unwrap_or_default()
    }

    /// Whether the state assigns variables anywhere: its own `Assign`, a Choice rule's or a
    /// catcher's.
    pub fn assigns(&self) -> bool {
        let rules = match &self.kind {
            StateKind::Choice(choice) => choice.choices.as_slice(),
            _ => &[],
        };
        self.flow.assign.is_some()
            || rules.iter().any(|rule| rule.assign.is_some())
            || self
                .catchers()
                .iter()
                .any(|catcher| catcher.assign.is_some())
    }

    /// The state's own `QueryLanguage` (its effective one is resolved by the index).
    pub fn query_language(&self) -> Option<QueryLanguage> {
        self.flow.query_language
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct PassState {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// A `null` result is a result: kept apart from an absent one.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub result: Option<Value>,
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
    pub next: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct SucceedState {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
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
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ParallelState {
    pub branches: Vec<Branch>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry: Option<Vec<Retrier>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub catch: Option<Vec<Catcher>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end: Option<bool>,
}
