//! `history`: GetExecutionHistory pages of 1,000 events from one execution with ~24,000 events
//! (an inline Map over 6,000 items × 1 Pass state: MapIterationStarted, PassStateEntered,
//! PassStateExited, MapIterationSucceeded per item). The count is checked by paging to the end.
//!
//! Then what a transition costs as a history grows: one execution loops an activity Task
//! 3,500 times (7 events an iteration, ~24,500 events in all), one worker answering each task
//! at once; the time from SendTaskSuccess sent to the next task's poll returning is compared
//! between the first and the last 200 iterations.

use std::time::{Duration, Instant};

use aws_sdk_sfn::Client;

use crate::report::Report;
use crate::stats::ms;
use crate::{Args, sfn};

const DEFINITION: &str = r#"{"StartAt": "M", "States": {"M": {"Type": "Map", "ItemsPath": "$.items",
    "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "P",
        "States": {"P": {"Type": "Pass", "End": true}}},
    "ResultSelector": {"done": true}, "End": true}}}"#;

const PAGE: i32 = 1000;

pub async fn run(client: &Client, args: &Args, report: &mut Report) -> anyhow::Result<()> {
    let machine = sfn::create_machine(client, "history", DEFINITION).await?;
    let outcome = measure(client, &machine, args, report).await;
    sfn::delete_machine(client, &machine).await;
    outcome?;
    transitions(client, report).await
}

/// Iterations of the activity loop; 7 events each.
const LOOPS: usize = 3_500;
/// Iterations compared at each end of the history.
const WINDOW: usize = 200;

async fn transitions(client: &Client, report: &mut Report) -> anyhow::Result<()> {
    let activity = sfn::create_activity(client, "history-loop").await?;
    let definition = format!(
        r#"{{"StartAt": "Work", "States": {{
            "Work": {{"Type": "Task", "Resource": "{activity}", "Next": "Again"}},
            "Again": {{"Type": "Choice", "Choices": [
                {{"Variable": "$.n", "NumericLessThan": {LOOPS}, "Next": "Work"}}],
                "Default": "Done"}},
            "Done": {{"Type": "Succeed"}}}}}}"#
    );
    let machine = match sfn::create_machine(client, "history-loop", &definition).await {
        Ok(machine) => machine,
        Err(error) => {
            sfn::delete_activity(client, &activity).await;
            return Err(error);
        }
    };
    let outcome = loop_once(client, &machine, &activity, report).await;
    sfn::delete_machine(client, &machine).await;
    sfn::delete_activity(client, &activity).await;
    outcome
}

async fn loop_once(
    client: &Client,
    machine: &str,
    activity: &str,
    report: &mut Report,
) -> anyhow::Result<()> {
    let execution = sfn::start(client, machine, r#"{"n": 0}"#).await?;
    let mut costs = Vec::with_capacity(LOOPS);
    let mut answered: Option<Instant> = None;
    for n in 1..=LOOPS {
        let token = loop {
            let task = client
                .get_activity_task()
                .activity_arn(activity)
                .send()
                .await
                .map_err(|e| {
                    anyhow::anyhow!(
                        "GetActivityTask: {}",
                        aws_sdk_sfn::error::DisplayErrorContext(e)
                    )
                })?;
            if let Some(token) = task.task_token().filter(|t| !t.is_empty()) {
                break token.to_owned();
            }
        };
        if let Some(sent) = answered {
            costs.push(ms(sent.elapsed()));
        }
        answered = Some(Instant::now());
        client
            .send_task_success()
            .task_token(token)
            .output(format!(r#"{{"n": {n}}}"#))
            .send()
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "SendTaskSuccess: {}",
                    aws_sdk_sfn::error::DisplayErrorContext(e)
                )
            })?;
    }
    let done = sfn::wait_done(
        client,
        &execution,
        Duration::from_millis(5),
        Instant::now() + Duration::from_secs(60),
    )
    .await?;
    sfn::expect_succeeded(&done)?;
    let events = sfn::history(client, &execution).await?.len();
    report.value(
        "history loop: events in the execution",
        events as f64,
        "events",
    );
    report.note(&format!(
        "a transition = SendTaskSuccess sent -> the next task's poll returned (one step: apply \
         the result, Choice, schedule the next task), {WINDOW} iterations at each end"
    ));
    let early = &costs[..WINDOW.min(costs.len())];
    let late = &costs[costs.len().saturating_sub(WINDOW)..];
    report.latency("history loop: a transition near event 1", early);
    report.latency(
        &format!(
            "history loop: a transition near event {}",
            events.saturating_sub(10)
        ),
        late,
    );
    Ok(())
}

async fn measure(
    client: &Client,
    machine: &str,
    args: &Args,
    report: &mut Report,
) -> anyhow::Result<()> {
    let items: Vec<usize> = (0..args.count_or(6000)).collect();
    let input = serde_json::json!({ "items": items }).to_string();
    let execution = sfn::start(client, machine, &input).await?;
    let done = sfn::wait_done(
        client,
        &execution,
        Duration::from_millis(50),
        Instant::now() + Duration::from_secs(600),
    )
    .await?;
    sfn::expect_succeeded(&done)?;
    if let Some(stop) = done.stop_date() {
        report.value(
            &format!("history: the {}-item Map ran in", items.len()),
            sfn::epoch_ms(stop) - sfn::epoch_ms(done.start_date()),
            "ms (server stop-start)",
        );
    }

    // Page to the end once: the event count, every page's latency, and the token of the
    // deepest full page (the very last page may hold only a few events).
    let mut events = 0usize;
    let mut walk = Vec::new();
    let mut token: Option<String> = None;
    let mut deep_token: Option<String> = None;
    loop {
        let sent = Instant::now();
        let page = page(client, &execution, token.clone(), false).await?;
        walk.push(ms(sent.elapsed()));
        events += page.events().len();
        if token.is_some() && page.events().len() == PAGE as usize {
            deep_token = token.clone();
        }
        match page.next_token() {
            Some(next) => token = Some(next.to_owned()),
            None => break,
        }
    }
    report.value("history: events in the execution", events as f64, "events");
    report.latency("history: each page, paging to the end", &walk);

    let samples = args.samples_or(200);
    let (mut first, mut reverse, mut deep) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..samples {
        let sent = Instant::now();
        page(client, &execution, None, false).await?;
        first.push(ms(sent.elapsed()));
        let sent = Instant::now();
        page(client, &execution, None, true).await?;
        reverse.push(ms(sent.elapsed()));
        if let Some(token) = &deep_token {
            let sent = Instant::now();
            page(client, &execution, Some(token.clone()), false).await?;
            deep.push(ms(sent.elapsed()));
        }
    }
    report.note(&format!(
        "pages of {PAGE}; {samples} fetches of each page below, interleaved"
    ));
    report.latency("history: first page", &first);
    report.latency("history: last page (reverseOrder=true)", &reverse);
    report.latency("history: deepest full page (nextToken)", &deep);
    Ok(())
}

async fn page(
    client: &Client,
    execution: &str,
    token: Option<String>,
    reverse: bool,
) -> anyhow::Result<aws_sdk_sfn::operation::get_execution_history::GetExecutionHistoryOutput> {
    client
        .get_execution_history()
        .execution_arn(execution)
        .max_results(PAGE)
        .reverse_order(reverse)
        .set_next_token(token)
        .send()
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "GetExecutionHistory: {}",
                aws_sdk_sfn::error::DisplayErrorContext(e)
            )
        })
}
