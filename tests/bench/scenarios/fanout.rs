//! `fanout`: end-to-end time of a Map of 100 items × 3 Pass states and of a Parallel of 10
//! one-Pass branches, one execution at a time.

use std::time::{Duration, Instant};

use aws_sdk_sfn::Client;

use crate::report::Report;
use crate::stats::ms;
use crate::{Args, sfn};

const MAP: &str = r#"{"StartAt": "M", "States": {"M": {"Type": "Map", "ItemsPath": "$.items",
    "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "A", "States": {
        "A": {"Type": "Pass", "Next": "B"},
        "B": {"Type": "Pass", "Next": "C"},
        "C": {"Type": "Pass", "End": true}}},
    "End": true}}}"#;

/// State names must be unique across the whole machine, branches included.
fn parallel(branches: usize) -> String {
    let branches: Vec<String> = (0..branches)
        .map(|i| {
            format!(
                r#"{{"StartAt": "B{i}", "States": {{"B{i}": {{"Type": "Pass", "End": true}}}}}}"#
            )
        })
        .collect();
    format!(
        r#"{{"StartAt": "P", "States": {{"P": {{"Type": "Parallel", "Branches": [{}], "End": true}}}}}}"#,
        branches.join(", ")
    )
}

pub async fn run(client: &Client, args: &Args, report: &mut Report) -> anyhow::Result<()> {
    let samples = args.samples_or(30);
    let items: Vec<usize> = (0..100).collect();
    let map_input = serde_json::json!({ "items": items }).to_string();
    report.note(&format!("{samples} executions of each, one at a time"));
    measure(client, "map100", MAP, &map_input, samples, report).await?;
    measure(client, "parallel10", &parallel(10), "{}", samples, report).await
}

async fn measure(
    client: &Client,
    what: &str,
    definition: &str,
    input: &str,
    samples: usize,
    report: &mut Report,
) -> anyhow::Result<()> {
    let machine = sfn::create_machine(client, what, definition).await?;
    let outcome = async {
        let poll = Duration::from_millis(1);
        let mut server = Vec::with_capacity(samples);
        let mut observed = Vec::with_capacity(samples);
        let mut events = 0;
        // Two warm-up runs, not counted.
        for i in 0..samples + 2 {
            let sent = Instant::now();
            let execution = sfn::start(client, &machine, input).await?;
            let done = sfn::wait_done(
                client,
                &execution,
                poll,
                Instant::now() + Duration::from_secs(60),
            )
            .await?;
            let elapsed = ms(sent.elapsed());
            sfn::expect_succeeded(&done)?;
            if i == 0 {
                events = sfn::history(client, &execution).await?.len();
            }
            if i < 2 {
                continue;
            }
            observed.push(elapsed);
            if let Some(stop) = done.stop_date() {
                server.push(sfn::epoch_ms(stop) - sfn::epoch_ms(done.start_date()));
            }
        }
        report.value(
            &format!("{what}: history events per execution"),
            events as f64,
            "events",
        );
        report.latency(&format!("{what}: server stop-start"), &server);
        report.latency(&format!("{what}: client start->SUCCEEDED"), &observed);
        Ok(())
    }
    .await;
    sfn::delete_machine(client, &machine).await;
    outcome
}
