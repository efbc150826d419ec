//! Activity tasks as workers see them: taking one, reporting its result, heartbeats.
//! A result is recorded as a signal for the task's execution; a scheduler applies it.

use sqlx::{PgPool, Row};

use crate::Error;
use crate::signals::{self, Event};
use crate::text;

/// A task a worker took.
#[derive(Debug, Clone)]
pub struct Taken {
    pub token: String,
    pub input: String,
}

// One statement: take the oldest scheduled task (SKIP LOCKED lets many polls on many nodes
// take different tasks at once), record ActivityStarted for the scheduler as a signal (the body
// is `signals::Event::TaskStarted`), and make the execution due.
//
// Lock order: a scheduler locks an execution, then its tasks (to close them). This statement
// locks a task and then its execution, so it must never wait for the execution: when a
// scheduler (or another worker's statement) holds it, the task is left for a moment and the
// statement answers `picked` without `token`; the caller tries again.
const TAKE: &str = "
    WITH picked AS MATERIALIZED (
        SELECT token, execution_seq FROM tasks
        WHERE activity_arn = $1 AND status = 'SCHEDULED' AND call IS NULL
        ORDER BY scheduled_at
        LIMIT 1
        FOR UPDATE SKIP LOCKED
    ), running AS MATERIALIZED (
        SELECT seq FROM executions
        WHERE seq = (SELECT execution_seq FROM picked)
        FOR UPDATE SKIP LOCKED
    ), taken AS (
        UPDATE tasks SET status = 'STARTED', worker_name = $2, started_at = now()
        WHERE token = (SELECT token FROM picked) AND EXISTS (SELECT 1 FROM running)
        RETURNING token, input, execution_seq, task_id
    ), signalled AS (
        INSERT INTO signals (execution_seq, task_id, body)
        SELECT execution_seq, task_id, $3 FROM taken
    ), due AS (
        UPDATE executions SET due_at = now()
        WHERE seq = (SELECT execution_seq FROM taken) AND status = 'RUNNING'
    )
    SELECT picked.token AS picked, taken.token, taken.input
    FROM picked LEFT JOIN taken ON true";

/// What a poll found.
#[derive(Debug, Clone)]
pub enum Take {
    Taken(Taken),
    /// No task is scheduled.
    Nothing,
    /// A task is scheduled, but its execution was busy (a scheduler was stepping it): ask
    /// again in a moment.
    Busy,
}

/// Takes the oldest scheduled task of the activity, if any, and records that it started.
pub async fn take(
    pool: &PgPool,
    activity_arn: &str,
    worker_name: Option<&str>,
) -> Result<Take, Error> {
    // The task id and the time are filled in when the signal is read.
    let started = Event::TaskStarted {
        task_id: 0,
        worker_name: worker_name.unwrap_or_default().to_owned(),
        at_ms: 0,
    };
    let row = sqlx::query(TAKE)
        .bind(activity_arn)
        .bind(worker_name.map(text::encode))
        .bind(signals::body(&started))
        .fetch_optional(pool)
        .await?;
    let Some(row) = row else {
        return Ok(Take::Nothing);
    };
    let token: Option<String> = row.try_get("token")?;
    Ok(match token {
        Some(token) => Take::Taken(Taken {
            token,
            input: row.try_get("input")?,
        }),
        None => Take::Busy,
    })
}

/// What a worker's report found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reported {
    Accepted,
    /// No task ever had this token.
    Unknown,
    /// The task ended: it was completed, timed out, or its execution stopped.
    Closed,
}

/// How a worker finished a task.
#[derive(Debug, Clone)]
pub enum Outcome {
    Succeeded { output: String },
    Failed { error: String, cause: String },
}

// One statement: close the task (once: a closed task is not matched), record its result as a
// signal with the task's id filled in, and make the execution due. The execution is locked
// before the task (a scheduler's order: see `TAKE`), waiting while a scheduler steps it.
const REPORT: &str = "
    WITH execution AS MATERIALIZED (
        SELECT e.seq FROM tasks t JOIN executions e ON e.seq = t.execution_seq
        WHERE t.token = $1
        FOR UPDATE OF e
    ), closed AS (
        UPDATE tasks SET status = 'CLOSED'
        WHERE token = $1 AND status <> 'CLOSED'
          AND execution_seq = (SELECT seq FROM execution)
        RETURNING execution_seq, task_id
    ), signalled AS (
        INSERT INTO signals (execution_seq, task_id, body)
        SELECT execution_seq, task_id, $2 FROM closed
    ), due AS (
        UPDATE executions SET due_at = now()
        WHERE seq = (SELECT execution_seq FROM closed) AND status = 'RUNNING'
    )
    SELECT execution_seq FROM closed";
const TASK_EXISTS: &str = "SELECT status FROM tasks WHERE token = $1";

/// Records a task's result, once: the task closes in the same statement.
pub async fn report(pool: &PgPool, token: &str, outcome: Outcome) -> Result<Reported, Error> {
    // The task id is filled in by the statement; 0 is a placeholder.
    let signal = match outcome {
        Outcome::Succeeded { output } => Event::TaskSucceeded { task_id: 0, output },
        Outcome::Failed { error, cause } => Event::TaskFailed {
            task_id: 0,
            error,
            cause,
        },
    };
    let closed = sqlx::query(REPORT)
        .bind(token)
        .bind(signals::body(&signal))
        .fetch_optional(pool)
        .await?;
    if closed.is_some() {
        return Ok(Reported::Accepted);
    }
    Ok(
        match sqlx::query(TASK_EXISTS)
            .bind(token)
            .fetch_optional(pool)
            .await?
        {
            Some(_) => Reported::Closed,
            None => Reported::Unknown,
        },
    )
}

const HEARTBEAT: &str = "
    UPDATE tasks SET last_heartbeat_at = now() WHERE token = $1 AND status <> 'CLOSED'
    RETURNING token";
/// Notes that the worker is alive. Only the task row changes: a scheduler reads the time when
/// the heartbeat deadline comes, so heartbeats cost no scheduler work.
pub async fn heartbeat(pool: &PgPool, token: &str) -> Result<Reported, Error> {
    if sqlx::query(HEARTBEAT)
        .bind(token)
        .fetch_optional(pool)
        .await?
        .is_some()
    {
        return Ok(Reported::Accepted);
    }
    Ok(
        match sqlx::query(TASK_EXISTS)
            .bind(token)
            .fetch_optional(pool)
            .await?
        {
            Some(_) => Reported::Closed,
            None => Reported::Unknown,
        },
    )
}
