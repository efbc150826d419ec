//! The chaos suite: API and scheduler processes of the real binary, on a PostgreSQL of the
//! suite's own, run a mixed workload (Pass chains, Waits, Parallel, Map, activity tasks with
//! heartbeats, Retry and Catch, Lambda and HTTP calls to loopback servers, child executions)
//! while faults strike work in flight: schedulers killed mid-step and mid-call, a scheduler
//! paused past its lease so that two make the same call, API nodes killed under long polls,
//! every scheduler down past a timer, PostgreSQL crashed and restarted, sessions terminated.
//! Afterwards every execution is checked exactly: status, output, ids 1..n, and its event
//! types against the same workflow run without faults; each result recorded once, each late
//! result refused. The run must also show that the faults hit work in flight.
//!
//! - [`fleet`] — the processes, the loopback services, clients that fail over between nodes.
//! - [`workload`] — the state machines, each execution's exact output, the activity workers.
//! - [`faults`] — each fault, and how it waits for work in flight before it strikes.
//! - [`check`] — the exact checks and the evidence.
//!
//! The e2e test runs [`Plan::short`]; `bench --scenario chaos` runs a long plan and prints the
//! [`Report`] that docs/benchmarks.md records.

pub mod check;
pub mod faults;
pub mod fleet;
pub mod workload;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use faults::{Fault, Struck};
use fleet::Fleet;
use workload::{Kind, WorkerTally, Workload};

/// The size of a run.
#[derive(Debug, Clone)]
pub struct Plan {
    /// How long executions are started while faults strike (every fault strikes at least once
    /// even if this is shorter).
    pub duration: Duration,
    /// Executions started per second meanwhile.
    pub rate: f64,
    pub apis: usize,
    pub schedulers: usize,
    /// Activity workers.
    pub workers: usize,
    /// Rest between two faults.
    pub gap: Duration,
    /// How long executions may take to end once the faults stopped.
    pub deadline: Duration,
}

impl Plan {
    /// The run of `cargo test`: every fault once or twice, a few hundred executions.
    pub fn short() -> Plan {
        Plan {
            duration: Duration::from_secs(30),
            rate: 6.0,
            apis: 2,
            schedulers: 3,
            workers: 4,
            gap: Duration::from_millis(500),
            deadline: Duration::from_secs(180),
        }
    }
}

/// What a run did and found.
#[derive(Debug)]
pub struct Report {
    pub plan: Plan,
    pub elapsed: Duration,
    /// Per fault: how often it struck, and how often it found work in flight.
    pub faults: BTreeMap<Fault, (usize, usize)>,
    pub findings: check::Findings,
    pub answered: usize,
    pub late_results_refused: usize,
    pub late_results_accepted: Vec<String>,
    pub answers_timed_out: usize,
}

impl Report {
    /// Every way the run falls short: a difference from the run without faults, a result
    /// recorded twice, or missing evidence that the faults hit work in flight.
    pub fn shortcomings(&self) -> Vec<String> {
        let f = &self.findings;
        let mut short = f.violations.clone();
        for token in &self.late_results_accepted {
            short.push(format!("a second answer to task {token} was accepted"));
        }
        for fault in Fault::ALL {
            let (struck, hit) = self.faults.get(&fault).copied().unwrap_or((0, 0));
            if hit == 0 {
                short.push(format!(
                    "{fault:?} struck {struck} times and never found work in flight"
                ));
            }
        }
        let evidence = [
            (f.calls_made_again, "no call was made twice"),
            (
                f.calls_taken_over,
                "no scheduler took over another's call lease",
            ),
            (
                f.timers_after_restart,
                "no timer fell due while every scheduler was down",
            ),
            (self.late_results_refused, "no late result was refused"),
        ];
        for (count, missing) in evidence {
            if count == 0 {
                short.push(missing.to_owned());
            }
        }
        // A delivery is lost only with a connection cut under it.
        let cuts: usize = [
            Fault::KillApi,
            Fault::RestartPostgres,
            Fault::DropConnections,
        ]
        .iter()
        .map(|fault| self.faults.get(fault).map_or(0, |(n, _)| *n))
        .sum();
        if f.redelivered > cuts * self.plan.workers {
            short.push(format!(
                "{} activity deliveries were lost, more than {cuts} cut connections × {} workers explain",
                f.redelivered, self.plan.workers
            ));
        }
        short
    }
}

impl fmt::Display for Report {
    fn fmt(&self, out: &mut fmt::Formatter<'_>) -> fmt::Result {
        let f = &self.findings;
        writeln!(
            out,
            "chaos: {} executions checked in {:.1} s ({} API nodes, {} schedulers, {} activity workers, {:.0} s of faults at {} starts/s)",
            f.checked,
            self.elapsed.as_secs_f64(),
            self.plan.apis,
            self.plan.schedulers,
            self.plan.workers,
            self.plan.duration.as_secs_f64(),
            self.plan.rate
        )?;
        let total: usize = self.faults.values().map(|(n, _)| n).sum();
        write!(out, "faults injected: {total} —")?;
        for (fault, (n, hit)) in &self.faults {
            write!(out, " {fault:?} {n} ({hit} on work in flight);")?;
        }
        writeln!(out)?;
        writeln!(
            out,
            "lost {}, duplicated {}, other differences {}",
            f.lost,
            f.duplicated + self.late_results_accepted.len(),
            f.violations.len()
        )?;
        write!(
            out,
            "evidence: Lambda calls made again {} ({} by another scheduler), HTTP calls made again {}, \
             timers fired after a restart {}, late activity results refused {} of {} answered, \
             activity deliveries lost and retried {}, answers after a timeout {}",
            f.calls_made_again,
            f.calls_taken_over,
            f.http_calls_made_again,
            f.timers_after_restart,
            self.late_results_refused,
            self.answered,
            f.redelivered,
            self.answers_timed_out
        )
    }
}

/// Runs `plan` from a fresh cluster to the report.
pub async fn run(plan: &Plan) -> Report {
    let began = Instant::now();
    let mut fleet = Fleet::start(plan.apis, plan.schedulers).await;
    let workload = Arc::new(Workload::create(&fleet).await);
    let stop_workers = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(WorkerTally::default());
    let workers = workload::spawn_workers(&workload, plan.workers, &stop_workers, &tally);
    let reference = check::reference(&workload).await;

    let stop_starting = Arc::new(AtomicBool::new(false));
    let starter = {
        let (workload, stop) = (workload.clone(), stop_starting.clone());
        let pause = Duration::from_secs_f64(1.0 / plan.rate.max(0.01));
        tokio::spawn(async move {
            for kind in Kind::ALL.iter().cycle() {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                workload.start(*kind).await;
                tokio::time::sleep(pause).await;
            }
        })
    };
    let until = Instant::now() + plan.duration;
    let mut struck: Vec<Struck> = Vec::new();
    let mut round = 0;
    while Instant::now() < until || round < Fault::ALL.len() {
        let fault = Fault::ALL[round % Fault::ALL.len()];
        struck.push(faults::strike(&mut fleet, &workload, fault, round).await);
        // A node started while PostgreSQL was away exits; the next fault needs it back.
        fleet.heal().await;
        round += 1;
        tokio::time::sleep(plan.gap).await;
    }
    stop_starting.store(true, Ordering::Relaxed);
    starter.await.expect("the starter panicked");

    fleet.heal().await;
    check::wait_for_all(&workload, plan.deadline).await;
    stop_workers.store(true, Ordering::Relaxed);
    for worker in workers {
        // A worker may sit in a long poll; a panic in one is a finding.
        if let Ok(joined) = tokio::time::timeout(Duration::from_secs(30), worker).await {
            joined.expect("an activity worker panicked");
        }
    }
    let findings = check::check(&fleet, &workload, &reference, &struck).await;

    let mut faults: BTreeMap<Fault, (usize, usize)> = BTreeMap::new();
    for s in &struck {
        let entry = faults.entry(s.fault).or_default();
        entry.0 += 1;
        entry.1 += usize::from(s.hit_work_in_flight);
    }
    let late_results_accepted = tally.late_accepted.lock().expect("tally").clone();
    Report {
        plan: plan.clone(),
        elapsed: began.elapsed(),
        faults,
        findings,
        answered: tally.answered.load(Ordering::Relaxed),
        late_results_refused: tally.late_refused.load(Ordering::Relaxed),
        late_results_accepted,
        answers_timed_out: tally.timed_out.load(Ordering::Relaxed),
    }
}
