//! `pass5`: a chain of 5 Pass states.
//!
//! Sequential: one execution at a time, its server-recorded duration (stopDate − startDate from
//! DescribeExecution) and its client-observed duration (StartExecution sent → SUCCEEDED seen by
//! a DescribeExecution poll every 1 ms, so the poll adds up to ~1 ms plus one round trip).
//! Concurrent: N clients start executions; executions/s over the server's span (first
//! startDate to last stopDate), and state transitions/s defined as Pass states executed per
//! second (5 per execution).

use std::time::{Duration, Instant};

use aws_sdk_sfn::Client;

use crate::report::Report;
use crate::stats::ms;
use crate::{Args, load, sfn};

const STATES: usize = 5;

pub async fn run(client: &Client, args: &Args, report: &mut Report) -> anyhow::Result<()> {
    run_definition(client, args, report, &super::pass_chain(STATES)).await
}

/// The same chain in JSONata (`--scenario pass5-jsonata`): the figures compare with `run`'s.
pub async fn run_jsonata(client: &Client, args: &Args, report: &mut Report) -> anyhow::Result<()> {
    run_definition(client, args, report, &super::jsonata_pass_chain(STATES)).await
}

async fn run_definition(
    client: &Client,
    args: &Args,
    report: &mut Report,
    definition: &str,
) -> anyhow::Result<()> {
    let machine = sfn::create_machine(client, "pass5", definition).await?;
    let outcome = async {
        sequential(client, &machine, args.samples_or(200), report).await?;
        concurrent(
            client,
            &machine,
            args.clients_or(32),
            args.count_or(10_000),
            report,
        )
        .await
        .map(drop)
    }
    .await;
    sfn::delete_machine(client, &machine).await;
    outcome
}

pub async fn sequential(
    client: &Client,
    machine: &str,
    samples: usize,
    report: &mut Report,
) -> anyhow::Result<()> {
    let poll = Duration::from_millis(1);
    for _ in 0..10 {
        let execution = sfn::start(client, machine, r#"{"n": 1}"#).await?;
        sfn::wait_done(
            client,
            &execution,
            poll,
            Instant::now() + Duration::from_secs(30),
        )
        .await?;
    }
    let mut server = Vec::with_capacity(samples);
    let mut observed = Vec::with_capacity(samples);
    for _ in 0..samples {
        let sent = Instant::now();
        let execution = sfn::start(client, machine, r#"{"n": 1}"#).await?;
        let done = sfn::wait_done(
            client,
            &execution,
            poll,
            Instant::now() + Duration::from_secs(30),
        )
        .await?;
        observed.push(ms(sent.elapsed()));
        sfn::expect_succeeded(&done)?;
        if let Some(stop) = done.stop_date() {
            server.push(sfn::epoch_ms(stop) - sfn::epoch_ms(done.start_date()));
        }
    }
    report.note(&format!(
        "sequential: {samples} executions one at a time, DescribeExecution polled every 1 ms"
    ));
    report.latency("pass5 sequential: server stop-start", &server);
    report.latency("pass5 sequential: client start->SUCCEEDED", &observed);
    Ok(())
}

/// Returns the executions/s measured over the server's span.
pub async fn concurrent(
    client: &Client,
    machine: &str,
    clients: usize,
    count: usize,
    report: &mut Report,
) -> anyhow::Result<f64> {
    // Count only this phase's executions: the sequential ones are already finished, so they
    // are told apart by their start time.
    let phase_start = sfn::now_epoch_ms() - 1.0;
    let began = Instant::now();
    let load = {
        let client = client.clone();
        let machine = machine.to_owned();
        load::run(clients, count, None, move |_| {
            let client = client.clone();
            let machine = machine.clone();
            async move { sfn::start(&client, &machine, r#"{"n": 1}"#).await.map(drop) }
        })
        .await
    };
    if load.errors > 0 {
        report.error(&format!(
            "{} of {count} StartExecution calls failed; first: {}",
            load.errors,
            load.first_error.as_deref().unwrap_or_default()
        ));
    }
    let drained = sfn::drain(client, machine, Instant::now() + Duration::from_secs(600)).await?;
    let wall = drained.duration_since(began).as_secs_f64();
    let items: Vec<_> = sfn::list_all(client, machine)
        .await?
        .into_iter()
        .filter(|e| sfn::epoch_ms(e.start_date()) >= phase_start)
        .collect();
    let failed = items
        .iter()
        .filter(|e| *e.status() != aws_sdk_sfn::types::ExecutionStatus::Succeeded)
        .count();
    if failed > 0 {
        report.error(&format!("{failed} executions did not succeed"));
    }
    let span = super::server_span_ms(&items)
        .ok_or_else(|| anyhow::anyhow!("no finished executions to measure"))?;
    let per_second = items.len() as f64 / (span / 1000.0).max(1e-9);
    report.note(&format!(
        "concurrent: {} executions from {clients} clients; state transitions/s = Pass states \
         executed per second = {STATES} x executions/s",
        items.len()
    ));
    report.value(
        "pass5 concurrent: StartExecution requests/s",
        load.rate(),
        "requests/s",
    );
    report.latency(
        "pass5 concurrent: StartExecution latency",
        &load.latencies_ms,
    );
    report.value(
        "pass5 concurrent: executions/s (server span)",
        per_second,
        "executions/s",
    );
    report.value(
        "pass5 concurrent: state transitions/s",
        per_second * STATES as f64,
        "states/s",
    );
    report.value(
        "pass5 concurrent: executions/s (client wall)",
        load.ok() as f64 / wall.max(1e-9),
        "executions/s",
    );
    Ok(per_second)
}
