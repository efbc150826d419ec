//! Calls: integration tasks (Lambda, HTTP, nested executions) that a scheduler makes outside
//! the database. A call is a `tasks` row with its description in `call`. A scheduler claims it
//! by taking a lease; if the scheduler dies, the lease expires and another one claims it again
//! (at least once). The result is recorded once: the statement that records it also moves the
//! row out of SCHEDULED, so a second result for the same call finds nothing to update.

use serde_json::Value;
use sqlx::{PgConnection, PgPool, Row};

use crate::Error;
use crate::signals::{self, Event};

/// A call a scheduler claimed, with what it needs to know of its execution.
#[derive(Debug, Clone)]
pub struct ClaimedCall {
    pub token: String,
    pub execution_seq: i64,
    /// The interpreter's `Invocation`.
    pub call: Value,
    /// 1 for the first try; more when an earlier lease expired.
    pub attempts: i32,
    pub execution_arn: String,
    pub state_machine_arn: String,
    pub test_case: Option<String>,
}

// Oldest first; SKIP LOCKED lets several schedulers claim disjoint calls at once. A lease that
// expired means its scheduler died or hung: the call is made again.
const CLAIM: &str = "
    WITH due AS (
        SELECT token FROM tasks
        WHERE call IS NOT NULL AND status = 'SCHEDULED'
          AND (lease_until IS NULL OR lease_until <= now())
        ORDER BY scheduled_at
        LIMIT $1
        FOR UPDATE SKIP LOCKED
    )
    UPDATE tasks t SET lease_until = now() + make_interval(secs => $2),
        call_attempts = t.call_attempts + 1
    FROM due, executions e
    WHERE t.token = due.token AND e.seq = t.execution_seq
    RETURNING t.token, t.execution_seq, t.call, t.call_attempts, e.arn, e.state_machine_arn,
        e.test_case";

/// Claims up to `limit` calls for `lease_seconds`.
pub async fn claim(
    pool: &PgPool,
    limit: i64,
    lease_seconds: f64,
) -> Result<Vec<ClaimedCall>, Error> {
    let rows = sqlx::query(CLAIM)
        .bind(limit)
        .bind(lease_seconds)
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|row| {
            let call: String = row.try_get("call")?;
            Ok(ClaimedCall {
                token: row.try_get("token")?,
                execution_seq: row.try_get("execution_seq")?,
                // Written by a scheduler from a serialized call; a row this build cannot read
                // fails its task (the caller reports it) rather than the claim.
                call: serde_json::from_str(&call).unwrap_or(Value::Null),
                attempts: row.try_get("call_attempts")?,
                execution_arn: row.try_get("arn")?,
                state_machine_arn: row.try_get("state_machine_arn")?,
                test_case: row.try_get("test_case")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Error::from)
}

// One statement: the call leaves SCHEDULED (STARTED when its state now waits for a callback or a
// child, else CLOSED), its results become signals in order with the task id filled in, and the
// execution is due. A call that was cancelled, or whose callback already came, matches nothing.
// The execution is locked before the task, as a scheduler's step locks them (see `tasks::TAKE`).
const RECORD: &str = "
    WITH execution AS MATERIALIZED (
        SELECT e.seq FROM tasks t JOIN executions e ON e.seq = t.execution_seq
        WHERE t.token = $1
        FOR UPDATE OF e
    ), done AS (
        UPDATE tasks SET status = CASE WHEN $3 THEN 'STARTED' ELSE 'CLOSED' END,
            lease_until = NULL, started_at = COALESCE(started_at, now())
        WHERE token = $1 AND status = 'SCHEDULED'
          AND execution_seq = (SELECT seq FROM execution)
        RETURNING execution_seq, task_id
    ), signalled AS (
        INSERT INTO signals (execution_seq, task_id, body)
        SELECT done.execution_seq, done.task_id, s.body
        FROM done, UNNEST($2::text[]) WITH ORDINALITY AS s(body, n)
        ORDER BY s.n
    ), due AS (
        UPDATE executions SET due_at = now()
        WHERE seq = (SELECT execution_seq FROM done) AND status = 'RUNNING'
    )
    SELECT execution_seq FROM done";

/// Records a call's results (their task id is filled in), in order. `waits`: the state goes on
/// waiting for a callback or a child execution. Returns false when the call was no longer
/// wanted.
pub async fn record(
    conn: &mut PgConnection,
    token: &str,
    signals: &[Event],
    waits: bool,
) -> Result<bool, Error> {
    let bodies: Vec<String> = signals.iter().map(signals::body).collect();
    Ok(sqlx::query(RECORD)
        .bind(token)
        .bind(&bodies)
        .bind(waits)
        .fetch_optional(conn)
        .await?
        .is_some())
}

// Only the scheduler that claimed the call (its attempt number) extends its lease.
const RENEW: &str = "
    UPDATE tasks SET lease_until = now() + make_interval(secs => $2)
    WHERE token = $1 AND status = 'SCHEDULED' AND call_attempts = $3";

/// Extends the lease of a call still in flight, so no other scheduler makes it meanwhile.
pub async fn renew(
    pool: &PgPool,
    token: &str,
    attempt: i32,
    lease_seconds: f64,
) -> Result<(), Error> {
    sqlx::query(RENEW)
        .bind(token)
        .bind(lease_seconds)
        .bind(attempt)
        .execute(pool)
        .await?;
    Ok(())
}

const RELEASE: &str = "
    UPDATE tasks SET lease_until = NULL
    FROM UNNEST($1::text[], $2::integer[]) AS r(token, attempt)
    WHERE tasks.token = r.token AND tasks.status = 'SCHEDULED' AND tasks.call_attempts = r.attempt";

/// Gives calls back at once (a scheduler stopping with calls in flight): another scheduler
/// makes them without waiting for their leases to run out.
pub async fn release(pool: &PgPool, held: &[(String, i32)]) -> Result<(), Error> {
    if held.is_empty() {
        return Ok(());
    }
    let tokens: Vec<&str> = held.iter().map(|(t, _)| t.as_str()).collect();
    let attempts: Vec<i32> = held.iter().map(|(_, a)| *a).collect();
    sqlx::query(RELEASE)
        .bind(&tokens)
        .bind(&attempts)
        .execute(pool)
        .await?;
    Ok(())
}

const NEXT_LEASE: &str = "
    SELECT min(COALESCE(lease_until, scheduled_at)) FROM tasks
    WHERE call IS NOT NULL AND status = 'SCHEDULED'";

/// When the next call is to be made (now, for a new one) or taken over (its lease's end).
pub async fn next_due(pool: &PgPool) -> Result<Option<time::OffsetDateTime>, Error> {
    let row = sqlx::query(NEXT_LEASE).fetch_one(pool).await?;
    Ok(row.try_get(0)?)
}
