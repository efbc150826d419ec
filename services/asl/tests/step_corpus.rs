//! Runs the AWS-recorded execution scenarios that need nothing outside the language (no Task
//! states) through the step function, and compares each outcome (status, output or error and
//! cause) with AWS's. Reads `../shared/conformance/corpus` beside the project; without it the
//! test is ignored (see `build.rs`). Prints pass counts per category.

use std::collections::BTreeMap;

use serde_json::Value;
use switchback_asl::interpreter::{
    self, Effect, Event, ExecutionInfo, Machine, MapRunOutcome, MapRunSpec, Status, Transition,
};
use switchback_asl::map_run;

const CATEGORIES: [&str; 8] = [
    "base",
    "choice",
    "choice_operators",
    "context_object",
    "intrinsic_functions",
    "wait",
    "parallel",
    "map",
];

mod support;

// Floors: the counts when they were written. They may only go up; a count below one means the
// corpus shrank or a check regressed.
/// Task-free recorded executions run, every outcome matching AWS's.
const OUTCOMES_FLOOR: usize = 546;
/// Of those, the ones whose whole history matches AWS's. The 8 DISTRIBUTED maps recorded from
/// February to June 2024 do not: AWS chained `MapStateExited` to `MapRunSucceeded` then, and
/// has chained it to `MapRunStarted` since November 2024, as Switchback does
/// (docs/compatibility.md, "Where AWS changed").
const HISTORIES_FLOOR: usize = 538;

#[test]
#[cfg_attr(
    not(corpus),
    ignore = "no conformance corpus at ../shared/conformance/corpus beside the project"
)]
fn recorded_executions_match_aws() {
    let dir = support::corpus_dir();
    let mut counts: BTreeMap<&str, (usize, usize, usize)> = BTreeMap::new();
    let mut history_counts: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut history_failures = Vec::new();
    let mut failures = Vec::new();
    for category in CATEGORIES {
        let text =
            std::fs::read_to_string(dir.join(format!("{category}.json"))).expect("corpus file");
        let records: Vec<Value> = serde_json::from_str(&text).expect("corpus json");
        for record in records {
            if record["kind"] != "execution" {
                continue;
            }
            let entry = counts.entry(category).or_default();
            let definition_text = record["definition"].as_str().unwrap_or_default();
            let driven = record["worker"].as_array().is_some_and(|w| !w.is_empty());
            if driven || definition_text.contains("\"Task\"") || definition_text.contains("JSONata")
            {
                entry.2 += 1;
                continue;
            }
            let id = record["id"].as_str().unwrap_or_default().to_owned();
            match run_and_compare(&record) {
                Ok(history) => {
                    entry.0 += 1;
                    let history_entry = history_counts.entry(category).or_default();
                    match compare_history(&record, &history) {
                        Ok(()) => history_entry.0 += 1,
                        Err(why) => {
                            history_entry.1 += 1;
                            // DISTRIBUTED maps recorded after AWS changed how it chains
                            // `MapStateExited` (see docs/compatibility.md, Conformance).
                            let known = definition_text.contains("\"DISTRIBUTED\"");
                            history_failures.push((known, format!("{id}: {why}")));
                        }
                    }
                }
                Err(why) => {
                    entry.1 += 1;
                    failures.push(format!("{id}: {why}"));
                }
            }
        }
    }
    for failure in &failures {
        eprintln!("FAIL {failure}");
    }
    if std::env::var_os("HISTORY_DIFFS").is_some() {
        for (_, failure) in &history_failures {
            eprintln!("HISTORY {failure}");
        }
    }
    for (category, (pass, fail)) in &history_counts {
        eprintln!("history level: {category:20} {pass:4} passed {fail:4} failed");
    }
    for (category, (pass, fail, skipped)) in &counts {
        eprintln!(
            "{category:20} {pass:4} passed {fail:4} failed {skipped:4} skipped (Task, JSONata or API-driven)"
        );
    }
    let (pass, fail) = counts.values().fold((0, 0), |(p, f), c| (p + c.0, f + c.1));
    eprintln!("step function vs AWS recordings: {pass} passed, {fail} failed");
    // Every task-free recorded outcome matches today: any difference is a regression.
    assert_eq!(
        fail,
        0,
        "outcomes differ from AWS's:\n{}",
        failures.join("\n")
    );
    // History-level differences are known only for DISTRIBUTED maps (the newer chaining).
    let unexpected: Vec<&String> = history_failures
        .iter()
        .filter(|(known, _)| !known)
        .map(|(_, failure)| failure)
        .collect();
    assert!(
        unexpected.is_empty(),
        "histories differ from AWS's: {unexpected:#?}"
    );
    support::assert_at_least("recorded executions checked", pass + fail, OUTCOMES_FLOOR);
    support::assert_at_least("recorded outcomes matching AWS", pass, OUTCOMES_FLOOR);
    let histories: usize = history_counts.values().map(|(matched, _)| matched).sum();
    support::assert_at_least("histories matching AWS", histories, HISTORIES_FLOOR);
}

/// Our history against AWS's, event by event (types, ids, previous ids, details).
fn compare_history(record: &Value, ours: &[Value]) -> Result<(), String> {
    let Some(expected) = record["expected"]["history"].as_array() else {
        return Ok(());
    };
    let hints = &record["compare_hints"]["literal_placeholders"];
    if record["compare_hints"]["parallel_order_independent"] == true {
        // The recorder renumbered branch events and dropped some of the Parallel state's own
        // (their ids are missing): every recorded type must be ours, and we may have exactly
        // as many more events as ids are missing.
        let mut mine: Vec<&str> = ours.iter().filter_map(|e| e["type"].as_str()).collect();
        for kind in expected.iter().filter_map(|e| e["type"].as_str()) {
            match mine.iter().position(|m| *m == kind) {
                Some(i) => {
                    mine.swap_remove(i);
                }
                None => return Err(format!("no {kind} event of ours")),
            }
        }
        let ids: Vec<u64> = expected.iter().filter_map(|e| e["id"].as_u64()).collect();
        let last_id = ids
            .iter()
            .max()
            .map_or(0, |max| usize::try_from(*max).unwrap_or(0));
        let missing = last_id.saturating_sub(expected.len());
        return if mine.len() == missing {
            Ok(())
        } else {
            Err(format!(
                "extra events of ours: {mine:?}, ids missing from the recording: {missing}"
            ))
        };
    }
    if expected.len() != ours.len() {
        let types: Vec<&str> = ours.iter().filter_map(|e| e["type"].as_str()).collect();
        let theirs: Vec<&str> = expected.iter().filter_map(|e| e["type"].as_str()).collect();
        return Err(format!(
            "{} events, AWS {}: ours {types:?} AWS {theirs:?}",
            ours.len(),
            expected.len()
        ));
    }
    for (theirs, mine) in expected.iter().zip(ours) {
        if !matches(theirs, mine, hints) {
            return Err(format!("event {mine}, AWS {theirs}"));
        }
    }
    Ok(())
}

fn run_and_compare(record: &Value) -> Result<Vec<Value>, String> {
    let definition: Value = serde_json::from_str(record["definition"].as_str().unwrap_or_default())
        .map_err(|e| e.to_string())?;
    let input: Value = serde_json::from_str(record["input"].as_str().unwrap_or("{}"))
        .map_err(|e| e.to_string())?;
    let info = ExecutionInfo {
        execution_arn: "arn:<partition>:states:<region>:111111111111:execution:sm:exec".into(),
        name: "exec".into(),
        role_arn: "arn:<partition>:iam::111111111111:role/conformance".into(),
        state_machine_arn: "arn:<partition>:states:<region>:111111111111:stateMachine:sm".into(),
        state_machine_name: "sm".into(),
        start_time_ms: 1_700_000_000_000,
        token_secret: String::new(),
        ..Default::default()
    };
    let now = 1_700_000_000_000;
    let machine = Machine::new(definition);
    let (transition, history) = run_to_end(&machine, info, input, now)?;
    let expected = &record["expected"];
    let snapshot = &transition.snapshot;
    let status = snapshot.status.as_str();
    if expected["status"] != status {
        return Err(format!(
            "status {status} (error {:?} cause {:?}), AWS {}",
            snapshot.error, snapshot.cause, expected["status"]
        ));
    }
    let hints = &record["compare_hints"]["literal_placeholders"];
    match status {
        "SUCCEEDED" => {
            let ours = snapshot.output.clone().unwrap_or(Value::Null);
            if !matches(&expected["output"], &ours, hints) {
                return Err(format!("output {ours}, AWS {}", expected["output"]));
            }
        }
        "FAILED" => {
            for (field, ours) in [("error", &snapshot.error), ("cause", &snapshot.cause)] {
                let ours = Value::from(ours.clone().unwrap_or_default());
                let theirs = match &expected[field] {
                    Value::Null => Value::from(""),
                    other => other.clone(),
                };
                if !matches(&theirs, &ours, hints) {
                    return Err(format!("{field} {ours}, AWS {theirs}"));
                }
            }
        }
        _ => {}
    }
    Ok(history)
}

/// Runs an execution until it ends, its Distributed Map runs run here (each item as a child
/// execution, in order): the history of the execution and its last transition.
fn run_to_end(
    machine: &Machine,
    info: ExecutionInfo,
    input: Value,
    mut now: i64,
) -> Result<(Transition, Vec<Value>), String> {
    let mut transition = interpreter::start(machine, info.clone(), input, now, 42);
    let mut history: Vec<Value> = transition.history.iter().map(|e| e.to_wire(true)).collect();
    for round in 0..10_000u64 {
        if transition.snapshot.status != Status::Running {
            break;
        }
        let runs: Vec<MapRunSpec> = transition
            .effects
            .iter()
            .filter_map(|effect| match effect {
                Effect::StartMapRun(spec) => Some((**spec).clone()),
                _ => None,
            })
            .collect();
        if let Some(spec) = runs.into_iter().next() {
            let outcome = run_map_run(&spec, &info, now)?;
            let event = Event::MapRunEnded {
                task_id: spec.task_id,
                outcome,
            };
            transition = interpreter::step(machine, transition.snapshot, &event, now, round);
            history.extend(transition.history.iter().map(|e| e.to_wire(true)));
            continue;
        }
        let Some(due) = transition.snapshot.next_due_ms() else {
            return Err("the execution waits on nothing".into());
        };
        now = now.max(due);
        transition = interpreter::step(machine, transition.snapshot, &Event::Tick, now, round);
        history.extend(transition.history.iter().map(|e| e.to_wire(true)));
    }
    Ok((transition, history))
}

/// A Distributed Map's run, its children one after another, as the engine's run driver ends it.
fn run_map_run(
    spec: &MapRunSpec,
    parent: &ExecutionInfo,
    now: i64,
) -> Result<MapRunOutcome, String> {
    let machine = Machine::parse(&spec.definition);
    let mut results = Vec::new();
    let mut failures = 0u64;
    for (index, item) in spec.items.iter().enumerate() {
        let input = match spec.child_input(index, item.clone(), now, 7) {
            Ok(input) => input,
            Err(failure) => {
                return Ok(MapRunOutcome::Failed {
                    error: failure.error,
                    cause: failure.cause,
                });
            }
        };
        let info = ExecutionInfo {
            execution_arn: format!("{}-child-{index}", parent.execution_arn),
            ..parent.clone()
        };
        let (ended, _) = run_to_end(&machine, info, input, now)?;
        match ended.snapshot.status {
            Status::Succeeded => results.push(ended.snapshot.output.unwrap_or(Value::Null)),
            _ => {
                failures += 1;
                results.push(map_run::error_output(
                    ended.snapshot.error.as_deref().unwrap_or_default(),
                    ended.snapshot.cause.as_deref().unwrap_or_default(),
                ));
            }
        }
        let total = spec.items.len() as u64;
        if map_run::exceeds_tolerance(
            failures,
            total,
            spec.tolerated_count,
            spec.tolerated_percentage,
        ) {
            return Ok(MapRunOutcome::exceeded());
        }
    }
    Ok(MapRunOutcome::Succeeded {
        results: spec
            .gather_results
            .then(|| Value::Array(results).to_string()),
    })
}

/// The conformance runner's comparison: placeholders (`<...>`, the record's literal
/// placeholders, `date`) match anything; JSON text compares as JSON.
fn matches(expected: &Value, actual: &Value, hints: &Value) -> bool {
    match (expected, actual) {
        (Value::String(e), _) if is_wildcard(e, hints) => true,
        (Value::String(e), Value::String(a)) => {
            if e == a || glob(e, a) {
                return true;
            }
            match (
                serde_json::from_str::<Value>(e),
                serde_json::from_str::<Value>(a),
            ) {
                (Ok(ev), Ok(av)) if ev.is_object() || ev.is_array() => matches(&ev, &av, hints),
                _ => false,
            }
        }
        (Value::String(e), other) => {
            serde_json::from_str::<Value>(e).is_ok_and(|ev| matches(&ev, other, hints))
        }
        (Value::Object(_) | Value::Array(_), Value::String(a)) => {
            serde_json::from_str::<Value>(a).is_ok_and(|av| matches(expected, &av, hints))
        }
        (Value::Object(e), Value::Object(a)) => {
            e.len() == a.len()
                && e.iter()
                    .all(|(k, ev)| a.get(k).is_some_and(|av| matches(ev, av, hints)))
        }
        (Value::Array(e), Value::Array(a)) => {
            e.len() == a.len() && e.iter().zip(a).all(|(ev, av)| matches(ev, av, hints))
        }
        (Value::Number(e), Value::Number(a)) => e.as_f64() == a.as_f64(),
        (e, a) => e == a,
    }
}

fn is_wildcard(text: &str, hints: &Value) -> bool {
    if ["timestamp", "datetime", "date"].contains(&text) {
        return true;
    }
    if text.starts_with('<') && text.ends_with('>') && !text[1..].contains('<') {
        return true;
    }
    hints
        .as_array()
        .is_some_and(|h| h.iter().any(|p| p.as_str() == Some(text)))
}

/// `a<x>b` matches `a…b`: each `<token>` stands for any text.
fn glob(pattern: &str, text: &str) -> bool {
    let mut parts = Vec::new();
    let mut rest = pattern;
    while let Some(start) = rest.find('<') {
        let Some(end) = rest[start..].find('>') else {
            break;
        };
        parts.push(&rest[..start]);
        rest = &rest[start + end + 1..];
    }
    if parts.is_empty() {
        return false;
    }
    parts.push(rest);
    let mut position = 0;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            if !text.starts_with(part) {
                return false;
            }
            position = part.len();
        } else if i == parts.len() - 1 {
            return text.len() >= position + part.len() && text.ends_with(part);
        } else {
            match text[position..].find(part) {
                Some(found) => position += found + part.len(),
                None => return false,
            }
        }
    }
    true
}
