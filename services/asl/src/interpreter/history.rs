//! History events as AWS names and shapes them. The details member is kept as JSON with AWS's
//! field names (`stateEnteredEventDetails`, ...), so the API renders an event by merging it.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::variables::{self, Frame};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEvent {
    pub id: u64,
    pub previous_event_id: u64,
    pub timestamp_ms: i64,
    /// AWS's `HistoryEventType`, e.g. `PassStateEntered`.
    pub event_type: String,
    /// `{"<kind>EventDetails": {...}}`, or an empty object for events without details.
    pub details: Value,
}

impl HistoryEvent {
    /// The event as GetExecutionHistory returns it (timestamp in epoch seconds).
    pub fn to_wire(&self, include_data: bool) -> Value {
        let mut event = Map::new();
        event.insert(
            "timestamp".into(),
            Value::from(self.timestamp_ms as f64 / 1000.0),
        );
        event.insert("type".into(), Value::from(self.event_type.as_str()));
        event.insert("id".into(), Value::from(self.id));
        event.insert(
            "previousEventId".into(),
            Value::from(self.previous_event_id),
        );
        if let Value::Object(details) = &self.details {
            for (key, value) in details {
                let mut value = value.clone();
                if !include_data && let Value::Object(fields) = &mut value {
                    for data in ["input", "output"] {
                        fields.remove(data);
                    }
                }
                event.insert(key.clone(), value);
            }
        }
        Value::Object(event)
    }
}

/// Compact JSON text, as AWS writes payloads into the history.
pub fn text(value: &Value) -> String {
    value.to_string()
}

pub fn entered(name: &str, input: &Value) -> Value {
    json!({ "stateEnteredEventDetails": {
        "name": name,
        "input": text(input),
        "inputDetails": { "truncated": false },
    }})
}

pub fn exited(name: &str, output: &Value) -> Value {
    exited_assigning(name, output, &Frame::new())
}

/// An Exited event that also reports the variables the state assigned.
pub fn exited_assigning(name: &str, output: &Value, assigned: &Frame) -> Value {
    let mut details = json!({
        "name": name,
        "output": text(output),
        "outputDetails": { "truncated": false },
    });
    if let Some((texts, truncation)) = variables::history_members(assigned) {
        details["assignedVariables"] = texts;
        details["assignedVariablesDetails"] = truncation;
    }
    json!({ "stateExitedEventDetails": details })
}

/// `{"<member>": {"error": ..., "cause": ...}}`, leaving out empty members as AWS does.
pub fn failed(member: &str, error: &str, cause: &str) -> Value {
    let mut details = Map::new();
    if !error.is_empty() {
        details.insert("error".into(), Value::from(error));
    }
    if !cause.is_empty() {
        details.insert("cause".into(), Value::from(cause));
    }
    let mut outer = Map::new();
    outer.insert(member.into(), Value::Object(details));
    Value::Object(outer)
}

/// The event type prefix of a state type: `Pass` → `PassState`, used as `PassStateEntered`.
pub fn state_prefix(state_type: &str) -> &'static str {
    match state_type {
        "Pass" => "PassState",
        "Task" => "TaskState",
        "Choice" => "ChoiceState",
        "Wait" => "WaitState",
        "Succeed" => "SucceedState",
        "Fail" => "FailState",
        "Parallel" => "ParallelState",
        "Map" => "MapState",
        _ => "State",
    }
}
