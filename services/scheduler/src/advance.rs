//! One step of one claimed execution: its signals and the passing of time fed to the step
//! function, and the result turned into what the store writes.

use std::panic::{AssertUnwindSafe, catch_unwind};

use serde_json::Value;
use switchback_asl::interpreter::{
    self, Call, ChildExecution, Effect, Event, ExecutionInfo, HistoryEvent, Machine, Snapshot,
    Status, StepBudget,
};
use switchback_store::engine::{Claimed, NewCall, NewTask, Step};
use switchback_store::map_runs::{ChildEnded, NewMapRun};
use time::OffsetDateTime;

/// What one step produces for the store.
pub struct Advanced {
    pub step: Step,
    pub new_tasks: Vec<NewTask>,
    pub new_calls: Vec<NewCall>,
    pub closed_tasks: Vec<(i64, i64)>,
    /// The execution ended and may have open tasks left (their calls must not be made, their
    /// children must stop).
    pub ended_with_tasks: bool,
    /// A child execution that ended: its parent task's token and the news for it.
    pub child_ended: Option<(String, Event)>,
    /// Distributed Map runs the step started.
    pub new_map_runs: Vec<NewMapRun>,
    /// The execution is a child of a Distributed Map's run and ended.
    pub map_run_end: Option<ChildEnded>,
    /// Runs of Distributed Map states no longer wanted: (execution, task).
    pub aborted_runs: Vec<(i64, i64)>,
    /// The execution failed without a step (an internal error): every run it has is aborted.
    pub aborts_every_run: bool,
    /// Runs of Distributed Map states that go on with the execution's redrive: (execution,
    /// task).
    pub redriven_runs: Vec<(i64, i64)>,
}

/// Advances `execution` by its signals, then by time, at `now_ms`, within `budget` (one for
/// the whole step: the start, every signal and the passing of time). A panic or an unreadable
/// snapshot fails the execution with `States.Runtime` instead of stalling the scheduler.
pub fn advance(
    execution: &Claimed,
    machine: &Machine,
    signals: &[Result<Event, String>],
    heartbeats: &[(u64, i64)],
    now_ms: i64,
    budget: StepBudget,
) -> Advanced {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        run(execution, machine, signals, heartbeats, now_ms, budget)
    }));
    match outcome {
        Ok(Ok(advanced)) => advanced,
        Ok(Err(reason)) => poisoned(execution, &reason, now_ms),
        Err(panic) => {
            let reason = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_owned());
            poisoned(execution, &format!("the step panicked: {reason}"), now_ms)
        }
    }
}

fn run(
    execution: &Claimed,
    machine: &Machine,
    signals: &[Result<Event, String>],
    heartbeats: &[(u64, i64)],
    now_ms: i64,
    mut budget: StepBudget,
) -> Result<Advanced, String> {
    let mut history: Vec<HistoryEvent> = Vec::new();
    let mut effects: Vec<Effect> = Vec::new();
    let mut snapshot = match &execution.snapshot {
        Some(text) => {
            let mut snapshot =
                read_snapshot(text).map_err(|e| format!("unreadable snapshot: {e}"))?;
            // Executions started before task tokens were derived from a secret get one now.
            if snapshot.info.token_secret.is_empty() {
                snapshot.info.token_secret = new_token();
            }
            snapshot
        }
        None => {
            let input: Value = serde_json::from_str(&execution.input)
                .map_err(|e| format!("unreadable input: {e}"))?;
            let started = interpreter::start_within(
                machine,
                info(execution),
                input,
                now_ms,
                seed(),
                &mut budget,
            );
            history.extend(started.history);
            effects.extend(started.effects);
            started.snapshot
        }
    };
    let mut events: Vec<Event> = Vec::with_capacity(signals.len() + 1);
    for signal in signals {
        match signal {
            Ok(event) => events.push(event.clone()),
            Err(reason) => {
                tracing::warn!(execution = %execution.arn, reason, "ignoring an unreadable signal")
            }
        }
    }
    // Heartbeats were written to the task rows by API nodes; they move deadlines before time
    // is applied, so a task that beat in time does not time out.
    events.extend(
        heartbeats
            .iter()
            .map(|(task_id, at_ms)| Event::TaskHeartbeat {
                task_id: *task_id,
                at_ms: *at_ms,
            }),
    );
    events.push(Event::Tick);
    for event in &events {
        let transition =
            interpreter::step_within(machine, snapshot, event, now_ms, seed(), &mut budget);
        history.extend(transition.history);
        effects.extend(transition.effects);
        snapshot = transition.snapshot;
    }
    let snapshot_text = serde_json::to_string(&snapshot).map_err(|e| e.to_string())?;
    let mut new_tasks = Vec::new();
    let mut new_calls = Vec::new();
    let mut closed_tasks = Vec::new();
    let mut new_map_runs = Vec::new();
    let mut redriven_runs = Vec::new();
    let mut aborted_runs = Vec::new();
    for effect in effects {
        match effect {
            Effect::ScheduleActivity {
                task_id,
                activity_arn,
                input,
                ..
            } => new_tasks.push(NewTask {
                token: new_token(),
                execution_seq: execution.seq,
                task_id: i64::try_from(task_id).unwrap_or(i64::MAX),
                activity_arn,
                input,
            }),
            Effect::Invoke(invocation) => {
                let input = match &invocation.call {
                    Call::Lambda { payload, .. } => payload.clone(),
                    Call::Http { parameters } => parameters.to_string(),
                    Call::StartExecution { input, .. } => input.clone(),
                    Call::Unsupported { parameters, .. } => parameters.to_string(),
                };
                new_calls.push(NewCall {
                    token: invocation.token.clone(),
                    execution_seq: execution.seq,
                    task_id: i64::try_from(invocation.task_id).unwrap_or(i64::MAX),
                    resource: invocation.resource.clone(),
                    input,
                    call: serde_json::to_value(&invocation).map_err(|e| e.to_string())?,
                });
            }
            Effect::CancelTask { task_id } => {
                closed_tasks.push((execution.seq, i64::try_from(task_id).unwrap_or(i64::MAX)));
            }
            Effect::StartMapRun(spec) => new_map_runs.push(new_map_run(execution, &spec)?),
            Effect::AbortMapRun { task_id } => {
                aborted_runs.push((execution.seq, i64::try_from(task_id).unwrap_or(i64::MAX)))
            }
            Effect::RedriveMapRun { task_id } => {
                redriven_runs.push((execution.seq, i64::try_from(task_id).unwrap_or(i64::MAX)))
            }
        }
    }
    let ended = snapshot.status != Status::Running;
    let child_ended = if ended {
        child_ended(
            execution,
            snapshot.status,
            snapshot.output.as_ref().map(Value::to_string),
            snapshot.error.clone(),
            snapshot.cause.clone(),
            now_ms,
        )
    } else {
        None
    };
    let step = Step {
        seq: execution.seq,
        state_machine_arn: execution.state_machine_arn.clone(),
        snapshot: snapshot_text,
        status: snapshot.status.as_str().to_owned(),
        output: snapshot.output.as_ref().map(Value::to_string),
        error: snapshot.error.clone(),
        cause: snapshot.cause.clone(),
        stopped_at: ended.then(|| timestamp(now_ms)),
        due_at: snapshot.next_due_ms().map(timestamp),
        events: history
            .iter()
            .map(|e| {
                (
                    i32::try_from(e.id).unwrap_or(i32::MAX),
                    e.to_wire(true).to_string(),
                )
            })
            .collect(),
    };
    Ok(Advanced {
        step,
        new_tasks,
        new_calls,
        closed_tasks,
        ended_with_tasks: ended && snapshot.next_task_id > 1,
        child_ended,
        new_map_runs,
        aborted_runs,
        aborts_every_run: false,
        redriven_runs,
        map_run_end: ended
            .then(|| map_run_end(execution, snapshot.status.as_str()))
            .flatten(),
    })
}

/// For a child of a Distributed Map's run that ended with `status`: what its run counts.
fn map_run_end(execution: &Claimed, status: &str) -> Option<ChildEnded> {
    Some(ChildEnded {
        run: execution.map_run_seq?,
        status: status.to_owned(),
        items: i64::from(execution.map_items.unwrap_or(1)),
    })
}

/// The row of a run a step started (`Effect::StartMapRun`).
fn new_map_run(
    execution: &Claimed,
    spec: &switchback_asl::interpreter::MapRunSpec,
) -> Result<NewMapRun, String> {
    let mut parts = spec.arn.split(':').skip(3);
    let region = parts.next().unwrap_or_default().to_owned();
    let account = parts.next().unwrap_or_default().to_owned();
    Ok(NewMapRun {
        execution_seq: execution.seq,
        task_id: i64::try_from(spec.task_id).unwrap_or(i64::MAX),
        arn: spec.arn.clone(),
        account,
        region,
        spec: serde_json::to_string(spec).map_err(|e| e.to_string())?,
        max_concurrency: i32::try_from(spec.max_concurrency).unwrap_or(i32::MAX),
        tolerated_failure_count: spec
            .tolerated_count
            .map(|n| i64::try_from(n).unwrap_or(i64::MAX)),
        tolerated_failure_percentage: spec.tolerated_percentage,
        total: spec
            .reader
            .is_none()
            .then(|| i64::try_from(spec.items.len()).unwrap_or(i64::MAX)),
        exports: spec.exports(),
    })
}

/// Reads a stored snapshot. The values in it are bounded by `limits::MAX_DEPTH` when they are
/// made, but the snapshot nests them a few levels deeper per Map or Parallel state, which may
/// pass the parser's default limit of 128; the depth stays bounded by the definition's.
fn read_snapshot(text: &str) -> Result<Snapshot, serde_json::Error> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    deserializer.disable_recursion_limit();
    let snapshot = <Snapshot as serde::Deserialize>::deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(snapshot)
}

fn info(execution: &Claimed) -> ExecutionInfo {
    let machine_name = execution
        .state_machine_arn
        .rsplit(':')
        .next()
        .unwrap_or_default()
        .to_owned();
    ExecutionInfo {
        execution_arn: execution.arn.clone(),
        name: execution.name.clone(),
        role_arn: execution.role_arn.clone(),
        state_machine_arn: execution.state_machine_arn.clone(),
        state_machine_name: machine_name,
        start_time_ms: millis(execution.started_at),
        token_secret: new_token(),
        state_machine_version_arn: execution.state_machine_version_arn.clone(),
        state_machine_alias_arn: execution.state_machine_alias_arn.clone(),
        redrive_count: 0,
    }
}

/// For an execution a `states:startExecution` task started, which ended now: the parent task's
/// token and the news for it.
fn child_ended(
    execution: &Claimed,
    status: Status,
    output: Option<String>,
    error: Option<String>,
    cause: Option<String>,
    now_ms: i64,
) -> Option<(String, Event)> {
    let token = execution.parent_token.clone()?;
    let child = ChildExecution {
        execution_arn: execution.arn.clone(),
        state_machine_arn: execution.state_machine_arn.clone(),
        name: execution.name.clone(),
        status: status.as_str().to_owned(),
        input: execution.input.clone(),
        output,
        error,
        cause,
        start_ms: millis(execution.started_at),
        stop_ms: now_ms,
    };
    Some((token, Event::ChildEnded { task_id: 0, child }))
}

/// The execution fails with `States.Runtime`; the cause says why, and the log says more.
pub fn poisoned(execution: &Claimed, reason: &str, now_ms: i64) -> Advanced {
    tracing::error!(execution = %execution.arn, reason, "execution failed by an internal error");
    let cause = format!("Switchback could not advance this execution: {reason}");
    let event = HistoryEvent {
        id: u64::try_from(execution.history_length).unwrap_or(0) + 1,
        previous_event_id: u64::try_from(execution.history_length).unwrap_or(0),
        timestamp_ms: now_ms,
        event_type: "ExecutionFailed".into(),
        details: serde_json::json!({ "executionFailedEventDetails": {
            "error": "States.Runtime",
            "cause": cause,
        }}),
    };
    Advanced {
        step: Step {
            seq: execution.seq,
            state_machine_arn: execution.state_machine_arn.clone(),
            // No snapshot: the one there could not be advanced, so nothing may resume from it
            // (RedriveExecution refuses such an execution).
            snapshot: "null".to_owned(),
            status: Status::Failed.as_str().to_owned(),
            output: None,
            error: Some("States.Runtime".to_owned()),
            cause: Some(cause.clone()),
            stopped_at: Some(timestamp(now_ms)),
            due_at: None,
            events: vec![(
                i32::try_from(event.id).unwrap_or(i32::MAX),
                event.to_wire(true).to_string(),
            )],
        },
        new_tasks: Vec::new(),
        new_calls: Vec::new(),
        closed_tasks: Vec::new(),
        ended_with_tasks: true,
        new_map_runs: Vec::new(),
        aborted_runs: Vec::new(),
        aborts_every_run: true,
        redriven_runs: Vec::new(),
        map_run_end: map_run_end(execution, "FAILED"),
        child_ended: child_ended(
            execution,
            Status::Failed,
            None,
            Some("States.Runtime".to_owned()),
            Some(cause),
            now_ms,
        ),
    }
}

/// 256 random bits from the operating system, URL-safe: task tokens must be unguessable.
fn new_token() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// Randomness for the step function (retry jitter, States.UUID, States.MathRandom).
fn seed() -> u64 {
    switchback_asl::entropy::seed_from(uuid::Uuid::new_v4().into_bytes())
}

pub fn millis(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(0)
}

pub fn timestamp(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}
