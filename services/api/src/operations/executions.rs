//! StartExecution, DescribeExecution, ListExecutions, StopExecution, GetExecutionHistory,
//! DescribeStateMachineForExecution. The API records intents; schedulers run executions.

use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};
use switchback_asl::arn::{Arn, ResourceKind, names_express_execution, names_version};
use switchback_asl::start::{self, Refusal};
use switchback_store::executions::{self, Execution, NewExecution, Started};
use switchback_store::signals::Event;
use switchback_store::state_machines;
use switchback_store::text::UserText;
use switchback_store::versions;

use super::common::{Paging, in_scope, next_token, page_of, parse_arn};
use super::{Context, Reply};
use crate::Error;
use crate::input::{Checks, parse};
use crate::protocol::epoch_seconds;

/// AWS's order of the `ExecutionStatus` enum, as its validation messages list it.
const STATUSES: [&str; 6] = [
    "SUCCEEDED",
    "TIMED_OUT",
    "PENDING_REDRIVE",
    "ABORTED",
    "FAILED",
    "RUNNING",
];

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StartInput {
    state_machine_arn: Option<String>,
    name: Option<String>,
    input: Option<String>,
    trace_header: Option<String>,
}

pub async fn start(context: &Context<'_>, body: Value) -> Result<Value, Error> {
    let execution = record_start(context, parse(body)?, Kinds::Any).await?;
    Ok(json!({
        "executionArn": execution.arn,
        "startDate": epoch_seconds(execution.started_at),
    }))
}

/// Whether a StartExecution call names an EXPRESS state machine (throttling takes its token
/// from a bucket of its own). A call that names none is counted as a STANDARD start and then
/// refused by the start's own checks.
pub async fn starts_express(
    context: &Context<'_>,
    throttle: &crate::throttle::Throttle,
    body: &Value,
) -> Result<bool, Error> {
    let Some(requested) = body.get("stateMachineArn").and_then(Value::as_str) else {
        return Ok(false);
    };
    let requested = requested.split_once('#').map_or(requested, |(arn, _)| arn);
    // Another scope's machine does not exist for this caller: nothing to read.
    let Ok((machine, _)) = Arn::parse_qualified_machine(requested) else {
        return Ok(false);
    };
    if !in_scope(context, &machine) {
        return Ok(false);
    }
    let arn = machine.text();
    if let Some(express) = throttle.known_express(&arn) {
        return Ok(express);
    }
    // A machine that does not exist is not remembered: it may be created next, as EXPRESS.
    let Some(machine_type) = state_machines::machine_type(&context.state.pool, &arn).await? else {
        return Ok(false);
    };
    let express = machine_type == "EXPRESS";
    throttle.remember_express(&arn, express);
    Ok(express)
}

/// Which machines a start accepts.
#[derive(PartialEq)]
enum Kinds {
    Any,
    /// StartSyncExecution: EXPRESS machines only.
    ExpressOnly,
}

/// Checks and records a start: StartExecution's and StartSyncExecution's shared path.
async fn record_start(
    context: &Context<'_>,
    request: StartInput,
    kinds: Kinds,
) -> Result<Execution, Error> {
    Checks::new()
        .arn("stateMachineArn", &request.state_machine_arn)
        .length("name", request.name.as_deref(), 1, 80)
        .length("traceHeader", request.trace_header.as_deref(), 0, 256)
        .finish()?;
    let requested_arn = request.state_machine_arn.unwrap_or_default();
    // `<stateMachineArn>#<case>` runs a test case of the mock configuration, as in AWS Step
    // Functions Local; the execution belongs to the machine either way.
    let (machine_arn, test_case) = match requested_arn.split_once('#') {
        Some((arn, case)) => (arn.to_owned(), Some(case.to_owned())),
        None => (requested_arn, None),
    };
    let name = request
        .name
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let start = start::check(&machine_arn, name, request.input)?;
    if !in_scope(context, &start.machine) {
        return Err(Refusal::StateMachineDoesNotExist(machine_arn).into());
    }
    if let Some(case) = &test_case {
        let known = context
            .state
            .config
            .mocks
            .as_ref()
            .is_some_and(|mocks| mocks.has_case(start.machine.name(), case));
        if !known {
            return Err(Error::Validation(format!(
                "Test case '{case}' of state machine '{}' is not in the mock configuration (setting mocks.config_file)",
                start.machine.name()
            )));
        }
    }
    if kinds == Kinds::ExpressOnly {
        let machine = state_machines::describe(&context.state.pool, &start.machine.text())
            .await?
            .ok_or_else(|| Error::StateMachineDoesNotExist(machine_arn.clone()))?;
        if machine.machine_type != "EXPRESS" {
            return Err(Error::StateMachineTypeNotSupported);
        }
    }
    let target = versions::resolve(&context.state.pool, &start).await??;
    let new = NewExecution {
        trace_header: request.trace_header,
        test_case,
        ..NewExecution::new(context.scope.clone(), start, target)
    };
    let execution = match context.state.starter.record(new).await? {
        Started::New(e) => {
            context.state.due.wake();
            e
        }
        Started::Existing(e) => e,
        Started::Refused(refusal) => return Err(refusal.into()),
    };
    // The API span carries the ARN, so a trace joins the scheduler's steps of this execution.
    tracing::Span::current().record("execution_arn", execution.arn.as_str());
    tracing::debug!(execution_arn = %execution.arn, "execution recorded");
    Ok(execution)
}

/// How long StartSyncExecution waits past Express's limit for a scheduler to time the
/// execution out, before it stops the execution itself (no scheduler may be running).
const SYNC_GRACE: Duration = Duration::from_secs(5);

/// StartSyncExecution: starts an EXPRESS execution and answers with how it ended. Any
/// scheduler may run it; this node watches its row. The engine times an Express execution out
/// after five minutes; one still running a little later (no scheduler took it) is stopped here
/// and answered TIMED_OUT.
pub async fn start_sync(context: &Context<'_>, body: Value) -> Result<Value, Error> {
    let execution = record_start(context, parse(body)?, Kinds::ExpressOnly).await?;
    let deadline = tokio::time::Instant::now()
        + Duration::from_secs(switchback_asl::limits::EXPRESS_MAX_SECONDS)
        + SYNC_GRACE;
    let mut pause = Duration::from_millis(2);
    let ended = loop {
        let current = executions::describe(&context.state.pool, &execution.arn)
            .await?
            .ok_or_else(|| Error::ExecutionDoesNotExist(execution.arn.clone()))?;
        if current.status != "RUNNING" {
            break current;
        }
        if tokio::time::Instant::now() >= deadline {
            let error = switchback_asl::failure::errors::TIMEOUT.to_owned();
            let cause = "The execution ran longer than an Express execution may".to_owned();
            let stop = Event::Stop {
                error: Some(error.clone()),
                cause: Some(cause.clone()),
            };
            executions::signal(&context.state.pool, current.seq, &stop).await?;
            context.state.due.wake();
            let mut timed_out = current;
            timed_out.status = "TIMED_OUT".to_owned();
            timed_out.stopped_at = Some(time::OffsetDateTime::now_utc());
            timed_out.error = Some(UserText(error));
            timed_out.cause = Some(UserText(cause));
            break timed_out;
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(50));
    };
    let stopped = ended.stopped_at.unwrap_or(ended.started_at);
    let mut output = json!({
        "executionArn": ended.arn,
        "stateMachineArn": ended.state_machine_arn,
        "name": ended.name,
        "startDate": epoch_seconds(ended.started_at),
        "stopDate": epoch_seconds(stopped),
        "status": if ended.status == "ABORTED" { "TIMED_OUT" } else { ended.status.as_str() },
        "input": ended.input,
        "inputDetails": { "included": true },
        "billingDetails": billing(ended.started_at, stopped),
    });
    if let Some(text) = &ended.output {
        output["output"] = Value::from(text.as_str());
        output["outputDetails"] = json!({ "included": true });
    }
    if let Some(error) = &ended.error {
        output["error"] = Value::from(error.0.as_str());
    }
    if let Some(cause) = &ended.cause {
        output["cause"] = Value::from(cause.0.as_str());
    }
    if let Some(header) = &ended.trace_header {
        output["traceHeader"] = Value::from(header.0.as_str());
    }
    Ok(output)
}

/// Billing as AWS reports it for a synchronous Express execution: duration rounded up to
/// 100 ms, memory in 64 MB steps (Switchback bills nothing; clients read these members).
fn billing(started: time::OffsetDateTime, stopped: time::OffsetDateTime) -> Value {
    let millis = (stopped - started).whole_milliseconds().max(0);
    let billed = ((millis + 99) / 100).max(1) * 100;
    json!({ "billedDurationInMilliseconds": billed, "billedMemoryUsedInMB": 64 })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ArnInput {
    execution_arn: Option<String>,
}

/// The execution an `executionArn` member names.
async fn find(context: &Context<'_>, arn: Option<String>) -> Result<Execution, Error> {
    Checks::new().arn("executionArn", &arn).finish()?;
    let arn = arn.unwrap_or_default();
    // An Express execution's ARN (`…:express:…`) is refused as AWS refuses it: its executions
    // are neither described, stopped, redriven nor given a history.
    if !in_scope(context, &parse_arn(&arn, ResourceKind::Execution)?) {
        return Err(Error::ExecutionDoesNotExist(arn));
    }
    executions::describe(&context.state.pool, &arn)
        .await?
        .ok_or(Error::ExecutionDoesNotExist(arn))
}

/// As [`find`], for DescribeExecution, which also describes an Express execution a
/// Distributed Map's run started (AWS's one exception for Express executions).
async fn find_described(context: &Context<'_>, arn: Option<String>) -> Result<Execution, Error> {
    let Some(text) = arn.as_deref().filter(|a| names_express_execution(a)) else {
        return find(context, arn).await;
    };
    let as_standard = text.replacen(":express:", ":execution:", 1);
    match Arn::parse(&as_standard, ResourceKind::Execution) {
        Ok(parsed) if in_scope(context, &parsed) => {
            match executions::describe(&context.state.pool, text).await? {
                Some(child) if child.map_run_arn.is_some() => Ok(child),
                _ => find(context, arn).await,
            }
        }
        _ => find(context, arn).await,
    }
}

pub async fn describe(context: &Context<'_>, body: Value) -> Result<Value, Error> {
    let request: ArnInput = parse(body)?;
    let execution = find_described(context, request.execution_arn).await?;
    let mut output = json!({
        "executionArn": execution.arn,
        "stateMachineArn": execution.state_machine_arn,
        "name": execution.name,
        "status": execution.status,
        "startDate": epoch_seconds(execution.started_at),
        "input": execution.input,
        "inputDetails": { "included": true },
    });
    if let Some(stopped) = execution.stopped_at {
        output["stopDate"] = epoch_seconds(stopped);
    }
    if let Some(text) = &execution.output {
        output["output"] = Value::from(text.as_str());
        output["outputDetails"] = json!({ "included": true });
    }
    if let Some(error) = &execution.error {
        output["error"] = Value::from(error.0.as_str());
    }
    if let Some(cause) = &execution.cause {
        output["cause"] = Value::from(cause.0.as_str());
    }
    if let Some(header) = &execution.trace_header {
        output["traceHeader"] = Value::from(header.0.as_str());
    }
    if let Some(version) = &execution.state_machine_version_arn {
        output["stateMachineVersionArn"] = Value::from(version.as_str());
    }
    if let Some(alias) = &execution.state_machine_alias_arn {
        output["stateMachineAliasArn"] = Value::from(alias.as_str());
    }
    if let Some(run) = &execution.map_run_arn {
        output["mapRunArn"] = Value::from(run.as_str());
    }
    output["redriveCount"] = Value::from(execution.redrive_count);
    if let Some(date) = execution.redrive_date {
        output["redriveDate"] = epoch_seconds(date);
    }
    match execution.not_redrivable(time::OffsetDateTime::now_utc()) {
        None => output["redriveStatus"] = Value::from("REDRIVABLE"),
        // A Map Run's child that did not succeed: its parent's redrive redrives it.
        Some(_)
            if execution.map_run_arn.is_some()
                && matches!(
                    execution.status.as_str(),
                    "FAILED" | "TIMED_OUT" | "ABORTED"
                ) =>
        {
            output["redriveStatus"] = Value::from("REDRIVABLE_BY_MAP_RUN");
        }
        Some(reason) => {
            output["redriveStatus"] = Value::from("NOT_REDRIVABLE");
            output["redriveStatusReason"] = Value::from(reason);
        }
    }
    Ok(output)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListInput {
    state_machine_arn: Option<String>,
    status_filter: Option<String>,
    map_run_arn: Option<String>,
    redrive_filter: Option<String>,
    #[serde(flatten)]
    paging: Paging,
}

pub async fn list(context: &Context<'_>, body: Value) -> Result<Value, Error> {
    let request: ListInput = parse(body)?;
    let mut checks = Checks::new();
    checks
        .optional_arn("stateMachineArn", &request.state_machine_arn)
        .one_of("statusFilter", request.status_filter.as_deref(), &STATUSES)
        .one_of(
            "redriveFilter",
            request.redrive_filter.as_deref(),
            &["REDRIVEN", "NOT_REDRIVEN"],
        );
    request.paging.check(&mut checks);
    checks.finish()?;
    let redriven = request.redrive_filter.as_deref().map(|f| f == "REDRIVEN");
    if let Some(run_arn) = &request.map_run_arn {
        if request.state_machine_arn.is_some() {
            return Err(Error::Validation(
                "Only one of stateMachineArn or mapRunArn can be provided".to_owned(),
            ));
        }
        return list_map_run(context, run_arn, &request, redriven).await;
    }
    let Some(machine_arn) = request.state_machine_arn else {
        return Err(Error::Validation(
            "Must provide a StateMachine ARN or MapRun ARN".to_owned(),
        ));
    };
    // A version or alias ARN lists the executions started through it.
    let (machine, qualifier) = Arn::parse_qualified_machine(&machine_arn)
        .map_err(|error| Error::InvalidArn(error.to_string()))?;
    let base_arn = machine.text();
    if !in_scope(context, &machine) {
        return Err(Error::StateMachineDoesNotExist(machine_arn));
    }
    let Some(base) = state_machines::describe(&context.state.pool, &base_arn).await? else {
        return Err(Error::StateMachineDoesNotExist(machine_arn));
    };
    // AWS keeps no list of Express executions, whatever ARN names the machine.
    if base.machine_type == "EXPRESS" {
        return Err(Error::StateMachineTypeNotSupported);
    }
    let exists = match &qualifier {
        None => true,
        Some(q) if names_version(q) => {
            versions::describe_version(&context.state.pool, &machine_arn)
                .await?
                .is_some()
        }
        Some(_) => versions::describe_alias(&context.state.pool, &machine_arn)
            .await?
            .is_some(),
    };
    if !exists {
        return Err(Error::StateMachineDoesNotExist(machine_arn));
    }
    let by_version = qualifier.as_deref().is_some_and(names_version);
    let filter = executions::Filter {
        status: request.status_filter.as_deref(),
        version_arn: (qualifier.is_some() && by_version).then_some(machine_arn.as_str()),
        alias_arn: (qualifier.is_some() && !by_version).then_some(machine_arn.as_str()),
        redriven,
    };
    // A token is good only for the same machine and filter.
    let list = format!(
        "executions/{machine_arn}/{}/{}",
        request.status_filter.as_deref().unwrap_or("*"),
        request.redrive_filter.as_deref().unwrap_or("*")
    );
    // Newest first: positions decrease.
    let page = request.paging.newest_first(context, &list)?;
    let before = page.after;
    let rows = executions::list(
        &context.state.pool,
        &base_arn,
        filter,
        before,
        page.size + 1,
    )
    .await?;
    Ok(page_of(
        context,
        &list,
        &page,
        &rows,
        "executions",
        |e| e.seq,
        list_item,
    ))
}

/// ListExecutions of a Distributed Map run: its children, newest item first.
async fn list_map_run(
    context: &Context<'_>,
    run_arn: &str,
    request: &ListInput,
    redriven: Option<bool>,
) -> Result<Value, Error> {
    let missing = || Error::ResourceNotFound(format!("Map Run Does Not Exist: '{run_arn}'"));
    let run = Arn::parse(run_arn, ResourceKind::MapRun)
        .map_err(|error| Error::InvalidArn(error.to_string()))?;
    if !in_scope(context, &run) {
        return Err(missing());
    }
    if switchback_store::map_runs::describe(&context.state.pool, run_arn)
        .await?
        .is_none()
    {
        return Err(missing());
    }
    let list = format!(
        "map-run-executions/{run_arn}/{}/{}",
        request.status_filter.as_deref().unwrap_or("*"),
        request.redrive_filter.as_deref().unwrap_or("*")
    );
    // Newest first: positions decrease.
    let page = request.paging.newest_first(context, &list)?;
    let before = page.after;
    let filter = executions::Filter {
        status: request.status_filter.as_deref(),
        redriven,
        ..executions::Filter::default()
    };
    let rows =
        executions::list_for_map_run(&context.state.pool, run_arn, filter, before, page.size + 1)
            .await?;
    Ok(page_of(
        context,
        &list,
        &page,
        &rows,
        "executions",
        |e| e.map_index.unwrap_or(0),
        |e| {
            let mut item = list_item(e);
            item["mapRunArn"] = Value::from(run_arn);
            // A batch's child runs its items; any other, one.
            item["itemCount"] = Value::from(e.map_items.unwrap_or(1));
            item
        },
    ))
}

/// An execution as ListExecutions lists it.
fn list_item(e: &Execution) -> Value {
    let mut item = json!({
        "executionArn": e.arn,
        "stateMachineArn": e.state_machine_arn,
        "name": e.name,
        "status": e.status,
        "startDate": epoch_seconds(e.started_at),
    });
    if let Some(stopped) = e.stopped_at {
        item["stopDate"] = epoch_seconds(stopped);
    }
    if let Some(version) = &e.state_machine_version_arn {
        item["stateMachineVersionArn"] = Value::from(version.as_str());
    }
    if let Some(alias) = &e.state_machine_alias_arn {
        item["stateMachineAliasArn"] = Value::from(alias.as_str());
    }
    item["redriveCount"] = Value::from(e.redrive_count);
    if let Some(date) = e.redrive_date {
        item["redriveDate"] = epoch_seconds(date);
    }
    item
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StopInput {
    execution_arn: Option<String>,
    error: Option<String>,
    cause: Option<String>,
}

/// How long StopExecution waits for a scheduler to apply the stop, so that a DescribeExecution
/// right after it sees ABORTED, as with AWS.
const STOP_WAIT: Duration = Duration::from_secs(5);

pub async fn stop(context: &Context<'_>, body: Value) -> Result<Value, Error> {
    let request: StopInput = parse(body)?;
    Checks::new()
        .length("error", request.error.as_deref(), 0, 256)
        .length("cause", request.cause.as_deref(), 0, 32768)
        .finish()?;
    let execution = find(context, request.execution_arn).await?;
    if execution.status != "RUNNING" {
        // Stopping an execution that already ended changes nothing; AWS answers with a date.
        let stopped = execution.stopped_at.unwrap_or(execution.started_at);
        return Ok(json!({ "stopDate": epoch_seconds(stopped) }));
    }
    let signal = Event::Stop {
        error: request.error,
        cause: request.cause,
    };
    executions::signal(&context.state.pool, execution.seq, &signal).await?;
    context.state.due.wake();
    let deadline = tokio::time::Instant::now() + STOP_WAIT;
    loop {
        let current = executions::describe(&context.state.pool, &execution.arn).await?;
        if let Some(stopped) = current.as_ref().and_then(|e| e.stopped_at) {
            return Ok(json!({ "stopDate": epoch_seconds(stopped) }));
        }
        if tokio::time::Instant::now() >= deadline {
            // The stop is recorded and will be applied; answer with the time it was asked for.
            return Ok(json!({ "stopDate": epoch_seconds(time::OffsetDateTime::now_utc()) }));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RedriveInput {
    execution_arn: Option<String>,
    client_token: Option<String>,
}

pub async fn redrive(context: &Context<'_>, body: Value) -> Result<Value, Error> {
    let request: RedriveInput = parse(body)?;
    Checks::new()
        .length("clientToken", request.client_token.as_deref(), 1, 64)
        .finish()?;
    let execution = find(context, request.execution_arn).await?;
    let redriven = executions::redrive(
        &context.state.pool,
        &execution.arn,
        request.client_token.as_deref(),
    )
    .await?;
    match redriven {
        executions::Redriven::At(date) => {
            context.state.due.wake();
            Ok(json!({ "redriveDate": epoch_seconds(date) }))
        }
        executions::Redriven::Refused(reason) => Err(Error::ExecutionNotRedrivable(reason)),
        executions::Redriven::Missing => Err(Error::ExecutionDoesNotExist(execution.arn)),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HistoryInput {
    execution_arn: Option<String>,
    reverse_order: Option<bool>,
    include_execution_data: Option<bool>,
    #[serde(flatten)]
    paging: Paging,
}

pub async fn history(context: &Context<'_>, body: Value) -> Result<Reply, Error> {
    let request: HistoryInput = parse(body)?;
    let mut checks = Checks::new();
    request.paging.check(&mut checks);
    checks.finish()?;
    let execution = find(context, request.execution_arn).await?;
    let reverse = request.reverse_order.unwrap_or(false);
    let include_data = request.include_execution_data.unwrap_or(true);
    let list = format!("history/{}/{reverse}", execution.arn);
    let page = request.paging.page(context, &list)?;
    let from = match (&request.paging.next_token, reverse) {
        (Some(_), _) => page.after,
        (None, false) => 0,
        (None, true) => i64::from(i32::MAX),
    };
    let rows = executions::history_page(
        &context.state.pool,
        execution.seq,
        from,
        reverse,
        page.size + 1,
    )
    .await?;
    let positions: Vec<i64> = rows.iter().map(|(id, _)| i64::from(*id)).collect();
    let events = rows
        .iter()
        .take(usize::try_from(page.size).unwrap_or(usize::MAX));
    // Events are stored as the JSON text this operation returns: a page is assembled, not
    // re-encoded, unless inputs and outputs must be left out.
    let mut text = String::from("{\"events\":[");
    for (i, (_, event)) in events.enumerate() {
        if i > 0 {
            text.push(',');
        }
        if include_data {
            text.push_str(event);
        } else {
            let mut event: Value = serde_json::from_str(event)
                .map_err(|e| Error::Internal(format!("unreadable history event: {e}")))?;
            strip_data(&mut event);
            text.push_str(&event.to_string());
        }
    }
    text.push(']');
    if let Some(token) = next_token(context, &list, &page, &positions) {
        text.push_str(",\"nextToken\":");
        text.push_str(&Value::from(token).to_string());
    }
    text.push('}');
    Ok(Reply::Text(text))
}

/// `includeExecutionData: false` leaves out inputs and outputs.
fn strip_data(event: &mut Value) {
    if let Value::Object(fields) = event {
        for details in fields.values_mut() {
            if let Value::Object(details) = details {
                details.remove("input");
                details.remove("output");
            }
        }
    }
}

pub async fn describe_state_machine(context: &Context<'_>, body: Value) -> Result<Value, Error> {
    let request: ArnInput = parse(body)?;
    let execution = find(context, request.execution_arn).await?;
    let machine =
        state_machines::describe(&context.state.pool, &execution.state_machine_arn).await?;
    let name = execution
        .state_machine_arn
        .rsplit(':')
        .next()
        .unwrap_or_default()
        .to_owned();
    let mut output = json!({
        "stateMachineArn": execution.state_machine_arn,
        "name": name,
        "definition": execution.definition,
        "roleArn": execution.role_arn,
        "updateDate": epoch_seconds(machine.as_ref().map_or(execution.started_at, |m| m.created_at)),
    });
    match &machine {
        Some(machine) => {
            output["loggingConfiguration"] = machine.logging_configuration.0.clone();
            output["tracingConfiguration"] = machine.tracing_configuration.0.clone();
        }
        None => {
            output["loggingConfiguration"] =
                json!({ "level": "OFF", "includeExecutionData": false });
            output["tracingConfiguration"] = json!({ "enabled": false });
        }
    }
    output["encryptionConfiguration"] = super::state_machines::described_encryption(
        machine
            .as_ref()
            .and_then(|m| m.encryption_configuration.as_ref())
            .map(|c| &c.0),
    );
    super::state_machines::add_variable_references(&mut output, &execution.definition);
    Ok(output)
}
