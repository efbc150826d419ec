//! Activity workers: long polls, results, heartbeats and timeouts, across API nodes.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_sfn::types::{ExecutionStatus, HistoryEventType};
use switchback::app::Role;
use switchback_tests::TestApp;

use crate::error_code;
use crate::executions::wait_until_done;

const ROLE: &str = "arn:aws:iam::123456789012:role/r";

/// A machine with one activity task; `extra` adds fields to the Task state.
async fn setup(app: &TestApp, name: &str, extra: &str) -> (String, String) {
    let activity = app
        .client
        .create_activity()
        .name(name)
        .send()
        .await
        .expect("activity");
    let activity_arn = activity.activity_arn().to_owned();
    let definition = format!(
        r#"{{"StartAt": "T", "States": {{"T": {{"Type": "Task", "Resource": "{activity_arn}", "End": true{extra}}}}}}}"#
    );
    let machine = app
        .client
        .create_state_machine()
        .name(name)
        .definition(definition)
        .role_arn(ROLE)
        .send()
        .await
        .expect("machine");
    (activity_arn, machine.state_machine_arn().to_owned())
}

fn epoch_seconds() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("a clock after 1970")
        .as_secs_f64()
}

async fn poll(client: &aws_sdk_sfn::Client, activity_arn: &str) -> Option<(String, String)> {
    let task = client
        .get_activity_task()
        .activity_arn(activity_arn)
        .worker_name("worker-1")
        .send()
        .await
        .expect("get activity task");
    task.task_token()
        .map(|t| (t.to_owned(), task.input().unwrap_or_default().to_owned()))
}

/// How often a waiting GetActivityTask looks at the table without a notification
/// (`SAFETY_RECHECK` in services/api/src/operations/tasks.rs).
const RECHECK: Duration = Duration::from_secs(5);

/// GetActivityTask is "woken within milliseconds by LISTEN/NOTIFY from any scheduler node"
/// (docs/compatibility.md): a poll waiting on an API-only node returns a task another node's
/// scheduler scheduled, well before its periodic re-check could have found it.
#[tokio::test]
async fn a_task_polled_on_one_node_completes_on_another() {
    let first = TestApp::spawn().await;
    // The second node runs no scheduler: it hears of the task only through PostgreSQL.
    let second = TestApp::spawn_as(&first.database_url, Role::Api, |_| {}).await;
    let (activity, machine) = setup(&first, "work", r#", "ResultPath": "$.result""#).await;
    // The poll waits before any task exists; scheduling wakes it.
    let poll_began = epoch_seconds();
    let waiting = {
        let client = second.client.clone();
        let activity = activity.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            (poll(&client, &activity).await, started.elapsed())
        })
    };
    // Long enough for the poll's first look to find nothing, well under the re-check.
    const LEAD: Duration = Duration::from_secs(1);
    tokio::time::sleep(LEAD).await;
    let execution = first
        .client
        .start_execution()
        .state_machine_arn(&machine)
        .input(r#"{"job": 7}"#)
        .send()
        .await
        .unwrap();
    let (task, waited) = waiting.await.unwrap();
    let returned = epoch_seconds();
    let (token, input) = task.expect("the waiting poll got the task");
    // Answered before the first re-check: only a wake-up can explain the task.
    assert!(
        waited < RECHECK,
        "woken by the notification, not a re-check: {waited:?}"
    );
    assert_eq!(input, r#"{"job":7}"#);
    first
        .client
        .send_task_success()
        .task_token(&token)
        .output(r#"{"done": true}"#)
        .send()
        .await
        .unwrap();
    let done = wait_until_done(
        &second.client,
        execution.execution_arn(),
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(done.status(), &ExecutionStatus::Succeeded);
    assert_eq!(done.output(), Some(r#"{"job":7,"result":{"done":true}}"#));
    // A second result for the same token is refused.
    let (code, message) = error_code(
        second
            .client
            .send_task_success()
            .task_token(&token)
            .output("{}")
            .send()
            .await,
    );
    assert_eq!(code, "TaskTimedOut");
    assert!(message.contains("does not exist anymore"), "{message}");
    let history = first
        .client
        .get_execution_history()
        .execution_arn(execution.execution_arn())
        .send()
        .await
        .unwrap();
    let started = history
        .events()
        .iter()
        .find(|e| e.activity_started_event_details().is_some())
        .expect("ActivityStarted");
    let details = started.activity_started_event_details().unwrap();
    assert_eq!(details.worker_name(), Some("worker-1"));
    // Stamped when the worker took the task, not when a scheduler later recorded it.
    let stamped = started.timestamp().as_secs_f64();
    assert!(
        stamped <= returned + 0.005 && stamped > returned - 1.0,
        "{stamped} vs {returned}"
    );
    // Taken after the lead, so not by the poll's first look (timestamps are whole
    // milliseconds)...
    assert!(
        stamped >= poll_began + LEAD.as_secs_f64() - 0.002,
        "taken at {stamped}, the poll began at {poll_began}"
    );
    // ...and within two seconds of being scheduled: without the notification the poll would
    // find it at the re-check, four seconds after (RECHECK − LEAD), on a busy machine too.
    let scheduled = history
        .events()
        .iter()
        .find(|e| e.r#type() == &HistoryEventType::ActivityScheduled)
        .expect("ActivityScheduled")
        .timestamp()
        .as_secs_f64();
    assert!(
        stamped - scheduled < 2.0,
        "scheduled at {scheduled}, taken at {stamped}"
    );
    second.stop().await;
    first.stop().await;
}

#[tokio::test]
async fn failures_reach_retry_and_catch() {
    let app = TestApp::spawn().await;
    let extra = r#", "Retry": [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 1, "MaxAttempts": 1}], "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}]}, "Caught": {"Type": "Pass", "End": true"#;
    let (activity, machine) = setup(&app, "flaky", extra).await;
    let execution = app
        .client
        .start_execution()
        .state_machine_arn(&machine)
        .send()
        .await
        .unwrap();
    for attempt in 0..2 {
        let (token, _) = poll(&app.client, &activity).await.expect("a task");
        app.client
            .send_task_failure()
            .task_token(&token)
            .error("Flaky")
            .cause(format!("attempt {attempt}"))
            .send()
            .await
            .unwrap();
    }
    let done = wait_until_done(
        &app.client,
        execution.execution_arn(),
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(done.status(), &ExecutionStatus::Succeeded);
    assert_eq!(
        done.output(),
        Some(r#"{"Error":"Flaky","Cause":"attempt 1"}"#)
    );
    app.stop().await;
}

#[tokio::test]
async fn tokens_are_checked() {
    let app = TestApp::spawn_with(&switchback_tests::pg::fresh_database().await, |s| {
        s.api.activity_poll_seconds = 1
    })
    .await;
    let (activity, machine) = setup(&app, "tokens", "").await;
    let (code, _) = error_code(
        app.client
            .send_task_success()
            .task_token("forged")
            .output("{}")
            .send()
            .await,
    );
    assert_eq!(code, "InvalidToken");
    let unknown = "0".repeat(64);
    let (code, _) = error_code(
        app.client
            .send_task_heartbeat()
            .task_token(&unknown)
            .send()
            .await,
    );
    assert_eq!(code, "TaskDoesNotExist");
    let execution = app
        .client
        .start_execution()
        .state_machine_arn(&machine)
        .send()
        .await
        .unwrap();
    let (token, _) = poll(&app.client, &activity).await.expect("a task");
    let (code, _) = error_code(
        app.client
            .send_task_success()
            .task_token(&token)
            .output("not json")
            .send()
            .await,
    );
    assert_eq!(code, "InvalidOutput");
    // Stopping the execution closes its task: the token then answers TaskTimedOut.
    app.client
        .stop_execution()
        .execution_arn(execution.execution_arn())
        .send()
        .await
        .unwrap();
    let (code, _) = error_code(
        app.client
            .send_task_success()
            .task_token(&token)
            .output("{}")
            .send()
            .await,
    );
    assert_eq!(code, "TaskTimedOut");
    let (code, _) = error_code(
        app.client
            .send_task_heartbeat()
            .task_token(&token)
            .send()
            .await,
    );
    assert_eq!(code, "TaskTimedOut");
    // With nothing scheduled, a poll answers without a token when its time is up.
    let started = Instant::now();
    assert!(poll(&app.client, &activity).await.is_none());
    assert!(started.elapsed() >= Duration::from_millis(900));
    let (code, _) = error_code(
        app.client
            .get_activity_task()
            .activity_arn("arn:aws:states:us-east-1:123456789012:activity:none")
            .send()
            .await,
    );
    assert_eq!(code, "ActivityDoesNotExist");
    let (code, _) = error_code(
        app.client
            .get_activity_task()
            .activity_arn("no_an_activity_arn")
            .send()
            .await,
    );
    assert_eq!(code, "InvalidArn");
    app.stop().await;
}

#[tokio::test]
async fn heartbeats_keep_a_task_alive_and_silence_times_it_out() {
    let app = TestApp::spawn().await;
    let (activity, machine) = setup(
        &app,
        "beat",
        r#", "HeartbeatSeconds": 3, "TimeoutSeconds": 60"#,
    )
    .await;
    let alive = app
        .client
        .start_execution()
        .state_machine_arn(&machine)
        .name("alive")
        .send()
        .await
        .unwrap();
    let (token, _) = poll(&app.client, &activity).await.expect("a task");
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(10) {
        app.client
            .send_task_heartbeat()
            .task_token(&token)
            .send()
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    app.client
        .send_task_success()
        .task_token(&token)
        .output("{}")
        .send()
        .await
        .unwrap();
    let done = wait_until_done(&app.client, alive.execution_arn(), Duration::from_secs(10)).await;
    assert_eq!(done.status(), &ExecutionStatus::Succeeded);

    let silent = app
        .client
        .start_execution()
        .state_machine_arn(&machine)
        .name("silent")
        .send()
        .await
        .unwrap();
    poll(&app.client, &activity).await.expect("a task");
    let done = wait_until_done(&app.client, silent.execution_arn(), Duration::from_secs(10)).await;
    assert_eq!(done.status(), &ExecutionStatus::Failed);
    assert_eq!(done.error(), Some("States.HeartbeatTimeout"));
    app.stop().await;
}

#[tokio::test]
async fn a_timeout_fires_after_every_process_restarted() {
    let app = TestApp::spawn().await;
    let (_, machine) = setup(&app, "slow", r#", "TimeoutSeconds": 2"#).await;
    let execution = app
        .client
        .start_execution()
        .state_machine_arn(&machine)
        .send()
        .await
        .unwrap();
    let url = app.database_url.clone();
    tokio::time::sleep(Duration::from_millis(300)).await;
    app.stop().await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let app = TestApp::spawn_on(&url).await;
    let done = wait_until_done(
        &app.client,
        execution.execution_arn(),
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(done.status(), &ExecutionStatus::Failed);
    assert_eq!(done.error(), Some("States.Timeout"));
    app.stop().await;
}

#[tokio::test]
async fn a_missing_activity_fails_the_state() {
    let app = TestApp::spawn().await;
    let (activity, machine) = setup(&app, "gone", "").await;
    app.client
        .delete_activity()
        .activity_arn(&activity)
        .send()
        .await
        .unwrap();
    let execution = app
        .client
        .start_execution()
        .state_machine_arn(&machine)
        .send()
        .await
        .unwrap();
    let done = wait_until_done(
        &app.client,
        execution.execution_arn(),
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(done.status(), &ExecutionStatus::Failed);
    assert_eq!(done.error(), Some("States.Runtime"));
    assert!(
        done.cause()
            .unwrap_or_default()
            .ends_with(&format!("The activity {activity} does not exist."))
    );
    // As AWS records it: no task is scheduled for an activity that does not exist.
    let events = crate::executions::history(&app.client, execution.execution_arn()).await;
    let types: Vec<&str> = events.iter().map(|e| e.r#type().as_str()).collect();
    assert_eq!(
        types,
        ["ExecutionStarted", "TaskStateEntered", "ExecutionFailed"]
    );
    app.stop().await;
}

#[tokio::test]
async fn many_polls_on_two_nodes_take_every_task_exactly_once() {
    // Short polls, so that idle workers notice the end quickly.
    let url = switchback_tests::pg::fresh_database().await;
    let first = TestApp::spawn_with(&url, |s| s.api.activity_poll_seconds = 2).await;
    let second = TestApp::spawn_with(&url, |s| s.api.activity_poll_seconds = 2).await;
    let (activity, machine) = setup(&first, "crowd", r#", "ResultPath": "$.by""#).await;
    const TASKS: usize = 1000;
    const POLLS: usize = 50;
    let seen = Arc::new(Mutex::new(HashSet::new()));
    let mut workers = Vec::new();
    for w in 0..POLLS {
        let client = if w % 2 == 0 {
            first.client.clone()
        } else {
            second.client.clone()
        };
        let (activity, seen) = (activity.clone(), seen.clone());
        workers.push(tokio::spawn(async move {
            loop {
                if seen.lock().unwrap().len() >= TASKS {
                    return;
                }
                let task = client
                    .get_activity_task()
                    .activity_arn(&activity)
                    .send()
                    .await
                    .unwrap();
                let Some(token) = task.task_token() else {
                    continue;
                };
                assert!(
                    seen.lock().unwrap().insert(token.to_owned()),
                    "a task was delivered twice"
                );
                client
                    .send_task_success()
                    .task_token(token)
                    .output(format!("{w}"))
                    .send()
                    .await
                    .unwrap();
            }
        }));
    }
    // Ten clients start the executions concurrently, alternating between the nodes.
    let mut starters = Vec::new();
    for s in 0..10 {
        let client = if s % 2 == 0 {
            first.client.clone()
        } else {
            second.client.clone()
        };
        let machine = machine.clone();
        starters.push(tokio::spawn(async move {
            for i in (s..TASKS).step_by(10) {
                client
                    .start_execution()
                    .state_machine_arn(&machine)
                    .input(format!(r#"{{"i": {i}}}"#))
                    .send()
                    .await
                    .unwrap();
            }
        }));
    }
    for starter in starters {
        starter.await.unwrap();
    }
    for worker in workers {
        tokio::time::timeout(Duration::from_secs(120), worker)
            .await
            .expect("workers finish")
            .unwrap();
    }
    assert_eq!(seen.lock().unwrap().len(), TASKS);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let succeeded = first
            .client
            .list_executions()
            .state_machine_arn(&machine)
            .status_filter(ExecutionStatus::Succeeded)
            .max_results(1000)
            .send()
            .await
            .unwrap();
        if succeeded.executions().len() == TASKS {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {TASKS} succeeded",
            succeeded.executions().len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    second.stop().await;
    first.stop().await;
}

#[tokio::test]
async fn shutdown_answers_waiting_polls_without_a_task() {
    let app = TestApp::spawn().await;
    let (activity, _) = setup(&app, "idle", "").await;
    let client = app.client.clone();
    let waiting = tokio::spawn(async move {
        let started = Instant::now();
        (poll(&client, &activity).await, started.elapsed())
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let stopping = Instant::now();
    app.stop().await;
    assert!(
        stopping.elapsed() < Duration::from_secs(5),
        "shutdown took {:?}",
        stopping.elapsed()
    );
    let (task, waited) = waiting.await.unwrap();
    assert!(task.is_none(), "no task is handed out while shutting down");
    assert!(
        waited < Duration::from_secs(5),
        "the 60 s poll was answered at shutdown: {waited:?}"
    );
}

#[tokio::test]
async fn a_poll_whose_client_went_away_takes_no_task() {
    use tokio::io::AsyncWriteExt;
    let app = TestApp::spawn().await;
    let (activity, machine) = setup(&app, "gone-worker", "").await;
    // A raw poll whose client hangs up while it waits.
    let body = format!(r#"{{"activityArn": "{activity}"}}"#);
    let request = format!(
        "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-amz-json-1.0\r\n\
         X-Amz-Target: AWSStepFunctions.GetActivityTask\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut stream = tokio::net::TcpStream::connect(app.address).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(stream);
    tokio::time::sleep(Duration::from_millis(300)).await;
    app.client
        .start_execution()
        .state_machine_arn(&machine)
        .send()
        .await
        .unwrap();
    // The task goes to a live worker, not to the poll nobody is reading: woken by the
    // notification well before the re-check (had the wake-up gone to the abandoned poll, the
    // live one would find the task only then).
    let started = Instant::now();
    let task = poll(&app.client, &activity).await;
    assert!(task.is_some(), "the task was taken by the abandoned poll");
    assert!(
        started.elapsed() < RECHECK / 2,
        "the live poll waited {:?}",
        started.elapsed()
    );
    app.stop().await;
}

/// TaskTimedOut for "a token whose task ended: ... timed out" (docs/compatibility.md's errors
/// table): a worker that answers after its task's `TimeoutSeconds` passed is refused with
/// `TaskTimedOut`, for a result, a failure and a heartbeat alike, and the execution keeps the
/// timeout.
#[tokio::test]
async fn an_answer_after_the_task_timed_out_is_refused() {
    let app = TestApp::spawn().await;
    let (activity, machine) = setup(&app, "late", r#", "TimeoutSeconds": 3"#).await;
    let execution = app
        .client
        .start_execution()
        .state_machine_arn(&machine)
        .send()
        .await
        .unwrap();
    let (token, _) = poll(&app.client, &activity).await.expect("a task");
    let done = wait_until_done(
        &app.client,
        execution.execution_arn(),
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(done.status(), &ExecutionStatus::Failed);
    assert_eq!(done.error(), Some("States.Timeout"));
    let (code, message) = error_code(
        app.client
            .send_task_success()
            .task_token(&token)
            .output(r#"{"late": true}"#)
            .send()
            .await,
    );
    assert_eq!(code, "TaskTimedOut");
    assert!(message.contains("does not exist anymore"), "{message}");
    let (code, _) = error_code(
        app.client
            .send_task_failure()
            .task_token(&token)
            .error("Late")
            .send()
            .await,
    );
    assert_eq!(code, "TaskTimedOut");
    let (code, _) = error_code(
        app.client
            .send_task_heartbeat()
            .task_token(&token)
            .send()
            .await,
    );
    assert_eq!(code, "TaskTimedOut");
    // The late answers changed nothing.
    let after = app
        .client
        .describe_execution()
        .execution_arn(execution.execution_arn())
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), &ExecutionStatus::Failed);
    assert_eq!(after.error(), Some("States.Timeout"));
    assert_eq!(after.stop_date(), done.stop_date());
    app.stop().await;
}

/// SendTaskSuccess: "`output` must be JSON of at most 256 KiB (`InvalidOutput`)"
/// (docs/compatibility.md): one byte over is refused and leaves the task open; exactly 256 KiB
/// is accepted and becomes the state's result.
#[tokio::test]
async fn a_result_over_256_kib_is_refused_and_one_of_256_kib_accepted() {
    const LIMIT: usize = 256 * 1024;
    let app = TestApp::spawn().await;
    let (activity, machine) = setup(&app, "large", "").await;
    let execution = app
        .client
        .start_execution()
        .state_machine_arn(&machine)
        .send()
        .await
        .unwrap();
    let (token, _) = poll(&app.client, &activity).await.expect("a task");
    // A JSON string of `bytes` bytes, quotes included.
    let string_of = |bytes: usize| format!("\"{}\"", "x".repeat(bytes - 2));
    let (code, message) = error_code(
        app.client
            .send_task_success()
            .task_token(&token)
            .output(string_of(LIMIT + 1))
            .send()
            .await,
    );
    assert_eq!(code, "InvalidOutput");
    assert!(message.contains(&LIMIT.to_string()), "{message}");
    // Still open: a heartbeat is accepted.
    app.client
        .send_task_heartbeat()
        .task_token(&token)
        .send()
        .await
        .unwrap();
    let fits = string_of(LIMIT);
    app.client
        .send_task_success()
        .task_token(&token)
        .output(&fits)
        .send()
        .await
        .unwrap();
    let done = wait_until_done(
        &app.client,
        execution.execution_arn(),
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(
        done.status(),
        &ExecutionStatus::Succeeded,
        "{:?}",
        done.error()
    );
    assert_eq!(done.output(), Some(fits.as_str()));
    app.stop().await;
}

/// A scheduler's step locks an execution, then closes its tasks. A worker's poll or report
/// that arrives meanwhile must neither deadlock with it nor fail: the report waits for the
/// step and finds its task closed (`TaskTimedOut`), the poll takes its task once the step ends.
/// The step is played here by a transaction that locks the execution as a scheduler does.
#[tokio::test]
async fn polls_and_reports_wait_for_a_step_that_holds_their_execution() {
    let app = TestApp::spawn().await;
    let (activity, machine) = setup(&app, "stepped", "").await;
    let pool = sqlx::PgPool::connect(&app.database_url)
        .await
        .expect("connect");
    let start = |name: &'static str| {
        let client = app.client.clone();
        let machine = machine.clone();
        async move {
            client
                .start_execution()
                .state_machine_arn(machine)
                .name(name)
                .send()
                .await
                .expect("start")
                .execution_arn()
                .to_owned()
        }
    };
    let lock = "SELECT seq FROM executions WHERE arn = $1 FOR UPDATE";

    // A report while the step holds the execution and then closes the task.
    let reported = start("reported").await;
    let (token, _) = poll(&app.client, &activity).await.expect("a task");
    let mut step = pool.begin().await.expect("begin");
    sqlx::query(lock)
        .bind(&reported)
        .execute(&mut *step)
        .await
        .expect("lock");
    let report = {
        let client = app.client.clone();
        let token = token.clone();
        tokio::spawn(async move {
            client
                .send_task_success()
                .task_token(token)
                .output("{}")
                .send()
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Not blocked by the waiting report (before, each waited for the other).
    tokio::time::timeout(
        Duration::from_secs(5),
        sqlx::query("UPDATE tasks SET status = 'CLOSED' WHERE token = $1")
            .bind(&token)
            .execute(&mut *step),
    )
    .await
    .expect("the step closes the task without waiting")
    .expect("close");
    step.commit().await.expect("commit");
    let (code, _) = error_code(report.await.expect("report"));
    assert_eq!(code, "TaskTimedOut");

    // A poll while the step holds the execution of the only scheduled task.
    let polled = start("polled").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut step = pool.begin().await.expect("begin");
    sqlx::query(lock)
        .bind(&polled)
        .execute(&mut *step)
        .await
        .expect("lock");
    let waiting = {
        let client = app.client.clone();
        let activity = activity.clone();
        tokio::spawn(async move { poll(&client, &activity).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !waiting.is_finished(),
        "no task while its execution is busy"
    );
    step.commit().await.expect("commit");
    let taken = tokio::time::timeout(Duration::from_secs(2), waiting)
        .await
        .expect("taken soon after the step ends")
        .expect("poll");
    assert!(taken.is_some(), "the poll takes the task");
}
