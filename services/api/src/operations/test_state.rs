//! TestState: one state run once in this API node by `switchback_asl::test_state`; nothing is
//! stored and no scheduler takes part.

use serde::Deserialize;
use serde_json::{Value, json};
use switchback_asl::arn::{Arn, ResourceKind};
use switchback_asl::interpreter::ExecutionInfo;
use switchback_asl::test_state::{self, Mock, TestRefusal, TestRequest};

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
    /// Accepted: no inspection data this version returns holds a secret to hide.
    #[allow(dead_code)]
    reveal_secrets: Option<bool>,
    variables: Option<String>,
    state_name: Option<String>,
    mock: Option<MockInput>,
    context: Option<String>,
    state_configuration: Option<Value>,
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
        .length("roleArn", input.role_arn.as_deref(), 1, 256)
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
    // Not served yet: refused rather than ignored, so that no test passes by accident.
    for (member, given) in [
        ("variables", input.variables.is_some()),
        ("context", input.context.is_some()),
        ("stateConfiguration", input.state_configuration.is_some()),
    ] {
        if given {
            return Err(Error::Validation(format!(
                "The member '{member}' of TestState is not supported by this version of Switchback"
            )));
        }
    }
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
        info,
        now_ms,
        seed: switchback_asl::entropy::seed_from(uuid::Uuid::new_v4().into_bytes()),
    };
    let outcome = test_state::test_state(request).map_err(|refusal| match refusal {
        TestRefusal::StateNotFound => Error::Validation("State not found in definition".to_owned()),
        TestRefusal::Invalid(diagnostics) => Error::InvalidDefinition(
            invalid_definition_message_for(&definition_text, &diagnostics),
        ),
        TestRefusal::Unsupported(message) => Error::Validation(message),
    })?;

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
    if input.inspection_level.as_deref().unwrap_or("INFO") != "INFO" {
        answer["inspectionData"] = json!({ "input": state_input.to_string() });
    }
    Ok(answer)
}

/// The mock as the engine takes it: a result that must be JSON, or an error output.
fn mock_of(mock: MockInput) -> Result<Mock, Error> {
    match (mock.result, mock.error_output) {
        (Some(result), None) => serde_json::from_str(&result)
            .map(Mock::Result)
            .map_err(|_| Error::Validation("Mocked result must be valid JSON".to_owned())),
        (None, Some(output)) => Ok(Mock::Error {
            error: output.error.unwrap_or_default(),
            cause: output.cause.unwrap_or_default(),
        }),
        _ => Err(Error::Validation(
            "A mock must have exactly one of 'result' and 'errorOutput'".to_owned(),
        )),
    }
}
