//! Distributed Map runs (`map_runs`): recorded by the step of the parent that starts one,
//! driven by schedulers (children created in batches up to the run's concurrency, ends folded
//! into its counters, the parent told when it ends), described, listed and updated by the API.
//!
//! A child's end is appended to `map_run_ends` by the step that ended it, never written to the
//! run's row, so the steps of thousands of children do not queue on one row lock; the
//! scheduler driving the run folds them in while it holds the run.

use std::collections::BTreeMap;

use sqlx::{PgConnection, PgPool, Row};
use time::OffsetDateTime;

use crate::Error;
use crate::signals::{self, Event};
use switchback_asl::interpreter::MapRunOutcome;

/// A run a parent's step started, to record in the step's transaction.
#[derive(Debug, Clone)]
pub struct NewMapRun {
    pub execution_seq: i64,
    pub task_id: i64,
    pub arn: String,
    pub account: String,
    pub region: String,
    /// The interpreter's `MapRunSpec`, as JSON.
    pub spec: String,
    pub max_concurrency: i32,
    pub tolerated_failure_count: Option<i64>,
    pub tolerated_failure_percentage: Option<f64>,
    /// The number of items, when the state's input held them (none: a reader finds out).
    pub total: Option<i64>,
    /// Its `ResultWriter` puts files in S3 (`MapRunSpec::exports`): it writes them when it is
    /// aborted too.
    pub exports: bool,
}

/// How a run that writes its results ends, once its children stopped and its files are put
/// (`map_runs.failing`, as JSON).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "status", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Ending {
    /// Aborted with its parent: it stays ABORTED, and nobody is told.
    Aborted,
    /// It failed: it ends FAILED with this outcome, told to its parent. (Written as the
    /// outcome itself, `{"status": "FAILED", …}`, as runs failing before aborts were kept.)
    #[serde(untagged)]
    Failed(MapRunOutcome),
}

const INSERT: &str = "
    INSERT INTO map_runs (arn, account, region, execution_seq, task_id, spec, max_concurrency,
        tolerated_failure_count, tolerated_failure_percentage, total, exports, started_at, due_at)
    SELECT r.arn, r.account, r.region, r.execution_seq, r.task_id, r.spec, r.max_concurrency,
        r.count, r.percentage, r.total, r.exports, date_trunc('milliseconds', now()), now()
    FROM UNNEST($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::text[],
                $7::integer[], $8::bigint[], $9::float8[], $10::bigint[], $11::boolean[])
        AS r(arn, account, region, execution_seq, task_id, spec, max_concurrency, count,
             percentage, total, exports)
    ON CONFLICT (execution_seq, task_id) DO NOTHING";

/// Records the runs steps started, in the batch's transaction.
pub async fn insert(tx: &mut PgConnection, runs: &[NewMapRun]) -> Result<(), Error> {
    if runs.is_empty() {
        return Ok(());
    }
    let text = |f: fn(&NewMapRun) -> &str| runs.iter().map(f).collect::<Vec<&str>>();
    sqlx::query(INSERT)
        .bind(text(|r| &r.arn))
        .bind(text(|r| &r.account))
        .bind(text(|r| &r.region))
        .bind(runs.iter().map(|r| r.execution_seq).collect::<Vec<_>>())
        .bind(runs.iter().map(|r| r.task_id).collect::<Vec<_>>())
        .bind(text(|r| &r.spec))
        .bind(runs.iter().map(|r| r.max_concurrency).collect::<Vec<_>>())
        .bind(
            runs.iter()
                .map(|r| r.tolerated_failure_count)
                .collect::<Vec<_>>(),
        )
        .bind(
            runs.iter()
                .map(|r| r.tolerated_failure_percentage)
                .collect::<Vec<_>>(),
        )
        .bind(runs.iter().map(|r| r.total).collect::<Vec<_>>())
        .bind(runs.iter().map(|r| r.exports).collect::<Vec<_>>())
        .execute(tx)
        .await?;
    Ok(())
}

const RECORD_ENDS: &str = "
    INSERT INTO map_run_ends (map_run_seq, status, count, items)
    SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::bigint[], $4::bigint[])";

/// A child of a run that ended: its run, its final status and how many items it ran.
#[derive(Debug, Clone)]
pub struct ChildEnded {
    pub run: i64,
    pub status: String,
    pub items: i64,
}

/// Appends the ends of children in this batch, counted per run and status.
pub async fn record_ends(tx: &mut PgConnection, ends: &[ChildEnded]) -> Result<(), Error> {
    if ends.is_empty() {
        return Ok(());
    }
    let mut counted: BTreeMap<(i64, &str), (i64, i64)> = BTreeMap::new();
    for end in ends {
        let entry = counted.entry((end.run, end.status.as_str())).or_default();
        entry.0 += 1;
        entry.1 += end.items;
    }
    let runs: Vec<i64> = counted.keys().map(|(run, _)| *run).collect();
    let statuses: Vec<&str> = counted.keys().map(|(_, status)| *status).collect();
    let counts: Vec<i64> = counted.values().map(|c| c.0).collect();
    let items: Vec<i64> = counted.values().map(|c| c.1).collect();
    sqlx::query(RECORD_ENDS)
        .bind(&runs)
        .bind(&statuses)
        .bind(&counts)
        .bind(&items)
        .execute(tx)
        .await?;
    Ok(())
}

// Runs no longer wanted (the parent stopped, timed out, failed elsewhere or left the state),
// and every run of executions failed without a step: aborted, and their running children
// stopped as StopExecution would. One that exports its results keeps `Ending::Aborted` ($3) and
// is driven on, to write them once its children stopped.
const ABORT: &str = "
    UPDATE map_runs SET status = 'ABORTED', stopped_at = date_trunc('milliseconds', now()),
        due_at = CASE WHEN exports THEN now() END, failing = CASE WHEN exports THEN $3 END
    WHERE status = 'RUNNING'
      AND (execution_seq, task_id) IN (SELECT * FROM UNNEST($1::bigint[], $2::bigint[]))
    RETURNING seq";
const ABORT_EVERY: &str = "
    UPDATE map_runs SET status = 'ABORTED', stopped_at = date_trunc('milliseconds', now()),
        due_at = CASE WHEN exports THEN now() END, failing = CASE WHEN exports THEN $2 END
    WHERE status = 'RUNNING' AND execution_seq = ANY($1)
    RETURNING seq";
const STOP_CHILDREN: &str = "
    WITH children AS (
        SELECT seq FROM executions WHERE map_run_seq = ANY($1) AND status = 'RUNNING'
    ), stopped AS (
        INSERT INTO signals (execution_seq, body)
        SELECT seq, $2 FROM children
    )
    UPDATE executions SET due_at = now() WHERE seq IN (SELECT seq FROM children)";

/// Aborts the runs of these tasks `(execution, task)` and every run of the executions in
/// `every`, stopping their children. Returns how many executions it made due.
pub async fn abort(
    tx: &mut PgConnection,
    runs: &[(i64, i64)],
    every: &[i64],
) -> Result<u64, Error> {
    let mut aborted: Vec<i64> = Vec::new();
    if !runs.is_empty() {
        let executions: Vec<i64> = runs.iter().map(|c| c.0).collect();
        let tasks: Vec<i64> = runs.iter().map(|c| c.1).collect();
        for row in sqlx::query(ABORT)
            .bind(&executions)
            .bind(&tasks)
            .bind(ending(&Ending::Aborted))
            .fetch_all(&mut *tx)
            .await?
        {
            aborted.push(row.try_get("seq")?);
        }
    }
    if !every.is_empty() {
        for row in sqlx::query(ABORT_EVERY)
            .bind(every)
            .bind(ending(&Ending::Aborted))
            .fetch_all(&mut *tx)
            .await?
        {
            aborted.push(row.try_get("seq")?);
        }
    }
    stop_children(tx, &aborted).await
}

fn ending(ending: &Ending) -> String {
    serde_json::to_string(ending).unwrap_or_default()
}

async fn stop_children(tx: &mut PgConnection, runs: &[i64]) -> Result<u64, Error> {
    if runs.is_empty() {
        return Ok(0);
    }
    let stop = Event::Stop {
        error: None,
        cause: None,
    };
    Ok(sqlx::query(STOP_CHILDREN)
        .bind(runs)
        .bind(signals::body(&stop))
        .execute(tx)
        .await?
        .rows_affected())
}

// A run whose parent was redriven: back to RUNNING and due (a SUCCEEDED one too, nothing more:
// its parent ended before it took the run's end, which the driver then gives again); a FAILED
// or ABORTED one has its children that did not succeed redriven as RedriveExecution would
// (those a step could not keep a snapshot of stay as they ended), and the stops its failing
// sent to children that have not taken them yet withdrawn. Then its counters are counted again from its children, in one statement that also
// drops the ends not yet folded in, so that no end counts twice.
const REDRIVE_RUN: &str = "
    WITH old AS (
        SELECT seq, status, stopped_at FROM map_runs
        WHERE execution_seq = $1 AND task_id = $2
        FOR NO KEY UPDATE
    )
    UPDATE map_runs SET status = 'RUNNING', stopped_at = NULL, due_at = now(), failing = NULL,
        writing = NULL,
        redrive_count = redrive_count + CASE WHEN old.status = 'SUCCEEDED' THEN 0 ELSE 1 END,
        redrive_date = CASE WHEN old.status = 'SUCCEEDED' THEN redrive_date
                            ELSE date_trunc('milliseconds', now()) END
    FROM old
    WHERE map_runs.seq = old.seq
    RETURNING map_runs.seq, old.status, old.stopped_at";
// The run's running children, locked: a step that has taken a stop and is ending one commits
// first, so the child is found ABORTED and redriven rather than missed.
const LOCK_RUNNING_CHILDREN: &str = "
    SELECT seq FROM executions WHERE map_run_seq = $1 AND status = 'RUNNING' FOR UPDATE";
const REDRIVE_CHILDREN: &str = "
    WITH redriven AS (
        UPDATE executions SET status = 'RUNNING', stopped_at = NULL, output = NULL,
            error = NULL, cause = NULL, redrive_count = redrive_count + 1,
            redrive_date = date_trunc('milliseconds', now()), due_at = now()
        WHERE map_run_seq = $1 AND status IN ('FAILED', 'TIMED_OUT', 'ABORTED')
          AND snapshot IS NOT NULL AND snapshot <> 'null'
        RETURNING seq
    )
    INSERT INTO signals (execution_seq, body) SELECT seq, $2 FROM redriven";
// The stops the run's failing sent (recorded when it stopped, or after: a user's stop of a
// child before the run failed is kept).
const WITHDRAW_STOPS: &str = "
    DELETE FROM signals
    WHERE body = $2 AND created_at >= $3
      AND execution_seq IN (
          SELECT seq FROM executions WHERE map_run_seq = $1 AND status = 'RUNNING'
      )";
const RECOUNT: &str = "
    WITH dropped AS (
        DELETE FROM map_run_ends WHERE map_run_seq = $1
    ), counted AS (
        SELECT
            count(*) FILTER (WHERE status = 'SUCCEEDED') AS succeeded,
            count(*) FILTER (WHERE status = 'FAILED') AS failed,
            count(*) FILTER (WHERE status = 'TIMED_OUT') AS timed_out,
            count(*) FILTER (WHERE status = 'ABORTED') AS aborted,
            COALESCE(sum(COALESCE(map_items, 1)) FILTER (WHERE status = 'SUCCEEDED'), 0) AS items_succeeded,
            COALESCE(sum(COALESCE(map_items, 1)) FILTER (WHERE status = 'FAILED'), 0) AS items_failed,
            COALESCE(sum(COALESCE(map_items, 1)) FILTER (WHERE status = 'TIMED_OUT'), 0) AS items_timed_out,
            COALESCE(sum(COALESCE(map_items, 1)) FILTER (WHERE status = 'ABORTED'), 0) AS items_aborted
        FROM executions WHERE map_run_seq = $1
    )
    UPDATE map_runs SET succeeded = c.succeeded, failed = c.failed, timed_out = c.timed_out,
        aborted = c.aborted, items_succeeded = c.items_succeeded, items_failed = c.items_failed,
        items_timed_out = c.items_timed_out, items_aborted = c.items_aborted
    FROM counted c
    WHERE map_runs.seq = $1";

/// Redrives the runs of these tasks `(execution, task)` (their parents were redriven in this
/// batch). Returns how many executions it made due.
pub async fn redrive(tx: &mut PgConnection, runs: &[(i64, i64)]) -> Result<u64, Error> {
    let mut due = 0;
    for (execution, task) in runs {
        let Some(row) = sqlx::query(REDRIVE_RUN)
            .bind(execution)
            .bind(task)
            .fetch_optional(&mut *tx)
            .await?
        else {
            continue;
        };
        let run: i64 = row.try_get("seq")?;
        let status: String = row.try_get("status")?;
        let stopped_at: Option<OffsetDateTime> = row.try_get("stopped_at")?;
        due += 1;
        if status == "SUCCEEDED" {
            // Its parent ended before it took the run's end: the driver gives it again.
            continue;
        }
        sqlx::query(LOCK_RUNNING_CHILDREN)
            .bind(run)
            .execute(&mut *tx)
            .await?;
        let stop = Event::Stop {
            error: None,
            cause: None,
        };
        if let Some(stopped_at) = stopped_at {
            sqlx::query(WITHDRAW_STOPS)
                .bind(run)
                .bind(signals::body(&stop))
                .bind(stopped_at)
                .execute(&mut *tx)
                .await?;
        }
        due += sqlx::query(REDRIVE_CHILDREN)
            .bind(run)
            .bind(signals::body(&Event::Redrive))
            .execute(&mut *tx)
            .await?
            .rows_affected();
        sqlx::query(RECOUNT).bind(run).execute(&mut *tx).await?;
    }
    Ok(due)
}

/// A run as the scheduler driving it holds it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Driven {
    pub seq: i64,
    pub arn: String,
    pub account: String,
    pub region: String,
    pub execution_seq: i64,
    pub task_id: i64,
    pub status: String,
    pub max_concurrency: i32,
    pub tolerated_failure_count: Option<i64>,
    pub tolerated_failure_percentage: Option<f64>,
    #[sqlx(flatten)]
    pub counts: Counts,
    /// Where reading stands (`item_reader::Cursor`, JSON); none before the first child.
    pub cursor: Option<String>,
    /// How a run that writes its results ends once its children stopped and its files are
    /// put (an [`Ending`], as JSON); none for every other run.
    pub failing: Option<String>,
    /// How far its result files are written, while a write takes more than one round (the
    /// scheduler's own JSON); none before and after.
    pub writing: Option<String>,
}

impl Driven {
    /// How the run ends once its results are written, if it is waiting to write them.
    pub fn ending(&self) -> Option<Result<Ending, serde_json::Error>> {
        self.failing.as_deref().map(serde_json::from_str)
    }
}

/// What a run has read and run: its items and its children, by how they ended.
#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub struct Counts {
    /// Items in all, once known.
    pub total: Option<i64>,
    /// Every item was read.
    pub all_read: bool,
    /// Children created, and children ended by status.
    pub started: i64,
    pub succeeded: i64,
    pub failed: i64,
    pub timed_out: i64,
    pub aborted: i64,
    /// Items given to children, and items ended by their child's status (a child runs one
    /// item, or a batch of them).
    pub items_read: i64,
    pub items_succeeded: i64,
    pub items_failed: i64,
    pub items_timed_out: i64,
    pub items_aborted: i64,
}

impl Counts {
    /// Children ended.
    pub fn ended(&self) -> i64 {
        self.succeeded + self.failed + self.timed_out + self.aborted
    }

    /// Items whose child ended.
    pub fn items_ended(&self) -> i64 {
        self.items_succeeded + self.items_failed + self.items_timed_out + self.items_aborted
    }

    /// Items that count against the tolerated failures: those whose child failed or timed out
    /// (AWS counts items, not children).
    pub fn failures(&self) -> i64 {
        self.items_failed + self.items_timed_out
    }

    /// The run's items and children by where they stand, as DescribeMapRun and the console
    /// report them: (items, children). A child runs a batch of items with an `ItemBatcher`,
    /// else one. Pending: not given to a child yet (children: those still to create, as far as
    /// they are known). AWS counts the results of succeeded children as written.
    pub fn tallies(&self) -> (Tally, Tally) {
        let ended = self.ended();
        let items_ended = self.items_ended();
        let items_total = self.total.unwrap_or(self.items_read);
        // Children still to create are known only while each runs one item.
        let one_each = self.items_read == self.started;
        let children_total = if self.all_read || !one_each {
            self.started
        } else {
            items_total.max(self.started)
        };
        let children = Tally {
            pending: (children_total - self.started).max(0),
            running: (self.started - ended).max(0),
            succeeded: self.succeeded,
            failed: self.failed,
            timed_out: self.timed_out,
            aborted: self.aborted,
            total: children_total,
            results_written: self.succeeded,
        };
        let items = Tally {
            pending: (items_total - self.items_read).max(0),
            running: (self.items_read - items_ended).max(0),
            succeeded: self.items_succeeded,
            failed: self.items_failed,
            timed_out: self.items_timed_out,
            aborted: self.items_aborted,
            total: items_total,
            results_written: self.items_succeeded,
        };
        (items, children)
    }
}

/// A run's items, or its children, by where they stand (see [`Counts::tallies`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    pub pending: i64,
    pub running: i64,
    pub succeeded: i64,
    pub failed: i64,
    pub timed_out: i64,
    pub aborted: i64,
    pub total: i64,
    pub results_written: i64,
}

// Runs that are due (RUNNING, or ABORTED and writing their results), and runs (of any status)
// with ends to fold in; each is held by one scheduler at a time. The lock is NO KEY UPDATE: a
// step appending an end checks its foreign key with KEY SHARE, which this lock lets through, so
// no step waits on a round.
const CLAIM: &str = "
    SELECT seq, arn, account, region, execution_seq, task_id, status, max_concurrency,
        tolerated_failure_count, tolerated_failure_percentage, total, started, succeeded,
        failed, timed_out, aborted, cursor, all_read, items_read, items_succeeded, items_failed,
        items_timed_out, items_aborted, failing, writing
    FROM map_runs
    WHERE seq IN (
        SELECT seq FROM map_runs WHERE due_at <= now()
        UNION
        SELECT map_run_seq FROM map_run_ends
    )
    ORDER BY seq
    LIMIT $1
    FOR NO KEY UPDATE SKIP LOCKED";
const TAKE_ENDS: &str = "
    DELETE FROM map_run_ends WHERE map_run_seq = ANY($1)
    RETURNING map_run_seq, status, count, items";

/// Claims up to `limit` runs with work to do, their new ends folded into their counters.
pub async fn claim(tx: &mut PgConnection, limit: i64) -> Result<Vec<Driven>, Error> {
    let mut runs: Vec<Driven> = sqlx::query_as(CLAIM)
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
    if runs.is_empty() {
        return Ok(runs);
    }
    let seqs: Vec<i64> = runs.iter().map(|r| r.seq).collect();
    let ends = sqlx::query(TAKE_ENDS)
        .bind(&seqs)
        .fetch_all(&mut *tx)
        .await?;
    for row in ends {
        let seq: i64 = row.try_get("map_run_seq")?;
        let status: String = row.try_get("status")?;
        let count: i64 = row.try_get("count")?;
        let items: i64 = row.try_get("items")?;
        let Some(run) = runs.iter_mut().find(|r| r.seq == seq) else {
            continue;
        };
        let (children, of_items) = match status.as_str() {
            "SUCCEEDED" => (&mut run.counts.succeeded, &mut run.counts.items_succeeded),
            "TIMED_OUT" => (&mut run.counts.timed_out, &mut run.counts.items_timed_out),
            "ABORTED" => (&mut run.counts.aborted, &mut run.counts.items_aborted),
            _ => (&mut run.counts.failed, &mut run.counts.items_failed),
        };
        *children += count;
        *of_items += items;
    }
    Ok(runs)
}

const SPEC: &str = "SELECT spec FROM map_runs WHERE seq = $1";

/// The run's `MapRunSpec` JSON.
pub async fn spec(tx: &mut PgConnection, seq: i64) -> Result<String, Error> {
    Ok(sqlx::query(SPEC)
        .bind(seq)
        .fetch_one(tx)
        .await?
        .try_get("spec")?)
}

/// The children to create for a run, with what they share.
#[derive(Debug, Clone)]
pub struct NewChildren<'a> {
    pub run: &'a Driven,
    pub state_machine_arn: &'a str,
    pub machine_type: &'a str,
    pub definition: &'a str,
    pub role_arn: &'a str,
    pub children: Vec<NewChild>,
}

/// One child of a run.
#[derive(Debug, Clone)]
pub struct NewChild {
    pub arn: String,
    pub name: String,
    pub input: String,
    /// Its place among the run's children.
    pub index: i64,
    /// How many items it runs (a batch), when more than one.
    pub items: Option<i32>,
}

const INSERT_CHILDREN: &str = "
    INSERT INTO executions (arn, account, region, state_machine_arn, name, machine_type,
        definition, role_arn, input, started_at, due_at, map_run_seq, map_index, map_items)
    SELECT c.arn, $1, $2, $3, c.name, $4, $5, $6, c.input, date_trunc('milliseconds', now()),
        now(), $7, c.idx, c.items
    FROM UNNEST($8::text[], $9::text[], $10::text[], $11::bigint[], $12::integer[])
        AS c(arn, name, input, idx, items)
    ON CONFLICT DO NOTHING";

/// Creates children of a run (due at once). Returns how many were inserted: fewer than given
/// means a child of one of these places or ARNs exists already, which the run's counters
/// (committed with its children) rule out; the caller treats it as the run's failure.
pub async fn insert_children(tx: &mut PgConnection, new: &NewChildren<'_>) -> Result<u64, Error> {
    if new.children.is_empty() {
        return Ok(0);
    }
    let arns: Vec<&str> = new.children.iter().map(|c| c.arn.as_str()).collect();
    let names: Vec<&str> = new.children.iter().map(|c| c.name.as_str()).collect();
    let inputs: Vec<&str> = new.children.iter().map(|c| c.input.as_str()).collect();
    let indexes: Vec<i64> = new.children.iter().map(|c| c.index).collect();
    let items: Vec<Option<i32>> = new.children.iter().map(|c| c.items).collect();
    Ok(sqlx::query(INSERT_CHILDREN)
        .bind(&new.run.account)
        .bind(&new.run.region)
        .bind(new.state_machine_arn)
        .bind(new.machine_type)
        .bind(new.definition)
        .bind(new.role_arn)
        .bind(new.run.seq)
        .bind(&arns)
        .bind(&names)
        .bind(&inputs)
        .bind(&indexes)
        .bind(&items)
        .execute(tx)
        .await?
        .rows_affected())
}

const SAVE: &str = "
    UPDATE map_runs SET started = $2, succeeded = $3, failed = $4, timed_out = $5, aborted = $6,
        due_at = CASE WHEN $7 THEN now() END, cursor = $8, all_read = $9, total = $10,
        items_read = $11, items_succeeded = $12, items_failed = $13, items_timed_out = $14,
        items_aborted = $15
    WHERE seq = $1";

/// Writes the run's counters and cursor; `due`: whether it has more to do at once.
pub async fn save(tx: &mut PgConnection, run: &Driven, due: bool) -> Result<(), Error> {
    sqlx::query(SAVE)
        .bind(run.seq)
        .bind(run.counts.started)
        .bind(run.counts.succeeded)
        .bind(run.counts.failed)
        .bind(run.counts.timed_out)
        .bind(run.counts.aborted)
        .bind(due)
        .bind(run.cursor.as_deref())
        .bind(run.counts.all_read)
        .bind(run.counts.total)
        .bind(run.counts.items_read)
        .bind(run.counts.items_succeeded)
        .bind(run.counts.items_failed)
        .bind(run.counts.items_timed_out)
        .bind(run.counts.items_aborted)
        .execute(tx)
        .await?;
    Ok(())
}

const FINISH: &str = "
    UPDATE map_runs SET status = $2, stopped_at = date_trunc('milliseconds', now()), due_at = NULL,
        failing = NULL, writing = NULL
    WHERE seq = $1 AND status = 'RUNNING'";
const BEGIN_FAILING: &str = "
    UPDATE map_runs SET failing = $2, due_at = CASE WHEN $3 THEN now() END WHERE seq = $1";

/// A run that failed and writes its results: its running children are stopped and it waits
/// for them (their ends make it due again) before it ends with `outcome`. Returns how many
/// executions it made due.
pub async fn begin_failing(
    tx: &mut PgConnection,
    run: &Driven,
    outcome: &MapRunOutcome,
) -> Result<u64, Error> {
    save(tx, run, false).await?;
    // With no child left running, no end will wake it: it is due at once.
    let idle = run.counts.ended() >= run.counts.started;
    sqlx::query(BEGIN_FAILING)
        .bind(run.seq)
        .bind(ending(&Ending::Failed(outcome.clone())))
        .bind(idle)
        .execute(&mut *tx)
        .await?;
    stop_children(tx, &[run.seq]).await
}

const WRITTEN: &str =
    "UPDATE map_runs SET failing = NULL, writing = NULL, due_at = NULL WHERE seq = $1";

/// An aborted run whose results are written: nothing more to do (it stays ABORTED).
pub async fn written(tx: &mut PgConnection, run: &Driven) -> Result<(), Error> {
    save(tx, run, false).await?;
    sqlx::query(WRITTEN).bind(run.seq).execute(tx).await?;
    Ok(())
}

const SAVE_WRITING: &str = "UPDATE map_runs SET writing = $2 WHERE seq = $1";

/// Keeps how far the run's result files are written, for its next round.
pub async fn save_writing(tx: &mut PgConnection, seq: i64, writing: &str) -> Result<(), Error> {
    sqlx::query(SAVE_WRITING)
        .bind(seq)
        .bind(writing)
        .execute(tx)
        .await?;
    Ok(())
}

const SIGNAL_PARENT: &str = "
    WITH signalled AS (
        INSERT INTO signals (execution_seq, task_id, body) VALUES ($1, $2, $3)
    )
    UPDATE executions SET due_at = now() WHERE seq = $1 AND status = 'RUNNING'";

/// Ends a run (its counters saved first): SUCCEEDED or FAILED, its running children stopped
/// when it failed, and the parent told. Returns how many executions it made due.
///
/// It holds the run and then locks the parent's row; a parent's step aborting the run holds the
/// parent and then waits for the run. Should both meet, PostgreSQL breaks the deadlock (40P01)
/// and the round or the batch is retried.
pub async fn finish(
    tx: &mut PgConnection,
    run: &Driven,
    outcome: MapRunOutcome,
) -> Result<u64, Error> {
    save(tx, run, false).await?;
    let status = match outcome {
        MapRunOutcome::Succeeded { .. } => "SUCCEEDED",
        MapRunOutcome::Failed { .. } => "FAILED",
    };
    let finished = sqlx::query(FINISH)
        .bind(run.seq)
        .bind(status)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if finished == 0 {
        // Aborted meanwhile (its parent no longer waits): nobody is told.
        return Ok(0);
    }
    let stopped = if status == "FAILED" {
        stop_children(tx, &[run.seq]).await?
    } else {
        0
    };
    let event = Event::MapRunEnded {
        task_id: u64::try_from(run.task_id).unwrap_or(0),
        outcome,
    };
    let parent = sqlx::query(SIGNAL_PARENT)
        .bind(run.execution_seq)
        .bind(run.task_id)
        .bind(signals::body(&event))
        .execute(tx)
        .await?
        .rows_affected();
    Ok(stopped + parent)
}

const OUTPUTS: &str = "
    SELECT map_index, arn, name, state_machine_arn, status, input, output, error, cause,
        started_at, stopped_at
    FROM executions
    WHERE map_run_seq = $1 AND map_index >= $2
    ORDER BY map_index
    LIMIT $3";

/// One page of a run's ended children in order, from child `from`.
pub async fn outputs(
    tx: &mut PgConnection,
    run: i64,
    from: i64,
    limit: i64,
) -> Result<Vec<ChildEnd>, Error> {
    Ok(sqlx::query_as(OUTPUTS)
        .bind(run)
        .bind(from)
        .bind(limit)
        .fetch_all(tx)
        .await?)
}

/// How a child ended, for its run's results.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ChildEnd {
    pub map_index: i64,
    pub arn: String,
    pub name: String,
    pub state_machine_arn: String,
    pub status: String,
    pub input: String,
    pub output: Option<String>,
    pub error: Option<crate::text::UserText>,
    pub cause: Option<crate::text::UserText>,
    pub started_at: OffsetDateTime,
    pub stopped_at: Option<OffsetDateTime>,
}

/// A run as DescribeMapRun and ListMapRuns show it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MapRun {
    pub seq: i64,
    pub arn: String,
    pub execution_arn: String,
    pub state_machine_arn: String,
    pub status: String,
    pub max_concurrency: i32,
    pub tolerated_failure_count: Option<i64>,
    pub tolerated_failure_percentage: Option<f64>,
    #[sqlx(flatten)]
    pub counts: Counts,
    pub started_at: OffsetDateTime,
    pub stopped_at: Option<OffsetDateTime>,
    pub redrive_count: i32,
    pub redrive_date: Option<OffsetDateTime>,
}

const DESCRIBE: &str = "
    SELECT r.seq, r.arn, e.arn AS execution_arn, e.state_machine_arn, r.status,
        r.max_concurrency, r.tolerated_failure_count, r.tolerated_failure_percentage, r.total,
        r.started, r.succeeded, r.failed, r.timed_out, r.aborted, r.all_read, r.items_read,
        r.items_succeeded, r.items_failed, r.items_timed_out, r.items_aborted, r.started_at,
        r.stopped_at, r.redrive_count, r.redrive_date
    FROM map_runs r JOIN executions e ON e.seq = r.execution_seq
    WHERE r.arn = $1";

pub async fn describe(pool: &PgPool, arn: &str) -> Result<Option<MapRun>, Error> {
    Ok(sqlx::query_as(DESCRIBE)
        .bind(arn)
        .fetch_optional(pool)
        .await?)
}

const LIST: &str = "
    SELECT r.seq, r.arn, e.arn AS execution_arn, e.state_machine_arn, r.status,
        r.max_concurrency, r.tolerated_failure_count, r.tolerated_failure_percentage, r.total,
        r.started, r.succeeded, r.failed, r.timed_out, r.aborted, r.all_read, r.items_read,
        r.items_succeeded, r.items_failed, r.items_timed_out, r.items_aborted, r.started_at,
        r.stopped_at, r.redrive_count, r.redrive_date
    FROM map_runs r JOIN executions e ON e.seq = r.execution_seq
    WHERE e.arn = $1 AND r.seq < $2
    ORDER BY r.seq DESC
    LIMIT $3";

/// One page of an execution's runs, newest first, before position `before`.
pub async fn list(
    pool: &PgPool,
    execution_arn: &str,
    before: i64,
    limit: i64,
) -> Result<Vec<MapRun>, Error> {
    Ok(sqlx::query_as(LIST)
        .bind(execution_arn)
        .bind(before)
        .bind(limit)
        .fetch_all(pool)
        .await?)
}

/// What UpdateMapRun changes; `None` leaves a setting as it is.
#[derive(Debug, Clone, Copy, Default)]
pub struct Settings {
    pub max_concurrency: Option<i32>,
    pub tolerated_failure_count: Option<i64>,
    pub tolerated_failure_percentage: Option<f64>,
}

const UPDATE: &str = "
    UPDATE map_runs SET
        max_concurrency = COALESCE($2, max_concurrency),
        tolerated_failure_count = COALESCE($3, tolerated_failure_count),
        tolerated_failure_percentage = COALESCE($4, tolerated_failure_percentage),
        due_at = now()
    WHERE arn = $1 AND status = 'RUNNING'";
const STATUS: &str = "SELECT status FROM map_runs WHERE arn = $1";

/// The outcome of UpdateMapRun.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Updated {
    Done,
    /// The run had ended.
    Ended,
    Missing,
}

/// Changes a running run's settings; the run is looked at again at once, so a raised
/// concurrency starts children and a lowered tolerance fails it without waiting for an end.
pub async fn update(pool: &PgPool, arn: &str, settings: Settings) -> Result<Updated, Error> {
    let changed = sqlx::query(UPDATE)
        .bind(arn)
        .bind(settings.max_concurrency)
        .bind(settings.tolerated_failure_count)
        .bind(settings.tolerated_failure_percentage)
        .execute(pool)
        .await?
        .rows_affected();
    if changed > 0 {
        return Ok(Updated::Done);
    }
    let exists = sqlx::query(STATUS).bind(arn).fetch_optional(pool).await?;
    Ok(if exists.is_some() {
        Updated::Ended
    } else {
        Updated::Missing
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ending_is_a_failed_outcome_as_written_before_aborts_or_aborted() {
        let outcome = MapRunOutcome::exceeded();
        // A failing run recorded before aborted runs wrote results kept the outcome alone.
        let earlier = serde_json::to_string(&outcome).expect("json");
        let read: Ending = serde_json::from_str(&earlier).expect("an ending");
        assert_eq!(read, Ending::Failed(outcome.clone()));
        assert_eq!(ending(&Ending::Failed(outcome)), earlier);
        assert_eq!(ending(&Ending::Aborted), r#"{"status":"ABORTED"}"#);
        let aborted: Ending = serde_json::from_str(r#"{"status":"ABORTED"}"#).expect("aborted");
        assert_eq!(aborted, Ending::Aborted);
    }
}
