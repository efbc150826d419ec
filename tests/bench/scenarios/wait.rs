//! `wait`: N executions that each wait 1 s. Timer lateness is read from each history:
//! WaitStateExited − (WaitStateEntered + 1 s), so it includes finding the due timer and
//! committing the step, and none of the client's own delays.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_sfn::Client;
use aws_sdk_sfn::types::HistoryEventType;

use crate::report::Report;
use crate::{Args, load, sfn};

const DEFINITION: &str = r#"{"StartAt": "W", "States": {
    "W": {"Type": "Wait", "Seconds": 1, "Next": "D"},
    "D": {"Type": "Pass", "End": true}}}"#;

pub async fn run(client: &Client, args: &Args, report: &mut Report) -> anyhow::Result<()> {
    let machine = sfn::create_machine(client, "wait", DEFINITION).await?;
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
    let count = args.count_or(1000);
    let clients = args.clients_or(16);
    let began = Instant::now();
    let started = {
        let client = client.clone();
        let machine = machine.to_owned();
        load::run(clients, count, None, move |_| {
            let client = client.clone();
            let machine = machine.clone();
            async move { sfn::start(&client, &machine, "{}").await.map(drop) }
        })
        .await
    };
    if started.errors > 0 {
        report.error(&format!(
            "{} of {count} StartExecution calls failed; first: {}",
            started.errors,
            started.first_error.as_deref().unwrap_or_default()
        ));
    }
    report.note(&format!(
        "{} executions started from {clients} clients in {:.0} ms, each waiting 1 s",
        started.ok(),
        started.elapsed.as_secs_f64() * 1000.0
    ));
    let drained = sfn::drain(client, machine, Instant::now() + Duration::from_secs(300)).await?;
    report.value(
        "wait: all executions finished after",
        drained.duration_since(began).as_secs_f64() * 1000.0,
        "ms from the first start",
    );
    let executions: Vec<String> = sfn::list_all(client, machine)
        .await?
        .iter()
        .map(|e| e.execution_arn().to_owned())
        .collect();
    let lateness = Arc::new(Mutex::new(Vec::with_capacity(executions.len())));
    let read = {
        let client = client.clone();
        let lateness = Arc::clone(&lateness);
        let executions = Arc::new(executions);
        let n = executions.len();
        load::run(8, n, None, move |i| {
            let client = client.clone();
            let lateness = Arc::clone(&lateness);
            let execution = executions[i].clone();
            async move {
                let history = sfn::history(&client, &execution).await?;
                let at = |kind: HistoryEventType| {
                    history
                        .iter()
                        .find(|e| *e.r#type() == kind)
                        .map(|e| sfn::epoch_ms(e.timestamp()))
                };
                let (Some(entered), Some(exited)) = (
                    at(HistoryEventType::WaitStateEntered),
                    at(HistoryEventType::WaitStateExited),
                ) else {
                    anyhow::bail!("{execution}: no WaitStateEntered/WaitStateExited pair");
                };
                if let Ok(mut all) = lateness.lock() {
                    all.push(exited - (entered + 1000.0));
                }
                Ok(())
            }
        })
        .await
    };
    if read.errors > 0 {
        report.error(&format!(
            "{} histories unreadable; first: {}",
            read.errors,
            read.first_error.as_deref().unwrap_or_default()
        ));
    }
    let lateness = lateness
        .lock()
        .map(|all| all.clone())
        .map_err(|_| anyhow::anyhow!("lateness samples poisoned"))?;
    report.latency("wait: timer lateness (exited - entered - 1 s)", &lateness);
    Ok(())
}
