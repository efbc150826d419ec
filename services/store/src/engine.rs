//! What schedulers do in the database: claim due executions, take their signals, and write each
//! execution's step (history, snapshot, status, next due time) in the same transaction.
//!
//! A scheduler holds the row locks of its claimed executions for the whole transaction, so only
//! one scheduler advances an execution at a time, and a crash anywhere before the commit leaves
//! everything as it was: the executions are claimed again later.

use std::collections::HashSet;

use serde_json::Value;
use sqlx::{PgConnection, Row};
use time::OffsetDateTime;

use crate::Error;
use crate::signals::{self, Event};
use crate::text;

/// An execution claimed for one step.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Claimed {
    pub seq: i64,
    pub arn: String,
    pub state_machine_arn: String,
    pub name: String,
    pub definition: String,
    pub role_arn: String,
    pub input: String,
    pub snapshot: Option<String>,
    pub started_at: OffsetDateTime,
    pub history_length: i32,
    /// Set when a `states:startExecution` task started this execution.
    pub parent_token: Option<String>,
    pub state_machine_version_arn: Option<String>,
    pub state_machine_alias_arn: Option<String>,
    /// Set for a child of a Distributed Map's run, with the items it runs (none: one).
    pub map_run_seq: Option<i64>,
    pub map_items: Option<i32>,
}

// Oldest due first; SKIP LOCKED lets several schedulers claim disjoint batches at once.
const CLAIM: &str = "
    SELECT seq, arn, state_machine_arn, name, definition, role_arn, input, snapshot, started_at,
        history_length, parent_token, state_machine_version_arn, state_machine_alias_arn,
        map_run_seq, map_items
    FROM executions
    WHERE due_at <= now()
    ORDER BY due_at
    LIMIT $1
    FOR UPDATE SKIP LOCKED";

pub async fn claim(tx: &mut PgConnection, limit: i64) -> Result<Vec<Claimed>, Error> {
    Ok(sqlx::query_as(CLAIM).bind(limit).fetch_all(tx).await?)
}

const CLAIM_ONE: &str = "
    SELECT seq, arn, state_machine_arn, name, definition, role_arn, input, snapshot, started_at,
        history_length, parent_token, state_machine_version_arn, state_machine_alias_arn,
        map_run_seq, map_items
    FROM executions
    WHERE seq = $1 AND due_at <= now()
    FOR UPDATE SKIP LOCKED";

/// Claims one execution of a batch that could not be written, to step it alone; `None` when it
/// is no longer due or another scheduler holds it.
pub async fn claim_one(tx: &mut PgConnection, seq: i64) -> Result<Option<Claimed>, Error> {
    Ok(sqlx::query_as(CLAIM_ONE)
        .bind(seq)
        .fetch_optional(tx)
        .await?)
}

const TAKE_SIGNALS: &str = "
    DELETE FROM signals WHERE execution_seq = ANY($1)
    RETURNING seq, execution_seq, task_id, body, created_at";

/// Removes and returns the signals of these executions, oldest first. Deleted in the step's
/// transaction: if the step does not commit, the signals are still there for the next claim.
pub async fn take_signals(
    tx: &mut PgConnection,
    executions: &[i64],
) -> Result<Vec<(i64, Result<Event, String>)>, Error> {
    let rows = sqlx::query(TAKE_SIGNALS)
        .bind(executions)
        .fetch_all(tx)
        .await?;
    let mut signals = rows
        .iter()
        .map(|row| {
            let seq: i64 = row.try_get("seq")?;
            let execution: i64 = row.try_get("execution_seq")?;
            let task_id: Option<i64> = row.try_get("task_id")?;
            let body: String = row.try_get("body")?;
            let created: OffsetDateTime = row.try_get("created_at")?;
            let created_ms = i64::try_from(created.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
            // A body this build cannot read is reported to the caller, not dropped silently.
            let signal = signals::read(&body, task_id, created_ms);
            Ok((seq, execution, signal))
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    signals.sort_by_key(|(seq, _, _)| *seq);
    Ok(signals
        .into_iter()
        .map(|(_, execution, body)| (execution, body))
        .collect())
}

/// The outcome of one step of one execution.
#[derive(Debug, Clone)]
pub struct Step {
    pub seq: i64,
    pub state_machine_arn: String,
    pub snapshot: String,
    pub status: String,
    pub output: Option<String>,
    pub error: Option<String>,
    pub cause: Option<String>,
    /// Set when the execution ended in this step.
    pub stopped_at: Option<OffsetDateTime>,
    pub due_at: Option<OffsetDateTime>,
    /// New history events: (id, JSON text).
    pub events: Vec<(i32, String)>,
}

// One statement for all events of the batch, and one for all execution rows.
const INSERT_EVENTS: &str = "
    INSERT INTO history_events (execution_seq, id, event)
    SELECT * FROM UNNEST($1::bigint[], $2::integer[], $3::text[])";

const UPDATE_EXECUTIONS: &str = "
    UPDATE executions AS e SET
        snapshot = u.snapshot,
        status = u.status,
        output = u.output,
        error = u.error,
        cause = u.cause,
        stopped_at = COALESCE(u.stopped_at, e.stopped_at),
        due_at = u.due_at,
        history_length = e.history_length + u.new_events
    FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                $7::timestamptz[], $8::timestamptz[], $9::integer[])
        AS u(seq, snapshot, status, output, error, cause, stopped_at, due_at, new_events)
    WHERE e.seq = u.seq";

/// Writes the steps of a batch.
pub async fn apply(tx: &mut PgConnection, steps: &[Step]) -> Result<(), Error> {
    let (mut event_execs, mut event_ids, mut event_texts) = (Vec::new(), Vec::new(), Vec::new());
    for step in steps {
        for (id, text) in &step.events {
            event_execs.push(step.seq);
            event_ids.push(*id);
            event_texts.push(text.as_str());
        }
    }
    if !event_ids.is_empty() {
        sqlx::query(INSERT_EVENTS)
            .bind(&event_execs)
            .bind(&event_ids)
            .bind(&event_texts)
            .execute(&mut *tx)
            .await?;
    }
    let seqs: Vec<i64> = steps.iter().map(|s| s.seq).collect();
    let snapshots: Vec<&str> = steps.iter().map(|s| s.snapshot.as_str()).collect();
    let statuses: Vec<&str> = steps.iter().map(|s| s.status.as_str()).collect();
    let outputs: Vec<Option<&str>> = steps.iter().map(|s| s.output.as_deref()).collect();
    let errors: Vec<Option<String>> = steps
        .iter()
        .map(|s| s.error.as_deref().map(text::encode))
        .collect();
    let causes: Vec<Option<String>> = steps
        .iter()
        .map(|s| s.cause.as_deref().map(text::encode))
        .collect();
    let stopped: Vec<Option<OffsetDateTime>> = steps.iter().map(|s| s.stopped_at).collect();
    let due: Vec<Option<OffsetDateTime>> = steps.iter().map(|s| s.due_at).collect();
    let counts: Vec<i32> = steps
        .iter()
        .map(|s| i32::try_from(s.events.len()).unwrap_or(i32::MAX))
        .collect();
    sqlx::query(UPDATE_EXECUTIONS)
        .bind(&seqs)
        .bind(&snapshots)
        .bind(&statuses)
        .bind(&outputs)
        .bind(&errors)
        .bind(&causes)
        .bind(&stopped)
        .bind(&due)
        .bind(&counts)
        .execute(&mut *tx)
        .await?;
    let ended: Vec<&str> = steps
        .iter()
        .filter(|s| s.stopped_at.is_some())
        .map(|s| s.state_machine_arn.as_str())
        .collect();
    if !ended.is_empty() {
        sqlx::query(DELETE_FINISHED_MACHINES)
            .bind(&ended)
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

/// A machine marked DELETING goes once its last running execution has ended.
const DELETE_FINISHED_MACHINES: &str = "
    DELETE FROM state_machines AS sm
    WHERE sm.status = 'DELETING' AND sm.arn = ANY($1)
      AND NOT EXISTS (SELECT 1 FROM executions e WHERE e.state_machine_arn = sm.arn AND e.status = 'RUNNING')";

// A `.sync` parent learns that its child ended: its task closes and the child's description
// is recorded as a signal for it. Only `.sync` children carry their parent's token.
const COMPLETE_PARENTS: &str = "
    WITH ended AS (
        SELECT * FROM UNNEST($1::text[], $2::text[]) AS u(token, body)
    ), closed AS (
        UPDATE tasks SET status = 'CLOSED'
        FROM ended
        WHERE tasks.token = ended.token AND tasks.status <> 'CLOSED'
        RETURNING tasks.execution_seq, tasks.task_id, ended.body
    ), signalled AS (
        INSERT INTO signals (execution_seq, task_id, body)
        SELECT execution_seq, task_id, body FROM closed
    )
    UPDATE executions SET due_at = now()
    WHERE seq IN (SELECT execution_seq FROM closed) AND status = 'RUNNING'";

/// Tells the parents of child executions that ended in this batch: `(parent task token,
/// Event::ChildEnded)`. Run after [`apply`], in its transaction. Returns how many executions
/// it made due.
pub async fn complete_parents(
    tx: &mut PgConnection,
    ended: &[(String, Event)],
) -> Result<u64, Error> {
    if ended.is_empty() {
        return Ok(0);
    }
    let tokens: Vec<&str> = ended.iter().map(|(token, _)| token.as_str()).collect();
    let bodies: Vec<String> = ended
        .iter()
        .map(|(_, signal)| signals::body(signal))
        .collect();
    let due = sqlx::query(COMPLETE_PARENTS)
        .bind(&tokens)
        .bind(&bodies)
        .execute(tx)
        .await?
        .rows_affected();
    Ok(due)
}

const PARK: &str = "UPDATE executions SET due_at = NULL WHERE seq = $1";

/// Makes an execution no longer due: for one whose every write the database refuses, so that
/// no scheduler retries it without end. It waits for a signal (a stop) like any other.
pub async fn park(pool: &sqlx::PgPool, seq: i64) -> Result<(), Error> {
    sqlx::query(PARK).bind(seq).execute(pool).await?;
    Ok(())
}

const NEXT_DUE: &str = "SELECT min(due_at) FROM executions WHERE due_at IS NOT NULL";

/// When the next execution falls due (schedulers sleep until then, or a notification).
pub async fn next_due(pool: &sqlx::PgPool) -> Result<Option<OffsetDateTime>, Error> {
    let row = sqlx::query(NEXT_DUE).fetch_one(pool).await?;
    Ok(row.try_get(0)?)
}

const INSERT_TASK: &str = "
    INSERT INTO tasks (token, execution_seq, task_id, activity_arn, input)
    SELECT * FROM UNNEST($1::text[], $2::bigint[], $3::bigint[], $4::text[], $5::text[])
    ON CONFLICT (execution_seq, task_id) DO NOTHING";
// Tasks whose state ended, and every open task of an execution that ended; their tokens come
// back so that the children they started can be stopped (see [`stop_children`]).
const CLOSE_TASKS: &str = "
    UPDATE tasks SET status = 'CLOSED'
    FROM UNNEST($1::bigint[], $2::bigint[]) AS c(execution_seq, task_id)
    WHERE tasks.execution_seq = c.execution_seq AND tasks.task_id = c.task_id
      AND tasks.status <> 'CLOSED'
    RETURNING tasks.token";
const CLOSE_ENDED: &str = "
    UPDATE tasks SET status = 'CLOSED'
    WHERE execution_seq = ANY($1) AND status <> 'CLOSED'
    RETURNING token";
const INSERT_CALLS: &str = "
    INSERT INTO tasks (token, execution_seq, task_id, activity_arn, input, call)
    SELECT * FROM UNNEST($1::text[], $2::bigint[], $3::bigint[], $4::text[], $5::text[],
                         $6::text[])
    ON CONFLICT (execution_seq, task_id) DO NOTHING";
const NOTIFY_TASKS: &str = "SELECT pg_notify('switchback_tasks', $1)";

/// An activity task a step scheduled.
#[derive(Debug, Clone)]
pub struct NewTask {
    pub token: String,
    pub execution_seq: i64,
    pub task_id: i64,
    pub activity_arn: String,
    pub input: String,
}

/// A call an integration task makes (see `calls`).
#[derive(Debug, Clone)]
pub struct NewCall {
    pub token: String,
    pub execution_seq: i64,
    pub task_id: i64,
    /// The task's `Resource`.
    pub resource: String,
    /// What the call sends, for the record (`tasks.input`).
    pub input: String,
    /// The interpreter's `Invocation`.
    pub call: Value,
}

/// Records scheduled tasks and calls and closes cancelled ones (and every open task of the
/// executions in `ended`), in the step's transaction; waiting workers of each activity are
/// notified on commit. Returns the tokens of the tasks it closed.
pub async fn write_tasks(
    tx: &mut PgConnection,
    new: &[NewTask],
    calls: &[NewCall],
    closed: &[(i64, i64)],
    ended: &[i64],
) -> Result<Vec<String>, Error> {
    if !calls.is_empty() {
        let tokens: Vec<&str> = calls.iter().map(|c| c.token.as_str()).collect();
        let executions: Vec<i64> = calls.iter().map(|c| c.execution_seq).collect();
        let ids: Vec<i64> = calls.iter().map(|c| c.task_id).collect();
        let resources: Vec<&str> = calls.iter().map(|c| c.resource.as_str()).collect();
        let inputs: Vec<&str> = calls.iter().map(|c| c.input.as_str()).collect();
        let bodies: Vec<String> = calls.iter().map(|c| c.call.to_string()).collect();
        sqlx::query(INSERT_CALLS)
            .bind(&tokens)
            .bind(&executions)
            .bind(&ids)
            .bind(&resources)
            .bind(&inputs)
            .bind(&bodies)
            .execute(&mut *tx)
            .await?;
    }
    if !new.is_empty() {
        let tokens: Vec<&str> = new.iter().map(|t| t.token.as_str()).collect();
        let executions: Vec<i64> = new.iter().map(|t| t.execution_seq).collect();
        let ids: Vec<i64> = new.iter().map(|t| t.task_id).collect();
        let activities: Vec<&str> = new.iter().map(|t| t.activity_arn.as_str()).collect();
        let inputs: Vec<&str> = new.iter().map(|t| t.input.as_str()).collect();
        sqlx::query(INSERT_TASK)
            .bind(&tokens)
            .bind(&executions)
            .bind(&ids)
            .bind(&activities)
            .bind(&inputs)
            .execute(&mut *tx)
            .await?;
        let mut notified: Vec<&str> = activities.clone();
        notified.sort_unstable();
        notified.dedup();
        for activity in notified {
            sqlx::query(NOTIFY_TASKS)
                .bind(activity)
                .execute(&mut *tx)
                .await?;
        }
    }
    let mut tokens = Vec::new();
    if !closed.is_empty() {
        let executions: Vec<i64> = closed.iter().map(|c| c.0).collect();
        let ids: Vec<i64> = closed.iter().map(|c| c.1).collect();
        let rows = sqlx::query(CLOSE_TASKS)
            .bind(&executions)
            .bind(&ids)
            .fetch_all(&mut *tx)
            .await?;
        for row in rows {
            tokens.push(row.try_get("token")?);
        }
    }
    if !ended.is_empty() {
        let rows = sqlx::query(CLOSE_ENDED)
            .bind(ended)
            .fetch_all(&mut *tx)
            .await?;
        for row in rows {
            tokens.push(row.try_get("token")?);
        }
    }
    Ok(tokens)
}

// Children started by `.sync` tasks that closed: they are stopped as StopExecution would.
const STOP_CHILDREN: &str = "
    WITH children AS (
        SELECT seq FROM executions WHERE parent_token = ANY($1) AND status = 'RUNNING'
    ), stopped AS (
        INSERT INTO signals (execution_seq, body)
        SELECT seq, $2 FROM children
    )
    UPDATE executions SET due_at = now() WHERE seq IN (SELECT seq FROM children)";

/// Stops the executions that tasks with these tokens started. Run after [`apply`], in its
/// transaction, so that a child stepped in the same batch is not left with its own due time.
/// Returns how many executions it made due.
pub async fn stop_children(tx: &mut PgConnection, tokens: &[String]) -> Result<u64, Error> {
    if tokens.is_empty() {
        return Ok(0);
    }
    let stop = Event::Stop {
        error: None,
        cause: None,
    };
    Ok(sqlx::query(STOP_CHILDREN)
        .bind(tokens)
        .bind(signals::body(&stop))
        .execute(tx)
        .await?
        .rows_affected())
}

const HEARTBEATS: &str = "
    SELECT execution_seq, task_id, last_heartbeat_at FROM tasks
    WHERE execution_seq = ANY($1) AND status <> 'CLOSED' AND last_heartbeat_at IS NOT NULL";

/// The latest heartbeat of each started task of these executions: (execution, task, time).
pub async fn heartbeats(
    tx: &mut PgConnection,
    executions: &[i64],
) -> Result<Vec<(i64, i64, OffsetDateTime)>, Error> {
    let rows = sqlx::query(HEARTBEATS)
        .bind(executions)
        .fetch_all(tx)
        .await?;
    rows.iter()
        .map(|row| {
            Ok((
                row.try_get("execution_seq")?,
                row.try_get("task_id")?,
                row.try_get("last_heartbeat_at")?,
            ))
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Error::from)
}

const EXISTING_ACTIVITIES: &str = "SELECT arn FROM activities WHERE arn = ANY($1)";

/// Which of these activities exist (a step that scheduled a task for one that does not is
/// taken again: its state fails with States.Runtime, as in AWS).
pub async fn existing_activities(
    tx: &mut PgConnection,
    arns: &[String],
) -> Result<HashSet<String>, Error> {
    Ok(sqlx::query_scalar(EXISTING_ACTIVITIES)
        .bind(arns)
        .fetch_all(tx)
        .await?
        .into_iter()
        .collect())
}

/// Executions waiting for a scheduler: how many are due now, and how late the oldest is.
#[derive(Debug, Clone, Copy)]
pub struct Backlog {
    pub count: i64,
    pub oldest_age_seconds: f64,
}

const BACKLOG: &str = "
    SELECT count(*) AS count,
        COALESCE(EXTRACT(EPOCH FROM now() - min(due_at))::float8, 0) AS age
    FROM executions WHERE due_at <= now()";

pub async fn backlog(pool: &sqlx::PgPool) -> Result<Backlog, Error> {
    let row = sqlx::query(BACKLOG).fetch_one(pool).await?;
    Ok(Backlog {
        count: row.try_get("count")?,
        oldest_age_seconds: row.try_get("age")?,
    })
}
