//! DescribeMapRun, ListMapRuns, UpdateMapRun: the runs of Distributed Map states.

use serde::Deserialize;
use serde_json::{Value, json};
use switchback_asl::arn::ResourceKind;
use switchback_store::executions;
use switchback_store::map_runs::{self, MapRun, Settings, Tally, Updated};

use super::Context;
use super::common::{Paging, page_of, parse_scoped_arn};
use crate::Error;
use crate::input::{Checks, parse};
use crate::protocol::epoch_seconds;

/// The model's length limit of a Map Run's ARN (`LongArn`).
const MAP_RUN_ARN_MAX: usize = 2000;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DescribeInput {
    map_run_arn: Option<String>,
}

pub async fn describe(context: &Context<'_>, body: Value) -> Result<Value, Error> {
    let request: DescribeInput = parse(body)?;
    Checks::new()
        .required("mapRunArn", &request.map_run_arn)
        .length(
            "mapRunArn",
            request.map_run_arn.as_deref(),
            1,
            MAP_RUN_ARN_MAX,
        )
        .finish()?;
    let arn = request.map_run_arn.unwrap_or_default();
    let run = find(context, &arn).await?;
    let (items, executions) = run.counts.tallies();
    let (items, executions) = (described(items), described(executions));
    let mut output = json!({
        "mapRunArn": run.arn,
        "executionArn": run.execution_arn,
        "status": run.status,
        "startDate": epoch_seconds(run.started_at),
        "maxConcurrency": run.max_concurrency,
        "toleratedFailurePercentage": run.tolerated_failure_percentage.unwrap_or(0.0),
        "toleratedFailureCount": run.tolerated_failure_count.unwrap_or(0),
        "itemCounts": items,
        "executionCounts": executions,
        "redriveCount": run.redrive_count,
    });
    if let Some(stopped) = run.stopped_at {
        output["stopDate"] = epoch_seconds(stopped);
    }
    if let Some(date) = run.redrive_date {
        output["redriveDate"] = epoch_seconds(date);
    }
    Ok(output)
}

/// A run of the request's account and region by ARN, or `ResourceNotFound`.
async fn find(context: &Context<'_>, arn: &str) -> Result<MapRun, Error> {
    let missing = || Error::ResourceNotFound(format!("Map Run Does Not Exist: '{arn}'"));
    if parse_scoped_arn(context, arn, ResourceKind::MapRun)?.is_none() {
        return Err(missing());
    }
    map_runs::describe(&context.state.pool, arn)
        .await?
        .ok_or_else(missing)
}

/// DescribeMapRun's `itemCounts` or `executionCounts` (`map_runs::Counts::tallies` holds the
/// rule; nothing is counted as not redrivable or waiting for a redrive).
fn described(tally: Tally) -> Value {
    json!({
        "pending": tally.pending,
        "running": tally.running,
        "succeeded": tally.succeeded,
        "failed": tally.failed,
        "timedOut": tally.timed_out,
        "aborted": tally.aborted,
        "total": tally.total,
        "resultsWritten": tally.results_written,
        "failuresNotRedrivable": 0,
        "pendingRedrive": 0,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListInput {
    execution_arn: Option<String>,
    #[serde(flatten)]
    paging: Paging,
}

pub async fn list(context: &Context<'_>, body: Value) -> Result<Value, Error> {
    let request: ListInput = parse(body)?;
    let mut checks = Checks::new();
    checks.arn("executionArn", &request.execution_arn);
    request.paging.check(&mut checks);
    checks.finish()?;
    let arn = request.execution_arn.unwrap_or_default();
    let missing = || Error::ExecutionDoesNotExist(arn.clone());
    if parse_scoped_arn(context, &arn, ResourceKind::Execution)?.is_none() {
        return Err(missing());
    }
    if executions::describe(&context.state.pool, &arn)
        .await?
        .is_none()
    {
        return Err(missing());
    }
    let list = format!("map-runs/{arn}");
    // Newest first: positions decrease.
    let page = request.paging.newest_first(context, &list)?;
    let before = page.after;
    let rows = map_runs::list(&context.state.pool, &arn, before, page.size + 1).await?;
    Ok(page_of(
        context,
        &list,
        &page,
        &rows,
        "mapRuns",
        |run| run.seq,
        |run| {
            let mut item = json!({
                "executionArn": run.execution_arn,
                "mapRunArn": run.arn,
                "stateMachineArn": children_machine(&run.arn),
                "startDate": epoch_seconds(run.started_at),
            });
            if let Some(stopped) = run.stopped_at {
                item["stopDate"] = epoch_seconds(stopped);
            }
            item
        },
    ))
}

/// The state machine a run's children run: `…:stateMachine:<machine>/<label>`.
fn children_machine(map_run_arn: &str) -> String {
    let machine = map_run_arn.replacen(":mapRun:", ":stateMachine:", 1);
    machine
        .rsplit_once(':')
        .map_or(machine.clone(), |(base, _)| base.to_owned())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateInput {
    map_run_arn: Option<String>,
    max_concurrency: Option<i64>,
    tolerated_failure_percentage: Option<f64>,
    tolerated_failure_count: Option<i64>,
}

pub async fn update(context: &Context<'_>, body: Value) -> Result<Value, Error> {
    let request: UpdateInput = parse(body)?;
    let mut checks = Checks::new();
    checks
        .required("mapRunArn", &request.map_run_arn)
        .length(
            "mapRunArn",
            request.map_run_arn.as_deref(),
            1,
            MAP_RUN_ARN_MAX,
        )
        .range("maxConcurrency", request.max_concurrency, 0, i64::MAX)
        .range(
            "toleratedFailureCount",
            request.tolerated_failure_count,
            0,
            i64::MAX,
        );
    if let Some(p) = request.tolerated_failure_percentage
        && !(0.0..=100.0).contains(&p)
    {
        checks.custom(
            "toleratedFailurePercentage",
            Some(p.to_string()),
            "Member must have value less than or equal to 100.0 and greater than or equal to 0.0",
        );
    }
    checks.finish()?;
    if request.max_concurrency.is_none()
        && request.tolerated_failure_count.is_none()
        && request.tolerated_failure_percentage.is_none()
    {
        return Err(Error::Validation(
            "At least one of maxConcurrency, toleratedFailureCount or toleratedFailurePercentage must be provided"
                .to_owned(),
        ));
    }
    let arn = request.map_run_arn.unwrap_or_default();
    find(context, &arn).await?;
    let settings = Settings {
        max_concurrency: request
            .max_concurrency
            .map(|n| i32::try_from(n).unwrap_or(i32::MAX)),
        tolerated_failure_count: request.tolerated_failure_count,
        tolerated_failure_percentage: request.tolerated_failure_percentage,
    };
    match map_runs::update(&context.state.pool, &arn, settings).await? {
        Updated::Done => {
            context.state.due.wake();
            Ok(json!({}))
        }
        Updated::Ended => Err(Error::Validation(format!(
            "Map Run '{arn}' has already completed and cannot be updated"
        ))),
        Updated::Missing => Err(Error::ResourceNotFound(format!(
            "Map Run Does Not Exist: '{arn}'"
        ))),
    }
}
