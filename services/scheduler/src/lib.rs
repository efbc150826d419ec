//! switchback-scheduler: the only place that advances executions.
//!
//! Module map:
//! - this file — the scheduler's settings and its loop: claim a batch, step it, commit, sleep
//!   until the next due time or a notification.
//! - `batch` — one batch in one transaction.
//! - `machines` — parsed definitions kept between batches.
//! - `advance` — one execution's step: signals and time through the step function.
//! - `calls` — integration tasks' calls (Lambda, HTTP, nested executions, mocked responses),
//!   made under a lease, their results recorded as signals.
//! - `map_runs` — Distributed Map runs: children created up to each run's concurrency, ends
//!   counted, results gathered or written (ResultWriter), the parent told when the run ends.
//! - `map_items` — a run's items: from the state's input, or read from S3 (ItemReader) a chunk
//!   or a page at a time.
//! - `retention` — the periodic sweep that deletes executions ended longer ago than kept.
//!
//! The outbound clients (Lambda, HTTP Tasks, SigV4) are the `switchback-invoke` crate's.
//!
//! The scheduler meets the API only in the database (rows plus NOTIFY); it never imports the
//! API crate. Any number of schedulers may run against one database: claims use
//! `FOR UPDATE SKIP LOCKED`, so each execution is advanced by one of them at a time.

mod advance;
mod batch;
mod calls;
mod machines;
mod map_items;
mod map_runs;
mod retention;

use std::future::Future;
use std::time::{Duration, Instant};

use std::sync::Arc;

use switchback_asl::mocks::MockConfig;
use switchback_store::PgPool;
use switchback_store::notify::{self, Coalescer, Listener};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Store(#[from] switchback_store::Error),
    #[error(transparent)]
    Invoke(#[from] switchback_invoke::Error),
}

#[derive(Debug, Clone)]
pub struct SchedulerConfig {
    /// How many executions one transaction claims and advances.
    pub batch_size: i64,
    /// The longest sleep without looking at the table: the safety net for lost notifications.
    pub poll_interval: Duration,
    /// Lambda endpoints and credentials, HTTP Task connections.
    pub integrations: switchback_invoke::IntegrationsConfig,
    /// Mocked responses for executions started on `<stateMachineArn>#<case>`.
    pub mocks: Option<Arc<MockConfig>>,
    /// How long a scheduler holds a call before another may make it again (renewed while the
    /// call runs).
    pub call_lease: Duration,
    /// Calls one scheduler makes at once.
    pub max_concurrent_calls: usize,
    /// The most result entries a Distributed Map run writes in one round of its driver (and
    /// at most 64 MiB of them): a run's row is held for a round, so a long write goes on over
    /// several.
    pub result_entries_per_round: usize,
    /// The region of Lambda's endpoint when neither the function's ARN nor the settings name one.
    pub default_region: String,
    /// How long ended executions are kept before the retention sweep deletes them; `None`
    /// keeps them forever (no sweep).
    pub retention: Option<Duration>,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        Self {
            batch_size: 64,
            poll_interval: Duration::from_secs(1),
            integrations: switchback_invoke::IntegrationsConfig::default(),
            mocks: None,
            call_lease: Duration::from_secs(30),
            max_concurrent_calls: 64,
            result_entries_per_round: 100_000,
            default_region: "us-east-1".to_owned(),
            retention: Some(Duration::from_secs(90 * 86_400)),
        }
    }
}

/// Runs the scheduler until `shutdown` completes. The batch in hand is finished first.
pub async fn run(
    pool: PgPool,
    config: SchedulerConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<(), Error> {
    switchback_store::migrate::check_current(&pool).await?;
    let mut listener = Listener::connect(&pool, &[notify::DUE]).await?;
    tracing::info!(batch_size = config.batch_size, "scheduler started");
    tokio::pin!(shutdown);
    let stop = CancellationToken::new();
    // Calls run beside the batches: a slow Lambda never holds up other executions.
    let calls_ready = Arc::new(Notify::new());
    let invoker =
        switchback_invoke::Invoker::new(config.integrations.clone(), &config.default_region)?;
    let caller = calls::Caller {
        pool: pool.clone(),
        invoker: invoker.clone(),
        mocks: config.mocks.clone(),
        lease: config.call_lease.max(Duration::from_secs(1)),
        due: Coalescer::start(pool.clone(), notify::DUE, stop.clone().cancelled_owned()),
    };
    let calls = tokio::spawn(calls::run(
        caller,
        config.max_concurrent_calls,
        config.poll_interval,
        calls_ready.clone(),
        stop.clone().cancelled_owned(),
    ));
    // Distributed Map runs are driven beside the batches: creating thousands of children
    // never holds up a step.
    let runs_ready = Arc::new(Notify::new());
    let driver = tokio::spawn(map_runs::run(
        pool.clone(),
        invoker.s3().clone(),
        runs_ready.clone(),
        Coalescer::start(pool.clone(), notify::DUE, stop.clone().cancelled_owned()),
        config.poll_interval,
        config.result_entries_per_round,
        stop.clone().cancelled_owned(),
    ));
    // Deleting old executions runs beside the batches too, in its own short transactions.
    let sweeper = config.retention.map(|keep| {
        tokio::spawn(retention::run(
            pool.clone(),
            keep,
            stop.clone().cancelled_owned(),
        ))
    });
    let mut machines = machines::Machines::default();
    // The earliest timer this scheduler knows of. The table is asked again only when that
    // time came or a poll interval passed (timers other schedulers set, or left behind when
    // they died): under load, batches follow notifications without an extra query each.
    let mut timer: Option<time::OffsetDateTime> = None;
    let mut looked_up: Option<Instant> = None;
    loop {
        let mut advanced = 0;
        match batch::run(
            &pool,
            config.batch_size,
            &mut machines,
            &calls_ready,
            &runs_ready,
        )
        .await
        {
            Ok(ran) => {
                advanced = ran.advanced;
                timer = timer.into_iter().chain(ran.earliest_due).min();
                if ran.advanced as i64 >= config.batch_size {
                    // A full batch: more may be due right now.
                    continue;
                }
            }
            Err(error) => {
                // The transaction rolled back: nothing was lost, the executions stay due.
                tracing::warn!(%error, "scheduler batch failed, retrying");
                tokio::time::sleep(Duration::from_millis(200)).await;
                // Its executions are still due, which the timer in hand does not say: ask the
                // table again, so that a conflict (40001, 40P01) is retried at once rather
                // than after that timer or a poll interval.
                timer = None;
                looked_up = None;
            }
        }
        let now = time::OffsetDateTime::now_utc();
        let passed = timer.is_some_and(|t| t <= now);
        let stale =
            timer.is_none() && looked_up.is_none_or(|at| at.elapsed() >= config.poll_interval);
        if passed || stale {
            timer = switchback_store::engine::next_due(&pool)
                .await
                .unwrap_or(None);
            looked_up = Some(Instant::now());
        }
        let wait = match timer {
            Some(due) => {
                let until = (due - time::OffsetDateTime::now_utc()).whole_milliseconds();
                // Due but not claimed (another scheduler holds it, or this clock runs ahead
                // of the database's): pause a little instead of spinning.
                let floor = if advanced == 0 { 5 } else { 0 };
                Duration::from_millis(u64::try_from(until.max(floor)).unwrap_or(floor as u64))
                    .min(config.poll_interval)
            }
            None => config.poll_interval,
        };
        tokio::select! {
            () = &mut shutdown => break,
            woke = listener.recv() => {
                // An API node may have changed a run (UpdateMapRun): the driver looks too.
                runs_ready.notify_one();
                if let Err(error) = woke {
                    tracing::warn!(%error, "notification listener failed");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
            () = tokio::time::sleep(wait) => {}
        }
    }
    // Calls in flight are aborted and their leases released: another scheduler makes them.
    stop.cancel();
    let _ = calls.await;
    let _ = driver.await;
    if let Some(sweeper) = sweeper {
        let _ = sweeper.await;
    }
    tracing::info!("scheduler stopped");
    Ok(())
}
