//! `activity`: dispatch latency and round trip of an activity Task, with 1 and with 100 workers
//! waiting in GetActivityTask.
//!
//! Then 1,000 workers wait in GetActivityTask on the endpoint at once and 1,000 executions are
//! started by 32 clients: every poll must end with a task and no call may fail.
//!
//! One execution at a time. Dispatch is measured from the ActivityScheduled event's timestamp
//! (the scheduler's commit time, whole milliseconds on Switchback) to the moment the worker's
//! poll returned, on the client's clock (same machine); also from StartExecution sent, and
//! server-side from ActivityScheduled to ActivityStarted. The round trip is ActivityScheduled →
//! execution stopDate, the worker answering with SendTaskSuccess at once.

use std::time::{Duration, Instant};

use aws_sdk_sfn::Client;
use aws_sdk_sfn::types::HistoryEventType;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::report::Report;
use crate::stats::ms;
use crate::{Args, sfn};

/// What a worker saw when its poll returned a task.
struct Dispatched {
    input: String,
    at: Instant,
    at_epoch_ms: f64,
}

pub async fn run(client: &Client, args: &Args, report: &mut Report) -> anyhow::Result<()> {
    let activity = sfn::create_activity(client, "activity").await?;
    let definition = format!(
        r#"{{"StartAt": "T", "States": {{"T": {{"Type": "Task", "Resource": "{activity}", "End": true}}}}}}"#
    );
    let machine = match sfn::create_machine(client, "activity", &definition).await {
        Ok(machine) => machine,
        Err(error) => {
            sfn::delete_activity(client, &activity).await;
            return Err(error);
        }
    };
    let samples = args.samples_or(200);
    report.note(&format!(
        "{samples} executions one at a time per worker count; the worker sends SendTaskSuccess \
         as soon as its poll returns"
    ));
    let outcome = async {
        // Workers poll the main endpoint and any --worker-endpoint, alternating.
        let mut pollers = vec![client.clone()];
        pollers.extend(
            args.worker_endpoints
                .iter()
                .map(|e| crate::client(e, &args.region)),
        );
        for workers in [1, 100] {
            measure(
                client, &pollers, &machine, &activity, workers, samples, report,
            )
            .await?;
        }
        many_polls(client, &machine, &activity, 1_000, report).await
    }
    .await;
    sfn::delete_machine(client, &machine).await;
    sfn::delete_activity(client, &activity).await;
    outcome
}

async fn measure(
    client: &Client,
    pollers: &[Client],
    machine: &str,
    activity: &str,
    workers: usize,
    samples: usize,
    report: &mut Report,
) -> anyhow::Result<()> {
    let (tx, mut rx) = mpsc::unbounded_channel::<anyhow::Result<Dispatched>>();
    let mut pool = JoinSet::new();
    for w in 0..workers {
        let poller = pollers[w % pollers.len()].clone();
        pool.spawn(worker(poller, activity.to_owned(), w, tx.clone()));
    }
    // Let every poll reach the server before the first task exists.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let outcome = async {
        let mut from_scheduled = Vec::with_capacity(samples);
        let mut from_start = Vec::with_capacity(samples);
        let mut server_dispatch = Vec::with_capacity(samples);
        let mut round_trip = Vec::with_capacity(samples);
        let mut observed = Vec::with_capacity(samples);
        let warmup = 3;
        for i in 0..samples + warmup {
            let sent = Instant::now();
            let input = format!(r#"{{"i": {i}}}"#);
            let execution = sfn::start(client, machine, &input).await?;
            let dispatched = tokio::time::timeout(Duration::from_secs(10), rx.recv())
                .await
                .map_err(|_| anyhow::anyhow!("no waiting worker got the task within 10 s"))?
                .ok_or_else(|| anyhow::anyhow!("every worker stopped"))??;
            // Servers re-serialise the task input: compare values, not text.
            let got: serde_json::Value =
                serde_json::from_str(&dispatched.input).unwrap_or(serde_json::Value::Null);
            if got != serde_json::json!({ "i": i }) {
                anyhow::bail!(
                    "a worker got {} while {input} was expected",
                    dispatched.input
                );
            }
            let done = sfn::wait_done(
                client,
                &execution,
                Duration::from_millis(1),
                Instant::now() + Duration::from_secs(30),
            )
            .await?;
            let seen = ms(sent.elapsed());
            sfn::expect_succeeded(&done)?;
            if i < warmup {
                continue;
            }
            observed.push(seen);
            from_start.push(ms(dispatched.at.duration_since(sent)));
            let history = sfn::history(client, &execution).await?;
            let at = |kind: HistoryEventType| {
                history
                    .iter()
                    .find(|e| *e.r#type() == kind)
                    .map(|e| sfn::epoch_ms(e.timestamp()))
            };
            let scheduled = at(HistoryEventType::ActivityScheduled)
                .ok_or_else(|| anyhow::anyhow!("no ActivityScheduled event in {execution}"))?;
            from_scheduled.push(dispatched.at_epoch_ms - scheduled);
            if let Some(started) = at(HistoryEventType::ActivityStarted) {
                server_dispatch.push(started - scheduled);
            }
            if let Some(stop) = done.stop_date() {
                round_trip.push(sfn::epoch_ms(stop) - scheduled);
            }
        }
        let label = format!(
            "activity {workers} worker{}",
            if workers == 1 { "" } else { "s" }
        );
        report.latency(
            &format!("{label}: dispatch ActivityScheduled->poll returned"),
            &from_scheduled,
        );
        report.latency(
            &format!("{label}: dispatch ActivityScheduled->ActivityStarted"),
            &server_dispatch,
        );
        report.latency(
            &format!("{label}: dispatch StartExecution sent->poll returned"),
            &from_start,
        );
        report.latency(
            &format!("{label}: round trip ActivityScheduled->stopDate"),
            &round_trip,
        );
        report.latency(
            &format!("{label}: round trip client start->SUCCEEDED"),
            &observed,
        );
        Ok(())
    }
    .await;
    // Dropping the polls closes their connections; the server forgets them.
    pool.abort_all();
    while pool.join_next().await.is_some() {}
    outcome
}

/// `polls` workers wait on one endpoint at once; as many executions are started by 32 clients.
/// Fails on any error; reports how long each task took from StartExecution sent to a poll
/// returning it, and how long all of them took.
async fn many_polls(
    client: &Client,
    machine: &str,
    activity: &str,
    polls: usize,
    report: &mut Report,
) -> anyhow::Result<()> {
    let (tx, mut rx) = mpsc::unbounded_channel::<anyhow::Result<Dispatched>>();
    let mut pool = JoinSet::new();
    for w in 0..polls {
        pool.spawn(worker(client.clone(), activity.to_owned(), w, tx.clone()));
    }
    // Let every poll reach the server before the first task exists.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let outcome = async {
        let began = Instant::now();
        let sent: std::sync::Arc<std::sync::Mutex<Vec<Option<Instant>>>> =
            std::sync::Arc::new(std::sync::Mutex::new(vec![None; polls]));
        let mut starters = JoinSet::new();
        for c in 0..32 {
            let client = client.clone();
            let machine = machine.to_owned();
            let sent = sent.clone();
            starters.spawn(async move {
                for i in (c..polls).step_by(32) {
                    if let Ok(mut sent) = sent.lock() {
                        sent[i] = Some(Instant::now());
                    }
                    sfn::start(&client, &machine, &format!(r#"{{"i": {i}}}"#)).await?;
                }
                anyhow::Ok(())
            });
        }
        while let Some(started) = starters.join_next().await {
            started??;
        }
        let mut latencies = Vec::with_capacity(polls);
        while latencies.len() < polls {
            let dispatched = tokio::time::timeout(Duration::from_secs(30), rx.recv())
                .await
                .map_err(|_| {
                    anyhow::anyhow!(
                        "{} of {polls} tasks reached a waiting worker within 30 s",
                        latencies.len()
                    )
                })?
                .ok_or_else(|| anyhow::anyhow!("every worker stopped"))??;
            let value: serde_json::Value =
                serde_json::from_str(&dispatched.input).unwrap_or(serde_json::Value::Null);
            let index = value["i"].as_u64().and_then(|i| usize::try_from(i).ok());
            let at = index.and_then(|i| sent.lock().ok().and_then(|s| s.get(i).copied().flatten()));
            match at {
                Some(at) => latencies.push(ms(dispatched.at.duration_since(at))),
                None => anyhow::bail!("a worker got an unexpected task: {}", dispatched.input),
            }
        }
        report.latency(
            &format!("activity {polls} waiting polls: StartExecution sent->poll returned"),
            &latencies,
        );
        report.value(
            &format!("activity {polls} waiting polls: all tasks dispatched after"),
            ms(began.elapsed()),
            "ms",
        );
        report.value(
            &format!("activity {polls} waiting polls: errors"),
            0.0,
            "calls",
        );
        Ok(())
    }
    .await;
    pool.abort_all();
    while pool.join_next().await.is_some() {}
    outcome
}

/// Polls for tasks until aborted, answering each at once.
async fn worker(
    client: Client,
    activity: String,
    index: usize,
    results: mpsc::UnboundedSender<anyhow::Result<Dispatched>>,
) {
    let name = format!("bench-worker-{index}");
    loop {
        let polled = Instant::now();
        let task = match client
            .get_activity_task()
            .activity_arn(&activity)
            .worker_name(&name)
            .send()
            .await
        {
            Ok(task) => task,
            Err(error) => {
                let _ = results.send(Err(anyhow::anyhow!(
                    "GetActivityTask: {}",
                    aws_sdk_sfn::error::DisplayErrorContext(error)
                )));
                return;
            }
        };
        let Some(token) = task.task_token().filter(|t| !t.is_empty()) else {
            // An endpoint without long polls answers at once: back off instead of spinning.
            if polled.elapsed() < Duration::from_secs(1) {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            continue;
        };
        let dispatched = Dispatched {
            input: task.input().unwrap_or_default().to_owned(),
            at: Instant::now(),
            at_epoch_ms: sfn::now_epoch_ms(),
        };
        let answered = client
            .send_task_success()
            .task_token(token)
            .output("{}")
            .send()
            .await;
        if let Err(error) = answered {
            let _ = results.send(Err(anyhow::anyhow!(
                "SendTaskSuccess: {}",
                aws_sdk_sfn::error::DisplayErrorContext(error)
            )));
            return;
        }
        if results.send(Ok(dispatched)).is_err() {
            return;
        }
    }
}
