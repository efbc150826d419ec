//! Executions as the API sees them: starting (recording the intent), describing, listing,
//! stopping (recording a signal), and reading history.

use sqlx::{PgPool, Row};
use time::OffsetDateTime;

use crate::signals::{self, Event};
use crate::text::{self, UserText};
use crate::versions::Target;
use switchback_asl::start::{Refusal, Start};

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
    pub error: Option<UserText>,
    pub cause: Option<UserText>,
    pub trace_header: Option<UserText>,
    pub started_at: OffsetDateTime,
    pub stopped_at: Option<OffsetDateTime>,
    /// The version the execution runs, when it was started through a version or an alias.
    pub state_machine_version_arn: Option<String>,
    /// The alias it was started through.
    pub state_machine_alias_arn: Option<String>,
    pub redrive_count: i32,
    pub redrive_date: Option<OffsetDateTime>,
    /// The Distributed Map run that started this execution (read by describe and the run's
    /// list only).
    #[sqlx(default)]
    pub map_run_arn: Option<String>,
    /// Its place in its run (the run's list pages by it), and the items it runs (none: one).
    #[sqlx(default)]
    pub map_index: Option<i64>,
    #[sqlx(default)]
    pub map_items: Option<i32>,
}

/// The statuses an execution's row holds (the table's CHECK); AWS's `PENDING_REDRIVE` is never
/// stored: a redrive makes the execution RUNNING at once.
pub const STATUSES: [&str; 5] = ["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"];

/// AWS's redrive window: an execution can be redriven for 14 days after it ended.
pub const REDRIVE_DAYS: i64 = 14;

impl Execution {
    /// Why the execution cannot be redriven, in AWS's words; `None` when it can.
    pub fn not_redrivable(&self, now: OffsetDateTime) -> Option<String> {
        match self.status.as_str() {
            "FAILED" | "TIMED_OUT" | "ABORTED" => {}
            status => return Some(format!("Execution is {status} and cannot be redriven")),
        }
        if self.machine_type == "EXPRESS" {
            return Some("Express executions cannot be redriven".to_owned());
        }
        if self.map_run_arn.is_some() {
            // AWS reports these REDRIVABLE_BY_MAP_RUN: its parent's redrive redrives them.
            return Some(
                "Execution was started by a Map Run: redrive its parent execution".to_owned(),
            );
        }
        let ended = self.stopped_at.unwrap_or(now);
        if now - ended > time::Duration::days(REDRIVE_DAYS) {
            return Some("Execution redrivable period exceeded".to_owned());
        }
        None
    }
}

#[derive(Debug, Clone)]
pub struct NewExecution {
    pub scope: Scope,
    /// The execution's ARN for a STANDARD machine, and for an EXPRESS one (AWS names those
    /// `express`); the machine's type picks one.
    pub arn: String,
    pub express_arn: String,
    pub state_machine_arn: String,
    pub name: String,
    pub input: String,
    pub trace_header: Option<String>,
    /// The token of the `states:startExecution` task that started this execution, if any.
    pub parent_token: Option<String>,
    /// The mock configuration's test case the execution runs (`<stateMachineArn>#<case>`).
    pub test_case: Option<String>,
    /// The version to run instead of the machine's current definition, and the alias that
    /// chose it (see `versions::resolve`).
    pub version_arn: Option<String>,
    pub alias_arn: Option<String>,
}

impl NewExecution {
    /// The execution a checked start describes, in `scope`, running `target` (see
    /// `versions::resolve`): nothing tied to a parent, no test case, no trace header (the
    /// caller sets those it has).
    pub fn new(scope: Scope, start: Start, target: Target) -> Self {
        let (arn, express_arn) = start.machine.execution_arns(&start.name);
        Self {
            scope,
            arn,
            express_arn,
            state_machine_arn: start.machine.text(),
            name: start.name,
            input: start.input,
            trace_header: None,
            parent_token: None,
            test_case: None,
            version_arn: target.version_arn,
            alias_arn: target.alias_arn,
        }
    }
}

/// What recording a start found. Every way an execution starts maps these the same way.
#[derive(Debug)]
pub enum Started {
    New(Execution),
    /// The same name and input while the first is running: AWS answers with the first.
    Existing(Execution),
    /// The machine is missing or being deleted, or the name is taken by another execution
    /// (ended, or with another input).
    Refused(Refusal),
}

// One statement for any number of new executions: each row's machine is read (and
// share-locked, so a concurrent DeleteStateMachine waits for this insert) and the execution
// inserted with the machine's definition. Rows whose machine is missing or deleting, or whose
// ARN is taken, are skipped; the rest come back.
const INSERT: &str = "
    INSERT INTO executions (arn, account, region, state_machine_arn, name, machine_type, definition,
        role_arn, input, trace_header, parent_token, test_case, started_at, due_at,
        state_machine_version_arn, state_machine_alias_arn)
    SELECT CASE WHEN sm.type = 'EXPRESS' THEN r.express_arn ELSE r.arn END, r.account, r.region,
        sm.arn, r.name, sm.type, COALESCE(v.definition, sm.definition),
        COALESCE(v.role_arn, sm.role_arn), r.input, r.trace_header,
        r.parent_token, r.test_case, date_trunc('milliseconds', now()), now(), v.arn, r.alias_arn
    FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[])
        AS r(arn, express_arn, account, region, machine_arn, name, input, trace_header,
             parent_token, test_case, version_arn, alias_arn)
    JOIN state_machines sm ON sm.arn = r.machine_arn AND sm.status = 'ACTIVE'
    LEFT JOIN state_machine_versions v ON v.arn = r.version_arn
    WHERE r.version_arn IS NULL OR v.arn IS NOT NULL
    FOR SHARE OF sm
    ON CONFLICT (arn) DO NOTHING
    RETURNING seq, arn, state_machine_arn, name, machine_type, definition, role_arn, input, status,
        output, error, cause, trace_header, started_at, stopped_at, state_machine_version_arn,
        state_machine_alias_arn, redrive_count, redrive_date";

/// Inserts new executions in one statement (see `starts` for batching); returns those inserted.
pub(crate) async fn insert<'e>(
    executor: impl sqlx::PgExecutor<'e>,
    news: &[&NewExecution],
) -> Result<Vec<Execution>, Error> {
    let column = |f: fn(&NewExecution) -> &str| news.iter().map(|n| f(n)).collect::<Vec<&str>>();
    let optional = |f: fn(&NewExecution) -> Option<&str>| {
        news.iter().map(|n| f(n)).collect::<Vec<Option<&str>>>()
    };
    let trace_headers: Vec<Option<String>> = news
        .iter()
        .map(|n| n.trace_header.as_deref().map(text::encode))
        .collect();
    Ok(sqlx::query_as(INSERT)
        .bind(column(|n| &n.arn))
        .bind(column(|n| &n.express_arn))
        .bind(column(|n| &n.scope.account))
        .bind(column(|n| &n.scope.region))
        .bind(column(|n| &n.state_machine_arn))
        .bind(column(|n| &n.name))
        .bind(column(|n| &n.input))
        .bind(trace_headers)
        .bind(optional(|n| n.parent_token.as_deref()))
        .bind(optional(|n| n.test_case.as_deref()))
        .bind(optional(|n| n.version_arn.as_deref()))
        .bind(optional(|n| n.alias_arn.as_deref()))
        .fetch_all(executor)
        .await?)
}

/// Records a new execution in the caller's transaction (a `states:startExecution` task starts
/// its child and records its own result in one commit). `None`: not inserted; see
/// [`why_not_inserted`].
pub async fn start_in(
    tx: &mut sqlx::PgConnection,
    new: &NewExecution,
) -> Result<Option<Execution>, Error> {
    Ok(insert(tx, &[new]).await?.pop())
}

const MACHINE_STATUS: &str = "SELECT status, type FROM state_machines WHERE arn = $1";

const SELECT_BY_ARN: &str = "
    SELECT seq, arn, state_machine_arn, name, machine_type, definition, role_arn, input, status,
        output, error, cause, trace_header, started_at, stopped_at, state_machine_version_arn,
        state_machine_alias_arn, redrive_count, redrive_date,
        (SELECT r.arn FROM map_runs r WHERE r.seq = executions.map_run_seq) AS map_run_arn
    FROM executions WHERE arn = $1";

/// Records a new execution of the machine; a scheduler starts it. The caller wakes schedulers
/// after this returns (see `notify::Coalescer`).
pub async fn start(pool: &PgPool, new: &NewExecution) -> Result<Started, Error> {
    match insert(pool, &[new]).await?.pop() {
        Some(execution) => Ok(Started::New(execution)),
        None => why_not_inserted(pool, new).await,
    }
}

// A running execution nobody waits for becomes the child of a `.sync` task that started it by
// the same name and input.
const ADOPT: &str = "
    UPDATE executions SET parent_token = $2
    WHERE arn = $1 AND status = 'RUNNING' AND parent_token IS NULL";

/// Ties a running execution to the `.sync` task with `token`; false when it already has a
/// parent or ended.
pub async fn adopt(conn: &mut sqlx::PgConnection, arn: &str, token: &str) -> Result<bool, Error> {
    Ok(sqlx::query(ADOPT)
        .bind(arn)
        .bind(token)
        .execute(conn)
        .await?
        .rows_affected()
        == 1)
}

/// The rare paths: why an execution was not inserted.
pub async fn why_not_inserted(pool: &PgPool, new: &NewExecution) -> Result<Started, Error> {
    let Some(machine) = sqlx::query(MACHINE_STATUS)
        .bind(&new.state_machine_arn)
        .fetch_optional(pool)
        .await?
    else {
        return Ok(missing(new));
    };
    let status: String = machine.try_get("status")?;
    if status == "DELETING" {
        return Ok(Started::Refused(Refusal::StateMachineDeleting(
            new.state_machine_arn.clone(),
        )));
    }
    let machine_type: String = machine.try_get("type")?;
    let arn = if machine_type == "EXPRESS" {
        &new.express_arn
    } else {
        &new.arn
    };
    match describe(pool, arn).await? {
        Some(existing) if existing.status == "RUNNING" && existing.input == new.input => {
            Ok(Started::Existing(existing))
        }
        Some(existing) => Ok(Started::Refused(Refusal::ExecutionAlreadyExists(
            existing.arn,
        ))),
        // The machine was there but the row is not: a concurrent delete won; report it missing.
        None => Ok(missing(new)),
    }
}

fn missing(new: &NewExecution) -> Started {
    Started::Refused(Refusal::StateMachineDoesNotExist(
        new.state_machine_arn.clone(),
    ))
}

pub async fn describe(pool: &PgPool, arn: &str) -> Result<Option<Execution>, Error> {
    Ok(sqlx::query_as(SELECT_BY_ARN)
        .bind(arn)
        .fetch_optional(pool)
        .await?)
}

const LIST_PAGE: &str = "
    SELECT seq, arn, state_machine_arn, name, machine_type, definition, role_arn, input, status,
        output, error, cause, trace_header, started_at, stopped_at, state_machine_version_arn,
        state_machine_alias_arn, redrive_count, redrive_date
    FROM executions
    WHERE state_machine_arn = $1 AND seq < $2 AND ($3::text IS NULL OR status = $3)
        AND ($5::text IS NULL OR state_machine_version_arn = $5)
        AND ($6::text IS NULL OR state_machine_alias_arn = $6)
        AND ($7::bool IS NULL OR (redrive_count > 0) = $7)
    ORDER BY seq DESC
    LIMIT $4";

/// Which of a machine's executions a list holds: all, or those started through one version
/// or one alias.
#[derive(Debug, Clone, Copy, Default)]
pub struct Filter<'a> {
    pub status: Option<&'a str>,
    pub version_arn: Option<&'a str>,
    pub alias_arn: Option<&'a str>,
    /// `redriveFilter`: only executions redriven (true) or never redriven (false).
    pub redriven: Option<bool>,
}

/// One page of a machine's executions, newest first, starting before position `before`
/// (`i64::MAX` for the first page).
pub async fn list(
    pool: &PgPool,
    state_machine_arn: &str,
    filter: Filter<'_>,
    before: i64,
    limit: i64,
) -> Result<Vec<Execution>, Error> {
    Ok(sqlx::query_as(LIST_PAGE)
        .bind(state_machine_arn)
        .bind(before)
        .bind(filter.status)
        .bind(limit)
        .bind(filter.version_arn)
        .bind(filter.alias_arn)
        .bind(filter.redriven)
        .fetch_all(pool)
        .await?)
}

const LIST_MAP_RUN_PAGE: &str = "
    SELECT e.seq, e.arn, e.state_machine_arn, e.name, e.machine_type, e.definition, e.role_arn,
        e.input, e.status, e.output, e.error, e.cause, e.trace_header, e.started_at, e.stopped_at,
        e.state_machine_version_arn, e.state_machine_alias_arn, e.redrive_count, e.redrive_date,
        r.arn AS map_run_arn, e.map_index, e.map_items
    FROM map_runs r JOIN executions e ON e.map_run_seq = r.seq
    WHERE r.arn = $1 AND e.map_index < $2 AND ($3::text IS NULL OR e.status = $3)
        AND ($5::bool IS NULL OR (e.redrive_count > 0) = $5)
    ORDER BY e.map_index DESC
    LIMIT $4";

/// One page of a Distributed Map run's children, newest (highest item) first, before item
/// `before` (`i64::MAX` for the first page); `map_index` is each row's position.
pub async fn list_for_map_run(
    pool: &PgPool,
    map_run_arn: &str,
    filter: Filter<'_>,
    before: i64,
    limit: i64,
) -> Result<Vec<Execution>, Error> {
    Ok(sqlx::query_as(LIST_MAP_RUN_PAGE)
        .bind(map_run_arn)
        .bind(before)
        .bind(filter.status)
        .bind(limit)
        .bind(filter.redriven)
        .fetch_all(pool)
        .await?)
}

// The execution and its machine, locked for a redrive: the machine shared, as a start holds
// it, so that DeleteStateMachine (which deletes a machine with no running execution) waits.
// `lost`: the step that failed it could not keep a snapshot to resume from.
const LOCK_FOR_REDRIVE: &str = "
    SELECT e.seq, (e.snapshot IS NULL OR e.snapshot = 'null') AS lost, e.redrive_token,
        e.redrive_date
    FROM executions e
    JOIN state_machines sm ON sm.arn = e.state_machine_arn AND sm.status = 'ACTIVE'
    WHERE e.arn = $1
    FOR UPDATE OF e FOR SHARE OF sm";
const REDRIVE: &str = "
    UPDATE executions SET status = 'RUNNING', stopped_at = NULL, output = NULL, error = NULL,
        cause = NULL, redrive_count = redrive_count + 1,
        redrive_date = date_trunc('milliseconds', now()), redrive_token = $2, due_at = now()
    WHERE seq = $1
    RETURNING redrive_date";

/// How long a client token answers the redrive it made (AWS: 15 minutes).
const REDRIVE_TOKEN_MINUTES: i64 = 15;

/// RedriveExecution's outcome.
#[derive(Debug)]
pub enum Redriven {
    /// Redriven now, or by an earlier request with the same client token.
    At(OffsetDateTime),
    /// Why not, in AWS's words.
    Refused(String),
    Missing,
}

/// Redrives an execution: back to RUNNING with a redrive signal for its scheduler, in one
/// transaction holding the execution (so a retried request with the same client token answers
/// the same redrive) and its machine (so the machine is not deleted under it).
pub async fn redrive(pool: &PgPool, arn: &str, token: Option<&str>) -> Result<Redriven, Error> {
    let mut tx = pool.begin().await?;
    let locked: Option<(i64, bool, Option<String>, Option<OffsetDateTime>)> =
        sqlx::query_as(LOCK_FOR_REDRIVE)
            .bind(arn)
            .fetch_optional(&mut *tx)
            .await?;
    let Some((seq, lost, last_token, last_date)) = locked else {
        tx.rollback().await?;
        let now = OffsetDateTime::now_utc();
        return Ok(match describe(pool, arn).await? {
            None => Redriven::Missing,
            // A Map Run's child: its machine is its parent's, named `<machine>/<label>`.
            Some(child) if child.map_run_arn.is_some() => {
                Redriven::Refused(child.not_redrivable(now).unwrap_or_default())
            }
            Some(_) => Redriven::Refused("State machine is in DELETING status".to_owned()),
        });
    };
    let now = OffsetDateTime::now_utc();
    if let (Some(token), Some(last), Some(date)) = (token, last_token.as_deref(), last_date)
        && token == last
        && now - date < time::Duration::minutes(REDRIVE_TOKEN_MINUTES)
    {
        return Ok(Redriven::At(date));
    }
    let execution = sqlx::query_as::<_, Execution>(SELECT_BY_ARN)
        .bind(arn)
        .fetch_one(&mut *tx)
        .await?;
    if let Some(reason) = execution.not_redrivable(now) {
        return Ok(Redriven::Refused(reason));
    }
    if lost {
        return Ok(Redriven::Refused(
            "Execution failed by an internal error and cannot be redriven".to_owned(),
        ));
    }
    let (date,): (Option<OffsetDateTime>,) = sqlx::query_as(REDRIVE)
        .bind(seq)
        .bind(token)
        .fetch_one(&mut *tx)
        .await?;
    signals::record(&mut tx, seq, &Event::Redrive).await?;
    tx.commit().await?;
    Ok(Redriven::At(date.unwrap_or(now)))
}

/// Records an intent for a scheduler (a stop, a task result) and makes the execution due.
pub async fn signal(pool: &PgPool, execution_seq: i64, signal: &Event) -> Result<(), Error> {
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
