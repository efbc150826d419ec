//! Choice evaluation against executions recorded on real AWS Step Functions.
//!
//! The conformance corpus lives outside this repository (`../shared/conformance/corpus` beside
//! the project); when it is absent these tests are ignored (see `build.rs`).
//!
//! A record is checked when its machine starts with a JSONPath Choice state (no data-flow fields
//! of its own) whose every target is an end state whose output follows from the branch alone:
//! a Pass with at most a static `Result`, a Succeed, or a Fail with static `Error`/`Cause`. The
//! predicted status, output, error and cause must then equal what AWS recorded.

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;

use serde_json::{Value, json};
use switchback_asl::choice::next_state;
use switchback_asl::model::{State, StateKind};

mod support;

// Floors: the counts when they were written. They may only go up; a count below one means the
// corpus shrank or a check regressed.
/// Records starting with a Choice state of the checked shape, all consistent with AWS.
const CHOICE_FLOOR: usize = 361;
/// Records starting with a Wait state, all consistent with AWS.
const WAIT_FLOOR: usize = 14;

/// Fields a state may have and still leave its output a function of the branch alone.
fn is_simple_end_state(state: &Value) -> bool {
    let Some(fields) = state.as_object() else {
        return false;
    };
    let allowed: &[&str] = match fields.get("Type").and_then(Value::as_str) {
        Some("Pass") if state.get("End") == Some(&json!(true)) => {
            &["Type", "Result", "End", "Comment"]
        }
        Some("Succeed") => &["Type", "Comment"],
        Some("Fail") => &["Type", "Error", "Cause", "Comment"],
        _ => return false,
    };
    fields.keys().all(|key| allowed.contains(&key.as_str()))
}

/// The Choice state and its name, when the record is of the checked shape.
fn eligible(definition: &Value) -> Option<(&str, &Value)> {
    if definition
        .get("QueryLanguage")
        .is_some_and(|q| q != "JSONPath")
    {
        return None;
    }
    let start = definition.get("StartAt")?.as_str()?;
    let states = definition.get("States")?;
    let choice = states.get(start)?;
    let fields = choice.as_object()?;
    let choice_fields = ["Type", "Choices", "Default", "Comment"];
    if choice.get("Type")? != "Choice"
        || !fields.keys().all(|k| choice_fields.contains(&k.as_str()))
    {
        return None;
    }
    let mut targets: Vec<&str> = choice
        .get("Choices")?
        .as_array()?
        .iter()
        .filter_map(|rule| rule.get("Next").and_then(Value::as_str))
        .collect();
    targets.extend(choice.get("Default").and_then(Value::as_str));
    targets
        .iter()
        .all(|name| states.get(*name).is_some_and(is_simple_end_state))
        .then_some((start, choice))
}

/// What AWS should report: (status, output, error, cause).
fn predict(definition: &Value, start: &str, choice: &Value, input: &Value) -> Prediction {
    let choice = match serde_json::from_value::<State>(choice.clone()).map(|s| s.kind) {
        Ok(StateKind::Choice(choice)) => choice,
        other => panic!("the recorded Choice state does not parse: {other:?}"),
    };
    match next_state(
        &choice,
        input,
        &switchback_asl::variables::Env::context_only(json!({})),
        &mut switchback_asl::entropy::Entropy::new(1),
    )
    .map(|(next, _)| next)
    {
        Ok(next) => {
            let state = &definition["States"][next.as_str()];
            match state["Type"].as_str() {
                Some("Fail") => Prediction {
                    status: "FAILED",
                    output: None,
                    error: state.get("Error").cloned(),
                    cause: state.get("Cause").cloned(),
                },
                _ => Prediction {
                    status: "SUCCEEDED",
                    output: Some(state.get("Result").unwrap_or(input).clone()),
                    error: None,
                    cause: None,
                },
            }
        }
        Err(failure) => Prediction {
            status: "FAILED",
            output: None,
            error: Some(json!(failure.error)),
            cause: Some(json!(format!(
                "An error occurred while executing the state '{start}' (entered at the event id \
                 #2). {}",
                failure.cause
            ))),
        },
    }
}

#[derive(Debug)]
struct Prediction {
    status: &'static str,
    output: Option<Value>,
    error: Option<Value>,
    cause: Option<Value>,
}

/// Compares the fields the record carries; returns the first difference.
fn check(prediction: &Prediction, expected: &Value) -> Result<(), String> {
    if expected.get("status") != Some(&json!(prediction.status)) {
        return Err(format!(
            "status {:?} vs {}",
            prediction.status, expected["status"]
        ));
    }
    let pairs = [
        ("output", &prediction.output),
        ("error", &prediction.error),
        ("cause", &prediction.cause),
    ];
    for (field, predicted) in pairs {
        let recorded = expected.get(field).filter(|v| !v.is_null());
        if let Some(recorded) = recorded
            && predicted.as_ref() != Some(recorded)
        {
            return Err(format!(
                "{field}: predicted {predicted:?}, recorded {recorded}"
            ));
        }
    }
    Ok(())
}

#[test]
#[cfg_attr(
    not(corpus),
    ignore = "no conformance corpus at ../shared/conformance/corpus beside the project"
)]
fn choice_corpus() {
    let dir = support::corpus_dir();
    let entries = fs::read_dir(&dir).expect("corpus directory is readable");
    let mut files: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    let mut counts: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut failures = Vec::new();
    for path in files {
        let Ok(text) = fs::read_to_string(&path) else {
            continue;
        };
        let Ok(Value::Array(records)) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        let file = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        for record in &records {
            let Some(definition) = record
                .get("definition")
                .and_then(Value::as_str)
                .and_then(|d| serde_json::from_str::<Value>(d).ok())
            else {
                continue;
            };
            let Some((start, choice)) = eligible(&definition) else {
                continue;
            };
            // A missing input is `{}`, as StartExecution defaults it.
            let input = match record.get("input").and_then(Value::as_str) {
                Some(text) => match serde_json::from_str::<Value>(text) {
                    Ok(value) => value,
                    Err(_) => continue,
                },
                None => json!({}),
            };
            let prediction = predict(&definition, start, choice, &input);
            let count = counts.entry(file.clone()).or_default();
            count.0 += 1;
            match check(&prediction, &record["expected"]) {
                Ok(()) => count.1 += 1,
                Err(why) => failures.push(format!("{}: {why}", record["id"])),
            }
        }
    }
    let (mut total, mut passed) = (0, 0);
    for (file, (checked, ok)) in &counts {
        println!("choice_corpus: {file}: {ok}/{checked} consistent");
        total += checked;
        passed += ok;
    }
    println!("choice_corpus: total {passed}/{total}");
    for failure in &failures {
        println!("choice_corpus: MISMATCH {failure}");
    }
    assert!(
        failures.is_empty(),
        "{} corpus records disagree",
        failures.len()
    );
    support::assert_at_least("choice records checked", total, CHOICE_FLOOR);
    support::assert_at_least("choice records consistent", passed, CHOICE_FLOOR);
}

/// Wait states too: every recorded execution that starts with a Wait state must fail exactly
/// when `wait_until_ms` fails, with the same error and cause.
#[test]
#[cfg_attr(
    not(corpus),
    ignore = "no conformance corpus at ../shared/conformance/corpus beside the project"
)]
fn wait_corpus() {
    let path = support::corpus_dir().join("wait.json");
    let text = fs::read_to_string(&path).expect("wait.json is readable");
    let Ok(Value::Array(records)) = serde_json::from_str::<Value>(&text) else {
        panic!("wait.json is not an array");
    };
    let (mut checked, mut failures) = (0, Vec::new());
    for record in &records {
        let Some(definition) = record
            .get("definition")
            .and_then(Value::as_str)
            .and_then(|d| serde_json::from_str::<Value>(d).ok())
        else {
            continue;
        };
        let start = definition["StartAt"].as_str().unwrap_or_default();
        let state = &definition["States"][start];
        if state["Type"] != "Wait" {
            continue;
        }
        let input = record
            .get("input")
            .and_then(Value::as_str)
            .and_then(|t| serde_json::from_str::<Value>(t).ok())
            .unwrap_or_else(|| json!({}));
        checked += 1;
        let expected = &record["expected"];
        let state = match serde_json::from_value::<State>(state.clone()).map(|s| s.kind) {
            Ok(StateKind::Wait(wait)) => wait,
            other => panic!("the recorded Wait state does not parse: {other:?}"),
        };
        let outcome = switchback_asl::wait::wait_until_ms(
            &state,
            &input,
            &switchback_asl::variables::Env::context_only(json!({})),
            0,
            &mut switchback_asl::entropy::Entropy::new(1),
        );
        let verdict = match (&outcome, expected["status"].as_str()) {
            (Ok(_), Some("SUCCEEDED" | "ABORTED")) => Ok(()),
            (Err(failure), Some("FAILED")) => {
                let cause = format!(
                    "An error occurred while executing the state '{start}' (entered at the event \
                     id #2). {}",
                    failure.cause
                );
                let recorded = expected["cause"].as_str().unwrap_or_default();
                if expected["error"] != json!(failure.error) {
                    Err(format!("error {} vs {}", failure.error, expected["error"]))
                } else if !same_but_placeholders(&cause, recorded) {
                    Err(format!("cause {cause:?} vs {recorded:?}"))
                } else {
                    Ok(())
                }
            }
            (outcome, status) => Err(format!("{outcome:?} vs status {status:?}")),
        };
        if let Err(why) = verdict {
            failures.push(format!("{}: {why}", record["id"]));
        }
    }
    println!(
        "wait_corpus: {}/{checked} consistent",
        checked - failures.len()
    );
    for failure in &failures {
        println!("wait_corpus: MISMATCH {failure}");
    }
    assert!(
        failures.is_empty(),
        "{} wait records disagree",
        failures.len()
    );
    support::assert_at_least("wait records checked", checked, WAIT_FLOOR);
    support::assert_at_least(
        "wait records consistent",
        checked - failures.len(),
        WAIT_FLOOR,
    );
}

/// Equality where the recorded text may hold LocalStack's `<timestamp>` placeholder in place of
/// a date.
fn same_but_placeholders(actual: &str, recorded: &str) -> bool {
    match recorded.split_once("<timestamp>") {
        Some((before, after)) => {
            actual.len() >= before.len() + after.len()
                && actual.starts_with(before)
                && actual.ends_with(after)
        }
        None => actual == recorded,
    }
}
