//! The step function: a pure `step(definition, snapshot, event, now, seed) -> Transition` that
//! advances an execution as far as it can go, and says what must happen outside (effects).
//!
//! - [`snapshot`] — the execution's state between steps: a tree of threads.
//! - [`history`] — history events with AWS's names and detail shapes.
//! - `runner` — the machinery shared by every state: events, transitions, Retry and Catch.
//!   States are looked up in the `Machine`'s index (`crate::model::index`) and dispatched on
//!   their typed kind; the data-flow functions still read each state's raw JSON.
//! - `states` — Pass, Task, Choice, Wait, Succeed, Fail.
//! - `branches` — Parallel and Map: child threads, concurrency, results.
//! - `clock` — ISO 8601 text for the context object.
//!
//! Runs of states that need nothing from outside (Pass, Choice, Succeed, Fail) advance in one
//! call; a step ends when every thread waits on a timer, a task, or has finished.

mod branches;
mod clock;
pub mod history;
mod runner;
pub mod snapshot;
mod states;
#[cfg(test)]
mod tests;

use serde_json::Value;

pub use crate::model::Machine;
pub use history::HistoryEvent;
pub use snapshot::{ExecutionInfo, Snapshot, Status};

/// What happened since the last step.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// Only time passed: timers due by `now` fire.
    Tick,
    /// A worker took an activity task.
    /// A worker took an activity task at `at_ms` (0: at the step's `now`). ActivityStarted and
    /// the heartbeat window date from then, as in AWS, not from when a scheduler applied it.
    TaskStarted {
        task_id: u64,
        worker_name: String,
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
    /// StopExecution.
    Stop {
        error: Option<String>,
        cause: Option<String>,
    },
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
    /// A task is no longer wanted (its state ended, timed out or was aborted): late results for
    /// it must be refused.
    CancelTask { task_id: u64 },
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
    runner::start(machine, info, input, now_ms, seed)
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
    runner::step(machine, snapshot, event, now_ms, seed)
}
