use aws_sdk_sfn::types::{
    EncryptionConfiguration, EncryptionType, LogLevel, LoggingConfiguration, StateMachineStatus,
    StateMachineType, Tag, TracingConfiguration,
};
use serde_json::json;
use switchback_tests::{TestApp, raw};

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
    // AWS names the key it encrypts with even when none was chosen.
    assert_eq!(
        described.encryption_configuration().map(|e| e.r#type()),
        Some(&EncryptionType::AwsOwnedKey)
    );
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
    // An ARN whose account is not 12 digits names no role.
    let (code, message) = error_code(
        app.client
            .create_state_machine()
            .name("m")
            .definition(pass_machine("x"))
            .role_arn("arn:aws:iam::1234:role/r")
            .send()
            .await,
    );
    assert_eq!(code, "InvalidArn");
    assert_eq!(message, "Invalid Role Arn: 'arn:aws:iam::1234:role/r'");
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

fn log_group(name: &str) -> LoggingConfiguration {
    LoggingConfiguration::builder()
        .level(LogLevel::Error)
        .destinations(
            aws_sdk_sfn::types::LogDestination::builder()
                .cloud_watch_logs_log_group(
                    aws_sdk_sfn::types::CloudWatchLogsLogGroup::builder()
                        .log_group_arn(format!(
                            "arn:aws:logs:us-east-1:123456789012:log-group:{name}:*"
                        ))
                        .build(),
                )
                .build(),
        )
        .build()
}

fn tracing(enabled: bool) -> TracingConfiguration {
    TracingConfiguration::builder().enabled(enabled).build()
}

fn customer_key(key: Option<&str>) -> EncryptionConfiguration {
    EncryptionConfiguration::builder()
        .r#type(EncryptionType::CustomerManagedKmsKey)
        .set_kms_key_id(key.map(str::to_owned))
        .kms_data_key_reuse_period_seconds(300)
        .build()
        .expect("an encryption type")
}

/// CreateStateMachine is "idempotent as AWS (same definition, type, logging, tracing,
/// encryption)" (docs/compatibility.md): a second create that differs only in its role or tags
/// answers with the first machine and changes neither, defaults given explicitly are the
/// defaults, and another logging, tracing or encryption configuration is another machine
/// (`StateMachineAlreadyExists`).
#[tokio::test]
async fn create_is_idempotent_over_logging_tracing_and_encryption() {
    let app = TestApp::spawn().await;
    let key = "arn:aws:kms:us-east-1:123456789012:key/1111-2222";
    let create = |role: &str,
                  tag: &str,
                  logging: LoggingConfiguration,
                  tracing: TracingConfiguration,
                  encryption: EncryptionConfiguration| {
        app.client
            .create_state_machine()
            .name("configured")
            .definition(pass_machine("c"))
            .role_arn(role)
            .logging_configuration(logging)
            .tracing_configuration(tracing)
            .encryption_configuration(encryption)
            .tags(Tag::builder().key("team").value(tag).build())
            .send()
    };
    let first = create(
        ROLE,
        "a",
        log_group("g"),
        tracing(true),
        customer_key(Some(key)),
    )
    .await
    .unwrap();
    let other_role = "arn:aws:iam::123456789012:role/other";
    let again = create(
        other_role,
        "b",
        log_group("g"),
        tracing(true),
        customer_key(Some(key)),
    )
    .await
    .unwrap();
    assert_eq!(again.state_machine_arn(), first.state_machine_arn());
    assert_eq!(again.creation_date(), first.creation_date());
    let described = app
        .client
        .describe_state_machine()
        .state_machine_arn(first.state_machine_arn())
        .send()
        .await
        .unwrap();
    assert_eq!(described.role_arn(), ROLE, "the role is not updated");
    let encryption = described
        .encryption_configuration()
        .expect("the encryption configuration given");
    assert_eq!(encryption.r#type(), &EncryptionType::CustomerManagedKmsKey);
    assert_eq!(encryption.kms_key_id(), Some(key));
    assert_eq!(encryption.kms_data_key_reuse_period_seconds(), Some(300));

    let arn = first.state_machine_arn().to_owned();
    let differs = [
        (
            "logging",
            create(
                ROLE,
                "a",
                log_group("elsewhere"),
                tracing(true),
                customer_key(Some(key)),
            )
            .await,
        ),
        (
            "tracing",
            create(
                ROLE,
                "a",
                log_group("g"),
                tracing(false),
                customer_key(Some(key)),
            )
            .await,
        ),
        (
            "encryption",
            create(
                ROLE,
                "a",
                log_group("g"),
                tracing(true),
                customer_key(Some("arn:aws:kms:us-east-1:123456789012:key/3333-4444")),
            )
            .await,
        ),
    ];
    for (what, result) in differs {
        let (code, message) = error_code(result);
        assert_eq!(code, "StateMachineAlreadyExists", "another {what}");
        assert_eq!(message, format!("State Machine Already Exists: '{arn}'"));
    }

    // Logging OFF and tracing disabled, given explicitly, are what a create without them gets.
    let plain = app
        .client
        .create_state_machine()
        .name("plain")
        .definition(pass_machine("p"))
        .role_arn(ROLE)
        .send()
        .await
        .unwrap();
    let explicit = app
        .client
        .create_state_machine()
        .name("plain")
        .definition(pass_machine("p"))
        .role_arn(ROLE)
        .logging_configuration(
            LoggingConfiguration::builder()
                .level(LogLevel::Off)
                .include_execution_data(false)
                .build(),
        )
        .tracing_configuration(tracing(false))
        .send()
        .await
        .unwrap();
    assert_eq!(explicit.state_machine_arn(), plain.state_machine_arn());
    assert_eq!(explicit.creation_date(), plain.creation_date());
    let (code, _) = error_code(
        app.client
            .create_state_machine()
            .name("plain")
            .definition(pass_machine("p"))
            .role_arn(ROLE)
            .tracing_configuration(tracing(true))
            .send()
            .await,
    );
    assert_eq!(code, "StateMachineAlreadyExists");
    assert_eq!(
        app.client
            .list_state_machines()
            .send()
            .await
            .unwrap()
            .state_machines()
            .len(),
        2
    );
    app.stop().await;
}

/// `InvalidEncryptionConfiguration` ("`CUSTOMER_MANAGED_KMS_KEY` without `kmsKeyId`, or
/// `AWS_OWNED_KEY` with one") and `InvalidTracingConfiguration` ("`enabled` that is not a
/// boolean", docs/compatibility.md's errors table) on CreateStateMachine; nothing is stored.
#[tokio::test]
async fn encryption_and_tracing_configurations_are_checked() {
    let app = TestApp::spawn().await;
    let create = |encryption: EncryptionConfiguration| {
        app.client
            .create_state_machine()
            .name("encrypted")
            .definition(pass_machine("e"))
            .role_arn(ROLE)
            .encryption_configuration(encryption)
            .send()
    };
    let (code, message) = error_code(create(customer_key(None)).await);
    assert_eq!(code, "InvalidEncryptionConfiguration");
    assert!(message.contains("kmsKeyId"), "{message}");
    let aws_owned_with_a_key = EncryptionConfiguration::builder()
        .r#type(EncryptionType::AwsOwnedKey)
        .kms_key_id("arn:aws:kms:us-east-1:123456789012:key/1111-2222")
        .build()
        .unwrap();
    let (code, message) = error_code(create(aws_owned_with_a_key).await);
    assert_eq!(code, "InvalidEncryptionConfiguration");
    assert!(message.contains("kmsKeyId"), "{message}");

    // No SDK sends a tracing flag that is not a boolean; a hand-written request can.
    for enabled in [json!("true"), json!(1), json!({})] {
        let body = json!({
            "name": "traced",
            "definition": pass_machine("t"),
            "roleArn": ROLE,
            "tracingConfiguration": {"enabled": enabled},
        });
        let response = raw::post(
            app.address,
            Some("AWSStepFunctions.CreateStateMachine"),
            body.to_string().as_bytes(),
        )
        .await;
        assert_eq!(response.status, 400, "{enabled}: {}", response.body);
        assert_eq!(
            response.json()["__type"],
            "InvalidTracingConfiguration",
            "{enabled}"
        );
    }
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

/// StateMachineDeleting: "CreateStateMachine ... on a machine being deleted"
/// (docs/compatibility.md's errors table). Whatever the new definition, the name is refused
/// while the last execution of the old machine runs, and free again once it ended.
#[tokio::test]
async fn create_while_the_name_is_being_deleted_answers_state_machine_deleting() {
    let app = TestApp::spawn().await;
    let waiting =
        r#"{"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 600, "End": true}}}"#;
    let created = app
        .client
        .create_state_machine()
        .name("leaving")
        .definition(waiting)
        .role_arn(ROLE)
        .send()
        .await
        .unwrap();
    let arn = created.state_machine_arn().to_owned();
    let execution = app
        .client
        .start_execution()
        .state_machine_arn(&arn)
        .send()
        .await
        .unwrap();
    app.client
        .delete_state_machine()
        .state_machine_arn(&arn)
        .send()
        .await
        .unwrap();
    for definition in [waiting.to_owned(), pass_machine("new")] {
        let (code, message) = error_code(
            app.client
                .create_state_machine()
                .name("leaving")
                .definition(definition)
                .role_arn(ROLE)
                .send()
                .await,
        );
        assert_eq!(code, "StateMachineDeleting");
        assert!(message.contains(&arn), "{message}");
    }
    // The last execution ends: the old machine goes, and the name can be taken again.
    app.client
        .stop_execution()
        .execution_arn(execution.execution_arn())
        .send()
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while app
        .client
        .describe_state_machine()
        .state_machine_arn(&arn)
        .send()
        .await
        .is_ok()
    {
        assert!(std::time::Instant::now() < deadline, "{arn} is still there");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let again = app
        .client
        .create_state_machine()
        .name("leaving")
        .definition(pass_machine("new"))
        .role_arn(ROLE)
        .send()
        .await
        .unwrap();
    assert_eq!(again.state_machine_arn(), arn);
    let described = app
        .client
        .describe_state_machine()
        .state_machine_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(described.definition(), pass_machine("new"));
    assert_eq!(described.status(), Some(&StateMachineStatus::Active));
    app.stop().await;
}

/// `switchback validate FILE` shares CreateStateMachine's validator (docs/compatibility.md,
/// validation; docs/operations.md: "exit code 1 when any is an error"): a valid file exits 0
/// and says so, an invalid one prints every diagnostic in AWS's words (code, message,
/// location) and exits 1, `--express` applies the EXPRESS rules, and an unreadable file fails.
#[test]
fn the_validate_command_prints_every_diagnostic_in_aws_words() {
    let directory =
        std::env::temp_dir().join(format!("switchback-validate-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&directory).unwrap();
    let write = |name: &str, definition: &str| {
        let path = directory.join(name);
        std::fs::write(&path, definition).unwrap();
        path
    };
    let validate = |args: &[&std::ffi::OsStr]| {
        let output = std::process::Command::new(switchback_tests::processes::binary())
            .arg("validate")
            .args(args)
            .env("SWITCHBACK__LOG__FILTER", "off")
            .output()
            .expect("run switchback validate");
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };

    let good = write("good.json", &pass_machine("x"));
    let (code, stdout, _) = validate(&[good.as_os_str()]);
    assert_eq!(code, Some(0), "{stdout}");
    assert_eq!(stdout, format!("{}: valid\n", good.display()));

    let bad = write(
        "bad.json",
        r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Nowhere"}, "B": {"Type": "Teleport"}}}"#,
    );
    let (code, stdout, _) = validate(&[bad.as_os_str()]);
    assert_eq!(code, Some(1), "{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines,
        [
            "error: SCHEMA_VALIDATION_FAILED: The field 'Type' should have one of these values: \
             [Task, Wait, Pass, Succeed, Fail, Choice, Parallel, Map] at /States/B/Type",
            "error: MISSING_TRANSITION_TARGET: Missing 'Next' target: Nowhere at /States/A/Next",
            // AWS gives this one no location, and renders it `at null`.
            "error: MISSING_END_STATE: Workflow has no terminal state at null",
            &format!("{}: 3 error(s)", bad.display()),
        ]
    );

    // The EXPRESS rules: no `.sync` integration pattern (AWS's words, as CreateStateMachine's).
    let sync = write(
        "sync.json",
        r#"{"StartAt": "S", "States": {"S": {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync", "Parameters": {"StateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:m"}, "End": true}}}"#,
    );
    let (code, stdout, _) = validate(&[sync.as_os_str()]);
    assert_eq!(code, Some(0), "STANDARD allows .sync: {stdout}");
    let (code, stdout, _) = validate(&["--express".as_ref(), sync.as_os_str()]);
    assert_eq!(code, Some(1), "{stdout}");
    assert_eq!(
        stdout.lines().collect::<Vec<_>>(),
        [
            "error: SCHEMA_VALIDATION_FAILED: Express state machine does not support '.sync' \
             service integration at /States/S/Resource",
            &format!("{}: 1 error(s)", sync.display()),
        ]
    );

    // JSONata and variables: a reserved name and an unparseable expression are errors; a
    // variable no state assigns is a warning (AWS accepts the definition).
    let variables = write(
        "variables.json",
        r#"{"QueryLanguage": "JSONata", "StartAt": "A", "States": {
            "A": {"Type": "Pass", "Assign": {"states": 1, "x": "{% $states.input %}"}, "Next": "B"},
            "B": {"Type": "Pass", "Output": "{% $x + $missing %}", "Next": "C"},
            "C": {"Type": "Pass", "Output": "{% $states.input. %}", "End": true}}}"#,
    );
    let (code, stdout, _) = validate(&[variables.as_os_str()]);
    assert_eq!(code, Some(1), "{stdout}");
    assert_eq!(
        stdout.lines().collect::<Vec<_>>(),
        [
            "error: SCHEMA_VALIDATION_FAILED: The variable name 'states' is reserved and cannot \
             be assigned at /States/A/Assign",
            "error: SCHEMA_VALIDATION_FAILED: The JSONata expression '$states.input.' is not \
             valid: S0207: Unexpected end of expression at /States/C/Output",
            "warning: SCHEMA_VALIDATION_FAILED: The variable '$missing' is not assigned by any \
             state at /States/B",
            &format!("{}: 2 error(s)", variables.display()),
        ]
    );

    let missing = directory.join("missing.json");
    let (code, stdout, stderr) = validate(&[missing.as_os_str()]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stderr.contains(&format!("cannot read {}", missing.display())),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&directory);
}

/// DescribeStateMachine and DescribeStateMachineForExecution's `variableReferences` (AWS's
/// shape): per state, the variables it reads, sorted; left out when no state reads any.
#[tokio::test]
async fn descriptions_name_the_variables_each_state_reads() {
    let app = TestApp::spawn().await;
    // The states read variables no state assigns: AWS accepts such a definition (the read fails
    // when it runs), and describing it needs no running at all.
    let reads = json!({"StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [{"Variable": "$guess", "StringEqualsPath": "$answer",
            "Next": "F"}], "Default": "F"},
        "F": {"Type": "Fail", "ErrorPath": "$errorVar", "CausePath": "$causeVar"}}});
    let arn = crate::executions::create_machine(&app, "reads", &reads.to_string()).await;
    let described = app
        .client
        .describe_state_machine()
        .state_machine_arn(&arn)
        .send()
        .await
        .expect("describe");
    let references = described.variable_references().expect("variableReferences");
    assert_eq!(
        references.get("C").map(Vec::as_slice),
        Some(["answer".to_owned(), "guess".to_owned()].as_slice())
    );
    assert_eq!(
        references.get("F").map(Vec::as_slice),
        Some(["causeVar".to_owned(), "errorVar".to_owned()].as_slice())
    );
    assert_eq!(references.len(), 2);
    let execution = app
        .client
        .start_execution()
        .state_machine_arn(&arn)
        .send()
        .await
        .expect("start");
    let for_execution = app
        .client
        .describe_state_machine_for_execution()
        .execution_arn(execution.execution_arn())
        .send()
        .await
        .expect("describe for execution");
    assert_eq!(for_execution.variable_references(), Some(references));

    let plain = crate::executions::create_machine(&app, "plain", &pass_machine("x")).await;
    let described = app
        .client
        .describe_state_machine()
        .state_machine_arn(&plain)
        .send()
        .await
        .expect("describe");
    assert_eq!(described.variable_references(), None);
    app.stop().await;
}
