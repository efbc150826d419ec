//! The two query languages: which one a state speaks, and how a field written for the
//! other one is reported.

use serde_json::{Map, Value};

use super::{Checker, child};
use crate::model::definition::QueryLanguage;
use crate::model::schema::FieldLanguage;

/// Reads a `QueryLanguage` field; `None` when absent or invalid (invalid is reported).
pub(crate) fn read(
    checker: &mut Checker<'_>,
    object: &Map<String, Value>,
    location: &str,
) -> Option<QueryLanguage> {
    match object.get("QueryLanguage")? {
        Value::String(text) if text == "JSONPath" => Some(QueryLanguage::JsonPath),
        Value::String(text) if text == "JSONata" => Some(QueryLanguage::Jsonata),
        _ => {
            checker.schema(
                "The field 'QueryLanguage' should have one of these values: [JSONPath, JSONata]",
                &child(location, "QueryLanguage"),
            );
            None
        }
    }
}

/// The language a state speaks: its own `QueryLanguage`, else the machine's. A JSONata
/// machine cannot step back to JSONPath in one state.
pub(crate) fn of_state(
    checker: &mut Checker<'_>,
    state: &Map<String, Value>,
    location: &str,
) -> QueryLanguage {
    let root = checker.root_language;
    let own = read(checker, state, location);
    if QueryLanguage::steps_back(root, own) {
        checker.schema(
            "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine",
            location,
        );
    }
    QueryLanguage::of_state(root, own)
}

/// Reports every field of `object` that `classify` does not know, or knows only for the
/// other language. Unknown fields read `Field 'X' is not supported`, in AWS's words.
pub(crate) fn check_fields(
    checker: &mut Checker<'_>,
    object: &Map<String, Value>,
    language: QueryLanguage,
    location: &str,
    classify: impl Fn(&str) -> Option<FieldLanguage>,
) {
    for key in object.keys() {
        match classify(key) {
            None => checker.schema(format!("Field '{key}' is not supported"), location),
            Some(field) if !field.allows(language) => checker.schema(
                format!(
                    "The QueryLanguage is set to '{}', but field '{key}' is only supported for the '{}' QueryLanguage",
                    language.as_str(),
                    field.owner().as_str()
                ),
                location,
            ),
            Some(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::validate::test_support::*;

    #[test]
    fn a_state_cannot_downgrade_a_jsonata_machine() {
        let definition = r#"{"StartAt":"Pass","States":{"Pass":{"Type":"Pass","End":true,"QueryLanguage":"JSONPath"}},"QueryLanguage":"JSONata"}"#;
        assert_eq!(
            errors(&check(definition)),
            vec![schema(
                "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine",
                "/States/Pass"
            )]
        );
    }

    #[test]
    fn a_state_may_upgrade_a_jsonpath_machine() {
        let definition = r#"{"StartAt":"Map","QueryLanguage":"JSONPath","States":{"Map":{"Type":"Map","QueryLanguage":"JSONata","ItemProcessor":{"ProcessorConfig":{"Mode":"INLINE"},"StartAt":"Pass","States":{"Pass":{"QueryLanguage":"JSONPath","Type":"Pass","End":true}}},"End":true}}}"#;
        assert!(errors(&check(definition)).is_empty());
    }

    #[test]
    fn jsonata_fields_in_jsonpath_states_are_refused() {
        let definition = single(r#"{"Type":"Pass","Output":{"a":1},"End":true}"#);
        assert_eq!(
            errors(&check(&definition)),
            vec![schema(
                "The QueryLanguage is set to 'JSONPath', but field 'Output' is only supported for the 'JSONata' QueryLanguage",
                "/States/A"
            )]
        );
    }

    #[test]
    fn jsonpath_fields_in_jsonata_states_are_refused() {
        let definition =
            single(r#"{"Type":"Pass","QueryLanguage":"JSONata","InputPath":"$.a","End":true}"#);
        assert_eq!(
            errors(&check(&definition)),
            vec![schema(
                "The QueryLanguage is set to 'JSONata', but field 'InputPath' is only supported for the 'JSONPath' QueryLanguage",
                "/States/A"
            )]
        );
    }

    #[test]
    fn unknown_query_language_values_are_refused() {
        let definition = single(r#"{"Type":"Pass","QueryLanguage":"XPath","End":true}"#);
        assert_eq!(
            errors(&check(&definition)),
            vec![schema(
                "The field 'QueryLanguage' should have one of these values: [JSONPath, JSONata]",
                "/States/A/QueryLanguage"
            )]
        );
    }
}
