//! Activity tasks as workers see them: taking one, reporting its result, heartbeats.
//! A result is recorded as a signal for the task's execution; a scheduler applies it.

use sqlx::{PgPool, Row};

use crate::signals::{self, Event};
use crate::text;
use crate::{Error, Scope};

/// A task a worker took.
#[derive(Debug, Clone)]
pub struct Taken {
    pub token: String,
    pub input: String,
}

// One statement: take the oldest scheduled task whose execution is free (SKIP LOCKED lets many
// polls on many nodes take different tasks at once), record ActivityStarted for the scheduler
// as a signal (the body is `signals::Event::TaskStarted`), and make the execution due.
//
// Lock order: a scheduler locks an execution, then its tasks (to close them). A poll must pick
// its task first, so it never waits for either row: it skips a task whose execution a
// scheduler (or another worker's statement) holds, and takes the next. Only the tasks of
// executions in the poll's account and region ($4, $5) are handed out: a state machine naming
// another account's activity feeds no one of that account. `waiting` tells a poll
// that found nothing free whether tasks are scheduled all the same (busy: ask again soon).
const TAKE: &str = "
    WITH picked AS MATERIALIZED (
        SELECT t.token, t.execution_seq FROM tasks t
        JOIN executions e ON e.seq = t.execution_seq
        WHERE t.activity_arn = $1 AND t.status = 'SCHEDULED' AND t.call IS NULL
          AND e.account = $4 AND e.region = $5
        ORDER BY t.scheduled_at
        LIMIT 1
        FOR UPDATE OF t, e SKIP LOCKED
    ), taken AS (
        UPDATE tasks SET status = 'STARTED', worker_name = $2, started_at = now()
        WHERE token = (SELECT token FROM picked)
        RETURNING token, input, execution_seq, task_id
    ), signalled AS (
        INSERT INTO signals (execution_seq, task_id, body)
        SELECT execution_seq, task_id, $3 FROM taken
    ), due AS (
        UPDATE executions SET due_at = now()
        WHERE seq = (SELECT execution_seq FROM taken) AND status = 'RUNNING'
    )
    SELECT taken.token, taken.input,
        -- Looked for only when nothing was taken (CASE evaluates its branch lazily).
        CASE WHEN taken.token IS NULL THEN EXISTS (
            SELECT 1 FROM tasks w JOIN executions we ON we.seq = w.execution_seq
            WHERE w.activity_arn = $1 AND w.status = 'SCHEDULED' AND w.call IS NULL
              AND we.account = $4 AND we.region = $5) ELSE false END AS waiting
    FROM (SELECT 1) AS one LEFT JOIN taken ON true";

/// What a poll found.
#[derive(Debug, Clone)]
pub enum Take {
    Taken(Taken),
    /// No task is scheduled.
    Nothing,
    /// Tasks are scheduled, but every one's execution was busy (a scheduler was stepping it):
    /// ask again in a moment.
    Busy,
}

/// Takes the oldest scheduled task of the activity, if any, and records that it started.
pub async fn take(
    pool: &PgPool,
    scope: &Scope,
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
        .bind(&scope.account)
        .bind(&scope.region)
        .fetch_optional(pool)
        .await?;
    let Some(row) = row else {
        return Ok(Take::Nothing);
    };
    let token: Option<String> = row.try_get("token")?;
    let waiting: bool = row.try_get("waiting")?;
    Ok(match token {
        Some(token) => Take::Taken(Taken {
            token,
            input: row.try_get("input")?,
        }),
        None if waiting => Take::Busy,
        None => Take::Nothing,
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
// A token acts only in the account and region of its execution ($3, $4): elsewhere it is one
// that was never issued.
const REPORT: &str = "
    WITH execution AS MATERIALIZED (
        SELECT e.seq FROM tasks t JOIN executions e ON e.seq = t.execution_seq
        WHERE t.token = $1 AND e.account = $3 AND e.region = $4
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
const TASK_EXISTS: &str = "
    SELECT t.status FROM tasks t JOIN executions e ON e.seq = t.execution_seq
    WHERE t.token = $1 AND e.account = $2 AND e.region = $3";

/// Records a task's result, once: the task closes in the same statement.
pub async fn report(
    pool: &PgPool,
    scope: &Scope,
    token: &str,
    outcome: Outcome,
) -> Result<Reported, Error> {
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
        .bind(&scope.account)
        .bind(&scope.region)
        .fetch_optional(pool)
        .await?;
    if closed.is_some() {
        return Ok(Reported::Accepted);
    }
    closed_or_unknown(pool, scope, token).await
}

/// Why a token matched no open task: its task ended, or there is none in this scope.
async fn closed_or_unknown(pool: &PgPool, scope: &Scope, token: &str) -> Result<Reported, Error> {
    Ok(
        match sqlx::query(TASK_EXISTS)
            .bind(token)
            .bind(&scope.account)
            .bind(&scope.region)
            .fetch_optional(pool)
            .await?
        {
            Some(_) => Reported::Closed,
            None => Reported::Unknown,
        },
    )
}

const HEARTBEAT: &str = "
    UPDATE tasks t SET last_heartbeat_at = now()
    FROM executions e
    WHERE t.token = $1 AND t.status <> 'CLOSED'
      AND e.seq = t.execution_seq AND e.account = $2 AND e.region = $3
    RETURNING t.token";
/// Notes that the worker is alive. Only the task row changes: a scheduler reads the time when
/// the heartbeat deadline comes, so heartbeats cost no scheduler work.
pub async fn heartbeat(pool: &PgPool, scope: &Scope, token: &str) -> Result<Reported, Error> {
    if sqlx::query(HEARTBEAT)
        .bind(token)
        .bind(&scope.account)
        .bind(&scope.region)
        .fetch_optional(pool)
        .await?
        .is_some()
    {
        return Ok(Reported::Accepted);
    }
    closed_or_unknown(pool, scope, token).await
}
