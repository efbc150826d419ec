//! One batch: claim due executions, step each, write everything, commit — one transaction.

use std::collections::HashMap;

use switchback_store::PgPool;
use switchback_store::engine;

use crate::Error;
use crate::advance::{advance, millis};
use crate::machines::Machines;

/// What a batch did.
pub struct Ran {
    /// How many executions were advanced.
    pub advanced: usize,
    /// The earliest due time the batch wrote (a timer it set, or now for executions it made
    /// due without a notification), if any.
    pub earliest_due: Option<time::OffsetDateTime>,
}

/// Runs one batch. `calls_ready` wakes this process's caller when the batch scheduled calls.
pub async fn run(
    pool: &PgPool,
    batch_size: i64,
    machines: &mut Machines,
    calls_ready: &tokio::sync::Notify,
) -> Result<Ran, Error> {
    let started = std::time::Instant::now();
    let mut tx = pool.begin().await.map_err(switchback_store::Error::from)?;
    let claimed = engine::claim(&mut tx, batch_size).await?;
    if claimed.is_empty() {
        tx.commit().await.map_err(switchback_store::Error::from)?;
        return Ok(Ran {
            advanced: 0,
            earliest_due: None,
        });
    }
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
    let mut steps = Vec::with_capacity(claimed.len());
    let mut new_tasks = Vec::new();
    let mut new_calls = Vec::new();
    let mut closed_tasks = Vec::new();
    let mut children_ended = Vec::new();
    let mut ended_with_tasks = Vec::new();
    let batch_span = tracing::info_span!("scheduler_batch", executions = claimed.len());
    let _batch = batch_span.enter();
    for execution in &claimed {
        let _step = tracing::info_span!("execution_step", execution_arn = %execution.arn).entered();
        let execution_signals = signals.remove(&execution.seq).unwrap_or_default();
        let execution_heartbeats = heartbeats.remove(&execution.seq).unwrap_or_default();
        let machine = machines.get(&execution.definition);
        let advanced = advance(
            execution,
            &machine,
            &execution_signals,
            &execution_heartbeats,
            now_ms,
        );
        new_tasks.extend(advanced.new_tasks);
        new_calls.extend(advanced.new_calls);
        closed_tasks.extend(advanced.closed_tasks);
        children_ended.extend(advanced.child_ended);
        if advanced.ended_with_tasks {
            ended_with_tasks.push(execution.seq);
        }
        steps.push(advanced.step);
    }
    drop(_batch);
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
    let made_due = engine::fail_missing_activities(&mut tx, &new_tasks).await?
        + engine::complete_parents(&mut tx, &children_ended).await?
        + engine::stop_children(&mut tx, &closed).await?;
    tx.commit().await.map_err(switchback_store::Error::from)?;
    if !new_calls.is_empty() {
        calls_ready.notify_one();
    }
    tracing::debug!(executions = steps.len(), "scheduler batch committed");
    record_metrics(&steps, new_tasks.len(), started.elapsed());
    let now = (made_due > 0).then(time::OffsetDateTime::now_utc);
    Ok(Ran {
        advanced: steps.len(),
        earliest_due: steps.iter().filter_map(|s| s.due_at).chain(now).min(),
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
