//! One state: its `Type`, which fields each type takes in each query language, the
//! `Next`/`End` rule, the data-flow fields every type shares, and the small types
//! (Pass, Wait, Succeed, Fail, Parallel) whole.

use serde_json::{Map, Value};

use super::language;
use super::machine::{self, Scope};
use super::{Checker, child, choice, element, fields, map, retry_catch, task, timestamp};
use crate::model::definition::QueryLanguage;
use crate::model::schema::{self, FieldLanguage, STATE_TYPES, flows, is_expression, works};

pub(crate) fn validate_state(
    checker: &mut Checker<'_>,
    state: &Map<String, Value>,
    location: &str,
    scope: Scope,
) {
    let language = language::of_state(checker, state, location);
    fields::string(checker, state, "Comment", location);
    let Some(state_type) = state_type(checker, state, location) else {
        return;
    };
    language::check_fields(checker, state, language, location, |key| {
        schema::state_field(state_type, key)
    });
    if flows(state_type) {
        next_or_end(checker, state, location);
    }
    data_flow(checker, state, location, language);
    if works(state_type) {
        retry_catch::check(checker, state, location, language);
    }
    match state_type {
        "Task" => task::validate(checker, state, location, language, scope),
        "Choice" => choice::validate(checker, state, location, language),
        "Wait" => wait(checker, state, location, language),
        "Fail" => fail(checker, state, location),
        "Parallel" => parallel(checker, state, location, scope),
        "Map" => map::validate(checker, state, location, language, scope),
        _ => {}
    }
}

fn state_type<'s>(
    checker: &mut Checker<'_>,
    state: &'s Map<String, Value>,
    location: &str,
) -> Option<&'s str> {
    fields::require(checker, state, &["Type"], location);
    let text = fields::string(checker, state, "Type", location)?;
    match STATE_TYPES.iter().find(|known| **known == text) {
        Some(known) => Some(known),
        None => {
            checker.schema(
                format!(
                    "The field 'Type' should have one of these values: [{}]",
                    STATE_TYPES.join(", ")
                ),
                &child(location, "Type"),
            );
            None
        }
    }
}

/// A flowing state names its successor or ends the scope: exactly one of the two.
fn next_or_end(checker: &mut Checker<'_>, state: &Map<String, Value>, location: &str) {
    let next = fields::string(checker, state, "Next", location).is_some();
    let end = fields::boolean(checker, state, "End", location) == Some(true);
    let malformed = state.get("Next").is_some_and(|v| !v.is_string())
        || state.get("End").is_some_and(|v| !v.is_boolean());
    if next == end && !malformed {
        checker.schema(
            "Exactly one of these fields is required: [Next, End]",
            location,
        );
    }
}

/// The fields that shape a state's input and output. Which of them a type may carry was
/// settled by [`schema::state_field`]; here only their values are checked.
fn data_flow(
    checker: &mut Checker<'_>,
    state: &Map<String, Value>,
    location: &str,
    language: QueryLanguage,
) {
    if language == QueryLanguage::JsonPath {
        fields::path(checker, state, "InputPath", location, true);
        fields::path(checker, state, "OutputPath", location, true);
        fields::path(checker, state, "ResultPath", location, true);
        fields::template_field(checker, state, "Parameters", location, language);
        fields::template_field(checker, state, "ResultSelector", location, language);
    }
    fields::template_field(checker, state, "Arguments", location, language);
    assign(checker, state, location, language);
}

/// `Assign` is an object in both languages; in JSONPath its `.$` keys are templates.
pub(crate) fn assign(
    checker: &mut Checker<'_>,
    object: &Map<String, Value>,
    location: &str,
    language: QueryLanguage,
) {
    if fields::object(checker, object, "Assign", location).is_some()
        && language == QueryLanguage::JsonPath
        && let Some(value) = object.get("Assign")
    {
        fields::template(checker, value, &child(location, "Assign"));
    }
}

fn wait(
    checker: &mut Checker<'_>,
    state: &Map<String, Value>,
    location: &str,
    language: QueryLanguage,
) {
    const WAYS: [&str; 4] = ["Seconds", "Timestamp", "SecondsPath", "TimestampPath"];
    let present = WAYS.iter().filter(|way| state.contains_key(**way)).count();
    if present != 1 {
        checker.schema(
            format!(
                "Exactly one of these fields is required: [{}]",
                WAYS.join(", ")
            ),
            location,
        );
    }
    fields::integer(checker, state, "Seconds", location, 0, language);
    if let Some(value) = state.get("Timestamp") {
        let expression = language == QueryLanguage::Jsonata && is_expression(value);
        match value.as_str() {
            _ if expression => {}
            Some(text) if timestamp::is_rfc3339(text) => {}
            Some(_) => checker.schema(
                "String does not match RFC3339 timestamp",
                &child(location, "Timestamp"),
            ),
            None => checker.schema(
                "The value for the field 'Timestamp' must be a STRING",
                &child(location, "Timestamp"),
            ),
        }
    }
    fields::path(checker, state, "SecondsPath", location, false);
    fields::path(checker, state, "TimestampPath", location, false);
}

fn fail(checker: &mut Checker<'_>, state: &Map<String, Value>, location: &str) {
    for key in ["Error", "Cause", "ErrorPath", "CausePath"] {
        fields::string(checker, state, key, location);
    }
    // AWS: "a reference path or an intrinsic function".
    for key in ["ErrorPath", "CausePath"] {
        fields::path_or_intrinsic(checker, state, key, location);
    }
    fields::at_most_one(checker, state, &["Error", "ErrorPath"], location);
    fields::at_most_one(checker, state, &["Cause", "CausePath"], location);
}

fn parallel(checker: &mut Checker<'_>, state: &Map<String, Value>, location: &str, scope: Scope) {
    fields::require(checker, state, &["Branches"], location);
    let Some(branches) = fields::array(checker, state, "Branches", location, true) else {
        return;
    };
    let branches_location = child(location, "Branches");
    for (index, branch) in branches.iter().enumerate() {
        let branch_location = element(&branches_location, index);
        let Value::Object(branch) = branch else {
            checker.schema(
                "The value for the field 'Branches' must be a OBJECT",
                &branch_location,
            );
            continue;
        };
        language::check_fields(
            checker,
            branch,
            QueryLanguage::JsonPath,
            &branch_location,
            |key| matches!(key, "StartAt" | "States" | "Comment").then_some(FieldLanguage::Both),
        );
        machine::validate_scope(checker, branch, &branch_location, scope);
    }
}

#[cfg(test)]
mod tests {
    use crate::validate::test_support::*;

    #[test]
    fn unknown_types_list_the_known_ones() {
        let definition = r#"{"StartAt":"ExistingButInvalidState","States":{"ExistingButInvalidState":{"Type":"TypeThatDoesNotExist","End":true}}}"#;
        let found = errors(&check(definition));
        assert_eq!(
            found[0],
            schema(
                "The field 'Type' should have one of these values: [Task, Wait, Pass, Succeed, Fail, Choice, Parallel, Map]",
                "/States/ExistingButInvalidState/Type"
            )
        );
    }

    #[test]
    fn a_state_needs_a_type() {
        let found = errors(&check(&single(r#"{"End":true}"#)));
        assert_eq!(
            found[0],
            schema("These fields are required: [Type]", "/States/A")
        );
    }

    #[test]
    fn fields_of_other_types_are_not_supported() {
        let definition = single(r#"{"Type":"Pass","TimeoutSeconds":3,"Catch":[],"End":true}"#);
        assert_eq!(
            errors(&check(&definition)),
            vec![
                schema("Field 'TimeoutSeconds' is not supported", "/States/A"),
                schema("Field 'Catch' is not supported", "/States/A"),
            ]
        );
    }

    #[test]
    fn terminal_types_take_no_next_or_end() {
        let definition = r#"{"StartAt":"A","States":{"A":{"Type":"Succeed","End":true}}}"#;
        assert_eq!(
            errors(&check(definition)),
            vec![schema("Field 'End' is not supported", "/States/A")]
        );
    }

    #[test]
    fn flowing_states_need_exactly_one_of_next_and_end() {
        let neither = single(r#"{"Type":"Pass"}"#);
        let both = r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B","End":true},"B":{"Type":"Succeed"}}}"#;
        let expected = schema(
            "Exactly one of these fields is required: [Next, End]",
            "/States/A",
        );
        assert!(errors(&check(&neither)).contains(&expected));
        assert_eq!(errors(&check(both)), vec![expected]);
    }

    #[test]
    fn wait_needs_exactly_one_way_to_wait() {
        let definition = single(r#"{"Type":"Wait","Seconds":1,"SecondsPath":"$.s","End":true}"#);
        assert_eq!(
            errors(&check(&definition)),
            vec![schema(
                "Exactly one of these fields is required: [Seconds, Timestamp, SecondsPath, TimestampPath]",
                "/States/A"
            )]
        );
    }

    #[test]
    fn wait_timestamps_must_be_rfc3339() {
        for bad in [
            "2016-13-05T21:29:29Z",
            "2016-12-05 21:29:29Z",
            "{% '2016-03-14T01:59:00Z' %}",
        ] {
            let definition = single(&format!(
                r#"{{"Type":"Wait","Timestamp":"{bad}","End":true}}"#
            ));
            assert_eq!(
                errors(&check(&definition)),
                vec![schema(
                    "String does not match RFC3339 timestamp",
                    "/States/A/Timestamp"
                )],
                "{bad}"
            );
        }
        let jsonata = single(
            r#"{"Type":"Wait","QueryLanguage":"JSONata","Timestamp":"{% $x %}","End":true}"#,
        );
        assert!(errors(&check(&jsonata)).is_empty());
    }

    #[test]
    fn fail_takes_a_value_or_a_path_not_both() {
        let definition = single(r#"{"Type":"Fail","Error":"E","ErrorPath":"$.e","Cause":"c"}"#);
        assert_eq!(
            errors(&check(&definition)),
            vec![schema(
                "Only one of these fields is allowed: [Error, ErrorPath]",
                "/States/A"
            )]
        );
    }

    #[test]
    fn fail_paths_take_a_path_or_an_intrinsic_function() {
        let good =
            single(r#"{"Type":"Fail","ErrorPath":"$.e","CausePath":"States.Format('x {}', $.a)"}"#);
        assert!(errors(&check(&good)).is_empty());
        let context = single(r#"{"Type":"Fail","ErrorPath":"$$.State.Name","CausePath":"$.c"}"#);
        assert!(errors(&check(&context)).is_empty());
        let bad = single(r#"{"Type":"Fail","ErrorPath":"e","CausePath":"Format('x')"}"#);
        assert_eq!(
            errors(&check(&bad)),
            vec![
                schema(
                    "The value for the field 'ErrorPath' must be a valid JSONPath or a valid intrinsic function call",
                    "/States/A/ErrorPath"
                ),
                schema(
                    "The value for the field 'CausePath' must be a valid JSONPath or a valid intrinsic function call",
                    "/States/A/CausePath"
                ),
            ]
        );
    }

    #[test]
    fn parallel_needs_non_empty_branches() {
        let definition = single(r#"{"Type":"Parallel","Branches":[],"End":true}"#);
        assert_eq!(
            errors(&check(&definition)),
            vec![schema("Value cannot be empty", "/States/A/Branches")]
        );
    }

    #[test]
    fn branches_are_validated_as_machines_of_their_own() {
        let definition = single(
            r#"{"Type":"Parallel","End":true,"Branches":[{"StartAt":"B","States":{"B":{"Type":"Pass","Next":"A"}}}]}"#,
        );
        let found = errors(&check(&definition));
        assert_eq!(
            found[0],
            (
                "MISSING_TRANSITION_TARGET",
                "Missing 'Next' target: A".to_owned(),
                "/States/A/Branches[0]/States/B/Next".to_owned()
            )
        );
    }
}
