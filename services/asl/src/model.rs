//! The definition of a state machine: a typed model of the whole language, and `Machine`, the
//! form the interpreter runs — parsed once, indexed by scope and state name, shared by every
//! step of its executions.
//!
//! - [`definition`] — the top level (`StateMachine`), Parallel branches, `QueryLanguage`.
//! - [`state`] — `State`: its type's own fields (`StateKind`) and its data-flow fields.
//! - [`choice`] — Choice rules, comparators and their `…Path` twins, JSONata conditions.
//! - [`retry`] — retriers and catchers.
//! - [`map`] — Map states: item processor, processor config, reader, batcher, writer.
//! - [`fields`] — nullable paths, JSONata-or-number fields, raw fields that keep `null`, and
//!   `DataFlowFields`, the data-flow fields every state type holds the same way.
//! - [`schema`] — which fields each state type takes, in which query language (shared with the
//!   validator).
//! - [`references`] — which variables each state reads (`variableReferences`).
//! - [`index`] — `(scope, state name)` → the typed state, its resolved language and its pipeline.
//!
//! The model parses (serde) from the definition's JSON and serializes back to JSON that parses
//! to an equal model. It describes shape only: the validator (`crate::validate`) decides what
//! AWS accepts, and every definition it accepts parses.

pub mod choice;
pub mod definition;
pub mod fields;
pub mod index;
pub mod map;
pub mod references;
pub mod retry;
pub mod schema;
pub mod state;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;

pub use choice::{ChoiceRule, Comparator, Comparison, Condition, Operand};
pub use definition::{Branch, QueryLanguage, StateMachine};
pub use fields::{DataFlowFields, IntegerField, NullablePath, NumberField, OrExpression};
pub use index::{IndexedState, Scope};
pub use map::{ItemBatcher, ItemProcessor, ItemReader, MapState, ProcessorConfig, ResultWriter};
pub use references::{VariableReferences, variable_references, variable_references_of};
pub use retry::{Catcher, JitterStrategy, Retrier};
pub use state::{
    ChoiceState, FailState, ParallelState, PassState, State, StateKind, SucceedState, TaskState,
    WaitState,
};

/// A state machine definition ready to run. Building one never fails: a definition that does
/// not parse into the model yields a machine whose executions fail at their first step (with
/// `States.Runtime`). Cloning is cheap: the parsed form is shared.
#[derive(Debug, Clone)]
pub struct Machine {
    inner: Arc<Parsed>,
}

#[derive(Debug)]
struct Parsed {
    definition: Value,
    /// The typed model, or why the definition does not fit it.
    model: Result<StateMachine, String>,
    /// Every scope (the top level, each Parallel branch, each Map processor) by JSON pointer.
    scopes: HashMap<String, Scope>,
}

impl Machine {
    pub fn new(definition: Value) -> Self {
        let model = StateMachine::deserialize(&definition).map_err(|e| e.to_string());
        let scopes = match &model {
            Ok(model) => index::build(model),
            Err(_) => HashMap::new(),
        };
        Self {
            inner: Arc::new(Parsed {
                definition,
                model,
                scopes,
            }),
        }
    }

    /// Parses definition text (as stored); text that is not JSON yields a machine whose
    /// executions fail at their first step.
    pub fn parse(text: &str) -> Self {
        Self::new(serde_json::from_str(text).unwrap_or(Value::Null))
    }

    /// The definition as JSON.
    pub fn definition(&self) -> &Value {
        &self.inner.definition
    }

    /// The typed model, or why the definition does not parse into it.
    pub fn model(&self) -> Result<&StateMachine, &str> {
        self.inner.model.as_ref().map_err(String::as_str)
    }

    /// A scope by its JSON pointer (`""` for the top level; see [`index::branch_scope`] and
    /// [`index::processor_scope`]).
    pub fn scope(&self, pointer: &str) -> Option<&Scope> {
        self.inner.scopes.get(pointer)
    }

    /// The state `name` of the scope at `pointer`.
    pub fn state(&self, pointer: &str, name: &str) -> Option<&IndexedState> {
        self.scope(pointer)?.states.get(name)
    }
}
