//! Retention: executions that ended longer ago than `retention.days` are deleted with their
//! history, tasks and signals; recent and running ones are kept.
//!
//! Executions are ended by the real engine, then their stop dates moved back with SQL (test
//! setup: nothing else can make an execution 100 days old in a test).

use std::time::{Duration, Instant};

use aws_sdk_sfn::types::ExecutionStatus;
use switchback_store::retention::{self, Batch};
use switchback_tests::TestApp;

use crate::error_code;
use crate::executions::{create_machine, wait_until_done};

const NINETY_DAYS: Duration = Duration::from_secs(90 * 86_400);
const PASS: &str = r#"{"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}"#;
const WAIT: &str =
    r#"{"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 600, "End": true}}}"#;

async fn start(app: &TestApp, machine: &str, name: &str) -> String {
    app.client
        .start_execution()
        .state_machine_arn(machine)
        .name(name)
        .send()
        .await
        .expect("start execution")
        .execution_arn()
        .to_owned()
}

/// Runs `arn` to its end and moves its start and stop `days` back.
async fn ended_days_ago(app: &TestApp, pool: &sqlx::PgPool, arn: &str, days: i32) {
    let done = wait_until_done(&app.client, arn, Duration::from_secs(10)).await;
    assert_eq!(done.status(), &ExecutionStatus::Succeeded);
    age(pool, arn, days).await;
}

async fn age(pool: &sqlx::PgPool, arn: &str, days: i32) {
    sqlx::query(
        "UPDATE executions SET started_at = started_at - make_interval(days => $2),
             stopped_at = stopped_at - make_interval(days => $2)
         WHERE arn = $1",
    )
    .bind(arn)
    .bind(days)
    .execute(pool)
    .await
    .expect("age execution");
}

async fn seq(pool: &sqlx::PgPool, arn: &str) -> i64 {
    sqlx::query_scalar("SELECT seq FROM executions WHERE arn = $1")
        .bind(arn)
        .fetch_one(pool)
        .await
        .expect("execution row")
}

/// Rows of `table` that belong to the execution `seq`.
async fn rows_of(pool: &sqlx::PgPool, table: &str, seq: i64) -> i64 {
    let sql = match table {
        "history_events" => "SELECT count(*) FROM history_events WHERE execution_seq = $1",
        "tasks" => "SELECT count(*) FROM tasks WHERE execution_seq = $1",
        "signals" => "SELECT count(*) FROM signals WHERE execution_seq = $1",
        other => panic!("no table {other}"),
    };
    sqlx::query_scalar(sql)
        .bind(seq)
        .fetch_one(pool)
        .await
        .expect("count rows")
}

async fn describe_code(app: &TestApp, arn: &str) -> String {
    error_code(
        app.client
            .describe_execution()
            .execution_arn(arn)
            .send()
            .await,
    )
    .0
}

#[tokio::test]
async fn a_sweep_deletes_long_ended_executions_with_everything_they_own() {
    let app = TestApp::spawn().await;
    let pool = sqlx::PgPool::connect(&app.database_url).await.unwrap();

    // The old execution leaves rows in every table keyed by execution: history, a task, and
    // (as a result arriving after the end would) a signal.
    let activity = app
        .client
        .create_activity()
        .name("work")
        .send()
        .await
        .unwrap()
        .activity_arn()
        .to_owned();
    let task_machine = create_machine(
        &app,
        "task",
        &format!(r#"{{"StartAt": "T", "States": {{"T": {{"Type": "Task", "Resource": "{activity}", "End": true}}}}}}"#),
    )
    .await;
    let old = start(&app, &task_machine, "old").await;
    let task = app
        .client
        .get_activity_task()
        .activity_arn(&activity)
        .send()
        .await
        .unwrap();
    app.client
        .send_task_success()
        .task_token(task.task_token().expect("a task"))
        .output("{}")
        .send()
        .await
        .unwrap();
    ended_days_ago(&app, &pool, &old, 100).await;
    let old_seq = seq(&pool, &old).await;
    sqlx::query("INSERT INTO signals (execution_seq, body) VALUES ($1, $2)")
        .bind(old_seq)
        .bind(sqlx::types::Json(serde_json::json!({ "type": "late" })))
        .execute(&pool)
        .await
        .unwrap();
    assert!(rows_of(&pool, "history_events", old_seq).await > 0);
    assert_eq!(rows_of(&pool, "tasks", old_seq).await, 1);
    assert_eq!(rows_of(&pool, "signals", old_seq).await, 1);

    // An execution of a machine deleted since: still describable until retention takes it.
    let gone_machine = create_machine(&app, "gone", PASS).await;
    let orphan = start(&app, &gone_machine, "orphan").await;
    ended_days_ago(&app, &pool, &orphan, 95).await;
    app.client
        .delete_state_machine()
        .state_machine_arn(&gone_machine)
        .send()
        .await
        .unwrap();
    let orphan_seq = seq(&pool, &orphan).await;
    app.client
        .describe_execution()
        .execution_arn(&orphan)
        .send()
        .await
        .expect("an execution of a deleted machine is describable");

    // Kept: one that ended 89 days ago, and one running for 100 days.
    let pass_machine = create_machine(&app, "pass", PASS).await;
    let recent = start(&app, &pass_machine, "recent").await;
    ended_days_ago(&app, &pool, &recent, 89).await;
    let wait_machine = create_machine(&app, "wait", WAIT).await;
    let running = start(&app, &wait_machine, "running").await;
    age(&pool, &running, 100).await;

    // A batch stops once its histories reach its event budget, but always takes one execution.
    let one_event = Batch {
        events: 1,
        pause: Duration::ZERO,
        ..Batch::default()
    };
    assert_eq!(
        retention::delete_batch(&pool, NINETY_DAYS, &one_event)
            .await
            .unwrap(),
        1
    );
    let batch = Batch {
        executions: 1,
        pause: Duration::ZERO,
        ..Batch::default()
    };
    assert_eq!(
        retention::sweep(&pool, NINETY_DAYS, &batch).await.unwrap(),
        1
    );
    assert_eq!(
        retention::sweep(&pool, NINETY_DAYS, &batch).await.unwrap(),
        0
    );

    for arn in [&old, &orphan] {
        assert_eq!(describe_code(&app, arn).await, "ExecutionDoesNotExist");
        let (code, _) = error_code(
            app.client
                .get_execution_history()
                .execution_arn(arn.as_str())
                .send()
                .await,
        );
        assert_eq!(code, "ExecutionDoesNotExist");
    }
    for seq in [old_seq, orphan_seq] {
        for table in ["history_events", "tasks", "signals"] {
            assert_eq!(rows_of(&pool, table, seq).await, 0, "{table} of {seq}");
        }
    }
    let kept = wait_until_done(&app.client, &recent, Duration::from_secs(1)).await;
    assert_eq!(kept.status(), &ExecutionStatus::Succeeded);
    let history = app
        .client
        .get_execution_history()
        .execution_arn(&recent)
        .send()
        .await
        .unwrap();
    assert!(!history.events().is_empty());
    let still = app
        .client
        .describe_execution()
        .execution_arn(&running)
        .send()
        .await
        .unwrap();
    assert_eq!(still.status(), &ExecutionStatus::Running);
    // The machines stay: retention removes executions, not resources.
    app.client
        .describe_state_machine()
        .state_machine_arn(&task_machine)
        .send()
        .await
        .unwrap();

    pool.close().await;
    app.stop().await;
}

#[tokio::test]
async fn schedulers_sweep_by_themselves_unless_retention_is_zero() {
    let app = TestApp::spawn().await;
    let database = app.database_url.clone();
    let pool = sqlx::PgPool::connect(&database).await.unwrap();
    let machine = create_machine(&app, "pass", PASS).await;
    let old = start(&app, &machine, "old").await;
    ended_days_ago(&app, &pool, &old, 91).await;
    app.stop().await;

    // 0 keeps ended executions forever: no sweep runs.
    let keeping = TestApp::spawn_with(&database, |s| s.retention.days = 0).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    keeping
        .client
        .describe_execution()
        .execution_arn(&old)
        .send()
        .await
        .expect("kept with retention.days = 0");
    keeping.stop().await;

    // A scheduler sweeps when it starts, then every few minutes.
    let sweeping = TestApp::spawn_on(&database).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while describe_code_or_ok(&sweeping, &old).await != "ExecutionDoesNotExist" {
        assert!(Instant::now() < deadline, "{old} was not swept");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    pool.close().await;
    sweeping.stop().await;
}

/// The error code of DescribeExecution, or "ok".
async fn describe_code_or_ok(app: &TestApp, arn: &str) -> String {
    match app
        .client
        .describe_execution()
        .execution_arn(arn)
        .send()
        .await
    {
        Ok(_) => "ok".to_owned(),
        Err(error) => {
            use aws_sdk_sfn::error::ProvideErrorMetadata;
            error.code().unwrap_or("<none>").to_owned()
        }
    }
}
