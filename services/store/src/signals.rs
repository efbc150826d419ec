//! Signals: the intents API nodes record for schedulers to apply, as stored in `signals.body`.
//! This enum is the contract between the two; both sides use it, neither parses JSON by hand.

use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use sqlx::types::Json;
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
    /// The signal as stored in `signals.body`. jsonb cannot hold the NUL character, which a
    /// worker's error or a function's error type may carry; it becomes U+FFFD there.
    pub(crate) fn stored(&self) -> serde_json::Value {
        let mut value = serde_json::to_value(self).unwrap_or(serde_json::Value::Null);
        scrub(&mut value);
        value
    }
}

fn scrub(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(s) if s.contains('\0') => *s = s.replace('\0', "\u{FFFD}"),
        serde_json::Value::Array(items) => items.iter_mut().for_each(scrub),
        serde_json::Value::Object(fields) => fields.values_mut().for_each(scrub),
        _ => {}
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
        .bind(Json(signal.stored()))
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
    fn stored_signals_hold_no_nul_character() {
        let signal = Signal::TaskFailed {
            task_id: 1,
            error: "Bad\0Error".into(),
            cause: "fine".into(),
        };
        let stored = signal.stored();
        assert_eq!(stored["error"], "Bad\u{FFFD}Error");
        assert_eq!(stored["cause"], "fine");
        assert_eq!(stored["kind"], "task_failed");
    }
}
