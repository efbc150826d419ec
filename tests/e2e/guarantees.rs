//! The engine's promises, each proven by a test that fails when the promise is broken: a
//! Parallel's failure closing its other branches' tasks, faults injected into a scheduler's
//! transaction, and one call's result recorded by two racing recorders.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use aws_sdk_sfn::types::{ExecutionStatus, HistoryEvent, HistoryEventType as Event};
use serde_json::{Value, json};
use switchback_store::signals::Event as Signal;
use switchback_tests::TestApp;
use switchback_tests::processes::{Node, free_address};
use switchback_tests::services;

use crate::error_code;
use crate::executions::{create_machine, history, wait_for, wait_until_done, wait_until_entered};
use crate::protocol::series;

fn types(events: &[HistoryEvent]) -> Vec<Event> {
    events.iter().map(|e| e.r#type().clone()).collect()
}

/// Ids 1..n, in order, none twice or missing.
fn assert_contiguous(events: &[HistoryEvent], arn: &str) {
    let ids: Vec<i64> = events.iter().map(HistoryEvent::id).collect();
    let expected: Vec<i64> = (1..=events.len() as i64).collect();
    assert_eq!(ids, expected, "{arn}: event ids are 1..n");
}

// ---------------------------------------------------------------------------------------------
// A Parallel branch fails while another waits on an activity task.

async fn poll(client: &aws_sdk_sfn::Client, activity_arn: &str) -> Option<String> {
    client
        .get_activity_task()
        .activity_arn(activity_arn)
        .worker_name("worker")
        .send()
        .await
        .expect("get activity task")
        .task_token()
        .map(str::to_owned)
}

/// Polls until the activity hands out a task (polls here last a second).
async fn take(client: &aws_sdk_sfn::Client, activity_arn: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(token) = poll(client, activity_arn).await {
            return token;
        }
        assert!(Instant::now() < deadline, "no task for {activity_arn}");
    }
}

/// Three branches wait on activity tasks: `held` (a worker took it), `unpolled` (no worker took
/// it) and `breaks`, whose worker reports a failure. The Parallel fails with that failure,
/// caught by a Catch or not, and the two other tasks are closed with it.
async fn parallel_fails_while_a_branch_waits(caught: bool) {
    let url = switchback_tests::pg::fresh_database().await;
    // One-second polls: a poll that finds nothing answers quickly.
    let app = TestApp::spawn_with(&url, |s| s.api.activity_poll_seconds = 1).await;
    let mut activities = Vec::new();
    for name in ["held", "unpolled", "breaks"] {
        let created = app
            .client
            .create_activity()
            .name(name)
            .send()
            .await
            .expect("create activity");
        activities.push(created.activity_arn().to_owned());
    }
    let [held, unpolled, breaks] = &activities[..] else {
        unreachable!("three activities")
    };
    let branch = |state: &str, activity: &str| json!({"StartAt": state, "States": {state: {"Type": "Task", "Resource": activity, "End": true}}});
    let mut parallel = json!({"Type": "Parallel", "End": true, "Branches": [
        branch("Held", held), branch("Unpolled", unpolled), branch("Breaks", breaks)]});
    let mut states = json!({});
    if caught {
        parallel["Catch"] = json!([{"ErrorEquals": ["States.ALL"], "Next": "Caught"}]);
        states["Caught"] = json!({"Type": "Pass", "End": true});
    }
    states["Fan"] = parallel;
    let definition = json!({"StartAt": "Fan", "States": states}).to_string();
    let machine = create_machine(&app, "fan", &definition).await;
    let arn = app
        .client
        .start_execution()
        .state_machine_arn(&machine)
        .input(r#"{"job": 1}"#)
        .send()
        .await
        .expect("start execution")
        .execution_arn()
        .to_owned();
    let held_token = take(&app.client, held).await;
    let breaks_token = take(&app.client, breaks).await;
    app.client
        .send_task_failure()
        .task_token(&breaks_token)
        .error("Boom")
        .cause("it broke")
        .send()
        .await
        .expect("send task failure");
    let done = wait_until_done(&app.client, &arn, Duration::from_secs(10)).await;
    let events = history(&app.client, &arn).await;
    assert_contiguous(&events, &arn);
    // All three tasks were scheduled before the failure (so the unpolled one was open then),
    // the failure fails the Parallel, and nothing of the other branches follows it. The shape
    // around ParallelStateFailed is AWS's (the recorded parallel histories in the conformance
    // corpus: ParallelStateFailed, then ExecutionFailed, or ParallelStateExited when caught).
    let mut expected = vec![
        Event::ExecutionStarted,
        Event::ParallelStateEntered,
        Event::ParallelStateStarted,
        Event::TaskStateEntered,
        Event::ActivityScheduled,
        Event::TaskStateEntered,
        Event::ActivityScheduled,
        Event::TaskStateEntered,
        Event::ActivityScheduled,
        Event::ActivityStarted,
        Event::ActivityStarted,
        Event::ActivityFailed,
        Event::ParallelStateFailed,
    ];
    if caught {
        assert_eq!(done.status(), &ExecutionStatus::Succeeded);
        // The Catch gets the branch's error and cause: those of the Parallel's failure.
        let output: Value =
            serde_json::from_str(done.output().unwrap_or_default()).expect("json output");
        assert_eq!(output, json!({"Error": "Boom", "Cause": "it broke"}));
        expected.extend([
            Event::ParallelStateExited,
            Event::PassStateEntered,
            Event::PassStateExited,
            Event::ExecutionSucceeded,
        ]);
    } else {
        assert_eq!(done.status(), &ExecutionStatus::Failed);
        assert_eq!(done.error(), Some("Boom"));
        assert_eq!(done.cause(), Some("it broke"));
        let failed = events
            .last()
            .and_then(HistoryEvent::execution_failed_event_details)
            .expect("ExecutionFailed details");
        assert_eq!(failed.error(), Some("Boom"));
        assert_eq!(failed.cause(), Some("it broke"));
        expected.push(Event::ExecutionFailed);
    }
    assert_eq!(types(&events), expected, "{arn}");
    // The waiting branch's task closed with the Parallel: its token is answered as AWS answers
    // a task that ended.
    let (code, message) = error_code(
        app.client
            .send_task_success()
            .task_token(&held_token)
            .output(r#"{"late": true}"#)
            .send()
            .await,
    );
    assert_eq!(code, "TaskTimedOut");
    assert_eq!(
        message,
        "Task Timed Out: 'Provided task does not exist anymore'"
    );
    let (code, _) = error_code(
        app.client
            .send_task_heartbeat()
            .task_token(&held_token)
            .send()
            .await,
    );
    assert_eq!(code, "TaskTimedOut");
    // No worker gets the task nobody had taken: it closed too.
    assert_eq!(poll(&app.client, unpolled).await, None);
    // The late result changed nothing.
    let after = history(&app.client, &arn).await;
    assert_eq!(types(&after), expected, "{arn}");
    let described = app
        .client
        .describe_execution()
        .execution_arn(&arn)
        .send()
        .await
        .expect("describe execution");
    assert_eq!(described.status(), done.status());
    assert_eq!(described.output(), done.output());
    app.stop().await;
}

/// Parallel: "first failure fails the state (its error), other branches' tasks cancelled"
/// (docs/compatibility.md), and "a token whose task ended answers `TaskTimedOut`": uncaught, the
/// execution fails with the branch's error and cause.
#[tokio::test]
async fn a_failing_branch_fails_the_parallel_and_closes_the_other_branches_tasks() {
    parallel_fails_while_a_branch_waits(false).await;
}

/// As above, with the Parallel's failure caught: the execution goes on, the other branches'
/// tasks are closed all the same.
#[tokio::test]
async fn a_caught_branch_failure_closes_the_other_branches_tasks() {
    parallel_fails_while_a_branch_waits(true).await;
}

// ---------------------------------------------------------------------------------------------
// Faults injected into a scheduler's transaction.

/// How many times each targeted step fails before it may commit.
const FAULTS: i64 = 3;

const PASS_CHAIN: &str = r#"{"StartAt": "A", "States": {
    "A": {"Type": "Pass", "Result": 1, "ResultPath": "$.a", "Next": "B"},
    "B": {"Type": "Pass", "End": true}}}"#;
const WAIT_THEN_PASS: &str = r#"{"StartAt": "W", "States": {
    "W": {"Type": "Wait", "Seconds": 5, "Next": "P"},
    "P": {"Type": "Pass", "End": true}}}"#;

/// Runs a waiting execution up to its Wait, installs `install` (a trigger that fails the first
/// [`FAULTS`] statements of the steps that start an execution and of those that end one that
/// had started, counting in the sequences `faults_started` and `faults_ended`), then lets a
/// Pass chain start and the wait end. Both must succeed with exactly their events, each once.
async fn faults_are_retried_and_land_once(install: &str) {
    let url = switchback_tests::pg::fresh_database().await;
    // Only a notification, a known timer or a retry wakes the scheduler.
    let app = TestApp::spawn_with(&url, |s| s.scheduler.poll_interval_ms = 30_000).await;
    let chain = create_machine(&app, "chain", PASS_CHAIN).await;
    let waits = create_machine(&app, "waits", WAIT_THEN_PASS).await;
    let start = |machine: &str| {
        let (client, machine) = (app.client.clone(), machine.to_owned());
        async move {
            client
                .start_execution()
                .state_machine_arn(machine)
                .input(r#"{"x": 1}"#)
                .send()
                .await
                .expect("start execution")
                .execution_arn()
                .to_owned()
        }
    };
    let waiting = start(&waits).await;
    wait_until_entered(&app.client, &waiting).await;
    let pool = sqlx::PgPool::connect(&url).await.expect("connect");
    // Sequences, not a table: a counter in a table would be rolled back with the transaction
    // the fault aborts, a sequence keeps every increment.
    sqlx::raw_sql("CREATE SEQUENCE faults_started; CREATE SEQUENCE faults_ended;")
        .execute(&pool)
        .await
        .expect("create counters");
    // The test's own SQL, no outside data in it.
    sqlx::raw_sql(sqlx::AssertSqlSafe(install.to_owned()))
        .execute(&pool)
        .await
        .expect("install the fault");
    let began = Instant::now();
    let chained = start(&chain).await;
    wait_until_done(&app.client, &chained, Duration::from_secs(30)).await;
    // Each fault costs the scheduler's 200 ms pause, not a wait for the next timer it knows of
    // (the Wait's, seconds away) or a poll interval (raised above).
    let took = began.elapsed();
    assert!(
        took < Duration::from_secs(4),
        "{FAULTS} conflicts delayed the step {took:?}"
    );
    for (arn, expected) in [
        (
            &chained,
            vec![
                Event::ExecutionStarted,
                Event::PassStateEntered,
                Event::PassStateExited,
                Event::PassStateEntered,
                Event::PassStateExited,
                Event::ExecutionSucceeded,
            ],
        ),
        (
            &waiting,
            vec![
                Event::ExecutionStarted,
                Event::WaitStateEntered,
                Event::WaitStateExited,
                Event::PassStateEntered,
                Event::PassStateExited,
                Event::ExecutionSucceeded,
            ],
        ),
    ] {
        let done = wait_until_done(&app.client, arn, Duration::from_secs(30)).await;
        assert_eq!(done.status(), &ExecutionStatus::Succeeded, "{arn}");
        let events = history(&app.client, arn).await;
        assert_contiguous(&events, arn);
        assert_eq!(types(&events), expected, "{arn}");
    }
    // Evidence that the faults hit: each counter was advanced past FAULTS, so its first FAULTS
    // advances raised (a sequence's value is how often it was advanced; it can be more than
    // FAULTS + 1 when both targeted steps were retried in one batch).
    for counter in ["faults_started", "faults_ended"] {
        let fired: Option<i64> =
            sqlx::query_scalar("SELECT last_value FROM pg_sequences WHERE sequencename = $1")
                .bind(counter)
                .fetch_one(&pool)
                .await
                .expect("read counter");
        assert!(fired.is_some_and(|n| n > FAULTS), "{counter}: {fired:?}");
    }
    pool.close().await;
    app.stop().await;
}

/// "Transactions that can conflict are retried on serialization failure and deadlock (40001,
/// 40P01)" with "one state change, one transaction" (docs/ARCHITECTURE.md invariants 7 and 1):
/// a step whose history insert fails with a serialization failure is retried and lands once.
#[tokio::test]
async fn a_serialization_failure_in_a_step_is_retried_and_the_step_lands_once() {
    let install = format!(
        r#"
        CREATE FUNCTION inject_fault() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF EXISTS (SELECT 1 FROM inserted WHERE event LIKE '%"ExecutionStarted"%') THEN
                IF nextval('faults_started') <= {FAULTS} THEN
                    RAISE EXCEPTION 'injected serialization failure' USING ERRCODE = '40001';
                END IF;
            END IF;
            IF EXISTS (SELECT 1 FROM inserted WHERE event LIKE '%"WaitStateExited"%') THEN
                IF nextval('faults_ended') <= {FAULTS} THEN
                    RAISE EXCEPTION 'injected serialization failure' USING ERRCODE = '40001';
                END IF;
            END IF;
            RETURN NULL;
        END $$;
        CREATE TRIGGER inject_fault AFTER INSERT ON history_events
            REFERENCING NEW TABLE AS inserted
            FOR EACH STATEMENT EXECUTE FUNCTION inject_fault();"#
    );
    faults_are_retried_and_land_once(&install).await;
}

/// As above with a deadlock (40P01), raised by the execution rows' update: the last write of a
/// step, after its history events were inserted, so those must be rolled back with it.
#[tokio::test]
async fn a_deadlock_in_a_step_is_retried_and_the_step_lands_once() {
    let install = format!(
        r#"
        CREATE FUNCTION inject_fault() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF EXISTS (SELECT 1 FROM before WHERE snapshot IS NULL) THEN
                IF nextval('faults_started') <= {FAULTS} THEN
                    RAISE EXCEPTION 'injected deadlock' USING ERRCODE = '40P01';
                END IF;
            END IF;
            IF EXISTS (SELECT 1 FROM after JOIN before USING (seq)
                       WHERE before.snapshot IS NOT NULL AND after.status <> 'RUNNING') THEN
                IF nextval('faults_ended') <= {FAULTS} THEN
                    RAISE EXCEPTION 'injected deadlock' USING ERRCODE = '40P01';
                END IF;
            END IF;
            RETURN NULL;
        END $$;
        CREATE TRIGGER inject_fault AFTER UPDATE ON executions
            REFERENCING OLD TABLE AS before NEW TABLE AS after
            FOR EACH STATEMENT EXECUTE FUNCTION inject_fault();"#
    );
    faults_are_retried_and_land_once(&install).await;
}

// ---------------------------------------------------------------------------------------------
// One call's result, recorded twice.

fn succeeded(by: &str) -> Signal {
    Signal::TaskSucceeded {
        task_id: 0,
        output: json!({ "by": by }).to_string(),
    }
}

/// Two recorders offer a result for the call `token` at once: the first records inside a
/// transaction it keeps open, the second starts its statement and waits for the row the first
/// holds (checked in `pg_locks`, so the two really overlap); then the first commits or rolls
/// back. Returns who recorded.
async fn race_two_recordings(
    pool: &sqlx::PgPool,
    token: &str,
    first_commits: bool,
) -> &'static str {
    let mut first = pool.begin().await.expect("begin");
    assert!(
        switchback_store::calls::record(&mut first, token, &[succeeded("first")], false)
            .await
            .expect("first recording"),
        "the first recorder finds the call open"
    );
    let mut second = pool.acquire().await.expect("acquire");
    let second_pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut *second)
        .await
        .expect("backend pid");
    let racing = {
        let token = token.to_owned();
        tokio::spawn(async move {
            switchback_store::calls::record(&mut second, &token, &[succeeded("second")], false)
                .await
                .expect("second recording")
        })
    };
    wait_for(
        "the second recording waits",
        Duration::from_secs(10),
        || async {
            let waiting: bool = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE pid = $1 AND NOT granted)",
            )
            .bind(second_pid)
            .fetch_one(pool)
            .await
            .expect("read pg_locks");
            waiting.then_some(())
        },
    )
    .await;
    if first_commits {
        first.commit().await.expect("commit");
    } else {
        first.rollback().await.expect("rollback");
    }
    let second_recorded = racing.await.expect("second recorder");
    assert_eq!(
        second_recorded, !first_commits,
        "the second recording is refused exactly when the first committed"
    );
    if first_commits { "first" } else { "second" }
}

/// "Work that leaves the database ... is at-least-once, under a lease; ... results recorded
/// once" (docs/ARCHITECTURE.md invariant 5; `calls.rs`: "a result is recorded once even when a
/// call was made twice"): two recordings of one call's result, overlapping in the database,
/// record exactly one result; the loser is refused, and when the winner rolls back, the other
/// records. Repeated over many calls.
#[tokio::test]
async fn two_recordings_of_one_call_result_race_and_exactly_one_lands() {
    const ROUNDS: usize = 12;
    let lambda = services::lambda().await;
    let url = switchback_tests::pg::fresh_database().await;
    let endpoint = lambda.endpoint();
    let app = TestApp::spawn_with(&url, move |s| {
        s.integrations.lambda.endpoint = Some(endpoint);
    })
    .await;
    // The scheduler's own call takes a minute: it is still in flight while the test records.
    let machine = create_machine(
        &app,
        "called",
        &json!({"StartAt": "Call", "States": {"Call": {"Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "slow", "Payload": {"sleep_ms": 60000}},
            "End": true}}})
        .to_string(),
    )
    .await;
    let pool = sqlx::PgPool::connect(&url).await.expect("connect");
    let mut rounds = Vec::new();
    for _ in 0..ROUNDS {
        let arn = app
            .client
            .start_execution()
            .state_machine_arn(&machine)
            .send()
            .await
            .expect("start execution")
            .execution_arn()
            .to_owned();
        let token: String = wait_for("the call is scheduled", Duration::from_secs(10), || async {
            sqlx::query_scalar(
                "SELECT t.token FROM tasks t JOIN executions e ON e.seq = t.execution_seq
                 WHERE e.arn = $1 AND t.call IS NOT NULL AND t.status = 'SCHEDULED'",
            )
            .bind(&arn)
            .fetch_optional(&pool)
            .await
            .expect("read tasks")
        })
        .await;
        rounds.push((arn, token));
    }
    for (round, (arn, token)) in rounds.iter().enumerate() {
        // Every third round the first recorder rolls back: then the second must record.
        let winner = race_two_recordings(&pool, token, round % 3 != 2).await;
        let done = wait_until_done(&app.client, arn, Duration::from_secs(10)).await;
        assert_eq!(done.status(), &ExecutionStatus::Succeeded, "{arn}");
        assert_eq!(
            done.output(),
            Some(json!({ "by": winner }).to_string().as_str())
        );
        let events = history(&app.client, arn).await;
        assert_contiguous(&events, arn);
        assert_eq!(
            types(&events),
            [
                Event::ExecutionStarted,
                Event::TaskStateEntered,
                Event::TaskScheduled,
                Event::TaskStarted,
                Event::TaskSucceeded,
                Event::TaskStateExited,
                Event::ExecutionSucceeded,
            ],
            "{arn}: exactly one result"
        );
    }
    pool.close().await;
    app.stop().await;
}

/// The same guarantee between processes: a scheduler that hangs mid-call (SIGSTOP) past its
/// lease loses the call to a second scheduler, which makes it again; then the first wakes up
/// and both offer the result. The call was made twice, both recorders offered a result, and
/// the history holds exactly one.
#[tokio::test]
async fn a_call_made_by_two_live_schedulers_is_recorded_once() {
    let lambda = services::lambda().await;
    let url = switchback_tests::pg::fresh_database().await;
    let endpoint = lambda.endpoint();
    let (first_probe, second_probe) = (free_address(), free_address());
    let scheduler = |probe: SocketAddr| {
        let probe = probe.to_string();
        Node::start_with(
            "scheduler",
            &url,
            &[
                ("SWITCHBACK__INTEGRATIONS__LAMBDA__ENDPOINT", &endpoint),
                ("SWITCHBACK__SCHEDULER__CALL_LEASE_SECONDS", "1"),
                // Schedulers serve /metrics here: how many results each offered.
                ("SWITCHBACK__SCHEDULER__LISTEN", &probe),
            ],
        )
    };
    let api = Node::start("api", &url);
    let first = scheduler(first_probe);
    api.wait_ready().await;
    let client = switchback_tests::app::client(api.address.expect("api address"), "us-east-1");
    let machine = client
        .create_state_machine()
        .name("twice")
        .definition(
            json!({"StartAt": "Call", "States": {"Call": {"Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "slow", "Payload": {"sleep_ms": 1500}},
                "OutputPath": "$.Payload", "End": true}}})
            .to_string(),
        )
        .role_arn(crate::executions::ROLE)
        .send()
        .await
        .expect("create state machine")
        .state_machine_arn()
        .to_owned();
    let arn = client
        .start_execution()
        .state_machine_arn(&machine)
        .send()
        .await
        .expect("start execution")
        .execution_arn()
        .to_owned();
    wait_for("the first call", Duration::from_secs(30), || {
        std::future::ready((!lambda.calls_of("slow").is_empty()).then_some(()))
    })
    .await;
    // The first scheduler hangs mid-call: its lease runs out and the second takes the call.
    first.pause();
    let second = scheduler(second_probe);
    wait_for("the second call", Duration::from_secs(30), || {
        std::future::ready((lambda.calls_of("slow").len() >= 2).then_some(()))
    })
    .await;
    // Now both schedulers have the call in flight; the first wakes up and races the second.
    first.resume();
    let done = wait_until_done(&client, &arn, Duration::from_secs(30)).await;
    assert_eq!(done.status(), &ExecutionStatus::Succeeded);
    assert_eq!(done.output(), Some(r#"{"sleep_ms":1500}"#));
    // Both made the call and both offered its result.
    let offered = |probe: SocketAddr| async move {
        let page = switchback_tests::raw::get(probe, "/metrics").await;
        series(
            &page.body,
            "switchback_task_calls_total{result=\"succeeded\"}",
        )
    };
    wait_for(
        "both schedulers offered a result",
        Duration::from_secs(30),
        || async {
            let (a, b) = (offered(first_probe).await, offered(second_probe).await);
            (a >= 1.0 && b >= 1.0).then_some(())
        },
    )
    .await;
    assert_eq!(lambda.calls_of("slow").len(), 2, "the call was made twice");
    // The loser's result was refused. The execution had ended by then (the second call started
    // a lease later than the first, and takes as long), so a result recorded for it would wait
    // in `signals` for ever: none may appear while the loser's recording runs.
    let pool = sqlx::PgPool::connect(&url).await.expect("connect");
    let watch_until = Instant::now() + Duration::from_secs(1);
    while Instant::now() < watch_until {
        let left: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM signals s JOIN executions e ON e.seq = s.execution_seq
             WHERE e.arn = $1",
        )
        .bind(&arn)
        .fetch_one(&pool)
        .await
        .expect("count signals");
        assert_eq!(left, 0, "a second result was recorded");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    pool.close().await;
    let events = history(&client, &arn).await;
    assert_contiguous(&events, &arn);
    assert_eq!(
        types(&events),
        [
            Event::ExecutionStarted,
            Event::TaskStateEntered,
            Event::TaskScheduled,
            Event::TaskStarted,
            Event::TaskSucceeded,
            Event::TaskStateExited,
            Event::ExecutionSucceeded,
        ],
        "exactly one result"
    );
    drop(second);
    drop(first);
}
