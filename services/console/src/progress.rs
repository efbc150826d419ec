//! What happened to each state of an execution, read from its history: the colours of the
//! graph and the rows of the timeline.
//!
//! Each event names its cause (`previousEventId`); following those links back to a
//! `StateEntered` event tells which state a failure or a retried call belongs to, even when
//! Parallel branches and Map iterations interleave their events.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Deserialize;
use serde_json::Value;
use switchback_asl::model::{State, StateKind, StateMachine};

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
    #[serde(default)]
    map_iteration_started_event_details: Option<Iteration>,
}

#[derive(Deserialize)]
struct Named {
    name: String,
}

#[derive(Deserialize)]
struct Iteration {
    name: String,
    index: u64,
}

/// One Map iteration to show alone: the states inside the Map state show what happened in
/// that iteration only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OneIteration {
    pub map: String,
    pub index: u64,
    /// The states of the Map's processor, at any depth.
    inside: HashSet<String>,
}

impl OneIteration {
    /// The iteration `index` of the Map state `map` of `definition`; `None` when there is no
    /// such Map state.
    pub fn new(definition: &StateMachine, map: &str, index: u64) -> Option<Self> {
        let mut found = None;
        walk(&definition.states, &mut |name, state| {
            if name == map
                && let StateKind::Map(map_state) = &state.kind
                && let Some((_, processor)) = map_state.processor()
            {
                let mut inside = HashSet::new();
                walk(&processor.states, &mut |name, _| {
                    inside.insert(name.to_owned());
                });
                found = Some(inside);
            }
        });
        found.map(|inside| OneIteration {
            map: map.to_owned(),
            index,
            inside,
        })
    }
}

/// The names of the definition's Map states, at any depth.
pub fn map_states(definition: &StateMachine) -> Vec<String> {
    let mut maps = Vec::new();
    walk(&definition.states, &mut |name, state| {
        if matches!(state.kind, StateKind::Map(_)) {
            maps.push(name.to_owned());
        }
    });
    maps
}

/// Every state of a scope and of the scopes inside it.
fn walk(states: &BTreeMap<String, State>, visit: &mut dyn FnMut(&str, &State)) {
    for (name, state) in states {
        visit(name, state);
        match &state.kind {
            StateKind::Map(map) => {
                if let Some((_, processor)) = map.processor() {
                    walk(&processor.states, visit);
                }
            }
            StateKind::Parallel(parallel) => {
                for branch in &parallel.branches {
                    walk(&branch.states, visit);
                }
            }
            _ => {}
        }
    }
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

/// Per state: its runs still open (rows of the timeline), and whether a failure (and then a
/// retry) happened since it was entered.
#[derive(Default)]
struct Open {
    runs: Vec<usize>,
    failed: bool,
    retried: bool,
}

/// Reads the events (JSON text, in id order) of one execution whose status is `execution`;
/// with `only`, the states inside that Map show that iteration alone.
pub fn read<'e>(
    events: impl IntoIterator<Item = &'e str>,
    execution: &str,
    only: Option<&OneIteration>,
) -> Progress {
    let mut runs: Vec<Run> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    // For each event: its cause, the state it belongs to, and (with `only`) the iteration of
    // `only`'s Map it runs in. An iteration's events descend from its `MapIterationStarted`;
    // the next iteration may descend from the last one's events, so an iteration start
    // replaces the one it inherits.
    let mut previous: HashMap<i64, i64> = HashMap::new();
    let mut owner: HashMap<i64, usize> = HashMap::new();
    let mut iteration: HashMap<i64, u64> = HashMap::new();
    let mut open: HashMap<usize, Open> = HashMap::new();
    let mut status: HashMap<usize, Status> = HashMap::new();
    let index_of = |names: &mut Vec<String>, name: &str| {
        names.iter().position(|n| n == name).unwrap_or_else(|| {
            names.push(name.to_owned());
            names.len() - 1
        })
    };

    for text in events {
        let Ok(event) = serde_json::from_str::<Event>(text) else {
            continue;
        };
        previous.insert(event.id, event.previous_event_id);
        if let Some(only) = only {
            let inherited = iteration.get(&event.previous_event_id).copied();
            let own = match &event.map_iteration_started_event_details {
                Some(started) if started.name == only.map => Some(started.index),
                _ => inherited,
            };
            if let Some(own) = own {
                iteration.insert(event.id, own);
            }
        }

        // The state this event belongs to: the one it enters or exits, or its cause's.
        let entered = event.state_entered_event_details.as_ref();
        let exited = event.state_exited_event_details.as_ref();
        let state = match (entered, exited) {
            (Some(entered), _) => Some(index_of(&mut names, &entered.name)),
            (None, Some(exited)) => names.iter().position(|n| *n == exited.name),
            (None, None) => {
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
                belongs
            }
        };
        let Some(state) = state else {
            continue;
        };
        owner.insert(event.id, state);
        if let Some(only) = only
            && only.inside.contains(&names[state])
            && iteration.get(&event.id) != Some(&only.index)
        {
            continue;
        }

        let current = open.entry(state).or_default();
        if entered.is_some() {
            current.runs.push(runs.len());
            current.failed = false;
            current.retried = false;
            runs.push(Run {
                name: names[state].clone(),
                entered: event.timestamp,
                exited: None,
                status: Status::Running,
            });
            let shown = status.entry(state).or_insert(Status::Running);
            *shown = (*shown).max(Status::Running);
        } else if exited.is_some() {
            let outcome = if current.failed {
                Status::Caught
            } else if current.retried {
                Status::Retried
            } else {
                Status::Succeeded
            };
            if !current.runs.is_empty() {
                let row = current.runs.remove(0);
                runs[row].exited = Some(event.timestamp);
                runs[row].status = outcome;
            }
            // Running only because this run was open: the outcome replaces it.
            let shown = match status.get(&state) {
                Some(Status::Running) if current.runs.is_empty() => outcome,
                Some(shown) => (*shown).max(outcome),
                None => outcome,
            };
            status.insert(state, shown);
            current.failed = false;
            current.retried = false;
        } else if is_failure(&event.kind) {
            current.failed = true;
        } else if is_call(&event.kind) && current.failed {
            current.failed = false;
            current.retried = true;
        }
    }

    // Runs still open when the execution ended failed with it, or were cut short.
    let cut = match execution {
        "RUNNING" | "SUCCEEDED" => None,
        "ABORTED" | "TIMED_OUT" => Some(Status::Aborted),
        _ => Some(Status::Failed),
    };
    for (state, current) in &open {
        if current.runs.is_empty() {
            continue;
        }
        let now = match cut {
            Some(_) if current.failed => Status::Failed,
            Some(cut) => cut,
            None => Status::Running,
        };
        for &row in &current.runs {
            runs[row].status = now;
        }
        let shown = status.entry(*state).or_insert(now);
        *shown = (*shown).max(now);
    }
    Progress {
        status: status
            .into_iter()
            .filter_map(|(state, status)| names.get(state).map(|name| (name.clone(), status)))
            .collect(),
        runs,
    }
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
        let progress = read(events.iter().map(String::as_str), "FAILED", None);
        assert_eq!(progress.status["Work"], Status::Caught);
        assert_eq!(progress.status["Fix"], Status::Failed);
        assert_eq!(progress.runs.len(), 2);
        assert_eq!(progress.runs[0].exited, Some(7.0));
    }

    #[test]
    fn one_map_iteration_shows_alone() {
        let iteration = |id: i64, previous: i64, index: u64| {
            event(
                id,
                previous,
                "MapIterationStarted",
                &format!(r#","mapIterationStartedEventDetails":{{"name":"Each","index":{index}}}"#),
            )
        };
        let events = [
            event(1, 0, "ExecutionStarted", ""),
            event(
                2,
                1,
                "MapStateEntered",
                r#","stateEnteredEventDetails":{"name":"Each"}"#,
            ),
            event(3, 2, "MapStateStarted", ""),
            iteration(4, 3, 0),
            // The next iteration's start may descend from the last one's events.
            iteration(5, 4, 1),
            entered(6, 4, "Item"),
            entered(7, 5, "Item"),
            exited(8, 6, "Item"),
            event(9, 8, "MapIterationSucceeded", ""),
            event(10, 7, "TaskFailed", ""),
            event(11, 10, "MapIterationFailed", ""),
            event(12, 11, "MapStateFailed", ""),
            event(13, 12, "ExecutionFailed", ""),
        ];
        let all = read(events.iter().map(String::as_str), "FAILED", None);
        assert_eq!(all.status["Item"], Status::Failed);
        let definition: StateMachine = serde_json::from_str(
            r#"{"StartAt": "Each", "States": {"Each": {"Type": "Map", "End": true,
                "ItemProcessor": {"StartAt": "Item", "States": {"Item": {"Type": "Pass", "End": true}}}}}}"#,
        )
        .expect("definition");
        assert_eq!(map_states(&definition), ["Each"]);
        assert!(OneIteration::new(&definition, "Item", 0).is_none());
        let first = OneIteration::new(&definition, "Each", 0).expect("a map");
        let only = read(events.iter().map(String::as_str), "FAILED", Some(&first));
        assert_eq!(only.status["Item"], Status::Succeeded);
        assert_eq!(only.status["Each"], Status::Failed);
        let second = OneIteration::new(&definition, "Each", 1).expect("a map");
        let only = read(events.iter().map(String::as_str), "FAILED", Some(&second));
        assert_eq!(only.status["Item"], Status::Failed);
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
        let progress = read(events.iter().map(String::as_str), "RUNNING", None);
        assert_eq!(progress.status["A"], Status::Retried);
        assert_eq!(progress.status["B"], Status::Running);
        let stopped = read(events.iter().map(String::as_str), "ABORTED", None);
        assert_eq!(stopped.status["B"], Status::Aborted);
    }
}
