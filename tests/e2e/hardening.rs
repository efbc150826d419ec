//! One execution never stops the others, nor the process: data PostgreSQL cannot hold as
//! given, writes the database refuses, values nested or grown past AWS's limits, and runs of
//! states too long for one step. Each case runs beside a control execution, which must finish
//! as usual, and again after a restart.

use std::time::Duration;

use aws_sdk_sfn::types::{ExecutionStatus, HistoryEventType};
use serde_json::{Value, json};
use switchback_tests::{TestApp, raw};

use crate::error_code;
use crate::executions::{ROLE, create_machine, wait_until_done};

const CONTROL: &str = r#"{"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}"#;

async fn start(app: &TestApp, machine: &str, input: &str) -> String {
    app.client
        .start_execution()
        .state_machine_arn(machine)
        .input(input)
        .send()
        .await
        .expect("start execution")
        .execution_arn()
        .to_owned()
}

/// Starts a control execution and waits for it: the engine still advances other work.
async fn control_runs(app: &TestApp) {
    let machine = match app
        .client
        .list_state_machines()
        .send()
        .await
        .expect("list")
        .state_machines()
        .iter()
        .find(|m| m.name() == "control")
    {
        Some(found) => found.state_machine_arn().to_owned(),
        None => create_machine(app, "control", CONTROL).await,
    };
    let arn = start(app, &machine, "{}").await;
    let done = wait_until_done(&app.client, &arn, Duration::from_secs(10)).await;
    assert_eq!(done.status(), &ExecutionStatus::Succeeded);
}

/// A request the SDK would not send as it is; the response's status and `__type`.
async fn post(app: &TestApp, operation: &str, body: Value) -> (u16, String, String) {
    let response = raw::post(
        app.address,
        Some(&format!("AWSStepFunctions.{operation}")),
        body.to_string().as_bytes(),
    )
    .await;
    let json = response.json();
    let kind = json["__type"].as_str().unwrap_or_default().to_owned();
    let message = json["message"].as_str().unwrap_or_default().to_owned();
    (response.status, kind, message)
}

async fn failed_event(app: &TestApp, arn: &str) -> (Option<String>, Option<String>) {
    let history = app
        .client
        .get_execution_history()
        .execution_arn(arn)
        .reverse_order(true)
        .max_results(1)
        .send()
        .await
        .expect("history");
    let last = &history.events()[0];
    assert_eq!(last.r#type(), &HistoryEventType::ExecutionFailed);
    let details = last
        .execution_failed_event_details()
        .expect("failed details");
    (
        details.error().map(str::to_owned),
        details.cause().map(str::to_owned),
    )
}

#[tokio::test]
async fn nul_characters_are_kept_whole_or_refused_never_a_server_error() {
    let app = TestApp::spawn().await;
    // Errors and causes from the definition and from the input, with NUL characters.
    let fail = create_machine(
        &app,
        "fail-nul",
        r#"{"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E\u0000", "CausePath": "$.cause"}}}"#,
    )
    .await;
    let failing = start(&app, &fail, r#"{"cause": "c\u0000d"}"#).await;
    let from_path = create_machine(
        &app,
        "fail-path-nul",
        r#"{"StartAt": "F", "States": {"F": {"Type": "Fail", "ErrorPath": "$.e", "Cause": "fixed"}}}"#,
    )
    .await;
    let failing_path = start(&app, &from_path, r#"{"e": "\u0000"}"#).await;

    // A worker's name and error with NUL characters.
    app.client
        .create_activity()
        .name("nul-work")
        .send()
        .await
        .expect("create activity");
    let activity = "arn:aws:states:us-east-1:123456789012:activity:nul-work".to_owned();
    let worker_machine = create_machine(
        &app,
        "worker-nul",
        &json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": activity, "End": true}}})
            .to_string(),
    )
    .await;
    let working = start(&app, &worker_machine, "{}").await;
    let task = app
        .client
        .get_activity_task()
        .activity_arn(&activity)
        .worker_name("w\0")
        .send()
        .await
        .expect("get task");
    app.client
        .send_task_failure()
        .task_token(task.task_token().expect("a task"))
        .error("x\0")
        .cause("y\0")
        .send()
        .await
        .expect("send failure");

    // A trace header and a stop's cause with NUL characters.
    let waiting_machine = create_machine(
        &app,
        "wait-nul",
        r#"{"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 600, "End": true}}}"#,
    )
    .await;
    let traced = app
        .client
        .start_execution()
        .state_machine_arn(&waiting_machine)
        .trace_header("Root=1\0")
        .send()
        .await
        .expect("start with a trace header")
        .execution_arn()
        .to_owned();
    app.client
        .stop_execution()
        .execution_arn(&traced)
        .error("s\0")
        .cause("stopped\0")
        .send()
        .await
        .expect("stop");

    let check = |app: &TestApp| {
        let client = app.client.clone();
        let (failing, failing_path, working, traced) = (
            failing.clone(),
            failing_path.clone(),
            working.clone(),
            traced.clone(),
        );
        async move {
            let done = wait_until_done(&client, &failing, Duration::from_secs(10)).await;
            assert_eq!(done.status(), &ExecutionStatus::Failed);
            assert_eq!(done.error(), Some("E\0"));
            assert_eq!(done.cause(), Some("c\0d"));
            let done = wait_until_done(&client, &failing_path, Duration::from_secs(10)).await;
            assert_eq!(done.error(), Some("\0"));
            let done = wait_until_done(&client, &working, Duration::from_secs(10)).await;
            assert_eq!(done.status(), &ExecutionStatus::Failed);
            assert_eq!(done.error(), Some("x\0"));
            assert_eq!(done.cause(), Some("y\0"));
            let history = client
                .get_execution_history()
                .execution_arn(&working)
                .send()
                .await
                .expect("history");
            let started = history
                .events()
                .iter()
                .find_map(|e| e.activity_started_event_details())
                .expect("ActivityStarted");
            assert_eq!(started.worker_name(), Some("w\0"));
            let done = wait_until_done(&client, &traced, Duration::from_secs(10)).await;
            assert_eq!(done.status(), &ExecutionStatus::Aborted);
            assert_eq!(done.error(), Some("s\0"));
            assert_eq!(done.cause(), Some("stopped\0"));
            assert_eq!(done.trace_header(), Some("Root=1\0"));
        }
    };
    check(&app).await;
    let (error, cause) = failed_event(&app, &failing).await;
    assert_eq!(error.as_deref(), Some("E\0"));
    assert_eq!(cause.as_deref(), Some("c\0d"));
    control_runs(&app).await;

    // Values that cannot name anything are refused with AWS's errors, never with a 500.
    let definition = CONTROL;
    let refused = [
        (
            "CreateStateMachine",
            json!({"name": "r1", "definition": definition, "roleArn": format!("{ROLE}\0")}),
            "InvalidArn",
        ),
        (
            "CreateStateMachine",
            json!({"name": "r2", "definition": definition, "roleArn": ROLE,
                   "tags": [{"key": "k\0", "value": "v"}]}),
            "ValidationException",
        ),
        (
            "CreateStateMachine",
            json!({"name": "r3", "definition": definition, "roleArn": ROLE,
                   "tags": [{"key": "k", "value": "v\0"}]}),
            "ValidationException",
        ),
        (
            "CreateStateMachine",
            json!({"name": "r4", "definition": definition, "roleArn": ROLE,
                   "encryptionConfiguration": {"type": "CUSTOMER_MANAGED_KMS_KEY", "kmsKeyId": "k\0"}}),
            "InvalidEncryptionConfiguration",
        ),
        (
            "CreateStateMachine",
            json!({"name": "r5", "definition": definition, "roleArn": ROLE,
                   "loggingConfiguration": {"level": "ALL", "destinations": [{"cloudWatchLogsLogGroup":
                       {"logGroupArn": "arn:aws:logs:us-east-1:123456789012:log-group:g\0:*"}}]}}),
            "InvalidLoggingConfiguration",
        ),
        (
            "CreateActivity",
            json!({"name": "a1", "tags": [{"key": "k", "value": "\0"}]}),
            "ValidationException",
        ),
        (
            "CreateActivity",
            json!({"name": "a2", "encryptionConfiguration":
                   {"type": "CUSTOMER_MANAGED_KMS_KEY", "kmsKeyId": "\0"}}),
            "InvalidEncryptionConfiguration",
        ),
        (
            "CreateStateMachine",
            json!({"name": "n\0", "definition": definition, "roleArn": ROLE}),
            "InvalidName",
        ),
    ];
    for (operation, body, expected) in refused {
        let (status, kind, message) = post(&app, operation, body.clone()).await;
        assert_eq!(
            (status, kind.as_str()),
            (400, expected),
            "{body}: {message}"
        );
    }

    // The same after a restart on the same data.
    let url = app.database_url.clone();
    app.stop().await;
    let app = TestApp::spawn_on(&url).await;
    check(&app).await;
    control_runs(&app).await;
    app.stop().await;
}

#[tokio::test]
async fn a_batch_the_database_refuses_fails_one_execution_and_commits_the_others() {
    let app = TestApp::spawn().await;
    // Whatever the database's reason: here a constraint refuses one execution's output.
    let pool = sqlx::PgPool::connect(&app.database_url)
        .await
        .expect("pool");
    for statement in [
        "CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN RAISE EXCEPTION 'poisoned output' USING ERRCODE = 'check_violation'; END $$",
        "CREATE TRIGGER refuse_poison BEFORE UPDATE ON executions FOR EACH ROW
         WHEN (NEW.output LIKE '%poison%') EXECUTE FUNCTION refuse_poison()",
    ] {
        sqlx::query(statement)
            .execute(&pool)
            .await
            .expect("install trigger");
    }
    let machine = create_machine(
        &app,
        "batch",
        r#"{"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1, "End": true}}}"#,
    )
    .await;
    // One batch: every execution falls due at the same second.
    let mut good = Vec::new();
    for i in 0..8 {
        good.push(start(&app, &machine, &format!(r#"{{"n": {i}}}"#)).await);
    }
    let bad = start(&app, &machine, r#"{"x": "poison"}"#).await;
    for i in 8..16 {
        good.push(start(&app, &machine, &format!(r#"{{"n": {i}}}"#)).await);
    }
    for arn in &good {
        let done = wait_until_done(&app.client, arn, Duration::from_secs(15)).await;
        assert_eq!(done.status(), &ExecutionStatus::Succeeded, "{arn}");
    }
    let done = wait_until_done(&app.client, &bad, Duration::from_secs(15)).await;
    assert_eq!(done.status(), &ExecutionStatus::Failed);
    assert_eq!(done.error(), Some("States.Runtime"));
    assert!(
        done.cause().unwrap_or_default().contains("poisoned output"),
        "{:?}",
        done.cause()
    );
    let (error, _) = failed_event(&app, &bad).await;
    assert_eq!(error.as_deref(), Some("States.Runtime"));
    control_runs(&app).await;
    let url = app.database_url.clone();
    app.stop().await;
    let app = TestApp::spawn_on(&url).await;
    control_runs(&app).await;
    app.stop().await;
    pool.close().await;
}

/// A Pass state that nests its input inside itself, looping until a field appears.
fn nesting_loop(parameters: Value) -> String {
    json!({
        "StartAt": "Nest",
        "States": {
            "Nest": {"Type": "Pass", "Parameters": parameters, "Next": "Again"},
            "Again": {"Type": "Choice",
                      "Choices": [{"Variable": "$.stop", "IsPresent": true, "Next": "Done"}],
                      "Default": "Nest"},
            "Done": {"Type": "Succeed"}
        }
    })
    .to_string()
}

#[tokio::test]
async fn values_nested_or_grown_past_the_limits_fail_the_execution_not_the_process() {
    let app = TestApp::spawn().await;
    let big = "x".repeat(200 * 1024);
    let ninety = "y".repeat(90 * 1024);
    let format_args = vec!["$.s"; 40].join(", ");
    let array_args = vec!["$.s"; 1000].join(", ");
    let cases = [
        // Deeper at every turn: a stack overflow before.
        ("nest", nesting_loop(json!({"a.$": "$"})), "{}".to_owned()),
        // Twice as large at every turn.
        (
            "double",
            nesting_loop(json!({"a.$": "$", "b.$": "$"})),
            json!({"s": "z".repeat(1000)}).to_string(),
        ),
        // 3.6 MB from one intrinsic call.
        (
            "format",
            json!({"StartAt": "F", "States": {"F": {"Type": "Pass", "End": true,
                "Parameters": {"s.$": format!("States.Format('{}', {format_args})", "{}".repeat(40))}}}})
            .to_string(),
            json!({ "s": ninety }).to_string(),
        ),
        // 200 MB from one intrinsic call.
        (
            "array",
            json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true,
                "Parameters": {"a.$": format!("States.Array({array_args})")}}}})
            .to_string(),
            json!({ "s": big }).to_string(),
        ),
    ];
    let mut started = Vec::new();
    for (name, definition, input) in &cases {
        let machine = create_machine(&app, name, definition).await;
        started.push((*name, start(&app, &machine, input).await));
    }
    control_runs(&app).await;
    for (name, arn) in &started {
        let done = wait_until_done(&app.client, arn, Duration::from_secs(60)).await;
        assert_eq!(done.status(), &ExecutionStatus::Failed, "{name}");
        assert_eq!(done.error(), Some("States.DataLimitExceeded"), "{name}");
        assert!(
            done.cause()
                .unwrap_or_default()
                .starts_with("The state/task '"),
            "{name}: {:?}",
            done.cause()
        );
    }
    let url = app.database_url.clone();
    app.stop().await;
    let app = TestApp::spawn_on(&url).await;
    control_runs(&app).await;
    app.stop().await;
}

#[tokio::test]
async fn a_long_inline_map_advances_over_many_steps_and_stops_at_the_history_limit() {
    let app = TestApp::spawn().await;
    let machine = create_machine(
        &app,
        "long-map",
        r#"{"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
            "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}}}}"#,
    )
    .await;
    let items = format!("[{}]", vec!["0"; 100_000].join(","));
    let long = start(&app, &machine, &items).await;
    // Another execution started now finishes while the Map is still going.
    let control = create_machine(&app, "control", CONTROL).await;
    let quick = start(&app, &control, "{}").await;
    let quick = wait_until_done(&app.client, &quick, Duration::from_secs(10)).await;
    let done = wait_until_done(&app.client, &long, Duration::from_secs(120)).await;
    assert!(
        quick.stop_date() < done.stop_date(),
        "the control execution waited for the Map"
    );
    assert_eq!(done.status(), &ExecutionStatus::Failed);
    assert_eq!(done.error(), Some("States.Runtime"));
    // Exactly AWS's limit: 25,000 events, the last one the failure.
    let last = app
        .client
        .get_execution_history()
        .execution_arn(&long)
        .reverse_order(true)
        .max_results(1)
        .send()
        .await
        .expect("history");
    assert_eq!(last.events()[0].id(), 25_000);
    assert_eq!(
        last.events()[0].r#type(),
        &HistoryEventType::ExecutionFailed
    );
    app.stop().await;
}

#[tokio::test]
async fn a_loop_over_a_large_value_yields_to_other_executions() {
    let app = TestApp::spawn().await;
    let machine = create_machine(
        &app,
        "large-loop",
        r#"{"StartAt": "P", "States": {
            "P": {"Type": "Pass", "Next": "C"},
            "C": {"Type": "Choice", "Choices": [{"Variable": "$.stop", "IsPresent": true, "Next": "E"}],
                  "Default": "P"},
            "E": {"Type": "Succeed"}}}"#,
    )
    .await;
    let input = json!({ "big": "b".repeat(200 * 1024) }).to_string();
    let looping = start(&app, &machine, &input).await;
    control_runs(&app).await;
    control_runs(&app).await;
    let described = app
        .client
        .describe_execution()
        .execution_arn(&looping)
        .send()
        .await
        .expect("describe");
    assert_eq!(described.status(), &ExecutionStatus::Running);
    app.client
        .stop_execution()
        .execution_arn(&looping)
        .send()
        .await
        .expect("stop");
    let done = wait_until_done(&app.client, &looping, Duration::from_secs(10)).await;
    assert_eq!(done.status(), &ExecutionStatus::Aborted);
    app.stop().await;
}

#[tokio::test]
async fn requests_act_only_in_their_own_region() {
    let app = TestApp::spawn().await;
    let machine = create_machine(
        &app,
        "regional",
        r#"{"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 600, "End": true}}}"#,
    )
    .await;
    let execution = start(&app, &machine, "{}").await;
    app.client
        .create_activity()
        .name("regional")
        .send()
        .await
        .expect("activity");
    let activity = "arn:aws:states:us-east-1:123456789012:activity:regional";
    let elsewhere = app.client_in("eu-west-1");
    let (code, _) = error_code(
        elsewhere
            .describe_state_machine()
            .state_machine_arn(&machine)
            .send()
            .await,
    );
    assert_eq!(code, "StateMachineDoesNotExist");
    let (code, _) = error_code(
        elsewhere
            .start_execution()
            .state_machine_arn(&machine)
            .send()
            .await,
    );
    assert_eq!(code, "StateMachineDoesNotExist");
    let (code, _) = error_code(
        elsewhere
            .describe_execution()
            .execution_arn(&execution)
            .send()
            .await,
    );
    assert_eq!(code, "ExecutionDoesNotExist");
    let (code, _) = error_code(
        elsewhere
            .stop_execution()
            .execution_arn(&execution)
            .send()
            .await,
    );
    assert_eq!(code, "ExecutionDoesNotExist");
    let (code, _) = error_code(
        elsewhere
            .list_executions()
            .state_machine_arn(&machine)
            .send()
            .await,
    );
    assert_eq!(code, "StateMachineDoesNotExist");
    let (code, _) = error_code(
        elsewhere
            .describe_activity()
            .activity_arn(activity)
            .send()
            .await,
    );
    assert_eq!(code, "ActivityDoesNotExist");
    // Deleting from elsewhere deletes nothing here.
    elsewhere
        .delete_state_machine()
        .state_machine_arn(&machine)
        .send()
        .await
        .expect("delete elsewhere answers as for a missing machine");
    elsewhere
        .delete_activity()
        .activity_arn(activity)
        .send()
        .await
        .expect("delete elsewhere answers as for a missing activity");
    let here = app
        .client
        .describe_state_machine()
        .state_machine_arn(&machine)
        .send()
        .await
        .expect("still here");
    assert_eq!(
        here.status(),
        Some(&aws_sdk_sfn::types::StateMachineStatus::Active)
    );
    app.client
        .describe_activity()
        .activity_arn(activity)
        .send()
        .await
        .expect("activity still here");
    let running = app
        .client
        .describe_execution()
        .execution_arn(&execution)
        .send()
        .await
        .expect("execution still here");
    assert_eq!(running.status(), &ExecutionStatus::Running);
    app.stop().await;
}
