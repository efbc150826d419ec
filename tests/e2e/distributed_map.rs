//! Distributed Map end to end: a DISTRIBUTED Map state runs its items as child executions of a
//! Map Run, which DescribeMapRun, ListMapRuns, UpdateMapRun and ListExecutions(mapRunArn) show
//! and change; tolerated failures, stops and a scheduler killed in the middle of a run.

use std::collections::HashSet;
use std::time::Duration;

use aws_sdk_sfn::types::{ExecutionStatus, HistoryEventType, MapRunStatus};
use serde_json::{Value, json};
use switchback_tests::TestApp;
use switchback_tests::processes::Node;
use switchback_tests::s3::S3Server;

use crate::error_code;
use crate::executions::{history, wait_for, wait_until_done};
use crate::language::start;

const ROLE: &str = "arn:aws:iam::123456789012:role/r";

async fn machine(client: &aws_sdk_sfn::Client, name: &str, definition: Value) -> String {
    client
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

/// A Distributed Map over `items` whose children run `states` (starting at `start_at`).
fn distributed(map: Value, start_at: &str, states: Value) -> Value {
    let mut state = json!({
        "Type": "Map",
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": start_at,
            "States": states,
        },
        "End": true,
    });
    if let (Some(state), Some(extra)) = (state.as_object_mut(), map.as_object()) {
        for (key, value) in extra {
            state.insert(key.clone(), value.clone());
        }
    }
    json!({"StartAt": "Fan", "States": {"Fan": state}})
}

async fn map_run_arn(client: &aws_sdk_sfn::Client, execution_arn: &str) -> String {
    wait_for("the map run", Duration::from_secs(20), || async {
        let runs = client
            .list_map_runs()
            .execution_arn(execution_arn)
            .send()
            .await
            .expect("list map runs");
        runs.map_runs().first().map(|r| r.map_run_arn().to_owned())
    })
    .await
}

async fn describe_run(
    client: &aws_sdk_sfn::Client,
    run: &str,
) -> aws_sdk_sfn::operation::describe_map_run::DescribeMapRunOutput {
    client
        .describe_map_run()
        .map_run_arn(run)
        .send()
        .await
        .expect("describe map run")
}

async fn children(
    client: &aws_sdk_sfn::Client,
    run: &str,
) -> Vec<aws_sdk_sfn::types::ExecutionListItem> {
    client
        .list_executions()
        .map_run_arn(run)
        .max_results(1000)
        .send()
        .await
        .expect("list the run's executions")
        .executions()
        .to_vec()
}

/// Items run as child executions with their own histories; the parent's history shows the run
/// and no iteration; the run, its children and their ARNs read as AWS names them.
#[tokio::test]
async fn a_distributed_map_runs_each_item_as_a_child_execution() {
    let app = TestApp::spawn().await;
    let client = &app.client;
    let definition = distributed(
        json!({"Label": "Double", "ItemsPath": "$.items", "MaxConcurrency": 2,
               "ItemSelector": {"n.$": "$$.Map.Item.Value", "i.$": "$$.Map.Item.Index",
                                "k.$": "$.k"}}),
        "Add",
        json!({"Add": {"Type": "Pass",
                       "Parameters": {"sum.$": "States.MathAdd($.n, $.k)", "i.$": "$.i"},
                       "End": true}}),
    );
    let machine_arn = machine(client, "fan", definition).await;
    let arn = start(
        client,
        &machine_arn,
        json!({"items": [1, 2, 3, 4, 5], "k": 10}),
    )
    .await;
    let done = wait_until_done(client, &arn, Duration::from_secs(60)).await;
    assert_eq!(done.status(), &ExecutionStatus::Succeeded);
    let output: Value = serde_json::from_str(done.output().unwrap_or("null")).expect("json");
    assert_eq!(
        output,
        json!([{"sum": 11, "i": 0}, {"sum": 12, "i": 1}, {"sum": 13, "i": 2},
               {"sum": 14, "i": 3}, {"sum": 15, "i": 4}])
    );

    let events = history(client, &arn).await;
    let types: Vec<&str> = events.iter().map(|e| e.r#type().as_str()).collect();
    assert_eq!(
        types,
        [
            "ExecutionStarted",
            "MapStateEntered",
            "MapStateStarted",
            "MapRunStarted",
            "MapRunSucceeded",
            "MapStateSucceeded",
            "MapStateExited",
            "ExecutionSucceeded"
        ]
    );
    // As AWS chains them since November 2024: MapStateSucceeded to MapRunSucceeded, and
    // MapStateExited back to MapRunStarted.
    let chained: Vec<(i64, i64)> = events
        .iter()
        .map(|e| (e.id(), e.previous_event_id()))
        .collect();
    assert_eq!(&chained[3..7], [(4, 3), (5, 4), (6, 5), (7, 4)]);
    let run = events
        .iter()
        .find_map(|e| e.map_run_started_event_details())
        .and_then(|d| d.map_run_arn())
        .expect("the run's ARN")
        .to_owned();
    assert!(
        run.starts_with("arn:aws:states:us-east-1:123456789012:mapRun:fan/Double:"),
        "{run}"
    );

    let runs = client
        .list_map_runs()
        .execution_arn(&arn)
        .send()
        .await
        .expect("list map runs");
    assert_eq!(runs.map_runs().len(), 1);
    assert_eq!(runs.map_runs()[0].map_run_arn(), run);
    assert_eq!(
        runs.map_runs()[0].state_machine_arn(),
        "arn:aws:states:us-east-1:123456789012:stateMachine:fan/Double"
    );

    let described = describe_run(client, &run).await;
    assert_eq!(described.status(), &MapRunStatus::Succeeded);
    assert_eq!(described.execution_arn(), arn);
    assert_eq!(described.max_concurrency(), 2);
    assert!(described.stop_date().is_some());
    let counts = described.execution_counts().expect("counts");
    assert_eq!(
        (
            counts.total(),
            counts.succeeded(),
            counts.running(),
            counts.pending()
        ),
        (5, 5, 0, 0)
    );

    let listed = children(client, &run).await;
    assert_eq!(listed.len(), 5);
    let names: HashSet<&str> = listed.iter().map(|e| e.name()).collect();
    assert_eq!(names.len(), 5, "every child has a name of its own");
    for child in &listed {
        assert_eq!(child.status(), &ExecutionStatus::Succeeded);
        assert_eq!(child.map_run_arn(), Some(run.as_str()));
        assert!(
            child
                .execution_arn()
                .starts_with("arn:aws:states:us-east-1:123456789012:execution:fan/Double:"),
            "{}",
            child.execution_arn()
        );
    }
    let child = client
        .describe_execution()
        .execution_arn(listed[0].execution_arn())
        .send()
        .await
        .expect("describe a child");
    assert_eq!(child.map_run_arn(), Some(run.as_str()));
    let child_types: Vec<HistoryEventType> = history(client, listed[0].execution_arn())
        .await
        .iter()
        .map(|e| e.r#type().clone())
        .collect();
    assert_eq!(
        child_types,
        [
            HistoryEventType::ExecutionStarted,
            HistoryEventType::PassStateEntered,
            HistoryEventType::PassStateExited,
            HistoryEventType::ExecutionSucceeded
        ]
    );

    // A completed run cannot be changed; an unknown one does not exist.
    let (code, _) = error_code(
        client
            .update_map_run()
            .map_run_arn(&run)
            .max_concurrency(5)
            .send()
            .await,
    );
    assert_eq!(code, "ValidationException");
    let (code, _) = error_code(
        client
            .describe_map_run()
            .map_run_arn(format!("{run}0"))
            .send()
            .await,
    );
    assert_eq!(code, "ResourceNotFound");
    let (code, _) = error_code(
        client
            .list_executions()
            .map_run_arn(&run)
            .state_machine_arn(&machine_arn)
            .send()
            .await,
    );
    assert_eq!(code, "ValidationException");
}

/// Failed children within the tolerated count leave their error output among the results;
/// one more fails the run and the Map state with `States.ExceedToleratedFailureThreshold`,
/// which a Catch handles.
#[tokio::test]
async fn failures_count_against_what_the_map_tolerates() {
    let app = TestApp::spawn().await;
    let client = &app.client;
    let states = json!({
        "Check": {"Type": "Choice",
                  "Choices": [{"Variable": "$", "NumericGreaterThan": 2, "Next": "Boom"}],
                  "Default": "Fine"},
        "Boom": {"Type": "Fail", "Error": "TooBig", "Cause": "over two"},
        "Fine": {"Type": "Succeed"}
    });
    let tolerant = machine(
        client,
        "tolerant",
        distributed(json!({"ToleratedFailureCount": 1}), "Check", states.clone()),
    )
    .await;
    let arn = start(client, &tolerant, json!([1, 2, 3])).await;
    let done = wait_until_done(client, &arn, Duration::from_secs(60)).await;
    assert_eq!(done.status(), &ExecutionStatus::Succeeded);
    let output: Value = serde_json::from_str(done.output().unwrap_or("null")).expect("json");
    assert_eq!(
        output,
        json!([1, 2, {"Error": "TooBig", "Cause": "over two"}])
    );

    let mut strict = distributed(json!({"ToleratedFailureCount": 1}), "Check", states);
    strict["States"]["Fan"]["Catch"] = json!([{"ErrorEquals": ["States.ALL"], "Next": "Caught"}]);
    strict["States"]["Fan"]
        .as_object_mut()
        .map(|fan| fan.remove("End"));
    strict["States"]["Fan"]["Next"] = json!("Caught");
    strict["States"]["Caught"] = json!({"Type": "Pass", "End": true});
    let strict = machine(client, "strict", strict).await;
    let arn = start(client, &strict, json!([3, 4, 5])).await;
    let done = wait_until_done(client, &arn, Duration::from_secs(60)).await;
    assert_eq!(done.status(), &ExecutionStatus::Succeeded);
    let output: Value = serde_json::from_str(done.output().unwrap_or("null")).expect("json");
    assert_eq!(output["Error"], "States.ExceedToleratedFailureThreshold");
    let events = history(client, &arn).await;
    let failed = events
        .iter()
        .find_map(|e| e.map_run_failed_event_details())
        .expect("MapRunFailed");
    assert_eq!(
        failed.error(),
        Some("States.ExceedToleratedFailureThreshold")
    );
    let run = map_run_arn(client, &arn).await;
    let described = describe_run(client, &run).await;
    assert_eq!(described.status(), &MapRunStatus::Failed);
    assert_eq!(described.tolerated_failure_count(), 1);
}

/// UpdateMapRun raises a running run's concurrency at once; stopping the parent aborts the
/// run and stops its children.
#[tokio::test]
async fn update_map_run_changes_a_running_run_and_a_stop_aborts_it() {
    let app = TestApp::spawn().await;
    let client = &app.client;
    let definition = distributed(
        json!({"MaxConcurrency": 1}),
        "Sleep",
        json!({"Sleep": {"Type": "Wait", "Seconds": 600, "End": true}}),
    );
    let machine_arn = machine(client, "sleepy", definition).await;
    let arn = start(client, &machine_arn, json!([1, 2, 3, 4, 5])).await;
    let run = map_run_arn(client, &arn).await;
    wait_for("one running child", Duration::from_secs(20), || async {
        (children(client, &run).await.len() == 1).then_some(())
    })
    .await;
    // Still one after a while: the concurrency holds.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(children(client, &run).await.len(), 1);

    client
        .update_map_run()
        .map_run_arn(&run)
        .max_concurrency(3)
        .send()
        .await
        .expect("update map run");
    wait_for(
        "three running children",
        Duration::from_secs(20),
        || async { (children(client, &run).await.len() == 3).then_some(()) },
    )
    .await;
    let described = describe_run(client, &run).await;
    assert_eq!(described.max_concurrency(), 3);
    assert_eq!(described.status(), &MapRunStatus::Running);

    client
        .stop_execution()
        .execution_arn(&arn)
        .send()
        .await
        .expect("stop");
    wait_for("every child aborted", Duration::from_secs(20), || async {
        let listed = children(client, &run).await;
        listed
            .iter()
            .all(|c| c.status() == &ExecutionStatus::Aborted)
            .then_some(())
    })
    .await;
    let described = describe_run(client, &run).await;
    assert_eq!(described.status(), &MapRunStatus::Aborted);
    assert_eq!(
        children(client, &run).await.len(),
        3,
        "no child after the stop"
    );
}

/// A scheduler killed while it drives a run and steps its children: another finishes the run,
/// and every item ran exactly once.
#[tokio::test]
async fn a_run_survives_a_killed_scheduler_and_runs_each_item_once() {
    let url = switchback_tests::pg::fresh_database().await;
    let api = Node::start("api", &url);
    let mut first = Node::start("scheduler", &url);
    api.wait_ready().await;
    let client = switchback_tests::app::client(api.address.expect("api address"), "us-east-1");
    let definition = distributed(
        json!({"MaxConcurrency": 20}),
        "Pause",
        json!({"Pause": {"Type": "Wait", "Seconds": 1, "End": true}}),
    );
    let machine_arn = machine(&client, "survivor", definition).await;
    let items: Vec<u32> = (0..200).collect();
    let arn = start(&client, &machine_arn, json!(items)).await;
    let run = map_run_arn(&client, &arn).await;
    wait_for("children running", Duration::from_secs(20), || async {
        (children(&client, &run).await.len() >= 20).then_some(())
    })
    .await;
    first.kill();
    let _second = Node::start("scheduler", &url);
    let done = wait_until_done(&client, &arn, Duration::from_secs(120)).await;
    assert_eq!(done.status(), &ExecutionStatus::Succeeded);
    let output: Value = serde_json::from_str(done.output().unwrap_or("null")).expect("json");
    assert_eq!(output, json!(items));
    let listed = children(&client, &run).await;
    assert_eq!(listed.len(), 200, "one child per item, none twice");
    assert!(
        listed
            .iter()
            .all(|c| c.status() == &ExecutionStatus::Succeeded)
    );
}

/// An app whose schedulers read and write the test S3 server.
async fn app_with_s3(s3: &S3Server) -> TestApp {
    let url = switchback_tests::pg::fresh_database().await;
    let config = s3.config();
    TestApp::spawn_with(&url, move |settings| settings.integrations.s3 = config).await
}

/// A machine whose Distributed Map reads with `reader` and runs a Pass state per item.
fn reading(reader: Value, extra: Value) -> Value {
    let mut map = json!({"ItemReader": reader});
    if let (Some(map), Some(extra)) = (map.as_object_mut(), extra.as_object()) {
        for (key, value) in extra {
            map.insert(key.clone(), value.clone());
        }
    }
    distributed(map, "Echo", json!({"Echo": {"Type": "Pass", "End": true}}))
}

async fn run_to_end(
    client: &aws_sdk_sfn::Client,
    machine_arn: &str,
    input: Value,
) -> (String, Value) {
    let arn = start(client, machine_arn, input).await;
    let done = wait_until_done(client, &arn, Duration::from_secs(60)).await;
    assert_eq!(
        done.status(),
        &ExecutionStatus::Succeeded,
        "{:?} {:?}",
        done.error(),
        done.cause()
    );
    let output = serde_json::from_str(done.output().unwrap_or("null")).expect("json output");
    (arn, output)
}

/// ItemReader: a JSON array, JSON lines (with MaxItems), CSV with a header row and with given
/// headers and another delimiter, and a listing, each read from the S3 server, the reader's
/// parameters taken from the state's input; a missing object fails the Map state with
/// `States.ItemReaderFailed`.
#[tokio::test]
async fn items_are_read_from_s3_objects_and_listings() {
    let s3 = S3Server::start().await;
    s3.bucket("data").await;
    let items: Vec<Value> = (0..300)
        .map(|i| json!({"n": i, "text": format!("item \"{i}\", ]")}))
        .collect();
    s3.put("data", "in/items.json", json!(items).to_string().as_bytes())
        .await;
    let lines: String = (0..10).map(|i| format!("{{\"line\":{i}}}\n")).collect();
    s3.put("data", "in/lines.jsonl", lines.as_bytes()).await;
    s3.put("data", "in/rows.csv", b"id,name\n1,ann\n2,\"b, c\"\n")
        .await;
    s3.put("data", "other/rows.psv", b"1|ann\n2|bob\n").await;
    let app = app_with_s3(&s3).await;
    let client = &app.client;

    let json_machine = machine(
        client,
        "json-reader",
        reading(
            json!({"Resource": "arn:aws:states:::s3:getObject",
                   "ReaderConfig": {"InputType": "JSON"},
                   "Parameters": {"Bucket.$": "$.bucket", "Key": "in/items.json"}}),
            json!({"ItemSelector": {"n.$": "$$.Map.Item.Value.n", "i.$": "$$.Map.Item.Index"}}),
        ),
    )
    .await;
    let (arn, output) = run_to_end(client, &json_machine, json!({"bucket": "data"})).await;
    let expected: Vec<Value> = (0..300).map(|i| json!({"n": i, "i": i})).collect();
    assert_eq!(output, json!(expected));
    let started = history(client, &arn)
        .await
        .iter()
        .find_map(|e| e.map_state_started_event_details().map(|d| d.length()))
        .expect("MapStateStarted");
    assert_eq!(
        started, 0,
        "a reader's items are not known when the state starts"
    );
    let run = map_run_arn(client, &arn).await;
    let described = describe_run(client, &run).await;
    let items_counted = described.item_counts().expect("item counts");
    assert_eq!(
        (items_counted.total(), items_counted.succeeded()),
        (300, 300)
    );

    // Readers whose items are the children's inputs as read: (name, ItemReader, output).
    let cases = [
        (
            "lines-reader",
            json!({"Resource": "arn:aws:states:::s3:getObject",
                   "ReaderConfig": {"InputType": "JSONL", "MaxItems": 4},
                   "Parameters": {"Bucket": "data", "Key": "in/lines.jsonl"}}),
            json!([{"line": 0}, {"line": 1}, {"line": 2}, {"line": 3}]),
        ),
        (
            "csv-reader",
            json!({"Resource": "arn:aws:states:::s3:getObject",
                   "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"},
                   "Parameters": {"Bucket": "data", "Key": "in/rows.csv"}}),
            json!([{"id": "1", "name": "ann"}, {"id": "2", "name": "b, c"}]),
        ),
        (
            "given-headers",
            json!({"Resource": "arn:aws:states:::s3:getObject",
                   "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "GIVEN",
                                    "CSVHeaders": ["id", "who"], "CSVDelimiter": "PIPE"},
                   "Parameters": {"Bucket": "data", "Key": "other/rows.psv"}}),
            json!([{"id": "1", "who": "ann"}, {"id": "2", "who": "bob"}]),
        ),
    ];
    for (name, reader, expected) in cases {
        let machine_arn = machine(client, name, reading(reader, json!({}))).await;
        let (_, output) = run_to_end(client, &machine_arn, json!({})).await;
        assert_eq!(output, expected, "{name}");
    }

    let listing_machine = machine(
        client,
        "listing",
        reading(
            json!({"Resource": "arn:aws:states:::s3:listObjectsV2",
                   "Parameters": {"Bucket": "data", "Prefix": "in/"}}),
            json!({"ItemSelector": {"key.$": "$$.Map.Item.Value.Key",
                                    "size.$": "$$.Map.Item.Value.Size"}}),
        ),
    )
    .await;
    let (_, output) = run_to_end(client, &listing_machine, json!({})).await;
    let keys: Vec<&str> = output
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|o| o["key"].as_str())
        .collect();
    assert_eq!(keys, ["in/items.json", "in/lines.jsonl", "in/rows.csv"]);
    assert_eq!(output[2]["size"], 23);

    let missing = machine(
        client,
        "missing",
        reading(
            json!({"Resource": "arn:aws:states:::s3:getObject",
                   "ReaderConfig": {"InputType": "JSON"},
                   "Parameters": {"Bucket": "data", "Key": "in/none.json"}}),
            json!({}),
        ),
    )
    .await;
    let arn = start(client, &missing, json!({})).await;
    let done = wait_until_done(client, &arn, Duration::from_secs(60)).await;
    assert_eq!(done.status(), &ExecutionStatus::Failed);
    assert_eq!(done.error(), Some("States.ItemReaderFailed"));
    assert!(
        done.cause().unwrap_or_default().contains("NoSuchKey"),
        "{:?}",
        done.cause()
    );
}

/// ItemBatcher groups items for each child (with its BatchInput); ResultWriter writes the
/// children's records under `<Prefix>/<run id>/` with a manifest, and the Map's output names
/// it.
#[tokio::test]
async fn batches_run_as_children_and_results_are_written_to_s3() {
    let s3 = S3Server::start().await;
    s3.bucket("data").await;
    s3.bucket("results").await;
    let rows: String = std::iter::once("id,value\n".to_owned())
        .chain((0..25).map(|i| format!("{i},v{i}\n")))
        .collect();
    s3.put("data", "rows.csv", rows.as_bytes()).await;
    let app = app_with_s3(&s3).await;
    let client = &app.client;
    let definition = distributed(
        json!({
            "ItemReader": {"Resource": "arn:aws:states:::s3:getObject",
                           "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"},
                           "Parameters": {"Bucket": "data", "Key": "rows.csv"}},
            "ItemBatcher": {"MaxItemsPerBatch": 10, "BatchInput": {"job.$": "$.job"}},
            "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject",
                             "Parameters": {"Bucket": "results", "Prefix": "out"}}
        }),
        "Count",
        json!({"Count": {"Type": "Pass",
                         "Parameters": {"job.$": "$.BatchInput.job",
                                        "count.$": "States.ArrayLength($.Items)",
                                        "first.$": "$.Items[0].id"},
                         "End": true}}),
    );
    let machine_arn = machine(client, "batched", definition).await;
    let (arn, output) = run_to_end(client, &machine_arn, json!({"job": "j1"})).await;
    let run = map_run_arn(client, &arn).await;
    let run_id = run.rsplit(':').next().expect("run id");
    assert_eq!(
        output,
        json!({"MapRunArn": run, "ResultWriterDetails": {"Bucket": "results",
               "Key": format!("out/{run_id}/manifest.json")}})
    );
    let manifest: Value = serde_json::from_slice(
        &s3.get("results", &format!("out/{run_id}/manifest.json"))
            .await,
    )
    .expect("manifest");
    assert_eq!(manifest["DestinationBucket"], "results");
    assert_eq!(manifest["MapRunArn"], run.as_str());
    let succeeded_key = format!("out/{run_id}/SUCCEEDED_0.json");
    assert_eq!(
        manifest["ResultFiles"]["SUCCEEDED"][0]["Key"],
        succeeded_key.as_str()
    );
    assert_eq!(manifest["ResultFiles"]["FAILED"], json!([]));
    let results: Value =
        serde_json::from_slice(&s3.get("results", &succeeded_key).await).expect("results");
    let results = results.as_array().expect("array");
    assert_eq!(results.len(), 3, "three batches: 10, 10 and 5 items");
    let outputs: Vec<Value> = results
        .iter()
        .map(|r| serde_json::from_str(r["Output"].as_str().unwrap_or("null")).expect("output"))
        .collect();
    assert_eq!(
        outputs,
        [
            json!({"job": "j1", "count": 10, "first": "0"}),
            json!({"job": "j1", "count": 10, "first": "10"}),
            json!({"job": "j1", "count": 5, "first": "20"})
        ]
    );
    assert_eq!(results[0]["Status"], "SUCCEEDED");
    assert!(
        results[0]["ExecutionArn"]
            .as_str()
            .is_some_and(|a| a.contains(":execution:batched/"))
    );

    let described = describe_run(client, &run).await;
    let items = described.item_counts().expect("items");
    let executions = described.execution_counts().expect("executions");
    assert_eq!((items.total(), items.succeeded()), (25, 25));
    assert_eq!((executions.total(), executions.succeeded()), (3, 3));
    let listed = children(client, &run).await;
    let mut counts: Vec<i64> = listed
        .iter()
        .map(|c| c.item_count().unwrap_or(0) as i64)
        .collect();
    counts.sort_unstable();
    assert_eq!(counts, [5, 10, 10]);
}

/// Redriving a parent whose run failed redrives the run: the same run goes on
/// (`MapRunRedriven`), its children that failed or were stopped are redriven from where they
/// stopped, no new child is made for an item, and the parent ends with every output. A child
/// alone cannot be redriven.
#[tokio::test]
async fn redriving_the_parent_redrives_the_failed_children_of_its_run() {
    let app = TestApp::spawn().await;
    let client = &app.client;
    // Items over 3 fail on their first run, and succeed once redriven.
    let definition = distributed(
        json!({}),
        "Check",
        json!({"Check": {"Type": "Pass", "QueryLanguage": "JSONata",
            "Output": "{% ($states.context.Execution.RedriveCount = 0 and $states.input > 3) ? $error('not yet') : $states.input %}",
            "End": true}}),
    );
    let machine_arn = machine(client, "redrivable", definition).await;
    let arn = start(client, &machine_arn, json!([1, 2, 3, 4, 5, 6])).await;
    let failed = wait_until_done(client, &arn, Duration::from_secs(60)).await;
    assert_eq!(failed.status(), &ExecutionStatus::Failed);
    assert_eq!(
        failed.error(),
        Some("States.ExceedToleratedFailureThreshold")
    );
    let run = map_run_arn(client, &arn).await;
    let before = children(client, &run).await;
    let failed_child = before
        .iter()
        .find(|c| c.status() != &ExecutionStatus::Succeeded)
        .expect("a child that did not succeed")
        .execution_arn()
        .to_owned();
    let described = client
        .describe_execution()
        .execution_arn(&failed_child)
        .send()
        .await
        .expect("describe a failed child");
    assert_eq!(
        described.redrive_status().map(|s| s.as_str()),
        Some("REDRIVABLE_BY_MAP_RUN")
    );
    let (code, _) = error_code(
        client
            .redrive_execution()
            .execution_arn(&failed_child)
            .send()
            .await,
    );
    assert_eq!(code, "ExecutionNotRedrivable");

    client
        .redrive_execution()
        .execution_arn(&arn)
        .send()
        .await
        .expect("redrive the parent");
    let done = wait_until_done(client, &arn, Duration::from_secs(60)).await;
    assert_eq!(
        done.status(),
        &ExecutionStatus::Succeeded,
        "{:?}",
        done.cause()
    );
    assert_eq!(done.output(), Some("[1,2,3,4,5,6]"));
    let events = history(client, &arn).await;
    let redriven = events
        .iter()
        .find_map(|e| e.map_run_redriven_event_details())
        .expect("MapRunRedriven");
    assert_eq!(redriven.map_run_arn(), Some(run.as_str()));
    assert_eq!(redriven.redrive_count(), Some(1));
    let types: Vec<&str> = events.iter().map(|e| e.r#type().as_str()).collect();
    let tail = &types[types.len() - 6..];
    assert_eq!(
        tail,
        [
            "ExecutionRedriven",
            "MapRunRedriven",
            "MapRunSucceeded",
            "MapStateSucceeded",
            "MapStateExited",
            "ExecutionSucceeded"
        ]
    );
    let after = children(client, &run).await;
    assert_eq!(after.len(), before.len(), "no new child for an item");
    assert!(
        after
            .iter()
            .all(|c| c.status() == &ExecutionStatus::Succeeded)
    );
    let described = describe_run(client, &run).await;
    assert_eq!(described.status(), &MapRunStatus::Succeeded);
    assert_eq!(described.redrive_count(), Some(1));
    assert!(described.redrive_date().is_some());
    assert_eq!(described.execution_counts().map(|c| c.succeeded()), Some(6));
}

/// `ExecutionType: EXPRESS`: the children are Express executions (`…:express:…`), listed with
/// their run and, unlike other Express executions, described.
#[tokio::test]
async fn express_children_are_listed_and_described() {
    let app = TestApp::spawn().await;
    let client = &app.client;
    let mut definition = distributed(
        json!({}),
        "Echo",
        json!({"Echo": {"Type": "Pass", "End": true}}),
    );
    definition["States"]["Fan"]["ItemProcessor"]["ProcessorConfig"]["ExecutionType"] =
        json!("EXPRESS");
    let machine_arn = machine(client, "express-children", definition).await;
    let arn = start(client, &machine_arn, json!(["a", "b"])).await;
    let done = wait_until_done(client, &arn, Duration::from_secs(60)).await;
    assert_eq!(done.output(), Some("[\"a\",\"b\"]"));
    let run = map_run_arn(client, &arn).await;
    let listed = children(client, &run).await;
    assert_eq!(listed.len(), 2);
    let child = listed[0].execution_arn();
    assert!(child.contains(":express:express-children/"), "{child}");
    let described = client
        .describe_execution()
        .execution_arn(child)
        .send()
        .await
        .expect("describe an Express child");
    assert_eq!(described.map_run_arn(), Some(run.as_str()));
    assert_eq!(described.status(), &ExecutionStatus::Succeeded);
}

/// A run started in the step that also ends its parent (a Parallel whose other branch fails at
/// once) is aborted with it: no child runs for an execution that has ended.
#[tokio::test]
async fn a_run_started_as_its_parent_fails_is_aborted() {
    let app = TestApp::spawn().await;
    let client = &app.client;
    let fan = distributed(
        json!({"ItemsPath": "$.items"}),
        "Sleep",
        json!({"Sleep": {"Type": "Wait", "Seconds": 600, "End": true}}),
    );
    let definition = json!({"StartAt": "Both", "States": {"Both": {
        "Type": "Parallel",
        "Branches": [
            fan,
            {"StartAt": "Boom", "States": {"Boom": {"Type": "Fail", "Error": "Boom"}}}
        ],
        "End": true}}});
    let machine_arn = machine(client, "parallel-fan", definition).await;
    let arn = start(client, &machine_arn, json!({"items": [1, 2, 3]})).await;
    let done = wait_until_done(client, &arn, Duration::from_secs(30)).await;
    assert_eq!(done.status(), &ExecutionStatus::Failed);
    assert_eq!(done.error(), Some("Boom"));
    let run = map_run_arn(client, &arn).await;
    let described = describe_run(client, &run).await;
    assert_eq!(described.status(), &MapRunStatus::Aborted);
    // Give a scheduler time to (wrongly) start children.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let running = children(client, &run)
        .await
        .iter()
        .filter(|c| c.status() == &ExecutionStatus::Running)
        .count();
    assert_eq!(running, 0);
}

fn gzip(text: &str) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(text.as_bytes()).expect("gzip");
    encoder.finish().expect("gzip")
}

/// `InputType: MANIFEST`: an S3 Inventory's manifest lists gzip-compressed CSV files in its
/// destination bucket; each row is an item of the `fileSchema`'s fields, file after file.
#[tokio::test]
async fn an_s3_inventory_manifest_is_read_row_by_row() {
    let s3 = S3Server::start().await;
    s3.bucket("inventory").await;
    s3.put(
        "inventory",
        "data/1.csv.gz",
        &gzip("\"src\",\"a.txt\",\"12\"\n\"src\",\"b c.txt\",\"3\"\n"),
    )
    .await;
    s3.put(
        "inventory",
        "data/2.csv.gz",
        &gzip("\"src\",\"d.txt\",\"7\"\n"),
    )
    .await;
    let manifest = json!({
        "sourceBucket": "src",
        "destinationBucket": "arn:aws:s3:::inventory",
        "version": "2016-11-30",
        "fileFormat": "CSV",
        "fileSchema": "Bucket, Key, Size",
        "files": [{"key": "data/1.csv.gz", "size": 40}, {"key": "data/2.csv.gz", "size": 30}]
    });
    s3.put(
        "inventory",
        "manifest.json",
        manifest.to_string().as_bytes(),
    )
    .await;
    let app = app_with_s3(&s3).await;
    let client = &app.client;
    let machine_arn = machine(
        client,
        "inventory",
        reading(
            json!({"Resource": "arn:aws:states:::s3:getObject",
                   "ReaderConfig": {"InputType": "MANIFEST"},
                   "Parameters": {"Bucket": "inventory", "Key": "manifest.json"}}),
            json!({"MaxConcurrency": 1}),
        ),
    )
    .await;
    let (_, output) = run_to_end(client, &machine_arn, json!({})).await;
    assert_eq!(
        output,
        json!([
            {"Bucket": "src", "Key": "a.txt", "Size": "12"},
            {"Bucket": "src", "Key": "b c.txt", "Size": "3"},
            {"Bucket": "src", "Key": "d.txt", "Size": "7"}
        ])
    );
}

/// A Distributed Map in JSONata: `Items` an expression, the `ItemSelector` reading
/// `$states.context.Map.Item` and a variable assigned before, the children in JSONata too
/// (seeing no outer variable), and the state's `Output` over the results.
#[tokio::test]
async fn a_jsonata_distributed_map_selects_items_and_shapes_its_output() {
    let app = TestApp::spawn().await;
    let client = &app.client;
    let definition = json!({
        "QueryLanguage": "JSONata",
        "StartAt": "Set",
        "States": {
            "Set": {"Type": "Pass", "Assign": {"factor": 10}, "Next": "Fan"},
            "Fan": {
                "Type": "Map",
                "Items": "{% [1, 2, 3] %}",
                "ItemSelector": {"n": "{% $states.context.Map.Item.Value %}",
                                 "i": "{% $states.context.Map.Item.Index %}",
                                 "f": "{% $factor %}"},
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "Times",
                    "States": {"Times": {"Type": "Pass",
                        "Output": "{% $states.input.n * $states.input.f + $states.input.i %}",
                        "End": true}}
                },
                "Output": "{% $sum($states.result) %}",
                "End": true
            }
        }
    });
    let machine_arn = machine(client, "jsonata-fan", definition).await;
    let arn = start(client, &machine_arn, json!({})).await;
    let done = wait_until_done(client, &arn, Duration::from_secs(60)).await;
    assert_eq!(
        done.status(),
        &ExecutionStatus::Succeeded,
        "{:?}",
        done.cause()
    );
    // 10 + 21 + 32
    assert_eq!(done.output(), Some("63"));
}

/// `ItemsPointer`: the items are the array at a JSON pointer of the object, read over many
/// rounds (one child at a time) from the document parsed once.
#[tokio::test]
async fn items_pointer_reads_an_array_inside_a_document() {
    let s3 = S3Server::start().await;
    s3.bucket("data").await;
    let document = json!({"meta": {"n": 3}, "data": {"list": [{"a": 1}, {"a": 2}, {"a": 3}]}});
    s3.put("data", "doc.json", document.to_string().as_bytes())
        .await;
    let app = app_with_s3(&s3).await;
    let client = &app.client;
    let machine_arn = machine(
        client,
        "pointer",
        reading(
            json!({"Resource": "arn:aws:states:::s3:getObject",
                   "ReaderConfig": {"InputType": "JSON", "ItemsPointer": "/data/list"},
                   "Parameters": {"Bucket": "data", "Key": "doc.json"}}),
            json!({"MaxConcurrency": 1}),
        ),
    )
    .await;
    let (_, output) = run_to_end(client, &machine_arn, json!({})).await;
    assert_eq!(output, json!([{"a": 1}, {"a": 2}, {"a": 3}]));
}

/// A Map's fields for `max_concurrency` children at once, writing its results to the bucket
/// "results" under `prefix`.
fn writing_to(prefix: &str, max_concurrency: u32) -> Value {
    json!({"MaxConcurrency": max_concurrency,
           "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject",
                            "Parameters": {"Bucket": "results", "Prefix": prefix}}})
}

/// The first result file of `kind` (SUCCEEDED, FAILED, PENDING) a run's manifest lists, read
/// once the manifest is written under `prefix`.
async fn result_file(s3: &S3Server, prefix: &str, run: &str, kind: &str) -> Value {
    let run_id = run.rsplit(':').next().expect("run id");
    let manifest_key = format!("{prefix}/{run_id}/manifest.json");
    let manifest = wait_for("the manifest", Duration::from_secs(30), || async {
        s3.try_get("results", &manifest_key).await
    })
    .await;
    let manifest: Value = serde_json::from_slice(&manifest).expect("manifest");
    let key = manifest["ResultFiles"][kind][0]["Key"]
        .as_str()
        .unwrap_or_else(|| panic!("a {kind} file in {manifest}"));
    serde_json::from_slice(&s3.get("results", key).await).expect("json")
}

/// The `Input` of each entry of a result file.
fn inputs(entries: &Value) -> Vec<&str> {
    entries
        .as_array()
        .map(|list| list.iter().filter_map(|e| e["Input"].as_str()).collect())
        .unwrap_or_default()
}

/// A run that fails with a ResultWriter still writes its results: its children stopped, the
/// succeeded ones go to SUCCEEDED_0.json and the failed one, with its error, to FAILED_0.json,
/// and the Map state fails with the run's error.
#[tokio::test]
async fn a_failed_run_writes_its_results_before_the_map_fails() {
    let s3 = S3Server::start().await;
    s3.bucket("results").await;
    let app = app_with_s3(&s3).await;
    let client = &app.client;
    let definition = distributed(
        writing_to("failed", 1),
        "Check",
        json!({
            "Check": {"Type": "Choice",
                      "Choices": [{"Variable": "$", "NumericEquals": 3, "Next": "Boom"}],
                      "Default": "Fine"},
            "Boom": {"Type": "Fail", "Error": "Three", "Cause": "no threes"},
            "Fine": {"Type": "Succeed"}
        }),
    );
    let machine_arn = machine(client, "failing-writer", definition).await;
    let arn = start(client, &machine_arn, json!([1, 2, 3, 4])).await;
    let done = wait_until_done(client, &arn, Duration::from_secs(60)).await;
    assert_eq!(done.status(), &ExecutionStatus::Failed);
    assert_eq!(done.error(), Some("States.ExceedToleratedFailureThreshold"));
    let run = map_run_arn(client, &arn).await;
    let succeeded = result_file(&s3, "failed", &run, "SUCCEEDED").await;
    let failed = result_file(&s3, "failed", &run, "FAILED").await;
    assert_eq!(succeeded.as_array().map(Vec::len), Some(2));
    assert_eq!(failed.as_array().map(Vec::len), Some(1));
    assert_eq!(failed[0]["Status"], "FAILED");
    assert_eq!(failed[0]["Error"], "Three");
    assert_eq!(failed[0]["Cause"], "no threes");
    assert_eq!(failed[0]["Input"], "3");
    // The item no child was started for, as its child's input would have been.
    let pending = result_file(&s3, "failed", &run, "PENDING").await;
    assert_eq!(
        pending,
        json!([{"Input": "4", "InputDetails": {"Included": true}, "Status": "PENDING"}])
    );
}

/// A run aborted with its parent writes its results too, once its children stopped: the
/// succeeded children, the stopped ones (ABORTED, among the FAILED), and the items never
/// started (PENDING); the run stays ABORTED.
#[tokio::test]
async fn a_run_aborted_with_its_parent_writes_its_results() {
    let s3 = S3Server::start().await;
    s3.bucket("results").await;
    let app = app_with_s3(&s3).await;
    let client = &app.client;
    let definition = distributed(
        writing_to("aborted", 2),
        "Quick",
        json!({
            "Quick": {"Type": "Choice",
                      "Choices": [{"Variable": "$", "NumericLessThanEquals": 2, "Next": "Done"}],
                      "Default": "Sleep"},
            "Done": {"Type": "Succeed"},
            "Sleep": {"Type": "Wait", "Seconds": 600, "End": true}
        }),
    );
    let machine_arn = machine(client, "aborted-writer", definition).await;
    let arn = start(client, &machine_arn, json!([1, 2, 3, 4, 5, 6])).await;
    let run = map_run_arn(client, &arn).await;
    wait_for("two children sleeping", Duration::from_secs(30), || async {
        let listed = children(client, &run).await;
        let running = listed
            .iter()
            .filter(|c| c.status() == &ExecutionStatus::Running)
            .count();
        (listed.len() == 4 && running == 2).then_some(())
    })
    .await;
    client
        .stop_execution()
        .execution_arn(&arn)
        .send()
        .await
        .expect("stop");
    let done = wait_until_done(client, &arn, Duration::from_secs(10)).await;
    assert_eq!(done.status(), &ExecutionStatus::Aborted);
    let events = history(client, &arn).await.len();
    let succeeded = result_file(&s3, "aborted", &run, "SUCCEEDED").await;
    let failed = result_file(&s3, "aborted", &run, "FAILED").await;
    let pending = result_file(&s3, "aborted", &run, "PENDING").await;
    assert_eq!(inputs(&succeeded), ["1", "2"]);
    assert_eq!(inputs(&failed), ["3", "4"]);
    assert!(
        failed
            .as_array()
            .is_some_and(|l| l.iter().all(|e| e["Status"] == "ABORTED")),
        "{failed}"
    );
    assert_eq!(inputs(&pending), ["5", "6"]);
    // Once written (the files are put before the run's round commits), the run stays ABORTED
    // and its parent hears nothing more.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let described = describe_run(client, &run).await;
    assert_eq!(described.status(), &MapRunStatus::Aborted);
    assert_eq!(history(client, &arn).await.len(), events);
}

/// A write longer than a round's share goes on over several rounds, each ending its files, and
/// the manifest lists them all in order: here two entries a round, for a run that succeeds
/// with a tolerated failure and for one that fails with items never started.
#[tokio::test]
async fn a_long_write_goes_on_over_rounds() {
    let s3 = S3Server::start().await;
    s3.bucket("results").await;
    let url = switchback_tests::pg::fresh_database().await;
    let config = s3.config();
    let app = TestApp::spawn_with(&url, move |settings| {
        settings.integrations.s3 = config;
        settings.scheduler.result_entries_per_round = 2;
    })
    .await;
    let client = &app.client;
    let processor = json!({
        "Check": {"Type": "Choice",
                  "Choices": [{"Variable": "$", "NumericEquals": 3, "Next": "Boom"}],
                  "Default": "Fine"},
        "Boom": {"Type": "Fail", "Error": "Three"},
        "Fine": {"Type": "Succeed"}
    });
    // Every file of `kind` the manifest lists, in order, with the inputs of its entries.
    let files = |prefix: &'static str, run: String, kind: &'static str| {
        let s3 = &s3;
        async move {
            let run_id = run.rsplit(':').next().expect("run id").to_owned();
            let manifest: Value = serde_json::from_slice(
                &s3.get("results", &format!("{prefix}/{run_id}/manifest.json"))
                    .await,
            )
            .expect("manifest");
            let mut listed = Vec::new();
            for file in manifest["ResultFiles"][kind].as_array().expect("files") {
                let key = file["Key"].as_str().expect("key");
                let entries: Value =
                    serde_json::from_slice(&s3.get("results", key).await).expect("json");
                let name = key.rsplit('/').next().unwrap_or_default().to_owned();
                let inputs: Vec<String> = inputs(&entries).into_iter().map(str::to_owned).collect();
                listed.push((name, inputs));
            }
            listed
        }
    };

    let mut tolerant = writing_to("tolerant", 7);
    tolerant["ToleratedFailureCount"] = json!(1);
    let machine_arn = machine(
        client,
        "tolerant",
        distributed(tolerant, "Check", processor.clone()),
    )
    .await;
    let arn = start(client, &machine_arn, json!([1, 2, 3, 4, 5, 6, 7])).await;
    let done = wait_until_done(client, &arn, Duration::from_secs(60)).await;
    assert_eq!(done.status(), &ExecutionStatus::Succeeded);
    let run = map_run_arn(client, &arn).await;
    let pair = |name: &str, inputs: &[&str]| {
        (
            name.to_owned(),
            inputs.iter().map(|i| (*i).to_owned()).collect::<Vec<_>>(),
        )
    };
    assert_eq!(
        files("tolerant", run.clone(), "SUCCEEDED").await,
        [
            pair("SUCCEEDED_0.json", &["1", "2"]),
            pair("SUCCEEDED_1.json", &["4"]),
            pair("SUCCEEDED_2.json", &["5", "6"]),
            pair("SUCCEEDED_3.json", &["7"]),
        ]
    );
    assert_eq!(
        files("tolerant", run, "FAILED").await,
        [pair("FAILED_0.json", &["3"])]
    );

    let machine_arn = machine(
        client,
        "intolerant",
        distributed(writing_to("intolerant", 1), "Check", processor),
    )
    .await;
    let arn = start(client, &machine_arn, json!([1, 2, 3, 4, 5, 6, 7])).await;
    let done = wait_until_done(client, &arn, Duration::from_secs(60)).await;
    assert_eq!(done.error(), Some("States.ExceedToleratedFailureThreshold"));
    let run = map_run_arn(client, &arn).await;
    assert_eq!(
        files("intolerant", run.clone(), "PENDING").await,
        [
            // The round that wrote the failed child's entry had room for one more.
            pair("PENDING_0.json", &["4"]),
            pair("PENDING_1.json", &["5", "6"]),
            pair("PENDING_2.json", &["7"]),
        ]
    );
    assert_eq!(
        files("intolerant", run.clone(), "SUCCEEDED").await,
        [pair("SUCCEEDED_0.json", &["1", "2"])]
    );
    assert_eq!(
        files("intolerant", run, "FAILED").await,
        [pair("FAILED_0.json", &["3"])]
    );
}
