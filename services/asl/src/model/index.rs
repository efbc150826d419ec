//! The index the interpreter runs from: every scope of a machine (the top level, each Parallel
//! branch, each Map item processor) under the JSON pointer of the object holding its `StartAt`
//! and `States`, and every state of a scope by name. Threads of an execution name their scope
//! by that pointer (it is stored in snapshots), so its format must not change.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use super::definition::{QueryLanguage, StateMachine};
use super::state::State;

/// The states of one machine or nested machine.
#[derive(Debug, Clone)]
pub struct Scope {
    pub start_at: String,
    pub states: HashMap<String, IndexedState>,
}

/// A state as the interpreter needs it: typed for dispatch and fields, raw for the data-flow,
/// Choice, Retry and Wait functions, which evaluate the state's JSON as written.
#[derive(Debug, Clone)]
pub struct IndexedState {
    pub state: State,
    /// The language the state speaks, resolved once ([`QueryLanguage::of_state`]).
    pub language: QueryLanguage,
    pub raw: Value,
    /// Whether anything in the state (its fields, retriers, catchers, a Map's or Parallel's
    /// nested states) mentions the context object `$$`. The context holds the execution's
    /// input, up to 256 KiB: states that never read it do not get a copy.
    pub reads_context: bool,
}

/// Escapes a state name for a JSON pointer.
pub fn pointer_token(name: &str) -> String {
    name.replace('~', "~0").replace('/', "~1")
}

/// The scope of branch `index` of the Parallel state `state` in scope `parent`.
pub fn branch_scope(parent: &str, state: &str, index: usize) -> String {
    format!("{parent}/States/{}/Branches/{index}", pointer_token(state))
}

/// The scope of the Map state's processor; `field` is `ItemProcessor` or the legacy `Iterator`.
pub fn processor_scope(parent: &str, state: &str, field: &str) -> String {
    format!("{parent}/States/{}/{field}", pointer_token(state))
}

pub(super) fn build(model: &StateMachine, definition: &Value) -> HashMap<String, Scope> {
    let mut scopes = HashMap::new();
    add_scope(
        &mut scopes,
        model.query_language.unwrap_or_default(),
        String::new(),
        &model.start_at,
        &model.states,
        definition,
    );
    scopes
}

fn add_scope(
    scopes: &mut HashMap<String, Scope>,
    machine_language: QueryLanguage,
    pointer: String,
    start_at: &str,
    states: &BTreeMap<String, State>,
    raw_scope: &Value,
) {
    let mut indexed = HashMap::with_capacity(states.len());
    for (name, state) in states {
        // The model was parsed from this JSON, so the raw state is there.
        let raw = raw_scope
            .get("States")
            .and_then(|s| s.get(name))
            .cloned()
            .unwrap_or(Value::Null);
        match state {
            State::Parallel(parallel) => {
                for (i, branch) in parallel.branches.iter().enumerate() {
                    let raw_branch = raw.get("Branches").and_then(|b| b.get(i));
                    add_scope(
                        scopes,
                        machine_language,
                        branch_scope(&pointer, name, i),
                        &branch.start_at,
                        &branch.states,
                        raw_branch.unwrap_or(&Value::Null),
                    );
                }
            }
            State::Map(map) => {
                if let Some((field, processor)) = map.processor() {
                    add_scope(
                        scopes,
                        machine_language,
                        processor_scope(&pointer, name, field),
                        &processor.start_at,
                        &processor.states,
                        raw.get(field).unwrap_or(&Value::Null),
                    );
                }
            }
            _ => {}
        }
        indexed.insert(
            name.clone(),
            IndexedState {
                state: state.clone(),
                language: QueryLanguage::of_state(machine_language, state.query_language()),
                reads_context: raw.to_string().contains("$$"),
                raw,
            },
        );
    }
    scopes.insert(
        pointer,
        Scope {
            start_at: start_at.to_owned(),
            states: indexed,
        },
    );
}
