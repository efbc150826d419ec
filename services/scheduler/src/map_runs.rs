//! Drives Distributed Map runs beside the batches: claims runs that are due or whose children
//! ended (`SKIP LOCKED`, so every scheduler shares the runs), folds the ends into the run's
//! counters, creates children up to the run's concurrency, and ends the run — when every item
//! ran, or when failures pass what it tolerates — telling its parent. One transaction per
//! round: a crash before the commit creates no child and loses no end.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use switchback_asl::failure::Failure;
use switchback_asl::interpreter::{MapRunOutcome, MapRunSpec};
use switchback_asl::item_reader::Cursor;
use switchback_asl::result_writer::{ChildRecord, WriterSpec};
use switchback_asl::{limits, map_run, result_writer};
use switchback_invoke::s3::S3;
use switchback_store::map_runs::{self, ChildEnd, Driven, Ending, NewChild, NewChildren};
use switchback_store::notify::Coalescer;
use switchback_store::{PgPool, Savepoint, Transaction};
use tokio::sync::Notify;

use crate::Error;
use crate::advance::millis;
use crate::map_items::{Chunk, Items};

/// Runs claimed in one round.
const RUNS_PER_ROUND: i64 = 8;
/// The most children one run gets in one round (one INSERT).
const CHILDREN_PER_ROUND: usize = 500;
/// The most bytes of fetched objects a process keeps between rounds (see `Specs::keep_chunk`).
const CACHED_BYTES: usize = 96 * 1024 * 1024;
/// Children's outputs read at a time when a run gathers or writes its results.
const OUTPUTS_PER_READ: i64 = 1_000;
/// A result file is written once it holds this many bytes, and another begun (AWS starts a
/// new file at 5 GB; smaller files keep a scheduler's memory bounded).
const RESULT_FILE_BYTES: usize = 64 * 1024 * 1024;

/// What the driver reaches outside the database: S3, where items are read and results
/// written, and how many result entries one round may write (see `write_results`).
struct Io {
    s3: S3,
    entries_per_round: usize,
}

/// The driver's loop, until `stop`: a round, at once again while there is more to do; else a
/// wait for this process's batches (`ready`) or the poll interval (runs of other processes'
/// children, UpdateMapRun).
pub async fn run(
    pool: PgPool,
    s3: S3,
    ready: Arc<Notify>,
    due: Coalescer,
    poll_interval: Duration,
    entries_per_round: usize,
    stop: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(stop);
    let mut specs = Specs::default();
    let io = Io {
        s3,
        entries_per_round: entries_per_round.max(1),
    };
    loop {
        match round(&pool, &io, &mut specs).await {
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

/// What this process keeps of the runs it drives: each run's parsed spec (it holds the run's
/// items: read and parsed once, not at every child's end) and the bytes of its object fetched
/// and not yet read (fetched once, not once per round).
#[derive(Default)]
struct Specs(HashMap<i64, Arc<MapRunSpec>>, HashMap<i64, Chunk>);

impl Specs {
    async fn get(&mut self, tx: &mut Savepoint<'_>, seq: i64) -> Result<Arc<MapRunSpec>, String> {
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
            self.1.clear();
        }
        self.0.insert(seq, spec.clone());
        Ok(spec)
    }

    fn forget(&mut self, seq: i64) {
        self.0.remove(&seq);
        self.1.remove(&seq);
    }

    /// Keeps a run's fetched bytes for its next round: a chunk is 1 MiB unless an item needed
    /// more (up to 8), or a manifest's whole data file (up to 64). A process keeps at most
    /// [`CACHED_BYTES`] of them; past that it forgets the others'.
    fn keep_chunk(&mut self, seq: i64, chunk: Chunk) {
        self.1.remove(&seq);
        let held: usize = self.1.values().map(Chunk::len).sum();
        if held + chunk.len() > CACHED_BYTES {
            self.1.clear();
        }
        self.1.insert(seq, chunk);
    }
}

struct Round {
    /// Runs claimed may have more to do at once.
    more: bool,
    /// Executions were made due (children created, parents told).
    made_due: bool,
}

async fn round(pool: &PgPool, io: &Io, specs: &mut Specs) -> Result<Round, Error> {
    let mut tx: Transaction = pool.begin().await.map_err(switchback_store::Error::from)?;
    let runs = map_runs::claim(&mut tx, RUNS_PER_ROUND).await?;
    let mut round = Round {
        more: runs.len() as i64 >= RUNS_PER_ROUND,
        made_due: false,
    };
    for mut run in runs {
        if run.status != "RUNNING" && run.failing.is_none() {
            // Ends of children of a run that already ended: counted, nothing more. (An aborted
            // run that writes its results is driven until it wrote them.)
            map_runs::save(&mut tx, &run, false).await?;
            continue;
        }
        // Each run in a savepoint of its own: one the database refuses fails alone, and the
        // others of the round go on (a run that failed every round would hold them all).
        let claimed = run.clone();
        let mut savepoint = switchback_store::savepoint(&mut tx).await?;
        let driven = drive_claimed(&mut savepoint, &mut run, specs, io).await;
        let error = match driven {
            Ok(step) => {
                savepoint
                    .commit()
                    .await
                    .map_err(switchback_store::Error::from)?;
                round.made_due |= step.made_due;
                round.more |= step.more;
                if step.ended {
                    specs.forget(run.seq);
                }
                continue;
            }
            Err(Error::Store(error)) if error.is_refused_data() => error,
            Err(other) => return Err(other),
        };
        savepoint
            .rollback()
            .await
            .map_err(switchback_store::Error::from)?;
        specs.forget(run.seq);
        tracing::error!(run = %run.arn, %error, "the database refused a map run's round, giving up on the run");
        let cause = format!("Switchback could not drive this map run: {error}");
        let mut again = switchback_store::savepoint(&mut tx).await?;
        match give_up(&mut again, &claimed, &cause).await {
            Ok(_) => {
                again
                    .commit()
                    .await
                    .map_err(switchback_store::Error::from)?;
                round.made_due = true;
            }
            Err(error) => {
                again
                    .rollback()
                    .await
                    .map_err(switchback_store::Error::from)?;
                tracing::error!(run = %run.arn, %error, "cannot fail a map run");
                // The ends the claim took are kept in its counters, whatever comes of the run.
                map_runs::save(&mut tx, &claimed, false).await?;
            }
        }
    }
    tx.commit().await.map_err(switchback_store::Error::from)?;
    Ok(round)
}

/// One claimed, running run: its spec (read once per process), then a look at it.
async fn drive_claimed(
    tx: &mut Savepoint<'_>,
    run: &mut Driven,
    specs: &mut Specs,
    io: &Io,
) -> Result<Driving, Error> {
    let spec = match specs.get(tx, run.seq).await {
        Ok(spec) => spec,
        Err(reason) => {
            tracing::error!(run = %run.arn, reason, "unreadable map run");
            return give_up(
                tx,
                run,
                &format!("Switchback could not read this map run: {reason}"),
            )
            .await;
        }
    };
    let cached = specs.1.remove(&run.seq);
    let (step, cached) = drive(tx, run, &spec, io, cached).await?;
    if let Some(chunk) = cached {
        specs.keep_chunk(run.seq, chunk);
    }
    Ok(step)
}

/// Ends a run that cannot go on: a running one fails with `States.Runtime` and `cause`; an
/// aborted one stays ABORTED without the results it was writing.
async fn give_up(tx: &mut Savepoint<'_>, run: &Driven, cause: &str) -> Result<Driving, Error> {
    if run.status != "RUNNING" {
        tracing::error!(run = %run.arn, cause, "an aborted map run cannot write its results");
        map_runs::written(tx, run).await?;
        return Ok(Driving::ended());
    }
    fail(tx, run, cause).await
}

/// Ends a run with `States.Runtime` and `cause`.
async fn fail(tx: &mut Savepoint<'_>, run: &Driven, cause: &str) -> Result<Driving, Error> {
    let outcome = MapRunOutcome::Failed {
        error: "States.Runtime".to_owned(),
        cause: cause.to_owned(),
    };
    map_runs::finish(tx, run, outcome).await?;
    Ok(Driving::ended())
}

struct Driving {
    ended: bool,
    more: bool,
    made_due: bool,
}

impl Driving {
    /// Nothing to do until children end (or the run changes).
    fn waiting() -> Self {
        Driving {
            ended: false,
            more: false,
            made_due: false,
        }
    }

    fn ended() -> Self {
        Driving {
            ended: true,
            more: false,
            made_due: true,
        }
    }
}

/// One look at a running run: fail it past its tolerance, end it when every item ran, else
/// create children up to its concurrency.
async fn drive(
    tx: &mut Savepoint<'_>,
    run: &mut Driven,
    spec: &MapRunSpec,
    io: &Io,
    cached: Option<Chunk>,
) -> Result<(Driving, Option<Chunk>), Error> {
    let s3 = &io.s3;
    // A run that exports its results and failed, or was aborted with its parent, ends once
    // its children stopped: its results, the failed and aborted children and the items never
    // started among them, are written first.
    if let Some(ending) = run.ending() {
        if run.counts.ended() < run.counts.started {
            map_runs::save(tx, run, false).await?;
            return Ok((Driving::waiting(), cached));
        }
        let ending = match ending {
            // A run no longer RUNNING was aborted, whatever it was failing with before (runs
            // aborted before aborted runs wrote results kept a failing outcome).
            Ok(_) if run.status != "RUNNING" => Ending::Aborted,
            Ok(ending) => ending,
            Err(error) => {
                let cause = format!("Switchback could not read how this map run ends: {error}");
                return Ok((give_up(tx, run, &cause).await?, None));
            }
        };
        let written = match &spec.writer {
            Some(writer) => match write_results(tx, run, spec, writer, io, cached).await? {
                Wrote::Done(outcome) => Some(outcome),
                Wrote::More(cached) => return Ok((more_to_write(tx, run).await?, cached)),
            },
            None => None,
        };
        match ending {
            Ending::Failed(mut outcome) => {
                // A writer that could not write fails the state with its own error.
                if let Some(failed) = written
                    && writer_failed_outcome(&failed)
                {
                    outcome = failed;
                }
                map_runs::finish(tx, run, outcome).await?;
            }
            Ending::Aborted => {
                if let Some(MapRunOutcome::Failed { error, cause }) = written {
                    tracing::warn!(run = %run.arn, error, cause, "an aborted map run could not write its results");
                }
                map_runs::written(tx, run).await?;
            }
        }
        return Ok((Driving::ended(), None));
    }
    // A percentage is of all items: while a reader has not found them all, it is judged when
    // it has (a count, or no tolerance at all, is judged at once).
    let judged = run.counts.total.is_some() || run.tolerated_failure_percentage.is_none();
    // A run writing its results (every child ended) is past judging: lowering its tolerance
    // now (UpdateMapRun) does not turn it into a failure half-way through its files.
    let exceeded = run.writing.is_none()
        && judged
        && map_run::exceeds_tolerance(
            u64::try_from(run.counts.failures()).unwrap_or(0),
            u64::try_from(run.counts.total.unwrap_or(run.counts.items_read)).unwrap_or(0),
            run.tolerated_failure_count
                .and_then(|n| u64::try_from(n).ok()),
            run.tolerated_failure_percentage,
        );
    if exceeded {
        if spec.exports() {
            map_runs::begin_failing(tx, run, &MapRunOutcome::exceeded()).await?;
            return Ok((Driving::waiting(), None));
        }
        map_runs::finish(tx, run, MapRunOutcome::exceeded()).await?;
        return Ok((Driving::ended(), None));
    }
    if run.counts.all_read && run.counts.ended() >= run.counts.started {
        let outcome = match &spec.writer {
            Some(writer) => match write_results(tx, run, spec, writer, io, cached).await? {
                Wrote::Done(outcome) => outcome,
                Wrote::More(cached) => return Ok((more_to_write(tx, run).await?, cached)),
            },
            None if spec.gather_results => gather(tx, run.seq).await?,
            None => MapRunOutcome::Succeeded { results: None },
        };
        map_runs::finish(tx, run, outcome).await?;
        return Ok((Driving::ended(), None));
    }
    let concurrency = i64::from(MapRunSpec::concurrency(
        u32::try_from(run.max_concurrency).unwrap_or(0),
    ));
    let running = run.counts.started - run.counts.ended();
    let room = usize::try_from(concurrency - running)
        .unwrap_or(0)
        .min(CHILDREN_PER_ROUND);
    if room == 0 || run.counts.all_read {
        map_runs::save(tx, run, false).await?;
        return Ok((Driving::waiting(), cached));
    }
    // An unreadable cursor fails the run: reading again from the start would give items a
    // second child.
    let cursor: Cursor = match run.cursor.as_deref().map(serde_json::from_str) {
        None => Cursor::default(),
        Some(Ok(cursor)) => cursor,
        Some(Err(error)) => {
            let cause = format!("Switchback could not read where this map run stands: {error}");
            return Ok((fail(tx, run, &cause).await?, None));
        }
    };
    let mut items = Items::new(spec, s3, cursor.clone(), cached);
    let read = children_inputs(spec, &mut items, cursor, room).await;
    let cached = items.into_cached();
    let (batches, done) = match read {
        Ok(read) => read,
        Err(failure) => {
            let outcome = MapRunOutcome::Failed {
                error: failure.error,
                cause: failure.cause,
            };
            map_runs::finish(tx, run, outcome).await?;
            return Ok((Driving::ended(), None));
        }
    };
    let kind = if spec.express { "express" } else { "execution" };
    let child_base = spec
        .state_machine_arn
        .replacen(":stateMachine:", &format!(":{kind}:"), 1);
    let mut children = Vec::with_capacity(batches.len());
    for (offset, batch) in batches.iter().enumerate() {
        let name = uuid::Uuid::new_v4().to_string();
        children.push(NewChild {
            arn: format!("{child_base}:{name}"),
            name,
            input: batch.input.to_string(),
            index: run.counts.started + offset as i64,
            items: spec
                .batcher
                .is_some()
                .then(|| i32::try_from(batch.items).unwrap_or(i32::MAX)),
        });
    }
    let created = children.len() as i64;
    let inserted = map_runs::insert_children(
        tx,
        &NewChildren {
            run,
            state_machine_arn: &spec.state_machine_arn,
            machine_type: if spec.express { "EXPRESS" } else { "STANDARD" },
            definition: &spec.definition,
            role_arn: &spec.role_arn,
            children,
        },
    )
    .await?;
    if inserted != created as u64 {
        // A child of one of these places exists already: the counters, committed with the
        // children, say none does. Failing beats running an item twice or never ending.
        let cause = format!(
            "Switchback found {} of this map run's {created} new children existing already",
            created as u64 - inserted
        );
        return Ok((fail(tx, run, &cause).await?, cached));
    }
    if let Some(last) = batches.last() {
        run.counts.items_read = i64::try_from(last.cursor.items).unwrap_or(i64::MAX);
        run.cursor = serde_json::to_string(&last.cursor).ok();
    }
    run.counts.started += created;
    if done {
        run.counts.all_read = true;
        run.counts.total = Some(run.counts.items_read);
    }
    // More at once when the round was cut short by its own limit, or every item is read and
    // the run may have ended already (a run of no items).
    let more = (created > 0 && !done && running + created < concurrency) || (done && created == 0);
    map_runs::save(tx, run, more).await?;
    let driving = Driving {
        ended: false,
        more,
        made_due: created > 0,
    };
    Ok((driving, cached))
}

/// One child's input, how many items it runs, and the cursor after its last item.
struct Batch {
    input: Value,
    items: u64,
    cursor: Cursor,
}

/// The inputs of up to `room` children from `cursor` on: each item through the selector (with
/// its index among all items), grouped into batches when the Map has an `ItemBatcher`.
/// `done`: no item is left after them.
async fn children_inputs(
    spec: &MapRunSpec,
    items: &mut Items<'_>,
    cursor: Cursor,
    room: usize,
) -> Result<(Vec<Batch>, bool), Failure> {
    let now_ms = millis(time::OffsetDateTime::now_utc());
    let mut batches: Vec<Batch> = Vec::new();
    // The batch being filled: its inputs, their bytes, and the cursor after the last.
    let mut open: Vec<Value> = Vec::new();
    let mut open_bytes = spec.batcher.as_ref().map_or(0, |b| b.overhead());
    let mut open_cursor = cursor.clone();
    let mut index = cursor.items;
    let mut done = false;
    while batches.len() < room {
        let Some((item, after)) = items.next().await? else {
            done = true;
            break;
        };
        let seed = switchback_asl::entropy::seed_from(uuid::Uuid::new_v4().into_bytes());
        let input = spec.child_input(
            usize::try_from(index).unwrap_or(usize::MAX),
            item,
            now_ms,
            seed,
        )?;
        index += 1;
        let Some(batcher) = &spec.batcher else {
            if let Some(problem) = limits::payload_problem(&input) {
                return Err(Failure::data_limit_exceeded(problem));
            }
            batches.push(Batch {
                input,
                items: 1,
                cursor: after,
            });
            continue;
        };
        let size = limits::json_size(&input);
        if !batcher.fits(open.len() as u64, open_bytes, size) {
            batches.push(Batch {
                items: open.len() as u64,
                input: batcher.input(std::mem::take(&mut open)),
                cursor: open_cursor.clone(),
            });
            open_bytes = batcher.overhead();
            if batches.len() >= room {
                // This item starts the next round's first batch: it is read again then.
                break;
            }
        }
        open_bytes += size + 1;
        open.push(input);
        open_cursor = after;
        if batcher
            .max_items
            .is_some_and(|max| open.len() as u64 >= max)
        {
            batches.push(Batch {
                items: open.len() as u64,
                input: batcher.input(std::mem::take(&mut open)),
                cursor: open_cursor.clone(),
            });
            open_bytes = batcher.overhead();
        }
    }
    // The loop leaves a batch open only when the items ran out (a full batch is closed at
    // once, and one cut by the round's limit is read again next round).
    if let Some(batcher) = &spec.batcher
        && !open.is_empty()
    {
        batches.push(Batch {
            items: open.len() as u64,
            input: batcher.input(open),
            cursor: open_cursor,
        });
    }
    for batch in &batches {
        if let Some(problem) = limits::payload_problem(&batch.input) {
            return Err(Failure::data_limit_exceeded(problem));
        }
    }
    if done && let Some(last) = batches.last_mut() {
        last.cursor.done = true;
    }
    Ok((batches, done))
}

/// Reads a run's children in order, a page at a time.
async fn each_child(
    tx: &mut Savepoint<'_>,
    run: i64,
    mut visit: impl FnMut(&ChildEnd) -> Option<MapRunOutcome>,
) -> Result<Option<MapRunOutcome>, Error> {
    let mut from = 0i64;
    loop {
        let page = map_runs::outputs(tx, run, from, OUTPUTS_PER_READ).await?;
        let read = page.len() as i64;
        for child in &page {
            if let Some(stop) = visit(child) {
                return Ok(Some(stop));
            }
        }
        if read < OUTPUTS_PER_READ {
            return Ok(None);
        }
        from = page.last().map_or(from + read, |c| c.map_index + 1);
    }
}

fn too_large() -> MapRunOutcome {
    let failure = Failure::data_limit_exceeded(limits::TOO_LARGE);
    MapRunOutcome::Failed {
        error: failure.error,
        cause: failure.cause,
    }
}

/// The run's results: its children's outputs in order (a failed child's error output in its
/// place), within the payload limit.
async fn gather(tx: &mut Savepoint<'_>, run: i64) -> Result<MapRunOutcome, Error> {
    let mut text = String::from("[");
    let stopped = each_child(tx, run, |child| {
        if text.len() > 1 {
            text.push(',');
        }
        match (child.status.as_str(), &child.output) {
            ("SUCCEEDED", Some(output)) => text.push_str(output),
            _ => {
                let error = child.error.clone().map(String::from).unwrap_or_default();
                let cause = child.cause.clone().map(String::from).unwrap_or_default();
                text.push_str(&map_run::error_output(&error, &cause).to_string());
            }
        }
        (text.len() > limits::MAX_PAYLOAD_BYTES).then(too_large)
    })
    .await?;
    if let Some(stopped) = stopped {
        return Ok(stopped);
    }
    text.push(']');
    Ok(MapRunOutcome::Succeeded {
        results: Some(text),
    })
}

/// A child's record for the result files.
fn record(child: &ChildEnd) -> (ChildRecord<'_>, Option<String>, Option<String>) {
    let error = child.error.clone().map(String::from);
    let cause = child.cause.clone().map(String::from);
    let record = ChildRecord {
        execution_arn: &child.arn,
        name: &child.name,
        state_machine_arn: &child.state_machine_arn,
        status: &child.status,
        input: &child.input,
        output: child.output.as_deref(),
        error: None,
        cause: None,
        start_ms: millis(child.started_at),
        stop_ms: child.stopped_at.map(millis),
    };
    (record, error, cause)
}

/// How far a run's result files are written, kept in its row between rounds
/// (`map_runs.writing`): a write of more than one round's entries goes on over several, each
/// ending its files, and a crash repeats at most one round's files (put again under the same
/// keys, from the same place).
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct Written {
    /// The next child whose entry is to be written (children are read in item order).
    next_child: i64,
    /// Every child's entry is written.
    children_done: bool,
    /// Where reading the items never started goes on; none: from the run's own cursor.
    pending_from: Option<Cursor>,
    /// The files put, by status: (key, size).
    succeeded: Vec<(String, usize)>,
    failed: Vec<(String, usize)>,
    pending: Vec<(String, usize)>,
}

/// What a round of writing came to.
enum Wrote {
    /// The run's outcome: the state's output naming the manifest, or the writer's failure.
    Done(MapRunOutcome),
    /// The round wrote its share; the run is due again to write the rest (with the bytes
    /// fetched for its items never started, kept for that).
    More(Option<Chunk>),
}

/// A run whose write goes on next round: due again at once.
async fn more_to_write(tx: &mut Savepoint<'_>, run: &Driven) -> Result<Driving, Error> {
    map_runs::save(tx, run, true).await?;
    Ok(Driving {
        ended: false,
        more: true,
        made_due: false,
    })
}

/// The `ResultWriter`'s work: the files under `<Prefix>/<run id>/` and the state's output
/// naming the manifest; or, with `WriterConfig` alone, the output in its form. The items of a
/// run that ended before reading them all are read now, for `PENDING_n.json`. One round writes
/// at most `entries_per_round` entries and 64 MiB, then puts what it holds and keeps how far
/// it got (`Written`); the manifest comes once everything is written.
async fn write_results(
    tx: &mut Savepoint<'_>,
    run: &Driven,
    spec: &MapRunSpec,
    writer: &WriterSpec,
    io: &Io,
    cached: Option<Chunk>,
) -> Result<Wrote, Error> {
    let run_id = run.arn.rsplit(':').next().unwrap_or_default().to_owned();
    let Some(bucket) = writer.bucket.clone() else {
        // No export: the output holds the entries themselves.
        let mut entries: Vec<Value> = Vec::new();
        let mut bytes = 2usize;
        let stopped = each_child(tx, run.seq, |child| {
            let (mut record, error, cause) = record(child);
            let added = if child.status == "SUCCEEDED" {
                writer.succeeded_entries(&record)
            } else {
                record.error = error.as_deref();
                record.cause = cause.as_deref();
                vec![record.record()]
            };
            for entry in added {
                bytes += limits::json_size(&entry) + 1;
                entries.push(entry);
            }
            (bytes > limits::MAX_PAYLOAD_BYTES).then(too_large)
        })
        .await?;
        if let Some(stopped) = stopped {
            return Ok(Wrote::Done(stopped));
        }
        return Ok(Wrote::Done(MapRunOutcome::Succeeded {
            results: Some(Value::Array(entries).to_string()),
        }));
    };
    let s3 = &io.s3;
    // A record that cannot be read starts the write again: the same files are put again.
    let mut written: Written = match run.writing.as_deref().map(serde_json::from_str) {
        None => Written::default(),
        Some(Ok(written)) => written,
        Some(Err(error)) => {
            tracing::warn!(run = %run.arn, %error, "unreadable map run write, writing again");
            Written::default()
        }
    };
    let mut files = ResultFiles::default();
    files.succeeded.written = std::mem::take(&mut written.succeeded);
    files.failed.written = std::mem::take(&mut written.failed);
    files.pending.written = std::mem::take(&mut written.pending);
    let mut round = RoundShare::new(io.entries_per_round);
    // The children's entries, a page at a time in item order; a full file is put at once.
    while !written.children_done && !round.spent() {
        // No more children than the round may still write (each counts at least once).
        let limit = OUTPUTS_PER_READ.min(i64::try_from(round.left().max(1)).unwrap_or(1));
        let page = map_runs::outputs(tx, run.seq, written.next_child, limit).await?;
        if (page.len() as i64) < limit {
            written.children_done = true;
        }
        for child in &page {
            if round.spent() {
                // The rest of the page is the next round's.
                written.children_done = false;
                break;
            }
            written.next_child = child.map_index + 1;
            let (mut record, error, cause) = record(child);
            let (list, name) = if child.status == "SUCCEEDED" {
                let entries = writer.succeeded_entries(&record);
                if entries.is_empty() {
                    // An empty array flattened: the child still counts against the round.
                    round.count(&Value::Null);
                }
                for entry in entries {
                    round.count(&entry);
                    files.succeeded.add(entry);
                }
                (&mut files.succeeded, "SUCCEEDED")
            } else {
                record.error = error.as_deref();
                record.cause = cause.as_deref();
                let entry = record.record();
                round.count(&entry);
                files.failed.add(entry);
                (&mut files.failed, "FAILED")
            };
            if list.bytes >= RESULT_FILE_BYTES
                && let Err(outcome) = list.put(s3, &bucket, writer, &run_id, name).await
            {
                return Ok(Wrote::Done(outcome));
            }
        }
    }
    // Then the items never started, from where the run stopped reading.
    let mut pending_done = run.counts.all_read;
    let mut cached = cached;
    if written.children_done && !pending_done && !round.spent() {
        let from = match written.pending_from.take() {
            Some(cursor) => Some(cursor),
            None => match run.cursor.as_deref().map(serde_json::from_str) {
                None => Some(Cursor::default()),
                Some(Ok(cursor)) => Some(cursor),
                Some(Err(error)) => {
                    tracing::warn!(run = %run.arn, %error, "unreadable map run cursor, no pending items written");
                    None
                }
            },
        };
        let pending = Pending {
            run,
            spec,
            writer,
            s3,
            bucket: &bucket,
            run_id: &run_id,
        };
        match from {
            None => pending_done = true,
            Some(from) => match pending
                .write(from, cached.take(), &mut files.pending, &mut round)
                .await
            {
                Ok((Some(next), kept)) => {
                    written.pending_from = Some(next);
                    cached = kept;
                }
                Ok((None, _)) => pending_done = true,
                Err(outcome) => return Ok(Wrote::Done(outcome)),
            },
        }
    }
    // A round ends its files: what it holds is put now.
    for (list, name) in [
        (&mut files.succeeded, "SUCCEEDED"),
        (&mut files.failed, "FAILED"),
        (&mut files.pending, "PENDING"),
    ] {
        if !list.entries.is_empty()
            && let Err(outcome) = list.put(s3, &bucket, writer, &run_id, name).await
        {
            return Ok(Wrote::Done(outcome));
        }
    }
    if !(written.children_done && pending_done) {
        written.succeeded = files.succeeded.written;
        written.failed = files.failed.written;
        written.pending = files.pending.written;
        let text = serde_json::to_string(&written).unwrap_or_default();
        map_runs::save_writing(tx, run.seq, &text).await?;
        return Ok(Wrote::More(cached));
    }
    let manifest = result_writer::manifest(
        &bucket,
        &run.arn,
        &files.succeeded.written,
        &files.failed.written,
        &files.pending.written,
    );
    let key = writer.key(&run_id, "manifest.json");
    if let Err(error) = s3
        .put(&bucket, &key, manifest.to_string().into_bytes())
        .await
    {
        return Ok(Wrote::Done(writer_failed(&error)));
    }
    Ok(Wrote::Done(MapRunOutcome::Succeeded {
        results: Some(writer.details(&run.arn, &run_id).to_string()),
    }))
}

/// A round's share of writing: entries counted, and their bytes, against what one round may
/// write (`entries_per_round`, and one file's worth of bytes).
struct RoundShare {
    entries: usize,
    bytes: usize,
    max_entries: usize,
}

impl RoundShare {
    fn new(max_entries: usize) -> Self {
        RoundShare {
            entries: 0,
            bytes: 0,
            max_entries,
        }
    }

    fn count(&mut self, entry: &Value) {
        self.entries += 1;
        self.bytes += limits::json_size(entry) + 1;
    }

    fn spent(&self) -> bool {
        self.entries >= self.max_entries || self.bytes >= RESULT_FILE_BYTES
    }

    /// How many more entries the round may write.
    fn left(&self) -> usize {
        if self.spent() {
            0
        } else {
            self.max_entries - self.entries
        }
    }
}

/// The items no child was started for, written to `PENDING_n.json`.
struct Pending<'a> {
    run: &'a Driven,
    spec: &'a MapRunSpec,
    writer: &'a WriterSpec,
    s3: &'a S3,
    bucket: &'a str,
    run_id: &'a str,
}

impl Pending<'_> {
    /// From `cursor` on, as much as the round may write: each child's input as it would have
    /// been (through the selector and the batcher), the files put as they fill. Returns where
    /// the next round goes on, or none when every item is written, and the bytes fetched. Only a failed put fails the
    /// writer: items that cannot be read now (the object gone, an item the selector refuses)
    /// end the PENDING files there, and the other files are written all the same.
    async fn write(
        &self,
        mut cursor: Cursor,
        mut cached: Option<Chunk>,
        pending: &mut ResultFile,
        round: &mut RoundShare,
    ) -> Result<(Option<Cursor>, Option<Chunk>), MapRunOutcome> {
        loop {
            let room = round.left().min(CHILDREN_PER_ROUND);
            if room == 0 {
                return Ok((Some(cursor), cached));
            }
            let mut items = Items::new(self.spec, self.s3, cursor.clone(), cached);
            let read = children_inputs(self.spec, &mut items, cursor.clone(), room).await;
            cached = items.into_cached();
            let (batches, done) = match read {
                Ok(read) => read,
                Err(failure) => {
                    tracing::warn!(run = %self.run.arn, error = failure.error, cause = failure.cause, "cannot read a map run's pending items, the rest are not written");
                    return Ok((None, None));
                }
            };
            for batch in &batches {
                let entry = result_writer::pending_entry(&batch.input);
                round.count(&entry);
                pending.add(entry);
                if pending.bytes >= RESULT_FILE_BYTES {
                    pending
                        .put(self.s3, self.bucket, self.writer, self.run_id, "PENDING")
                        .await?;
                }
            }
            match batches.last() {
                Some(last) if !done => cursor = last.cursor.clone(),
                _ => return Ok((None, None)),
            }
        }
    }
}

/// Whether an outcome is a ResultWriter's failure (which a failing run ends with instead of
/// its own).
fn writer_failed_outcome(outcome: &MapRunOutcome) -> bool {
    matches!(outcome, MapRunOutcome::Failed { error, .. } if error == result_writer::WRITER_FAILED)
}

fn writer_failed(error: &switchback_invoke::s3::S3Error) -> MapRunOutcome {
    MapRunOutcome::Failed {
        error: result_writer::WRITER_FAILED.to_owned(),
        cause: error.to_string(),
    }
}

#[derive(Default)]
struct ResultFiles {
    succeeded: ResultFile,
    failed: ResultFile,
    pending: ResultFile,
}

/// The entries of the file being filled, and the files written: (key, size).
#[derive(Default)]
struct ResultFile {
    entries: Vec<Value>,
    bytes: usize,
    written: Vec<(String, usize)>,
}

impl ResultFile {
    fn add(&mut self, entry: Value) {
        self.bytes += limits::json_size(&entry) + 1;
        self.entries.push(entry);
    }

    /// Puts the entries as `<name>_<n>.json`.
    async fn put(
        &mut self,
        s3: &S3,
        bucket: &str,
        writer: &WriterSpec,
        run_id: &str,
        name: &str,
    ) -> Result<(), MapRunOutcome> {
        let text = writer.file(&self.entries);
        let key = writer.key(run_id, &format!("{name}_{}.json", self.written.len()));
        let size = text.len();
        s3.put(bucket, &key, text.into_bytes())
            .await
            .map_err(|e| writer_failed(&e))?;
        self.written.push((key, size));
        self.entries.clear();
        self.bytes = 0;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_round_share_is_spent_by_its_entries_or_one_file_of_bytes() {
        let mut round = RoundShare::new(2);
        assert_eq!(round.left(), 2);
        round.count(&json!(1));
        assert!(!round.spent());
        assert_eq!(round.left(), 1);
        round.count(&json!({"a": 2}));
        assert!(round.spent());
        assert_eq!(round.left(), 0);
        let mut bytes = RoundShare::new(1_000_000);
        bytes.count(&Value::String("x".repeat(RESULT_FILE_BYTES)));
        assert!(bytes.spent());
        assert_eq!(bytes.left(), 0);
    }

    #[test]
    fn how_far_a_write_got_reads_back_as_it_was_kept() {
        let written = Written {
            next_child: 7,
            children_done: true,
            pending_from: Some(Cursor::default()),
            succeeded: vec![("out/r/SUCCEEDED_0.json".to_owned(), 12)],
            failed: Vec::new(),
            pending: vec![("out/r/PENDING_0.json".to_owned(), 3)],
        };
        let text = serde_json::to_string(&written).expect("json");
        let read: Written = serde_json::from_str(&text).expect("written");
        assert_eq!(read.next_child, 7);
        assert!(read.children_done);
        assert_eq!(read.pending_from, Some(Cursor::default()));
        assert_eq!(read.succeeded, written.succeeded);
        assert_eq!(read.pending, written.pending);
    }
}
