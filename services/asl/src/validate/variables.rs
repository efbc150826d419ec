//! Variables: the names an `Assign` may write, and the references each state makes, checked
//! against the scopes they can see.
//!
//! A scope is the top level, a Parallel branch or a Map processor; it sees what it assigns and
//! what every enclosing scope assigns. A name assigned in an inner scope may not be assigned in
//! an enclosing one (no shadowing). A reference to a variable no visible scope assigns is a
//! warning, not an error: AWS accepts such a definition (the read fails when it runs, as
//! recorded for `$doesNotExist`), and ValidateStateMachineDefinition reports it. Every `{% %}` expression of a JSONata state must parse. Runs on the typed model,
//! once the rest of the definition is valid.

use std::collections::{BTreeMap, BTreeSet};

use super::{Checker, child};
use crate::jsonata;
use crate::model::{QueryLanguage, StateMachine};
use crate::model::{State, StateKind, VariableReferences, variable_references};
use crate::variables::is_reserved;

pub(crate) fn check(checker: &mut Checker<'_>, machine: &StateMachine) {
    let references = variable_references(machine);
    let root_language = machine.query_language.unwrap_or_default();
    let mut walk = Walk {
        checker,
        references: &references,
        everywhere: BTreeSet::new(),
    };
    walk.collect_all(&machine.states, root_language);
    walk.scope(&machine.states, "", &BTreeSet::new(), root_language);
}

struct Walk<'c, 'o, 'r> {
    checker: &'c mut Checker<'o>,
    references: &'r VariableReferences,
    /// Every name assigned anywhere in the machine (to tell "out of scope" from "unknown").
    everywhere: BTreeSet<String>,
}

impl Walk<'_, '_, '_> {
    fn collect_all(&mut self, states: &BTreeMap<String, State>, language: QueryLanguage) {
        for state in states.values() {
            let own = QueryLanguage::of_state(language, state.query_language());
            self.everywhere
                .extend(assigned_names(state, own).into_iter().map(|(name, _)| name));
            for (inner, _) in nested(state) {
                self.collect_all(inner, language);
            }
        }
    }

    fn scope(
        &mut self,
        states: &BTreeMap<String, State>,
        location: &str,
        outer: &BTreeSet<String>,
        language: QueryLanguage,
    ) {
        let states_location = child(location, "States");
        let mut visible = outer.clone();
        for (name, state) in states {
            let state_location = child(&states_location, name);
            let own = QueryLanguage::of_state(language, state.query_language());
            if own == QueryLanguage::Jsonata {
                self.expressions(state, &state_location);
            }
            for (variable, field) in assigned_names(state, own) {
                let at = child(&state_location, &field);
                if is_reserved(&variable) {
                    self.checker.schema(
                        format!(
                            "The variable name '{variable}' is reserved and cannot be assigned"
                        ),
                        &at,
                    );
                } else if !is_variable_name(&variable) {
                    self.checker.schema(
                        format!(
                            "The variable name '{variable}' is not valid: it must start with a letter or '_' and hold only letters, digits and '_'"
                        ),
                        &at,
                    );
                } else if outer.contains(&variable) {
                    self.checker.schema(
                        format!(
                            "The variable '{variable}' is assigned in an enclosing scope and cannot be assigned again inside a Parallel branch or Map iteration"
                        ),
                        &at,
                    );
                }
                visible.insert(variable);
            }
        }
        for (name, state) in states {
            let state_location = child(&states_location, name);
            for variable in self.references.get(name).into_iter().flatten() {
                if visible.contains(variable) {
                    continue;
                }
                let message = if self.everywhere.contains(variable) {
                    format!(
                        "The variable '${variable}' is out of scope: it is assigned only inside a Parallel branch or Map iteration that this state is not part of"
                    )
                } else {
                    format!("The variable '${variable}' is not assigned by any state")
                };
                self.checker.warning(message, &state_location);
            }
            for (inner, field) in nested(state) {
                self.scope(inner, &child(&state_location, &field), &visible, language);
            }
        }
    }
}

impl Walk<'_, '_, '_> {
    /// Reports every `{% %}` string of a JSONata state (its nested states aside) that does not
    /// parse, at its field.
    fn expressions(&mut self, state: &State, location: &str) {
        let Ok(serde_json::Value::Object(mut fields)) = serde_json::to_value(state) else {
            return;
        };
        for nested in ["Branches", "ItemProcessor", "Iterator", "Comment"] {
            fields.remove(nested);
        }
        for (key, value) in &fields {
            self.expression(value, &child(location, key));
        }
    }

    fn expression(&mut self, value: &serde_json::Value, location: &str) {
        match value {
            serde_json::Value::Object(fields) => {
                for (key, value) in fields {
                    self.expression(value, &child(location, key));
                }
            }
            serde_json::Value::Array(items) => {
                for (index, item) in items.iter().enumerate() {
                    self.expression(item, &super::element(location, index));
                }
            }
            text => {
                let Some(expression) = jsonata::expression_text(text) else {
                    return;
                };
                if let Err(error) = switchback_jsonata::Expression::parse(expression) {
                    self.checker.schema(
                        format!("The JSONata expression '{expression}' is not valid: {error}"),
                        location,
                    );
                }
            }
        }
    }
}

/// The names a state's `Assign` fields write (its own, its Choice rules', its catchers'), each
/// with the field that writes it (relative to the state).
fn assigned_names(state: &State, language: QueryLanguage) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut add = |assign: Option<&serde_json::Value>, field: String| {
        if let Some(serde_json::Value::Object(fields)) = assign {
            for key in fields.keys() {
                let name = match language {
                    QueryLanguage::JsonPath => key.strip_suffix(".$").unwrap_or(key),
                    QueryLanguage::Jsonata => key.as_str(),
                };
                found.push((name.to_owned(), field.clone()));
            }
        }
    };
    add(state.flow.assign.as_ref(), "Assign".to_owned());
    if let StateKind::Choice(choice) = &state.kind {
        for (index, rule) in choice.choices.iter().enumerate() {
            add(rule.assign.as_ref(), format!("Choices[{index}]/Assign"));
        }
    }
    for (index, catcher) in state.catchers().iter().enumerate() {
        add(catcher.assign.as_ref(), format!("Catch[{index}]/Assign"));
    }
    found
}

/// The scopes a state holds: its Parallel branches and its Map processor, with their fields.
fn nested(state: &State) -> Vec<(&BTreeMap<String, State>, String)> {
    match &state.kind {
        StateKind::Parallel(parallel) => parallel
            .branches
            .iter()
            .enumerate()
            .map(|(index, branch)| (&branch.states, format!("Branches[{index}]")))
            .collect(),
        StateKind::Map(map) => map
            .processor()
            .map(|(field, processor)| (&processor.states, field.to_owned()))
            .into_iter()
            .collect(),
        _ => Vec::new(),
    }
}

/// A name `$name` can read: a letter or `_`, then letters, digits and `_`.
fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|first| first.is_alphabetic() || first == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use crate::validate::test_support::*;

    fn messages(definition: serde_json::Value) -> Vec<String> {
        errors(&check(&definition.to_string()))
            .into_iter()
            .map(|(_, message, location)| format!("{location}: {message}"))
            .collect()
    }

    fn warnings(definition: serde_json::Value) -> Vec<String> {
        check(&definition.to_string())
            .into_iter()
            .filter(|d| !d.is_error())
            .map(|d| format!("{}: {}", d.location, d.message))
            .collect()
    }

    #[test]
    fn references_to_no_visible_assignment_are_warnings() {
        let definition = serde_json::json!({"StartAt": "A", "States": {
            "A": {"Type": "Pass", "Assign": {"x": 1}, "Next": "M"},
            "M": {"Type": "Map", "ItemProcessor": {"StartAt": "I", "States": {
                "I": {"Type": "Pass", "Assign": {"inner.$": "$x"}, "End": true}}}, "Next": "B"},
            "B": {"Type": "Pass", "Parameters": {"a.$": "$inner", "b.$": "$nowhere", "c.$": "$x"}, "End": true}}});
        assert!(messages(definition.clone()).is_empty());
        assert_eq!(
            warnings(definition),
            vec![
                "/States/B: The variable '$inner' is out of scope: it is assigned only inside a Parallel branch or Map iteration that this state is not part of".to_owned(),
                "/States/B: The variable '$nowhere' is not assigned by any state".to_owned(),
            ]
        );
    }

    #[test]
    fn inner_scopes_cannot_assign_outer_names_and_states_is_reserved() {
        let found = messages(serde_json::json!({"StartAt": "A", "States": {
            "A": {"Type": "Pass", "Assign": {"x": 1, "states": 2, "bad-name": 3}, "Next": "P"},
            "P": {"Type": "Parallel", "Branches": [{"StartAt": "I", "States": {
                "I": {"Type": "Pass", "Assign": {"x.$": "$.y"}, "End": true}}}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "Assign": {"x": 2}, "Next": "E"}],
                "End": true},
            "E": {"Type": "Succeed"}}}));
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(found[0].contains("'states' is reserved"), "{found:?}");
        assert!(found[1].contains("'bad-name' is not valid"), "{found:?}");
        assert!(
            found[2].starts_with("/States/P/Branches[0]/States/I/Assign: The variable 'x' is assigned in an enclosing scope"),
            "{found:?}"
        );
    }
}
