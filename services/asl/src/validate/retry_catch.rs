//! `Retry` and `Catch` on Task, Parallel and Map states: retrier and catcher shapes, and
//! the rule that the `States.ALL` wildcard stands alone in the last entry.

use serde_json::{Map, Value};

use super::language;
use super::{Checker, child, element, fields, states};
use crate::model::definition::QueryLanguage;
use crate::model::schema::FieldLanguage;

const WILDCARD: &str = "States.ALL";

pub(crate) fn check(
    checker: &mut Checker<'_>,
    state: &Map<String, Value>,
    location: &str,
    language: QueryLanguage,
) {
    for (field, catcher) in [("Retry", false), ("Catch", true)] {
        let Some(entries) = fields::array(checker, state, field, location, false) else {
            continue;
        };
        let list_location = child(location, field);
        let last = entries.len().saturating_sub(1);
        for (index, entry) in entries.iter().enumerate() {
            let entry_location = element(&list_location, index);
            let Value::Object(entry) = entry else {
                checker.schema(
                    format!("The value for the field '{field}' must be a OBJECT"),
                    &entry_location,
                );
                continue;
            };
            let wildcard = error_equals(checker, entry, &entry_location);
            if wildcard && index != last {
                checker.schema(
                    format!("{WILDCARD} must appear in the last element of {field}"),
                    &entry_location,
                );
            }
            if catcher {
                check_catcher(checker, entry, &entry_location, language);
            } else {
                check_retrier(checker, entry, &entry_location, language);
            }
        }
    }
}

/// Checks `ErrorEquals`; true when it holds the wildcard.
fn error_equals(checker: &mut Checker<'_>, entry: &Map<String, Value>, location: &str) -> bool {
    fields::require(checker, entry, &["ErrorEquals"], location);
    let Some(names) = fields::array(checker, entry, "ErrorEquals", location, true) else {
        return false;
    };
    let at = child(location, "ErrorEquals");
    if names.iter().any(|name| !name.is_string()) {
        checker.schema(
            "The value for the field 'ErrorEquals' must be a STRING ARRAY",
            &at,
        );
    }
    let wildcard = names.iter().any(|name| name.as_str() == Some(WILDCARD));
    if wildcard && names.len() > 1 {
        checker.schema(format!("{WILDCARD} must appear alone in ErrorEquals"), &at);
    }
    wildcard
}

fn check_retrier(
    checker: &mut Checker<'_>,
    retrier: &Map<String, Value>,
    location: &str,
    language: QueryLanguage,
) {
    language::check_fields(checker, retrier, language, location, |key| {
        matches!(
            key,
            "ErrorEquals"
                | "IntervalSeconds"
                | "MaxAttempts"
                | "BackoffRate"
                | "MaxDelaySeconds"
                | "JitterStrategy"
                | "Comment"
        )
        .then_some(FieldLanguage::Both)
    });
    fields::string(checker, retrier, "Comment", location);
    fields::integer(
        checker,
        retrier,
        "IntervalSeconds",
        location,
        1,
        QueryLanguage::JsonPath,
    );
    fields::integer(
        checker,
        retrier,
        "MaxAttempts",
        location,
        0,
        QueryLanguage::JsonPath,
    );
    fields::integer(
        checker,
        retrier,
        "MaxDelaySeconds",
        location,
        1,
        QueryLanguage::JsonPath,
    );
    fields::number(
        checker,
        retrier,
        "BackoffRate",
        location,
        (1.0, f64::MAX),
        QueryLanguage::JsonPath,
    );
    if let Some(jitter) = fields::string(checker, retrier, "JitterStrategy", location)
        && !matches!(jitter, "FULL" | "NONE")
    {
        checker.schema(
            "The field 'JitterStrategy' should have one of these values: [FULL, NONE]",
            &child(location, "JitterStrategy"),
        );
    }
}

fn check_catcher(
    checker: &mut Checker<'_>,
    catcher: &Map<String, Value>,
    location: &str,
    language: QueryLanguage,
) {
    language::check_fields(checker, catcher, language, location, |key| match key {
        "ErrorEquals" | "Next" | "Assign" | "Comment" => Some(FieldLanguage::Both),
        "ResultPath" => Some(FieldLanguage::JsonPathOnly),
        "Output" => Some(FieldLanguage::JsonataOnly),
        _ => None,
    });
    fields::require(checker, catcher, &["Next"], location);
    fields::string(checker, catcher, "Next", location);
    fields::string(checker, catcher, "Comment", location);
    if language == QueryLanguage::JsonPath {
        fields::path(checker, catcher, "ResultPath", location, true);
    }
    states::assign(checker, catcher, location, language);
}

#[cfg(test)]
mod tests {
    use crate::validate::test_support::*;

    fn task_with(extra: &str) -> String {
        format!(
            r#"{{"StartAt":"A","States":{{"A":{{"Type":"Task","Resource":"r",{extra},"Next":"H"}},"H":{{"Type":"Succeed"}}}}}}"#
        )
    }

    #[test]
    fn well_formed_retry_and_catch_are_clean() {
        let definition = task_with(
            r#""Retry":[{"ErrorEquals":["E"],"IntervalSeconds":1,"MaxAttempts":0,"BackoffRate":1.5,"MaxDelaySeconds":5,"JitterStrategy":"FULL"},{"ErrorEquals":["States.ALL"]}],"Catch":[{"ErrorEquals":["States.ALL"],"Next":"H","ResultPath":"$.e"}]"#,
        );
        assert!(errors(&check(&definition)).is_empty());
    }

    #[test]
    fn error_equals_is_required_and_non_empty() {
        let definition = task_with(r#""Retry":[{"MaxAttempts":1},{"ErrorEquals":[]}]"#);
        assert_eq!(
            errors(&check(&definition)),
            vec![
                schema(
                    "These fields are required: [ErrorEquals]",
                    "/States/A/Retry[0]"
                ),
                schema("Value cannot be empty", "/States/A/Retry[1]/ErrorEquals"),
            ]
        );
    }

    #[test]
    fn the_wildcard_stands_alone_and_last() {
        let definition =
            task_with(r#""Retry":[{"ErrorEquals":["States.ALL","E"]},{"ErrorEquals":["F"]}]"#);
        assert_eq!(
            errors(&check(&definition)),
            vec![
                schema(
                    "States.ALL must appear alone in ErrorEquals",
                    "/States/A/Retry[0]/ErrorEquals"
                ),
                schema(
                    "States.ALL must appear in the last element of Retry",
                    "/States/A/Retry[0]"
                ),
            ]
        );
    }

    #[test]
    fn catchers_need_next_and_known_fields() {
        let definition = task_with(r#""Catch":[{"ErrorEquals":["E"],"Retry":1}]"#);
        let found = errors(&check(&definition));
        assert_eq!(
            &found[..2],
            &[
                schema("Field 'Retry' is not supported", "/States/A/Catch[0]"),
                schema("These fields are required: [Next]", "/States/A/Catch[0]"),
            ]
        );
    }

    #[test]
    fn backoff_rate_is_at_least_one() {
        let definition = task_with(r#""Retry":[{"ErrorEquals":["E"],"BackoffRate":0.5}]"#);
        assert_eq!(
            errors(&check(&definition)),
            vec![schema(
                "The value for the field 'BackoffRate' must be greater than or equal to 1",
                "/States/A/Retry[0]/BackoffRate"
            )]
        );
    }
}
