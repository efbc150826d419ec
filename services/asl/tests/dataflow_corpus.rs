//! Runs the recorded AWS executions that consist only of Pass states through the data-flow
//! functions and compares the final output (key order included) or error and cause.
//!
//! The corpus lives outside the repository (`../shared/conformance/corpus`); without it the test
//! is ignored (see `build.rs`).

use std::path::PathBuf;

use serde_json::{Map, Value, json};
use switchback_asl::dataflow::Pipeline;
use switchback_asl::entropy::Entropy;
use switchback_asl::failure::Failure;
use switchback_asl::model::{State, StateKind};

mod support;

// Floors: the counts when they were written. They may only go up; a count below one means the
// corpus shrank or a check regressed.
/// Pass-only scenarios compared with AWS, with intrinsic functions or without.
const CHECKED_FLOOR: usize = 123;
/// Scenarios without intrinsic functions that match AWS (all of them must).
const PASSED_FLOOR: usize = 22;
/// Scenarios with intrinsic functions that match AWS; the rest (random numbers, a merge's key
/// order) are reported, not failed.
const INTRINSIC_PASSED_FLOOR: usize = 96;

const PASS_FIELDS: &[&str] = &[
    "Type",
    "Comment",
    "Next",
    "End",
    "InputPath",
    "Parameters",
    "Result",
    "ResultPath",
    "OutputPath",
];

#[derive(Default)]
struct Tally {
    passed: usize,
    failed: Vec<String>,
    intrinsic_passed: usize,
    intrinsic_failed: Vec<String>,
    skipped_context: usize,
}

#[test]
#[cfg_attr(
    not(corpus),
    ignore = "no conformance corpus at ../shared/conformance/corpus beside the project"
)]
fn pass_state_scenarios_match_aws() {
    let dir = support::corpus_dir();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("corpus directory is readable")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let mut tally = Tally::default();
    for file in files {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        let Ok(Value::Array(records)) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        for record in records {
            run_record(&record, &mut tally);
        }
    }
    println!(
        "dataflow corpus: {} passed, {} failed; using intrinsics: {} passed, {} failed; {} skipped (context-dependent)",
        tally.passed,
        tally.failed.len(),
        tally.intrinsic_passed,
        tally.intrinsic_failed.len(),
        tally.skipped_context
    );
    for failure in &tally.failed {
        println!("FAILED {failure}");
    }
    // Informational: these also depend on the intrinsic functions.
    for failure in &tally.intrinsic_failed {
        println!("differs (intrinsics) {failure}");
    }
    assert!(
        tally.failed.is_empty(),
        "{} scenarios differ from AWS",
        tally.failed.len()
    );
    let checked =
        tally.passed + tally.failed.len() + tally.intrinsic_passed + tally.intrinsic_failed.len();
    support::assert_at_least("pass-only scenarios checked", checked, CHECKED_FLOOR);
    support::assert_at_least("scenarios matching AWS", tally.passed, PASSED_FLOOR);
    support::assert_at_least(
        "scenarios with intrinsics matching AWS",
        tally.intrinsic_passed,
        INTRINSIC_PASSED_FLOOR,
    );
}

fn run_record(record: &Value, tally: &mut Tally) {
    if record["kind"] != "execution" {
        return;
    }
    let expected = &record["expected"];
    let status = expected["status"].as_str().unwrap_or_default();
    if status != "SUCCEEDED" && status != "FAILED" {
        return;
    }
    let Some(definition) = record["definition"]
        .as_str()
        .and_then(|d| serde_json::from_str::<Value>(d).ok())
    else {
        return;
    };
    let Some(states) = definition["States"].as_object() else {
        return;
    };
    let pass_only = definition.get("QueryLanguage").is_none()
        && states.values().all(|s| {
            s["Type"] == "Pass"
                && s.as_object()
                    .is_some_and(|o| o.keys().all(|k| PASS_FIELDS.contains(&k.as_str())))
        });
    if !pass_only {
        return;
    }
    let definition_text = definition.to_string();
    if depends_on_context(states) {
        tally.skipped_context += 1;
        return;
    }
    let uses_intrinsics = definition_text.contains("\"States.");
    let name = record["source"]["test"].as_str().unwrap_or("?").to_string();
    let input = record["input"]
        .as_str()
        .and_then(|i| serde_json::from_str::<Value>(i).ok())
        .unwrap_or_else(|| json!({}));
    let actual = run(&definition, input);
    let ok = match (&actual, status) {
        (Ok(output), "SUCCEEDED") => {
            // Compared as text so that key order counts.
            let (got, want) = (output.to_string(), expected_output(expected).to_string());
            got == want
        }
        (Err(failure), "FAILED") => {
            failure.error == expected["error"].as_str().unwrap_or_default()
                && failure.cause == expected["cause"].as_str().unwrap_or_default()
        }
        _ => false,
    };
    let report = || {
        format!(
            "{name}: got {}, expected {status} {}",
            describe(&actual),
            if status == "SUCCEEDED" {
                expected_output(expected).to_string()
            } else {
                format!("{} {}", expected["error"], expected["cause"])
            }
        )
    };
    match (ok, uses_intrinsics) {
        (true, false) => tally.passed += 1,
        (true, true) => tally.intrinsic_passed += 1,
        (false, true) => tally.intrinsic_failed.push(report()),
        (false, false) => tally.failed.push(report()),
    }
}

/// Whether a state reads context values other than the execution's input (ARNs, names and times
/// that the recording replaced with placeholders). `Result` is never evaluated, so it is ignored.
fn depends_on_context(states: &Map<String, Value>) -> bool {
    states.values().any(|state| {
        let mut state = state.clone();
        if let Some(fields) = state.as_object_mut() {
            fields.remove("Result");
        }
        state
            .to_string()
            .replace("$$.Execution.Input", "")
            .contains("$$")
    })
}

/// The recorded output: a JSON value, or a JSON text in a string.
fn expected_output(expected: &Value) -> Value {
    match &expected["output"] {
        Value::String(s) => serde_json::from_str(s).unwrap_or_else(|_| Value::String(s.clone())),
        other => other.clone(),
    }
}

fn describe(actual: &Result<Value, Failure>) -> String {
    match actual {
        Ok(v) => v.to_string(),
        Err(f) => format!("{} {:?}", f.error, f.cause),
    }
}

/// Runs the chain of Pass states; a failure's cause gets the prefix the interpreter adds.
fn run(definition: &Value, input: Value) -> Result<Value, Failure> {
    let mut current = definition["StartAt"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let mut value = input.clone();
    let mut entropy = Entropy::new(7);
    // Event 1 is ExecutionStarted; each Pass state adds Entered and Exited.
    let mut entered_event_id = 2;
    for _ in 0..1000 {
        let state = &definition["States"][&current];
        let context = context_object(&input, &current);
        let step = pass(state, &value, &context, &mut entropy);
        value = step.map_err(|f| {
            Failure::new(
                f.error,
                format!(
                    "An error occurred while executing the state '{current}' (entered at the event id #{entered_event_id}). {}",
                    f.cause
                ),
            )
        })?;
        if state["End"] == true {
            return Ok(value);
        }
        current = state["Next"].as_str().unwrap_or_default().to_string();
        entered_event_id += 2;
    }
    Err(Failure::new("Test.Loop", "too many states"))
}

/// A Pass state through its data-flow pipeline, as the interpreter runs it.
fn pass(
    state: &Value,
    raw: &Value,
    context: &Value,
    entropy: &mut Entropy,
) -> Result<Value, Failure> {
    let state: State = serde_json::from_value(state.clone())
        .map_err(|e| Failure::new("Test.Unparsable", e.to_string()))?;
    let StateKind::Pass(pass) = &state.kind else {
        return Err(Failure::new("Test.NotPass", state.type_name()));
    };
    let flow = Pipeline::new(&state.flow);
    let env = switchback_asl::variables::Env::context_only(context.clone());
    let effective = flow.input(raw, &env)?;
    let result = match &pass.result {
        Some(result) => result.clone(),
        None => flow.arguments(&effective, &env, entropy)?,
    };
    flow.output(raw, result, &env, entropy)
}

fn context_object(input: &Value, state_name: &str) -> Value {
    let mut execution = Map::new();
    execution.insert(
        "Id".into(),
        json!("arn:aws:states:us-east-1:111111111111:execution:m:e"),
    );
    execution.insert("Input".into(), input.clone());
    execution.insert("Name".into(), json!("e"));
    execution.insert("RoleArn".into(), json!("arn:aws:iam::111111111111:role/r"));
    execution.insert("StartTime".into(), json!("2024-01-01T00:00:00.000Z"));
    json!({
        "Execution": execution,
        "State": {"Name": state_name, "EnteredTime": "2024-01-01T00:00:00.000Z"},
        "StateMachine": {"Id": "arn:aws:states:us-east-1:111111111111:stateMachine:m", "Name": "m"},
    })
}
