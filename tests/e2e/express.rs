//! StartSyncExecution and the Express rules: the answer carries the execution's result, from
//! any API node while any scheduler runs it.

use aws_sdk_sfn::types::{StateMachineType, SyncExecutionStatus};
use serde_json::json;
use switchback_tests::processes::Node;

use crate::error_code;
use crate::executions::ROLE;

async fn machine(
    client: &aws_sdk_sfn::Client,
    name: &str,
    kind: StateMachineType,
    definition: serde_json::Value,
) -> String {
    client
        .create_state_machine()
        .name(name)
        .r#type(kind)
        .definition(definition.to_string())
        .role_arn(ROLE)
        .send()
        .await
        .expect("create")
        .state_machine_arn()
        .to_owned()
}

/// Two API nodes and a scheduler: a machine created through one node runs synchronously
/// through the other; a failure is answered (HTTP 200) with its error and cause; STANDARD
/// machines are refused for StartSyncExecution, EXPRESS ones for ListExecutions.
#[tokio::test]
async fn start_sync_execution_answers_with_the_result_from_any_api_node() {
    let url = switchback_tests::pg::fresh_database().await;
    let first = Node::start("api", &url);
    let second = Node::start("api", &url);
    let _scheduler = Node::start("scheduler", &url);
    first.wait_ready().await;
    second.wait_ready().await;
    let one = switchback_tests::app::client(first.address.expect("address"), "us-east-1");
    let two = switchback_tests::app::client(second.address.expect("address"), "us-east-1");
    let express = machine(
        &one,
        "quick",
        StateMachineType::Express,
        json!({"StartAt": "Double", "States": {"Double": {"Type": "Pass",
            "Parameters": {"n.$": "States.MathAdd($.n, $.n)"}, "End": true}}}),
    )
    .await;
    let done = two
        .start_sync_execution()
        .state_machine_arn(&express)
        .input(r#"{"n": 21}"#)
        .send()
        .await
        .expect("start sync");
    assert_eq!(done.status(), &SyncExecutionStatus::Succeeded);
    assert_eq!(done.output(), Some(r#"{"n":42}"#));
    assert!(
        done.execution_arn().contains(":express:quick:"),
        "{}",
        done.execution_arn()
    );
    assert_eq!(done.state_machine_arn(), Some(express.as_str()));
    let billing = done.billing_details().expect("billing details");
    assert_eq!(billing.billed_memory_used_in_mb(), 64);
    assert_eq!(
        billing.billed_duration_in_milliseconds() % 100,
        0,
        "whole 100 ms"
    );

    let failing = machine(
        &one,
        "failing",
        StateMachineType::Express,
        json!({"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Nope", "Cause": "no"}}}),
    )
    .await;
    let failed = two
        .start_sync_execution()
        .state_machine_arn(&failing)
        .send()
        .await
        .expect("a failure is an answer");
    assert_eq!(failed.status(), &SyncExecutionStatus::Failed);
    assert_eq!((failed.error(), failed.cause()), (Some("Nope"), Some("no")));

    let standard = machine(
        &one,
        "standard",
        StateMachineType::Standard,
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}),
    )
    .await;
    let (code, message) = error_code(
        two.start_sync_execution()
            .state_machine_arn(&standard)
            .send()
            .await,
    );
    assert_eq!(code, "StateMachineTypeNotSupported");
    assert_eq!(
        message,
        "This operation is not supported by this type of state machine"
    );
    let (code, _) = error_code(
        one.list_executions()
            .state_machine_arn(&express)
            .send()
            .await,
    );
    assert_eq!(code, "StateMachineTypeNotSupported");
}

/// StartExecution of an EXPRESS machine answers at once with an `…:express:…` ARN, which the
/// execution operations refuse as AWS does: Express executions have no describable record.
#[tokio::test]
async fn express_executions_are_refused_by_the_execution_operations() {
    let app = switchback_tests::TestApp::spawn().await;
    let express = machine(
        &app.client,
        "waits",
        StateMachineType::Express,
        json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 60, "End": true}}}),
    )
    .await;
    let started = app
        .client
        .start_execution()
        .state_machine_arn(&express)
        .send()
        .await
        .expect("start");
    let arn = started.execution_arn();
    assert!(arn.contains(":express:waits:"), "{arn}");
    let refused = "Invalid Arn: 'Resource type not valid in this context: express'";
    let describe = error_code(
        app.client
            .describe_execution()
            .execution_arn(arn)
            .send()
            .await,
    );
    let history = error_code(
        app.client
            .get_execution_history()
            .execution_arn(arn)
            .send()
            .await,
    );
    let stop = error_code(app.client.stop_execution().execution_arn(arn).send().await);
    let redrive = error_code(
        app.client
            .redrive_execution()
            .execution_arn(arn)
            .send()
            .await,
    );
    let machine_of = error_code(
        app.client
            .describe_state_machine_for_execution()
            .execution_arn(arn)
            .send()
            .await,
    );
    for (code, message) in [describe, history, stop, redrive, machine_of] {
        assert_eq!((code.as_str(), message.as_str()), ("InvalidArn", refused));
    }
}
