//! Executions end to end: the API records, schedulers run, PostgreSQL keeps everything.

use std::time::{Duration, Instant};

use aws_sdk_sfn::types::{EncryptionType, ExecutionStatus, HistoryEventType};
use switchback_tests::TestApp;

use crate::error_code;

pub const ROLE: &str = "arn:aws:iam::123456789012:role/r";

/// Creates a state machine with the test role; its ARN.
pub async fn create_machine(app: &TestApp, name: &str, definition: &str) -> String {
    app.client
        .create_state_machine()
        .name(name)
        .definition(definition)
        .role_arn(ROLE)
        .send()
        .await
        .expect("create state machine")
        .state_machine_arn()
        .to_owned()
}

/// Polls DescribeExecution until the execution leaves RUNNING.
pub async fn wait_until_done(
    client: &aws_sdk_sfn::Client,
    arn: &str,
    timeout: Duration,
) -> aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput {
    let deadline = Instant::now() + timeout;
    loop {
        let described = client
            .describe_execution()
            .execution_arn(arn)
            .send()
            .await
            .expect("describe execution");
        if described.status() != &ExecutionStatus::Running {
            return described;
        }
        assert!(
            Instant::now() < deadline,
            "{arn} still running after {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until a scheduler started the execution and entered its first state.
pub async fn wait_until_entered(client: &aws_sdk_sfn::Client, arn: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while history_types(client, arn).await.len() < 2 {
        assert!(Instant::now() < deadline, "{arn} was not started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// An execution's history events (up to 1,000: the histories of these tests are short), oldest
/// first.
pub async fn history(
    client: &aws_sdk_sfn::Client,
    arn: &str,
) -> Vec<aws_sdk_sfn::types::HistoryEvent> {
    client
        .get_execution_history()
        .execution_arn(arn)
        .max_results(1000)
        .send()
        .await
        .expect("get execution history")
        .events()
        .to_vec()
}

/// The types of an execution's history events (up to 1,000), oldest first.
pub async fn history_types(client: &aws_sdk_sfn::Client, arn: &str) -> Vec<HistoryEventType> {
    history(client, arn)
        .await
        .iter()
        .map(|e| e.r#type().clone())
        .collect()
}

/// Polls `probe` every 20 ms until it yields a value; fails the test after `timeout`.
pub async fn wait_for<T, Fut>(what: &str, timeout: Duration, mut probe: impl FnMut() -> Fut) -> T
where
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(Instant::now() < deadline, "{what}: not within {timeout:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

const PASS_CHAIN: &str = r#"{"StartAt": "A", "States": {
    "A": {"Type": "Pass", "Result": {"n": 1}, "ResultPath": "$.a", "Next": "B"},
    "B": {"Type": "Pass", "Parameters": {"sum.$": "States.MathAdd($.a.n, $.x)"}, "End": true}}}"#;

#[tokio::test]
async fn a_pass_chain_runs_to_success() {
    let app = TestApp::spawn().await;
    let machine = create_machine(&app, "chain", PASS_CHAIN).await;
    let started = app
        .client
        .start_execution()
        .state_machine_arn(&machine)
        .name("first")
        .input(r#"{"x": 41}"#)
        .send()
        .await
        .unwrap();
    let arn = started.execution_arn();
    assert_eq!(
        arn,
        "arn:aws:states:us-east-1:123456789012:execution:chain:first"
    );
    let done = wait_until_done(&app.client, arn, Duration::from_secs(10)).await;
    assert_eq!(done.status(), &ExecutionStatus::Succeeded);
    assert_eq!(done.output(), Some(r#"{"sum":42}"#));
    assert_eq!(
        done.input(),
        Some(r#"{"x": 41}"#),
        "input is kept exactly as given"
    );
    assert!(done.stop_date().is_some());
    assert_eq!(
        history_types(&app.client, arn).await,
        [
            HistoryEventType::ExecutionStarted,
            HistoryEventType::PassStateEntered,
            HistoryEventType::PassStateExited,
            HistoryEventType::PassStateEntered,
            HistoryEventType::PassStateExited,
            HistoryEventType::ExecutionSucceeded,
        ]
    );
    let for_execution = app
        .client
        .describe_state_machine_for_execution()
        .execution_arn(arn)
        .send()
        .await
        .unwrap();
    assert_eq!(for_execution.definition(), PASS_CHAIN);
    assert_eq!(
        for_execution.encryption_configuration().map(|e| e.r#type()),
        Some(&EncryptionType::AwsOwnedKey)
    );
    app.stop().await;
}

#[tokio::test]
async fn start_rules() {
    let app = TestApp::spawn().await;
    let machine = create_machine(
        &app,
        "waits",
        r#"{"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 30, "End": true}}}"#,
    )
    .await;
    let start = |name: &'static str, input: &'static str| {
        app.client
            .start_execution()
            .state_machine_arn(&machine)
            .name(name)
            .input(input)
            .send()
    };
    let first = start("same", "{}").await.unwrap();
    // The same name and input while running: the same execution.
    let again = start("same", "{}").await.unwrap();
    assert_eq!(first.execution_arn(), again.execution_arn());
    assert_eq!(first.start_date(), again.start_date());
    let (code, _) = error_code(start("same", r#"{"other": 1}"#).await);
    assert_eq!(code, "ExecutionAlreadyExists");
    let (code, message) = error_code(start("bad", "not some json").await);
    assert_eq!(code, "InvalidExecutionInput");
    assert!(
        message.starts_with("Invalid State Machine Execution Input: 'Unrecognized token 'not'"),
        "{message}"
    );
    let (code, _) = error_code(start("bad name", "{}").await);
    assert_eq!(code, "InvalidName");
    // Any JSON value is an input; no name means a generated one.
    let generated = app
        .client
        .start_execution()
        .state_machine_arn(&machine)
        .input("2")
        .send()
        .await
        .unwrap();
    assert_eq!(
        generated.execution_arn().rsplit(':').next().map(str::len),
        Some(36)
    );
    let missing = "arn:aws:states:us-east-1:123456789012:stateMachine:nope";
    let (code, message) = error_code(
        app.client
            .start_execution()
            .state_machine_arn(missing)
            .send()
            .await,
    );
    assert_eq!(code, "StateMachineDoesNotExist");
    assert_eq!(
        message,
        format!("State Machine Does Not Exist: '{missing}'")
    );
    let (code, _) = error_code(
        app.client
            .describe_execution()
            .execution_arn("arn:aws:states:us-east-1:123456789012:execution:waits:nope")
            .send()
            .await,
    );
    assert_eq!(code, "ExecutionDoesNotExist");
    let (code, _) = error_code(
        app.client
            .describe_execution()
            .execution_arn("nope")
            .send()
            .await,
    );
    assert_eq!(code, "InvalidArn");
    app.stop().await;
}

#[tokio::test]
async fn list_filters_and_pages_newest_first() {
    let app = TestApp::spawn().await;
    let machine = create_machine(
        &app,
        "m",
        r#"{"StartAt": "S", "States": {"S": {"Type": "Succeed"}}}"#,
    )
    .await;
    let mut arns = Vec::new();
    for i in 0..5 {
        let started = app
            .client
            .start_execution()
            .state_machine_arn(&machine)
            .name(format!("e{i}"))
            .send()
            .await
            .unwrap();
        arns.push(started.execution_arn().to_owned());
    }
    for arn in &arns {
        wait_until_done(&app.client, arn, Duration::from_secs(10)).await;
    }
    let mut names = Vec::new();
    let mut token = None;
    loop {
        let page = app
            .client
            .list_executions()
            .state_machine_arn(&machine)
            .max_results(2)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        names.extend(page.executions().iter().map(|e| e.name().to_owned()));
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(names, ["e4", "e3", "e2", "e1", "e0"]);
    let running = app
        .client
        .list_executions()
        .state_machine_arn(&machine)
        .status_filter(ExecutionStatus::Running)
        .send()
        .await
        .unwrap();
    assert!(running.executions().is_empty());
    let succeeded = app
        .client
        .list_executions()
        .state_machine_arn(&machine)
        .status_filter(ExecutionStatus::Succeeded)
        .send()
        .await
        .unwrap();
    assert_eq!(succeeded.executions().len(), 5);
    let (code, message) = error_code(
        app.client
            .list_executions()
            .state_machine_arn(&machine)
            .status_filter(ExecutionStatus::from("succeeded"))
            .send()
            .await,
    );
    assert_eq!(code, "ValidationException");
    assert!(
        message.ends_with("[SUCCEEDED, TIMED_OUT, PENDING_REDRIVE, ABORTED, FAILED, RUNNING]"),
        "{message}"
    );
    let (code, _) = error_code(
        app.client
            .list_executions()
            .state_machine_arn("arn:aws:states:us-east-1:123456789012:stateMachine:none")
            .send()
            .await,
    );
    assert_eq!(code, "StateMachineDoesNotExist");
    app.stop().await;
}

#[tokio::test]
async fn stop_aborts_a_waiting_execution() {
    let app = TestApp::spawn().await;
    let machine = create_machine(
        &app,
        "long",
        r#"{"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 600, "End": true}}}"#,
    )
    .await;
    let arn = app
        .client
        .start_execution()
        .state_machine_arn(&machine)
        .send()
        .await
        .unwrap()
        .execution_arn()
        .to_owned();
    // Let a scheduler start it.
    wait_until_entered(&app.client, &arn).await;
    app.client
        .stop_execution()
        .execution_arn(&arn)
        .error("Halt")
        .cause("by test")
        .send()
        .await
        .unwrap();
    // StopExecution waits for the stop to be applied.
    let described = app
        .client
        .describe_execution()
        .execution_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(described.status(), &ExecutionStatus::Aborted);
    assert_eq!(described.error(), Some("Halt"));
    let history = app
        .client
        .get_execution_history()
        .execution_arn(&arn)
        .send()
        .await
        .unwrap();
    let last = history.events().last().unwrap();
    assert_eq!(last.r#type(), &HistoryEventType::ExecutionAborted);
    assert_eq!(last.previous_event_id(), 0);
    // Stopping again changes nothing and is not an error.
    app.client
        .stop_execution()
        .execution_arn(&arn)
        .send()
        .await
        .unwrap();
    app.stop().await;
}

#[tokio::test]
async fn a_wait_survives_a_restart_of_every_process() {
    let app = TestApp::spawn().await;
    let machine = create_machine(&app, "w", r#"{"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 2, "Next": "P"}, "P": {"Type": "Pass", "End": true}}}"#).await;
    let arn = app
        .client
        .start_execution()
        .state_machine_arn(&machine)
        .input(r#"{"kept": true}"#)
        .send()
        .await
        .unwrap()
        .execution_arn()
        .to_owned();
    let started = Instant::now();
    wait_until_entered(&app.client, &arn).await;
    let url = app.database_url.clone();
    app.stop().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let app = TestApp::spawn_on(&url).await;
    let done = wait_until_done(&app.client, &arn, Duration::from_secs(10)).await;
    assert_eq!(done.status(), &ExecutionStatus::Succeeded);
    assert_eq!(done.output(), Some(r#"{"kept":true}"#));
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "the timer did not fire early"
    );
    app.stop().await;
}

#[tokio::test]
async fn history_pages_forwards_and_backwards_over_a_long_history() {
    let app = TestApp::spawn().await;
    // 400 items x (MapIterationStarted, PassStateEntered, PassStateExited, MapIterationSucceeded) ≈ 1,600 events.
    let machine = create_machine(&app, "big", r#"{"StartAt": "M", "States": {"M": {"Type": "Map", "End": true, "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}}}}"#).await;
    let items: Vec<u32> = (0..400).collect();
    let input = serde_json::to_string(&items).unwrap();
    let arn = app
        .client
        .start_execution()
        .state_machine_arn(&machine)
        .input(input)
        .send()
        .await
        .unwrap()
        .execution_arn()
        .to_owned();
    let done = wait_until_done(&app.client, &arn, Duration::from_secs(30)).await;
    assert_eq!(done.status(), &ExecutionStatus::Succeeded);
    for reverse in [false, true] {
        let mut ids = Vec::new();
        let mut token = None;
        loop {
            let page = app
                .client
                .get_execution_history()
                .execution_arn(&arn)
                .reverse_order(reverse)
                .max_results(1000)
                .set_next_token(token)
                .send()
                .await
                .unwrap();
            ids.extend(page.events().iter().map(|e| e.id()));
            token = page.next_token().map(str::to_owned);
            if token.is_none() {
                break;
            }
        }
        assert!(ids.len() > 1000, "{} events", ids.len());
        let mut expected: Vec<i64> = (1..=ids.len() as i64).collect();
        if reverse {
            expected.reverse();
        }
        assert_eq!(
            ids, expected,
            "contiguous ids, in order, no duplicates (reverse {reverse})"
        );
    }
    let without_data = app
        .client
        .get_execution_history()
        .execution_arn(&arn)
        .include_execution_data(false)
        .max_results(1)
        .send()
        .await
        .unwrap();
    let started = without_data.events()[0]
        .execution_started_event_details()
        .unwrap();
    assert!(started.input().is_none());
    app.stop().await;
}

#[tokio::test]
async fn execution_timeout() {
    let app = TestApp::spawn().await;
    let machine = create_machine(&app, "t", r#"{"StartAt": "W", "TimeoutSeconds": 1, "States": {"W": {"Type": "Wait", "Seconds": 60, "End": true}}}"#).await;
    let arn = app
        .client
        .start_execution()
        .state_machine_arn(&machine)
        .send()
        .await
        .unwrap()
        .execution_arn()
        .to_owned();
    let done = wait_until_done(&app.client, &arn, Duration::from_secs(10)).await;
    assert_eq!(done.status(), &ExecutionStatus::TimedOut);
    assert_eq!(
        history_types(&app.client, &arn).await.last(),
        Some(&HistoryEventType::ExecutionTimedOut)
    );
    app.stop().await;
}

#[tokio::test]
async fn deleting_a_machine_lets_running_executions_finish() {
    let app = TestApp::spawn().await;
    let machine = create_machine(
        &app,
        "d",
        r#"{"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1, "End": true}}}"#,
    )
    .await;
    let arn = app
        .client
        .start_execution()
        .state_machine_arn(&machine)
        .send()
        .await
        .unwrap()
        .execution_arn()
        .to_owned();
    app.client
        .delete_state_machine()
        .state_machine_arn(&machine)
        .send()
        .await
        .unwrap();
    let described = app
        .client
        .describe_state_machine()
        .state_machine_arn(&machine)
        .send()
        .await
        .unwrap();
    assert_eq!(
        described.status(),
        Some(&aws_sdk_sfn::types::StateMachineStatus::Deleting)
    );
    let (code, _) = error_code(
        app.client
            .start_execution()
            .state_machine_arn(&machine)
            .send()
            .await,
    );
    assert_eq!(code, "StateMachineDeleting");
    let done = wait_until_done(&app.client, &arn, Duration::from_secs(10)).await;
    assert_eq!(done.status(), &ExecutionStatus::Succeeded);
    let (code, _) = error_code(
        app.client
            .describe_state_machine()
            .state_machine_arn(&machine)
            .send()
            .await,
    );
    assert_eq!(code, "StateMachineDoesNotExist");
    app.stop().await;
}

/// DescribeStateMachineForExecution: "the definition the execution started with, even after
/// the machine changed" (docs/compatibility.md): here deleted while the execution runs, then
/// created again under the same name (and ARN) with another definition and role (an update
/// is `versions::updates_and_versions`).
#[tokio::test]
async fn describe_state_machine_for_execution_keeps_what_the_execution_started_with() {
    let app = TestApp::spawn().await;
    let first = r#"{"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1, "End": true}}}"#;
    let machine = create_machine(&app, "changing", first).await;
    let old = app
        .client
        .start_execution()
        .state_machine_arn(&machine)
        .send()
        .await
        .unwrap()
        .execution_arn()
        .to_owned();
    app.client
        .delete_state_machine()
        .state_machine_arn(&machine)
        .send()
        .await
        .unwrap();
    let done = wait_until_done(&app.client, &old, Duration::from_secs(10)).await;
    assert_eq!(done.status(), &ExecutionStatus::Succeeded);
    // The machine goes with its last execution; then the name is free for another one.
    let deadline = Instant::now() + Duration::from_secs(10);
    while app
        .client
        .describe_state_machine()
        .state_machine_arn(&machine)
        .send()
        .await
        .is_ok()
    {
        assert!(Instant::now() < deadline, "{machine} was not deleted");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let second = PASS_CHAIN;
    let other_role = "arn:aws:iam::123456789012:role/other";
    let recreated = app
        .client
        .create_state_machine()
        .name("changing")
        .definition(second)
        .role_arn(other_role)
        .send()
        .await
        .unwrap();
    assert_eq!(recreated.state_machine_arn(), machine);

    let for_old = app
        .client
        .describe_state_machine_for_execution()
        .execution_arn(&old)
        .send()
        .await
        .unwrap();
    assert_eq!(for_old.state_machine_arn(), machine);
    assert_eq!(for_old.name(), "changing");
    assert_eq!(for_old.definition(), first);
    assert_eq!(for_old.role_arn(), ROLE);

    let new = app
        .client
        .start_execution()
        .state_machine_arn(&machine)
        .input(r#"{"x": 1}"#)
        .send()
        .await
        .unwrap()
        .execution_arn()
        .to_owned();
    let for_new = app
        .client
        .describe_state_machine_for_execution()
        .execution_arn(&new)
        .send()
        .await
        .unwrap();
    assert_eq!(for_new.definition(), second);
    assert_eq!(for_new.role_arn(), other_role);
    app.stop().await;
}

#[tokio::test]
async fn a_poisoned_execution_fails_alone() {
    let app = TestApp::spawn().await;
    let machine = create_machine(
        &app,
        "p",
        r#"{"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1, "End": true}}}"#,
    )
    .await;
    let bad = app
        .client
        .start_execution()
        .state_machine_arn(&machine)
        .name("bad")
        .send()
        .await
        .unwrap()
        .execution_arn()
        .to_owned();
    let good = app
        .client
        .start_execution()
        .state_machine_arn(&machine)
        .name("good")
        .send()
        .await
        .unwrap()
        .execution_arn()
        .to_owned();
    wait_until_entered(&app.client, &bad).await;
    // Corrupt one execution's snapshot, as a bug would.
    let pool = sqlx::PgPool::connect(&app.database_url).await.unwrap();
    sqlx::query("UPDATE executions SET snapshot = 'garbage' WHERE arn = $1")
        .bind(&bad)
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let failed = wait_until_done(&app.client, &bad, Duration::from_secs(10)).await;
    assert_eq!(failed.status(), &ExecutionStatus::Failed);
    assert_eq!(failed.error(), Some("States.Runtime"));
    let fine = wait_until_done(&app.client, &good, Duration::from_secs(10)).await;
    assert_eq!(fine.status(), &ExecutionStatus::Succeeded);
    app.stop().await;
}

#[tokio::test]
async fn several_nodes_share_the_work_without_doing_it_twice() {
    let first = TestApp::spawn().await;
    let second = TestApp::spawn_on(&first.database_url).await;
    let machine = create_machine(&first, "shared", r#"{"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1, "Next": "P"}, "P": {"Type": "Pass", "End": true}}}"#).await;
    let mut arns = Vec::new();
    for i in 0..60 {
        let client = if i % 2 == 0 {
            &first.client
        } else {
            &second.client
        };
        let started = client
            .start_execution()
            .state_machine_arn(&machine)
            .input(format!(r#"{{"i": {i}}}"#))
            .send()
            .await
            .unwrap();
        arns.push(started.execution_arn().to_owned());
    }
    for (i, arn) in arns.iter().enumerate() {
        let done = wait_until_done(&second.client, arn, Duration::from_secs(20)).await;
        assert_eq!(done.status(), &ExecutionStatus::Succeeded);
        assert_eq!(done.output(), Some(format!(r#"{{"i":{i}}}"#).as_str()));
        let history = first
            .client
            .get_execution_history()
            .execution_arn(arn)
            .send()
            .await
            .unwrap();
        let ids: Vec<i64> = history.events().iter().map(|e| e.id()).collect();
        assert_eq!(
            ids,
            [1, 2, 3, 4, 5, 6],
            "{arn}: no event duplicated or missing"
        );
        let types: Vec<&HistoryEventType> = history.events().iter().map(|e| e.r#type()).collect();
        assert_eq!(
            types,
            [
                &HistoryEventType::ExecutionStarted,
                &HistoryEventType::WaitStateEntered,
                &HistoryEventType::WaitStateExited,
                &HistoryEventType::PassStateEntered,
                &HistoryEventType::PassStateExited,
                &HistoryEventType::ExecutionSucceeded,
            ],
            "{arn}"
        );
    }
    second.stop().await;
    first.stop().await;
}

/// StopExecution "records the stop and waits until a scheduler applied it ... Stopping an ended
/// execution changes nothing and answers its stop date" (docs/compatibility.md), raced with the
/// scheduler ending the same executions, and "history is append-only; event ids are 1..n"
/// (docs/ARCHITECTURE.md invariant 3): every execution ends once, by the stop or by its own
/// success, and both outcomes are seen.
#[tokio::test]
async fn stop_races_the_scheduler() {
    /// Executions per round, started `SPACING` apart: their one-second timers fall due across
    /// a second, and all their stops are sent at once, `STOP_AFTER[round]` after the first
    /// start, so some end before their stop and some are aborted by it.
    const EXECUTIONS: usize = 20;
    const SPACING: Duration = Duration::from_millis(50);
    const STOP_AFTER: [u64; 5] = [1500, 1300, 1700, 1100, 1900];
    let app = TestApp::spawn().await;
    let machine = create_machine(
        &app,
        "race",
        r#"{"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1, "Next": "P"}, "P": {"Type": "Pass", "End": true}}}"#,
    )
    .await;
    let (mut aborted, mut succeeded) = (Vec::new(), Vec::new());
    for (round, stop_after) in STOP_AFTER.iter().enumerate() {
        let began = Instant::now();
        let mut arns = Vec::new();
        for i in 0..EXECUTIONS {
            let started = app
                .client
                .start_execution()
                .state_machine_arn(&machine)
                .name(format!("r{round}-{i}"))
                .send()
                .await
                .unwrap();
            arns.push(started.execution_arn().to_owned());
            tokio::time::sleep(SPACING).await;
        }
        tokio::time::sleep(Duration::from_millis(*stop_after).saturating_sub(began.elapsed()))
            .await;
        let stops: Vec<_> = arns
            .iter()
            .map(|arn| {
                let (client, arn) = (app.client.clone(), arn.clone());
                tokio::spawn(async move {
                    client
                        .stop_execution()
                        .execution_arn(arn)
                        .error("Halt")
                        .send()
                        .await
                })
            })
            .collect();
        for (arn, stop) in arns.iter().zip(stops) {
            let stopped = stop.await.unwrap().unwrap();
            let done = wait_until_done(&app.client, arn, Duration::from_secs(10)).await;
            // The stop answers the execution's own stop date, whichever way it ended.
            assert_eq!(Some(stopped.stop_date()), done.stop_date(), "{arn}");
            let history = app
                .client
                .get_execution_history()
                .execution_arn(arn)
                .send()
                .await
                .unwrap();
            let events = history.events();
            let ids: Vec<i64> = events.iter().map(|e| e.id()).collect();
            assert_eq!(ids, (1..=ids.len() as i64).collect::<Vec<_>>(), "{arn}");
            // Exactly one ending, the last event, and it matches the status.
            let endings = events
                .iter()
                .filter(|e| {
                    matches!(
                        e.r#type(),
                        HistoryEventType::ExecutionAborted
                            | HistoryEventType::ExecutionSucceeded
                            | HistoryEventType::ExecutionFailed
                    )
                })
                .count();
            assert_eq!(endings, 1, "{arn}");
            let last = events.last().unwrap().r#type();
            match done.status() {
                ExecutionStatus::Aborted => {
                    assert_eq!(last, &HistoryEventType::ExecutionAborted, "{arn}");
                    assert_eq!(done.error(), Some("Halt"), "{arn}");
                    aborted.push(arn.clone());
                }
                ExecutionStatus::Succeeded => {
                    assert_eq!(last, &HistoryEventType::ExecutionSucceeded, "{arn}");
                    assert_eq!(done.output(), Some("{}"), "{arn}");
                    succeeded.push(arn.clone());
                }
                other => panic!("{arn} ended {other:?}"),
            }
        }
        if !aborted.is_empty() && !succeeded.is_empty() {
            break;
        }
    }
    assert!(
        !aborted.is_empty() && !succeeded.is_empty(),
        "both outcomes happen: {} aborted, {} succeeded",
        aborted.len(),
        succeeded.len()
    );
    // Stopping an execution that already ended, either way, changes nothing and answers its
    // stop date.
    for arn in [&aborted[0], &succeeded[0]] {
        let before = app
            .client
            .describe_execution()
            .execution_arn(arn)
            .send()
            .await
            .unwrap();
        let events_before = history_types(&app.client, arn).await;
        let stopped = app
            .client
            .stop_execution()
            .execution_arn(arn)
            .error("Again")
            .send()
            .await
            .unwrap();
        assert_eq!(Some(stopped.stop_date()), before.stop_date(), "{arn}");
        let after = app
            .client
            .describe_execution()
            .execution_arn(arn)
            .send()
            .await
            .unwrap();
        assert_eq!(after.status(), before.status(), "{arn}");
        assert_eq!(after.error(), before.error(), "{arn}");
        assert_eq!(
            history_types(&app.client, arn).await,
            events_before,
            "{arn}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn concurrent_starts_are_recorded_together_and_keep_their_rules() {
    let app = TestApp::spawn().await;
    let machine = create_machine(
        &app,
        "burst",
        r#"{"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 30, "End": true}}}"#,
    )
    .await;
    let missing = "arn:aws:states:us-east-1:123456789012:stateMachine:missing".to_owned();
    let mut calls = Vec::new();
    for i in 0..60 {
        let client = app.client.clone();
        let (target, name) = match i % 3 {
            0 => (machine.clone(), "same".to_owned()),
            1 => (machine.clone(), format!("unique-{i}")),
            _ => (missing.clone(), format!("nowhere-{i}")),
        };
        calls.push(tokio::spawn(async move {
            let result = client
                .start_execution()
                .state_machine_arn(target)
                .name(name)
                .input("{}")
                .send()
                .await;
            (i, result.map(|o| o.execution_arn().to_owned()))
        }));
    }
    let mut same = std::collections::HashSet::new();
    let mut unique = std::collections::HashSet::new();
    for call in calls {
        let (i, result) = call.await.unwrap();
        match i % 3 {
            0 => {
                same.insert(result.unwrap());
            }
            1 => {
                unique.insert(result.unwrap());
            }
            _ => assert_eq!(error_code(result).0, "StateMachineDoesNotExist"),
        }
    }
    assert_eq!(same.len(), 1, "the same name and input is one execution");
    assert_eq!(unique.len(), 20);
    let listed = app
        .client
        .list_executions()
        .state_machine_arn(&machine)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.executions().len(), 21);
    app.stop().await;
}
