//! `growth`: does a database full of old executions slow the API down, and how fast does
//! retention empty it?
//!
//! 1. On the database as it is (empty, on a fresh `switchback dev`): StartExecution latency,
//!    the first ListExecutions page of the machine, and a GetExecutionHistory page of one of
//!    its executions, `--samples` sequential calls each.
//! 2. `--count` (1,000,000) ended executions are added to the same machine, each a copy of a
//!    real one with its history, written by the database itself (`INSERT … SELECT
//!    generate_series` through `--database-url`, in chunks), stopped 48 to 60 days ago: inside
//!    the default retention, so the server's own sweeps leave them alone. Then `VACUUM
//!    ANALYZE`, as autovacuum would have done over the months the rows stand for, and a
//!    `CHECKPOINT` so that the insert's write-back is over before measuring.
//! 3. The same three measurements again, and the ratio of the p50s (goal: at most 1.10).
//! 4. Retention's sweep (`store::retention::sweep`, default batches and pauses) with a cutoff
//!    of 40 days deletes them, while StartExecution latency is sampled beside it: executions
//!    deleted per second, and what the sweep does to running work.
//!
//! The sweep deletes *every* execution that ended more than 40 days ago in that database: run
//! this scenario on a database kept for benchmarks.

use std::time::{Duration, Instant};

use anyhow::Context;
use aws_sdk_sfn::Client;
use sqlx::PgPool;
use switchback_store::retention::{self, Batch};

use crate::report::Report;
use crate::stats::{Summary, ms};
use crate::{Args, sfn};

/// Pass states of the machine: 8 history events per execution.
const STATES: usize = 3;
/// Executions written per INSERT statement: large enough to be fast, small enough that one
/// statement's transaction stays moderate.
const CHUNK: i64 = 100_000;
/// ListExecutions page size (AWS's default).
const LIST_PAGE: i32 = 100;

pub async fn run(client: &Client, args: &Args, report: &mut Report) -> anyhow::Result<()> {
    let Some(url) = &args.database_url else {
        anyhow::bail!("--scenario growth needs --database-url (the server's database)");
    };
    let pool = PgPool::connect(url)
        .await
        .with_context(|| "connecting to --database-url")?;
    let machine = sfn::create_machine(client, "growth", &super::pass_chain(STATES)).await?;
    let outcome = measure(client, &pool, &machine, args, report).await;
    sfn::delete_machine(client, &machine).await;
    pool.close().await;
    outcome
}

/// The p50s of one round of measurements, in milliseconds.
struct Round {
    start: f64,
    list: f64,
    history: f64,
}

async fn measure(
    client: &Client,
    pool: &PgPool,
    machine: &str,
    args: &Args,
    report: &mut Report,
) -> anyhow::Result<()> {
    let samples = args.samples_or(200);
    let count = i64::try_from(args.count_or(1_000_000)).unwrap_or(i64::MAX);
    let existing: i64 = sqlx::query_scalar("SELECT count(*) FROM executions")
        .fetch_one(pool)
        .await?;
    report.note(&format!(
        "{existing} executions in the database before the run; {samples} sequential calls per \
         figure; ListExecutions pages of {LIST_PAGE}, history pages of one {STATES}-Pass execution"
    ));

    // The execution whose history is read, and the model of every inserted copy.
    let model = sfn::start(client, machine, r#"{"n": 1}"#).await?;
    let done = sfn::wait_done(
        client,
        &model,
        Duration::from_millis(5),
        Instant::now() + Duration::from_secs(30),
    )
    .await?;
    sfn::expect_succeeded(&done)?;
    let events = sfn::history(client, &model).await?.len();

    let before = round(client, machine, &model, samples, "empty", report).await?;

    let began = Instant::now();
    let mut inserted = 0i64;
    while inserted < count {
        let last = (inserted + CHUNK).min(count);
        sqlx::query(INSERT_COPIES)
            .bind(&model)
            .bind(inserted + 1)
            .bind(last)
            .execute(pool)
            .await
            .context("inserting ended executions")?;
        inserted = last;
    }
    report.value(
        "growth: ended executions inserted",
        inserted as f64,
        &format!(
            "executions ({events} history events each) in {:.1} s",
            began.elapsed().as_secs_f64()
        ),
    );
    let vacuum = Instant::now();
    sqlx::raw_sql("VACUUM ANALYZE executions, history_events")
        .execute(pool)
        .await
        .context("VACUUM ANALYZE")?;
    report.value(
        "growth: VACUUM ANALYZE took",
        vacuum.elapsed().as_secs_f64(),
        "s",
    );
    // The bulk insert leaves gigabytes of dirty pages and WAL behind; measured while the
    // checkpointer writes them out, the figures would show the insert, not the stored rows.
    let checkpoint = Instant::now();
    match sqlx::raw_sql("CHECKPOINT").execute(pool).await {
        Ok(_) => report.value(
            "growth: CHECKPOINT took",
            checkpoint.elapsed().as_secs_f64(),
            "s",
        ),
        Err(error) => report.note(&format!(
            "no CHECKPOINT ({error}): the grown figures include the insert's write-back"
        )),
    }

    let after = round(client, machine, &model, samples, "grown", report).await?;
    for (what, empty, grown) in [
        ("StartExecution", before.start, after.start),
        ("ListExecutions first page", before.list, after.list),
        ("GetExecutionHistory page", before.history, after.history),
    ] {
        report.value(
            &format!("growth: {what} p50 grown/empty"),
            grown / empty.max(1e-9),
            "(goal: at most 1.10)",
        );
    }

    sweep(client, pool, machine, samples, report).await
}

/// Copies of the model execution `$1` numbered `$2..=$3`, ended 60 days ago plus one second per
/// number, each with the model's history. Copies carry the model's own values (ARN and name
/// suffixed with the number), so no data is written here.
pub(super) const INSERT_COPIES: &str = "
    WITH model AS (
        SELECT * FROM executions WHERE arn = $1
    ), copies AS (
        INSERT INTO executions (arn, account, region, state_machine_arn, name, machine_type,
            definition, role_arn, input, status, output, started_at, stopped_at, snapshot,
            history_length)
        SELECT m.arn || '-' || g, m.account, m.region, m.state_machine_arn, m.name || '-' || g,
            m.machine_type, m.definition, m.role_arn, m.input, m.status, m.output,
            date_trunc('milliseconds', now()) - interval '60 days' + g * interval '1 second',
            date_trunc('milliseconds', now()) - interval '60 days' + g * interval '1 second'
                + (m.stopped_at - m.started_at),
            m.snapshot, m.history_length
        FROM model m, generate_series($2::bigint, $3::bigint) AS g
        RETURNING seq
    )
    INSERT INTO history_events (execution_seq, id, event)
    SELECT c.seq, h.id, h.event
    FROM copies c, model m JOIN history_events h ON h.execution_seq = m.seq";

/// StartExecution, the first ListExecutions page, and the first history page, `samples` of
/// each, interleaved; reported under `label`.
async fn round(
    client: &Client,
    machine: &str,
    model: &str,
    samples: usize,
    label: &str,
    report: &mut Report,
) -> anyhow::Result<Round> {
    // Warm connections, caches and the pages' plans.
    for _ in 0..20 {
        sfn::start(client, machine, "{}").await?;
        list_page(client, machine).await?;
        history_page(client, model).await?;
    }
    let (mut start, mut list, mut history) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..samples {
        let sent = Instant::now();
        sfn::start(client, machine, "{}").await?;
        start.push(ms(sent.elapsed()));
        let sent = Instant::now();
        list_page(client, machine).await?;
        list.push(ms(sent.elapsed()));
        let sent = Instant::now();
        history_page(client, model).await?;
        history.push(ms(sent.elapsed()));
    }
    sfn::drain(client, machine, Instant::now() + Duration::from_secs(120)).await?;
    report.latency(&format!("growth ({label}): StartExecution"), &start);
    report.latency(
        &format!("growth ({label}): ListExecutions first page"),
        &list,
    );
    report.latency(
        &format!("growth ({label}): GetExecutionHistory page"),
        &history,
    );
    let p50 = |samples: &[f64]| Summary::of(samples).map_or(f64::NAN, |s| s.p50);
    Ok(Round {
        start: p50(&start),
        list: p50(&list),
        history: p50(&history),
    })
}

/// Spacing of the StartExecution samples taken beside the sweep (and of their baseline).
const PACE: Duration = Duration::from_millis(100);

/// Sequential StartExecution calls `PACE` apart until `done` says so.
async fn paced(
    client: &Client,
    machine: &str,
    done: impl Fn(usize) -> bool,
) -> anyhow::Result<Vec<f64>> {
    let mut latencies = Vec::new();
    while !done(latencies.len()) {
        let sent = Instant::now();
        sfn::start(client, machine, "{}").await?;
        latencies.push(ms(sent.elapsed()));
        tokio::time::sleep(PACE).await;
    }
    Ok(latencies)
}

/// Retention's sweep of everything older than 40 days, with StartExecution sampled beside it.
async fn sweep(
    client: &Client,
    pool: &PgPool,
    machine: &str,
    samples: usize,
    report: &mut Report,
) -> anyhow::Result<()> {
    // The baseline: the same spacing without a sweep (a paced call meets an idler machine than
    // a call right after another).
    let quiet = paced(client, machine, |n| n >= samples).await?;
    report.latency(
        &format!("growth (paced {} ms): StartExecution", PACE.as_millis()),
        &quiet,
    );
    let batch = Batch::default();
    report.note(&format!(
        "sweep: batches of at most {} executions or ~{} history events, {} ms pause after each",
        batch.executions,
        batch.events,
        batch.pause.as_millis()
    ));
    let began = Instant::now();
    let sweeping = {
        let pool = pool.clone();
        tokio::spawn(async move {
            retention::sweep(&pool, Duration::from_secs(40 * 86_400), &batch).await
        })
    };
    let during = paced(client, machine, |_| sweeping.is_finished()).await?;
    let deleted = sweeping.await.context("sweep task")??;
    let took = began.elapsed().as_secs_f64();
    report.value(
        "growth: sweep deleted",
        deleted as f64,
        &format!("executions in {took:.1} s"),
    );
    report.value(
        "growth: sweep rate",
        deleted as f64 / took.max(1e-9),
        "executions/s",
    );
    report.latency("growth (paced, during the sweep): StartExecution", &during);
    let p50 = |samples: &[f64]| Summary::of(samples).map_or(f64::NAN, |s| s.p50);
    report.value(
        "growth: StartExecution p50 sweeping/quiet",
        p50(&during) / p50(&quiet).max(1e-9),
        "(paced calls)",
    );
    sfn::drain(client, machine, Instant::now() + Duration::from_secs(120)).await?;
    Ok(())
}

async fn list_page(client: &Client, machine: &str) -> anyhow::Result<()> {
    client
        .list_executions()
        .state_machine_arn(machine)
        .max_results(LIST_PAGE)
        .send()
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "ListExecutions: {}",
                aws_sdk_sfn::error::DisplayErrorContext(e)
            )
        })?;
    Ok(())
}

async fn history_page(client: &Client, execution: &str) -> anyhow::Result<()> {
    client
        .get_execution_history()
        .execution_arn(execution)
        .max_results(1000)
        .send()
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "GetExecutionHistory: {}",
                aws_sdk_sfn::error::DisplayErrorContext(e)
            )
        })?;
    Ok(())
}
