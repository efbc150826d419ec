//! The transition graph of one scope: every target names a state of the same scope, some
//! state ends the scope, and every state can be reached from `StartAt`.
//!
//! AWS reports these in this order: dangling targets, then a missing end state (which,
//! when present, suppresses the reachability walk), then unreachable states. All dangling
//! targets say `'Next'`, whatever the field (`Default`, a choice rule, a catcher, `StartAt`).

use std::collections::{HashMap, HashSet, VecDeque};

use serde_json::{Map, Value};

use super::{Checker, child, element};
use crate::diagnostic::DiagnosticCode;

/// One transition: where it goes, and where it is written.
struct Edge<'s> {
    target: &'s str,
    location: String,
}

pub(crate) fn check(
    checker: &mut Checker<'_>,
    start_at: Option<&str>,
    states: &Map<String, Value>,
    location: &str,
) {
    let states_location = child(location, "States");
    let mut graph: HashMap<&str, Vec<Edge<'_>>> = HashMap::new();
    for (name, state) in states {
        let state_location = child(&states_location, name);
        graph.insert(name, edges(state, &state_location));
    }

    if let Some(start) = start_at
        && !states.contains_key(start)
    {
        dangling(checker, start, &child(location, "StartAt"));
    }
    for name in states.keys() {
        for edge in graph.get(name.as_str()).into_iter().flatten() {
            if !states.contains_key(edge.target) {
                dangling(checker, edge.target, &edge.location);
            }
        }
    }

    if !states.values().any(ends_scope) {
        checker.unlocated(
            DiagnosticCode::MissingEndState,
            "Workflow has no terminal state",
        );
        return;
    }

    // Without a valid entry every state would be "unreachable"; the StartAt error says it all.
    let Some(start) = start_at.filter(|start| states.contains_key(*start)) else {
        return;
    };
    let mut reached: HashSet<&str> = HashSet::from([start]);
    let mut queue = VecDeque::from([start]);
    while let Some(name) = queue.pop_front() {
        for edge in graph.get(name).into_iter().flatten() {
            if states.contains_key(edge.target) && reached.insert(edge.target) {
                queue.push_back(edge.target);
            }
        }
    }
    for name in states.keys() {
        if !reached.contains(name.as_str()) {
            checker.error(
                DiagnosticCode::MissingTransitionTarget,
                format!("State \"{name}\" is not reachable."),
                &child(&states_location, name),
            );
        }
    }
}

fn dangling(checker: &mut Checker<'_>, target: &str, location: &str) {
    checker.error(
        DiagnosticCode::MissingTransitionTarget,
        format!("Missing 'Next' target: {target}"),
        location,
    );
}

/// A state that can end its scope: `Succeed`, `Fail`, or any state with `"End": true`.
fn ends_scope(state: &Value) -> bool {
    let kind = state.get("Type").and_then(Value::as_str);
    matches!(kind, Some("Succeed" | "Fail")) || state.get("End") == Some(&Value::Bool(true))
}

/// Every transition a state writes: `Next`, `Default`, choice rules' and catchers' `Next`.
fn edges<'s>(state: &'s Value, location: &str) -> Vec<Edge<'s>> {
    let mut found = Vec::new();
    for key in ["Next", "Default"] {
        if let Some(target) = state.get(key).and_then(Value::as_str) {
            found.push(Edge {
                target,
                location: child(location, key),
            });
        }
    }
    for list in ["Choices", "Catch"] {
        let Some(entries) = state.get(list).and_then(Value::as_array) else {
            continue;
        };
        for (index, entry) in entries.iter().enumerate() {
            if let Some(target) = entry.get("Next").and_then(Value::as_str) {
                found.push(Edge {
                    target,
                    location: child(&element(&child(location, list), index), "Next"),
                });
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use crate::validate::test_support::*;

    fn missing(message: &str, location: &str) -> (&'static str, String, String) {
        (
            "MISSING_TRANSITION_TARGET",
            message.to_owned(),
            location.to_owned(),
        )
    }

    fn no_end() -> (&'static str, String, String) {
        (
            "MISSING_END_STATE",
            "Workflow has no terminal state".to_owned(),
            String::new(),
        )
    }

    #[test]
    fn dangling_next_and_unreachable_state_like_aws() {
        let definition = r#"{"StartAt":"pass1","States":{"pass1":{"Type":"Pass","Next":"pass3"},"pass2":{"Type":"Pass","End":true}}}"#;
        assert_eq!(
            errors(&check(definition)),
            vec![
                missing("Missing 'Next' target: pass3", "/States/pass1/Next"),
                missing("State \"pass2\" is not reachable.", "/States/pass2"),
            ]
        );
    }

    #[test]
    fn a_dangling_start_at_says_next_too() {
        let definition = r#"{"StartAt":"run_step","States":{"A":{"Type":"Succeed"}}}"#;
        assert_eq!(
            errors(&check(definition)),
            vec![missing("Missing 'Next' target: run_step", "/StartAt")]
        );
    }

    #[test]
    fn every_transition_field_is_checked() {
        let definition = r#"{"StartAt":"C","States":{
            "C":{"Type":"Choice","Choices":[{"Variable":"$.a","IsNull":true,"Next":"X"}],"Default":"T"},
            "T":{"Type":"Task","Resource":"r","Catch":[{"ErrorEquals":["States.ALL"],"Next":"Y"}],"End":true}}}"#;
        assert_eq!(
            errors(&check(definition)),
            vec![
                missing("Missing 'Next' target: X", "/States/C/Choices[0]/Next"),
                missing("Missing 'Next' target: Y", "/States/T/Catch[0]/Next"),
            ]
        );
    }

    #[test]
    fn a_loop_without_end_suppresses_reachability() {
        let definition = r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"},"B":{"Type":"Pass","Next":"A"},"C":{"Type":"Pass","Next":"A"}}}"#;
        assert_eq!(errors(&check(definition)), vec![no_end()]);
    }

    #[test]
    fn an_unreachable_terminal_state_is_still_a_terminal_state() {
        let definition = r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"},"B":{"Type":"Pass","Next":"A"},"C":{"Type":"Succeed"}}}"#;
        assert_eq!(
            errors(&check(definition)),
            vec![missing("State \"C\" is not reachable.", "/States/C")]
        );
    }

    #[test]
    fn a_dangling_target_comes_before_the_missing_end() {
        let definition = r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"NOPE"}}}"#;
        assert_eq!(
            errors(&check(definition)),
            vec![
                missing("Missing 'Next' target: NOPE", "/States/A/Next"),
                no_end()
            ]
        );
    }

    #[test]
    fn targets_do_not_cross_scopes() {
        let definition = r#"{"StartAt":"P","States":{"P":{"Type":"Parallel","Next":"Done","Branches":[{"StartAt":"B","States":{"B":{"Type":"Pass","Next":"Done"}}}]},"Done":{"Type":"Succeed"}}}"#;
        assert_eq!(
            errors(&check(definition)),
            vec![
                missing(
                    "Missing 'Next' target: Done",
                    "/States/P/Branches[0]/States/B/Next"
                ),
                no_end(),
            ]
        );
    }
}
