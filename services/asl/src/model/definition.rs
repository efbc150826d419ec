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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum QueryLanguage {
    #[serde(rename = "JSONPath")]
    JsonPath,
    #[serde(rename = "JSONata")]
    Jsonata,
}
