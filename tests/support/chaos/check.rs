//! The exact checks made on every execution once the faults stopped, and the evidence that the
//! faults hit work in flight.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_sfn::error::ProvideErrorMetadata;
use aws_sdk_sfn::types::{ExecutionStatus, HistoryEvent};
use serde_json::Value;

use super::faults::{Fault, Struck};
use super::fleet::Fleet;
use super::workload::{Kind, Started, WAIT_SECONDS, Workload};

/// An execution's history, read whole.
pub struct History {
    pub events: Vec<HistoryEvent>,
}

impl History {
    pub async fn read(workload: &Workload, arn: &str) -> History {
        let mut events = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = workload
                .api
                .must(0, "get execution history", |c| {
                    let (arn, token) = (arn.to_owned(), token.clone());
                    async move {
                        c.get_execution_history()
                            .execution_arn(arn)
                            .max_results(1000)
                            .set_next_token(token)
                            .send()
                            .await
                    }
                })
                .await;
            events.extend(page.events().iter().cloned());
            token = page.next_token().map(str::to_owned);
            if token.is_none() {
                return History { events };
            }
        }
    }

    pub fn types(&self) -> Vec<String> {
        self.events
            .iter()
            .map(|e| e.r#type().as_str().to_owned())
            .collect()
    }

    fn first_ms(&self, event_type: &str) -> Option<i64> {
        self.events
            .iter()
            .find(|e| e.r#type().as_str() == event_type)
            .and_then(|e| e.timestamp().to_millis().ok())
    }
}

/// An activity task whose delivery was lost (the worker never got the task, or its answer
/// never arrived, because a connection was cut) times out and is scheduled again by the
/// state's Retry: `ActivityScheduled [ActivityStarted] ActivityTimedOut`. Removes those
/// rounds and counts them; what remains must equal the run without faults.
pub fn without_lost_deliveries(types: &[String]) -> (Vec<String>, usize) {
    let mut kept: Vec<String> = Vec::new();
    let mut lost = 0;
    for event_type in types {
        if event_type == "ActivityTimedOut" {
            if kept.last().is_some_and(|t| t == "ActivityStarted") {
                kept.pop();
            }
            if kept.last().is_some_and(|t| t == "ActivityScheduled") {
                kept.pop();
                lost += 1;
                continue;
            }
        }
        kept.push(event_type.clone());
    }
    (kept, lost)
}

/// What the checks found.
#[derive(Debug, Default)]
pub struct Findings {
    pub checked: usize,
    /// Executions started but missing, or not ended by the deadline.
    pub lost: usize,
    /// Executions or results recorded more than once.
    pub duplicated: usize,
    /// Every difference from the run without faults, one line each.
    pub violations: Vec<String>,
    pub redelivered: usize,
    /// Lambda calls made more than once (each recorded once: the sequences match).
    pub calls_made_again: usize,
    /// ... of which another scheduler made again.
    pub calls_taken_over: usize,
    pub http_calls_made_again: usize,
    /// Wait states whose due time fell while every scheduler was down.
    pub timers_after_restart: usize,
}

/// Waits until every started execution ended (or the deadline passed).
pub async fn wait_for_all(workload: &Workload, deadline: Duration) {
    let until = Instant::now() + deadline;
    for started in workload.started() {
        loop {
            let described = workload
                .api
                .call(0, |c| {
                    let arn = started.arn.clone();
                    async move { c.describe_execution().execution_arn(arn).send().await }
                })
                .await;
            let running = matches!(&described.result,
                Ok(d) if d.status() == &ExecutionStatus::Running);
            if !running || Instant::now() > until {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// The types of each kind's history in a run without faults.
pub async fn reference(workload: &Workload) -> HashMap<Kind, Vec<String>> {
    let mut started = Vec::new();
    for kind in Kind::ALL {
        started.push(workload.start(kind).await);
    }
    wait_for_all(workload, Duration::from_secs(60)).await;
    let mut types = HashMap::new();
    for s in started {
        types.insert(s.kind, History::read(workload, &s.arn).await.types());
    }
    types
}

/// Checks every execution against the run without faults.
pub async fn check(
    fleet: &Fleet,
    workload: &Workload,
    reference: &HashMap<Kind, Vec<String>>,
    struck: &[Struck],
) -> Findings {
    let mut findings = Findings::default();
    let started = workload.started();
    let mut per_kind: BTreeMap<Kind, usize> = BTreeMap::new();
    for s in &started {
        *per_kind.entry(s.kind).or_default() += 1;
    }
    let ours: HashSet<&str> = started.iter().map(|s| s.arn.as_str()).collect();
    for s in &started {
        check_one(workload, reference, struck, s, &mut findings).await;
    }

    // No execution was started twice: each machine holds exactly the executions started on it
    // (the `pass` machine also holds the children of `child`), each ended well.
    for (kind, machine) in &workload.machines {
        let mut expected = per_kind.get(kind).copied().unwrap_or(0);
        if *kind == Kind::Pass {
            expected += per_kind.get(&Kind::Child).copied().unwrap_or(0);
        }
        let listed = list(workload, machine).await;
        let not_succeeded = listed
            .iter()
            .filter(|(_, status)| status != &ExecutionStatus::Succeeded)
            .count();
        if listed.len() > expected {
            findings.duplicated += listed.len() - expected;
        }
        if listed.len() != expected || not_succeeded > 0 {
            findings.violations.push(format!(
                "{}: {} executions listed ({not_succeeded} not SUCCEEDED), {expected} expected",
                kind.name(),
                listed.len()
            ));
        }
        if *kind == Kind::Pass {
            // The children of `child`: their histories too must be those of a `pass` run.
            for (arn, _) in listed
                .iter()
                .filter(|(arn, _)| !ours.contains(arn.as_str()))
            {
                findings.checked += 1;
                let types = History::read(workload, arn).await.types();
                if types != reference[&Kind::Pass] {
                    findings
                        .violations
                        .push(format!("child {arn}: events {types:?}"));
                }
            }
        }
    }

    // Calls made more than once: each Lambda server belongs to one scheduler.
    let mut slots_by_key: HashMap<String, Vec<usize>> = HashMap::new();
    for (slot, lambda) in fleet.lambdas.iter().enumerate() {
        for call in lambda.calls_of("slow") {
            let key = serde_json::from_str::<Value>(&call.body)
                .map(|payload| payload["key"].to_string())
                .unwrap_or_default();
            slots_by_key.entry(key).or_default().push(slot);
        }
    }
    for slots in slots_by_key.values() {
        if slots.len() > 1 {
            findings.calls_made_again += 1;
            if slots.iter().any(|s| *s != slots[0]) {
                findings.calls_taken_over += 1;
            }
        }
    }
    let mut http_by_key: HashMap<String, usize> = HashMap::new();
    for request in fleet.http.received() {
        *http_by_key.entry(request.query).or_default() += 1;
    }
    findings.http_calls_made_again = http_by_key.values().filter(|n| **n > 1).count();
    findings
}

async fn check_one(
    workload: &Workload,
    reference: &HashMap<Kind, Vec<String>>,
    struck: &[Struck],
    s: &Started,
    findings: &mut Findings,
) {
    findings.checked += 1;
    let name = format!("{}-{}", s.kind.name(), s.i);
    let described = workload
        .api
        .call(0, |c| {
            let arn = s.arn.clone();
            async move { c.describe_execution().execution_arn(arn).send().await }
        })
        .await;
    let described = match described.result {
        Ok(described) => described,
        Err(error) => {
            findings.lost += 1;
            findings.violations.push(format!(
                "{name}: not found ({})",
                error.code().unwrap_or("?")
            ));
            return;
        }
    };
    if described.status() == &ExecutionStatus::Running {
        findings.lost += 1;
        findings
            .violations
            .push(format!("{name}: still running at the deadline"));
        return;
    }
    let output = described
        .output()
        .and_then(|o| serde_json::from_str::<Value>(o).ok());
    if described.status() != &ExecutionStatus::Succeeded || output != Some(s.kind.output(s.i)) {
        findings.violations.push(format!(
            "{name}: {:?} with output {:?}, error {:?}, cause {:?}",
            described.status(),
            described.output(),
            described.error(),
            described.cause()
        ));
    }
    let history = History::read(workload, &s.arn).await;
    let ids: Vec<i64> = history.events.iter().map(HistoryEvent::id).collect();
    if ids != (1..=ids.len() as i64).collect::<Vec<_>>() {
        findings
            .violations
            .push(format!("{name}: event ids are not 1..n: {ids:?}"));
    }
    let (types, lost) = without_lost_deliveries(&history.types());
    findings.redelivered += lost;
    let expected = &reference[&s.kind];
    if &types != expected {
        let results = |t: &[String]| {
            t.iter()
                .filter(|t| t.ends_with("Succeeded") || t.ends_with("Failed"))
                .count()
        };
        if results(&types) > results(expected) {
            findings.duplicated += 1;
        }
        findings.violations.push(format!(
            "{name}: events {types:?}, without faults {expected:?}"
        ));
    }
    if s.kind == Kind::Wait
        && let (Some(entered), Some(exited)) = (
            history.first_ms("WaitStateEntered"),
            history.first_ms("WaitStateExited"),
        )
    {
        let due = entered + WAIT_SECONDS * 1000;
        let fired_after_restart = struck.iter().any(|f| {
            f.fault == Fault::AllSchedulersDown
                && (epoch_ms(f.from)..epoch_ms(f.until)).contains(&due)
                && exited >= epoch_ms(f.until) - 1000
        });
        findings.timers_after_restart += usize::from(fired_after_restart);
    }
}

async fn list(workload: &Workload, machine: &str) -> Vec<(String, ExecutionStatus)> {
    let mut all = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = workload
            .api
            .must(0, "list executions", |c| {
                let (machine, token) = (machine.to_owned(), token.clone());
                async move {
                    c.list_executions()
                        .state_machine_arn(machine)
                        .max_results(1000)
                        .set_next_token(token)
                        .send()
                        .await
                }
            })
            .await;
        all.extend(
            page.executions()
                .iter()
                .map(|e| (e.execution_arn().to_owned(), e.status().clone())),
        );
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            return all;
        }
    }
}

fn epoch_ms(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::without_lost_deliveries;

    #[test]
    fn lost_deliveries_are_removed_and_counted() {
        let types: Vec<String> = [
            "TaskStateEntered",
            "ActivityScheduled",
            "ActivityStarted",
            "ActivityTimedOut",
            "ActivityScheduled",
            "ActivityTimedOut",
            "ActivityScheduled",
            "ActivityStarted",
            "ActivitySucceeded",
        ]
        .map(str::to_owned)
        .to_vec();
        let (kept, lost) = without_lost_deliveries(&types);
        assert_eq!(lost, 2);
        assert_eq!(
            kept,
            [
                "TaskStateEntered",
                "ActivityScheduled",
                "ActivityStarted",
                "ActivitySucceeded"
            ]
        );
    }
}
