//! Retention: deleting executions that ended long ago, with everything that belongs to them.
//!
//! Schedulers call [`sweep`] every few minutes. It deletes in small batches, each one statement
//! in its own short transaction with a pause after it, so that a backlog of millions of old
//! executions is worked off at a steady pace: no lock held for long, no burst of WAL, no
//! transaction keeping vacuum from the rows deleted before it. Batches claim their rows with `FOR UPDATE SKIP LOCKED`: schedulers sweeping at the
//! same time delete disjoint executions, and a row someone else holds (a late signal, a
//! scheduler's claim) is left for the next sweep.

use std::time::Duration;

use sqlx::PgPool;

use crate::Error;

/// How much one batch may delete, and the pause after it.
#[derive(Debug, Clone, Copy)]
pub struct Batch {
    /// Executions deleted per statement, at most.
    pub executions: i64,
    /// History events deleted per statement, roughly: a batch stops taking executions once
    /// their histories add up to this (it always takes at least one). Without it, a few hundred
    /// executions of 25,000 events each would make one statement of millions of rows.
    pub events: i64,
    /// Sleep between batches: the room left for running work.
    pub pause: Duration,
}

impl Default for Batch {
    fn default() -> Self {
        Self {
            executions: 500,
            events: 50_000,
            pause: Duration::from_millis(100),
        }
    }
}

// Oldest end first, through the partial index `executions_ended`. Rows another transaction
// holds are skipped, not waited for. The window sum cuts the batch once the histories it
// deletes reach `$3` events; `FOR UPDATE` cannot share a query level with a window function,
// hence two steps (candidates left out stay locked only until this statement commits). The
// rows of `history_events`, `signals` and `tasks` go with their execution (ON DELETE CASCADE).
const DELETE_ENDED: &str = "
    WITH candidates AS (
        SELECT seq, stopped_at, history_length
        FROM executions
        WHERE status <> 'RUNNING' AND stopped_at < now() - $1::interval
        ORDER BY stopped_at
        LIMIT $2
        FOR UPDATE SKIP LOCKED
    ), sized AS (
        SELECT seq,
            sum(history_length) OVER (ORDER BY stopped_at, seq) - history_length AS events_before
        FROM candidates
    )
    DELETE FROM executions
    WHERE seq IN (SELECT seq FROM sized WHERE events_before < $3)";

/// Deletes one batch of executions that ended more than `age` ago (by the database's clock),
/// with their history, tasks and signals. Returns how many executions it deleted.
pub async fn delete_batch(pool: &PgPool, age: Duration, batch: &Batch) -> Result<u64, Error> {
    Ok(sqlx::query(DELETE_ENDED)
        .bind(age)
        .bind(batch.executions.max(1))
        .bind(batch.events.max(1))
        .execute(pool)
        .await?
        .rows_affected())
}

/// Deletes every execution that ended more than `age` ago, batch after batch with
/// `batch.pause` between them, until a batch deletes nothing. Returns how many executions it
/// deleted.
pub async fn sweep(pool: &PgPool, age: Duration, batch: &Batch) -> Result<u64, Error> {
    let mut deleted = 0;
    loop {
        let n = delete_batch(pool, age, batch).await?;
        deleted += n;
        // Only an empty batch ends the sweep: one cut short by its event budget leaves more
        // behind. Rows others hold are skipped, so an empty batch can leave those; the next
        // sweep takes them.
        if n == 0 {
            return Ok(deleted);
        }
        if !batch.pause.is_zero() {
            tokio::time::sleep(batch.pause).await;
        }
    }
}
