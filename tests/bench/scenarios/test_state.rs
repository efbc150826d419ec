//! `test-state`: TestState latency, one call at a time (`--samples`, 1,000 each after 20 not
//! counted): a Pass state with a payload template, and a Lambda Task answered by its mock
//! (checked against Lambda's response shape), both at the DEBUG inspection level.

use std::time::Instant;

use aws_sdk_sfn::Client;
use aws_sdk_sfn::types::{InspectionLevel, MockInput};

use crate::Args;
use crate::report::Report;
use crate::stats::ms;

const PASS: &str = r#"{"Type": "Pass", "Parameters": {"sum.$": "States.MathAdd($.a, $.b)",
    "items.$": "States.ArrayRange(1, 10, 1)"}, "End": true}"#;
const TASK: &str = r#"{"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
    "Parameters": {"FunctionName": "f", "Payload.$": "$"}, "ResultSelector": {"answer.$": "$.Payload"},
    "Retry": [{"ErrorEquals": ["Lambda.ServiceException"], "MaxAttempts": 2}], "End": true}"#;
const MOCK: &str = r#"{"StatusCode": 200, "Payload": {"ok": true}, "ExecutedVersion": "$LATEST"}"#;

pub async fn run(client: &Client, args: &Args, report: &mut Report) -> anyhow::Result<()> {
    let samples = args.samples_or(1_000);
    report.note(&format!(
        "{samples} calls of each, one at a time, inspection level DEBUG"
    ));
    let input = r#"{"a": 20, "b": 22}"#;
    let pass = measure(client, samples, PASS, input, None).await?;
    report.latency("test-state: Pass state", &pass);
    let mock = MockInput::builder().result(MOCK).build();
    let task = measure(client, samples, TASK, input, Some(mock)).await?;
    report.latency("test-state: mocked Lambda Task", &task);
    Ok(())
}

async fn measure(
    client: &Client,
    samples: usize,
    definition: &str,
    input: &str,
    mock: Option<MockInput>,
) -> anyhow::Result<Vec<f64>> {
    let mut latencies = Vec::with_capacity(samples);
    for i in 0..samples + 20 {
        let sent = Instant::now();
        let answer = client
            .test_state()
            .definition(definition)
            .input(input)
            .inspection_level(InspectionLevel::Debug)
            .set_mock(mock.clone())
            .send()
            .await
            .map_err(|e| {
                anyhow::anyhow!("TestState: {}", aws_sdk_sfn::error::DisplayErrorContext(e))
            })?;
        let elapsed = ms(sent.elapsed());
        if answer.status().map(|s| s.as_str()) != Some("SUCCEEDED") {
            anyhow::bail!(
                "TestState answered {:?}: {:?}",
                answer.status(),
                answer.error()
            );
        }
        if i >= 20 {
            latencies.push(elapsed);
        }
    }
    Ok(latencies)
}
