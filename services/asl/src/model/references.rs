//! Which variables each state reads: DescribeStateMachine's `variableReferences`.
//!
//! AWS's rules, as recorded: one flat map for the whole machine, keyed by the name of the state
//! whose fields hold the reference (states of Parallel branches and Map processors are keys of
//! their own); the names without `$`, unique and sorted; states without references are left
//! out. A reference is a `$name…` path in a path field (`InputPath`, `OutputPath`, `ItemsPath`,
//! the `…Path` fields, Choice `Variable` and `…Path` operands, Fail `ErrorPath`/`CausePath`) or
//! in a `.$` value of a payload template (`Parameters`, `ItemSelector`, `ResultSelector`,
//! `Credentials`, `Assign`, a catcher's `Assign`), intrinsic function arguments included.
//! Literal strings, `$.…` and `$$.…` paths, and the names an `Assign` writes are not
//! references. In a JSONata state, a reference is a variable an expression reads from outside
//! (not one it binds itself, and not `$states`).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::choice::{ChoiceRule, Condition, Operand};
use super::definition::{QueryLanguage, StateMachine};
use super::fields::NullablePath;
use super::state::{State, StateKind};

/// State name → the variables it reads, sorted.
pub type VariableReferences = BTreeMap<String, BTreeSet<String>>;

/// The variables every state of a definition reads; none when the definition does not parse.
pub fn variable_references_of(definition: &str) -> VariableReferences {
    serde_json::from_str::<StateMachine>(definition)
        .map(|machine| variable_references(&machine))
        .unwrap_or_default()
}

/// The variables every state of `machine` reads (see the module comment).
pub fn variable_references(machine: &StateMachine) -> VariableReferences {
    let mut found = VariableReferences::new();
    let language = machine.query_language.unwrap_or_default();
    for (name, state) in &machine.states {
        add_state(&mut found, name, state, language);
    }
    found
}

fn add_state(found: &mut VariableReferences, name: &str, state: &State, outer: QueryLanguage) {
    let language = QueryLanguage::of_state(outer, state.query_language());
    let mut names = BTreeSet::new();
    if language == QueryLanguage::Jsonata {
        jsonata_references(state, &mut names);
    }
    for path in [&state.flow.input_path, &state.flow.output_path] {
        if let NullablePath::Path(path) = path {
            scan(path, &mut names);
        }
    }
    let flow = &state.flow;
    for template in [&flow.parameters, &flow.result_selector, &flow.assign]
        .into_iter()
        .flatten()
    {
        template_references(template, &mut names);
    }
    for catcher in state.catchers() {
        if let Some(assign) = &catcher.assign {
            template_references(assign, &mut names);
        }
    }
    let mut paths: Vec<&Option<String>> = Vec::new();
    match &state.kind {
        StateKind::Task(task) => {
            paths.extend([&task.timeout_seconds_path, &task.heartbeat_seconds_path]);
            if let Some(credentials) = &task.credentials {
                template_references(credentials, &mut names);
            }
        }
        StateKind::Choice(choice) => {
            for rule in &choice.choices {
                rule_references(rule, &mut names);
            }
        }
        StateKind::Wait(wait) => paths.extend([&wait.seconds_path, &wait.timestamp_path]),
        StateKind::Fail(fail) => paths.extend([&fail.error_path, &fail.cause_path]),
        StateKind::Parallel(parallel) => {
            for branch in &parallel.branches {
                for (inner_name, inner) in &branch.states {
                    add_state(found, inner_name, inner, language);
                }
            }
        }
        StateKind::Map(map) => {
            paths.extend([
                &map.items_path,
                &map.max_concurrency_path,
                &map.tolerated_failure_count_path,
                &map.tolerated_failure_percentage_path,
            ]);
            for template in [&map.item_selector, &map.parameters].into_iter().flatten() {
                template_references(template, &mut names);
            }
            if let Some((_, processor)) = map.processor() {
                for (inner_name, inner) in &processor.states {
                    add_state(found, inner_name, inner, language);
                }
            }
        }
        StateKind::Pass(_) | StateKind::Succeed(_) => {}
    }
    for path in paths.into_iter().flatten() {
        scan(path, &mut names);
    }
    if !names.is_empty() {
        found.entry(name.to_owned()).or_default().extend(names);
    }
}

fn rule_references(rule: &ChoiceRule, names: &mut BTreeSet<String>) {
    match &rule.condition {
        Condition::And(rules) | Condition::Or(rules) => {
            for rule in rules {
                rule_references(rule, names);
            }
        }
        Condition::Not(rule) => rule_references(rule, names),
        Condition::Compare(comparison) => {
            scan(&comparison.variable, names);
            if let Operand::Path(path) = &comparison.operand {
                scan(path, names);
            }
        }
        Condition::Jsonata(_) => {}
    }
    if let Some(assign) = &rule.assign {
        template_references(assign, names);
    }
}

/// The variables the `{% %}` expressions of a JSONata state read, in any of its fields (its
/// Parallel branches' and Map processor's states are keys of their own).
fn jsonata_references(state: &State, names: &mut BTreeSet<String>) {
    let Ok(Value::Object(mut fields)) = serde_json::to_value(state) else {
        return;
    };
    for nested in ["Branches", "ItemProcessor", "Iterator", "Comment"] {
        fields.remove(nested);
    }
    expression_references(&Value::Object(fields), names);
}

fn expression_references(value: &Value, names: &mut BTreeSet<String>) {
    match value {
        Value::Object(fields) => fields
            .values()
            .for_each(|value| expression_references(value, names)),
        Value::Array(items) => items
            .iter()
            .for_each(|item| expression_references(item, names)),
        text => {
            let Some(expression) = crate::jsonata::expression_text(text) else {
                return;
            };
            if let Ok(parsed) = switchback_jsonata::Expression::parse(expression) {
                names.extend(parsed.free_variables().into_iter().filter(|name| {
                    name != "states" && !crate::jsonata::is_step_functions_function(name)
                }));
            }
        }
    }
}

/// The `.$` values of a payload template, at any depth (other values are literals).
fn template_references(template: &Value, names: &mut BTreeSet<String>) {
    match template {
        Value::Object(fields) => {
            for (key, value) in fields {
                match value {
                    Value::String(expression) if key.ends_with(".$") => scan(expression, names),
                    other => template_references(other, names),
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                template_references(item, names);
            }
        }
        _ => {}
    }
}

/// The variables a path or intrinsic function names: each `$name` outside a quoted string,
/// where `name` starts with a letter or `_` (so `$`, `$.x`, `$[0]` and `$$` name none).
fn scan(expression: &str, names: &mut BTreeSet<String>) {
    let mut chars = expression.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' if quoted => {
                chars.next();
            }
            '\'' => quoted = !quoted,
            '$' if !quoted => {
                if chars.peek() == Some(&'$') {
                    chars.next();
                    continue;
                }
                let mut name = String::new();
                while let Some(&next) = chars.peek() {
                    if next.is_alphanumeric() || next == '_' {
                        name.push(next);
                        chars.next();
                    } else {
                        break;
                    }
                }
                if name
                    .chars()
                    .next()
                    .is_some_and(|first| !first.is_ascii_digit())
                {
                    names.insert(name);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    use super::*;

    fn references(definition: Value) -> Value {
        let machine = StateMachine::deserialize(&definition).expect("a definition");
        serde_json::to_value(variable_references(&machine)).unwrap_or_default()
    }

    #[test]
    fn paths_templates_and_intrinsics_name_variables() {
        let found = references(json!({"StartAt": "A", "States": {
            "A": {"Type": "Pass", "InputPath": "$answer", "OutputPath": "$answer.x",
                "Parameters": {"lit": "$literal", "p.$": "$.input", "c.$": "$$.Execution.Id",
                    "f.$": "States.Format('{} $notThis', $name, $place[0])"},
                "Assign": {"written": 1, "read.$": "$source"}, "Next": "C"},
            "C": {"Type": "Choice", "Choices": [{"And": [
                {"Variable": "$guess", "StringEqualsPath": "$answer"},
                {"Variable": "$.plain", "IsPresent": true}], "Next": "F"}], "Default": "F"},
            "F": {"Type": "Fail", "ErrorPath": "$errorVar", "CausePath": "$causeVar"}}}));
        assert_eq!(
            found,
            json!({"A": ["answer", "name", "place", "source"], "C": ["answer", "guess"],
                   "F": ["causeVar", "errorVar"]})
        );
    }

    #[test]
    fn nested_states_are_keys_of_their_own_and_the_map_keeps_its_fields() {
        let found = references(json!({"StartAt": "M", "States": {
            "M": {"Type": "Map", "ItemsPath": "$list", "MaxConcurrencyPath": "$max",
                "ItemSelector": {"v.$": "States.Format($template, $$.Map.Item.Value)"},
                "ItemProcessor": {"StartAt": "P", "States": {
                    "P": {"Type": "Pass", "Parameters": {"q.$": "$question"}, "End": true}}},
                "End": true}}}));
        assert_eq!(
            found,
            json!({"M": ["list", "max", "template"], "P": ["question"]})
        );
    }

    #[test]
    fn no_reference_no_entry() {
        let found = references(json!({"StartAt": "A", "States": {
            "A": {"Type": "Pass", "Parameters": {"x.$": "$.y"}, "Assign": {"a": "$b"},
                "End": true}}}));
        assert_eq!(found, json!({}));
    }
}
