//! RedriveExecution: a failed execution runs again from the state that failed, keeping what
//! ran before it, also across a scheduler's death.

use std::time::Duration;

use aws_sdk_sfn::types::{
    ExecutionRedriveFilter, ExecutionRedriveStatus, ExecutionStatus, HistoryEventType,
};
use serde_json::json;
use switchback_tests::TestApp;
use switchback_tests::processes::Node;

use crate::error_code;
use crate::executions::{ROLE, wait_until_done};
use crate::language::{create_activity, output, start, take};

/// Before (assigns a variable) → Work (an activity) → After (reads the variable).
fn definition(activity: &str) -> String {
    json!({"StartAt": "Before", "States": {
        "Before": {"Type": "Pass", "Assign": {"x.$": "$.x"}, "Next": "Work"},
        "Work": {"Type": "Task", "Resource": activity, "Next": "After"},
        "After": {"Type": "Pass", "Parameters": {"x.$": "$x", "worked.$": "$.done"}, "End": true}
    }})
    .to_string()
}

async fn fail_task(client: &aws_sdk_sfn::Client, activity: &str) -> serde_json::Value {
    let (token, input) = take(client, activity).await;
    client
        .send_task_failure()
        .task_token(token)
        .error("Broken")
        .cause("the worker gave up")
        .send()
        .await
        .expect("task failure");
    input
}

#[tokio::test]
async fn a_redrive_resumes_from_the_failed_task_and_keeps_what_ran_before() {
    let app = TestApp::spawn().await;
    let client = &app.client;
    let activity = create_activity(client, "flaky").await;
    let machine = client
        .create_state_machine()
        .name("redriven")
        .definition(definition(&activity))
        .role_arn(ROLE)
        .send()
        .await
        .unwrap()
        .state_machine_arn()
        .to_owned();
    let arn = start(client, &machine, json!({"x": 7})).await;
    let first_input = fail_task(client, &activity).await;
    let failed = wait_until_done(client, &arn, Duration::from_secs(10)).await;
    assert_eq!(failed.status(), &ExecutionStatus::Failed);
    assert_eq!(
        failed.redrive_status(),
        Some(&ExecutionRedriveStatus::Redrivable)
    );

    let redriven = client
        .redrive_execution()
        .execution_arn(&arn)
        .client_token("once")
        .send()
        .await
        .unwrap();
    let again = client
        .redrive_execution()
        .execution_arn(&arn)
        .client_token("once")
        .send()
        .await
        .unwrap();
    assert_eq!(
        again.redrive_date(),
        redriven.redrive_date(),
        "the same token redrives once"
    );

    let (token, input) = take(client, &activity).await;
    assert_eq!(
        input, first_input,
        "the failed state runs again with the input it had"
    );
    client
        .send_task_success()
        .task_token(token)
        .output(r#"{"done": true}"#)
        .send()
        .await
        .unwrap();
    let done = wait_until_done(client, &arn, Duration::from_secs(10)).await;
    assert_eq!(done.status(), &ExecutionStatus::Succeeded, "{done:?}");
    assert_eq!(output(&done), json!({"x": 7, "worked": true}));
    assert_eq!(done.redrive_count(), Some(1));
    assert_eq!(done.redrive_date(), Some(redriven.redrive_date()));
    assert_eq!(
        done.redrive_status(),
        Some(&ExecutionRedriveStatus::NotRedrivable)
    );
    assert_eq!(
        done.redrive_status_reason(),
        Some("Execution is SUCCEEDED and cannot be redriven")
    );

    let history = client
        .get_execution_history()
        .execution_arn(&arn)
        .send()
        .await
        .unwrap();
    let types: Vec<&HistoryEventType> = history.events().iter().map(|e| e.r#type()).collect();
    let entered_before = types
        .iter()
        .filter(|t| ***t == HistoryEventType::PassStateEntered)
        .count();
    assert_eq!(entered_before, 2, "Before once, After once: {types:?}");
    let redriven_event = history
        .events()
        .iter()
        .find(|e| e.r#type() == &HistoryEventType::ExecutionRedriven)
        .expect("ExecutionRedriven");
    assert_eq!(
        redriven_event
            .execution_redriven_event_details()
            .map(|d| d.redrive_count()),
        Some(Some(1))
    );
    let ids: Vec<i64> = history.events().iter().map(|e| e.id()).collect();
    assert_eq!(
        ids,
        (1..=ids.len() as i64).collect::<Vec<_>>(),
        "one history, in order"
    );

    let (code, message) = error_code(client.redrive_execution().execution_arn(&arn).send().await);
    assert_eq!(code, "ExecutionNotRedrivable");
    assert_eq!(message, "Execution is SUCCEEDED and cannot be redriven");
    let listed = client
        .list_executions()
        .state_machine_arn(&machine)
        .redrive_filter(ExecutionRedriveFilter::Redriven)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.executions().len(), 1);
    let never = client
        .list_executions()
        .state_machine_arn(&machine)
        .redrive_filter(ExecutionRedriveFilter::NotRedriven)
        .send()
        .await
        .unwrap();
    assert!(never.executions().is_empty());
    app.stop().await;
}

/// The redrive is recorded in the database: recorded while no scheduler runs (the one that ran
/// the execution was killed), it is applied by the next one to start, which dies in turn with
/// the task out; a third finishes the execution.
#[tokio::test]
async fn a_redrive_completes_after_its_scheduler_is_killed() {
    let url = switchback_tests::pg::fresh_database().await;
    let api = Node::start("api", &url);
    let mut first = Node::start("scheduler", &url);
    api.wait_ready().await;
    let client = switchback_tests::app::client(api.address.expect("api address"), "us-east-1");
    let activity = create_activity(&client, "flaky").await;
    let machine = client
        .create_state_machine()
        .name("redriven")
        .definition(definition(&activity))
        .role_arn(ROLE)
        .send()
        .await
        .expect("create")
        .state_machine_arn()
        .to_owned();
    let arn = start(&client, &machine, json!({"x": 3})).await;
    fail_task(&client, &activity).await;
    let failed = wait_until_done(&client, &arn, Duration::from_secs(30)).await;
    assert_eq!(failed.status(), &ExecutionStatus::Failed);
    first.kill();
    client
        .redrive_execution()
        .execution_arn(&arn)
        .send()
        .await
        .expect("redrive");
    let mut second = Node::start("scheduler", &url);
    let (token, _) = take(&client, &activity).await;
    second.kill();
    let _third = Node::start("scheduler", &url);
    client
        .send_task_success()
        .task_token(token)
        .output(r#"{"done": 1}"#)
        .send()
        .await
        .expect("task success");
    let done = wait_until_done(&client, &arn, Duration::from_secs(30)).await;
    assert_eq!(done.status(), &ExecutionStatus::Succeeded, "{done:?}");
    assert_eq!(output(&done), json!({"x": 3, "worked": 1}));
}

/// An inline Map whose second iteration failed: a redrive runs that iteration alone, and the
/// Map's result gathers it with the results kept from before.
#[tokio::test]
async fn a_redriven_map_runs_only_the_iteration_that_failed() {
    let app = TestApp::spawn().await;
    let client = &app.client;
    let activity = create_activity(client, "per-item").await;
    let definition = json!({"StartAt": "Each", "States": {"Each": {"Type": "Map", "End": true,
        "ItemProcessor": {"StartAt": "Work", "States": {
            "Work": {"Type": "Task", "Resource": activity, "End": true}}}}}});
    let machine = client
        .create_state_machine()
        .name("mapped")
        .definition(definition.to_string())
        .role_arn(ROLE)
        .send()
        .await
        .unwrap()
        .state_machine_arn()
        .to_owned();
    let arn = start(client, &machine, json!([1, 2, 3])).await;
    // All three run at once; the second fails last, once the others succeeded.
    let mut tasks = Vec::new();
    for _ in 0..3 {
        tasks.push(take(client, &activity).await);
    }
    tasks.sort_by_key(|(_, input)| input == &json!(2));
    for (token, input) in tasks {
        if input == json!(2) {
            client
                .send_task_failure()
                .task_token(token)
                .error("Broken")
                .send()
                .await
                .unwrap();
        } else {
            client
                .send_task_success()
                .task_token(token)
                .output((input.as_i64().unwrap_or_default() * 10).to_string())
                .send()
                .await
                .unwrap();
        }
    }
    let failed = wait_until_done(client, &arn, Duration::from_secs(10)).await;
    assert_eq!(failed.status(), &ExecutionStatus::Failed);

    client
        .redrive_execution()
        .execution_arn(&arn)
        .send()
        .await
        .unwrap();
    let (token, input) = take(client, &activity).await;
    assert_eq!(input, json!(2), "only the failed iteration runs again");
    client
        .send_task_success()
        .task_token(token)
        .output("20")
        .send()
        .await
        .unwrap();
    let done = wait_until_done(client, &arn, Duration::from_secs(10)).await;
    assert_eq!(done.status(), &ExecutionStatus::Succeeded, "{done:?}");
    assert_eq!(output(&done), json!([10, 20, 30]));
    let history = client
        .get_execution_history()
        .execution_arn(&arn)
        .max_results(1000)
        .send()
        .await
        .unwrap();
    let scheduled = history
        .events()
        .iter()
        .filter(|e| e.r#type() == &HistoryEventType::ActivityScheduled)
        .count();
    assert_eq!(scheduled, 4, "three iterations, then the failed one again");
}
