//! Signals: the intents API nodes record for schedulers to apply, as stored in `signals.body`.
//! This enum is the contract between the two; both sides use it, neither parses JSON by hand.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Signal {
    /// StopExecution.
    Stop {
        error: Option<String>,
        cause: Option<String>,
    },
    /// A worker took an activity task.
    TaskStarted {
        task_id: u64,
        worker_name: String,
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
}
