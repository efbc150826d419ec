//! TestState's check of a mocked result against the response shape of the service call it
//! stands for (`mock.fieldValidationMode`), for the integrations Switchback runs. STRICT checks
//! the types of the fields given and that the required ones are there; PRESENT only the types;
//! NONE nothing. Fields the shape does not name pass (AWS accepts them too).
//!
//! The shapes are those of the responses Step Functions passes on, in its PascalCase: Lambda's
//! `Invoke`, and Step Functions' `StartExecution` and (for `.sync`) `DescribeExecution`, written
//! here; and those of common AWS calls Switchback does not make but whose mocks it checks
//! (DynamoDB's item calls, EventBridge's `PutEvents`, SNS, SQS, and `aws-sdk` calls of S3, KMS,
//! Secrets Manager, SSM), generated from botocore's models into `mock_shapes/aws.rs` by
//! `services/asl/tools/response_shapes.py`. Blobs and timestamps are strings in AWS's JSON.

use serde_json::Value;

use crate::resource::{Integration, Pattern, Resource};

/// How strictly a mock is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldValidation {
    Strict,
    Present,
    None,
}

mod aws;

#[derive(Debug, Clone, Copy)]
enum Shape {
    /// A string, a blob or a timestamp: AWS's JSON carries all three as text.
    String,
    /// One of these strings.
    Enum(&'static [&'static str]),
    /// An integer, a long, a float or a double.
    Number,
    Boolean,
    /// Any JSON value (a Lambda function's payload, a recursive shape past its depth).
    Any,
    List(&'static Shape),
    /// An object whose values all have this shape.
    Map(&'static Shape),
    Structure(&'static [Member]),
}

/// A member of a structure: name, shape, required.
type Member = (&'static str, Shape, bool);

const LAMBDA_INVOKE: &[Member] = &[
    ("StatusCode", Shape::Number, false),
    ("FunctionError", Shape::String, false),
    ("LogResult", Shape::String, false),
    ("Payload", Shape::Any, false),
    ("ExecutedVersion", Shape::String, false),
];

const START_EXECUTION: &[Member] = &[
    ("ExecutionArn", Shape::String, true),
    ("StartDate", Shape::String, true),
];

const DESCRIBE_EXECUTION: &[Member] = &[
    ("ExecutionArn", Shape::String, true),
    ("StateMachineArn", Shape::String, true),
    ("Name", Shape::String, false),
    ("Status", Shape::String, true),
    ("StartDate", Shape::String, true),
    ("StopDate", Shape::String, false),
    ("Input", Shape::Any, false),
    ("Output", Shape::Any, false),
    ("Error", Shape::String, false),
    ("Cause", Shape::String, false),
    ("StateMachineVersionArn", Shape::String, false),
    ("StateMachineAliasArn", Shape::String, false),
    ("RedriveCount", Shape::Number, false),
    ("RedriveDate", Shape::String, false),
];

/// The response shape of a Task resource, when Switchback knows it.
fn response_shape(resource: &str) -> Option<&'static [Member]> {
    let Resource::Integration {
        integration,
        service,
        action,
        pattern,
    } = Resource::parse(resource)
    else {
        return None;
    };
    match (integration, pattern) {
        (Integration::LambdaInvoke, Pattern::RequestResponse) => Some(LAMBDA_INVOKE),
        (Integration::StartExecution, Pattern::RequestResponse) => Some(START_EXECUTION),
        (Integration::StartExecution, Pattern::Sync | Pattern::Sync2) => Some(DESCRIBE_EXECUTION),
        (Integration::Unsupported, Pattern::RequestResponse) => aws::response(&service, &action),
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
        Shape::String | Shape::Enum(_) if !value.is_string() => wrong("a string"),
        Shape::Enum(values) if !values.iter().any(|v| Some(*v) == value.as_str()) => {
            Err(format!("Field '{field}' is not an expected value"))
        }
        Shape::Number if !value.is_number() => wrong("a number"),
        Shape::Boolean if !value.is_boolean() => wrong("a boolean"),
        Shape::String | Shape::Enum(_) | Shape::Number | Shape::Boolean => Ok(()),
        Shape::List(element) => {
            let Some(items) = value.as_array() else {
                return wrong("an array");
            };
            items
                .iter()
                .try_for_each(|item| check_value(element, name, item, mode))
        }
        Shape::Map(entry) => {
            let Some(object) = value.as_object() else {
                return wrong("an object");
            };
            object
                .iter()
                .try_for_each(|(key, item)| check_value(entry, Some(key), item, mode))
        }
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
        // Fields outside the shape, and calls whose shapes Switchback does not know, pass.
        assert_eq!(
            check(LAMBDA, &json!({"Extra": 1}), FieldValidation::Strict),
            Ok(())
        );
        let glue = "arn:aws:states:::aws-sdk:glue:getJob";
        assert_eq!(
            check(glue, &json!({"Job": "9"}), FieldValidation::Strict),
            Ok(())
        );
    }

    #[test]
    fn generated_shapes_check_numbers_enums_lists_and_maps() {
        let error = |text: &str| Err(format!("Mock result schema validation error: {text}"));
        let s3 = "arn:aws:states:::aws-sdk:s3:getObject";
        let strict = FieldValidation::Strict;
        assert_eq!(
            check(s3, &json!({"ContentLength": "9"}), strict),
            error("Field 'ContentLength' must be a number")
        );
        assert_eq!(
            check(s3, &json!({"StorageClass": "Papyrus"}), strict),
            error("Field 'StorageClass' is not an expected value")
        );
        assert_eq!(
            check(
                s3,
                &json!({"ContentLength": 9, "StorageClass": "STANDARD", "Metadata": {"a": "b"}}),
                strict
            ),
            Ok(())
        );
        assert_eq!(
            check(s3, &json!({"Metadata": {"a": 1}}), strict),
            error("Field 'a' must be a string")
        );
        let events = "arn:aws:states:::events:putEvents";
        assert_eq!(
            check(events, &json!({"Entries": "x"}), strict),
            error("Field 'Entries' must be an array")
        );
        assert_eq!(
            check(
                events,
                &json!({"Entries": [{"EventId": "a"}, {"EventId": ["b"]}]}),
                strict
            ),
            error("Field 'EventId' must be a string")
        );
        // DynamoDB's recursive AttributeValue is checked to a depth, and anything past it passes.
        let put = "arn:aws:states:::dynamodb:putItem";
        let deep = json!({"Attributes": {"k": {"M": {"a": {"M": {"b": {"M": {"c": {"M": {"d": {"S": 1}}}}}}}}}}});
        assert_eq!(check(put, &deep, strict), Ok(()));
        let get = "arn:aws:states:::dynamodb:getItem";
        assert_eq!(
            check(get, &json!({"Item": {"k": {"M": {"a": {"S": 1}}}}}), strict),
            error("Field 'S' must be a string")
        );
        assert_eq!(
            check(put, &json!({"Attributes": {"k": {"BOOL": "yes"}}}), strict),
            error("Field 'BOOL' must be a boolean")
        );
        // Only request-response answers with the service's response.
        let callback = "arn:aws:states:::sqs:sendMessage.waitForTaskToken";
        assert_eq!(check(callback, &json!({"MessageId": 1}), strict), Ok(()));
    }
}
