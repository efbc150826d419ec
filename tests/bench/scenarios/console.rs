//! `console`: the web console's pages with a full database. `--count` (1,000,000) ended
//! executions are added to one machine as in `growth` (copies written by the database through
//! `--database-url`; one in a hundred then marked FAILED), and one execution runs an inline
//! Map over 6,000 items (~24,000 history events). Then `--samples` sequential GETs of each page,
//! timed from the request's first byte to the response's last on loopback: the executions list
//! (first page, a page in the middle by key, FAILED only, a name prefix), the state machines
//! list with its running and failed counts, and the long execution's page (graph colours from
//! every event, timeline, first and middle history pages). Goal: 100 ms each.
//!
//! The executions it adds stay: run it on a fresh `switchback dev` data directory.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::Context;
use aws_sdk_sfn::Client;
use sqlx::PgPool;

use crate::report::Report;
use crate::stats::ms;
use crate::{Args, sfn};

const LONG: &str = r#"{"StartAt": "M", "States": {"M": {"Type": "Map", "ItemsPath": "$.items",
    "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "P",
        "States": {"P": {"Type": "Pass", "End": true}}},
    "ResultSelector": {"done": true}, "End": true}}}"#;
const ITEMS: usize = 6_000;
const CHUNK: i64 = 100_000;
const MARK_FAILED: &str = "UPDATE executions SET status = 'FAILED' \
     WHERE state_machine_arn = $1 AND status = 'SUCCEEDED' AND seq % 100 = 0";
const MIDDLE_SEQ: &str = "SELECT seq FROM executions WHERE state_machine_arn = $1 \
     ORDER BY seq OFFSET $2 LIMIT 1";

pub async fn run(client: &Client, args: &Args, report: &mut Report) -> anyhow::Result<()> {
    let Some(url) = &args.database_url else {
        anyhow::bail!("--scenario console needs --database-url (the server's database)");
    };
    let address: SocketAddr = args
        .endpoint
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .context("--endpoint must be http://IP:PORT for this scenario")?;
    let pool = PgPool::connect(url)
        .await
        .context("connecting to --database-url")?;
    let outcome = measure(client, &pool, address, args, report).await;
    pool.close().await;
    outcome
}

async fn measure(
    client: &Client,
    pool: &PgPool,
    address: SocketAddr,
    args: &Args,
    report: &mut Report,
) -> anyhow::Result<()> {
    let samples = args.samples_or(100);
    let count = i64::try_from(args.count_or(1_000_000)).unwrap_or(i64::MAX);

    let machine = sfn::create_machine(client, "console", &super::pass_chain(3)).await?;
    let model = sfn::start(client, &machine, r#"{"n": 1}"#).await?;
    sfn::expect_succeeded(
        &sfn::wait_done(
            client,
            &model,
            Duration::from_millis(5),
            Instant::now() + Duration::from_secs(30),
        )
        .await?,
    )?;
    let began = Instant::now();
    let mut inserted = 0i64;
    while inserted < count {
        let last = (inserted + CHUNK).min(count);
        sqlx::query(super::growth::INSERT_COPIES)
            .bind(&model)
            .bind(inserted + 1)
            .bind(last)
            .execute(pool)
            .await
            .context("inserting ended executions")?;
        inserted = last;
    }
    let failed = sqlx::query(MARK_FAILED)
        .bind(&machine)
        .execute(pool)
        .await?
        .rows_affected();
    sqlx::raw_sql("VACUUM ANALYZE executions, history_events")
        .execute(pool)
        .await?;
    let _ = sqlx::raw_sql("CHECKPOINT").execute(pool).await;
    report.value(
        "console: executions stored",
        (inserted + 1) as f64,
        &format!(
            "executions, {failed} of them FAILED, inserted in {:.1} s",
            began.elapsed().as_secs_f64()
        ),
    );
    let middle: i64 = sqlx::query_scalar(MIDDLE_SEQ)
        .bind(&machine)
        .bind(inserted / 2)
        .fetch_one(pool)
        .await?;

    let long_machine = sfn::create_machine(client, "console-long", LONG).await?;
    let items: Vec<usize> = (0..ITEMS).collect();
    let long = sfn::start(
        client,
        &long_machine,
        &serde_json::json!({ "items": items }).to_string(),
    )
    .await?;
    sfn::expect_succeeded(
        &sfn::wait_done(
            client,
            &long,
            Duration::from_millis(50),
            Instant::now() + Duration::from_secs(300),
        )
        .await?,
    )?;
    let events = sfn::history(client, &long).await?.len();
    report.value(
        "console: events of the long execution",
        events as f64,
        "events",
    );

    // The copies are named after the model execution: `<name>-<n>`.
    let name = model.rsplit(':').next().unwrap_or_default();
    let pages = [
        ("executions, first page", "/console/executions".to_owned()),
        (
            "executions, a page in the middle",
            format!("/console/executions?before={middle}"),
        ),
        (
            "executions, FAILED only",
            "/console/executions?status=FAILED".to_owned(),
        ),
        (
            "executions, a name prefix (111 matches)",
            format!("/console/executions?name={name}-5000"),
        ),
        ("state machines with counts", "/console/".to_owned()),
        (
            "the long execution's page",
            format!("/console/execution?arn={long}"),
        ),
        (
            "the long execution, middle history page",
            format!("/console/execution?arn={long}&after={}", events / 2),
        ),
    ];
    // The long execution's first view reads its outline from the database; later views read
    // only what was added since (none: it has ended).
    let first = Instant::now();
    get(address, &pages[5].1).await?;
    report.value(
        "console: the long execution's page, first view",
        ms(first.elapsed()),
        "ms (its outline read from the database)",
    );
    // Warm the pool, caches and plans.
    for (_, path) in &pages {
        for _ in 0..5 {
            get(address, path).await?;
        }
    }
    report.note(&format!(
        "{samples} sequential GETs per page, timed on loopback from the request to the last \
         byte of the page (goal: 100 ms)"
    ));
    for (what, path) in &pages {
        let mut latencies = Vec::with_capacity(samples);
        for _ in 0..samples {
            let sent = Instant::now();
            get(address, path).await?;
            latencies.push(ms(sent.elapsed()));
        }
        report.latency(&format!("console: {what}"), &latencies);
    }
    sfn::delete_machine(client, &long_machine).await;
    sfn::delete_machine(client, &machine).await;
    Ok(())
}

async fn get(address: SocketAddr, path: &str) -> anyhow::Result<()> {
    let response = switchback_tests::raw::try_get(address, path).await?;
    if response.status != 200 {
        anyhow::bail!("GET {path}: status {}", response.status);
    }
    Ok(())
}
