//! Retention: every few minutes, delete the executions that ended longer ago than
//! `retention.days`, with their history, tasks and signals (`store::retention`).
//!
//! Every scheduler sweeps; batches skip the rows another sweep holds, so several schedulers
//! share a backlog instead of waiting on each other, and a dead scheduler leaves nothing undone.

use std::future::Future;
use std::time::{Duration, Instant};

use switchback_store::PgPool;
use switchback_store::retention::{self, Batch};
use tokio::time::MissedTickBehavior;

/// Between the starts of two sweeps. Executions are kept for days, so a few minutes late is
/// nothing; the first sweep runs when the scheduler starts.
const INTERVAL: Duration = Duration::from_secs(300);

/// Sweeps every [`INTERVAL`] until `stop` completes. A sweep in progress is abandoned where it
/// is: each batch is one statement, so an execution goes whole or stays whole.
pub(crate) async fn run(pool: PgPool, keep: Duration, stop: impl Future<Output = ()>) {
    tokio::pin!(stop);
    let batch = Batch::default();
    let mut ticks = tokio::time::interval(INTERVAL);
    // A sweep longer than the interval (a large backlog) is followed by the next one at once,
    // not by a burst of them.
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = &mut stop => return,
            _ = ticks.tick() => {}
        }
        let began = Instant::now();
        let swept = tokio::select! {
            () = &mut stop => return,
            swept = retention::sweep(&pool, keep, &batch) => swept,
        };
        match swept {
            Ok(deleted) => {
                metrics::counter!("switchback_retention_deleted_total").increment(deleted);
                tracing::info!(
                    deleted,
                    elapsed_ms = began.elapsed().as_millis() as u64,
                    keep_days = keep.as_secs() / 86_400,
                    "retention sweep finished"
                );
            }
            // Nothing is lost: what was not deleted is found again by the next sweep.
            Err(error) => tracing::warn!(%error, "retention sweep failed"),
        }
    }
}
