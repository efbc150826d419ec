//! `history`: GetExecutionHistory pages of 1,000 events from one execution with ~24,000 events
//! (an inline Map over 6,000 items × 1 Pass state: MapIterationStarted, PassStateEntered,
//! PassStateExited, MapIterationSucceeded per item). The count is checked by paging to the end.

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
    outcome
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
