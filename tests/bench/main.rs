//! `bench`: a load tool for any Step Functions endpoint (Switchback, moto, ...), driven through
//! the real `aws-sdk-sfn` client so that every figure includes what a real client pays.
//!
//! Module map:
//! - this file — the command line, the client, the run of one scenario under an overall deadline.
//! - `stats` — latency samples and their percentiles.
//! - `report` — the figures of a run, printed as they come and written as JSON.
//! - `sfn` — helpers over the SDK: unique names, machines, waiting for executions, timestamps.
//! - `load` — N concurrent clients sharing a fixed number of operations, optionally paced.
//! - `scenarios/` — one module per scenario (`chaos` is the test support's chaos suite).
//!
//! Every scenario creates its own uniquely named resources and deletes them at the end, and
//! every wait has a deadline, so a run always stops by itself.

mod load;
mod report;
mod scenarios;
mod sfn;
mod stats;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use aws_sdk_sfn::config::{BehaviorVersion, Credentials, Region};
use clap::{Parser, ValueEnum};

use crate::report::Report;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Scenario {
    /// StartExecution requests/s with N concurrent clients (1-state Pass machine).
    Start,
    /// 5-state Pass chain: sequential latency, then executions/s with N clients.
    Pass5,
    /// `pass5` written in JSONata: every state's `Output` an expression over `$states.input`.
    Pass5Jsonata,
    /// A Map of 100 items × 3 Pass states, and a Parallel of 10 branches: end-to-end time.
    Fanout,
    /// Activity dispatch latency and round trip with 1 and with 100 waiting workers.
    Activity,
    /// N executions each waiting 1 s: timer lateness from the history.
    Wait,
    /// GetExecutionHistory pages of 1,000 from a ~24,000-event history.
    History,
    /// RSS of the server process (`--pid`), idle and under the pass5 load.
    Idle,
    /// StartExecution, ListExecutions and GetExecutionHistory with the database empty and with
    /// 1,000,000 ended executions (`--database-url`), then retention's sweep rate.
    Growth,
    /// The web console's pages with 1,000,000 executions stored (`--database-url`) and one
    /// execution of ~24,000 events: time to serve each page.
    Console,
    /// A Distributed Map of `--count` items (100,000) × one Pass state, read from an S3 object
    /// on `--s3-endpoint`: wall time, child executions/s, VmRSS of each `--pids` process.
    Distributed,
    /// TestState latency, one call at a time: a Pass state and a mocked Lambda Task.
    TestState,
    /// The chaos suite's long run on processes and a PostgreSQL it starts itself (no
    /// `--endpoint`): `--duration` seconds of faults while `--rate` executions/s start, then
    /// every execution checked exactly. Exits non-zero on any shortcoming.
    Chaos,
}

#[derive(Debug, Clone, Parser)]
#[command(
    name = "bench",
    about = "Load tool for Step Functions endpoints (Switchback, moto, ...)"
)]
pub struct Args {
    /// The endpoint, e.g. http://127.0.0.1:8083. Only plain HTTP is supported. Every scenario
    /// but `chaos` (which starts its own processes) needs it.
    #[arg(long, default_value = "")]
    pub endpoint: String,
    #[arg(long, value_enum)]
    pub scenario: Scenario,
    /// Concurrent clients for the load phases (default: 32; 16 for `wait`).
    #[arg(long)]
    pub clients: Option<usize>,
    /// Operations or executions in the load phase (default depends on the scenario).
    #[arg(long)]
    pub count: Option<usize>,
    /// Sequential measurements in the latency phases (default depends on the scenario).
    #[arg(long)]
    pub samples: Option<usize>,
    /// `start` only: pace the clients to this many requests/s in total (default: as fast as
    /// they go).
    #[arg(long)]
    pub rate: Option<f64>,
    /// `idle` only: the server process whose VmRSS is read from /proc.
    #[arg(long)]
    pub pid: Option<u32>,
    /// `distributed` only: scheduler processes whose highest VmRSS is sampled. Repeatable.
    #[arg(long = "pids")]
    pub pids: Vec<u32>,
    /// `distributed` only: the S3-compatible server the items go to (the server's
    /// `integrations.s3.endpoint`).
    #[arg(long)]
    pub s3_endpoint: Option<String>,
    /// `activity` only: more endpoints (other API nodes of the same deployment) that the
    /// workers poll, alternating with `--endpoint`. Repeatable.
    #[arg(long = "worker-endpoint")]
    pub worker_endpoints: Vec<String>,
    /// `growth` and `console` only: the server's database, where the scenario inserts `--count` ended
    /// executions and then deletes every execution that ended more than 40 days ago. Use a
    /// database kept for benchmarks.
    #[arg(long)]
    pub database_url: Option<String>,
    /// `chaos` only: seconds of faults while executions start (default 600).
    #[arg(long)]
    pub duration: Option<u64>,
    /// Region to sign for.
    #[arg(long, default_value = "us-east-1")]
    pub region: String,
    /// Writes the figures to this file as JSON.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Gives up on the whole run after this many seconds (resources may then be left behind).
    #[arg(long, default_value_t = 900)]
    pub timeout: u64,
}

impl Args {
    pub fn clients_or(&self, default: usize) -> usize {
        self.clients.unwrap_or(default).max(1)
    }
    pub fn count_or(&self, default: usize) -> usize {
        self.count.unwrap_or(default).max(1)
    }
    pub fn samples_or(&self, default: usize) -> usize {
        self.samples.unwrap_or(default).max(1)
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if !args.endpoint.starts_with("http://") && args.scenario != Scenario::Chaos {
        anyhow::bail!(
            "--endpoint must be a plain http:// URL (this tool has no TLS), got {}",
            args.endpoint
        );
    }
    if let Some(rate) = args.rate
        && !(rate.is_finite() && rate > 0.0)
    {
        anyhow::bail!("--rate must be a positive number of requests per second, got {rate}");
    }
    if let Some(bad) = args
        .worker_endpoints
        .iter()
        .find(|e| !e.starts_with("http://"))
    {
        anyhow::bail!("--worker-endpoint must be a plain http:// URL, got {bad}");
    }
    if args.scenario == Scenario::Chaos {
        return chaos(&args).await;
    }
    let client = client(&args.endpoint, &args.region);
    let mut report = Report::new(&args);
    let run = scenarios::run(&client, &args, &mut report);
    let outcome = tokio::time::timeout(Duration::from_secs(args.timeout), run).await;
    let outcome = match outcome {
        Ok(result) => result,
        Err(_) => Err(anyhow::anyhow!(
            "gave up after --timeout {} s; resources of this run may be left behind",
            args.timeout
        )),
    };
    if let Err(error) = &outcome {
        report.error(&format!("{error:#}"));
    }
    if let Some(path) = &args.json {
        std::fs::write(path, report.to_json_string()?)
            .with_context(|| format!("writing {}", path.display()))?;
        println!("figures written to {}", path.display());
    }
    // The error was reported above; a backtrace of the tool itself would only add noise.
    if outcome.is_err() {
        std::process::exit(1);
    }
    Ok(())
}

/// `--scenario chaos`: the long run of the chaos suite. Prints the report, then every
/// shortcoming; fails when there is one.
async fn chaos(args: &Args) -> anyhow::Result<()> {
    let mut plan = switchback_tests::chaos::Plan::short();
    plan.duration = Duration::from_secs(args.duration.unwrap_or(600));
    plan.rate = args.rate.unwrap_or(10.0);
    plan.deadline = Duration::from_secs(600);
    println!(
        "bench chaos: {} s of faults, {} executions/s",
        plan.duration.as_secs(),
        plan.rate
    );
    // Faults, then up to `deadline` for the executions to end, then the checks.
    let limit = args.timeout.max(plan.duration.as_secs() * 3);
    let report = tokio::time::timeout(
        Duration::from_secs(limit),
        switchback_tests::chaos::run(&plan),
    )
    .await
    .map_err(|_| anyhow::anyhow!("gave up after {limit} s"))?;
    println!("{report}");
    let shortcomings = report.shortcomings();
    if let Some(path) = &args.json {
        let figures = serde_json::json!({
            "scenario": "chaos",
            "report": report.to_string(),
            "shortcomings": shortcomings,
        });
        std::fs::write(path, serde_json::to_string_pretty(&figures)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if shortcomings.is_empty() {
        return Ok(());
    }
    for shortcoming in &shortcomings {
        println!("shortcoming: {shortcoming}");
    }
    anyhow::bail!("{} shortcomings", shortcomings.len())
}

/// The SDK client: plain HTTP, retries off so that every failure is counted, not retried away.
pub fn client(endpoint: &str, region: &str) -> aws_sdk_sfn::Client {
    let config = aws_sdk_sfn::Config::builder()
        .endpoint_url(endpoint)
        .region(Region::new(region.to_owned()))
        .credentials_provider(Credentials::new("AKIDBENCH", "secret", None, None, "bench"))
        .behavior_version(BehaviorVersion::latest())
        .retry_config(aws_sdk_sfn::config::retry::RetryConfig::disabled())
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        // TestState and StartSyncExecution go to the endpoint itself, not `sync-<host>`.
        .interceptor(switchback_tests::app::NoHostPrefix)
        .build();
    aws_sdk_sfn::Client::from_conf(config)
}
