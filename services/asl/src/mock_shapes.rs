//! TestState's check of a mocked result against the response shape of the service call it
//! stands for (`mock.fieldValidationMode`), for the integrations Switchback runs. STRICT checks
//! the types of the fields given and that the required ones are there; PRESENT only the types;
//! NONE nothing. Fields the shape does not name pass (AWS accepts them too).
//!
//! The shapes are those of the responses Step Functions passes on, in its PascalCase: Lambda's
//! `Invoke`, and Step Functions' `StartExecution` and (for `.sync`) `DescribeExecution`.

use serde_json::Value;

use crate::resource::{Integration, Pattern, Resource};

/// How strictly a mock is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldValidation {
    Strict,
    Present,
    None,
}

#[derive(Debug, Clone, Copy)]
enum Shape {
    String,
    /// Checked as a string: AWS's JSON carries timestamps and blobs as text.
    Timestamp,
    Integer,
    /// Any JSON value (a Lambda function's payload).
    Any,
    Structure(&'static [Member]),
}

/// A member of a structure: name, shape, required.
type Member = (&'static str, Shape, bool);

const LAMBDA_INVOKE: &[Member] = &[
    ("StatusCode", Shape::Integer, false),
    ("FunctionError", Shape::String, false),
    ("LogResult", Shape::String, false),
    ("Payload", Shape::Any, false),
    ("ExecutedVersion", Shape::String, false),
];

const START_EXECUTION: &[Member] = &[
    ("ExecutionArn", Shape::String, true),
    ("StartDate", Shape::Timestamp, true),
];

const DESCRIBE_EXECUTION: &[Member] = &[
    ("ExecutionArn", Shape::String, true),
    ("StateMachineArn", Shape::String, true),
    ("Name", Shape::String, false),
    ("Status", Shape::String, true),
    ("StartDate", Shape::Timestamp, true),
    ("StopDate", Shape::Timestamp, false),
    ("Input", Shape::Any, false),
    ("Output", Shape::Any, false),
    ("Error", Shape::String, false),
    ("Cause", Shape::String, false),
    ("StateMachineVersionArn", Shape::String, false),
    ("StateMachineAliasArn", Shape::String, false),
    ("RedriveCount", Shape::Integer, false),
    ("RedriveDate", Shape::Timestamp, false),
];

/// The response shape of a Task resource, when Switchback knows it.
fn response_shape(resource: &str) -> Option<&'static [Member]> {
    let Resource::Integration {
        integration,
        pattern,
        ..
    } = Resource::parse(resource)
    else {
        return None;
    };
    match (integration, pattern) {
        (Integration::LambdaInvoke, Pattern::RequestResponse) => Some(LAMBDA_INVOKE),
        (Integration::StartExecution, Pattern::RequestResponse) => Some(START_EXECUTION),
        (Integration::StartExecution, Pattern::Sync | Pattern::Sync2) => Some(DESCRIBE_EXECUTION),
        _ => None,
    }
}

/// Checks a mocked result for the Task resource; the reason in AWS's words when it does not fit.
pub fn check(resource: &str, result: &Value, mode: FieldValidation) -> Result<(), String> {
    if mode == FieldValidation::None {
        return Ok(());
    }
    let Some(members) = response_shape(resource) else {
        return Ok(());
    };
    check_value(&Shape::Structure(members), None, result, mode)
        .map_err(|reason| format!("Mock result schema validation error: {reason}"))
}

fn check_value(
    shape: &Shape,
    name: Option<&str>,
    value: &Value,
    mode: FieldValidation,
) -> Result<(), String> {
    let field = name.unwrap_or("result");
    let wrong = |kind: &str| Err(format!("Field '{field}' must be {kind}"));
    match shape {
        Shape::Any => Ok(()),
        Shape::String | Shape::Timestamp if !value.is_string() => wrong("a string"),
        Shape::Integer if !value.is_number() => wrong("a number"),
        Shape::String | Shape::Timestamp | Shape::Integer => Ok(()),
        Shape::Structure(members) => {
            let Some(object) = value.as_object() else {
                return wrong("an object");
            };
            for (member, shape, required) in *members {
                match object.get(*member) {
                    Some(value) => check_value(shape, Some(member), value, mode)?,
                    None if *required && mode == FieldValidation::Strict => {
                        return Err(format!("Required field '{member}' is missing"));
                    }
                    None => {}
                }
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const LAMBDA: &str = "arn:aws:states:::lambda:invoke";
    const START: &str = "arn:aws:states:::states:startExecution";

    #[test]
    fn types_and_required_fields_by_mode() {
        let wrong_type = json!({"StatusCode": "200"});
        assert_eq!(
            check(LAMBDA, &wrong_type, FieldValidation::Present),
            Err("Mock result schema validation error: Field 'StatusCode' must be a number".into())
        );
        assert_eq!(check(LAMBDA, &wrong_type, FieldValidation::None), Ok(()));
        assert_eq!(
            check(START, &json!({}), FieldValidation::Strict),
            Err(
                "Mock result schema validation error: Required field 'ExecutionArn' is missing"
                    .into()
            )
        );
        assert_eq!(check(START, &json!({}), FieldValidation::Present), Ok(()));
        assert_eq!(
            check(START, &json!({"StartDate": true}), FieldValidation::Present),
            Err("Mock result schema validation error: Field 'StartDate' must be a string".into())
        );
        // Fields outside the shape, and services whose shapes Switchback does not know, pass.
        assert_eq!(
            check(LAMBDA, &json!({"Extra": 1}), FieldValidation::Strict),
            Ok(())
        );
        let s3 = "arn:aws:states:::aws-sdk:s3:getObject";
        assert_eq!(
            check(s3, &json!({"ContentLength": "9"}), FieldValidation::Strict),
            Ok(())
        );
    }
}
