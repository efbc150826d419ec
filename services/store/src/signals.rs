//! Signals: the intents API nodes record for schedulers to apply, as stored in `signals.body`.
//! This enum is the contract between the two; both sides use it, neither parses JSON by hand.

use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use switchback_asl::interpreter::ChildExecution;

use crate::Error;

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
        /// When the worker took the task, epoch milliseconds.
        #[serde(default)]
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
    /// An integration's call returned and its state now waits for a callback or a child.
    TaskSubmitted {
        task_id: u64,
        output: String,
    },
    /// A child execution started by a `.sync` task ended.
    ChildEnded {
        task_id: u64,
        child: ChildExecution,
    },
}

impl Signal {
    /// The signal as stored in `signals.body`: JSON text, which keeps every string whole
    /// (jsonb could not hold the NUL character a worker's error may carry).
    pub(crate) fn body(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads a stored signal. `task_id`: the task a statement found for it (the body then
    /// holds a placeholder); `created_ms`: when it was recorded, for a start without a time.
    pub(crate) fn read(body: &str, task_id: Option<i64>, created_ms: i64) -> Result<Self, String> {
        let mut signal = serde_json::from_str::<Signal>(body).map_err(|e| e.to_string())?;
        let found = task_id.and_then(|id| u64::try_from(id).ok());
        match &mut signal {
            Signal::TaskStarted { task_id, at_ms, .. } => {
                *task_id = found.unwrap_or(*task_id);
                if *at_ms == 0 {
                    *at_ms = created_ms;
                }
            }
            Signal::TaskSucceeded { task_id, .. }
            | Signal::TaskFailed { task_id, .. }
            | Signal::TaskSubmitted { task_id, .. }
            | Signal::ChildEnded { task_id, .. } => *task_id = found.unwrap_or(*task_id),
            Signal::Stop { .. } => {}
        }
        Ok(signal)
    }
}

const INSERT_SIGNAL: &str = "INSERT INTO signals (execution_seq, body) VALUES ($1, $2)";
const MAKE_DUE: &str = "UPDATE executions SET due_at = now() WHERE seq = $1 AND status = 'RUNNING'";
/// Records `signal` for the execution and makes it due now, in the caller's transaction. The
/// caller wakes schedulers after the commit (see `notify::Coalescer`).
pub(crate) async fn record(
    tx: &mut PgConnection,
    execution_seq: i64,
    signal: &Signal,
) -> Result<(), Error> {
    sqlx::query(INSERT_SIGNAL)
        .bind(execution_seq)
        .bind(signal.body())
        .execute(&mut *tx)
        .await?;
    sqlx::query(MAKE_DUE)
        .bind(execution_seq)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::Signal;

    #[test]
    fn stored_signals_keep_nul_characters() {
        let signal = Signal::TaskFailed {
            task_id: 0,
            error: "Bad\0Error".into(),
            cause: "fine".into(),
        };
        let body = signal.body();
        assert!(!body.contains('\0'));
        let read = Signal::read(&body, Some(7), 0).expect("readable");
        assert_eq!(
            read,
            Signal::TaskFailed {
                task_id: 7,
                error: "Bad\0Error".into(),
                cause: "fine".into(),
            }
        );
    }

    #[test]
    fn a_start_without_a_time_takes_the_recording_time() {
        let body = Signal::TaskStarted {
            task_id: 0,
            worker_name: "w".into(),
            at_ms: 0,
        }
        .body();
        let read = Signal::read(&body, Some(3), 1_000).expect("readable");
        assert_eq!(
            read,
            Signal::TaskStarted {
                task_id: 3,
                worker_name: "w".into(),
                at_ms: 1_000,
            }
        );
    }
}
