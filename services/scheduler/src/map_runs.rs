//! Drives Distributed Map runs beside the batches: claims runs that are due or whose children
//! ended (`SKIP LOCKED`, so every scheduler shares the runs), folds the ends into the run's
//! counters, creates children up to the run's concurrency, and ends the run — when every item
//! ran, or when failures pass what it tolerates — telling its parent. One transaction per
//! round: a crash before the commit creates no child and loses no end.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use switchback_asl::interpreter::{MapRunOutcome, MapRunSpec};
use switchback_asl::{limits, map_run};
use switchback_store::map_runs::{self, Driven, NewChildren};
use switchback_store::notify::Coalescer;
use switchback_store::{PgPool, Transaction};
use tokio::sync::Notify;

use crate::Error;

/// Runs claimed in one round.
const RUNS_PER_ROUND: i64 = 8;
/// The most children one run gets in one round (one INSERT).
const CHILDREN_PER_ROUND: usize = 500;
/// Children's outputs read at a time when a run gathers its results.
const OUTPUTS_PER_READ: i64 = 1_000;

/// The driver's loop, until `stop`: a round, at once again while there is more to do; else a
/// wait for this process's batches (`ready`) or the poll interval (runs of other processes'
/// children, UpdateMapRun).
pub async fn run(
    pool: PgPool,
    ready: Arc<Notify>,
    due: Coalescer,
    poll_interval: Duration,
    stop: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(stop);
    let mut specs = Specs::default();
    loop {
        match round(&pool, &mut specs).await {
            Ok(round) => {
                if round.made_due {
                    due.wake();
                }
                if round.more {
                    continue;
                }
            }
            Err(error) => {
                tracing::warn!(%error, "map run round failed, retrying");
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        }
        tokio::select! {
            () = &mut stop => break,
            () = ready.notified() => {}
            () = tokio::time::sleep(poll_interval) => {}
        }
    }
}

/// Parsed specs of the runs this process drives (a spec holds the run's items: read and
/// parsed once, not at every child's end).
#[derive(Default)]
struct Specs(HashMap<i64, Arc<MapRunSpec>>);

impl Specs {
    async fn get(&mut self, tx: &mut Transaction, seq: i64) -> Result<Arc<MapRunSpec>, String> {
        if let Some(spec) = self.0.get(&seq) {
            return Ok(spec.clone());
        }
        let text = map_runs::spec(tx, seq).await.map_err(|e| e.to_string())?;
        let spec: MapRunSpec = serde_json::from_str(&text).map_err(|e| e.to_string())?;
        let spec = Arc::new(spec);
        // A handful of runs at a time is the common case; a process that drove many forgets
        // them all rather than keeping every spec it ever read.
        if self.0.len() >= 64 {
            self.0.clear();
        }
        self.0.insert(seq, spec.clone());
        Ok(spec)
    }

    fn forget(&mut self, seq: i64) {
        self.0.remove(&seq);
    }
}

struct Round {
    /// Runs claimed may have more to do at once.
    more: bool,
    /// Executions were made due (children created, parents told).
    made_due: bool,
}

async fn round(pool: &PgPool, specs: &mut Specs) -> Result<Round, Error> {
    let mut tx: Transaction = pool.begin().await.map_err(switchback_store::Error::from)?;
    let runs = map_runs::claim(&mut tx, RUNS_PER_ROUND).await?;
    let mut round = Round {
        more: runs.len() as i64 >= RUNS_PER_ROUND,
        made_due: false,
    };
    for mut run in runs {
        if run.status != "RUNNING" {
            // Ends of children of a run that already ended: counted, nothing more.
            map_runs::save(&mut tx, &run, false).await?;
            continue;
        }
        let spec = match specs.get(&mut tx, run.seq).await {
            Ok(spec) => spec,
            Err(reason) => {
                tracing::error!(run = %run.arn, reason, "unreadable map run");
                let outcome = MapRunOutcome::Failed {
                    error: "States.Runtime".to_owned(),
                    cause: format!("Switchback could not read this map run: {reason}"),
                };
                map_runs::finish(&mut tx, &run, outcome).await?;
                round.made_due = true;
                continue;
            }
        };
        let step = drive(&mut tx, &mut run, &spec).await?;
        round.made_due |= step.made_due;
        round.more |= step.more;
        if step.ended {
            specs.forget(run.seq);
        }
    }
    tx.commit().await.map_err(switchback_store::Error::from)?;
    Ok(round)
}

struct Driving {
    ended: bool,
    more: bool,
    made_due: bool,
}

/// One look at a running run.
async fn drive(
    tx: &mut Transaction,
    run: &mut Driven,
    spec: &MapRunSpec,
) -> Result<Driving, Error> {
    let exceeded = map_run::exceeds_tolerance(
        u64::try_from(run.failures()).unwrap_or(0),
        u64::try_from(run.total).unwrap_or(0),
        run.tolerated_failure_count
            .and_then(|n| u64::try_from(n).ok()),
        run.tolerated_failure_percentage,
    );
    if exceeded {
        map_runs::finish(tx, run, MapRunOutcome::exceeded()).await?;
        return Ok(Driving {
            ended: true,
            more: false,
            made_due: true,
        });
    }
    if run.started >= run.total && run.ended() >= run.total {
        let outcome = if spec.gather_results {
            gather(tx, run.seq).await?
        } else {
            MapRunOutcome::Succeeded { results: None }
        };
        map_runs::finish(tx, run, outcome).await?;
        return Ok(Driving {
            ended: true,
            more: false,
            made_due: true,
        });
    }
    let concurrency = i64::from(MapRunSpec::concurrency(
        u32::try_from(run.max_concurrency).unwrap_or(0),
    ));
    let running = run.started - run.ended();
    let room = (concurrency - running).clamp(0, run.total - run.started);
    let count = usize::try_from(room).unwrap_or(0).min(CHILDREN_PER_ROUND);
    let mut children = Vec::with_capacity(count);
    let now_ms = crate::advance::millis(time::OffsetDateTime::now_utc());
    let kind = if spec.express { "express" } else { "execution" };
    let child_base = spec
        .state_machine_arn
        .replacen(":stateMachine:", &format!(":{kind}:"), 1);
    for offset in 0..count {
        let index = usize::try_from(run.started).unwrap_or(usize::MAX) + offset;
        let Some(item) = spec.items.get(index) else {
            break;
        };
        let seed = switchback_asl::entropy::seed_from(uuid::Uuid::new_v4().into_bytes());
        let input = match spec.child_input(index, item.clone(), now_ms, seed) {
            Ok(input) => input,
            Err(failure) => {
                let outcome = MapRunOutcome::Failed {
                    error: failure.error,
                    cause: failure.cause,
                };
                map_runs::finish(tx, run, outcome).await?;
                return Ok(Driving {
                    ended: true,
                    more: false,
                    made_due: true,
                });
            }
        };
        if let Some(problem) = limits::payload_problem(&input) {
            let failure = switchback_asl::failure::Failure::data_limit_exceeded(problem);
            let outcome = MapRunOutcome::Failed {
                error: failure.error,
                cause: failure.cause,
            };
            map_runs::finish(tx, run, outcome).await?;
            return Ok(Driving {
                ended: true,
                more: false,
                made_due: true,
            });
        }
        let name = uuid::Uuid::new_v4().to_string();
        children.push((
            format!("{child_base}:{name}"),
            name,
            input.to_string(),
            i64::try_from(index).unwrap_or(i64::MAX),
        ));
    }
    let created = children.len() as i64;
    let new = NewChildren {
        run,
        state_machine_arn: &spec.state_machine_arn,
        machine_type: if spec.express { "EXPRESS" } else { "STANDARD" },
        definition: &spec.definition,
        role_arn: &spec.role_arn,
        children,
    };
    map_runs::insert_children(tx, &new).await?;
    run.started += created;
    // More to create at once when this round was cut short by its own limit; otherwise the
    // run waits for ends (or an UpdateMapRun).
    let more = created > 0 && run.started < run.total && running + created < concurrency;
    map_runs::save(tx, run, more).await?;
    Ok(Driving {
        ended: false,
        more,
        made_due: created > 0,
    })
}

/// The run's results: its children's outputs in item order (a failed child's error output in
/// its place), within the payload limit.
async fn gather(tx: &mut Transaction, run: i64) -> Result<MapRunOutcome, Error> {
    let mut text = String::from("[");
    let mut from = 0i64;
    loop {
        let page = map_runs::outputs(tx, run, from, OUTPUTS_PER_READ).await?;
        let read = page.len() as i64;
        for child in page {
            if text.len() > 1 {
                text.push(',');
            }
            match (child.status.as_str(), child.output) {
                ("SUCCEEDED", Some(output)) => text.push_str(&output),
                _ => {
                    let error = child.error.map(String::from).unwrap_or_default();
                    let cause = child.cause.map(String::from).unwrap_or_default();
                    text.push_str(&map_run::error_output(&error, &cause).to_string());
                }
            }
            if text.len() > limits::MAX_PAYLOAD_BYTES {
                let failure =
                    switchback_asl::failure::Failure::data_limit_exceeded(limits::TOO_LARGE);
                return Ok(MapRunOutcome::Failed {
                    error: failure.error,
                    cause: failure.cause,
                });
            }
        }
        if read < OUTPUTS_PER_READ {
            break;
        }
        from += read;
    }
    text.push(']');
    Ok(MapRunOutcome::Succeeded {
        results: Some(text),
    })
}
