//! One batch: claim due executions, step each, write everything, commit — one transaction.
//!
//! A batch whose writes the database refuses (data it cannot hold, a value over one of its
//! limits) is not retried as it was: its executions are stepped again one per transaction, so
//! the others commit, and one that is refused alone fails with `States.Runtime`. No scheduler
//! retries the same refused work without end.

use std::collections::{BTreeSet, HashMap, HashSet};

use switchback_asl::interpreter::StepBudget;
use switchback_store::engine::{self, Claimed};
use switchback_store::map_runs;
use switchback_store::{PgPool, Transaction};

use crate::Error;
use crate::advance::{Advanced, advance, millis, poisoned};
use crate::machines::Machines;

/// What a batch did.
#[derive(Debug, Default)]
pub struct Ran {
    /// How many executions were claimed (and advanced, or found no longer due).
    pub advanced: usize,
    /// The earliest due time the batch wrote (a timer it set, or now for executions it made
    /// due without a notification), if any.
    pub earliest_due: Option<time::OffsetDateTime>,
    /// Whether the batch scheduled calls (this process's caller is woken for them).
    pub scheduled_calls: bool,
    /// Whether the batch started Distributed Map runs or ended children of one (this
    /// process's run driver is woken for them).
    pub map_runs: bool,
}

/// Runs one batch. `calls_ready` wakes this process's caller when the batch scheduled calls.
pub async fn run(
    pool: &PgPool,
    batch_size: i64,
    machines: &mut Machines,
    calls_ready: &tokio::sync::Notify,
    runs_ready: &tokio::sync::Notify,
) -> Result<Ran, Error> {
    let mut tx = begin(pool).await?;
    let claimed = engine::claim(&mut tx, batch_size).await?;
    if claimed.is_empty() {
        tx.commit().await.map_err(switchback_store::Error::from)?;
        return Ok(Ran::default());
    }
    let ran = match step_and_commit(tx, &claimed, machines).await {
        Ok(ran) => ran,
        Err(Error::Store(error)) if error.is_refused_data() => {
            tracing::warn!(
                %error,
                executions = claimed.len(),
                "the database refused a batch, stepping its executions one by one"
            );
            let mut ran = Ran {
                advanced: claimed.len(),
                ..Ran::default()
            };
            for execution in &claimed {
                let alone = run_alone(pool, execution.seq, machines).await?;
                ran.earliest_due = ran.earliest_due.into_iter().chain(alone.earliest_due).min();
                ran.scheduled_calls |= alone.scheduled_calls;
                ran.map_runs |= alone.map_runs;
            }
            ran
        }
        Err(error) => return Err(error),
    };
    if ran.scheduled_calls {
        calls_ready.notify_one();
    }
    if ran.map_runs {
        runs_ready.notify_one();
    }
    Ok(ran)
}

/// Steps one execution of a refused batch in a transaction of its own; if the database refuses
/// it again, the execution fails alone.
async fn run_alone(pool: &PgPool, seq: i64, machines: &mut Machines) -> Result<Ran, Error> {
    let mut tx = begin(pool).await?;
    let Some(execution) = engine::claim_one(&mut tx, seq).await? else {
        return Ok(Ran::default());
    };
    match step_and_commit(tx, std::slice::from_ref(&execution), machines).await {
        Err(Error::Store(error)) if error.is_refused_data() => {
            fail_alone(
                pool,
                seq,
                &format!("the database refused its step: {error}"),
            )
            .await
        }
        other => other,
    }
}

/// Fails the execution with `States.Runtime`, taking its signals. Should even that be refused,
/// the execution is no longer made due: it waits, and the log says why, rather than holding a
/// scheduler.
async fn fail_alone(pool: &PgPool, seq: i64, reason: &str) -> Result<Ran, Error> {
    let mut tx = begin(pool).await?;
    let Some(execution) = engine::claim_one(&mut tx, seq).await? else {
        return Ok(Ran::default());
    };
    engine::take_signals(&mut tx, &[seq]).await?;
    let now_ms = millis(time::OffsetDateTime::now_utc());
    let failed = vec![poisoned(&execution, reason, now_ms)];
    match write_and_commit(tx, failed).await {
        Err(Error::Store(error)) if error.is_refused_data() => {
            tracing::error!(%error, execution = %execution.arn, "cannot fail an execution, parking it");
            engine::park(pool, seq).await?;
            Ok(Ran::default())
        }
        other => other,
    }
}

async fn begin(pool: &PgPool) -> Result<Transaction, Error> {
    Ok(pool.begin().await.map_err(switchback_store::Error::from)?)
}

/// Takes the signals of the claimed executions, steps each, writes and commits.
async fn step_and_commit(
    mut tx: Transaction,
    claimed: &[Claimed],
    machines: &mut Machines,
) -> Result<Ran, Error> {
    let seqs: Vec<i64> = claimed.iter().map(|c| c.seq).collect();
    let mut signals: HashMap<i64, Vec<_>> = HashMap::new();
    for (execution, signal) in engine::take_signals(&mut tx, &seqs).await? {
        signals.entry(execution).or_default().push(signal);
    }
    let mut heartbeats: HashMap<i64, Vec<(u64, i64)>> = HashMap::new();
    for (execution, task_id, at) in engine::heartbeats(&mut tx, &seqs).await? {
        let task_id = u64::try_from(task_id).unwrap_or(0);
        heartbeats
            .entry(execution)
            .or_default()
            .push((task_id, millis(at)));
    }
    let now_ms = millis(time::OffsetDateTime::now_utc());
    // The executions of a batch share one step's budget of work (see `StepBudget`).
    let share = claimed.len();
    let batch_span = tracing::info_span!("scheduler_batch", executions = claimed.len());
    let mut step = |execution: &Claimed, missing: &BTreeSet<String>| {
        let _step = tracing::info_span!(parent: &batch_span, "execution_step", execution_arn = %execution.arn)
            .entered();
        let machine = machines.get(&execution.definition);
        advance(
            execution,
            &machine,
            signals.get(&execution.seq).map_or(&[], Vec::as_slice),
            heartbeats.get(&execution.seq).map_or(&[], Vec::as_slice),
            now_ms,
            StepBudget::shared_by(share).without_activities(missing.iter().cloned()),
        )
    };
    let mut missing = BTreeSet::new();
    let mut advanced: Vec<Advanced> = claimed.iter().map(|e| step(e, &missing)).collect();
    // A step that scheduled a task for an activity that does not exist is taken again knowing
    // it: its Task state fails at once, as in AWS, rather than record a task nobody can poll.
    // (An activity deleted after this look is as one deleted just after its task was
    // scheduled.) Steps taken again schedule no activity they did not before, but the loop
    // looks again rather than rely on it.
    let mut looked: HashSet<String> = HashSet::new();
    loop {
        let unseen: Vec<String> = advanced
            .iter()
            .flat_map(|a| &a.new_tasks)
            .map(|t| &t.activity_arn)
            .filter(|arn| !looked.contains(*arn))
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if unseen.is_empty() {
            break;
        }
        let found = engine::existing_activities(&mut tx, &unseen).await?;
        let absent: Vec<String> = unseen
            .iter()
            .filter(|arn| !found.contains(*arn))
            .cloned()
            .collect();
        looked.extend(unseen);
        if absent.is_empty() {
            break;
        }
        missing.extend(absent);
        for (execution, advanced) in claimed.iter().zip(advanced.iter_mut()) {
            if advanced
                .new_tasks
                .iter()
                .any(|t| missing.contains(&t.activity_arn))
            {
                *advanced = step(execution, &missing);
            }
        }
    }
    write_and_commit(tx, advanced).await
}

/// Writes the steps, their tasks and what they mean for other executions, and commits.
async fn write_and_commit(mut tx: Transaction, advanced: Vec<Advanced>) -> Result<Ran, Error> {
    let started = std::time::Instant::now();
    let mut steps = Vec::with_capacity(advanced.len());
    let mut new_tasks = Vec::new();
    let mut new_calls = Vec::new();
    let mut closed_tasks = Vec::new();
    let mut children_ended = Vec::new();
    let mut ended_with_tasks = Vec::new();
    let mut new_map_runs = Vec::new();
    let mut map_run_ends = Vec::new();
    let mut redriven_runs = Vec::new();
    let mut aborted_runs = Vec::new();
    let mut runs_of_failed = Vec::new();
    for advanced in advanced {
        redriven_runs.extend(advanced.redriven_runs);
        aborted_runs.extend(advanced.aborted_runs);
        if advanced.aborts_every_run {
            runs_of_failed.push(advanced.step.seq);
        }
        new_map_runs.extend(advanced.new_map_runs);
        map_run_ends.extend(advanced.map_run_end);
        new_tasks.extend(advanced.new_tasks);
        new_calls.extend(advanced.new_calls);
        closed_tasks.extend(advanced.closed_tasks);
        children_ended.extend(advanced.child_ended);
        if advanced.ended_with_tasks {
            ended_with_tasks.push(advanced.step.seq);
        }
        steps.push(advanced.step);
    }
    let closed = engine::write_tasks(
        &mut tx,
        &new_tasks,
        &new_calls,
        &closed_tasks,
        &ended_with_tasks,
    )
    .await?;
    engine::apply(&mut tx, &steps).await?;
    // Other executions this batch made due (no notification is sent for them).
    let made_due = engine::complete_parents(&mut tx, &children_ended).await?
        + engine::stop_children(&mut tx, &closed).await?;
    // Distributed Map runs: the runs started, the ends of children (appended, never written to
    // the run's row), then the runs redriven (which count their children again, those ended in
    // this batch included, and drop the ends not yet counted), and last the runs whose task
    // no longer wanted: a run started or redriven in a step that also left it is aborted too.
    map_runs::insert(&mut tx, &new_map_runs).await?;
    map_runs::record_ends(&mut tx, &map_run_ends).await?;
    let made_due = made_due
        + map_runs::redrive(&mut tx, &redriven_runs).await?
        + map_runs::abort(&mut tx, &aborted_runs, &runs_of_failed).await?;
    tx.commit().await.map_err(switchback_store::Error::from)?;
    tracing::debug!(executions = steps.len(), "scheduler batch committed");
    record_metrics(&steps, new_tasks.len(), started.elapsed());
    let now = (made_due > 0).then(time::OffsetDateTime::now_utc);
    Ok(Ran {
        advanced: steps.len(),
        earliest_due: steps.iter().filter_map(|s| s.due_at).chain(now).min(),
        scheduled_calls: !new_calls.is_empty(),
        map_runs: !new_map_runs.is_empty() || !map_run_ends.is_empty() || !redriven_runs.is_empty(),
    })
}
/// Counts what the committed batch did.
fn record_metrics(steps: &[engine::Step], tasks_scheduled: usize, took: std::time::Duration) {
    metrics::histogram!("switchback_scheduler_batch_size").record(steps.len() as f64);
    metrics::histogram!("switchback_scheduler_batch_duration_seconds").record(took.as_secs_f64());
    metrics::counter!("switchback_tasks_scheduled_total").increment(tasks_scheduled as u64);
    let mut transitions = 0u64;
    for step in steps {
        for (_, event) in &step.events {
            // Event texts are `{"timestamp":…,"type":"…",…}`; the type is all that is counted.
            if event.contains("StateEntered\"") {
                transitions += 1;
            } else if event.contains("\"ExecutionStarted\"") {
                metrics::counter!("switchback_executions_started_total").increment(1);
            } else if event.contains("\"ActivityTimedOut\"") {
                metrics::counter!("switchback_tasks_timed_out_total").increment(1);
            }
        }
        if step.stopped_at.is_some() {
            metrics::counter!("switchback_executions_finished_total", "status" => step.status.clone()).increment(1);
        }
    }
    metrics::counter!("switchback_state_transitions_total").increment(transitions);
}
