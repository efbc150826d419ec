//! Task integrations in the step function: Lambda by ARN, `lambda:invoke`, callbacks
//! (`.waitForTaskToken`), nested executions (`.sync`, `.sync:2`), and their history shapes.

use serde_json::{Value, json};

use super::snapshot::Status;
use super::{
    Call, ChildExecution, Effect, Event, ExecutionInfo, Invocation, Machine, Pattern, Transition,
    task_token,
};

const T0: i64 = 1_700_000_000_000;

fn info() -> ExecutionInfo {
    ExecutionInfo {
        execution_arn: "arn:aws:states:eu-west-1:123456789012:execution:m:e".into(),
        name: "e".into(),
        role_arn: "arn:aws:iam::123456789012:role/r".into(),
        state_machine_arn: "arn:aws:states:eu-west-1:123456789012:stateMachine:m".into(),
        state_machine_name: "m".into(),
        start_time_ms: T0,
        token_secret: "secret".into(),
        ..Default::default()
    }
}

fn machine(task: Value) -> Machine {
    Machine::new(json!({"StartAt": "T", "States": {
        "T": task,
        "Caught": {"Type": "Pass", "End": true},
    }}))
}

fn invocation(transition: &Transition) -> Invocation {
    transition
        .effects
        .iter()
        .find_map(|e| match e {
            Effect::Invoke(invocation) => Some(invocation.clone()),
            _ => None,
        })
        .expect("a call was made")
}

fn types(transition: &Transition) -> Vec<&str> {
    transition
        .history
        .iter()
        .map(|e| e.event_type.as_str())
        .collect()
}

fn details<'a>(transition: &'a Transition, event_type: &str) -> &'a Value {
    let event = transition
        .history
        .iter()
        .find(|e| e.event_type == event_type)
        .unwrap_or_else(|| panic!("no {event_type} event"));
    event
        .details
        .as_object()
        .and_then(|d| d.values().next())
        .unwrap_or(&Value::Null)
}

#[test]
fn lambda_invoke_is_a_task_with_aws_events() {
    let m = machine(json!({
        "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "f", "Payload.$": "$"},
        "ResultSelector": {"body.$": "$.Payload"},
        "TimeoutSeconds": 30, "End": true,
    }));
    let started = super::start(&m, info(), json!({"x": 1}), T0, 1);
    assert_eq!(
        types(&started),
        [
            "ExecutionStarted",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted"
        ]
    );
    assert_eq!(
        details(&started, "TaskScheduled"),
        &json!({
            "resourceType": "lambda", "resource": "invoke", "region": "eu-west-1",
            "parameters": "{\"FunctionName\":\"f\",\"Payload\":{\"x\":1}}",
            "timeoutInSeconds": 30,
        })
    );
    assert_eq!(
        details(&started, "TaskStarted"),
        &json!({"resourceType": "lambda", "resource": "invoke"})
    );
    let call = invocation(&started);
    assert_eq!(call.state, "T");
    assert_eq!(call.invocation, 0);
    assert_eq!(call.timeout_seconds, Some(30));
    assert_eq!(
        call.call,
        Call::Lambda {
            function_name: "f".into(),
            qualifier: None,
            payload: "{\"x\":1}".into(),
            direct: false,
        }
    );
    let output = json!({"StatusCode": 200, "Payload": {"ok": true}}).to_string();
    let done = super::step(
        &m,
        started.snapshot,
        &Event::TaskSucceeded {
            task_id: call.task_id,
            output: output.clone(),
        },
        T0 + 5,
        2,
    );
    assert_eq!(
        types(&done),
        ["TaskSucceeded", "TaskStateExited", "ExecutionSucceeded"]
    );
    assert_eq!(
        details(&done, "TaskSucceeded"),
        &json!({"resourceType": "lambda", "resource": "invoke", "output": output,
                "outputDetails": {"truncated": false}})
    );
    assert_eq!(done.snapshot.output, Some(json!({"body": {"ok": true}})));
}

#[test]
fn a_lambda_function_arn_writes_lambda_function_events_and_is_caught() {
    let arn = "arn:aws:lambda:eu-west-1:123456789012:function:f";
    let m = machine(json!({
        "Type": "Task", "Resource": arn, "End": true,
        "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
    }));
    let started = super::start(&m, info(), json!({"x": 1}), T0, 1);
    assert_eq!(
        types(&started)[2..],
        ["LambdaFunctionScheduled", "LambdaFunctionStarted"]
    );
    assert_eq!(
        details(&started, "LambdaFunctionScheduled"),
        &json!({"resource": arn, "input": "{\"x\":1}", "inputDetails": {"truncated": false}})
    );
    let call = invocation(&started);
    assert!(
        matches!(&call.call, Call::Lambda { direct: true, function_name, .. } if function_name == arn)
    );
    let failed = super::step(
        &m,
        started.snapshot,
        &Event::TaskFailed {
            task_id: call.task_id,
            error: "Exception".into(),
            cause: "{\"errorType\":\"Exception\"}".into(),
        },
        T0 + 5,
        2,
    );
    assert_eq!(
        types(&failed),
        [
            "LambdaFunctionFailed",
            "TaskStateExited",
            "PassStateEntered",
            "PassStateExited",
            "ExecutionSucceeded"
        ]
    );
    assert_eq!(
        details(&failed, "LambdaFunctionFailed"),
        &json!({"error": "Exception", "cause": "{\"errorType\":\"Exception\"}"})
    );
    assert_eq!(
        failed.snapshot.output,
        Some(json!({"Error": "Exception", "Cause": "{\"errorType\":\"Exception\"}"}))
    );
}

#[test]
fn callbacks_get_the_token_and_wait_after_submission() {
    let m = machine(json!({
        "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "Parameters": {"FunctionName": "f", "Payload": {"token.$": "$$.Task.Token"}},
        "HeartbeatSeconds": 10, "End": true,
    }));
    let started = super::start(&m, info(), json!({}), T0, 1);
    let call = invocation(&started);
    assert_eq!(call.pattern, Pattern::WaitForTaskToken);
    assert_eq!(call.token, task_token("secret", call.task_id));
    assert_eq!(call.token.len(), 64);
    let Call::Lambda { payload, .. } = &call.call else {
        panic!("a Lambda call");
    };
    assert_eq!(payload, &json!({"token": call.token}).to_string());
    assert_eq!(
        details(&started, "TaskScheduled")["heartbeatInSeconds"],
        json!(10)
    );

    let submitted = super::step(
        &m,
        started.snapshot,
        &Event::TaskSubmitted {
            task_id: call.task_id,
            output: "{\"StatusCode\":200}".into(),
        },
        T0 + 1,
        2,
    );
    assert_eq!(types(&submitted), ["TaskSubmitted"]);
    assert_eq!(submitted.snapshot.status, Status::Running);
    // Still waiting for the callback: the heartbeat deadline fires without one.
    assert_eq!(submitted.snapshot.next_due_ms(), Some(T0 + 10_000));
    let beaten = super::step(
        &m,
        submitted.snapshot.clone(),
        &Event::TaskHeartbeat {
            task_id: call.task_id,
            at_ms: T0 + 8_000,
        },
        T0 + 8_000,
        2,
    );
    assert_eq!(beaten.snapshot.next_due_ms(), Some(T0 + 18_000));
    let timed_out = super::step(&m, beaten.snapshot.clone(), &Event::Tick, T0 + 18_000, 3);
    assert_eq!(types(&timed_out), ["TaskTimedOut", "ExecutionFailed"]);
    assert_eq!(
        details(&timed_out, "TaskTimedOut"),
        &json!({"resourceType": "lambda", "resource": "invoke.waitForTaskToken",
                "error": "States.HeartbeatTimeout"})
    );
    assert!(timed_out.effects.contains(&Effect::CancelTask {
        task_id: call.task_id
    }));

    let called_back = super::step(
        &m,
        beaten.snapshot,
        &Event::TaskSucceeded {
            task_id: call.task_id,
            output: "\"done\"".into(),
        },
        T0 + 9_000,
        4,
    );
    assert_eq!(
        types(&called_back),
        ["TaskSucceeded", "TaskStateExited", "ExecutionSucceeded"]
    );
    assert_eq!(called_back.snapshot.output, Some(json!("done")));
}

fn child(status: &str) -> ChildExecution {
    ChildExecution {
        execution_arn: "arn:aws:states:eu-west-1:123456789012:execution:c:x".into(),
        state_machine_arn: "arn:aws:states:eu-west-1:123456789012:stateMachine:c".into(),
        name: "x".into(),
        status: status.into(),
        input: "{\"a\":1}".into(),
        output: (status == "SUCCEEDED").then(|| "{\"b\":2}".into()),
        error: (status != "SUCCEEDED").then(|| "Boom".into()),
        cause: (status != "SUCCEEDED").then(|| "it broke".into()),
        start_ms: T0,
        stop_ms: T0 + 7,
    }
}

#[test]
fn nested_executions_end_with_their_child() {
    for (resource, text) in [
        ("arn:aws:states:::states:startExecution.sync:2", false),
        ("arn:aws:states:::states:startExecution.sync", true),
    ] {
        let m = machine(json!({
            "Type": "Task", "Resource": resource,
            "Parameters": {"StateMachineArn": "arn:aws:states:eu-west-1:123456789012:stateMachine:c",
                           "Input": {"a": 1}, "Name": "x"},
            "End": true,
        }));
        let started = super::start(&m, info(), json!({}), T0, 1);
        let call = invocation(&started);
        assert_eq!(
            call.call,
            Call::StartExecution {
                state_machine_arn: "arn:aws:states:eu-west-1:123456789012:stateMachine:c".into(),
                name: Some("x".into()),
                input: "{\"a\":1}".into(),
            }
        );
        let ok = super::step(
            &m,
            started.snapshot.clone(),
            &Event::ChildEnded {
                task_id: call.task_id,
                child: child("SUCCEEDED"),
            },
            T0 + 9,
            2,
        );
        let output = ok.snapshot.output.clone().expect("succeeded");
        if text {
            assert_eq!(output["Output"], json!("{\"b\":2}"));
            assert_eq!(output["Input"], json!("{\"a\":1}"));
        } else {
            assert_eq!(output["Output"], json!({"b": 2}));
        }
        assert_eq!(output["Status"], json!("SUCCEEDED"));
        assert_eq!(output["StartDate"], json!(T0));

        let failed = super::step(
            &m,
            started.snapshot,
            &Event::ChildEnded {
                task_id: call.task_id,
                child: child("FAILED"),
            },
            T0 + 9,
            2,
        );
        assert_eq!(failed.snapshot.error.as_deref(), Some("States.TaskFailed"));
        let cause: Value =
            serde_json::from_str(failed.snapshot.cause.as_deref().unwrap_or_default())
                .expect("the cause is the child's description");
        assert_eq!(cause["Error"], json!("Boom"));
        assert_eq!(cause["Cause"], json!("it broke"));
        assert_eq!(cause["Status"], json!("FAILED"));
        assert!(cause.get("Output").is_none());
    }
}

#[test]
fn a_callback_task_is_not_ended_by_its_child() {
    let m = machine(json!({
        "Type": "Task", "Resource": "arn:aws:states:::states:startExecution.waitForTaskToken",
        "Parameters": {"StateMachineArn": "arn:aws:states:eu-west-1:123456789012:stateMachine:c",
                       "Input": {"token.$": "$$.Task.Token"}},
        "End": true,
    }));
    let started = super::start(&m, info(), json!({}), T0, 1);
    let call = invocation(&started);
    let ended = super::step(
        &m,
        started.snapshot,
        &Event::ChildEnded {
            task_id: call.task_id,
            child: child("SUCCEEDED"),
        },
        T0 + 9,
        2,
    );
    assert!(ended.history.is_empty());
    assert_eq!(ended.snapshot.status, Status::Running);
}

#[test]
fn calls_are_counted_per_state_across_retries() {
    let m = machine(json!({
        "Type": "Task", "Resource": "arn:aws:states:::http:invoke",
        "Parameters": {"ApiEndpoint": "http://example.test", "Method": "GET"},
        "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "MaxAttempts": 3}],
        "End": true,
    }));
    let mut transition = super::start(&m, info(), json!({}), T0, 1);
    let mut now = T0;
    for expected in 0..3 {
        let call = invocation(&transition);
        assert_eq!(call.invocation, expected);
        let failed = super::step(
            &m,
            transition.snapshot,
            &Event::TaskFailed {
                task_id: call.task_id,
                error: "States.Http.StatusCode.503".into(),
                cause: "Service Unavailable".into(),
            },
            now,
            2,
        );
        now = failed.snapshot.next_due_ms().expect("a retry is due");
        transition = super::step(&m, failed.snapshot, &Event::Tick, now, 3);
    }
}

#[test]
fn integrations_need_their_parameters() {
    let m = machine(json!({
        "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"Payload": {}}, "End": true,
    }));
    let started = super::start(&m, info(), json!({}), T0, 1);
    assert_eq!(started.snapshot.status, Status::Failed);
    assert_eq!(started.snapshot.error.as_deref(), Some("States.Runtime"));
    assert!(
        started
            .snapshot
            .cause
            .as_deref()
            .unwrap_or_default()
            .contains("'FunctionName' is required")
    );
}

#[test]
fn a_result_over_256_kib_fails_with_data_limit_exceeded() {
    let m = machine(json!({
        "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "f"}, "End": true,
    }));
    let started = super::start(&m, info(), json!({}), T0, 1);
    let call = invocation(&started);
    let big = Value::from("x".repeat(256 * 1024)).to_string();
    let done = super::step(
        &m,
        started.snapshot,
        &Event::TaskSucceeded {
            task_id: call.task_id,
            output: big,
        },
        T0 + 1,
        2,
    );
    assert_eq!(types(&done), ["TaskFailed", "ExecutionFailed"]);
    assert_eq!(
        done.snapshot.error.as_deref(),
        Some("States.DataLimitExceeded")
    );
}
