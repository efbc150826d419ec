//! Everything an execution in flight needs between two steps, serializable so the engine can keep
//! it in the database. An execution is a tree of threads: the root runs the top-level states;
//! a Parallel state holds one thread per branch, a Map state one per running iteration.

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::resource::Pattern;
use crate::variables::Frame;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Status {
    Running,
    Succeeded,
    Failed,
    TimedOut,
    Aborted,
}

impl Status {
    /// AWS's `ExecutionStatus` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Running => "RUNNING",
            Status::Succeeded => "SUCCEEDED",
            Status::Failed => "FAILED",
            Status::TimedOut => "TIMED_OUT",
            Status::Aborted => "ABORTED",
        }
    }
}

/// Who the execution is: the parts of the context object (`$$`) that never change.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ExecutionInfo {
    pub execution_arn: String,
    pub name: String,
    pub role_arn: String,
    pub state_machine_arn: String,
    pub state_machine_name: String,
    pub start_time_ms: i64,
    /// A random secret the caller draws when the execution starts; task tokens handed to
    /// callbacks (`$$.Task.Token`) are derived from it, so they cannot be guessed.
    #[serde(default)]
    pub token_secret: String,
    /// The version the execution runs and the alias that chose it, when started through one
    /// (`ExecutionStarted` names them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_machine_version_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_machine_alias_arn: Option<String>,
    /// How many times the execution was redriven (`$$.Execution.RedriveCount`).
    #[serde(default)]
    pub redrive_count: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub status: Status,
    pub info: ExecutionInfo,
    /// The execution's input, for `$$.Execution.Input`.
    pub input: Value,
    /// The id of the newest history event.
    pub last_event_id: u64,
    /// From the definition's `TimeoutSeconds`.
    pub deadline_ms: Option<i64>,
    /// Task ids are unique within an execution.
    pub next_task_id: u64,
    /// Calls made so far by each Task state (by name), counting retries and Map iterations:
    /// mocked responses are chosen by this number.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub calls: BTreeMap<String, u32>,
    pub root: Thread,
    /// Set when the last step stopped for its budget with work left: the next step is due then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume_at_ms: Option<i64>,
    /// Set once the execution ended.
    pub output: Option<Value>,
    pub error: Option<String>,
    pub cause: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Thread {
    /// JSON pointer to the object holding this thread's `StartAt` and `States`.
    pub scope: String,
    /// The current state.
    pub state: String,
    /// The raw input of the current state.
    pub input: Value,
    pub phase: Phase,
    /// Retry attempts made so far for the current state, per retrier.
    pub attempts: Vec<u32>,
    /// The id of this thread's newest event, for `previousEventId`.
    pub last_event: u64,
    /// The id of the current state's Entered event (AWS cites it in runtime errors).
    pub entered_event: u64,
    /// The event the Entered event chained to: AWS chains `EvaluationFailed` to it too.
    #[serde(default)]
    pub entered_after: u64,
    /// When the current state was entered (`$$.State.EnteredTime`).
    pub entered_ms: i64,
    /// `$$.Map.Item` for iteration threads.
    pub map_item: Option<Value>,
    /// The variables this thread assigned (its scope; see `crate::variables`).
    #[serde(default, skip_serializing_if = "Frame::is_empty")]
    pub variables: Frame,
    /// When a Parallel or Map state failed for good: its branches or iterations as they
    /// stood, which a redrive resumes (AWS reruns only the unsuccessful ones).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unfinished: Option<Box<Phase>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Phase {
    /// The state is to be entered with `input`.
    Enter,
    /// A Wait state, until the time comes; then the state exits with `output`.
    Waiting {
        until_ms: i64,
        output: Value,
        /// The state's assignments, computed on entry and applied when it exits.
        #[serde(default, skip_serializing_if = "Frame::is_empty")]
        assigned: Frame,
    },
    /// Retry backoff; then the state runs again (without a new Entered event).
    Backoff {
        until_ms: i64,
    },
    Task(TaskPhase),
    Branches(BranchesPhase),
    Iterations(IterationsPhase),
    /// A Distributed Map waits for its run (`Effect::StartMapRun`) to end.
    MapRun(MapRunPhase),
    /// The thread reached an end state.
    Succeeded {
        output: Value,
    },
    /// The thread failed (an unhandled error or a Fail state).
    Failed {
        error: String,
        cause: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MapRunPhase {
    /// The parent's task for the run (`Event::MapRunEnded` names it).
    pub task_id: u64,
    pub arn: String,
    /// How often the run was redriven with its parent.
    #[serde(default)]
    pub redrive_count: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskPhase {
    pub task_id: u64,
    pub resource: String,
    /// Which family of history events the task writes.
    #[serde(default)]
    pub kind: TaskKind,
    /// Whether a worker took it (ActivityStarted).
    pub started: bool,
    pub timeout_at_ms: Option<i64>,
    pub heartbeat_seconds: Option<i64>,
    pub heartbeat_at_ms: Option<i64>,
}

/// What runs a task, which decides its history events (`Activity*`, `LambdaFunction*`, `Task*`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub enum TaskKind {
    #[default]
    Activity,
    LambdaFunction,
    Integration {
        /// `resourceType` in history, e.g. `lambda`.
        service: String,
        /// `resource` in history, e.g. `invoke.waitForTaskToken`.
        action: String,
        pattern: Pattern,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BranchesPhase {
    pub branches: Vec<Thread>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IterationsPhase {
    /// The iterations still to start: each item, or its input after ItemSelector when
    /// `selector_input` is absent (snapshots written before items were selected at start).
    pub pending: VecDeque<(usize, Value)>,
    /// The Map's effective input, which its `ItemSelector` reads as each iteration starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector_input: Option<Value>,
    /// Running iterations with their index.
    pub running: Vec<(usize, Thread)>,
    /// Outputs by index, filled as iterations succeed (a failed one's is its error output).
    pub results: Vec<Option<Value>>,
    /// The iterations that failed, as they ended: a redrive runs them again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed: Vec<(usize, Thread)>,
    pub max_concurrency: usize,
    pub failures: usize,
    /// The bytes of the results gathered so far (the Map's result is bounded as it grows).
    #[serde(default)]
    pub result_bytes: usize,
    pub tolerated_count: Option<usize>,
    pub tolerated_percentage: Option<f64>,
}

impl Thread {
    pub fn new(scope: String, state: String, input: Value, last_event: u64) -> Self {
        Self {
            scope,
            state,
            input,
            phase: Phase::Enter,
            attempts: Vec::new(),
            last_event,
            entered_event: 0,
            entered_after: 0,
            entered_ms: 0,
            map_item: None,
            variables: Frame::new(),
            unfinished: None,
        }
    }

    pub fn is_finished(&self) -> bool {
        matches!(self.phase, Phase::Succeeded { .. } | Phase::Failed { .. })
    }

    /// The earliest time something in this thread's subtree is due.
    pub fn next_due_ms(&self) -> Option<i64> {
        match &self.phase {
            Phase::Waiting { until_ms, .. } | Phase::Backoff { until_ms } => Some(*until_ms),
            Phase::Task(task) => [task.timeout_at_ms, task.heartbeat_at_ms]
                .into_iter()
                .flatten()
                .min(),
            Phase::Branches(b) => b.branches.iter().filter_map(Thread::next_due_ms).min(),
            Phase::Iterations(i) => i.running.iter().filter_map(|(_, t)| t.next_due_ms()).min(),
            _ => None,
        }
    }

    /// Chains the thread waiting on the run of task `task_id` to event `event` (the run's
    /// next events follow it).
    pub fn chain_map_run(&mut self, task_id: u64, event: u64) {
        match &mut self.phase {
            Phase::MapRun(run) if run.task_id == task_id => self.last_event = event,
            Phase::Branches(b) => b
                .branches
                .iter_mut()
                .for_each(|t| t.chain_map_run(task_id, event)),
            Phase::Iterations(i) => i
                .running
                .iter_mut()
                .for_each(|(_, t)| t.chain_map_run(task_id, event)),
            _ => {}
        }
    }

    /// What is outstanding in this subtree: task ids, and the task ids of Distributed Map runs.
    pub fn open_tasks(&self, tasks: &mut Vec<u64>, runs: &mut Vec<u64>) {
        match &self.phase {
            Phase::Task(task) => tasks.push(task.task_id),
            Phase::MapRun(run) => runs.push(run.task_id),
            Phase::Branches(b) => b.branches.iter().for_each(|t| t.open_tasks(tasks, runs)),
            Phase::Iterations(i) => i
                .running
                .iter()
                .for_each(|(_, t)| t.open_tasks(tasks, runs)),
            _ => {}
        }
    }
}

impl Snapshot {
    /// When the engine must step this execution again even if nothing else happens.
    pub fn next_due_ms(&self) -> Option<i64> {
        if self.status != Status::Running {
            return None;
        }
        [self.root.next_due_ms(), self.deadline_ms, self.resume_at_ms]
            .into_iter()
            .flatten()
            .min()
    }
}
