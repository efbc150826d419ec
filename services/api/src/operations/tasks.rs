//! GetActivityTask (a long poll), SendTaskSuccess, SendTaskFailure, SendTaskHeartbeat.

use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};
use switchback_asl::arn::ResourceKind;
use switchback_store::activities;
use switchback_store::tasks::{self, Outcome, Reported, Take};

use super::Context;
use super::common::parse_scoped_arn;
use crate::Error;
use crate::input::{Checks, parse};

/// Polls re-check the table this often even without a notification.
const SAFETY_RECHECK: Duration = Duration::from_secs(5);
/// A poll whose task's execution was busy (a scheduler stepping it) asks again this soon.
const BUSY_RECHECK: Duration = Duration::from_millis(10);
// botocore's `SensitiveData` limit for outputs, in UTF-8 bytes.
use switchback_asl::limits::MAX_PAYLOAD_BYTES as MAX_OUTPUT_BYTES;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PollInput {
    activity_arn: Option<String>,
    worker_name: Option<String>,
}

pub async fn get_activity_task(context: &Context<'_>, body: Value) -> Result<Value, Error> {
    let request: PollInput = parse(body)?;
    Checks::new()
        .arn("activityArn", &request.activity_arn)
        .length("workerName", request.worker_name.as_deref(), 1, 80)
        .finish()?;
    let arn = request.activity_arn.unwrap_or_default();
    let here = parse_scoped_arn(context, &arn, ResourceKind::Activity)?.is_some();
    if !here
        || activities::describe(&context.state.pool, &arn)
            .await?
            .is_none()
    {
        return Err(Error::ActivityDoesNotExist(arn));
    }
    let hub = &context.state.long_polls;
    let wake = hub.handle(&arn);
    let deadline = tokio::time::Instant::now() + context.state.config.activity_poll;
    let worker = request.worker_name.as_deref();
    let waiting = metrics::gauge!("switchback_activity_polls_waiting");
    waiting.increment(1.0);
    let result = loop {
        // Register for a wake-up before looking, so a task scheduled in between is not missed.
        let notified = wake.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let mut wait = SAFETY_RECHECK;
        match tasks::take(&context.state.pool, &context.scope, &arn, worker).await {
            Ok(Take::Taken(taken)) => {
                context.state.due.wake();
                // More tasks may be waiting: pass the wake-up on to the next poll.
                hub.wake_one(&arn);
                metrics::counter!("switchback_tasks_started_total").increment(1);
                break Ok(json!({ "taskToken": taken.token, "input": taken.input }));
            }
            Ok(Take::Nothing) => {}
            Ok(Take::Busy) => wait = BUSY_RECHECK,
            Err(error) => break Err(Error::from(error)),
        }
        let now = tokio::time::Instant::now();
        if now >= deadline {
            // Nothing came: AWS answers with no task token.
            break Ok(json!({}));
        }
        let wait = (deadline - now).min(wait);
        tokio::select! {
            () = &mut notified => {}
            () = tokio::time::sleep(wait) => {}
            () = context.state.shutdown.cancelled() => break Ok(json!({})),
        }
    };
    waiting.decrement(1.0);
    drop(wake);
    hub.release(&arn);
    result
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SuccessInput {
    task_token: Option<String>,
    output: Option<String>,
}

pub async fn send_success(context: &Context<'_>, body: Value) -> Result<Value, Error> {
    let request: SuccessInput = parse(body)?;
    Checks::new()
        .required("taskToken", &request.task_token)
        .length("taskToken", request.task_token.as_deref(), 1, 2048)
        .required("output", &request.output)
        .finish()?;
    let token = request.task_token.unwrap_or_default();
    check_token(&token)?;
    let output = request.output.unwrap_or_default();
    if output.len() > MAX_OUTPUT_BYTES {
        return Err(Error::InvalidOutput(format!(
            "Invalid Output: 'The output is {} bytes, more than the limit of {MAX_OUTPUT_BYTES} bytes'",
            output.len()
        )));
    }
    if let Err(error) = serde_json::from_str::<Value>(&output) {
        return Err(Error::InvalidOutput(format!("Invalid Output: '{error}'")));
    }
    let reported = tasks::report(
        &context.state.pool,
        &context.scope,
        &token,
        Outcome::Succeeded { output },
    )
    .await?;
    answer(context, reported)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FailureInput {
    task_token: Option<String>,
    error: Option<String>,
    cause: Option<String>,
}

pub async fn send_failure(context: &Context<'_>, body: Value) -> Result<Value, Error> {
    let request: FailureInput = parse(body)?;
    Checks::new()
        .required("taskToken", &request.task_token)
        .length("taskToken", request.task_token.as_deref(), 1, 2048)
        .length("error", request.error.as_deref(), 0, 256)
        .length("cause", request.cause.as_deref(), 0, 32768)
        .finish()?;
    let token = request.task_token.unwrap_or_default();
    check_token(&token)?;
    let outcome = Outcome::Failed {
        error: request.error.unwrap_or_default(),
        cause: request.cause.unwrap_or_default(),
    };
    let reported = tasks::report(&context.state.pool, &context.scope, &token, outcome).await?;
    answer(context, reported)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HeartbeatInput {
    task_token: Option<String>,
}

pub async fn send_heartbeat(context: &Context<'_>, body: Value) -> Result<Value, Error> {
    let request: HeartbeatInput = parse(body)?;
    Checks::new()
        .required("taskToken", &request.task_token)
        .length("taskToken", request.task_token.as_deref(), 1, 2048)
        .finish()?;
    let token = request.task_token.unwrap_or_default();
    check_token(&token)?;
    // A heartbeat changes no execution: schedulers need no wake-up.
    match tasks::heartbeat(&context.state.pool, &context.scope, &token).await? {
        Reported::Accepted => Ok(json!({})),
        other => answer(context, other),
    }
}

/// Tokens are 64 lowercase hex digits; anything else was never issued by Switchback.
fn check_token(token: &str) -> Result<(), Error> {
    let well_formed = token.len() == 64
        && token
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if well_formed {
        Ok(())
    } else {
        Err(Error::InvalidToken(
            "Invalid Token: 'Invalid token'".to_owned(),
        ))
    }
}

fn answer(context: &Context<'_>, reported: Reported) -> Result<Value, Error> {
    match reported {
        Reported::Accepted => {
            context.state.due.wake();
            Ok(json!({}))
        }
        Reported::Unknown => Err(Error::TaskDoesNotExist(
            "Task Does Not Exist: 'Provided task does not exist'".to_owned(),
        )),
        Reported::Closed => Err(Error::TaskTimedOut(
            "Task Timed Out: 'Provided task does not exist anymore'".to_owned(),
        )),
    }
}
