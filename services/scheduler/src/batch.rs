//! One batch: claim due executions, step each, write everything, commit — one transaction.

use std::collections::HashMap;

use switchback_store::PgPool;
use switchback_store::engine;

use crate::Error;
use crate::advance::{advance, millis};

/// Returns how many executions were advanced.
pub async fn run(pool: &PgPool, batch_size: i64) -> Result<usize, Error> {
    let mut tx = pool.begin().await.map_err(switchback_store::Error::from)?;
    let claimed = engine::claim(&mut tx, batch_size).await?;
    if claimed.is_empty() {
        tx.commit().await.map_err(switchback_store::Error::from)?;
        return Ok(0);
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
    let mut closed_tasks = Vec::new();
    for execution in &claimed {
        let execution_signals = signals.remove(&execution.seq).unwrap_or_default();
        let execution_heartbeats = heartbeats.remove(&execution.seq).unwrap_or_default();
        let advanced = advance(execution, &execution_signals, &execution_heartbeats, now_ms);
        new_tasks.extend(advanced.new_tasks);
        closed_tasks.extend(advanced.closed_tasks);
        steps.push(advanced.step);
    }
    engine::write_tasks(&mut tx, &new_tasks, &closed_tasks).await?;
    engine::apply(&mut tx, &steps).await?;
    engine::fail_missing_activities(&mut tx, &new_tasks).await?;
    tx.commit().await.map_err(switchback_store::Error::from)?;
    tracing::debug!(executions = steps.len(), "scheduler batch committed");
    Ok(steps.len())
}
