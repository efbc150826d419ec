//! TestState: one state run once in the API node, a Task answered by its mock; nothing is
//! stored.

use aws_sdk_sfn::types::{InspectionLevel, MockErrorOutput, MockInput, TestExecutionStatus};
use serde_json::{Value, json};
use switchback_tests::TestApp;

use crate::error_code;

fn parsed(text: Option<&str>) -> Value {
    serde_json::from_str(text.expect("a JSON member")).expect("JSON")
}

#[tokio::test]
async fn states_run_alone_with_their_next_state_and_status() {
    let app = TestApp::spawn().await;
    let client = &app.client;

    // A Pass state goes on to its Next, with its output and (at DEBUG) its input.
    let pass = json!({"Type": "Pass", "Parameters": {"doubled.$": "States.MathAdd($.n, $.n)"},
        "ResultPath": "$.r", "Next": "After"});
    let answer = client
        .test_state()
        .definition(pass.to_string())
        .input(r#"{"n": 21}"#)
        .inspection_level(InspectionLevel::Debug)
        .send()
        .await
        .expect("test a Pass state");
    assert_eq!(answer.status(), Some(&TestExecutionStatus::Succeeded));
    assert_eq!(answer.next_state(), Some("After"));
    assert_eq!(
        parsed(answer.output()),
        json!({"n": 21, "r": {"doubled": 42}})
    );
    let inspection = answer.inspection_data().expect("inspection data at DEBUG");
    assert_eq!(parsed(inspection.input()), json!({"n": 21}));
    assert_eq!(parsed(inspection.after_input_path()), json!({"n": 21}));
    assert_eq!(
        parsed(inspection.after_parameters()),
        json!({"doubled": 42})
    );
    assert_eq!(
        parsed(inspection.after_result_selector()),
        json!({"doubled": 42})
    );
    assert_eq!(
        parsed(inspection.after_result_path()),
        json!({"n": 21, "r": {"doubled": 42}})
    );
    assert!(inspection.result().is_none(), "a Pass state without Result");

    // Variables and a context object given by the test are what the state reads.
    let reads = json!({"Type": "Pass", "QueryLanguage": "JSONata",
        "Output": {"seen": "{% $limit %}", "who": "{% $states.context.Execution.Name %}"},
        "End": true});
    let answer = client
        .test_state()
        .definition(reads.to_string())
        .variables(r#"{"limit": 3}"#)
        .context(r#"{"Execution": {"Name": "given"}}"#)
        .send()
        .await
        .expect("variables and context");
    assert_eq!(parsed(answer.output()), json!({"seen": 3, "who": "given"}));
    // At DEBUG, the variables after the state's assignments.
    let assigns = json!({"Type": "Pass", "Assign": {"x": 1}, "End": true});
    let answer = client
        .test_state()
        .definition(assigns.to_string())
        .variables(r#"{"limit": 3}"#)
        .inspection_level(InspectionLevel::Debug)
        .send()
        .await
        .expect("assignments");
    let variables = answer.inspection_data().and_then(|data| data.variables());
    assert_eq!(parsed(variables), json!({"limit": 3, "x": 1}));
    let (code, message) = error_code(
        client
            .test_state()
            .definition(reads.to_string())
            .context(r#"{"Execution": {"Id": 1}}"#)
            .send()
            .await,
    );
    assert_eq!(
        (code.as_str(), message.as_str()),
        (
            "ValidationException",
            "Invalid Context object provided: Execution.Id must be a string"
        )
    );

    // A Choice state names the state it chose; a Fail state fails.
    let choice = json!({"Type": "Choice", "Default": "Small",
        "Choices": [{"Variable": "$.n", "NumericGreaterThan": 10, "Next": "Big"}]});
    let answer = client
        .test_state()
        .definition(choice.to_string())
        .input(r#"{"n": 21}"#)
        .send()
        .await
        .expect("test a Choice state");
    assert_eq!(answer.next_state(), Some("Big"));
    assert!(
        answer.inspection_data().is_none(),
        "nothing to inspect at INFO"
    );
    let fail = json!({"Type": "Fail", "Error": "Nope", "Cause": "no"});
    let answer = client
        .test_state()
        .definition(fail.to_string())
        .send()
        .await
        .expect("test a Fail state");
    assert_eq!(answer.status(), Some(&TestExecutionStatus::Failed));
    assert_eq!((answer.error(), answer.cause()), (Some("Nope"), Some("no")));

    // A state of a whole machine, by name, in the machine's JSONata.
    let machine = json!({"QueryLanguage": "JSONata", "StartAt": "First", "States": {
        "First": {"Type": "Pass", "Next": "Second"},
        "Second": {"Type": "Pass", "Output": "{% $states.input.n * 3 %}", "End": true}}});
    let answer = client
        .test_state()
        .definition(machine.to_string())
        .state_name("Second")
        .input(r#"{"n": 5}"#)
        .send()
        .await
        .expect("test a named state");
    assert_eq!(answer.status(), Some(&TestExecutionStatus::Succeeded));
    assert_eq!(answer.next_state(), None);
    assert_eq!(parsed(answer.output()), json!(15));
    let (code, message) = error_code(
        client
            .test_state()
            .definition(machine.to_string())
            .state_name("Third")
            .send()
            .await,
    );
    assert_eq!(
        (code.as_str(), message.as_str()),
        ("ValidationException", "State not found in definition")
    );
}

#[tokio::test]
async fn a_mocked_task_succeeds_is_retried_or_caught() {
    let app = TestApp::spawn().await;
    let client = &app.client;
    let task = json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "f", "Payload.$": "$"},
        "ResultSelector": {"answer.$": "$.Payload"},
        "Retry": [{"ErrorEquals": ["Flaky"], "MaxAttempts": 2}],
        "Catch": [{"ErrorEquals": ["Broken"], "Next": "Recover"}],
        "Next": "Done"});
    let mock = |result: &str| MockInput::builder().result(result).build();
    let error = |name: &str| {
        MockInput::builder()
            .error_output(MockErrorOutput::builder().error(name).cause("why").build())
            .build()
    };

    let answer = client
        .test_state()
        .definition(task.to_string())
        .input(r#"{"x": 1}"#)
        .mock(mock(r#"{"Payload": 42, "StatusCode": 200}"#))
        .send()
        .await
        .expect("a mocked result");
    assert_eq!(answer.status(), Some(&TestExecutionStatus::Succeeded));
    assert_eq!(answer.next_state(), Some("Done"));
    assert_eq!(parsed(answer.output()), json!({"answer": 42}));

    let answer = client
        .test_state()
        .definition(task.to_string())
        .mock(error("Flaky"))
        .inspection_level(InspectionLevel::Debug)
        .send()
        .await
        .expect("a retried error");
    assert_eq!(answer.status(), Some(&TestExecutionStatus::Retriable));
    assert_eq!(answer.error(), Some("Flaky"));
    let details = answer
        .inspection_data()
        .and_then(|data| data.error_details())
        .expect("error details");
    assert_eq!(details.retry_index(), Some(0));
    assert_eq!(details.retry_backoff_interval_seconds(), Some(1));
    // After the retrier's last attempt, the error is the state's.
    let answer = client
        .test_state()
        .definition(task.to_string())
        .mock(error("Flaky"))
        .state_configuration(
            aws_sdk_sfn::types::TestStateConfiguration::builder()
                .retrier_retry_count(2)
                .build(),
        )
        .send()
        .await
        .expect("retries spent");
    assert_eq!(answer.status(), Some(&TestExecutionStatus::Failed));

    let answer = client
        .test_state()
        .definition(task.to_string())
        .mock(error("Broken"))
        .send()
        .await
        .expect("a caught error");
    assert_eq!(answer.status(), Some(&TestExecutionStatus::CaughtError));
    assert_eq!(answer.next_state(), Some("Recover"));
    assert_eq!(
        parsed(answer.output()),
        json!({"Error": "Broken", "Cause": "why"})
    );

    let answer = client
        .test_state()
        .definition(task.to_string())
        .mock(error("Other"))
        .send()
        .await
        .expect("an uncaught error");
    assert_eq!(answer.status(), Some(&TestExecutionStatus::Failed));
    assert_eq!(
        (answer.error(), answer.cause()),
        (Some("Other"), Some("why"))
    );

    let (code, message) = error_code(
        client
            .test_state()
            .definition(task.to_string())
            .mock(mock("not JSON"))
            .send()
            .await,
    );
    assert_eq!(
        (code.as_str(), message.as_str()),
        ("ValidationException", "Mocked result must be valid JSON")
    );
    // The mock is checked against the shape of Lambda's Invoke response, unless told not to.
    let (code, message) = error_code(
        client
            .test_state()
            .definition(task.to_string())
            .mock(mock(r#"{"StatusCode": "200"}"#))
            .send()
            .await,
    );
    assert_eq!(
        (code.as_str(), message.as_str()),
        (
            "ValidationException",
            "Mock result schema validation error: Field 'StatusCode' must be a number"
        )
    );
    // PRESENT checks the types of the fields given, not that the required ones are there.
    let start = json!({"Type": "Task", "Resource": "arn:aws:states:::states:startExecution",
        "Parameters": {"StateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:m"},
        "End": true});
    let present = |result: &str| {
        MockInput::builder()
            .result(result)
            .field_validation_mode(aws_sdk_sfn::types::MockResponseValidationMode::Present)
            .build()
    };
    let answer = client
        .test_state()
        .definition(start.to_string())
        .mock(present("{}"))
        .send()
        .await
        .expect("nothing required in PRESENT");
    assert_eq!(answer.status(), Some(&TestExecutionStatus::Succeeded));
    let (code, message) = error_code(
        client
            .test_state()
            .definition(start.to_string())
            .mock(present(r#"{"StartDate": true}"#))
            .send()
            .await,
    );
    assert_eq!(
        (code.as_str(), message.as_str()),
        (
            "ValidationException",
            "Mock result schema validation error: Field 'StartDate' must be a string"
        )
    );
    // Calls Switchback does not make are checked too, against their AWS response shapes.
    let dynamodb = json!({"Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem",
        "Parameters": {"TableName": "t", "Item": {}}, "End": true});
    let (code, message) = error_code(
        client
            .test_state()
            .definition(dynamodb.to_string())
            .mock(mock(r#"{"ConsumedCapacity": {"CapacityUnits": "1.5"}}"#))
            .send()
            .await,
    );
    assert_eq!(
        (code.as_str(), message.as_str()),
        (
            "ValidationException",
            "Mock result schema validation error: Field 'CapacityUnits' must be a number"
        )
    );
    let answer = client
        .test_state()
        .definition(dynamodb.to_string())
        .mock(mock(r#"{"ConsumedCapacity": {"CapacityUnits": 1.5}}"#))
        .send()
        .await
        .expect("a mock of DynamoDB's shape");
    assert_eq!(answer.status(), Some(&TestExecutionStatus::Succeeded));
    let unchecked = MockInput::builder()
        .result(r#"{"StatusCode": "200", "Payload": 1}"#)
        .field_validation_mode(aws_sdk_sfn::types::MockResponseValidationMode::None)
        .build();
    let answer = client
        .test_state()
        .definition(task.to_string())
        .mock(unchecked)
        .send()
        .await
        .expect("an unchecked mock");
    assert_eq!(parsed(answer.output()), json!({"answer": 1}));
    // Without a mock or a role, a Task is refused.
    let (code, _) = error_code(
        client
            .test_state()
            .definition(task.to_string())
            .send()
            .await,
    );
    assert_eq!(code, "ValidationException");
    // Nothing was recorded.
    let executions = client.list_state_machines().send().await.expect("list");
    assert!(executions.state_machines().is_empty());
}

/// A Map or Parallel state is tested with a mock standing for its work; its failures count
/// against the tolerated ones; the states a mock does not apply to are refused.
#[tokio::test]
async fn map_and_parallel_states_answer_with_their_mock() {
    let app = TestApp::spawn().await;
    let client = &app.client;
    let map = json!({"Type": "Map", "QueryLanguage": "JSONata",
        "Items": "{% $states.input.values %}", "MaxConcurrency": 2, "ToleratedFailureCount": 1,
        "ItemProcessor": {"StartAt": "Work", "States": {"Work": {"Type": "Task", "QueryLanguage": "JSONata",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Arguments": {"FunctionName": "f"}, "End": true}}},
        "Catch": [{"ErrorEquals": ["States.ExceedToleratedFailureThreshold"], "Next": "TooMany"}],
        "Output": "{% $states.result %}", "Next": "Done"});
    let failures = |n: i32| {
        aws_sdk_sfn::types::TestStateConfiguration::builder()
            .map_iteration_failure_count(n)
            .build()
    };
    let answer = client
        .test_state()
        .definition(map.to_string())
        .input(r#"{"values": [1, 2, 3]}"#)
        .mock(MockInput::builder().result("[10, 20, 30]").build())
        .state_configuration(failures(1))
        .inspection_level(InspectionLevel::Debug)
        .send()
        .await
        .expect("a mocked Map");
    assert_eq!(answer.status(), Some(&TestExecutionStatus::Succeeded));
    assert_eq!(answer.next_state(), Some("Done"));
    assert_eq!(parsed(answer.output()), json!([10, 20, 30]));
    let inspection = answer.inspection_data().expect("inspection");
    assert_eq!(inspection.max_concurrency(), Some(2));
    assert_eq!(inspection.tolerated_failure_count(), Some(1));

    let answer = client
        .test_state()
        .definition(map.to_string())
        .input(r#"{"values": [1, 2, 3]}"#)
        .mock(MockInput::builder().result("[10, 20, 30]").build())
        .state_configuration(failures(2))
        .send()
        .await
        .expect("too many failures");
    assert_eq!(answer.status(), Some(&TestExecutionStatus::CaughtError));
    assert_eq!(answer.next_state(), Some("TooMany"));
    assert_eq!(
        answer.error(),
        Some("States.ExceedToleratedFailureThreshold")
    );

    let parallel = json!({"Type": "Parallel", "ResultPath": "$.both", "End": true,
        "Branches": [
            {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}},
            {"StartAt": "B", "States": {"B": {"Type": "Pass", "End": true}}}]});
    let answer = client
        .test_state()
        .definition(parallel.to_string())
        .input(r#"{"x": 1}"#)
        .mock(MockInput::builder().result(r#"["a", "b"]"#).build())
        .send()
        .await
        .expect("a mocked Parallel");
    assert_eq!(parsed(answer.output()), json!({"x": 1, "both": ["a", "b"]}));

    for (definition, mock, expected) in [
        (
            parallel.to_string(),
            Some(r#"["only one"]"#),
            (
                "ValidationException",
                "Mocked result must contain the same number of items as number of Parallel branches.",
            ),
        ),
        (
            parallel.to_string(),
            None,
            (
                "InvalidDefinition",
                "TestState API does not support Map or Parallel states. Supported state types include: [Task, Wait, Pass, Succeed, Fail, Choice]",
            ),
        ),
        (
            json!({"Type": "Pass", "End": true}).to_string(),
            Some("{}"),
            (
                "ValidationException",
                "State type 'Pass' is not supported when a mock is specified",
            ),
        ),
    ] {
        let mut request = client.test_state().definition(definition);
        if let Some(mock) = mock {
            request = request.mock(MockInput::builder().result(mock).build());
        }
        let (code, message) = error_code(request.send().await);
        assert_eq!((code.as_str(), message.as_str()), expected);
    }
}

/// Without a mock, a Lambda Task calls its function from the API node, as an execution would;
/// a role is required, and the tasks that cannot answer at once are refused.
#[tokio::test]
async fn a_task_without_a_mock_calls_its_lambda_function() {
    let lambda = switchback_tests::services::lambda().await;
    let url = switchback_tests::pg::fresh_database().await;
    let endpoint = lambda.endpoint();
    let app = TestApp::spawn_with(&url, move |settings| {
        settings.integrations.lambda.endpoint = Some(endpoint);
    })
    .await;
    let client = &app.client;
    let task = json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "echo", "Payload": {"n.$": "$.n"}},
        "ResultSelector": {"payload.$": "$.Payload"}, "End": true});
    let answer = client
        .test_state()
        .definition(task.to_string())
        .role_arn(crate::executions::ROLE)
        .input(r#"{"n": 7}"#)
        .send()
        .await
        .expect("a real call");
    assert_eq!(answer.status(), Some(&TestExecutionStatus::Succeeded));
    assert_eq!(parsed(answer.output()), json!({"payload": {"n": 7}}));
    assert_eq!(
        lambda.calls_of("echo").len(),
        1,
        "the function was called once"
    );

    let (code, message) = error_code(
        client
            .test_state()
            .definition(task.to_string())
            .input(r#"{"n": 7}"#)
            .send()
            .await,
    );
    assert_eq!(
        (code.as_str(), message.as_str()),
        (
            "ValidationException",
            "RoleArn must be specified when testing a Task state"
        )
    );
    let activity = json!({"Type": "Task",
        "Resource": "arn:aws:states:us-east-1:123456789012:activity:work", "End": true});
    let (code, _) = error_code(
        client
            .test_state()
            .definition(activity.to_string())
            .role_arn(crate::executions::ROLE)
            .send()
            .await,
    );
    assert_eq!(code, "ValidationException", "an activity needs a mock");
    assert_eq!(lambda.calls_of("echo").len(), 1);
}

/// At TRACE, an HTTP Task run without a mock shows the request it sent and the response it
/// got, without what its connection adds (here the credentials); `revealSecrets` is denied.
#[tokio::test]
async fn an_http_task_shows_its_request_and_response_at_trace() {
    use switchback_invoke::{AuthorizationType, BasicAuth, ConnectionConfig};
    let http = switchback_tests::services::http().await;
    let url = switchback_tests::pg::fresh_database().await;
    let connection = "arn:aws:events:us-east-1:123456789012:connection/echo/1";
    let app = TestApp::spawn_with(&url, move |settings| {
        settings.integrations.http.allow_private_destinations = Some(true);
        settings.integrations.connections.push(ConnectionConfig {
            arn: connection.to_owned(),
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
    })
    .await;
    let task = json!({"Type": "Task", "Resource": "arn:aws:states:::http:invoke",
        "Parameters": {"ApiEndpoint": format!("{}/echo", http.endpoint()), "Method": "POST",
            "Authentication": {"ConnectionArn": connection}, "RequestBody": {"n": 1}},
        "ResultSelector": {"status.$": "$.StatusCode"}, "End": true});
    let test = |reveal: bool| {
        app.client
            .test_state()
            .definition(task.to_string())
            .role_arn(crate::executions::ROLE)
            .inspection_level(InspectionLevel::Trace)
            .reveal_secrets(reveal)
            .send()
    };
    let answer = test(false).await.expect("an HTTP Task at TRACE");
    assert_eq!(answer.status(), Some(&TestExecutionStatus::Succeeded));
    assert_eq!(parsed(answer.output()), json!({"status": 200}));
    let inspection = answer.inspection_data().expect("inspection");
    let request = inspection.request().expect("the request");
    assert_eq!(request.method(), Some("POST"));
    assert!(request.url().is_some_and(|u| u.ends_with("/echo")));
    assert_eq!(parsed(request.body()), json!({"n": 1}));
    let headers = request.headers().unwrap_or_default().to_ascii_lowercase();
    assert!(!headers.contains("authorization"), "hidden: {headers}");
    let response = inspection.response().expect("the response");
    assert_eq!(response.status_code(), Some("200"));

    // No caller may see the operator's secrets: AWS's permission check, which nobody passes.
    let (code, _) = error_code(test(true).await);
    assert_eq!(code, "AccessDeniedException");
}

/// docs/testing.md's example: the unit tests of `docs/examples/order.asl.json`'s states, written
/// with boto3 as a user would, pass against the server.
#[tokio::test]
async fn the_documented_example_tests_pass() {
    let app = TestApp::spawn().await;
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/examples/test_order_states.py"
    );
    let endpoint = app.endpoint();
    let run = tokio::task::spawn_blocking(move || {
        std::process::Command::new("timeout")
            .args(["120", "python3", script])
            .env("SWITCHBACK_ENDPOINT", endpoint)
            .output()
            .expect("python3 (with boto3)")
    })
    .await
    .expect("the example ran");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(String::from_utf8_lossy(&run.stderr).contains("Ran 5 tests"));
}
