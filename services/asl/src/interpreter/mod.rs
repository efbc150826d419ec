//! The step function: a pure `step(definition, snapshot, event, now, seed) -> Transition` that
//! advances an execution as far as it can go, and says what must happen outside (effects).
//!
//! - [`snapshot`] — the execution's state between steps: a tree of threads.
//! - [`history`] — history events with AWS's names and detail shapes.
//! - `runner` — the machinery shared by every state: events, transitions, Retry and Catch.
//!   States are looked up in the `Machine`'s index (`crate::model::index`) and dispatched on
//!   their typed kind; their data flow comes from the state's pipeline (`crate::dataflow::Pipeline`).
//! - `states` — Pass, Choice, Wait, Succeed, Fail.
//! - `task` — Task states: activities, Lambda functions and integrations; their events, results,
//!   timeouts and heartbeats.
//! - `branches` — Parallel and Map: child threads, concurrency, results.
//! - `distributed` — a DISTRIBUTED Map: the run it starts (items, reader, batcher, writer) and
//!   its end.
//! - `clock` — ISO 8601 text for the context object.
//!
//! Runs of states that need nothing from outside (Pass, Choice, Succeed, Fail) advance in one
//! call; a step ends when every thread waits on a timer, a task, or has finished.

mod branches;
mod clock;
mod distributed;
pub mod history;
pub mod probe;
mod runner;
pub mod snapshot;
mod states;
mod task;
#[cfg(test)]
mod task_tests;
#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use crate::resource::Pattern;

pub use crate::map_run::{MapRunOutcome, MapRunSpec};
pub use crate::model::Machine;
pub use clock::iso8601;
pub use history::HistoryEvent;
pub use runner::StepBudget;
pub use snapshot::{ExecutionInfo, Snapshot, Status};
pub use task::task_token;

/// What happened since the last step. Also the one form of an intent recorded for a
/// scheduler (API calls, workers, outbound calls, ended children): the store keeps each as
/// this type's JSON in `signals.body` (`switchback_store::signals`), so a new kind of signal
/// is a new variant here and nothing else parses it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    /// Only time passed: timers due by `now` fire.
    Tick,
    /// A worker took an activity task at `at_ms` (0: at the step's `now`; the store fills in
    /// the recording time). ActivityStarted and the heartbeat window date from then, as in
    /// AWS, not from when a scheduler applied it.
    TaskStarted {
        task_id: u64,
        worker_name: String,
        #[serde(default)]
        at_ms: i64,
    },
    /// A worker reported progress at `at_ms`: the heartbeat deadline moves to `at_ms` plus the
    /// heartbeat interval (never earlier than it was).
    TaskHeartbeat {
        task_id: u64,
        at_ms: i64,
    },
    TaskSucceeded {
        task_id: u64,
        output: String,
    },
    TaskFailed {
        task_id: u64,
        error: String,
        cause: String,
    },
    /// An integration's call returned and the state now waits for a callback or a job
    /// (`TaskSubmitted`, with the call's response as output).
    TaskSubmitted {
        task_id: u64,
        output: String,
    },
    /// An execution started by a `states:startExecution.sync` task ended.
    ChildEnded {
        task_id: u64,
        child: ChildExecution,
    },
    /// A Distributed Map's run ended.
    MapRunEnded {
        task_id: u64,
        outcome: MapRunOutcome,
    },
    /// StopExecution.
    Stop {
        error: Option<String>,
        cause: Option<String>,
    },
    /// RedriveExecution of an execution that failed, timed out or was aborted: it runs again
    /// from the state where it stopped (see `runner::redrive`).
    Redrive,
}

/// Work for the engine outside this crate.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Make an activity task available to workers of `activity_arn`.
    ScheduleActivity {
        task_id: u64,
        activity_arn: String,
        input: String,
        timeout_seconds: Option<i64>,
        heartbeat_seconds: Option<i64>,
    },
    /// Call something outside (Lambda, HTTP, another state machine); its result comes back as
    /// `TaskSucceeded`/`TaskFailed`/`TaskSubmitted`/`ChildEnded` for `task_id`.
    Invoke(Invocation),
    /// Start a Distributed Map's run; its end comes back as `MapRunEnded` for its task.
    StartMapRun(Box<MapRunSpec>),
    /// A Distributed Map's run is no longer wanted (its state was left, the execution ended):
    /// it is aborted and its children stopped.
    AbortMapRun { task_id: u64 },
    /// The execution was redriven while its Map state's run had failed or was aborted: the
    /// run goes on, its children that did not succeed redriven, its items not yet run started.
    RedriveMapRun { task_id: u64 },
    /// A task is no longer wanted (its state ended, timed out or was aborted): late results for
    /// it must be refused.
    CancelTask { task_id: u64 },
}

/// A call an integration task makes, and what the engine needs to make it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Invocation {
    pub task_id: u64,
    /// The Task state's `Resource`.
    pub resource: String,
    /// The task token: `$$.Task.Token` for `.waitForTaskToken` tasks, and the key of the call.
    pub token: String,
    /// The state making the call, and how many calls that state made before in this execution
    /// (counting retries and Map iterations): mocked responses are chosen by both.
    pub state: String,
    pub invocation: u32,
    pub timeout_seconds: Option<i64>,
    pub pattern: Pattern,
    pub call: Call,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Call {
    /// Lambda's Invoke API. `direct`: the resource was the function's ARN, and the result is
    /// the function's payload alone (else the `lambda:invoke` output shape).
    Lambda {
        function_name: String,
        qualifier: Option<String>,
        payload: String,
        direct: bool,
    },
    /// `http:invoke` with its evaluated Parameters.
    Http { parameters: Value },
    /// `states:startExecution`.
    StartExecution {
        state_machine_arn: String,
        name: Option<String>,
        input: String,
    },
    /// An integration Switchback does not run: only a mocked response answers it; otherwise the
    /// task fails with `States.Runtime` and this reason.
    Unsupported { parameters: Value, reason: String },
}

/// How a child execution ended, as its parent's `.sync` task reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChildExecution {
    pub execution_arn: String,
    pub state_machine_arn: String,
    pub name: String,
    /// `SUCCEEDED`, `FAILED`, `TIMED_OUT` or `ABORTED`.
    pub status: String,
    pub input: String,
    pub output: Option<String>,
    pub error: Option<String>,
    pub cause: Option<String>,
    pub start_ms: i64,
    pub stop_ms: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    pub snapshot: Snapshot,
    pub history: Vec<HistoryEvent>,
    pub effects: Vec<Effect>,
}

/// Starts an execution: `ExecutionStarted`, then as far as it can go.
pub fn start(
    machine: &Machine,
    info: ExecutionInfo,
    input: Value,
    now_ms: i64,
    seed: u64,
) -> Transition {
    runner::start(
        machine,
        info,
        input,
        now_ms,
        seed,
        &mut StepBudget::default(),
        None,
    )
}

/// As [`start`], for TestState: the probe watches the state under test and gives it the
/// test's variables, context object and retry count.
pub fn start_probed(
    machine: &Machine,
    info: ExecutionInfo,
    input: Value,
    now_ms: i64,
    seed: u64,
    probe: &probe::Probe,
) -> Transition {
    let mut budget = StepBudget::default();
    runner::start(machine, info, input, now_ms, seed, &mut budget, Some(probe))
}

/// As [`step`], for TestState (see [`start_probed`]).
pub fn step_probed(
    machine: &Machine,
    snapshot: Snapshot,
    event: &Event,
    now_ms: i64,
    seed: u64,
    probe: &probe::Probe,
) -> Transition {
    let mut budget = StepBudget::default();
    runner::step(
        machine,
        snapshot,
        event,
        now_ms,
        seed,
        &mut budget,
        Some(probe),
    )
}

/// As [`start`], spending `budget` (see [`StepBudget`]).
pub fn start_within(
    machine: &Machine,
    info: ExecutionInfo,
    input: Value,
    now_ms: i64,
    seed: u64,
    budget: &mut StepBudget,
) -> Transition {
    runner::start(machine, info, input, now_ms, seed, budget, None)
}

/// Advances `snapshot` by `event` at `now_ms`. Never panics; a broken snapshot or definition fails
/// the execution with `States.Runtime`.
pub fn step(
    machine: &Machine,
    snapshot: Snapshot,
    event: &Event,
    now_ms: i64,
    seed: u64,
) -> Transition {
    runner::step(
        machine,
        snapshot,
        event,
        now_ms,
        seed,
        &mut StepBudget::default(),
        None,
    )
}

/// As [`step`], spending `budget`, which the caller passes to every call that makes up one
/// step of the execution (see [`StepBudget`]).
pub fn step_within(
    machine: &Machine,
    snapshot: Snapshot,
    event: &Event,
    now_ms: i64,
    seed: u64,
    budget: &mut StepBudget,
) -> Transition {
    runner::step(machine, snapshot, event, now_ms, seed, budget, None)
}
