//! Today's language end to end: JSONata states and variables through the SDK, on a real
//! PostgreSQL, across Parallel, Map, Retry/Catch and an activity; a variable surviving its
//! scheduler's death; a runaway expression failing its execution alone.

use std::time::{Duration, Instant};

use aws_sdk_sfn::types::{ExecutionStatus, HistoryEventType};
use serde_json::{Value, json};
use switchback_tests::TestApp;
use switchback_tests::processes::Node;

use crate::executions::{ROLE, create_machine, history, wait_until_done};

pub async fn create_activity(client: &aws_sdk_sfn::Client, name: &str) -> String {
    client
        .create_activity()
        .name(name)
        .send()
        .await
        .expect("create activity")
        .activity_arn()
        .to_owned()
}

/// Polls until the activity hands out a task: its token and input.
pub async fn take(client: &aws_sdk_sfn::Client, activity_arn: &str) -> (String, Value) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let task = client
            .get_activity_task()
            .activity_arn(activity_arn)
            .worker_name("worker")
            .send()
            .await
            .expect("get activity task");
        if let Some(token) = task.task_token() {
            let input = serde_json::from_str(task.input().unwrap_or("null")).expect("task input");
            return (token.to_owned(), input);
        }
        assert!(Instant::now() < deadline, "no task for {activity_arn}");
    }
}

pub async fn start(client: &aws_sdk_sfn::Client, machine: &str, input: Value) -> String {
    client
        .start_execution()
        .state_machine_arn(machine)
        .input(input.to_string())
        .send()
        .await
        .expect("start execution")
        .execution_arn()
        .to_owned()
}

pub fn output(
    described: &aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput,
) -> Value {
    serde_json::from_str(described.output().unwrap_or("null")).expect("output is JSON")
}

#[tokio::test]
async fn a_jsonata_workflow_with_variables_runs_across_parallel_map_retry_catch_and_an_activity() {
    let app = TestApp::spawn().await;
    let activity = create_activity(&app.client, "language-worker").await;
    let definition = json!({
        "QueryLanguage": "JSONata",
        "StartAt": "Greet",
        "States": {
            "Greet": {"Type": "Pass",
                "Assign": {"greeting": "{% 'hello ' & $states.input.name %}", "items": [1, 2, 3]},
                "Next": "Fan"},
            "Fan": {"Type": "Parallel",
                "Arguments": {"g": "{% $greeting %}"},
                "Branches": [
                    {"StartAt": "Shout", "States": {"Shout": {"Type": "Pass",
                        "Output": "{% $uppercase($states.input.g) %}", "End": true}}},
                    {"StartAt": "Each", "States": {"Each": {"Type": "Map",
                        "Items": "{% $items %}",
                        "ItemSelector": {"n": "{% $states.context.Map.Item.Value %}",
                            "i": "{% $states.context.Map.Item.Index %}"},
                        "ItemProcessor": {"StartAt": "Times", "States": {"Times": {"Type": "Pass",
                            // Output sees the variables of the state's entry, not its own Assign.
                            "Assign": {"local": "{% $states.input.n * 10 %}"},
                            "Output": "{% $states.input.n * 10 + $states.input.i %}",
                            "Next": "Local"},
                            "Local": {"Type": "Pass", "Output": "{% $local + $states.input %}",
                            "End": true}}},
                        "End": true}}}
                ],
                "Assign": {"parts": "{% $states.result %}"},
                "Output": "{% $states.input %}",
                "Next": "Work"},
            "Work": {"Type": "Task", "Resource": activity,
                "Arguments": {"parts": "{% $parts %}", "who": "{% $states.input.name %}"},
                "Retry": [{"ErrorEquals": ["Transient"], "IntervalSeconds": 1, "MaxAttempts": 1}],
                "Catch": [{"ErrorEquals": ["Custom"],
                    "Assign": {"caught": "{% $states.errorOutput.Error %}"},
                    "Output": {"recovered": "{% $states.errorOutput.Cause %}"},
                    "Next": "Done"}],
                "Next": "Done"},
            "Done": {"Type": "Pass",
                "Output": {"greeting": "{% $greeting %}", "parts": "{% $parts %}",
                    "caught": "{% $caught %}", "recovered": "{% $states.input.recovered %}",
                    "sum": "{% $sum($parts[1]) %}"},
                "End": true}
        }
    });
    let machine = create_machine(&app, "jsonata-everything", &definition.to_string()).await;
    let arn = start(&app.client, &machine, json!({"name": "ada"})).await;

    // The worker sees the Arguments, fails once with a retried error, then with a caught one.
    let (token, input) = take(&app.client, &activity).await;
    assert_eq!(
        input,
        json!({"parts": ["HELLO ADA", [20, 41, 62]], "who": "ada"})
    );
    app.client
        .send_task_failure()
        .task_token(token)
        .error("Transient")
        .cause("again")
        .send()
        .await
        .expect("fail once");
    let (token, _) = take(&app.client, &activity).await;
    app.client
        .send_task_failure()
        .task_token(token)
        .error("Custom")
        .cause("it broke")
        .send()
        .await
        .expect("fail for good");

    let done = wait_until_done(&app.client, &arn, Duration::from_secs(30)).await;
    assert_eq!(done.status(), &ExecutionStatus::Succeeded, "{done:?}");
    assert_eq!(
        output(&done),
        json!({"greeting": "hello ada", "parts": ["HELLO ADA", [20, 41, 62]],
            "caught": "Custom", "recovered": "it broke", "sum": 123})
    );

    // Every assignment is in the history as AWS reports it: JSON text by name.
    let events = history(&app.client, &arn).await;
    let assigned: Vec<(String, std::collections::HashMap<String, String>)> = events
        .iter()
        .filter_map(|event| {
            let details = event.state_exited_event_details()?;
            Some((
                details.name().to_owned(),
                details.assigned_variables()?.clone(),
            ))
        })
        .collect();
    let by_state = |name: &str| {
        assigned
            .iter()
            .filter(|(state, _)| state == name)
            .map(|(_, variables)| variables.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        by_state("Greet"),
        [[
            ("greeting".to_owned(), "\"hello ada\"".to_owned()),
            ("items".to_owned(), "[1,2,3]".to_owned())
        ]
        .into_iter()
        .collect()]
    );
    assert_eq!(by_state("Times").len(), 3, "one per iteration");
    assert_eq!(
        by_state("Work"),
        [[("caught".to_owned(), "\"Custom\"".to_owned())]
            .into_iter()
            .collect()]
    );
}

#[tokio::test]
async fn a_variable_assigned_before_its_scheduler_dies_is_read_by_the_scheduler_that_takes_over() {
    let url = switchback_tests::pg::fresh_database().await;
    let api = Node::start("api", &url);
    let mut first = Node::start("scheduler", &url);
    api.wait_ready().await;
    let client = switchback_tests::app::client(api.address.expect("api address"), "us-east-1");
    let activity = create_activity(&client, "between").await;
    // One variable in each language, assigned before the activity, read after it.
    let definition = json!({"StartAt": "Remember", "States": {
        "Remember": {"Type": "Pass", "QueryLanguage": "JSONata",
            "Assign": {"secret": "{% $states.input.secret %}"}, "Next": "Also"},
        "Also": {"Type": "Pass", "Assign": {"count.$": "$.count"}, "Next": "Hold"},
        "Hold": {"Type": "Task", "Resource": activity, "Next": "Recall"},
        "Recall": {"Type": "Pass", "QueryLanguage": "JSONata",
            "Output": {"secret": "{% $secret %}", "count": "{% $count %}"}, "Next": "RecallPath"},
        "RecallPath": {"Type": "Pass", "Parameters": {"secret.$": "$secret", "both.$": "$"},
            "End": true}
    }});
    let machine = client
        .create_state_machine()
        .name("survivor")
        .definition(definition.to_string())
        .role_arn(ROLE)
        .send()
        .await
        .expect("create")
        .state_machine_arn()
        .to_owned();
    let arn = start(&client, &machine, json!({"secret": "s3cr3t", "count": 7})).await;
    // The assignments are written when the activity is handed out; the scheduler that wrote
    // them dies, and another one runs the rest.
    let (token, _) = take(&client, &activity).await;
    first.kill();
    let _second = Node::start("scheduler", &url);
    client
        .send_task_success()
        .task_token(token)
        .output("{}")
        .send()
        .await
        .expect("task success");
    let done = wait_until_done(&client, &arn, Duration::from_secs(30)).await;
    assert_eq!(done.status(), &ExecutionStatus::Succeeded, "{done:?}");
    assert_eq!(
        output(&done),
        json!({"secret": "s3cr3t", "both": {"secret": "s3cr3t", "count": 7}})
    );
}

#[tokio::test]
async fn a_runaway_expression_fails_its_execution_alone() {
    let app = TestApp::spawn().await;
    // Endless recursion, then a sequence of a billion items: each fails on its bound.
    let runaway = json!({"QueryLanguage": "JSONata", "StartAt": "Spin", "States": {
        "Spin": {"Type": "Pass",
            "Output": "{% ($f := function($n) { $n < 0 ? 0 : $f($n + 1) + 1 }; $f(0)) %}",
            "Next": "Huge"},
        "Huge": {"Type": "Pass", "Output": "{% $count([1..1000000000]) %}", "End": true}}});
    let runaway_machine = create_machine(&app, "runaway", &runaway.to_string()).await;
    let control = json!({"QueryLanguage": "JSONata", "StartAt": "P", "States": {
        "P": {"Type": "Pass", "Output": "{% $states.input.n + 1 %}", "End": true}}});
    let control_machine = create_machine(&app, "control", &control.to_string()).await;

    let runaway_arn = start(&app.client, &runaway_machine, json!({})).await;
    let control_arn = start(&app.client, &control_machine, json!({"n": 1})).await;
    let control_done = wait_until_done(&app.client, &control_arn, Duration::from_secs(30)).await;
    assert_eq!(control_done.status(), &ExecutionStatus::Succeeded);
    assert_eq!(output(&control_done), json!(2));

    let done = wait_until_done(&app.client, &runaway_arn, Duration::from_secs(60)).await;
    assert_eq!(done.status(), &ExecutionStatus::Failed);
    assert_eq!(done.error(), Some("States.QueryEvaluationError"));
    let types: Vec<HistoryEventType> = history(&app.client, &runaway_arn)
        .await
        .iter()
        .map(|event| event.r#type().clone())
        .collect();
    assert_eq!(
        types,
        [
            HistoryEventType::ExecutionStarted,
            HistoryEventType::PassStateEntered,
            HistoryEventType::EvaluationFailed,
            HistoryEventType::ExecutionFailed
        ]
    );

    // The bounded sequence too, on its own.
    let mut huge = runaway.clone();
    huge["StartAt"] = json!("Huge");
    huge["States"]
        .as_object_mut()
        .expect("states")
        .remove("Spin");
    let huge_machine = create_machine(&app, "huge", &huge.to_string()).await;
    let huge_arn = start(&app.client, &huge_machine, json!({})).await;
    let done = wait_until_done(&app.client, &huge_arn, Duration::from_secs(60)).await;
    assert_eq!(done.error(), Some("States.QueryEvaluationError"));
    // The server is still answering, with every other execution intact.
    let again = start(&app.client, &control_machine, json!({"n": 41})).await;
    let again = wait_until_done(&app.client, &again, Duration::from_secs(30)).await;
    assert_eq!(output(&again), json!(42));
}
