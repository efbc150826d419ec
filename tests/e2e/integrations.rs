//! Task integrations end to end: Lambda functions (by ARN and `lambda:invoke`), HTTP Tasks with
//! connections, nested executions (`.sync`, `.sync:2`), callbacks, and mocked test cases —
//! against the test support's Lambda and HTTP servers.

use std::time::{Duration, Instant};

use aws_sdk_sfn::types::{ExecutionStatus, HistoryEvent};
use serde_json::{Value, json};
use switchback::settings::Settings;
use switchback_invoke::{ApiKeyAuth, AuthorizationType, BasicAuth, ConnectionConfig};
use switchback_tests::TestApp;
use switchback_tests::processes::Node;
use switchback_tests::services::{self, TestServer};

use crate::error_code;
use crate::executions::{history, wait_for, wait_until_done};

const ROLE: &str = "arn:aws:iam::123456789012:role/r";
const CONNECTION: &str = "arn:aws:events:us-east-1:123456789012:connection/echo/1";
const FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:echo";

/// An app whose Lambda calls go to `lambda`, whose connection `CONNECTION` (basic auth, any
/// endpoint) is known and whose HTTP Tasks may call the loopback test servers, adjusted further
/// by `adjust`.
async fn app_with(lambda: &TestServer, adjust: impl FnOnce(&mut Settings)) -> TestApp {
    let url = switchback_tests::pg::fresh_database().await;
    node_on(&url, lambda, adjust).await
}

/// Another node on the database `url`, configured as [`app_with`] configures the first (every
/// node's scheduler makes calls, so every node needs the same integrations settings).
async fn node_on(url: &str, lambda: &TestServer, adjust: impl FnOnce(&mut Settings)) -> TestApp {
    let endpoint = lambda.endpoint();
    TestApp::spawn_with(url, move |settings| {
        settings.integrations.lambda.endpoint = Some(endpoint);
        // The test servers listen on 127.0.0.1.
        settings.integrations.http.allow_private_destinations = Some(true);
        settings.integrations.connections.push(ConnectionConfig {
            arn: CONNECTION.to_owned(),
            authorization_type: AuthorizationType::Basic,
            basic: Some(BasicAuth {
                username: "user".to_owned(),
                password: "s3cret-password".to_owned(),
            }),
            api_key: None,
            oauth: None,
            invocation_http_parameters: Default::default(),
            allowed_endpoints: vec!["*".to_owned()],
        });
        settings.scheduler.call_lease_seconds = 2;
        adjust(settings);
    })
    .await
}

async fn machine(app: &TestApp, name: &str, definition: Value) -> String {
    app.client
        .create_state_machine()
        .name(name)
        .definition(definition.to_string())
        .role_arn(ROLE)
        .send()
        .await
        .expect("create state machine")
        .state_machine_arn()
        .to_owned()
}

async fn run(app: &TestApp, machine_arn: &str, input: Value) -> (String, ExecutionStatus, Value) {
    let started = app
        .client
        .start_execution()
        .state_machine_arn(machine_arn)
        .input(input.to_string())
        .send()
        .await
        .expect("start execution");
    let arn = started.execution_arn().to_owned();
    let done = wait_until_done(&app.client, &arn, Duration::from_secs(30)).await;
    let output = done
        .output()
        .and_then(|o| serde_json::from_str(o).ok())
        .unwrap_or(Value::Null);
    (arn, done.status().clone(), output)
}

fn types(events: &[HistoryEvent]) -> Vec<String> {
    events
        .iter()
        .map(|e| e.r#type().as_str().to_owned())
        .collect()
}

/// The execution's failure as `(error, cause)`.
async fn failure(app: &TestApp, arn: &str) -> (String, String) {
    let described = app
        .client
        .describe_execution()
        .execution_arn(arn)
        .send()
        .await
        .expect("describe");
    (
        described.error().unwrap_or_default().to_owned(),
        described.cause().unwrap_or_default().to_owned(),
    )
}

#[tokio::test]
async fn a_workflow_of_every_integration_runs_end_to_end() {
    let lambda = services::lambda().await;
    let http = services::http().await;
    let app = app_with(&lambda, |_| {}).await;
    // The child waits for a callback: its Lambda receives the token, and the test (as the
    // function's worker) sends the result through another API node.
    let child = machine(
        &app,
        "child",
        json!({"StartAt": "Callback", "States": {"Callback": {
            "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Parameters": {"FunctionName": "echo", "Payload": {"token.$": "$$.Task.Token", "n.$": "$.n"}},
            "HeartbeatSeconds": 60, "End": true}}}),
    )
    .await;
    let parent = machine(
        &app,
        "parent",
        json!({"StartAt": "Direct", "States": {
            "Direct": {"Type": "Task", "Resource": FUNCTION_ARN, "ResultPath": "$.direct", "Next": "Invoke"},
            "Invoke": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "echo", "Payload": {"n.$": "$.n"}},
                "ResultSelector": {"payload.$": "$.Payload", "status.$": "$.StatusCode"},
                "ResultPath": "$.invoked", "Next": "Http"},
            "Http": {"Type": "Task", "Resource": "arn:aws:states:::http:invoke",
                "Parameters": {"ApiEndpoint": format!("{}/echo", http.endpoint()), "Method": "POST",
                    "Authentication": {"ConnectionArn": CONNECTION},
                    "QueryParameters": {"q": "1"}, "RequestBody": {"n.$": "$.n"}},
                "ResultSelector": {"status.$": "$.StatusCode", "body.$": "$.ResponseBody"},
                "ResultPath": "$.http", "Next": "Nested"},
            "Nested": {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync:2",
                "Parameters": {"StateMachineArn": child, "Input": {"n.$": "$.n",
                    "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$": "$$.Execution.Id"}},
                "ResultSelector": {"output.$": "$.Output", "status.$": "$.Status"},
                "ResultPath": "$.nested", "End": true}}}),
    )
    .await;
    let started = app
        .client
        .start_execution()
        .state_machine_arn(&parent)
        .input(json!({"n": 7}).to_string())
        .send()
        .await
        .expect("start");
    let parent_arn = started.execution_arn().to_owned();

    // Answer the child's callback from another API node, with the token the function received.
    let other = node_on(&app.database_url, &lambda, |_| {}).await;
    let token = wait_for("the callback token", Duration::from_secs(20), || {
        std::future::ready(
            lambda
                .calls_of("echo")
                .iter()
                .filter_map(|c| serde_json::from_str::<Value>(&c.body).ok())
                .find_map(|p| p["token"].as_str().map(str::to_owned)),
        )
    })
    .await;
    other
        .client
        .send_task_heartbeat()
        .task_token(&token)
        .send()
        .await
        .expect("heartbeat");
    other
        .client
        .send_task_success()
        .task_token(&token)
        .output(json!({"called": "back"}).to_string())
        .send()
        .await
        .expect("send task success");
    // A second answer for the same task is refused as AWS refuses it.
    let (code, _) = error_code(
        other
            .client
            .send_task_success()
            .task_token(&token)
            .output("{}")
            .send()
            .await,
    );
    assert_eq!(code, "TaskTimedOut");

    let done = wait_until_done(&app.client, &parent_arn, Duration::from_secs(30)).await;
    assert_eq!(done.status(), &ExecutionStatus::Succeeded, "{done:?}");
    let output: Value = serde_json::from_str(done.output().unwrap_or_default()).expect("output");
    assert_eq!(output["direct"], json!({"n": 7}));
    assert_eq!(
        output["invoked"],
        json!({"payload": {"n": 7}, "status": 200})
    );
    assert_eq!(output["http"]["status"], json!(200));
    assert_eq!(output["http"]["body"]["method"], json!("POST"));
    assert_eq!(output["http"]["body"]["query"], json!("q=1"));
    assert_eq!(output["http"]["body"]["body"], json!({"n": 7}));
    assert_eq!(
        output["http"]["body"]["headers"]["authorization"],
        json!("Basic dXNlcjpzM2NyZXQtcGFzc3dvcmQ=")
    );
    assert_eq!(
        output["nested"],
        json!({"output": {"called": "back"}, "status": "SUCCEEDED"})
    );

    let events = history(&app.client, &parent_arn).await;
    assert_eq!(
        types(&events),
        [
            "ExecutionStarted",
            "TaskStateEntered",
            "LambdaFunctionScheduled",
            "LambdaFunctionStarted",
            "LambdaFunctionSucceeded",
            "TaskStateExited",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskSucceeded",
            "TaskStateExited",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskSucceeded",
            "TaskStateExited",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskSubmitted",
            "TaskSucceeded",
            "TaskStateExited",
            "ExecutionSucceeded",
        ]
    );
    let scheduled = events[7]
        .task_scheduled_event_details()
        .expect("TaskScheduled details");
    assert_eq!(scheduled.resource_type(), "lambda");
    assert_eq!(scheduled.resource(), "invoke");
    assert_eq!(scheduled.region(), "us-east-1");
    let nested = events[17]
        .task_scheduled_event_details()
        .expect("TaskScheduled details");
    assert_eq!(nested.resource_type(), "states");
    assert_eq!(nested.resource(), "startExecution.sync:2");
    // The connection's password is in no event.
    for event in &events {
        assert!(!format!("{event:?}").contains("s3cret-password"));
    }

    // The child: a callback task, its input carrying the parent's id where the parent put it.
    let children = app
        .client
        .list_executions()
        .state_machine_arn(&child)
        .send()
        .await
        .expect("list children");
    let child_arn = children.executions()[0].execution_arn().to_owned();
    let child_events = history(&app.client, &child_arn).await;
    assert_eq!(
        types(&child_events),
        [
            "ExecutionStarted",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskSubmitted",
            "TaskSucceeded",
            "TaskStateExited",
            "ExecutionSucceeded",
        ]
    );
    let child_input: Value = serde_json::from_str(
        child_events[0]
            .execution_started_event_details()
            .and_then(|d| d.input())
            .unwrap_or_default(),
    )
    .expect("child input");
    assert_eq!(
        child_input["AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID"],
        json!(parent_arn)
    );
    other.stop().await;
}

#[tokio::test]
async fn lambda_errors_are_retried_caught_and_reported_as_aws_does() {
    let lambda = services::lambda().await;
    let app = app_with(&lambda, |_| {}).await;
    // Service errors are retried; the function's own error is caught with its cause.
    let retried = machine(
        &app,
        "retried",
        json!({"StartAt": "Flaky", "States": {
            "Flaky": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "flaky", "Payload": {"key": "a", "fail_times": 2}},
                "Retry": [{"ErrorEquals": ["Lambda.ServiceException"], "IntervalSeconds": 1, "MaxAttempts": 3, "BackoffRate": 1}],
                "OutputPath": "$.Payload", "Next": "Fail"},
            "Fail": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "fail"},
                "Catch": [{"ErrorEquals": ["ValueError"], "ResultPath": "$.error", "Next": "Done"}],
                "End": true},
            "Done": {"Type": "Pass", "End": true}}}),
    )
    .await;
    let (arn, status, output) = run(&app, &retried, json!({})).await;
    assert_eq!(status, ExecutionStatus::Succeeded);
    assert_eq!(lambda.calls_of("flaky").len(), 3);
    assert_eq!(output["key"], json!("a"));
    assert_eq!(output["error"]["Error"], json!("ValueError"));
    let cause: Value = serde_json::from_str(output["error"]["Cause"].as_str().unwrap_or_default())
        .expect("the cause is the function's error payload");
    assert_eq!(cause["errorMessage"], json!("boom"));
    let events = history(&app.client, &arn).await;
    let failed: Vec<_> = events
        .iter()
        .filter_map(|e| e.task_failed_event_details())
        .collect();
    assert_eq!(failed.len(), 3);
    assert_eq!(failed[0].error(), Some("Lambda.ServiceException"));
    assert_eq!(failed[0].resource_type(), "lambda");
    assert_eq!(failed[2].error(), Some("ValueError"));

    // A function that does not exist, by ARN: LambdaFunctionFailed, and the execution fails.
    let missing = machine(
        &app,
        "missing",
        json!({"StartAt": "F", "States": {"F": {"Type": "Task",
            "Resource": "arn:aws:lambda:us-east-1:123456789012:function:nope", "End": true}}}),
    )
    .await;
    let (arn, status, _) = run(&app, &missing, json!({})).await;
    assert_eq!(status, ExecutionStatus::Failed);
    let (error, cause) = failure(&app, &arn).await;
    assert_eq!(error, "Lambda.ResourceNotFoundException");
    assert!(cause.contains("Status Code: 404"), "{cause}");
    assert!(types(&history(&app.client, &arn).await).contains(&"LambdaFunctionFailed".to_owned()));

    // No error type: Lambda.Unknown.
    let untyped = machine(
        &app,
        "untyped",
        json!({"StartAt": "F", "States": {"F": {"Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "untyped"}, "End": true}}}),
    )
    .await;
    let (arn, _, _) = run(&app, &untyped, json!({})).await;
    assert_eq!(failure(&app, &arn).await.0, "Lambda.Unknown");

    // TimeoutSeconds ends a slow call.
    let slow = machine(
        &app,
        "slow",
        json!({"StartAt": "F", "States": {"F": {"Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke", "TimeoutSeconds": 1,
            "Parameters": {"FunctionName": "slow", "Payload": {"sleep_ms": 3000}}, "End": true}}}),
    )
    .await;
    let (arn, status, _) = run(&app, &slow, json!({})).await;
    assert_eq!(status, ExecutionStatus::Failed);
    assert_eq!(failure(&app, &arn).await.0, "States.Timeout");
    assert!(types(&history(&app.client, &arn).await).contains(&"TaskTimedOut".to_owned()));
}

#[tokio::test]
async fn http_tasks_report_status_codes_and_socket_errors() {
    let lambda = services::lambda().await;
    let http = services::http().await;
    let app = app_with(&lambda, |_| {}).await;
    let task = |endpoint: String| {
        json!({"StartAt": "H", "States": {"H": {"Type": "Task",
            "Resource": "arn:aws:states:::http:invoke",
            "Parameters": {"ApiEndpoint": endpoint, "Method": "GET",
                "Authentication": {"ConnectionArn": CONNECTION}},
            "End": true}}})
    };
    let not_found = machine(
        &app,
        "status",
        task(format!("{}/status/404", http.endpoint())),
    )
    .await;
    let (arn, status, _) = run(&app, &not_found, json!({})).await;
    assert_eq!(status, ExecutionStatus::Failed);
    assert_eq!(failure(&app, &arn).await.0, "States.Http.StatusCode.404");

    // Nothing listens on this port any more.
    let closed = {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        listener.local_addr().expect("address")
    };
    let refused = machine(&app, "socket", task(format!("http://{closed}/"))).await;
    let (arn, _, _) = run(&app, &refused, json!({})).await;
    assert_eq!(failure(&app, &arn).await.0, "States.Http.Socket");

    // A connection the settings do not define fails the state and names it.
    let unknown = machine(
        &app,
        "unknown",
        json!({"StartAt": "H", "States": {"H": {"Type": "Task",
            "Resource": "arn:aws:states:::http:invoke",
            "Parameters": {"ApiEndpoint": http.endpoint(), "Method": "GET",
                "Authentication": {"ConnectionArn": "arn:aws:events:us-east-1:123456789012:connection/none/1"}},
            "End": true}}}),
    )
    .await;
    let (arn, _, _) = run(&app, &unknown, json!({})).await;
    let (_, cause) = failure(&app, &arn).await;
    assert!(cause.contains("connection/none/1"), "{cause}");
}

/// The `TaskFailed` events of an execution, as `(error, cause)`.
async fn task_failures(app: &TestApp, arn: &str) -> Vec<(String, String)> {
    history(&app.client, arn)
        .await
        .iter()
        .filter_map(|e| e.task_failed_event_details())
        .map(|d| {
            (
                d.error().unwrap_or_default().to_owned(),
                d.cause().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn http_tasks_do_not_reach_private_addresses_unless_allowed() {
    let lambda = services::lambda().await;
    let http = services::http().await;
    let app = app_with(&lambda, |settings| {
        settings.integrations.http.allow_private_destinations = None;
    })
    .await;
    // What a definition's author could otherwise read: the service's own metrics, through a
    // name and through the loopback address.
    for (name, endpoint) in [
        ("metrics", format!("http://{}/metrics", app.address)),
        (
            "by-name",
            format!("http://localhost:{}/echo", http.address.port()),
        ),
    ] {
        let machine_arn = machine(
            &app,
            name,
            json!({"StartAt": "H", "States": {"H": {"Type": "Task",
                "Resource": "arn:aws:states:::http:invoke",
                "Parameters": {"ApiEndpoint": endpoint, "Method": "GET"}, "End": true}}}),
        )
        .await;
        let (arn, status, _) = run(&app, &machine_arn, json!({})).await;
        assert_eq!(status, ExecutionStatus::Failed, "{endpoint}");
        let failures = task_failures(&app, &arn).await;
        assert_eq!(failures.len(), 1, "{failures:?}");
        assert_eq!(failures[0].0, "States.Http.Socket");
        assert!(
            failures[0]
                .1
                .contains("integrations.http.allow_private_destinations"),
            "{failures:?}"
        );
    }
    assert!(http.received().is_empty(), "{:?}", http.received());
}

#[tokio::test]
async fn a_connection_sends_its_credentials_only_to_its_allowed_endpoints() {
    const SCOPED: &str = "arn:aws:events:us-east-1:123456789012:connection/scoped/1";
    let lambda = services::lambda().await;
    let http = services::http().await;
    let allowed = format!("{}/allowed/", http.endpoint());
    let app = app_with(&lambda, move |settings| {
        settings.integrations.connections.push(ConnectionConfig {
            arn: SCOPED.to_owned(),
            authorization_type: AuthorizationType::ApiKey,
            basic: None,
            api_key: Some(ApiKeyAuth {
                name: "x-api-key".to_owned(),
                value: "scoped-secret".to_owned(),
            }),
            oauth: None,
            invocation_http_parameters: Default::default(),
            allowed_endpoints: vec![allowed],
        });
    })
    .await;
    let task = |name: &'static str, path: &str| {
        let endpoint = format!("{}{path}", http.endpoint());
        let app = &app;
        async move {
            machine(
                app,
                name,
                json!({"StartAt": "H", "States": {"H": {"Type": "Task",
                    "Resource": "arn:aws:states:::http:invoke",
                    "Parameters": {"ApiEndpoint": endpoint, "Method": "GET",
                        "Authentication": {"ConnectionArn": SCOPED}},
                    "End": true}}}),
            )
            .await
        }
    };
    for (name, path) in [
        ("elsewhere", "/elsewhere"),
        ("climbing", "/allowed/../elsewhere"),
    ] {
        let machine_arn = task(name, path).await;
        let (arn, status, _) = run(&app, &machine_arn, json!({})).await;
        assert_eq!(status, ExecutionStatus::Failed, "{path}");
        let failures = task_failures(&app, &arn).await;
        assert_eq!(failures.len(), 1, "{failures:?}");
        assert_eq!(
            failures[0].0,
            "Events.ConnectionResource.InvalidConnectionState"
        );
        assert!(failures[0].1.contains("allowed_endpoints"), "{failures:?}");
        assert!(!failures[0].1.contains("scoped-secret"), "{failures:?}");
    }
    // Nothing was sent, so the key reached no one.
    assert!(http.received().is_empty(), "{:?}", http.received());

    let machine_arn = task("inside", "/allowed/items").await;
    let (_, status, output) = run(&app, &machine_arn, json!({})).await;
    assert_eq!(status, ExecutionStatus::Succeeded, "{output}");
    let received = http.received();
    assert_eq!(received.len(), 1, "{received:?}");
    assert_eq!(received[0].path, "/allowed/items");
    assert_eq!(
        received[0].headers.get("x-api-key").map(String::as_str),
        Some("scoped-secret")
    );
}

#[tokio::test]
async fn nested_executions_fail_and_stop_with_their_parent() {
    let lambda = services::lambda().await;
    let app = app_with(&lambda, |_| {}).await;
    let failing = machine(
        &app,
        "failing",
        json!({"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Boom", "Cause": "it broke"}}}),
    )
    .await;
    let waiting = machine(
        &app,
        "waiting",
        json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 600, "End": true}}}),
    )
    .await;
    let parent = |child: &str, pattern: &str, name: &str| {
        json!({"StartAt": "N", "States": {"N": {"Type": "Task",
            "Resource": format!("arn:aws:states:::states:startExecution{pattern}"),
            "Parameters": {"StateMachineArn": child, "Name": name}, "End": true}}})
    };
    let sync = machine(&app, "sync-parent", parent(&failing, ".sync", "kid")).await;
    let (arn, status, _) = run(&app, &sync, json!({})).await;
    assert_eq!(status, ExecutionStatus::Failed);
    let (error, cause) = failure(&app, &arn).await;
    assert_eq!(error, "States.TaskFailed");
    let cause: Value = serde_json::from_str(&cause).expect("the child's description");
    assert_eq!(cause["Error"], json!("Boom"));
    assert_eq!(cause["Status"], json!("FAILED"));
    assert_eq!(cause["Input"], json!("{}"));

    // Request-response: the state ends when the child started.
    let fire = machine(&app, "fire-and-forget", parent(&waiting, "", "kid")).await;
    let (_, status, output) = run(&app, &fire, json!({})).await;
    assert_eq!(status, ExecutionStatus::Succeeded);
    let child_arn = output["ExecutionArn"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(child_arn.ends_with(":execution:waiting:kid"), "{output}");
    assert!(output["StartDate"].is_number());
    // A second start with the same name and input while it runs answers with the same child.
    let (_, status, again) = run(&app, &fire, json!({})).await;
    assert_eq!(status, ExecutionStatus::Succeeded);
    assert_eq!(again["ExecutionArn"], json!(child_arn));
    app.client
        .stop_execution()
        .execution_arn(&child_arn)
        .send()
        .await
        .expect("stop the first child");

    // A missing machine is StartExecution's error, with AWS's name.
    let missing = machine(
        &app,
        "missing-child",
        parent(
            "arn:aws:states:us-east-1:123456789012:stateMachine:nope",
            ".sync:2",
            "kid",
        ),
    )
    .await;
    let (arn, _, _) = run(&app, &missing, json!({})).await;
    assert_eq!(
        failure(&app, &arn).await.0,
        "StepFunctions.StateMachineDoesNotExistException"
    );

    // Stopping a `.sync` parent stops its child.
    let holding = machine(&app, "holding-parent", parent(&waiting, ".sync:2", "held")).await;
    let started = app
        .client
        .start_execution()
        .state_machine_arn(&holding)
        .send()
        .await
        .expect("start");
    let child_arn = "arn:aws:states:us-east-1:123456789012:execution:waiting:held".to_owned();
    wait_for("the child execution", Duration::from_secs(10), || async {
        let child = app
            .client
            .describe_execution()
            .execution_arn(&child_arn)
            .send()
            .await
            .ok()?;
        (child.status() == &ExecutionStatus::Running).then_some(())
    })
    .await;
    app.client
        .stop_execution()
        .execution_arn(started.execution_arn())
        .send()
        .await
        .expect("stop the parent");
    let child = wait_until_done(&app.client, &child_arn, Duration::from_secs(10)).await;
    assert_eq!(child.status(), &ExecutionStatus::Aborted);
}

#[tokio::test]
async fn mocked_test_cases_answer_instead_of_the_services() {
    let lambda = services::lambda().await;
    let directory = std::env::temp_dir().join(format!("switchback-mocks-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&directory).expect("temp dir");
    let file = directory.join("MockConfigFile.json");
    std::fs::write(
        &file,
        json!({
            "StateMachines": {"LambdaSQSIntegration": {"TestCases": {
                "HappyPath": {"LambdaState": "MockedLambdaSuccess", "SQSState": "MockedSQSSuccess"},
                "RetryPath": {"LambdaState": "MockedLambdaRetry", "SQSState": "MockedSQSSuccess"},
                "HybridPath": {"SQSState": "MockedSQSSuccess"}}}},
            "MockedResponses": {
                "MockedLambdaSuccess": {"0": {"Return": {"StatusCode": 200, "Payload": {"body": "Hello from Lambda!"}}}},
                "MockedSQSSuccess": {"0": {"Return": {"MessageId": "m-1"}}},
                "MockedLambdaRetry": {
                    "0": {"Throw": {"Error": "Lambda.ResourceNotReadyException", "Cause": "not ready"}},
                    "1-2": {"Throw": {"Error": "Lambda.TimeoutException", "Cause": "timed out"}},
                    "3": {"Return": {"StatusCode": 200, "Payload": {"body": "at last"}}}}}})
        .to_string(),
    )
    .expect("write mock config");
    let mock_file = file.clone();
    let app = app_with(&lambda, move |settings| {
        settings.mocks.config_file = Some(mock_file);
    })
    .await;
    // The machine of the Step Functions Local guide: a Lambda then SQS (which Switchback does
    // not call, so only a mock answers it).
    let machine_arn = machine(
        &app,
        "LambdaSQSIntegration",
        json!({"StartAt": "LambdaState", "States": {
            "LambdaState": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "echo", "Payload": {"from": "lambda"}},
                "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "MaxAttempts": 3, "BackoffRate": 1}],
                "ResultPath": "$.lambda", "Next": "SQSState"},
            "SQSState": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage",
                "Parameters": {"QueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/q",
                    "MessageBody.$": "$.lambda.Payload"},
                "ResultPath": "$.sqs", "End": true}}}),
    )
    .await;
    let case = |name: &str| format!("{machine_arn}#{name}");

    let (arn, status, output) = run(&app, &case("HappyPath"), json!({})).await;
    assert_eq!(status, ExecutionStatus::Succeeded);
    assert!(arn.ends_with(&format!(
        ":execution:LambdaSQSIntegration:{}",
        arn.rsplit(':').next().unwrap_or_default()
    )));
    assert_eq!(
        output["lambda"]["Payload"]["body"],
        json!("Hello from Lambda!")
    );
    assert_eq!(output["sqs"], json!({"MessageId": "m-1"}));

    let (arn, status, output) = run(&app, &case("RetryPath"), json!({})).await;
    assert_eq!(status, ExecutionStatus::Succeeded);
    assert_eq!(output["lambda"]["Payload"]["body"], json!("at last"));
    let failed: Vec<String> = history(&app.client, &arn)
        .await
        .iter()
        .filter_map(|e| e.task_failed_event_details())
        .filter_map(|d| d.error().map(str::to_owned))
        .collect();
    assert_eq!(
        failed,
        [
            "Lambda.ResourceNotReadyException",
            "Lambda.TimeoutException",
            "Lambda.TimeoutException"
        ]
    );
    // No mocked state ever reached the Lambda server.
    assert!(lambda.received().is_empty());

    // A state the case does not mock makes its real call.
    let (_, status, output) = run(&app, &case("HybridPath"), json!({})).await;
    assert_eq!(status, ExecutionStatus::Succeeded);
    assert_eq!(output["lambda"]["Payload"], json!({"from": "lambda"}));
    assert_eq!(lambda.calls_of("echo").len(), 1);

    // Outside a test case, a service Switchback does not call fails the state, naming it.
    let (arn, status, _) = run(&app, &machine_arn, json!({})).await;
    assert_eq!(status, ExecutionStatus::Failed);
    let (error, cause) = failure(&app, &arn).await;
    assert_eq!(error, "States.Runtime");
    assert!(
        cause.contains("arn:aws:states:::sqs:sendMessage"),
        "{cause}"
    );

    // A case the file does not have is refused.
    let (code, message) = error_code(
        app.client
            .start_execution()
            .state_machine_arn(case("NoSuchCase"))
            .send()
            .await,
    );
    assert_eq!(code, "ValidationException");
    assert!(message.contains("NoSuchCase"), "{message}");
    let _ = std::fs::remove_dir_all(&directory);
}

#[tokio::test]
async fn a_call_whose_scheduler_dies_is_made_again_and_recorded_once() {
    let lambda = services::lambda().await;
    let url = switchback_tests::pg::fresh_database().await;
    let endpoint = lambda.endpoint();
    let settings = [
        (
            "SWITCHBACK__INTEGRATIONS__LAMBDA__ENDPOINT",
            endpoint.as_str(),
        ),
        ("SWITCHBACK__SCHEDULER__CALL_LEASE_SECONDS", "1"),
    ];
    let api = Node::start("api", &url);
    let mut first = Node::start_with("scheduler", &url, &settings);
    api.wait_ready().await;
    let client = switchback_tests::app::client(api.address.expect("api address"), "us-east-1");
    let machine_arn = client
        .create_state_machine()
        .name("slow")
        .definition(
            json!({"StartAt": "Slow", "States": {"Slow": {"Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "slow", "Payload": {"sleep_ms": 1500}},
                "OutputPath": "$.Payload", "End": true}}})
            .to_string(),
        )
        .role_arn(ROLE)
        .send()
        .await
        .expect("create")
        .state_machine_arn()
        .to_owned();
    let arn = client
        .start_execution()
        .state_machine_arn(&machine_arn)
        .send()
        .await
        .expect("start")
        .execution_arn()
        .to_owned();
    // The first scheduler is mid-call when it dies; the second makes the call again once the
    // lease ran out.
    wait_for("the first call", Duration::from_secs(30), || {
        std::future::ready((!lambda.calls_of("slow").is_empty()).then_some(()))
    })
    .await;
    first.kill();
    let _second = Node::start_with("scheduler", &url, &settings);
    let done = wait_until_done(&client, &arn, Duration::from_secs(30)).await;
    assert_eq!(done.status(), &ExecutionStatus::Succeeded);
    assert_eq!(done.output(), Some("{\"sleep_ms\":1500}"));
    assert_eq!(lambda.calls_of("slow").len(), 2);
    let events = client
        .get_execution_history()
        .execution_arn(&arn)
        .send()
        .await
        .expect("history")
        .events()
        .to_vec();
    assert_eq!(
        types(&events),
        [
            "ExecutionStarted",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskSucceeded",
            "TaskStateExited",
            "ExecutionSucceeded"
        ]
    );
}

/// "Strings with the NUL character (U+0000): kept whole: ... outputs" (docs/compatibility.md):
/// a NUL character PostgreSQL's text and jsonb cannot hold travels through a Lambda call and an
/// HTTP Task (in the request the service receives and in the result it answers) and comes out
/// exactly in the execution's output and history; the scheduler goes on with other work.
#[tokio::test]
async fn a_nul_character_in_a_call_and_its_result_is_kept_whole() {
    let lambda = services::lambda().await;
    let http = services::http().await;
    let app = app_with(&lambda, |_| {}).await;
    let machine_arn = machine(
        &app,
        "nul",
        json!({"StartAt": "Lambda", "States": {
            "Lambda": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "echo", "Payload": {"m.$": "$.m"}},
                "ResultSelector": {"m.$": "$.Payload.m"}, "ResultPath": "$.lambda", "Next": "Http"},
            "Http": {"Type": "Task", "Resource": "arn:aws:states:::http:invoke",
                "Parameters": {"ApiEndpoint": format!("{}/nul", http.endpoint()), "Method": "POST",
                    "Authentication": {"ConnectionArn": CONNECTION}, "RequestBody": {"m.$": "$.m"}},
                "ResultSelector": {"m.$": "$.ResponseBody.body.m"}, "ResultPath": "$.http",
                "End": true}}}),
    )
    .await;
    let nul = "a\u{0}b\u{0}";
    let (arn, status, output) = run(&app, &machine_arn, json!({"m": nul})).await;
    assert_eq!(
        status,
        ExecutionStatus::Succeeded,
        "{:?}",
        failure(&app, &arn).await
    );
    assert_eq!(
        output,
        json!({"m": nul, "lambda": {"m": nul}, "http": {"m": nul}})
    );
    // The services received the NUL character, not a replacement or a truncation.
    let sent: Value =
        serde_json::from_str(&lambda.calls_of("echo")[0].body).expect("the Lambda's payload");
    assert_eq!(sent, json!({"m": nul}));
    let sent: Value =
        serde_json::from_str(&http.calls_of("/nul")[0].body).expect("the HTTP request's body");
    assert_eq!(sent, json!({"m": nul}));
    // The history holds the results as they came.
    let events = history(&app.client, &arn).await;
    let results: Vec<Value> = events
        .iter()
        .filter_map(|e| e.task_succeeded_event_details())
        .filter_map(|d| d.output())
        .map(|o| serde_json::from_str(o).expect("a JSON result"))
        .collect();
    assert_eq!(results.len(), 2);
    assert_eq!(results[0]["Payload"], json!({"m": nul}));
    assert_eq!(results[1]["ResponseBody"]["body"], json!({"m": nul}));
    // The scheduler goes on with other work.
    let pass = machine(
        &app,
        "after-nul",
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}),
    )
    .await;
    assert_eq!(
        run(&app, &pass, json!({})).await.1,
        ExecutionStatus::Succeeded
    );
}

/// "A callback that arrives before the call returned ... ends the state; the history then has
/// no `TaskSubmitted`" (docs/compatibility.md, callbacks): the function's worker answers with
/// the token from the payload while the `lambda:invoke.waitForTaskToken` call is still under
/// way; the execution ends with the callback's result before the function returns, and the
/// call's late return changes nothing.
#[tokio::test]
async fn a_callback_before_the_call_returned_ends_the_state() {
    const SLEEP: Duration = Duration::from_secs(4);
    let lambda = services::lambda().await;
    let app = app_with(&lambda, |_| {}).await;
    let machine_arn = machine(
        &app,
        "early",
        json!({"StartAt": "Callback", "States": {"Callback": {
            "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Parameters": {"FunctionName": "slow",
                "Payload": {"token.$": "$$.Task.Token", "sleep_ms": SLEEP.as_millis() as u64}},
            "End": true}}}),
    )
    .await;
    let arn = app
        .client
        .start_execution()
        .state_machine_arn(&machine_arn)
        .send()
        .await
        .expect("start")
        .execution_arn()
        .to_owned();
    let token = wait_for("the callback token", Duration::from_secs(20), || {
        std::future::ready(
            lambda
                .calls_of("slow")
                .iter()
                .filter_map(|c| serde_json::from_str::<Value>(&c.body).ok())
                .find_map(|p| p["token"].as_str().map(str::to_owned)),
        )
    })
    .await;
    // The function received the call just now and sleeps: it has not returned.
    let received = Instant::now();
    app.client
        .send_task_success()
        .task_token(&token)
        .output(json!({"early": true}).to_string())
        .send()
        .await
        .expect("send task success");
    let done = wait_until_done(&app.client, &arn, Duration::from_secs(10)).await;
    assert!(
        received.elapsed() < SLEEP,
        "the state waited for the call to return: {:?}",
        received.elapsed()
    );
    assert_eq!(done.status(), &ExecutionStatus::Succeeded);
    assert_eq!(done.output(), Some(r#"{"early":true}"#));
    let expected = [
        "ExecutionStarted",
        "TaskStateEntered",
        "TaskScheduled",
        "TaskStarted",
        "TaskSucceeded",
        "TaskStateExited",
        "ExecutionSucceeded",
    ];
    assert_eq!(types(&history(&app.client, &arn).await), expected);
    // The call returns later; its result is not wanted any more and is not recorded.
    tokio::time::sleep(SLEEP.saturating_sub(received.elapsed()) + Duration::from_millis(1500))
        .await;
    assert_eq!(types(&history(&app.client, &arn).await), expected);
    // The call outlived `app_with`'s 2 s lease: it was renewed, not made again.
    assert_eq!(lambda.calls_of("slow").len(), 1, "the call was made once");
    let described = app
        .client
        .describe_execution()
        .execution_arn(&arn)
        .send()
        .await
        .expect("describe");
    assert_eq!(described.output(), Some(r#"{"early":true}"#));
    assert_eq!(described.stop_date(), done.stop_date());
}

/// Mocked responses (docs/compatibility.md): "a `.waitForTaskToken` state's `Return` is its
/// callback's result", and the mock configuration file is found through `SFN_MOCK_CONFIG`, as
/// Step Functions Local finds it, in a real `switchback serve` process given no mock setting.
#[tokio::test]
async fn a_mocked_callback_returns_through_sfn_mock_config() {
    let lambda = services::lambda().await;
    let directory = std::env::temp_dir().join(format!("switchback-mocks-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&directory).expect("temp dir");
    let file = directory.join("MockConfigFile.json");
    std::fs::write(
        &file,
        json!({
            "StateMachines": {"Approval": {"TestCases": {"Approved": {"Ask": "MockedApproval"}}}},
            "MockedResponses": {"MockedApproval": {"0": {"Return": {"approved": true}}}}})
        .to_string(),
    )
    .expect("write mock config");
    let url = switchback_tests::pg::fresh_database().await;
    let endpoint = lambda.endpoint();
    let file_name = file.to_string_lossy().into_owned();
    let node = Node::start_with(
        "serve",
        &url,
        &[
            ("SFN_MOCK_CONFIG", file_name.as_str()),
            (
                "SWITCHBACK__INTEGRATIONS__LAMBDA__ENDPOINT",
                endpoint.as_str(),
            ),
        ],
    );
    node.wait_ready().await;
    let client = switchback_tests::app::client(node.address.expect("api address"), "us-east-1");
    let machine_arn = client
        .create_state_machine()
        .name("Approval")
        .definition(
            json!({"StartAt": "Ask", "States": {"Ask": {"Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                "Parameters": {"FunctionName": "echo", "Payload": {"token.$": "$$.Task.Token"}},
                "ResultPath": "$.answer", "End": true}}})
            .to_string(),
        )
        .role_arn(ROLE)
        .send()
        .await
        .expect("create")
        .state_machine_arn()
        .to_owned();
    let arn = client
        .start_execution()
        .state_machine_arn(format!("{machine_arn}#Approved"))
        .input(json!({"order": 1}).to_string())
        .send()
        .await
        .expect("start the test case")
        .execution_arn()
        .to_owned();
    let done = wait_until_done(&client, &arn, Duration::from_secs(30)).await;
    assert_eq!(done.status(), &ExecutionStatus::Succeeded, "{done:?}");
    let output: Value = serde_json::from_str(done.output().unwrap_or_default()).expect("output");
    assert_eq!(output, json!({"order": 1, "answer": {"approved": true}}));
    let events = client
        .get_execution_history()
        .execution_arn(&arn)
        .send()
        .await
        .expect("history")
        .events()
        .to_vec();
    assert_eq!(
        types(&events),
        [
            "ExecutionStarted",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskSubmitted",
            "TaskSucceeded",
            "TaskStateExited",
            "ExecutionSucceeded",
        ]
    );
    // Nothing was called and no token went out: the mock is the callback.
    assert!(lambda.received().is_empty(), "{:?}", lambda.received());
    let _ = std::fs::remove_dir_all(&directory);
}

#[tokio::test]
async fn bad_integrations_settings_stop_the_start() {
    let url = switchback_tests::pg::fresh_database().await;
    let mut settings = Settings::defaults().expect("default settings");
    settings.api.listen = "127.0.0.1:0".to_owned();
    settings.integrations.connections.push(ConnectionConfig {
        arn: CONNECTION.to_owned(),
        authorization_type: AuthorizationType::Basic,
        basic: None,
        api_key: None,
        oauth: None,
        invocation_http_parameters: Default::default(),
        allowed_endpoints: vec!["*".to_owned()],
    });
    let built =
        switchback::app::Application::build(&settings, &url, switchback::app::Role::All).await;
    let Err(error) = built else {
        panic!("a BASIC connection without credentials was accepted");
    };
    let message = format!("{error:#}");
    assert!(
        message.contains("invalid integrations settings"),
        "{message}"
    );
    assert!(message.contains(CONNECTION), "{message}");
}
