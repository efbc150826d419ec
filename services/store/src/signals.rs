//! Signals: the intents API nodes, workers and outbound calls record for schedulers to apply.
//! Each is the interpreter's own [`Event`], stored as its JSON in `signals.body` and addressed
//! to its task by the task token (statements find the task's id; the body holds a
//! placeholder). Nothing else writes or parses that JSON.

use sqlx::PgConnection;
pub use switchback_asl::interpreter::Event;

use crate::Error;

/// The event as stored in `signals.body`: JSON text, which keeps every string whole (jsonb
/// could not hold the NUL character a worker's error may carry).
pub(crate) fn body(event: &Event) -> String {
    serde_json::to_string(event).unwrap_or_default()
}

/// Reads a stored event. `task_id`: the task a statement found for it by its token (the body
/// then holds a placeholder); `created_ms`: when it was recorded, for a start without a time.
pub(crate) fn read(body: &str, task_id: Option<i64>, created_ms: i64) -> Result<Event, String> {
    let mut event = serde_json::from_str::<Event>(body).map_err(|e| e.to_string())?;
    let found = task_id.and_then(|id| u64::try_from(id).ok());
    match &mut event {
        Event::TaskStarted { task_id, at_ms, .. } => {
            *task_id = found.unwrap_or(*task_id);
            if *at_ms == 0 {
                *at_ms = created_ms;
            }
        }
        Event::TaskHeartbeat { task_id, .. }
        | Event::TaskSucceeded { task_id, .. }
        | Event::TaskFailed { task_id, .. }
        | Event::TaskSubmitted { task_id, .. }
        | Event::ChildEnded { task_id, .. }
        | Event::MapRunEnded { task_id, .. } => *task_id = found.unwrap_or(*task_id),
        Event::Stop { .. } | Event::Tick | Event::Redrive => {}
    }
    Ok(event)
}

const INSERT_SIGNAL: &str = "INSERT INTO signals (execution_seq, body) VALUES ($1, $2)";
const MAKE_DUE: &str = "UPDATE executions SET due_at = now() WHERE seq = $1 AND status = 'RUNNING'";
/// Records `signal` for the execution and makes it due now, in the caller's transaction. The
/// caller wakes schedulers after the commit (see `notify::Coalescer`).
pub(crate) async fn record(
    tx: &mut PgConnection,
    execution_seq: i64,
    signal: &Event,
) -> Result<(), Error> {
    sqlx::query(INSERT_SIGNAL)
        .bind(execution_seq)
        .bind(body(signal))
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
    use super::{Event, body, read};

    #[test]
    fn stored_signals_keep_nul_characters() {
        let signal = Event::TaskFailed {
            task_id: 0,
            error: "Bad\0Error".into(),
            cause: "fine".into(),
        };
        let body = body(&signal);
        assert!(!body.contains('\0'));
        let read = read(&body, Some(7), 0).expect("readable");
        assert_eq!(
            read,
            Event::TaskFailed {
                task_id: 7,
                error: "Bad\0Error".into(),
                cause: "fine".into(),
            }
        );
    }

    #[test]
    fn a_start_without_a_time_takes_the_recording_time() {
        let body = body(&Event::TaskStarted {
            task_id: 0,
            worker_name: "w".into(),
            at_ms: 0,
        });
        let read = read(&body, Some(3), 1_000).expect("readable");
        assert_eq!(
            read,
            Event::TaskStarted {
                task_id: 3,
                worker_name: "w".into(),
                at_ms: 1_000,
            }
        );
    }
}
