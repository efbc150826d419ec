//! Executions as the API sees them: starting (recording the intent), describing, listing,
//! stopping (recording a signal), and reading history.

use sqlx::{PgPool, Row};
use time::OffsetDateTime;

use crate::signals::{self, Signal};
use crate::{Error, Scope};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Execution {
    pub seq: i64,
    pub arn: String,
    pub state_machine_arn: String,
    pub name: String,
    pub machine_type: String,
    pub definition: String,
    pub role_arn: String,
    pub input: String,
    pub status: String,
    pub output: Option<String>,
    pub error: Option<String>,
    pub cause: Option<String>,
    pub trace_header: Option<String>,
    pub started_at: OffsetDateTime,
    pub stopped_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone)]
pub struct NewExecution {
    pub scope: Scope,
    pub arn: String,
    pub state_machine_arn: String,
    pub name: String,
    pub input: String,
    pub trace_header: Option<String>,
}

#[derive(Debug)]
pub enum Started {
    New(Execution),
    /// The same name and input while the first is running: AWS answers with the first.
    Existing(Execution),
    /// The name is taken by another execution (ended, or with another input).
    AlreadyExists(Execution),
    MachineMissing,
    MachineDeleting,
}

const LOCK_MACHINE: &str = "
    SELECT type, status, definition, role_arn FROM state_machines WHERE arn = $1 FOR SHARE";

const INSERT: &str = "
    INSERT INTO executions (arn, account, region, state_machine_arn, name, machine_type, definition,
        role_arn, input, trace_header, started_at, due_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, date_trunc('milliseconds', now()), now())
    ON CONFLICT (arn) DO NOTHING
    RETURNING seq, arn, state_machine_arn, name, machine_type, definition, role_arn, input, status,
        output, error, cause, trace_header, started_at, stopped_at";

const SELECT_BY_ARN: &str = "
    SELECT seq, arn, state_machine_arn, name, machine_type, definition, role_arn, input, status,
        output, error, cause, trace_header, started_at, stopped_at
    FROM executions WHERE arn = $1";

/// Records a new execution of the machine; a scheduler starts it. The caller wakes schedulers
/// after this returns (see `notify::Coalescer`).
pub async fn start(pool: &PgPool, new: &NewExecution) -> Result<Started, Error> {
    let mut tx = pool.begin().await?;
    // FOR SHARE keeps the machine from being deleted until this execution is recorded.
    let machine = sqlx::query(LOCK_MACHINE)
        .bind(&new.state_machine_arn)
        .fetch_optional(&mut *tx)
        .await?;
    let Some(machine) = machine else {
        return Ok(Started::MachineMissing);
    };
    let status: String = machine.try_get("status")?;
    if status == "DELETING" {
        return Ok(Started::MachineDeleting);
    }
    let inserted: Option<Execution> = sqlx::query_as(INSERT)
        .bind(&new.arn)
        .bind(&new.scope.account)
        .bind(&new.scope.region)
        .bind(&new.state_machine_arn)
        .bind(&new.name)
        .bind(machine.try_get::<String, _>("type")?)
        .bind(machine.try_get::<String, _>("definition")?)
        .bind(machine.try_get::<String, _>("role_arn")?)
        .bind(&new.input)
        .bind(&new.trace_header)
        .fetch_optional(&mut *tx)
        .await?;
    let outcome = match inserted {
        Some(execution) => Started::New(execution),
        None => {
            let existing: Execution = sqlx::query_as(SELECT_BY_ARN)
                .bind(&new.arn)
                .fetch_one(&mut *tx)
                .await?;
            if existing.status == "RUNNING" && existing.input == new.input {
                Started::Existing(existing)
            } else {
                Started::AlreadyExists(existing)
            }
        }
    };
    tx.commit().await?;
    Ok(outcome)
}

pub async fn describe(pool: &PgPool, arn: &str) -> Result<Option<Execution>, Error> {
    Ok(sqlx::query_as(SELECT_BY_ARN)
        .bind(arn)
        .fetch_optional(pool)
        .await?)
}

const LIST_PAGE: &str = "
    SELECT seq, arn, state_machine_arn, name, machine_type, definition, role_arn, input, status,
        output, error, cause, trace_header, started_at, stopped_at
    FROM executions
    WHERE state_machine_arn = $1 AND seq < $2 AND ($3::text IS NULL OR status = $3)
    ORDER BY seq DESC
    LIMIT $4";

/// One page of a machine's executions, newest first, starting before position `before`
/// (`i64::MAX` for the first page).
pub async fn list(
    pool: &PgPool,
    state_machine_arn: &str,
    status: Option<&str>,
    before: i64,
    limit: i64,
) -> Result<Vec<Execution>, Error> {
    Ok(sqlx::query_as(LIST_PAGE)
        .bind(state_machine_arn)
        .bind(before)
        .bind(status)
        .bind(limit)
        .fetch_all(pool)
        .await?)
}

/// Records an intent for a scheduler (a stop, a task result) and makes the execution due.
pub async fn signal(pool: &PgPool, execution_seq: i64, signal: &Signal) -> Result<(), Error> {
    let mut tx = pool.begin().await?;
    signals::record(&mut tx, execution_seq, signal).await?;
    tx.commit().await?;
    Ok(())
}

const HISTORY_FORWARD: &str = "
    SELECT id, event FROM history_events
    WHERE execution_seq = $1 AND id > $2
    ORDER BY id
    LIMIT $3";
const HISTORY_BACKWARD: &str = "
    SELECT id, event FROM history_events
    WHERE execution_seq = $1 AND id < $2
    ORDER BY id DESC
    LIMIT $3";

/// A page of history events (as stored JSON text) after event `after` (forwards) or before
/// event `before` (backwards), by key.
pub async fn history_page(
    pool: &PgPool,
    execution_seq: i64,
    from: i64,
    reverse: bool,
    limit: i64,
) -> Result<Vec<(i32, String)>, Error> {
    let query = if reverse {
        HISTORY_BACKWARD
    } else {
        HISTORY_FORWARD
    };
    let from = i32::try_from(from).unwrap_or(if reverse { i32::MAX } else { 0 });
    let rows = sqlx::query(query)
        .bind(execution_seq)
        .bind(from)
        .bind(limit)
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|row| Ok((row.try_get("id")?, row.try_get("event")?)))
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Error::from)
}
