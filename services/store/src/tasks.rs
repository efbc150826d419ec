//! Activity tasks as workers see them: taking one, reporting its result, heartbeats.
//! A result is recorded as a signal for the task's execution; a scheduler applies it.

use sqlx::{PgPool, Row};

use crate::Error;
use crate::signals::{self, Signal};

/// A task a worker took.
#[derive(Debug, Clone)]
pub struct Taken {
    pub token: String,
    pub input: String,
}

// Oldest first; SKIP LOCKED lets many polls on many nodes take different tasks at once.
const TAKE: &str = "
    UPDATE tasks SET status = 'STARTED', worker_name = $2, started_at = now()
    WHERE token = (
        SELECT token FROM tasks
        WHERE activity_arn = $1 AND status = 'SCHEDULED'
        ORDER BY scheduled_at
        LIMIT 1
        FOR UPDATE SKIP LOCKED)
    RETURNING token, input, execution_seq, task_id";

/// Takes the oldest scheduled task of the activity, if any, and records that it started.
pub async fn take(
    pool: &PgPool,
    activity_arn: &str,
    worker_name: Option<&str>,
) -> Result<Option<Taken>, Error> {
    let mut tx = pool.begin().await?;
    let Some(row) = sqlx::query(TAKE)
        .bind(activity_arn)
        .bind(worker_name)
        .fetch_optional(&mut *tx)
        .await?
    else {
        return Ok(None);
    };
    let execution_seq: i64 = row.try_get("execution_seq")?;
    let task_id: i64 = row.try_get("task_id")?;
    let signal = Signal::TaskStarted {
        task_id: u64::try_from(task_id).unwrap_or(0),
        worker_name: worker_name.unwrap_or_default().to_owned(),
    };
    signals::record(&mut tx, execution_seq, &signal).await?;
    let taken = Taken {
        token: row.try_get("token")?,
        input: row.try_get("input")?,
    };
    tx.commit().await?;
    Ok(Some(taken))
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

const LOCK_TASK: &str = "
    SELECT execution_seq, task_id, status FROM tasks WHERE token = $1 FOR UPDATE";
const CLOSE_TASK: &str = "UPDATE tasks SET status = 'CLOSED' WHERE token = $1";

/// Records a task's result, once: the task closes in the same transaction.
pub async fn report(pool: &PgPool, token: &str, outcome: Outcome) -> Result<Reported, Error> {
    let mut tx = pool.begin().await?;
    let Some(row) = sqlx::query(LOCK_TASK)
        .bind(token)
        .fetch_optional(&mut *tx)
        .await?
    else {
        return Ok(Reported::Unknown);
    };
    let status: String = row.try_get("status")?;
    if status == "CLOSED" {
        return Ok(Reported::Closed);
    }
    let execution_seq: i64 = row.try_get("execution_seq")?;
    let task_id = u64::try_from(row.try_get::<i64, _>("task_id")?).unwrap_or(0);
    let signal = match outcome {
        Outcome::Succeeded { output } => Signal::TaskSucceeded { task_id, output },
        Outcome::Failed { error, cause } => Signal::TaskFailed {
            task_id,
            error,
            cause,
        },
    };
    sqlx::query(CLOSE_TASK)
        .bind(token)
        .execute(&mut *tx)
        .await?;
    signals::record(&mut tx, execution_seq, &signal).await?;
    tx.commit().await?;
    Ok(Reported::Accepted)
}

const HEARTBEAT: &str = "
    UPDATE tasks SET last_heartbeat_at = now() WHERE token = $1 AND status <> 'CLOSED'
    RETURNING token";
const TASK_EXISTS: &str = "SELECT status FROM tasks WHERE token = $1";

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
