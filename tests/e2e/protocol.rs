//! The AWS JSON 1.0 envelope, with requests no SDK would send.

use switchback_tests::TestApp;
use switchback_tests::raw::{get, post};

#[tokio::test]
async fn unknown_and_missing_targets() {
    let app = TestApp::spawn().await;
    let response = post(app.address, Some("AWSStepFunctions.FlyToTheMoon"), b"{}").await;
    assert_eq!(response.status, 400);
    assert_eq!(response.json()["__type"], "UnknownOperationException");
    let response = post(app.address, None, b"{}").await;
    assert_eq!(response.status, 400);
    assert_eq!(response.json()["__type"], "UnknownOperationException");
    // Every operation of the model is served: the last ones added answer as operations.
    let response = post(app.address, Some("AWSStepFunctions.DescribeMapRun"), b"{}").await;
    assert_eq!(response.json()["__type"], "ValidationException");
    app.stop().await;
}

#[tokio::test]
async fn malformed_bodies() {
    let app = TestApp::spawn().await;
    let target = Some("AWSStepFunctions.CreateActivity");
    let response = post(app.address, target, b"{\"name\": ").await;
    assert_eq!(response.status, 400);
    assert_eq!(response.json()["__type"], "SerializationException");
    let response = post(app.address, target, b"[1, 2]").await;
    assert_eq!(response.json()["__type"], "SerializationException");
    // A member of the wrong type.
    let response = post(app.address, target, br#"{"name": 42}"#).await;
    assert_eq!(response.json()["__type"], "SerializationException");
    // A missing required member.
    let response = post(app.address, target, b"").await;
    assert_eq!(response.status, 400);
    let body = response.json();
    assert_eq!(body["__type"], "ValidationException");
    assert_eq!(
        body["message"],
        "1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null"
    );
    app.stop().await;
}

#[tokio::test]
async fn request_bodies_are_capped() {
    let app = TestApp::spawn().await;
    let huge = format!(r#"{{"name": "{}"}}"#, "x".repeat(5 * 1024 * 1024));
    let response = post(
        app.address,
        Some("AWSStepFunctions.CreateActivity"),
        huge.as_bytes(),
    )
    .await;
    assert_eq!(response.status, 413);
    assert_eq!(response.json()["__type"], "RequestEntityTooLargeException");
    app.stop().await;
}

#[tokio::test]
async fn any_host_and_timestamps_in_epoch_seconds() {
    let app = TestApp::spawn().await;
    // raw::post sends Host: sync-localhost, as SDKs do for StartSyncExecution and TestState.
    let response = post(
        app.address,
        Some("AWSStepFunctions.CreateActivity"),
        br#"{"name": "t"}"#,
    )
    .await;
    assert_eq!(response.status, 200);
    let body = response.json();
    let date = body["creationDate"].as_f64().expect("epoch seconds");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!((now - date).abs() < 60.0, "{date} vs {now}");
    // Whole milliseconds: at most three decimals.
    let text = body["creationDate"].to_string();
    assert!(
        text.split('.').nth(1).is_none_or(|d| d.len() <= 3),
        "{text}"
    );
    app.stop().await;
}

#[tokio::test]
async fn health_and_readiness() {
    // An API node alone: a scheduler checks the schema when its task first runs, and one that
    // ran only while the table below is broken would stop the whole process.
    let url = switchback_tests::pg::fresh_database().await;
    let app = TestApp::spawn_as(&url, switchback::app::Role::Api, |_| {}).await;
    assert_eq!(get(app.address, "/healthz").await.status, 200);
    let ready = get(app.address, "/readyz").await;
    assert_eq!(ready.status, 200, "{}", ready.body);
    // A database that fails the check: the probe says no, and the database's words (which may
    // name tables, hosts or users) stay in the log.
    let pool = sqlx::PgPool::connect(&app.database_url).await.unwrap();
    sqlx::raw_sql("ALTER TABLE refinery_schema_history RENAME COLUMN version TO broken")
        .execute(&pool)
        .await
        .unwrap();
    let not_ready = get(app.address, "/readyz").await;
    assert_eq!(not_ready.status, 503);
    assert_eq!(not_ready.body, "not ready");
    sqlx::raw_sql("ALTER TABLE refinery_schema_history RENAME COLUMN broken TO version")
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(get(app.address, "/readyz").await.status, 200);
    pool.close().await;
    app.stop().await;
}

/// One series' value in a Prometheus text page; 0 when the series is absent (nothing counted
/// yet).
pub fn series(page: &str, name: &str) -> f64 {
    page.lines()
        .find_map(|line| line.strip_prefix(name)?.trim().parse::<f64>().ok())
        .unwrap_or(0.0)
}

/// `/metrics` counts the work a node did: requests by operation and outcome, executions started
/// and finished, state transitions. Run in a `switchback serve` process of its own, so that its
/// recorder counts nothing but this test's work, and compared before and after: each counter
/// moves by exactly what was done.
#[tokio::test]
async fn metrics_move_with_the_work() {
    use std::time::{Duration, Instant};
    const STARTS: usize = 5;
    const STARTED_OK: &str =
        "switchback_api_requests_total{operation=\"StartExecution\",outcome=\"ok\"}";
    const STARTED_MISSING: &str = "switchback_api_requests_total{operation=\"StartExecution\",outcome=\"StateMachineDoesNotExist\"}";
    const EXECUTIONS_STARTED: &str = "switchback_executions_started_total";
    const SUCCEEDED: &str = "switchback_executions_finished_total{status=\"SUCCEEDED\"}";
    const TRANSITIONS: &str = "switchback_state_transitions_total";
    let url = switchback_tests::pg::fresh_database().await;
    let node = switchback_tests::processes::Node::start("serve", &url);
    node.wait_ready().await;
    let address = node.address.expect("the node's address");
    let client = switchback_tests::app::client(address, "us-east-1");
    let machine = client
        .create_state_machine()
        .name("counted")
        .definition(r#"{"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}"#)
        .role_arn("arn:aws:iam::123456789012:role/r")
        .send()
        .await
        .unwrap()
        .state_machine_arn()
        .to_owned();
    let run = |n: usize| {
        let (client, machine) = (client.clone(), machine.clone());
        async move {
            let mut arns = Vec::new();
            for _ in 0..n {
                let started = client
                    .start_execution()
                    .state_machine_arn(&machine)
                    .send()
                    .await
                    .unwrap();
                arns.push(started.execution_arn().to_owned());
            }
            for arn in &arns {
                let done =
                    crate::executions::wait_until_done(&client, arn, Duration::from_secs(10)).await;
                assert_eq!(
                    done.status(),
                    &aws_sdk_sfn::types::ExecutionStatus::Succeeded
                );
            }
        }
    };
    // Counters after the scheduler counted every step it committed: a step is visible to
    // DescribeExecution at its commit, and counted just after.
    let settled = |started: f64| async move {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let page = get(address, "/metrics").await;
            assert_eq!(page.status, 200);
            if series(&page.body, SUCCEEDED) >= started
                && series(&page.body, EXECUTIONS_STARTED) >= started
            {
                return page.body;
            }
            assert!(
                Instant::now() < deadline,
                "counters never settled: {}",
                page.body
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    // One execution first, so that "before" is a page where every series already counts.
    run(1).await;
    let before = settled(1.0).await;
    for name in [STARTED_OK, EXECUTIONS_STARTED, SUCCEEDED, TRANSITIONS] {
        assert!(series(&before, name) >= 1.0, "{name} counts the first run");
    }
    run(STARTS).await;
    let (code, _) = crate::error_code(
        client
            .start_execution()
            .state_machine_arn("arn:aws:states:us-east-1:123456789012:stateMachine:missing")
            .send()
            .await,
    );
    assert_eq!(code, "StateMachineDoesNotExist");
    let after = settled(1.0 + STARTS as f64).await;
    let moved = |name: &str| series(&after, name) - series(&before, name);
    let n = STARTS as f64;
    assert_eq!(moved(STARTED_OK), n, "{STARTED_OK}");
    assert_eq!(moved(STARTED_MISSING), 1.0, "{STARTED_MISSING}");
    assert_eq!(moved(EXECUTIONS_STARTED), n, "{EXECUTIONS_STARTED}");
    assert_eq!(moved(SUCCEEDED), n, "{SUCCEEDED}");
    // One state entered per execution.
    assert_eq!(moved(TRANSITIONS), n, "{TRANSITIONS}");
    assert!(
        moved("switchback_scheduler_batch_size_count") >= 1.0,
        "batches were counted"
    );
    for gauge in [
        "switchback_due_executions",
        "switchback_database_pool_connections",
    ] {
        assert!(after.contains(gauge), "no {gauge} in {after}");
    }
}

#[tokio::test]
async fn scheduler_nodes_serve_only_probes_and_metrics() {
    let url = switchback_tests::pg::fresh_database().await;
    let mut settings = switchback::settings::Settings::defaults().unwrap();
    settings.scheduler.listen = Some("127.0.0.1:0".to_owned());
    let app =
        switchback::app::Application::build(&settings, &url, switchback::app::Role::Scheduler)
            .await
            .unwrap();
    let address = app.api_address().expect("the scheduler's probe address");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(app.run_until_stopped(async {
        let _ = stopped.await;
    }));
    assert_eq!(get(address, "/healthz").await.status, 200);
    assert_eq!(get(address, "/readyz").await.status, 200);
    assert_eq!(get(address, "/metrics").await.status, 200);
    let api = post(address, Some("AWSStepFunctions.ListActivities"), b"{}").await;
    assert_ne!(
        api.status, 200,
        "a scheduler node does not serve the AWS API"
    );
    let _ = stop.send(());
    running.await.unwrap().unwrap();
}

/// The status, `__type` and message of a failed SDK call.
fn failed<T: std::fmt::Debug, E>(
    result: Result<T, aws_sdk_sfn::error::SdkError<E>>,
) -> (u16, String, String)
where
    E: aws_sdk_sfn::error::ProvideErrorMetadata + std::fmt::Debug,
{
    use aws_sdk_sfn::error::ProvideErrorMetadata;
    let error = result.expect_err("the call failed");
    let status = error.raw_response().map_or(0, |r| r.status().as_u16());
    (
        status,
        error.code().unwrap_or_default().to_owned(),
        error.message().unwrap_or_default().to_owned(),
    )
}

/// `InternalFailure (500)`: "the database failed; the cause is logged, not sent"
/// (docs/compatibility.md's errors table). A real API process whose database refuses a write
/// (a trigger raising an error) and then a read (the table gone from under it) answers the SDK
/// with HTTP 500 `InternalFailure` and a generic message holding none of the database's words,
/// logs those words, and serves again once the database does.
#[tokio::test]
async fn a_failing_database_is_a_500_internal_failure_logged_not_sent() {
    use std::time::{Duration, Instant};
    use switchback_tests::processes::Node;

    const GENERIC: &str = "An internal error occurred.";
    let url = switchback_tests::pg::fresh_database().await;
    let log = std::env::temp_dir().join(format!(
        "switchback-internal-failure-{}.log",
        uuid::Uuid::now_v7()
    ));
    let node = Node::start_logging(
        "api",
        &url,
        &[
            ("SWITCHBACK__LOG__FORMAT", "json"),
            ("SWITCHBACK__LOG__FILTER", "error"),
        ],
        Some(log.clone()),
    );
    node.wait_ready().await;
    let client = switchback_tests::app::client(node.address.expect("api address"), "us-east-1");
    let kept = client
        .create_activity()
        .name("kept")
        .send()
        .await
        .expect("create activity");

    let pool = sqlx::PgPool::connect(&url).await.expect("connect");
    // The test's own SQL. The words are the database's, as a failing disk's would be.
    sqlx::raw_sql(
        "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN RAISE EXCEPTION 'disk platter 7 is on fire'; END $$;
         CREATE TRIGGER refuse BEFORE INSERT ON activities
         FOR EACH ROW EXECUTE FUNCTION refuse();",
    )
    .execute(&pool)
    .await
    .expect("install the fault");
    let (status, code, message) = failed(client.create_activity().name("refused").send().await);
    assert_eq!((status, code.as_str()), (500, "InternalFailure"));
    assert_eq!(message, GENERIC);

    sqlx::raw_sql("ALTER TABLE activities RENAME TO activities_elsewhere")
        .execute(&pool)
        .await
        .expect("move the table away");
    let (status, code, message) = failed(
        client
            .describe_activity()
            .activity_arn(kept.activity_arn())
            .send()
            .await,
    );
    assert_eq!((status, code.as_str()), (500, "InternalFailure"));
    assert_eq!(message, GENERIC);
    let (status, code, message) = failed(client.list_activities().send().await);
    assert_eq!((status, code.as_str()), (500, "InternalFailure"));
    assert_eq!(message, GENERIC);

    // The causes are in the log, with the database's own words.
    let deadline = Instant::now() + Duration::from_secs(10);
    let logged = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.contains("disk platter 7 is on fire")
            && text
                .matches("relation \\\"activities\\\" does not exist")
                .count()
                >= 2
        {
            break text;
        }
        assert!(
            Instant::now() < deadline,
            "the causes were not logged: {text}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let failures = logged
        .lines()
        .filter(|l| l.contains("request failed"))
        .count();
    assert_eq!(failures, 3, "{logged}");

    // The database serves again; so does the node, without a restart.
    sqlx::raw_sql(
        "ALTER TABLE activities_elsewhere RENAME TO activities;
         DROP TRIGGER refuse ON activities;",
    )
    .execute(&pool)
    .await
    .expect("remove the faults");
    client
        .create_activity()
        .name("after")
        .send()
        .await
        .expect("create after the fault");
    assert_eq!(
        client
            .list_activities()
            .send()
            .await
            .expect("list after the fault")
            .activities()
            .len(),
        2
    );
    pool.close().await;
    let _ = std::fs::remove_file(&log);
}
