//! `distributed`: a Distributed Map of `--count` items (default 100,000) × one Pass state, the
//! items a JSON-lines object on the S3-compatible server `--s3-endpoint` (which the server's
//! `integrations.s3` must name too): wall time from StartExecution to the parent's end, child
//! executions per second, and the highest VmRSS of each `--pid` (the scheduler processes)
//! while it runs.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use aws_sdk_sfn::Client;
use switchback_invoke::S3Config;
use switchback_invoke::s3::S3;

use crate::report::Report;
use crate::{Args, sfn};

const BUCKET: &str = "switchback-bench";

fn definition(key: &str) -> String {
    serde_json::json!({
        "StartAt": "Fan",
        "States": {"Fan": {
            "Type": "Map",
            "ItemReader": {"Resource": "arn:aws:states:::s3:getObject",
                           "ReaderConfig": {"InputType": "JSONL"},
                           "Parameters": {"Bucket": BUCKET, "Key": key}},
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": "Touch",
                "States": {"Touch": {"Type": "Pass", "End": true}}},
            "ResultPath": null,
            "End": true}}
    })
    .to_string()
}

pub async fn run(client: &Client, args: &Args, report: &mut Report) -> anyhow::Result<()> {
    let endpoint = args
        .s3_endpoint
        .clone()
        .ok_or_else(|| anyhow::anyhow!("the distributed scenario needs --s3-endpoint"))?;
    let items = args.count_or(100_000);
    let s3 = S3::connect(
        &S3Config {
            endpoint: Some(endpoint.clone()),
            region: Some(args.region.clone()),
            access_key_id: Some("bench".to_owned()),
            secret_access_key: Some("bench".to_owned()),
            session_token: None,
        },
        &args.region,
    )
    .context("S3 client")?;
    create_bucket(&endpoint).await?;
    let key = format!("items-{}.jsonl", sfn::unique("d"));
    let mut body = String::with_capacity(items * 16);
    for i in 0..items {
        body.push_str(&format!("{{\"i\":{i}}}\n"));
    }
    s3.put(BUCKET, &key, body.into_bytes())
        .await
        .map_err(|e| anyhow::anyhow!("putting the items: {e}"))?;
    report.note(&format!(
        "{items} items (JSON lines on {endpoint}) × 1 Pass state, MaxConcurrency 10,000 (the default)"
    ));

    let machine = sfn::create_machine(client, "distributed", &definition(&key)).await?;
    let running = Arc::new(AtomicBool::new(true));
    let samplers: Vec<_> = args
        .pids
        .iter()
        .map(|&pid| {
            let running = Arc::clone(&running);
            tokio::spawn(async move {
                let mut rss = 0;
                while running.load(Ordering::Relaxed) {
                    rss = rss.max(super::idle::status_kib(pid, "VmRSS").unwrap_or(0));
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                (pid, rss)
            })
        })
        .collect();
    let outcome = async {
        let sent = Instant::now();
        let execution = sfn::start(client, &machine, "{}").await?;
        let done = sfn::wait_done(
            client,
            &execution,
            Duration::from_millis(250),
            Instant::now() + Duration::from_secs(args.timeout),
        )
        .await?;
        let wall = sent.elapsed();
        sfn::expect_succeeded(&done)?;
        let runs = client
            .list_map_runs()
            .execution_arn(&execution)
            .send()
            .await
            .context("ListMapRuns")?;
        let run = runs
            .map_runs()
            .first()
            .ok_or_else(|| anyhow::anyhow!("no map run"))?;
        let described = client
            .describe_map_run()
            .map_run_arn(run.map_run_arn())
            .send()
            .await
            .context("DescribeMapRun")?;
        let counts = described
            .execution_counts()
            .ok_or_else(|| anyhow::anyhow!("no counts"))?;
        if counts.succeeded() != items as i64 {
            anyhow::bail!("{} of {items} children succeeded", counts.succeeded());
        }
        report.value("distributed: wall time", wall.as_secs_f64(), "s");
        report.value(
            "distributed: child executions/s",
            items as f64 / wall.as_secs_f64(),
            "executions/s",
        );
        Ok::<_, anyhow::Error>(())
    }
    .await;
    running.store(false, Ordering::Relaxed);
    for sampler in samplers {
        let (pid, rss) = sampler.await.context("memory sampler")?;
        report.value(
            &format!("distributed: VmRSS max of pid {pid}"),
            rss as f64 / 1024.0,
            "MiB",
        );
    }
    sfn::delete_machine(client, &machine).await;
    outcome
}

/// `PUT /<bucket>`, unsigned (an existing bucket is fine).
async fn create_bucket(endpoint: &str) -> anyhow::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = endpoint
        .strip_prefix("http://")
        .ok_or_else(|| anyhow::anyhow!("--s3-endpoint must be a plain http:// URL"))?
        .trim_end_matches('/');
    let mut stream = tokio::net::TcpStream::connect(address)
        .await
        .with_context(|| format!("connecting to {address}"))?;
    let request = format!(
        "PUT /{BUCKET} HTTP/1.1\r\nHost: {address}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await?;
    if !(response.starts_with("HTTP/1.1 200") || response.contains("BucketAlready")) {
        anyhow::bail!(
            "creating the bucket: {}",
            response.lines().next().unwrap_or_default()
        );
    }
    Ok(())
}
