//! Which fields each state type takes, and in which query language: the one table, kept with the
//! model, that the validator reports from.

use serde_json::Value;

use super::definition::QueryLanguage;

/// Which query language a field belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldLanguage {
    Both,
    JsonPathOnly,
    JsonataOnly,
}

impl FieldLanguage {
    pub fn allows(self, language: QueryLanguage) -> bool {
        match self {
            FieldLanguage::Both => true,
            FieldLanguage::JsonPathOnly => language == QueryLanguage::JsonPath,
            FieldLanguage::JsonataOnly => language == QueryLanguage::Jsonata,
        }
    }

    pub fn owner(self) -> QueryLanguage {
        match self {
            FieldLanguage::JsonataOnly => QueryLanguage::Jsonata,
            _ => QueryLanguage::JsonPath,
        }
    }
}

pub const STATE_TYPES: [&str; 8] = [
    "Task", "Wait", "Pass", "Succeed", "Fail", "Choice", "Parallel", "Map",
];

/// Types that move on with `Next` or stop with `End`.
pub fn flows(state_type: &str) -> bool {
    matches!(state_type, "Pass" | "Task" | "Wait" | "Parallel" | "Map")
}

/// Types that produce a result (and so take `ResultPath`, `Retry`, `Catch`, ...).
pub fn works(state_type: &str) -> bool {
    matches!(state_type, "Task" | "Parallel" | "Map")
}

/// Which fields a state of `state_type` accepts, and in which query language (the validator
/// reports every other field; the model refuses it).
/// `None` means the field is not part of that type at all.
pub fn state_field(state_type: &str, key: &str) -> Option<FieldLanguage> {
    use FieldLanguage::{Both, JsonPathOnly, JsonataOnly};
    let terminal = matches!(state_type, "Succeed" | "Fail");
    let shared = match key {
        "Type" | "Comment" | "QueryLanguage" => Some(Both),
        "Next" | "End" if flows(state_type) => Some(Both),
        "Assign" if !terminal => Some(Both),
        "InputPath" | "OutputPath" if state_type != "Fail" => Some(JsonPathOnly),
        "Output" if state_type != "Fail" => Some(JsonataOnly),
        "Parameters" | "ResultPath" if works(state_type) || state_type == "Pass" => {
            Some(JsonPathOnly)
        }
        "ResultSelector" if works(state_type) => Some(JsonPathOnly),
        "Arguments" if matches!(state_type, "Task" | "Parallel") => Some(JsonataOnly),
        "Retry" | "Catch" if works(state_type) => Some(Both),
        _ => None,
    };
    shared.or(match (state_type, key) {
        ("Pass", "Result") => Some(JsonPathOnly),
        ("Task", "Resource" | "Credentials" | "TimeoutSeconds" | "HeartbeatSeconds") => Some(Both),
        ("Task", "TimeoutSecondsPath" | "HeartbeatSecondsPath") => Some(JsonPathOnly),
        ("Choice", "Choices" | "Default") => Some(Both),
        ("Wait", "Seconds" | "Timestamp") => Some(Both),
        ("Wait", "SecondsPath" | "TimestampPath") => Some(JsonPathOnly),
        ("Fail", "Error" | "Cause") => Some(Both),
        ("Fail", "ErrorPath" | "CausePath") => Some(JsonPathOnly),
        ("Parallel", "Branches") => Some(Both),
        ("Map", field) => map_field(field),
        _ => None,
    })
}

/// The fields only a Map state takes.
fn map_field(key: &str) -> Option<FieldLanguage> {
    match key {
        "ItemProcessor"
        | "Iterator"
        | "ItemReader"
        | "ItemSelector"
        | "ItemBatcher"
        | "ResultWriter"
        | "MaxConcurrency"
        | "ToleratedFailureCount"
        | "ToleratedFailurePercentage"
        | "Label" => Some(FieldLanguage::Both),
        "ItemsPath"
        | "MaxConcurrencyPath"
        | "ToleratedFailureCountPath"
        | "ToleratedFailurePercentagePath" => Some(FieldLanguage::JsonPathOnly),
        "Items" => Some(FieldLanguage::JsonataOnly),
        _ => None,
    }
}

/// The data-flow fields, which every state type that takes them holds in one
/// [`DataFlowFields`](super::DataFlowFields).
pub const DATA_FLOW_KEYS: [&str; 9] = [
    "QueryLanguage",
    "InputPath",
    "OutputPath",
    "ResultPath",
    "Parameters",
    "ResultSelector",
    "Arguments",
    "Output",
    "Assign",
];

/// Whether `key` is a data-flow field of a `state_type` state. A Map's `Parameters` is not: it
/// is the legacy name of its item selector, held by `MapState`.
pub fn is_data_flow_field(state_type: &str, key: &str) -> bool {
    DATA_FLOW_KEYS.contains(&key)
        && state_field(state_type, key).is_some()
        && !(state_type == "Map" && key == "Parameters")
}

/// A JSONata expression string: `{% ... %}` with nothing outside the braces.
pub fn is_expression(value: &Value) -> bool {
    value.as_str().is_some_and(is_expression_text)
}

/// [`is_expression`] for text.
pub fn is_expression_text(text: &str) -> bool {
    text.starts_with("{%") && text.ends_with("%}") && text.len() >= 4
}
