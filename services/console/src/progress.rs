//! What happened to each state of an execution, read from its history: the colours of the
//! graph and the rows of the timeline.
//!
//! Each event names its cause (`previousEventId`); following those links back to a
//! `StateEntered` event tells which state a failure or a retried call belongs to, even when
//! Parallel branches and Map iterations interleave their events.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::Value;

/// A state's colour, from best to worst: across Map iterations and loops, the worst shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    Succeeded,
    /// Succeeded after a retrier ran it again.
    Retried,
    Running,
    /// Failed, and a catcher went on.
    Caught,
    Failed,
    /// Running when the execution was stopped or timed out.
    Aborted,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Succeeded => "succeeded",
            Status::Retried => "retried",
            Status::Running => "running",
            Status::Caught => "caught",
            Status::Failed => "failed",
            Status::Aborted => "aborted",
        }
    }
}

/// One state's run, for the timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub name: String,
    /// Epoch seconds.
    pub entered: f64,
    pub exited: Option<f64>,
    pub status: Status,
}

/// The states' colours and runs.
#[derive(Debug, Default)]
pub struct Progress {
    pub status: HashMap<String, Status>,
    pub runs: Vec<Run>,
}

/// The fields of an event this reads.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Event {
    id: i64,
    #[serde(default)]
    previous_event_id: i64,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    timestamp: f64,
    #[serde(default)]
    state_entered_event_details: Option<Named>,
    #[serde(default)]
    state_exited_event_details: Option<Named>,
}

#[derive(Deserialize)]
struct Named {
    name: String,
}

/// How long a chain of causes is followed back to its state (every cause comes before its
/// effect, so chains end; this bounds the work for a long history).
const MAX_CHAIN: usize = 64;

fn is_failure(kind: &str) -> bool {
    (kind.ends_with("Failed") || kind.ends_with("TimedOut"))
        && !kind.starts_with("Execution")
        && !kind.starts_with("MapRun")
        && !kind.starts_with("MapIteration")
        && kind != "MapStateFailed"
        && kind != "ParallelStateFailed"
}

fn is_call(kind: &str) -> bool {
    kind.ends_with("Scheduled") || kind.ends_with("Started") && !kind.starts_with("Execution")
}

/// Reads the events (JSON text, in id order) of one execution whose status is `execution`.
pub fn read<'e>(events: impl IntoIterator<Item = &'e str>, execution: &str) -> Progress {
    let mut progress = Progress::default();
    // For each event, the state it belongs to (by name), when known.
    let mut owner: HashMap<i64, usize> = HashMap::new();
    let mut names: Vec<String> = Vec::new();
    let mut previous: HashMap<i64, i64> = HashMap::new();
    // Per state name: runs open (entered, not exited), a failure since the last entry or
    // call, a retry since the last entry, and the open runs' rows.
    #[derive(Default)]
    struct Open {
        runs: Vec<usize>,
        failed: bool,
        retried: bool,
    }
    let mut open: HashMap<usize, Open> = HashMap::new();
    let mut status: HashMap<usize, Status> = HashMap::new();

    for text in events {
        let Ok(event) = serde_json::from_str::<Event>(text) else {
            continue;
        };
        previous.insert(event.id, event.previous_event_id);
        if let Some(entered) = &event.state_entered_event_details {
            let index = names
                .iter()
                .position(|n| *n == entered.name)
                .unwrap_or_else(|| {
                    names.push(entered.name.clone());
                    names.len() - 1
                });
            owner.insert(event.id, index);
            let row = progress.runs.len();
            progress.runs.push(Run {
                name: entered.name.clone(),
                entered: event.timestamp,
                exited: None,
                status: Status::Running,
            });
            let state = open.entry(index).or_default();
            state.runs.push(row);
            state.failed = false;
            state.retried = false;
            let current = status.entry(index).or_insert(Status::Running);
            *current = (*current).max(Status::Running);
            continue;
        }
        // The state this event belongs to: its cause's, found by walking back.
        let mut cause = event.previous_event_id;
        let mut belongs = None;
        for _ in 0..MAX_CHAIN {
            if let Some(&index) = owner.get(&cause) {
                belongs = Some(index);
                break;
            }
            match previous.get(&cause) {
                Some(&earlier) if earlier < cause => cause = earlier,
                _ => break,
            }
        }
        let exited = event
            .state_exited_event_details
            .as_ref()
            .and_then(|e| names.iter().position(|n| *n == e.name));
        let Some(index) = exited.or(belongs) else {
            continue;
        };
        owner.insert(event.id, index);
        let state = open.entry(index).or_default();
        if exited.is_some() {
            let outcome = if state.failed {
                Status::Caught
            } else if state.retried {
                Status::Retried
            } else {
                Status::Succeeded
            };
            if !state.runs.is_empty() {
                let row = state.runs.remove(0);
                progress.runs[row].exited = Some(event.timestamp);
                progress.runs[row].status = outcome;
            }
            let worst = status
                .get(&index)
                .map(|s| {
                    if state.runs.is_empty() && *s == Status::Running {
                        outcome
                    } else {
                        (*s).max(outcome)
                    }
                })
                .unwrap_or(outcome);
            status.insert(index, worst);
            state.failed = false;
            state.retried = false;
        } else if is_failure(&event.kind) {
            state.failed = true;
        } else if is_call(&event.kind) && state.failed {
            state.failed = false;
            state.retried = true;
        }
    }

    // Runs still open when the execution ended failed with it, or were cut short.
    let cut = match execution {
        "RUNNING" | "SUCCEEDED" => None,
        "ABORTED" | "TIMED_OUT" => Some(Status::Aborted),
        _ => Some(Status::Failed),
    };
    for (index, state) in &open {
        if state.runs.is_empty() {
            continue;
        }
        let now = match cut {
            Some(cut) => {
                for &row in &state.runs {
                    progress.runs[row].status = if state.failed { Status::Failed } else { cut };
                }
                if state.failed { Status::Failed } else { cut }
            }
            None => Status::Running,
        };
        let entry = status.entry(*index).or_insert(now);
        *entry = (*entry).max(now);
    }
    progress.status = status
        .into_iter()
        .filter_map(|(index, status)| names.get(index).map(|name| (name.clone(), status)))
        .collect();
    progress
}

/// The value of an event's details with input or output, for the event table.
pub fn details(event: &Value) -> Option<(&str, &Value)> {
    event
        .as_object()?
        .iter()
        .find(|(key, value)| key.ends_with("EventDetails") && value.is_object())
        .map(|(key, value)| (key.as_str(), value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: i64, previous: i64, kind: &str, extra: &str) -> String {
        format!(
            r#"{{"id":{id},"previousEventId":{previous},"type":"{kind}","timestamp":{id}{extra}}}"#
        )
    }

    fn entered(id: i64, previous: i64, name: &str) -> String {
        event(
            id,
            previous,
            "TaskStateEntered",
            &format!(r#","stateEnteredEventDetails":{{"name":"{name}"}}"#),
        )
    }

    fn exited(id: i64, previous: i64, name: &str) -> String {
        event(
            id,
            previous,
            "TaskStateExited",
            &format!(r#","stateExitedEventDetails":{{"name":"{name}"}}"#),
        )
    }

    #[test]
    fn a_retried_then_caught_task_and_a_failed_one() {
        let events = [
            event(1, 0, "ExecutionStarted", ""),
            entered(2, 1, "Work"),
            event(3, 2, "TaskScheduled", ""),
            event(4, 3, "TaskFailed", ""),
            // The retrier runs it again; it fails again and a catcher goes on.
            event(5, 4, "TaskScheduled", ""),
            event(6, 5, "TaskFailed", ""),
            exited(7, 6, "Work"),
            entered(8, 7, "Fix"),
            event(9, 8, "TaskScheduled", ""),
            event(10, 9, "TaskFailed", ""),
            event(11, 10, "ExecutionFailed", ""),
        ];
        let progress = read(events.iter().map(String::as_str), "FAILED");
        assert_eq!(progress.status["Work"], Status::Caught);
        assert_eq!(progress.status["Fix"], Status::Failed);
        assert_eq!(progress.runs.len(), 2);
        assert_eq!(progress.runs[0].exited, Some(7.0));
    }

    #[test]
    fn retried_successes_and_running_states() {
        let events = [
            event(1, 0, "ExecutionStarted", ""),
            entered(2, 1, "A"),
            event(3, 2, "LambdaFunctionScheduled", ""),
            event(4, 3, "LambdaFunctionFailed", ""),
            event(5, 4, "LambdaFunctionScheduled", ""),
            event(6, 5, "LambdaFunctionSucceeded", ""),
            exited(7, 6, "A"),
            entered(8, 7, "B"),
            event(9, 8, "ActivityScheduled", ""),
        ];
        let progress = read(events.iter().map(String::as_str), "RUNNING");
        assert_eq!(progress.status["A"], Status::Retried);
        assert_eq!(progress.status["B"], Status::Running);
        let stopped = read(events.iter().map(String::as_str), "ABORTED");
        assert_eq!(stopped.status["B"], Status::Aborted);
    }
}
