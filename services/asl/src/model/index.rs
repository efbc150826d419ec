//! The index the interpreter runs from: every scope of a machine (the top level, each Parallel
//! branch, each Map item processor) under the JSON pointer of the object holding its `StartAt`
//! and `States`, and every state of a scope by name. Threads of an execution name their scope
//! by that pointer (it is stored in snapshots), so its format must not change.

use std::collections::{BTreeMap, HashMap};

use super::definition::{QueryLanguage, StateMachine};
use super::state::{State, StateKind};
use crate::dataflow::Pipeline;

/// The states of one machine or nested machine.
#[derive(Debug, Clone)]
pub struct Scope {
    pub start_at: String,
    pub states: HashMap<String, IndexedState>,
}

/// A state as the interpreter needs it: typed, with its language resolved once; its data flow
/// is asked of [`IndexedState::pipeline`].
#[derive(Debug, Clone)]
pub struct IndexedState {
    pub state: State,
    /// The language the state speaks, resolved once ([`QueryLanguage::of_state`]).
    pub language: QueryLanguage,
    /// Whether anything in the state (its fields, retriers, catchers, a Map's or Parallel's
    /// nested states) mentions the context object `$$`. The context holds the execution's
    /// input, up to 256 KiB: states that never read it do not get a copy.
    pub reads_context: bool,
}

impl IndexedState {
    /// The state's data-flow stages, in its language.
    pub fn pipeline(&self) -> Pipeline<'_> {
        Pipeline::in_language(&self.state.flow, self.language)
    }
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

pub(super) fn build(model: &StateMachine) -> HashMap<String, Scope> {
    let mut scopes = HashMap::new();
    add_scope(
        &mut scopes,
        model.query_language.unwrap_or_default(),
        String::new(),
        &model.start_at,
        &model.states,
    );
    scopes
}

fn add_scope(
    scopes: &mut HashMap<String, Scope>,
    machine_language: QueryLanguage,
    pointer: String,
    start_at: &str,
    states: &BTreeMap<String, State>,
) {
    let mut indexed = HashMap::with_capacity(states.len());
    for (name, state) in states {
        match &state.kind {
            StateKind::Parallel(parallel) => {
                for (i, branch) in parallel.branches.iter().enumerate() {
                    add_scope(
                        scopes,
                        machine_language,
                        branch_scope(&pointer, name, i),
                        &branch.start_at,
                        &branch.states,
                    );
                }
            }
            StateKind::Map(map) => {
                if let Some((field, processor)) = map.processor() {
                    add_scope(
                        scopes,
                        machine_language,
                        processor_scope(&pointer, name, field),
                        &processor.start_at,
                        &processor.states,
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
                reads_context: mentions_context(state),
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

/// Whether anything in the state's text mentions `$$` or `$states` (JSONata's
/// `$states.context`): deliberately broad (nested states,
/// retriers, catchers, even comments count), so that no state that reads the context object is
/// ever handed an empty one. The typed state keeps every string of the definition (it writes
/// back to a definition that parses to an equal model: `tests/model_roundtrip.rs`), so this
/// sees every `$$` the definition holds.
fn mentions_context(state: &State) -> bool {
    serde_json::to_string(state)
        .map_or(true, |text| text.contains("$$") || text.contains("$states"))
}
