//! Helpers over the SDK shared by the scenarios.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use aws_sdk_sfn::Client;
use aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput;
use aws_sdk_sfn::primitives::DateTime;
use aws_sdk_sfn::types::{ExecutionListItem, ExecutionStatus, HistoryEvent};

/// Any role: neither Switchback nor moto assumes it.
pub const ROLE: &str = "arn:aws:iam::123456789012:role/bench";

/// A resource name no earlier run used, so runs never collide with each other or with data
/// already on the endpoint.
pub fn unique(what: &str) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("bench-{what}-{}", &id[..12])
}

pub async fn create_machine(
    client: &Client,
    what: &str,
    definition: &str,
) -> anyhow::Result<String> {
    let name = unique(what);
    let created = client
        .create_state_machine()
        .name(&name)
        .definition(definition)
        .role_arn(ROLE)
        .send()
        .await
        .with_context(|| format!("CreateStateMachine {name}"))?;
    Ok(created.state_machine_arn().to_owned())
}

/// Best effort: a failed delete is reported but does not hide the scenario's own outcome.
pub async fn delete_machine(client: &Client, arn: &str) {
    if let Err(error) = client
        .delete_state_machine()
        .state_machine_arn(arn)
        .send()
        .await
    {
        eprintln!(
            "  warning: DeleteStateMachine {arn}: {}",
            aws_sdk_sfn::error::DisplayErrorContext(error)
        );
    }
}

pub async fn create_activity(client: &Client, what: &str) -> anyhow::Result<String> {
    let name = unique(what);
    let created = client
        .create_activity()
        .name(&name)
        .send()
        .await
        .with_context(|| format!("CreateActivity {name}"))?;
    Ok(created.activity_arn().to_owned())
}

pub async fn delete_activity(client: &Client, arn: &str) {
    if let Err(error) = client.delete_activity().activity_arn(arn).send().await {
        eprintln!(
            "  warning: DeleteActivity {arn}: {}",
            aws_sdk_sfn::error::DisplayErrorContext(error)
        );
    }
}

/// Starts an execution under a fresh name: AWS generates one when it is omitted, but moto then
/// names every execution `None` and refuses the second.
pub async fn start(client: &Client, machine: &str, input: &str) -> anyhow::Result<String> {
    let started = client
        .start_execution()
        .state_machine_arn(machine)
        .name(uuid::Uuid::new_v4().to_string())
        .input(input)
        .send()
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "StartExecution: {}",
                aws_sdk_sfn::error::DisplayErrorContext(e)
            )
        })?;
    Ok(started.execution_arn().to_owned())
}

/// Polls DescribeExecution every `interval` until the execution is no longer RUNNING.
pub async fn wait_done(
    client: &Client,
    execution: &str,
    interval: Duration,
    deadline: Instant,
) -> anyhow::Result<DescribeExecutionOutput> {
    loop {
        let described = client
            .describe_execution()
            .execution_arn(execution)
            .send()
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "DescribeExecution: {}",
                    aws_sdk_sfn::error::DisplayErrorContext(e)
                )
            })?;
        if *described.status() != ExecutionStatus::Running {
            return Ok(described);
        }
        if Instant::now() >= deadline {
            anyhow::bail!("{execution} still RUNNING at the deadline");
        }
        tokio::time::sleep(interval).await;
    }
}

/// Fails unless the execution succeeded: a figure over failed executions would mislead.
pub fn expect_succeeded(described: &DescribeExecutionOutput) -> anyhow::Result<()> {
    if *described.status() != ExecutionStatus::Succeeded {
        anyhow::bail!(
            "{} ended {:?}: {} {}",
            described.execution_arn(),
            described.status(),
            described.error().unwrap_or_default(),
            described.cause().unwrap_or_default()
        );
    }
    Ok(())
}

/// Waits until the machine has no RUNNING execution; returns when that was seen.
pub async fn drain(client: &Client, machine: &str, deadline: Instant) -> anyhow::Result<Instant> {
    loop {
        let running = client
            .list_executions()
            .state_machine_arn(machine)
            .status_filter(ExecutionStatus::Running)
            .max_results(1)
            .send()
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "ListExecutions: {}",
                    aws_sdk_sfn::error::DisplayErrorContext(e)
                )
            })?;
        if running.executions().is_empty() {
            return Ok(Instant::now());
        }
        if Instant::now() >= deadline {
            anyhow::bail!("executions of {machine} still RUNNING at the deadline");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Every execution of the machine (ListExecutions to the last page).
pub async fn list_all(client: &Client, machine: &str) -> anyhow::Result<Vec<ExecutionListItem>> {
    let mut all = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = client
            .list_executions()
            .state_machine_arn(machine)
            .max_results(1000)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "ListExecutions: {}",
                    aws_sdk_sfn::error::DisplayErrorContext(e)
                )
            })?;
        all.extend(page.executions().iter().cloned());
        match page.next_token() {
            Some(next) => token = Some(next.to_owned()),
            None => return Ok(all),
        }
    }
}

/// The whole history of an execution, oldest first.
pub async fn history(client: &Client, execution: &str) -> anyhow::Result<Vec<HistoryEvent>> {
    let mut all = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = client
            .get_execution_history()
            .execution_arn(execution)
            .max_results(1000)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "GetExecutionHistory: {}",
                    aws_sdk_sfn::error::DisplayErrorContext(e)
                )
            })?;
        all.extend(page.events().iter().cloned());
        match page.next_token() {
            Some(next) => token = Some(next.to_owned()),
            None => return Ok(all),
        }
    }
}

/// A wire timestamp in milliseconds since the epoch, keeping any sub-millisecond part a server
/// sends (moto sends microseconds; Switchback whole milliseconds).
pub fn epoch_ms(time: &DateTime) -> f64 {
    time.secs() as f64 * 1000.0 + f64::from(time.subsec_nanos()) / 1e6
}

/// The client's wall clock, to compare with server timestamps (same machine, same clock).
pub fn now_epoch_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64() * 1000.0)
        .unwrap_or(0.0)
}
