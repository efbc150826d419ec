//! N concurrent clients sharing a fixed number of operations.
//!
//! A fixed count (not a duration) keeps runs bounded and comparable between endpoints; each
//! client takes the next operation as soon as its last one answered (closed loop), or on its
//! own ticks when a total rate is given.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::time::MissedTickBehavior;

use crate::stats::ms;

pub struct Load {
    /// Latency of each successful operation, in milliseconds.
    pub latencies_ms: Vec<f64>,
    pub errors: usize,
    pub first_error: Option<String>,
    /// From the first operation sent to the last answer received.
    pub elapsed: Duration,
}

impl Load {
    pub fn ok(&self) -> usize {
        self.latencies_ms.len()
    }

    /// Successful operations per second over the whole run.
    pub fn rate(&self) -> f64 {
        self.ok() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Runs `op(i)` for i in 0..count on `clients` concurrent tasks. With `rate`, each client is
/// paced to `rate / clients` operations per second, staggered so that the clients do not fire
/// together; a client that falls behind catches up (burst), so the offered rate holds.
pub async fn run<F, Fut>(clients: usize, count: usize, rate: Option<f64>, op: F) -> Load
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let op = Arc::new(op);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(clients);
    for client in 0..clients {
        let op = Arc::clone(&op);
        let next = Arc::clone(&next);
        tasks.push(tokio::spawn(async move {
            let mut ticks = rate.map(|rate| {
                let period = Duration::from_secs_f64(clients as f64 / rate);
                let offset = period.mul_f64(client as f64 / clients as f64);
                let mut ticks =
                    tokio::time::interval_at(tokio::time::Instant::now() + offset, period);
                ticks.set_missed_tick_behavior(MissedTickBehavior::Burst);
                ticks
            });
            let mut latencies = Vec::new();
            let mut errors = 0usize;
            let mut first_error = None;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    break;
                }
                if let Some(ticks) = ticks.as_mut() {
                    ticks.tick().await;
                }
                let sent = Instant::now();
                match op(i).await {
                    Ok(()) => latencies.push(ms(sent.elapsed())),
                    Err(error) => {
                        errors += 1;
                        first_error.get_or_insert_with(|| format!("{error:#}"));
                    }
                }
            }
            (latencies, errors, first_error)
        }));
    }
    let mut load = Load {
        latencies_ms: Vec::with_capacity(count),
        errors: 0,
        first_error: None,
        elapsed: Duration::ZERO,
    };
    for task in tasks {
        match task.await {
            Ok((latencies, errors, first_error)) => {
                load.latencies_ms.extend(latencies);
                load.errors += errors;
                if load.first_error.is_none() {
                    load.first_error = first_error;
                }
            }
            Err(join) => {
                load.errors += 1;
                load.first_error
                    .get_or_insert_with(|| format!("client task failed: {join}"));
            }
        }
    }
    load.elapsed = started.elapsed();
    load
}
