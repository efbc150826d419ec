//! A machine and its nested scopes (Parallel branches, Map item processors): `StartAt`,
//! `States`, the top-level fields, and the walk over every state of a scope.

use serde_json::{Map, Value};

use super::language;
use super::{Checker, child, fields, reachability, states};
use crate::diagnostic::DiagnosticCode;
use crate::model::definition::QueryLanguage;
use crate::model::schema::FieldLanguage;

/// AWS's limit on a state name, in characters.
const MAX_STATE_NAME: usize = 80;

/// What a scope inherits from the scope around it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scope {
    /// The states run in an Express execution (the machine, or a Distributed Map whose
    /// children are Express), which refuses `.sync`, callbacks and activities.
    pub(crate) express: bool,
}

pub(crate) fn validate_root(checker: &mut Checker<'_>, root: &Map<String, Value>) {
    if let Some(language) = language::read(checker, root, "") {
        checker.root_language = language;
    }
    language::check_fields(checker, root, QueryLanguage::JsonPath, "", |key| {
        matches!(
            key,
            "StartAt" | "States" | "Comment" | "Version" | "TimeoutSeconds" | "QueryLanguage"
        )
        .then_some(FieldLanguage::Both)
    });
    fields::string(checker, root, "Version", "");
    fields::integer(
        checker,
        root,
        "TimeoutSeconds",
        "",
        1,
        QueryLanguage::JsonPath,
    );
    let scope = Scope {
        express: checker.express(),
    };
    validate_scope(checker, root, "", scope);
}

/// The `StartAt`/`States` pair of a machine, a branch or an item processor. Extra fields
/// are checked by the caller, which knows what else its object may hold.
pub(crate) fn validate_scope(
    checker: &mut Checker<'_>,
    object: &Map<String, Value>,
    location: &str,
    scope: Scope,
) {
    fields::require(checker, object, &["States", "StartAt"], location);
    fields::string(checker, object, "Comment", location);
    let start_at = fields::string(checker, object, "StartAt", location);
    let Some(states) = fields::object(checker, object, "States", location) else {
        return;
    };
    let states_location = child(location, "States");
    if states.is_empty() {
        checker.schema("Value cannot be empty", &states_location);
        return;
    }
    for (name, state) in states {
        let state_location = child(&states_location, name);
        check_name(checker, name, &state_location);
        match state {
            Value::Object(state) => states::validate_state(checker, state, &state_location, scope),
            _ => checker.schema(
                format!("The value for the field '{name}' must be a OBJECT"),
                &state_location,
            ),
        }
    }
    reachability::check(checker, start_at, states, location);
}

fn check_name(checker: &mut Checker<'_>, name: &str, location: &str) {
    if name.is_empty() || name.chars().count() > MAX_STATE_NAME {
        checker.schema(
            format!("State name must be between 1 and {MAX_STATE_NAME} characters long"),
            location,
        );
    }
    if !checker.state_names.insert(name.to_owned()) {
        checker.error(
            DiagnosticCode::DuplicateStateName,
            format!("Duplicate State name: {name}"),
            location,
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::validate::test_support::*;

    #[test]
    fn an_empty_object_misses_both_required_fields() {
        assert_eq!(
            errors(&check("{}")),
            vec![schema("These fields are required: [States, StartAt]", "/")]
        );
    }

    #[test]
    fn missing_states_is_reported_at_the_top() {
        assert_eq!(
            errors(&check(
                r#"{"Comment": "BASE_INVALID_DER", "StartAt": "State_1"}"#
            )),
            vec![schema("These fields are required: [States]", "/")]
        );
    }

    #[test]
    fn missing_start_at_is_reported_at_the_top() {
        let definition = r#"{"States": {"StartState": {"Type": "Pass", "End": true}}}"#;
        assert_eq!(
            errors(&check(definition)),
            vec![schema("These fields are required: [StartAt]", "/")]
        );
    }

    #[test]
    fn unknown_top_level_fields_are_refused() {
        let definition =
            r#"{"StartAt":"A","Coment":"typo","States":{"A":{"Type":"Pass","End":true}}}"#;
        assert_eq!(
            errors(&check(definition)),
            vec![schema("Field 'Coment' is not supported", "/")]
        );
    }

    #[test]
    fn top_level_timeout_must_be_positive() {
        let definition =
            r#"{"StartAt":"A","TimeoutSeconds":0,"States":{"A":{"Type":"Pass","End":true}}}"#;
        assert_eq!(
            errors(&check(definition)),
            vec![schema(
                "The value for the field 'TimeoutSeconds' must be greater than or equal to 1",
                "/TimeoutSeconds"
            )]
        );
    }

    #[test]
    fn empty_states_are_refused() {
        assert_eq!(
            errors(&check(r#"{"StartAt":"A","States":{}}"#)),
            vec![schema("Value cannot be empty", "/States")]
        );
    }

    #[test]
    fn state_names_are_unique_across_scopes() {
        let definition = r#"{"StartAt":"P","States":{"P":{"Type":"Parallel","End":true,"Branches":[{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}]}}}"#;
        assert_eq!(
            errors(&check(definition)),
            vec![(
                "DUPLICATE_STATE_NAME",
                "Duplicate State name: P".to_owned(),
                "/States/P/Branches[0]/States/P".to_owned()
            )]
        );
    }

    #[test]
    fn a_state_must_be_an_object() {
        assert_eq!(
            errors(&check(r#"{"StartAt":"A","States":{"A":1}}"#)),
            vec![
                schema("The value for the field 'A' must be a OBJECT", "/States/A"),
                (
                    "MISSING_END_STATE",
                    "Workflow has no terminal state".to_owned(),
                    String::new()
                ),
            ]
        );
    }
}
