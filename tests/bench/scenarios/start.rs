//! `start`: StartExecution requests/s with N concurrent clients on a 1-state Pass machine.

use std::time::{Duration, Instant};

use aws_sdk_sfn::Client;

use crate::report::Report;
use crate::{Args, load, sfn};

pub async fn run(client: &Client, args: &Args, report: &mut Report) -> anyhow::Result<()> {
    let machine = sfn::create_machine(client, "start", &super::pass_chain(1)).await?;
    let outcome = measure(client, &machine, args, report).await;
    sfn::delete_machine(client, &machine).await;
    outcome
}

async fn measure(
    client: &Client,
    machine: &str,
    args: &Args,
    report: &mut Report,
) -> anyhow::Result<()> {
    let clients = args.clients_or(32);
    let count = args.count_or(20_000);
    // Warm connections and caches so the first requests do not weigh on the percentiles.
    for _ in 0..20 {
        sfn::start(client, machine, "{}").await?;
    }
    sfn::drain(client, machine, Instant::now() + Duration::from_secs(60)).await?;
    report.note(&format!(
        "{count} StartExecution calls from {clients} clients{}",
        args.rate
            .map(|r| format!(", paced to {r:.0} requests/s in total"))
            .unwrap_or_default()
    ));
    let began = Instant::now();
    let load = {
        let client = client.clone();
        let machine = machine.to_owned();
        load::run(clients, count, args.rate, move |_| {
            let client = client.clone();
            let machine = machine.clone();
            async move { sfn::start(&client, &machine, "{}").await.map(drop) }
        })
        .await
    };
    report.value("start: requests/s", load.rate(), "requests/s");
    report.latency("start: StartExecution latency", &load.latencies_ms);
    if load.errors > 0 {
        report.error(&format!(
            "{} of {count} StartExecution calls failed; first: {}",
            load.errors,
            load.first_error.as_deref().unwrap_or_default()
        ));
    }
    // The executions started must also finish: report how long the engine trailed the API.
    let drained = sfn::drain(client, machine, Instant::now() + Duration::from_secs(300)).await?;
    let total = drained.duration_since(began).as_secs_f64();
    report.value(
        "start: all executions finished after",
        total * 1000.0,
        "ms from the first start",
    );
    report.value(
        "start: executions completed/s (incl. drain)",
        load.ok() as f64 / total.max(1e-9),
        "executions/s",
    );
    Ok(())
}
