//! Task states: the resource (and what an Express machine refuses of it), timeouts,
//! heartbeats and cross-account credentials.

use serde_json::{Map, Value};

use super::language;
use super::machine::Scope;
use super::{Checker, child, fields};
use crate::model::definition::QueryLanguage;
use crate::model::schema::FieldLanguage;

pub(crate) fn validate(
    checker: &mut Checker<'_>,
    state: &Map<String, Value>,
    location: &str,
    language: QueryLanguage,
    scope: Scope,
) {
    fields::require(checker, state, &["Resource"], location);
    if let Some(resource) = fields::string(checker, state, "Resource", location)
        && scope.express
    {
        express_resource(checker, resource, &child(location, "Resource"));
    }
    let timeout = fields::integer(checker, state, "TimeoutSeconds", location, 1, language);
    let heartbeat = fields::integer(checker, state, "HeartbeatSeconds", location, 1, language);
    fields::path(checker, state, "TimeoutSecondsPath", location, false);
    fields::path(checker, state, "HeartbeatSecondsPath", location, false);
    fields::at_most_one(
        checker,
        state,
        &["TimeoutSeconds", "TimeoutSecondsPath"],
        location,
    );
    fields::at_most_one(
        checker,
        state,
        &["HeartbeatSeconds", "HeartbeatSecondsPath"],
        location,
    );
    // A heartbeat can only be missed if it is due before the task times out; the default
    // task timeout (99999999 s) applies when none is given.
    if let Some(heartbeat) = heartbeat {
        let limit = timeout.unwrap_or(99_999_999);
        if heartbeat >= limit && !state.contains_key("TimeoutSecondsPath") {
            checker.schema(
                "The value for the field 'HeartbeatSeconds' must be smaller than the value for the field 'TimeoutSeconds'",
                &child(location, "HeartbeatSeconds"),
            );
        }
    }
    credentials(checker, state, location, language);
}

/// Express executions run at most five minutes and keep no history to resume from, so AWS
/// refuses integrations that wait on something outside the execution.
fn express_resource(checker: &mut Checker<'_>, resource: &str, location: &str) {
    // `.sync:2` is a versioned `.sync`: drop a trailing `:<digits>` before looking.
    let pattern = match resource.rsplit_once(':') {
        Some((head, tail)) if !tail.is_empty() && tail.bytes().all(|b| b.is_ascii_digit()) => head,
        _ => resource,
    };
    if pattern.ends_with(".sync") {
        checker.schema(
            "Express state machine does not support '.sync' service integration",
            location,
        );
    } else if resource.ends_with(".waitForTaskToken") {
        // AWS's text carries a trailing space before the location.
        checker.schema(
            "Express state machine does not support '.waitForTaskToken' service integration ",
            location,
        );
    } else if is_activity_arn(resource) {
        checker.schema(
            "Express state machine does not support Activity ARN",
            location,
        );
    }
}

/// `arn:<partition>:states:<region>:<account>:activity:<name>`.
fn is_activity_arn(resource: &str) -> bool {
    let parts: Vec<&str> = resource.splitn(7, ':').collect();
    parts.len() == 7 && parts[0] == "arn" && parts[2] == "states" && parts[5] == "activity"
}

/// `Credentials`, an object with `RoleArn` (a string; in JSONata states possibly an expression)
/// or, in JSONPath states, `RoleArn.$` (a path or an intrinsic function). AWS was recorded
/// answering `{"InvalidField": "invalid"}` with the missing role alone: fields it does not know
/// are not reported.
fn credentials(
    checker: &mut Checker<'_>,
    state: &Map<String, Value>,
    location: &str,
    language: QueryLanguage,
) {
    let Some(credentials) = fields::object(checker, state, "Credentials", location) else {
        return;
    };
    let at = child(location, "Credentials");
    language::check_fields(checker, credentials, language, &at, |key| match key {
        "RoleArn.$" => Some(FieldLanguage::JsonPathOnly),
        _ => Some(FieldLanguage::Both),
    });
    if !credentials.contains_key("RoleArn") && !credentials.contains_key("RoleArn.$") {
        checker.schema("The field 'RoleArn' is required but was missing", &at);
    }
    fields::string(checker, credentials, "RoleArn", &at);
    if language == QueryLanguage::JsonPath
        && let Some(value) = state.get("Credentials")
    {
        fields::template(checker, value, &at);
    }
}

#[cfg(test)]
mod tests {
    use crate::validate::test_support::*;

    #[test]
    fn a_task_needs_a_resource() {
        assert_eq!(
            errors(&check(&single(r#"{"Type":"Task","End":true}"#))),
            vec![schema("These fields are required: [Resource]", "/States/A")]
        );
    }

    #[test]
    fn any_string_resource_is_accepted() {
        let definition = single(r#"{"Type":"Task","Resource":"${ACTIVITY_ARN:a}","End":true}"#);
        assert!(errors(&check(&definition)).is_empty());
    }

    #[test]
    fn heartbeat_must_come_before_the_timeout() {
        let definition = single(
            r#"{"Type":"Task","Resource":"r","TimeoutSeconds":5,"HeartbeatSeconds":5,"End":true}"#,
        );
        assert_eq!(
            errors(&check(&definition)),
            vec![schema(
                "The value for the field 'HeartbeatSeconds' must be smaller than the value for the field 'TimeoutSeconds'",
                "/States/A/HeartbeatSeconds"
            )]
        );
    }

    #[test]
    fn empty_credentials_miss_the_role() {
        let definition = r#"{"StartAt": "State0", "QueryLanguage": "JSONata", "States": {"State0": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Arguments": "{% $state.input %}", "Credentials": {}, "End": true}}}"#;
        assert_eq!(
            errors(&check(definition)),
            vec![schema(
                "The field 'RoleArn' is required but was missing",
                "/States/State0/Credentials"
            )]
        );
    }

    #[test]
    fn unknown_credentials_fields_only_miss_the_role() {
        // Recorded on AWS (LocalStack's INVALID_CREDENTIALS_FIELD snapshot).
        let definition = r#"{"StartAt": "State0", "QueryLanguage": "JSONata", "States": {"State0": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Arguments": "{% $state.input %}", "Credentials": {"InvalidField": "invalid"}, "End": true}}}"#;
        assert_eq!(
            errors(&check(definition)),
            vec![schema(
                "The field 'RoleArn' is required but was missing",
                "/States/State0/Credentials"
            )]
        );
    }

    #[test]
    fn credentials_take_a_role_arn_or_a_dynamic_one() {
        let task = |credentials: &str| {
            single(&format!(
                r#"{{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Credentials":{credentials},"End":true}}"#
            ))
        };
        for good in [
            r#"{"RoleArn":"arn:aws:iam::111111111111:role/r"}"#,
            r#"{"RoleArn.$":"$.role"}"#,
            r#"{"RoleArn.$":"States.Format('{}', $.role)"}"#,
        ] {
            assert!(errors(&check(&task(good))).is_empty(), "{good}");
        }
        assert_eq!(
            errors(&check(&task(r#"{"RoleArn":1}"#))),
            vec![schema(
                "The value for the field 'RoleArn' must be a STRING",
                "/States/A/Credentials/RoleArn"
            )]
        );
        assert_eq!(
            errors(&check(&task(r#"{"RoleArn.$":"role"}"#))),
            vec![schema(
                "The value for the field 'RoleArn.$' must be a valid JSONPath or a valid intrinsic function call",
                "/States/A/Credentials"
            )]
        );
        assert_eq!(
            errors(&check(&task(r#""arn:aws:iam::111111111111:role/r""#))),
            vec![schema(
                "The value for the field 'Credentials' must be a OBJECT",
                "/States/A/Credentials"
            )]
        );
        let jsonata = r#"{"StartAt":"A","QueryLanguage":"JSONata","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Credentials":{"RoleArn.$":"$.role"},"End":true}}}"#;
        assert_eq!(
            errors(&check(jsonata)),
            vec![schema(
                "The QueryLanguage is set to 'JSONata', but field 'RoleArn.$' is only supported for the 'JSONPath' QueryLanguage",
                "/States/A/Credentials"
            )]
        );
    }

    #[test]
    fn express_refuses_sync_callbacks_and_activities() {
        let cases = [
            (
                "arn:aws:states:::states:startExecution.sync",
                "Express state machine does not support '.sync' service integration",
            ),
            (
                "arn:aws:states:::states:startExecution.sync:2",
                "Express state machine does not support '.sync' service integration",
            ),
            (
                "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "Express state machine does not support '.waitForTaskToken' service integration ",
            ),
            (
                "arn:aws:states:us-east-1:111111111111:activity:work",
                "Express state machine does not support Activity ARN",
            ),
        ];
        for (resource, message) in cases {
            let definition = single(&format!(
                r#"{{"Type":"Task","Resource":"{resource}","End":true}}"#
            ));
            assert_eq!(
                errors(&check_express(&definition)),
                vec![schema(message, "/States/A/Resource")],
                "{resource}"
            );
            assert!(errors(&check(&definition)).is_empty(), "{resource}");
        }
    }

    #[test]
    fn express_accepts_request_response_integrations() {
        let definition =
            single(r#"{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","End":true}"#);
        assert!(errors(&check_express(&definition)).is_empty());
    }
}
