//! Crash test: two API processes and three scheduler processes of the real binary on one
//! database run a mixed workload while an API node and a scheduler are killed with SIGKILL and
//! one is restarted. Every execution must end with the right status and output, every history
//! must have contiguous ids, no task result may be recorded twice, and no task may be lost.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_sfn::types::{ExecutionStatus, HistoryEventType};
use serde_json::{Value, json};
use switchback_tests::app::client;
use switchback_tests::pg;
use switchback_tests::processes::Node;

const ROLE: &str = "arn:aws:iam::123456789012:role/r";
const PER_KIND: usize = 60;

/// The clients of both API nodes; calls go to the first that answers.
#[derive(Clone)]
struct Cluster {
    clients: Vec<aws_sdk_sfn::Client>,
}

macro_rules! on_any {
    ($cluster:expr, $start:expr, |$client:ident| $call:expr) => {{
        let mut attempt = 0usize;
        loop {
            let $client = &$cluster.clients[($start + attempt) % $cluster.clients.len()];
            match $call.await {
                Ok(output) => break output,
                // A killed node refuses connections: try the other one.
                Err(aws_sdk_sfn::error::SdkError::DispatchFailure(_))
                | Err(aws_sdk_sfn::error::SdkError::ResponseError(_))
                | Err(aws_sdk_sfn::error::SdkError::TimeoutError(_))
                    if attempt < 50 =>
                {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(error) => panic!("call failed: {error:?}"),
            }
        }
    }};
}

fn definitions(activity: &str) -> Vec<(&'static str, String)> {
    vec![
        ("pass", json!({"StartAt": "A", "States": {
            "A": {"Type": "Pass", "Parameters": {"i.$": "$.i", "step": 1}, "Next": "B"},
            "B": {"Type": "Pass", "Parameters": {"i.$": "$.i", "step": 2}, "Next": "C"},
            "C": {"Type": "Pass", "Parameters": {"i.$": "$.i", "step": 3}, "Next": "D"},
            "D": {"Type": "Pass", "Parameters": {"i.$": "$.i", "step": 4}, "Next": "E"},
            "E": {"Type": "Pass", "Parameters": {"i.$": "$.i", "step": 5}, "End": true}}}).to_string()),
        ("wait", json!({"StartAt": "W", "States": {
            "W": {"Type": "Wait", "Seconds": 1, "Next": "P"},
            "P": {"Type": "Pass", "End": true}}}).to_string()),
        ("parallel", json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": [
            {"StartAt": "X", "States": {"X": {"Type": "Pass", "InputPath": "$.i", "End": true}}},
            {"StartAt": "Y", "States": {"Y": {"Type": "Pass", "Result": "y", "End": true}}}]}}}).to_string()),
        ("map", json!({"StartAt": "M", "States": {"M": {"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 2, "End": true,
            "ItemProcessor": {"StartAt": "D", "States": {"D": {"Type": "Pass", "Parameters": {"v.$": "States.MathAdd($, $)"}, "End": true}}}}}}).to_string()),
        // A delivery lost with a killed API node times out and is retried, so no task is lost.
        ("activity", json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": activity,
            "TimeoutSeconds": 5, "Retry": [{"ErrorEquals": ["States.Timeout"], "IntervalSeconds": 1, "MaxAttempts": 10}],
            "End": true}}}).to_string()),
    ]
}

fn input_for(kind: &str, i: usize) -> Value {
    match kind {
        "map" => json!({"i": i, "items": [i, i + 1, i + 2]}),
        _ => json!({"i": i}),
    }
}

fn expected_output(kind: &str, i: usize) -> Value {
    match kind {
        "pass" => json!({"i": i, "step": 5}),
        "wait" | "activity" => json!({"i": i}),
        "parallel" => json!([i, "y"]),
        "map" => json!([{"v": 2 * i}, {"v": 2 * (i + 1)}, {"v": 2 * (i + 2)}]),
        _ => Value::Null,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_execution_survives_killed_nodes() {
    let url = pg::fresh_database().await;
    let mut apis = vec![Node::start("api", &url), Node::start("api", &url)];
    let mut schedulers = vec![
        Node::start("scheduler", &url),
        Node::start("scheduler", &url),
        Node::start("scheduler", &url),
    ];
    for api in &apis {
        api.wait_ready().await;
    }
    let cluster = Cluster {
        clients: apis
            .iter()
            .map(|n| client(n.address.expect("api address"), "us-east-1"))
            .collect(),
    };

    let activity = on_any!(cluster, 0, |c| c
        .create_activity()
        .name("crash-work")
        .send())
    .activity_arn()
    .to_owned();
    let mut machines = HashMap::new();
    for (kind, definition) in definitions(&activity) {
        let created = on_any!(cluster, 0, |c| c
            .create_state_machine()
            .name(kind)
            .definition(definition.clone())
            .role_arn(ROLE)
            .send());
        machines.insert(kind, created.state_machine_arn().to_owned());
    }

    // Workers echo each task's input as its result, polling and answering on either node.
    let done = Arc::new(AtomicBool::new(false));
    let results = Arc::new(Mutex::new(HashSet::new()));
    let mut workers = Vec::new();
    for w in 0..8 {
        let (cluster, activity, done, results) = (
            cluster.clone(),
            activity.clone(),
            done.clone(),
            results.clone(),
        );
        workers.push(tokio::spawn(async move {
            while !done.load(Ordering::Relaxed) {
                let task = on_any!(cluster, w, |c| c
                    .get_activity_task()
                    .activity_arn(&activity)
                    .send());
                let Some(token) = task.task_token() else {
                    continue;
                };
                let input = task.input().unwrap_or("{}").to_owned();
                on_any!(cluster, w + 1, |c| c
                    .send_task_success()
                    .task_token(token)
                    .output(input.clone())
                    .send());
                assert!(
                    results.lock().expect("lock").insert(token.to_owned()),
                    "a token was answered twice"
                );
            }
        }));
    }

    let kinds = ["pass", "wait", "parallel", "map", "activity"];
    let mut started = Vec::new();
    for i in 0..PER_KIND {
        for kind in kinds {
            let n = started.len();
            if n == 100 {
                // A third of the way in: a scheduler and an API node crash.
                schedulers[0].kill();
                apis[0].kill();
            }
            let name = format!("{kind}-{i}");
            let input = input_for(kind, i).to_string();
            on_any!(cluster, n, |c| c
                .start_execution()
                .state_machine_arn(&machines[kind])
                .name(&name)
                .input(input.clone())
                .send());
            started.push((kind, i, name));
        }
    }
    // One of the crashed nodes comes back.
    apis[0].restart();
    apis[0].wait_ready().await;

    let deadline = Instant::now() + Duration::from_secs(180);
    for kind in kinds {
        loop {
            let page = on_any!(cluster, 1, |c| c
                .list_executions()
                .state_machine_arn(&machines[kind])
                .max_results(1000)
                .send());
            let running = page
                .executions()
                .iter()
                .filter(|e| e.status() == &ExecutionStatus::Running)
                .count();
            if page.executions().len() == PER_KIND && running == 0 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{kind}: {running} of {} still running",
                page.executions().len()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    done.store(true, Ordering::Relaxed);

    for (kind, i, name) in &started {
        let arn = machines[kind].replace(":stateMachine:", ":execution:") + ":" + name;
        let described = on_any!(cluster, 1, |c| c
            .describe_execution()
            .execution_arn(&arn)
            .send());
        assert_eq!(
            described.status(),
            &ExecutionStatus::Succeeded,
            "{arn}: {:?} {:?}",
            described.error(),
            described.cause()
        );
        let output: Value =
            serde_json::from_str(described.output().unwrap_or("null")).expect("json output");
        assert_eq!(output, expected_output(kind, *i), "{arn}");
        let history = on_any!(cluster, 1, |c| c
            .get_execution_history()
            .execution_arn(&arn)
            .max_results(1000)
            .send());
        let ids: Vec<i64> = history.events().iter().map(|e| e.id()).collect();
        let contiguous: Vec<i64> = (1..=ids.len() as i64).collect();
        assert_eq!(ids, contiguous, "{arn}: history ids");
        let results = history
            .events()
            .iter()
            .filter(|e| e.r#type() == &HistoryEventType::ActivitySucceeded)
            .count();
        assert_eq!(
            results,
            usize::from(*kind == "activity"),
            "{arn}: task results"
        );
    }
    for worker in workers {
        tokio::time::timeout(Duration::from_secs(10), worker)
            .await
            .expect("workers stop")
            .expect("worker");
    }
    drop(schedulers);
    drop(apis);
}
