//! Intrinsic functions against executions recorded on real AWS
//! (`../shared/conformance/corpus/intrinsic_functions.json`).
//!
//! For every Pass state whose `Parameters` call intrinsics, the state's input is taken from its
//! `PassStateEntered` event, the parameters are evaluated with `intrinsics::evaluate`, the
//! state's simple `ResultPath`/`OutputPath` are applied, and the result must equal the
//! `PassStateExited` output AWS recorded (or, for a failed execution, AWS's error and cause).
//!
//! The corpus lives outside the repository; without it this test is ignored (see `build.rs`).

use serde_json::{Map, Value, json};
use switchback_asl::entropy::Entropy;
use switchback_asl::{dataflow, intrinsics};

mod support;

// Floors: the counts when they were written. They may only go up; a count below one means the
// corpus shrank or a check regressed.
/// Pass states calling intrinsics that were checked, all of which match AWS.
const STATES_FLOOR: usize = 102;

/// History details store JSON documents either parsed or as strings; accept both.
fn as_json(value: &Value) -> Value {
    match value {
        Value::String(s) => serde_json::from_str(s).unwrap_or_else(|_| value.clone()),
        other => other.clone(),
    }
}

/// The detail object of the first event of `kind` for state `name`.
fn event<'a>(history: &'a [Value], kind: &str, details: &str, name: &str) -> Option<&'a Value> {
    history
        .iter()
        .filter(|e| e["type"] == kind)
        .map(|e| &e[details])
        .find(|d| d["name"] == name)
}

/// Segments of a simple `$.a.b` path (all this corpus uses for ResultPath/OutputPath).
fn segments(path: &str) -> Vec<&str> {
    path.trim_start_matches('$')
        .split('.')
        .filter(|s| !s.is_empty())
        .collect()
}

fn set_path(target: &mut Value, path: &str, value: Value) {
    let mut current = target;
    for seg in segments(path) {
        if !current.is_object() {
            *current = Value::Object(Map::new());
        }
        let Value::Object(map) = current else { return };
        current = map.entry(seg.to_string()).or_insert(Value::Null);
    }
    *current = value;
}

fn get_path(source: &Value, path: &str) -> Value {
    segments(path).into_iter().fold(source.clone(), |v, seg| {
        v.get(seg).cloned().unwrap_or(Value::Null)
    })
}

/// AWS output values the snapshot masked; returns whether `ours` is acceptable for them.
fn masked_match(expected: &Value, ours: &Value, input: &Value) -> Option<bool> {
    match expected.as_str()? {
        "RandomNumberGenerated" => {
            let (lo, hi) = (
                &input["FunctionInput"]["fst"],
                &input["FunctionInput"]["snd"],
            );
            let n = ours.as_i64()?;
            Some(lo.as_f64()?.trunc() as i64 <= n && n < hi.as_f64()?.trunc() as i64)
        }
        _ => None,
    }
}

/// Compares key by key so masked values can be accepted.
fn matches(expected: &Value, ours: &Value, input: &Value) -> bool {
    match (expected, ours) {
        (Value::Object(e), Value::Object(o)) => {
            e.len() == o.len()
                && e.iter()
                    .all(|(k, ev)| o.get(k).is_some_and(|ov| matches(ev, ov, input)))
        }
        _ => expected == ours || masked_match(expected, ours, input) == Some(true),
    }
}

#[test]
#[cfg_attr(
    not(corpus),
    ignore = "no conformance corpus at ../shared/conformance/corpus beside the project"
)]
fn intrinsic_functions_match_aws() {
    let file = support::corpus_dir().join("intrinsic_functions.json");
    let text = std::fs::read_to_string(&file).expect("corpus readable");
    let records: Vec<Value> = serde_json::from_str(&text).expect("corpus is JSON");
    let (mut states, mut expressions, mut passed) = (0usize, 0usize, 0usize);
    let mut failures = Vec::new();

    for record in &records {
        let id = record["id"].as_str().unwrap_or("?");
        let definition = as_json(&record["definition"]);
        let execution_input = as_json(&record["input"]);
        let history = record["expected"]["history"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let Some(state_map) = definition["States"].as_object() else {
            continue;
        };
        for (name, state) in state_map {
            let Some(params) = state["Parameters"].as_object() else {
                continue;
            };
            let calls: Vec<&str> = params
                .iter()
                .filter(|(k, _)| k.ends_with(".$"))
                .filter_map(|(_, v)| v.as_str())
                .filter(|v| intrinsics::is_intrinsic(v))
                .collect();
            if calls.is_empty() {
                continue;
            }
            let Some(entered) = event(
                &history,
                "PassStateEntered",
                "stateEnteredEventDetails",
                name,
            ) else {
                continue;
            };
            states += 1;
            expressions += calls.len();
            let input = as_json(&entered["input"]);
            let context = json!({
                "Execution": {"Input": execution_input},
                // LocalStack's snapshot replaced the machine name by this placeholder.
                "StateMachine": {"Name": "<ArnPart_0idx>"}
            });
            let mut entropy = Entropy::new(states as u64);
            let mut result = Map::new();
            let mut error = None;
            for (key, value) in params {
                let evaluated = match (key.strip_suffix(".$"), value.as_str()) {
                    (Some(k), Some(expr)) if intrinsics::is_intrinsic(expr) => {
                        intrinsics::evaluate(
                            expr,
                            &input,
                            &switchback_asl::variables::Env::context_only(context.clone()),
                            &mut entropy,
                        )
                        .map(|v| (k, v))
                    }
                    (Some(k), Some(path)) => dataflow::evaluate_path(
                        path,
                        &input,
                        &switchback_asl::variables::Env::context_only(context.clone()),
                    )
                    .map(|v| (k, v)),
                    _ => Ok((key.as_str(), value.clone())),
                };
                match evaluated {
                    Ok((k, v)) => {
                        result.insert(k.to_string(), v);
                    }
                    Err(f) => {
                        error = Some(f);
                        break;
                    }
                }
            }
            let exited = event(&history, "PassStateExited", "stateExitedEventDetails", name);
            let outcome = match (error, exited) {
                (None, Some(exited)) => {
                    let mut output = Value::Object(result);
                    if let Some(rp) = state["ResultPath"].as_str() {
                        let mut whole = input.clone();
                        set_path(&mut whole, rp, output);
                        output = whole;
                    }
                    if let Some(op) = state["OutputPath"].as_str() {
                        output = get_path(&output, op);
                    }
                    let expected = as_json(&exited["output"]);
                    if matches(&expected, &output, &input) {
                        Ok(())
                    } else {
                        Err(format!("expected {expected}, got {output}"))
                    }
                }
                (Some(f), None) => {
                    let failed = history.iter().find(|e| e["type"] == "ExecutionFailed");
                    let details = failed.map(|e| &e["executionFailedEventDetails"]);
                    let aws_error = details.and_then(|d| d["error"].as_str()).unwrap_or("");
                    let aws_cause = details.and_then(|d| d["cause"].as_str()).unwrap_or("");
                    if aws_error == f.error && aws_cause.ends_with(&f.cause) {
                        Ok(())
                    } else {
                        Err(format!(
                            "AWS failed {aws_error}: {aws_cause}; we failed {f}"
                        ))
                    }
                }
                (Some(f), Some(_)) => Err(format!("AWS succeeded; we failed {f}")),
                (None, None) => Err("AWS failed; we succeeded".to_string()),
            };
            match outcome {
                Ok(()) => passed += 1,
                Err(why) => failures.push(format!("{id} / {name}: {why}")),
            }
        }
    }

    println!(
        "intrinsics corpus: {} records, {states} states, {expressions} expressions, \
         {passed} states passed, {} failed",
        records.len(),
        failures.len()
    );
    for failure in &failures {
        println!("  FAIL {failure}");
    }
    assert!(
        failures.is_empty(),
        "{} corpus cases failed",
        failures.len()
    );
    support::assert_at_least("intrinsic states checked", states, STATES_FLOOR);
    support::assert_at_least("intrinsic states matching AWS", passed, STATES_FLOOR);
}
