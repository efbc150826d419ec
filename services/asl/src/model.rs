//! The definition of a state machine, parsed once and shared by every step of its executions.

use serde_json::Value;

/// A state machine definition ready to run. Building one never fails: a definition that passed
/// validation runs; anything else surfaces as a runtime failure of the execution.
#[derive(Debug, Clone)]
pub struct Machine {
    definition: Value,
}

impl Machine {
    pub fn new(definition: Value) -> Self {
        Self { definition }
    }

    /// Parses definition text (as stored); text that is not JSON yields a machine whose
    /// executions fail at their first step.
    pub fn parse(text: &str) -> Self {
        Self::new(serde_json::from_str(text).unwrap_or(Value::Null))
    }

    /// The definition as JSON.
    pub fn definition(&self) -> &Value {
        &self.definition
    }
}
