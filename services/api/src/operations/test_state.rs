//! TestState: one state run once in this API node by `switchback_asl::test_state`; nothing is
//! stored and no scheduler takes part.

use serde::Deserialize;
use serde_json::{Value, json};
use switchback_asl::arn::{Arn, ResourceKind};
use switchback_asl::interpreter::ExecutionInfo;
use switchback_asl::interpreter::probe::Inspection;
use switchback_asl::mock_shapes::FieldValidation;
use switchback_asl::test_state::{Mock, TestRefusal, TestRequest, TestRun};

use super::Context;
use super::state_machines::{MAX_DEFINITION_CHARS, check_role_arn};
use crate::Error;
use crate::input::{Checks, parse};
use switchback_asl::diagnostic::invalid_definition_message_for;

const INSPECTION_LEVELS: [&str; 3] = ["INFO", "DEBUG", "TRACE"];
const VALIDATION_MODES: [&str; 3] = ["STRICT", "PRESENT", "NONE"];

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Input {
    definition: Option<String>,
    role_arn: Option<String>,
    input: Option<String>,
    inspection_level: Option<String>,
    /// Refused: with a mock as AWS does, and otherwise as no caller may see secrets yet.
    reveal_secrets: Option<bool>,
    variables: Option<String>,
    state_name: Option<String>,
    mock: Option<MockInput>,
    context: Option<String>,
    state_configuration: Option<StateConfiguration>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StateConfiguration {
    retrier_retry_count: Option<i64>,
    error_caused_by_state: Option<String>,
    map_iteration_failure_count: Option<i64>,
    map_item_reader_data: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MockInput {
    result: Option<String>,
    error_output: Option<ErrorOutput>,
    field_validation_mode: Option<String>,
}

#[derive(Deserialize)]
struct ErrorOutput {
    error: Option<String>,
    cause: Option<String>,
}

pub async fn test_state(context: &Context<'_>, body: Value) -> Result<Value, Error> {
    let input: Input = parse(body)?;
    let mut checks = Checks::new();
    checks
        .required("definition", &input.definition)
        .length(
            "definition",
            input.definition.as_deref(),
            1,
            MAX_DEFINITION_CHARS,
        )
        .optional_arn("roleArn", &input.role_arn)
        .length("stateName", input.state_name.as_deref(), 1, 80)
        .one_of(
            "inspectionLevel",
            input.inspection_level.as_deref(),
            &INSPECTION_LEVELS,
        );
    if let Some(mock) = &input.mock {
        checks.one_of(
            "mock.fieldValidationMode",
            mock.field_validation_mode.as_deref(),
            &VALIDATION_MODES,
        );
    }
    checks.finish()?;
    if let Some(role) = &input.role_arn {
        check_role_arn(role)?;
    }
    let configuration = input.state_configuration.as_ref();
    let map_items = configuration
        .and_then(|c| c.map_item_reader_data.as_deref())
        .map(|text| {
            serde_json::from_str::<Value>(text).map_err(|_| {
                Error::Validation(
                    "stateConfiguration.mapItemReaderData must be valid JSON".to_owned(),
                )
            })
        })
        .transpose()?;
    let count = |value: Option<i64>, member: &str| {
        value
            .map(|count| {
                u32::try_from(count).map_err(|_| {
                    Error::Validation(format!("stateConfiguration.{member} must not be negative"))
                })
            })
            .transpose()
    };
    let retries_made = count(
        configuration.and_then(|c| c.retrier_retry_count),
        "retrierRetryCount",
    )?;
    let map_iteration_failures = count(
        configuration.and_then(|c| c.map_iteration_failure_count),
        "mapIterationFailureCount",
    )?;
    if input.reveal_secrets == Some(true) {
        if input.mock.is_some() {
            return Err(Error::Validation(
                "TestState does not support RevealSecrets when a mock is specified.".to_owned(),
            ));
        }
        // AWS requires the caller's permission `states:RevealSecrets`. Requests are not
        // authenticated yet, so no caller holds it: the operator's connection secrets stay
        // hidden from whoever can reach the API.
        return Err(Error::AccessDenied(
            "The caller is not authorized to perform states:RevealSecrets: connection secrets are never revealed by this version of Switchback".to_owned(),
        ));
    }
    let variables = match &input.variables {
        None => Default::default(),
        Some(text) => match serde_json::from_str(text) {
            Ok(Value::Object(variables)) => variables,
            _ => {
                return Err(Error::Validation(
                    "Invalid variables: they must be a JSON object".to_owned(),
                ));
            }
        },
    };
    let context_object = input.context.as_deref().map(checked_context).transpose()?;
    let definition_text = input.definition.unwrap_or_default();
    let definition: Value = serde_json::from_str(&definition_text).map_err(|error| {
        Error::InvalidDefinition(format!(
            "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: {error}'"
        ))
    })?;
    let text = input.input.unwrap_or_else(|| "{}".to_owned());
    switchback_asl::start::check_input(&text)?;
    let state_input: Value = serde_json::from_str(&text)
        .map_err(|error| Error::InvalidExecutionInput(error.to_string()))?;
    let field_validation = match input
        .mock
        .as_ref()
        .and_then(|mock| mock.field_validation_mode.as_deref())
    {
        Some("PRESENT") => FieldValidation::Present,
        Some("NONE") => FieldValidation::None,
        // STRICT is the default.
        _ => FieldValidation::Strict,
    };
    let mock = input.mock.map(mock_of).transpose()?;

    let id = uuid::Uuid::new_v4().to_string();
    let machine_arn = Arn::format(
        &context.scope.region,
        &context.scope.account,
        ResourceKind::StateMachine,
        &[&id],
    );
    let (_, execution_arn) = Arn::parse(&machine_arn, ResourceKind::StateMachine)
        .map_err(|error| Error::Internal(error.to_string()))?
        .execution_arns(&id);
    let now = time::OffsetDateTime::now_utc();
    let now_ms = i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or_default();
    let info = ExecutionInfo {
        execution_arn,
        name: id.clone(),
        role_arn: input.role_arn.unwrap_or_default(),
        state_machine_arn: machine_arn,
        state_machine_name: id,
        start_time_ms: now_ms,
        ..Default::default()
    };
    let request = TestRequest {
        definition,
        state_name: input.state_name,
        input: state_input.clone(),
        mock,
        field_validation,
        info,
        context: context_object,
        variables,
        retries_made,
        map_iteration_failures,
        error_caused_by_state: configuration.and_then(|c| c.error_caused_by_state.clone()),
        map_items,
        now_ms,
        seed: switchback_asl::entropy::seed_from(uuid::Uuid::new_v4().into_bytes()),
    };
    let mut run = TestRun::start(request).map_err(|refusal| match refusal {
        TestRefusal::StateNotFound => Error::Validation("State not found in definition".to_owned()),
        TestRefusal::Invalid(diagnostics) => Error::InvalidDefinition(
            invalid_definition_message_for(&definition_text, &diagnostics),
        ),
        TestRefusal::NotTestable(message) => Error::InvalidDefinition(message),
        TestRefusal::Refused(message) | TestRefusal::Unsupported(message) => {
            Error::Validation(message)
        }
    })?;
    // A Task without a mock makes its call from here, as a scheduler would.
    let mut exchange = None;
    if let Some(invocation) = run.call_to_make().cloned() {
        let (outcome, traced) = context.state.invoker.call_traced(&invocation).await;
        exchange = traced;
        run.answer(&outcome.into_event(&invocation, invocation.task_id));
    }
    let outcome = run.finish();

    let mut answer = json!({ "status": outcome.status.as_str() });
    if let Some(output) = &outcome.output {
        answer["output"] = Value::from(output.to_string());
    }
    if let Some(next) = outcome.next_state {
        answer["nextState"] = Value::from(next);
    }
    if let Some(error) = outcome.error {
        answer["error"] = Value::from(error);
    }
    if let Some(cause) = outcome.cause {
        answer["cause"] = Value::from(cause);
    }
    let level = input.inspection_level.as_deref().unwrap_or("INFO");
    if level != "INFO" {
        answer["inspectionData"] = inspection_data(&state_input, &outcome.inspection);
    }
    if let (Some(exchange), "TRACE") = (&exchange, level) {
        answer["inspectionData"]["request"] = json!({
            "protocol": exchange.request.protocol,
            "method": exchange.request.method,
            "url": exchange.request.url,
            "headers": exchange.request.headers,
            "body": exchange.request.body,
        });
        if let Some(response) = &exchange.response {
            answer["inspectionData"]["response"] = json!({
                "protocol": response.protocol,
                "statusCode": response.status_code,
                "statusMessage": response.status_message,
                "headers": response.headers,
                "body": response.body,
            });
        }
    }
    Ok(answer)
}

/// `inspectionData`: each value as JSON text (botocore's `SensitiveData`), the numbers as
/// numbers, and `errorDetails` when a retrier or catcher took the error.
fn inspection_data(input: &Value, inspection: &Inspection) -> Value {
    let mut data = json!({ "input": input.to_string() });
    for (member, value) in [
        ("afterInputPath", &inspection.after_input_path),
        ("afterParameters", &inspection.after_parameters),
        ("afterArguments", &inspection.after_arguments),
        ("result", &inspection.result),
        ("afterResultSelector", &inspection.after_result_selector),
        ("afterResultPath", &inspection.after_result_path),
        ("afterItemsPath", &inspection.after_items_path),
        ("variables", &inspection.variables),
    ] {
        if let Some(value) = value {
            data[member] = Value::from(value.to_string());
        }
    }
    if let Some(n) = inspection.max_concurrency {
        data["maxConcurrency"] = Value::from(n);
    }
    if let Some(n) = inspection.tolerated_failure_count {
        data["toleratedFailureCount"] = Value::from(n);
    }
    if let Some(p) = inspection.tolerated_failure_percentage {
        data["toleratedFailurePercentage"] = Value::from(p);
    }
    let mut details = serde_json::Map::new();
    if let Some(index) = inspection.retry_index {
        details.insert("retryIndex".into(), Value::from(index));
    }
    if let Some(seconds) = inspection.retry_backoff_seconds {
        details.insert("retryBackoffIntervalSeconds".into(), Value::from(seconds));
    }
    if let Some(index) = inspection.catch_index {
        details.insert("catchIndex".into(), Value::from(index));
    }
    if !details.is_empty() {
        data["errorDetails"] = Value::Object(details);
    }
    data
}

/// The fields a test's context object may give, by object, with whether each must be a string
/// (AWS's rules and words for `context`).
const CONTEXT_FIELDS: [(&str, &[(&str, bool)]); 4] = [
    (
        "Execution",
        &[
            ("Id", true),
            ("Input", false),
            ("Name", true),
            ("RoleArn", true),
            ("StartTime", true),
            ("RedriveCount", false),
            ("RedriveTime", true),
        ],
    ),
    (
        "State",
        &[("Name", true), ("EnteredTime", true), ("RetryCount", false)],
    ),
    ("StateMachine", &[("Id", true), ("Name", true)]),
    ("Task", &[("Token", true)]),
];

/// The test's context object, checked as AWS checks it.
fn checked_context(text: &str) -> Result<Value, Error> {
    let invalid =
        |reason: String| Error::Validation(format!("Invalid Context object provided: {reason}"));
    let context: Value =
        serde_json::from_str(text).map_err(|_| invalid("it must be a JSON object".to_owned()))?;
    let Some(objects) = context.as_object() else {
        return Err(invalid("it must be a JSON object".to_owned()));
    };
    for (name, value) in objects {
        if name == "Map" {
            return Err(invalid(
                "'Map' field is not supported when mocking a Context object".to_owned(),
            ));
        }
        let Some((_, fields)) = CONTEXT_FIELDS.iter().find(|(object, _)| object == name) else {
            return Err(invalid(format!("Field '{name}' is not allowed")));
        };
        let Some(members) = value.as_object() else {
            return Err(invalid(format!("{name} must be an object")));
        };
        for (field, member) in members {
            let Some((_, string)) = fields.iter().find(|(known, _)| known == field) else {
                return Err(invalid(format!("Field '{field}' is not allowed")));
            };
            if *string && !member.is_string() {
                return Err(invalid(format!("{name}.{field} must be a string")));
            }
        }
    }
    Ok(context)
}

/// The mock as the engine takes it: a result that must be JSON, or an error output.
fn mock_of(mock: MockInput) -> Result<Mock, Error> {
    match (mock.result, mock.error_output) {
        (Some(text), None) => match serde_json::from_str(&text) {
            Ok(value) => Ok(Mock::Result { value, text }),
            Err(_) => Err(Error::Validation(
                "Mocked result must be valid JSON".to_owned(),
            )),
        },
        (None, Some(output)) => Ok(Mock::Error {
            error: output.error.unwrap_or_default(),
            cause: output.cause.unwrap_or_default(),
        }),
        _ => Err(Error::Validation(
            "A test mock should have only one of the following fields: [result, errorOutput]."
                .to_owned(),
        )),
    }
}
