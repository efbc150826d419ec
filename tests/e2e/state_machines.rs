use aws_sdk_sfn::types::{LogLevel, LoggingConfiguration, StateMachineStatus, StateMachineType};
use switchback_tests::TestApp;

use crate::error_code;

const ROLE: &str = "arn:aws:iam::123456789012:role/sfn";

fn pass_machine(result: &str) -> String {
    format!(
        r#"{{"StartAt": "P", "States": {{"P": {{"Type": "Pass", "Result": "{result}", "End": true}}}}}}"#
    )
}

#[tokio::test]
async fn create_describe_list_delete() {
    let app = TestApp::spawn().await;
    let definition = pass_machine("x");
    let created = app
        .client
        .create_state_machine()
        .name("orders")
        .definition(&definition)
        .role_arn(ROLE)
        .send()
        .await
        .unwrap();
    let arn = created.state_machine_arn().to_owned();
    assert_eq!(
        arn,
        "arn:aws:states:us-east-1:123456789012:stateMachine:orders"
    );
    assert!(created.state_machine_version_arn().is_none());

    let described = app
        .client
        .describe_state_machine()
        .state_machine_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(described.name(), "orders");
    assert_eq!(
        described.definition(),
        definition,
        "the definition comes back exactly as sent"
    );
    assert_eq!(described.role_arn(), ROLE);
    assert_eq!(described.r#type(), &StateMachineType::Standard);
    assert_eq!(described.status(), Some(&StateMachineStatus::Active));
    assert_eq!(described.creation_date(), created.creation_date());
    let logging = described
        .logging_configuration()
        .expect("logging configuration");
    assert_eq!(logging.level(), Some(&LogLevel::Off));
    assert!(!logging.include_execution_data());
    assert_eq!(
        described.tracing_configuration().map(|t| t.enabled()),
        Some(false)
    );
    assert!(described.encryption_configuration().is_none());
    assert!(described.revision_id().is_none());

    let listed = app.client.list_state_machines().send().await.unwrap();
    assert_eq!(listed.state_machines().len(), 1);
    let item = &listed.state_machines()[0];
    assert_eq!(item.state_machine_arn(), arn);
    assert_eq!(item.name(), "orders");
    assert_eq!(item.r#type(), &StateMachineType::Standard);

    app.client
        .delete_state_machine()
        .state_machine_arn(&arn)
        .send()
        .await
        .unwrap();
    let (code, message) = error_code(
        app.client
            .describe_state_machine()
            .state_machine_arn(&arn)
            .send()
            .await,
    );
    assert_eq!(code, "StateMachineDoesNotExist");
    assert_eq!(message, format!("State Machine Does Not Exist: '{arn}'"));
    assert!(
        app.client
            .list_state_machines()
            .send()
            .await
            .unwrap()
            .state_machines()
            .is_empty()
    );
    // Deleting a machine that never existed succeeds, as in AWS.
    app.client
        .delete_state_machine()
        .state_machine_arn("arn:aws:states:us-east-1:123456789012:stateMachine:never")
        .send()
        .await
        .unwrap();
    app.stop().await;
}

#[tokio::test]
async fn create_is_idempotent_only_for_the_same_machine() {
    let app = TestApp::spawn().await;
    let create = |definition: String| {
        app.client
            .create_state_machine()
            .name("dup")
            .definition(definition)
            .role_arn(ROLE)
            .send()
    };
    let first = create(pass_machine("a")).await.unwrap();
    let again = create(pass_machine("a")).await.unwrap();
    assert_eq!(first.state_machine_arn(), again.state_machine_arn());
    assert_eq!(first.creation_date(), again.creation_date());

    let (code, message) = error_code(create(pass_machine("b")).await);
    assert_eq!(code, "StateMachineAlreadyExists");
    assert_eq!(
        message,
        format!(
            "State Machine Already Exists: '{}'",
            first.state_machine_arn()
        )
    );
    // The same definition formatted differently is a different definition.
    let pretty = serde_json::to_string_pretty(
        &serde_json::from_str::<serde_json::Value>(&pass_machine("a")).unwrap(),
    )
    .unwrap();
    let (code, _) = error_code(create(pretty).await);
    assert_eq!(code, "StateMachineAlreadyExists");
    // Another type is another machine too.
    let (code, _) = error_code(
        app.client
            .create_state_machine()
            .name("dup")
            .definition(pass_machine("a"))
            .role_arn(ROLE)
            .r#type(StateMachineType::Express)
            .send()
            .await,
    );
    assert_eq!(code, "StateMachineAlreadyExists");
    app.stop().await;
}

#[tokio::test]
async fn options_are_stored_and_described() {
    let app = TestApp::spawn().await;
    let logging = LoggingConfiguration::builder()
        .level(LogLevel::Error)
        .include_execution_data(true)
        .destinations(
            aws_sdk_sfn::types::LogDestination::builder()
                .cloud_watch_logs_log_group(
                    aws_sdk_sfn::types::CloudWatchLogsLogGroup::builder()
                        .log_group_arn("arn:aws:logs:us-east-1:123456789012:log-group:g:*")
                        .build(),
                )
                .build(),
        )
        .build();
    let created = app
        .client
        .create_state_machine()
        .name("express")
        .definition(pass_machine("e"))
        .role_arn(ROLE)
        .r#type(StateMachineType::Express)
        .logging_configuration(logging)
        .tracing_configuration(
            aws_sdk_sfn::types::TracingConfiguration::builder()
                .enabled(true)
                .build(),
        )
        .tags(
            aws_sdk_sfn::types::Tag::builder()
                .key("team")
                .value("payments")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let described = app
        .client
        .describe_state_machine()
        .state_machine_arn(created.state_machine_arn())
        .send()
        .await
        .unwrap();
    assert_eq!(described.r#type(), &StateMachineType::Express);
    let logging = described.logging_configuration().unwrap();
    assert_eq!(logging.level(), Some(&LogLevel::Error));
    assert!(logging.include_execution_data());
    assert_eq!(logging.destinations().len(), 1);
    assert_eq!(
        described.tracing_configuration().map(|t| t.enabled()),
        Some(true)
    );

    // A log level other than OFF needs a destination.
    let (code, _) = error_code(
        app.client
            .create_state_machine()
            .name("nolog")
            .definition(pass_machine("e"))
            .role_arn(ROLE)
            .logging_configuration(LoggingConfiguration::builder().level(LogLevel::All).build())
            .send()
            .await,
    );
    assert_eq!(code, "InvalidLoggingConfiguration");
    app.stop().await;
}

#[tokio::test]
async fn invalid_definitions_are_rejected_in_aws_words() {
    let app = TestApp::spawn().await;
    let create = |name: &'static str, definition: &'static str| {
        app.client
            .create_state_machine()
            .name(name)
            .definition(definition)
            .role_arn(ROLE)
            .send()
    };
    let (code, message) = error_code(create("m1", r#"{"StartAt": "A"}"#).await);
    assert_eq!(code, "InvalidDefinition");
    assert_eq!(
        message,
        "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: These fields are required: [States] at /'"
    );
    let (code, message) = error_code(create("m2", "{not json").await);
    assert_eq!(code, "InvalidDefinition");
    assert!(message.contains("INVALID_JSON_DESCRIPTION"), "{message}");
    let (code, message) = error_code(
        create(
            "m3",
            r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Nowhere"}}}"#,
        )
        .await,
    );
    assert_eq!(code, "InvalidDefinition");
    assert!(message.contains("Nowhere"), "{message}");
    let (code, _) = error_code(
        create(
            "m4",
            r#"{"StartAt": "A", "States": {"A": {"Type": "Teleport", "End": true}}}"#,
        )
        .await,
    );
    assert_eq!(code, "InvalidDefinition");
    let (code, _) = error_code(
        create(
            "m5",
            r#"{"StartAt": "B", "States": {"A": {"Type": "Succeed"}}}"#,
        )
        .await,
    );
    assert_eq!(code, "InvalidDefinition");
    // Nothing was stored by any of these.
    assert!(
        app.client
            .list_state_machines()
            .send()
            .await
            .unwrap()
            .state_machines()
            .is_empty()
    );
    app.stop().await;
}

#[tokio::test]
async fn request_members_are_checked() {
    let app = TestApp::spawn().await;
    let (code, message) = error_code(
        app.client
            .create_state_machine()
            .name("m")
            .definition(pass_machine("x"))
            .role_arn(ROLE)
            .version_description("v1")
            .send()
            .await,
    );
    assert_eq!(code, "ValidationException");
    assert_eq!(
        message,
        "Version description can only be set when publish is true"
    );
    let (code, _) = error_code(
        app.client
            .create_state_machine()
            .name("m")
            .definition(pass_machine("x"))
            .role_arn("not-an-arn")
            .send()
            .await,
    );
    assert_eq!(code, "InvalidArn");
    let (code, _) = error_code(
        app.client
            .create_state_machine()
            .name("bad name")
            .definition(pass_machine("x"))
            .role_arn(ROLE)
            .send()
            .await,
    );
    assert_eq!(code, "InvalidName");
    let (code, message) = error_code(
        app.client
            .describe_state_machine()
            .state_machine_arn("arn:aws:states:us-east-1:123456789012:activity:a")
            .send()
            .await,
    );
    assert_eq!(code, "InvalidArn");
    assert_eq!(
        message,
        "Invalid Arn: 'Resource type not valid in this context: activity'"
    );
    app.stop().await;
}

#[tokio::test]
async fn list_pages_in_creation_order() {
    let app = TestApp::spawn().await;
    for i in 0..5 {
        app.client
            .create_state_machine()
            .name(format!("m{i}"))
            .definition(pass_machine("x"))
            .role_arn(ROLE)
            .send()
            .await
            .unwrap();
    }
    let mut names = Vec::new();
    let mut token = None;
    loop {
        let page = app
            .client
            .list_state_machines()
            .max_results(2)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        names.extend(page.state_machines().iter().map(|m| m.name().to_owned()));
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(names, ["m0", "m1", "m2", "m3", "m4"]);
    app.stop().await;
}

#[tokio::test]
async fn validate_definition_reports_every_diagnostic() {
    use aws_sdk_sfn::types::{
        ValidateStateMachineDefinitionResultCode as Result,
        ValidateStateMachineDefinitionSeverity as Severity,
    };
    let app = TestApp::spawn().await;
    let ok = app
        .client
        .validate_state_machine_definition()
        .definition(pass_machine("x"))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.result(), &Result::Ok);
    assert!(ok.diagnostics().is_empty());

    let bad = app
        .client
        .validate_state_machine_definition()
        .definition(r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "X"}, "B": {"Type": "Teleport"}}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.result(), &Result::Fail);
    assert!(bad.diagnostics().len() >= 2, "{:?}", bad.diagnostics());
    assert!(
        bad.diagnostics()
            .iter()
            .all(|d| d.severity() == &Severity::Error)
    );
    assert!(
        bad.diagnostics()
            .iter()
            .any(|d| d.location() == Some("/States/B/Type"))
    );
    assert!(!bad.truncated().unwrap_or(true));

    let one = app
        .client
        .validate_state_machine_definition()
        .definition("{}")
        .max_results(1)
        .send()
        .await
        .unwrap();
    assert_eq!(one.diagnostics().len(), 1);
    assert_eq!(
        one.diagnostics()[0].message(),
        "These fields are required: [States, StartAt]"
    );
    app.stop().await;
}
