//! The top level of a definition, and the nested machines of Parallel branches.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::state::State;

/// A whole definition: `StartAt`, `States` and the top-level settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct StateMachine {
    pub start_at: String,
    /// By name; JSON objects are unordered, and AWS never depends on the written order.
    pub states: BTreeMap<String, State>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The execution's timeout (a plain integer: JSONata expressions are not allowed here).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<u64>,
    /// The default for every state (`JSONPath` when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_language: Option<QueryLanguage>,
}

/// One of a Parallel state's `Branches`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Branch {
    pub start_at: String,
    pub states: BTreeMap<String, State>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum QueryLanguage {
    #[default]
    #[serde(rename = "JSONPath")]
    JsonPath,
    #[serde(rename = "JSONata")]
    Jsonata,
}

impl QueryLanguage {
    pub fn as_str(self) -> &'static str {
        match self {
            QueryLanguage::JsonPath => "JSONPath",
            QueryLanguage::Jsonata => "JSONata",
        }
    }

    /// The language a state speaks, AWS's rule: its own `QueryLanguage`, else the machine's
    /// (JSONPath when neither says). The one place this rule lives: the validator, the index
    /// and so the interpreter all resolve through it.
    pub fn of_state(machine: QueryLanguage, state: Option<QueryLanguage>) -> QueryLanguage {
        state.unwrap_or(machine)
    }

    /// Whether a state steps back to JSONPath in a JSONata machine, which AWS refuses.
    pub fn steps_back(machine: QueryLanguage, state: Option<QueryLanguage>) -> bool {
        machine == QueryLanguage::Jsonata && state == Some(QueryLanguage::JsonPath)
    }
}
