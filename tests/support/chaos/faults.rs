//! The faults. The scheduler and call faults wait for the work they are meant to cut (a
//! scheduler inside a transaction, a call being made, a timer pending) before they strike; the
//! others strike at once. Each records whether work was in flight when it struck, as each
//! variant's comment says.

use std::time::{Duration, Instant, SystemTime};

use sqlx::Row;

use super::fleet::{CALL_LEASE, Fleet};
use super::workload::{Kind, Workload};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Fault {
    /// SIGKILL a scheduler while it is inside a transaction (it claimed work), then restart it.
    KillSchedulerMidStep,
    /// SIGKILL the scheduler that is making a Lambda call, then restart it.
    KillCallerMidCall,
    /// SIGSTOP the scheduler that is making a Lambda call for twice its call lease, so that
    /// another scheduler may take the call over, then SIGCONT it: its result comes late. (That
    /// a takeover happened is checked over the run, from the Lambda servers' logs.)
    PauseCallerPastLease,
    /// SIGKILL an API node, then restart it; in flight when requests of the suite's clients
    /// (long polls, mostly) were outstanding on it at the kill.
    KillApi,
    /// SIGKILL every scheduler while a Wait is pending, restart them after its due time.
    AllSchedulersDown,
    /// Crash PostgreSQL and start it again; in flight when executions were running.
    RestartPostgres,
    /// Terminate every session of the database; in flight when there was one to terminate.
    DropConnections,
}

impl Fault {
    pub const ALL: [Fault; 7] = [
        Fault::KillSchedulerMidStep,
        Fault::KillCallerMidCall,
        Fault::PauseCallerPastLease,
        Fault::KillApi,
        Fault::AllSchedulersDown,
        Fault::RestartPostgres,
        Fault::DropConnections,
    ];
}

/// One fault as it happened.
#[derive(Debug, Clone)]
pub struct Struck {
    pub fault: Fault,
    pub from: SystemTime,
    pub until: SystemTime,
    /// Whether it found the work in flight it waits for.
    pub hit_work_in_flight: bool,
}

/// Applies `fault`; `round` picks which node when any would do.
pub async fn strike(fleet: &mut Fleet, workload: &Workload, fault: Fault, round: usize) -> Struck {
    let from = SystemTime::now();
    let hit_work_in_flight = match fault {
        Fault::KillSchedulerMidStep => kill_scheduler_mid_step(fleet, round).await,
        Fault::KillCallerMidCall => match caller_mid_call(fleet, workload).await {
            Some(k) => {
                fleet.schedulers[k].kill();
                tokio::time::sleep(Duration::from_millis(300)).await;
                fleet.schedulers[k].restart();
                true
            }
            None => false,
        },
        Fault::PauseCallerPastLease => match caller_mid_call(fleet, workload).await {
            Some(k) => {
                fleet.schedulers[k].pause();
                tokio::time::sleep(CALL_LEASE * 2).await;
                fleet.schedulers[k].resume();
                true
            }
            None => false,
        },
        Fault::KillApi => {
            let k = round % fleet.apis.len();
            let busy = fleet.api.in_flight(k) > 0;
            fleet.apis[k].kill();
            tokio::time::sleep(Duration::from_millis(300)).await;
            fleet.apis[k].restart();
            fleet.apis[k].wait_ready().await;
            busy
        }
        Fault::AllSchedulersDown => {
            let pending = wait_pending(workload).await;
            for node in &mut fleet.schedulers {
                node.kill();
            }
            // Past the due time of the Wait that was pending.
            tokio::time::sleep(Duration::from_secs(
                super::workload::WAIT_SECONDS as u64 + 1,
            ))
            .await;
            for node in &mut fleet.schedulers {
                node.restart();
            }
            pending
        }
        Fault::RestartPostgres => {
            let running = running_executions(fleet).await > 0;
            fleet.pg.crash_and_restart().await;
            running
        }
        Fault::DropConnections => drop_connections(fleet).await > 0,
    };
    Struck {
        fault,
        from,
        until: SystemTime::now(),
        hit_work_in_flight,
    }
}

/// Kills a scheduler found inside a transaction within 5 s, else scheduler `round`.
async fn kill_scheduler_mid_step(fleet: &mut Fleet, round: usize) -> bool {
    const IN_TRANSACTION: &str = "
        SELECT application_name FROM pg_stat_activity
        WHERE datname = current_database() AND application_name LIKE 'scheduler-%'
          AND xact_start IS NOT NULL AND state IN ('active', 'idle in transaction')
        LIMIT 1";
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut found = None;
    if let Some(mut admin) = fleet.admin().await {
        while found.is_none() && Instant::now() < deadline {
            if let Ok(Some(row)) = sqlx::query(IN_TRANSACTION).fetch_optional(&mut admin).await {
                let name: String = row.try_get(0).unwrap_or_default();
                found = name
                    .strip_prefix("scheduler-")
                    .and_then(|k| k.parse::<usize>().ok())
                    .filter(|k| *k < fleet.schedulers.len());
            }
            if found.is_none() {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
    }
    let k = found.unwrap_or(round % fleet.schedulers.len());
    fleet.schedulers[k].kill();
    tokio::time::sleep(Duration::from_millis(300)).await;
    fleet.schedulers[k].restart();
    found.is_some()
}

/// The scheduler that just began a `slow` Lambda call (each scheduler has a Lambda server of
/// its own), starting one if none comes within a few seconds. None if none came at all.
async fn caller_mid_call(fleet: &Fleet, workload: &Workload) -> Option<usize> {
    let count = |fleet: &Fleet| -> Vec<usize> {
        fleet
            .lambdas
            .iter()
            .map(|l| l.calls_of("slow").len())
            .collect()
    };
    let before = count(fleet);
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut nudged = false;
    while Instant::now() < deadline {
        let now = count(fleet);
        if let Some(k) = (0..now.len()).find(|&k| now[k] > before[k]) {
            return Some(k);
        }
        if !nudged && Instant::now() + Duration::from_secs(7) > deadline {
            workload.start(Kind::Lambda).await;
            nudged = true;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    None
}

/// Starts a `wait` execution and returns once it is waiting (true), or after 10 s (false).
async fn wait_pending(workload: &Workload) -> bool {
    let started = workload.start(Kind::Wait).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        let history = workload
            .api
            .call(0, |c| {
                let arn = started.arn.clone();
                async move { c.get_execution_history().execution_arn(arn).send().await }
            })
            .await;
        if let Ok(history) = history.result
            && history
                .events()
                .iter()
                .any(|e| e.r#type().as_str() == "WaitStateEntered")
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

async fn running_executions(fleet: &Fleet) -> i64 {
    let Some(mut admin) = fleet.admin().await else {
        return 0;
    };
    sqlx::query("SELECT count(*) FROM executions WHERE status = 'RUNNING'")
        .fetch_one(&mut admin)
        .await
        .and_then(|row| row.try_get(0))
        .unwrap_or(0)
}

/// Terminates every other session of the database; returns how many.
async fn drop_connections(fleet: &Fleet) -> i64 {
    let Some(mut admin) = fleet.admin().await else {
        return 0;
    };
    sqlx::query(
        "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .fetch_one(&mut admin)
    .await
    .and_then(|row| row.try_get(0))
    .unwrap_or(0)
}
