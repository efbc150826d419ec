//! What happened to each state of an execution, read from its history: the colours of the
//! graph and the rows of the timeline.
//!
//! Each event names its cause (`previousEventId`); following those links back tells which run
//! of which state an event belongs to, even when Parallel branches and Map iterations
//! interleave their events.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::Value;
use switchback_asl::model::{State, StateKind, StateMachine};
use switchback_store::console::EventOutline;

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

/// A run as it is read: what the colours need besides the timeline's row.
struct Tracked {
    row: Run,
    /// The state's type as its events name it (`Task`, `Map`, `Parallel`, ...).
    kind: String,
    /// The Parallel or Map run this one runs inside.
    parent: Option<usize>,
    open: bool,
    /// A failure since it was entered (or last retried).
    failed: bool,
    retried: bool,
    /// Cut short by the execution's end; a later redrive runs the state again.
    cut: bool,
    /// Ended before a redrive that runs it again: its colour gives way to the new run's.
    superseded: bool,
    /// Of another Map iteration than the one shown.
    hidden: bool,
    /// A Map or Parallel run that has started its branches or iterations (a second start is
    /// its retrier running it again).
    started: bool,
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

/// How long a chain of causes is followed back to its run (every cause comes before its
/// effect, so chains end; this bounds the work for a long history).
const MAX_CHAIN: usize = 64;

/// A failure of the state's own work, which a retrier or a catcher may answer.
fn is_failure(kind: &str) -> bool {
    (kind.ends_with("Failed") || kind.ends_with("TimedOut"))
        && !kind.starts_with("Execution")
        && !kind.starts_with("MapRun")
        && !kind.starts_with("MapIteration")
}

/// The state's work starting (again, after a failure: a retry).
fn is_call(kind: &str) -> bool {
    (kind.ends_with("Scheduled") || kind.ends_with("Started"))
        && !kind.starts_with("Execution")
        && !kind.starts_with("MapIteration")
}

/// Whether run `inner` runs inside run `outer` (at any depth).
fn inside(runs: &[Tracked], inner: usize, outer: usize) -> bool {
    let mut up = runs[inner].parent;
    while let Some(parent) = up {
        if parent == outer {
            return true;
        }
        up = runs[parent].parent;
    }
    false
}

/// Ends what still runs inside `outer` (a Map or Parallel that failed, or that its retrier
/// starts again): failed if it failed, stopped otherwise.
fn end_inside(runs: &mut [Tracked], outer: usize) {
    for inner in 0..runs.len() {
        if runs[inner].open && inside(runs, inner, outer) {
            runs[inner].open = false;
            runs[inner].row.status = if runs[inner].failed {
                Status::Failed
            } else {
                Status::Aborted
            };
        }
    }
}

/// The nearest run from `run` outwards that `accept` takes.
fn outwards(
    runs: &[Tracked],
    mut run: Option<usize>,
    accept: impl Fn(&Tracked) -> bool,
) -> Option<usize> {
    while let Some(r) = run {
        if accept(&runs[r]) {
            return Some(r);
        }
        run = runs[r].parent;
    }
    None
}

/// Reads an execution's events (in id order) whose status is now `execution`; with `only`,
/// the states inside that Map show that iteration alone.
///
/// Every event is attributed to a run of a state by following its cause: a `…StateEntered`
/// event starts a run inside the run its cause belongs to (or beside it, when that one has
/// ended); an exit ends the run of that state it descends from; a `MapState…` or
/// `ParallelState…` event belongs to the Map or Parallel run around its cause; anything else to
/// the nearest run still open. So interleaved Map iterations and Parallel branches keep their
/// own runs.
pub fn read(
    events: &[EventOutline],
    execution: &str,
    definition: Option<&StateMachine>,
    only: Option<&OneIteration>,
) -> Progress {
    // The Parallel or Map state each state runs inside, from the definition: a redriven
    // execution resumes branches and iterations from the redrive, not from their Map or
    // Parallel's own events.
    let mut enclosing: HashMap<String, String> = HashMap::new();
    if let Some(definition) = definition {
        walk(&definition.states, &mut |name, state| {
            let inner: Vec<&BTreeMap<String, State>> = match &state.kind {
                StateKind::Map(map) => map
                    .processor()
                    .map(|(_, p)| &p.states)
                    .into_iter()
                    .collect(),
                StateKind::Parallel(parallel) => {
                    parallel.branches.iter().map(|b| &b.states).collect()
                }
                _ => Vec::new(),
            };
            for states in inner {
                for child in states.keys() {
                    enclosing.insert(child.clone(), name.to_owned());
                }
            }
        });
    }
    let mut runs: Vec<Tracked> = Vec::new();
    let mut owner: HashMap<i64, usize> = HashMap::new();
    let mut previous: HashMap<i64, i64> = HashMap::new();
    // With `only`: the iteration of its Map each event runs in. An iteration's events descend
    // from its `MapIterationStarted`; the next iteration may descend from the last one's
    // events, so an iteration's start replaces the one it inherits.
    let mut iteration: HashMap<i64, i64> = HashMap::new();
    let shown_index = only.and_then(|only| i64::try_from(only.index).ok());

    for event in events {
        previous.insert(event.id, event.previous);
        // The execution's own events belong to no iteration: what a redrive resumes is found
        // by the definition.
        if let Some(only) = only.filter(|_| !event.kind.starts_with("Execution")) {
            let own = match (&event.iteration_of, event.iteration) {
                (Some(map), Some(index)) if *map == only.map => Some(index),
                _ => iteration.get(&event.previous).copied(),
            };
            if let Some(own) = own {
                iteration.insert(event.id, own);
            }
        }
        // The run of the event's cause.
        let mut cause = event.previous;
        let mut caused_by = None;
        for _ in 0..MAX_CHAIN {
            if let Some(&run) = owner.get(&cause) {
                caused_by = Some(run);
                break;
            }
            match previous.get(&cause) {
                Some(&earlier) if earlier < cause => cause = earlier,
                _ => break,
            }
        }

        if let Some(name) = &event.entered {
            let mut parent = outwards(&runs, caused_by, |run| run.open);
            if definition.is_some() {
                let around = enclosing.get(name);
                if parent.is_none_or(|p| Some(&runs[p].row.name) != around) {
                    parent = around.and_then(|around| {
                        runs.iter()
                            .rposition(|run| run.open && run.row.name == *around)
                    });
                }
            }
            let kind = event.kind.strip_suffix("StateEntered").unwrap_or_default();
            let hidden = only.is_some_and(|only| {
                only.inside.contains(name) && iteration.get(&event.id).copied() != shown_index
            });
            // A Fail state ends as it is entered.
            let fails = kind == "Fail";
            runs.push(Tracked {
                row: Run {
                    name: name.clone(),
                    entered: event.at,
                    exited: fails.then_some(event.at),
                    status: if fails {
                        Status::Failed
                    } else {
                        Status::Running
                    },
                },
                kind: kind.to_owned(),
                parent,
                open: !fails,
                failed: false,
                retried: false,
                cut: false,
                superseded: false,
                hidden,
                started: false,
            });
            owner.insert(event.id, runs.len() - 1);
            continue;
        }

        match event.kind.as_str() {
            "ExecutionFailed" | "ExecutionAborted" | "ExecutionTimedOut" => {
                let cut = if event.kind == "ExecutionFailed" {
                    Status::Failed
                } else {
                    Status::Aborted
                };
                for run in runs.iter_mut().filter(|r| r.open) {
                    run.open = false;
                    run.cut = true;
                    run.row.status = if run.failed { Status::Failed } else { cut };
                }
                continue;
            }
            "ExecutionRedriven" => {
                // A Map or Parallel cut short runs on (its unfinished branches or iterations
                // run again); any other state cut short runs again from its start, and so do
                // the failed and stopped runs inside a Map or Parallel that runs on.
                let mut resumed = Vec::new();
                for (index, run) in runs.iter_mut().enumerate().filter(|(_, r)| r.cut) {
                    run.cut = false;
                    if run.kind == "Map" || run.kind == "Parallel" {
                        run.open = true;
                        run.failed = false;
                        run.row.exited = None;
                        run.row.status = Status::Running;
                        resumed.push(index);
                    } else {
                        run.superseded = true;
                    }
                }
                for inner in 0..runs.len() {
                    let ended_badly =
                        matches!(runs[inner].row.status, Status::Failed | Status::Aborted);
                    if !runs[inner].open
                        && ended_badly
                        && resumed.iter().any(|&outer| inside(&runs, inner, outer))
                    {
                        runs[inner].superseded = true;
                    }
                }
                continue;
            }
            _ => {}
        }

        let compound = ["Map", "Parallel"].into_iter().find(|kind| {
            event.kind.starts_with(kind) && event.kind[kind.len()..].starts_with("State")
        });
        let run = match (&event.exited, compound) {
            (Some(name), _) => outwards(&runs, caused_by, |run| run.open && run.row.name == *name),
            (None, Some(kind)) => outwards(&runs, caused_by, |run| run.open && run.kind == kind),
            (None, None) => outwards(&runs, caused_by, |run| run.open),
        };
        let Some(run) = run else {
            continue;
        };
        owner.insert(event.id, run);

        if event.exited.is_some() {
            let tracked = &mut runs[run];
            tracked.open = false;
            tracked.row.exited = Some(event.at);
            tracked.row.status = if tracked.failed {
                Status::Caught
            } else if tracked.retried {
                Status::Retried
            } else {
                Status::Succeeded
            };
        } else if is_failure(&event.kind) {
            runs[run].failed = true;
            // A Map or Parallel that failed ends what still runs inside it.
            if compound.is_some() {
                end_inside(&mut runs, run);
            }
        } else if compound.is_some() && event.kind.ends_with("StateStarted") {
            // A second start of a Map or Parallel is its retrier running it again: what ran
            // inside the first attempt has ended.
            if runs[run].started {
                runs[run].retried = true;
                runs[run].failed = false;
                end_inside(&mut runs, run);
            }
            runs[run].started = true;
        } else if is_call(&event.kind) && runs[run].failed {
            runs[run].failed = false;
            runs[run].retried = true;
        }
    }

    // A run still open runs as the execution does; a state's colour is the worst of its runs
    // that count.
    let still = match execution {
        "RUNNING" | "PENDING_REDRIVE" => Status::Running,
        "ABORTED" | "TIMED_OUT" => Status::Aborted,
        "SUCCEEDED" => Status::Succeeded,
        _ => Status::Failed,
    };
    let mut status: HashMap<String, Status> = HashMap::new();
    for run in &mut runs {
        if run.open {
            run.row.status = still;
        }
        if run.hidden || run.superseded {
            continue;
        }
        let shown = status.entry(run.row.name.clone()).or_insert(run.row.status);
        *shown = (*shown).max(run.row.status);
    }
    Progress {
        status,
        runs: runs
            .into_iter()
            .filter(|run| !run.hidden)
            .map(|run| run.row)
            .collect(),
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

    fn event(id: i64, previous: i64, kind: &str) -> EventOutline {
        EventOutline {
            id,
            previous,
            kind: kind.to_owned(),
            at: id as f64,
            entered: None,
            exited: None,
            iteration_of: None,
            iteration: None,
        }
    }

    fn entered(id: i64, previous: i64, kind: &str, name: &str) -> EventOutline {
        EventOutline {
            entered: Some(name.to_owned()),
            ..event(id, previous, &format!("{kind}StateEntered"))
        }
    }

    fn exited(id: i64, previous: i64, kind: &str, name: &str) -> EventOutline {
        EventOutline {
            exited: Some(name.to_owned()),
            ..event(id, previous, &format!("{kind}StateExited"))
        }
    }

    fn iteration(id: i64, previous: i64, index: i64) -> EventOutline {
        EventOutline {
            iteration_of: Some("Each".to_owned()),
            iteration: Some(index),
            ..event(id, previous, "MapIterationStarted")
        }
    }

    #[test]
    fn a_retried_then_caught_task_and_a_failed_one() {
        let events = [
            event(1, 0, "ExecutionStarted"),
            entered(2, 1, "Task", "Work"),
            event(3, 2, "TaskScheduled"),
            event(4, 3, "TaskFailed"),
            // The retrier runs it again; it fails again and a catcher goes on.
            event(5, 4, "TaskScheduled"),
            event(6, 5, "TaskFailed"),
            exited(7, 6, "Task", "Work"),
            entered(8, 7, "Task", "Fix"),
            event(9, 8, "TaskScheduled"),
            event(10, 9, "TaskFailed"),
            event(11, 10, "ExecutionFailed"),
        ];
        let progress = read(&events, "FAILED", None, None);
        assert_eq!(progress.status["Work"], Status::Caught);
        assert_eq!(progress.status["Fix"], Status::Failed);
        assert_eq!(progress.runs.len(), 2);
        assert_eq!(progress.runs[0].exited, Some(7.0));
    }

    #[test]
    fn retried_successes_and_running_states() {
        let events = [
            event(1, 0, "ExecutionStarted"),
            entered(2, 1, "Task", "A"),
            event(3, 2, "LambdaFunctionScheduled"),
            event(4, 3, "LambdaFunctionFailed"),
            event(5, 4, "LambdaFunctionScheduled"),
            event(6, 5, "LambdaFunctionSucceeded"),
            exited(7, 6, "Task", "A"),
            entered(8, 7, "Task", "B"),
            event(9, 8, "ActivityScheduled"),
        ];
        let progress = read(&events, "RUNNING", None, None);
        assert_eq!(progress.status["A"], Status::Retried);
        assert_eq!(progress.status["B"], Status::Running);
        let mut stopped = events.to_vec();
        stopped.push(event(10, 0, "ExecutionAborted"));
        assert_eq!(
            read(&stopped, "ABORTED", None, None).status["B"],
            Status::Aborted
        );
    }

    #[test]
    fn a_caught_map_is_caught_and_interleaved_iterations_keep_their_own_runs() {
        let events = [
            event(1, 0, "ExecutionStarted"),
            entered(2, 1, "Map", "Each"),
            event(3, 2, "MapStateStarted"),
            iteration(4, 3, 0),
            iteration(5, 3, 1),
            entered(6, 4, "Task", "Item"),
            entered(7, 5, "Task", "Item"),
            event(8, 6, "TaskScheduled"),
            event(9, 7, "TaskScheduled"),
            // Iteration 1 fails while iteration 0 succeeds: each keeps its outcome.
            event(10, 9, "TaskFailed"),
            event(11, 8, "TaskSucceeded"),
            exited(12, 11, "Task", "Item"),
            event(13, 12, "MapIterationSucceeded"),
            event(14, 10, "MapIterationFailed"),
            event(15, 10, "MapStateFailed"),
            exited(16, 15, "Map", "Each"),
            entered(17, 16, "Pass", "Recover"),
            exited(18, 17, "Pass", "Recover"),
            event(19, 18, "ExecutionSucceeded"),
        ];
        let progress = read(&events, "SUCCEEDED", None, None);
        assert_eq!(progress.status["Each"], Status::Caught);
        assert_eq!(progress.status["Item"], Status::Failed);
        assert_eq!(progress.status["Recover"], Status::Succeeded);
        let items: Vec<Status> = progress
            .runs
            .iter()
            .filter(|r| r.name == "Item")
            .map(|r| r.status)
            .collect();
        assert_eq!(items, [Status::Succeeded, Status::Failed]);
    }

    #[test]
    fn a_redriven_execution_shows_the_new_runs() {
        let events = [
            event(1, 0, "ExecutionStarted"),
            entered(2, 1, "Task", "Flaky"),
            event(3, 2, "TaskScheduled"),
            event(4, 3, "TaskFailed"),
            event(5, 4, "ExecutionFailed"),
            event(6, 5, "ExecutionRedriven"),
            entered(7, 6, "Task", "Flaky"),
            event(8, 7, "TaskScheduled"),
            event(9, 8, "TaskSucceeded"),
            exited(10, 9, "Task", "Flaky"),
            event(11, 10, "ExecutionSucceeded"),
        ];
        let progress = read(&events, "SUCCEEDED", None, None);
        assert_eq!(progress.status["Flaky"], Status::Succeeded);
        let runs: Vec<Status> = progress.runs.iter().map(|r| r.status).collect();
        assert_eq!(runs, [Status::Failed, Status::Succeeded]);
    }

    #[test]
    fn a_retried_map_and_a_redriven_one() {
        let definition: StateMachine = serde_json::from_str(
            r#"{"StartAt": "Each", "States": {"Each": {"Type": "Map", "End": true,
                "ItemProcessor": {"StartAt": "Item", "States": {"Item": {"Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke", "End": true}}}}}}"#,
        )
        .expect("definition");
        // The Map's retrier runs it again after its item failed; then the execution fails,
        // is redriven, and the Map resumes with the item alone.
        let events = [
            event(1, 0, "ExecutionStarted"),
            entered(2, 1, "Map", "Each"),
            event(3, 2, "MapStateStarted"),
            iteration(4, 3, 0),
            entered(5, 4, "Task", "Item"),
            event(6, 5, "TaskScheduled"),
            event(7, 6, "TaskFailed"),
            event(8, 7, "MapIterationFailed"),
            event(9, 8, "MapStateStarted"),
            iteration(10, 9, 0),
            entered(11, 10, "Task", "Item"),
            event(12, 11, "TaskScheduled"),
            event(13, 12, "TaskFailed"),
            event(14, 13, "MapIterationFailed"),
            event(15, 14, "MapStateFailed"),
            event(16, 15, "ExecutionFailed"),
            event(17, 16, "ExecutionRedriven"),
            entered(18, 17, "Task", "Item"),
            event(19, 18, "TaskScheduled"),
            event(20, 19, "TaskSucceeded"),
            exited(21, 20, "Task", "Item"),
            event(22, 21, "MapIterationSucceeded"),
            event(23, 22, "MapStateSucceeded"),
            exited(24, 23, "Map", "Each"),
            event(25, 24, "ExecutionSucceeded"),
        ];
        let before: Vec<EventOutline> = events[..16].to_vec();
        let failed = read(&before, "FAILED", Some(&definition), None);
        assert_eq!(failed.status["Each"], Status::Failed);
        assert_eq!(failed.status["Item"], Status::Failed);
        let runs: Vec<Status> = failed.runs.iter().map(|r| r.status).collect();
        assert_eq!(runs, [Status::Failed, Status::Failed, Status::Failed]);

        let after = read(&events, "SUCCEEDED", Some(&definition), None);
        assert_eq!(after.status["Each"], Status::Retried);
        assert_eq!(after.status["Item"], Status::Succeeded);
    }

    #[test]
    fn one_map_iteration_shows_alone() {
        let events = [
            event(1, 0, "ExecutionStarted"),
            entered(2, 1, "Map", "Each"),
            event(3, 2, "MapStateStarted"),
            iteration(4, 3, 0),
            entered(5, 4, "Pass", "Item"),
            exited(6, 5, "Pass", "Item"),
            event(7, 6, "MapIterationSucceeded"),
            // The next iteration's start may descend from the last one's events.
            iteration(8, 6, 1),
            entered(9, 8, "Fail", "Item"),
            event(10, 9, "MapIterationFailed"),
            event(11, 9, "MapStateFailed"),
            event(12, 11, "ExecutionFailed"),
        ];
        let all = read(&events, "FAILED", None, None);
        assert_eq!(all.status["Item"], Status::Failed);
        assert_eq!(all.status["Each"], Status::Failed);
        let definition: StateMachine = serde_json::from_str(
            r#"{"StartAt": "Each", "States": {"Each": {"Type": "Map", "End": true,
                "ItemProcessor": {"StartAt": "Item", "States": {"Item": {"Type": "Pass", "End": true}}}}}}"#,
        )
        .expect("definition");
        assert_eq!(map_states(&definition), ["Each"]);
        assert!(OneIteration::new(&definition, "Item", 0).is_none());
        let first = OneIteration::new(&definition, "Each", 0).expect("a map");
        let only = read(&events, "FAILED", None, Some(&first));
        assert_eq!(only.status["Item"], Status::Succeeded);
        assert_eq!(only.status["Each"], Status::Failed);
        assert_eq!(only.runs.iter().filter(|r| r.name == "Item").count(), 1);
        let second = OneIteration::new(&definition, "Each", 1).expect("a map");
        assert_eq!(
            read(&events, "FAILED", None, Some(&second)).status["Item"],
            Status::Failed
        );
    }
}
