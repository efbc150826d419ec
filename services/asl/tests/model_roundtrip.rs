//! The typed model (`switchback_asl::model`): every definition AWS accepted parses, and
//! parse → serialize → parse gives an equal model. Runs over the recorded corpus
//! (`../shared/conformance/corpus`, ignored when absent; see `build.rs`) and over every
//! definition written in this crate's own tests and sources.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;
use switchback_asl::model::StateMachine;
use switchback_asl::{ValidateOptions, validate};

mod support;

/// Definitions AWS accepted that round-trip (all must): the count when written. It may only go
/// up; a count below it means the corpus shrank or the model regressed.
const ROUND_TRIP_FLOOR: usize = 682;

/// How one definition fared: `Err` says why it does not round-trip.
fn round_trip(definition: &Value) -> Result<Fidelity, String> {
    let model = StateMachine::deserialize(definition).map_err(|e| format!("parse: {e}"))?;
    let written = serde_json::to_value(&model).map_err(|e| format!("serialize: {e}"))?;
    let again = StateMachine::deserialize(&written).map_err(|e| format!("reparse: {e}"))?;
    if again != model {
        return Err(format!("reparsed model differs; serialized as {written}"));
    }
    // Not required, but worth knowing: whether the model wrote back exactly what it read.
    Ok(if &written == definition {
        Fidelity::Exact
    } else {
        Fidelity::Equivalent
    })
}

#[derive(PartialEq)]
enum Fidelity {
    Exact,
    Equivalent,
}

/// Definitions AWS accepted: executions it ran, and CreateStateMachine calls that succeeded.
fn accepted(dir: &Path) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("corpus directory is readable")
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    for path in files {
        let text = std::fs::read_to_string(&path).expect("corpus file is readable");
        let Ok(Value::Array(records)) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        let file = path.file_stem().map(|s| s.to_string_lossy().into_owned());
        let file = file.unwrap_or_default();
        for record in records {
            let id = format!("{file}: {}", record["id"].as_str().unwrap_or("?"));
            if record["kind"] == "execution"
                && let Some(definition) = record["definition"].as_str()
            {
                found.push((id.clone(), definition.to_owned()));
            }
            if file == "api_create_state_machine"
                && record["expected"]["outcome"] == "ok"
                && let Some(definition) = record["call"]["params"]["definition"].as_str()
            {
                found.push((id, definition.to_owned()));
            }
        }
    }
    found
}

#[test]
#[cfg_attr(
    not(corpus),
    ignore = "no conformance corpus at ../shared/conformance/corpus beside the project"
)]
fn accepted_definitions_round_trip() {
    let definitions = accepted(&support::corpus_dir());
    let (mut exact, mut failures) = (0, Vec::new());
    for (id, text) in &definitions {
        let Ok(definition) = serde_json::from_str::<Value>(text) else {
            failures.push(format!("{id}: not JSON"));
            continue;
        };
        match round_trip(&definition) {
            Ok(fidelity) => exact += usize::from(fidelity == Fidelity::Exact),
            Err(why) => failures.push(format!("{id}: {why}")),
        }
    }
    println!(
        "model round trip over accepted definitions: {} passed, {} failed ({exact} written back exactly)",
        definitions.len() - failures.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    support::assert_at_least(
        "accepted definitions checked",
        definitions.len(),
        ROUND_TRIP_FLOOR,
    );
    support::assert_at_least(
        "accepted definitions round-tripped",
        definitions.len() - failures.len(),
        ROUND_TRIP_FLOOR,
    );
}

/// Every `r#"…"#` literal in the crate's sources and tests that is a definition: those the
/// validator accepts must parse; any that parses must round-trip.
#[test]
fn unit_test_definitions_round_trip() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut sources = Vec::new();
    collect_rust_files(&root.join("src"), &mut sources);
    collect_rust_files(&root.join("tests"), &mut sources);
    let (mut seen, mut parsed, mut failures) = (0, 0, Vec::new());
    for path in sources {
        let text = std::fs::read_to_string(&path).expect("source is readable");
        for literal in raw_literals(&text) {
            let Ok(mut definition) = serde_json::from_str::<Value>(literal) else {
                continue;
            };
            // A lone state (validator tests write many) becomes a one-state machine.
            if definition.get("Type").is_some() {
                definition = serde_json::json!({ "StartAt": "S", "States": { "S": definition } });
            }
            if definition.get("StartAt").is_none() || definition.get("States").is_none() {
                continue;
            }
            seen += 1;
            let valid = !validate(&definition.to_string(), &ValidateOptions::default())
                .iter()
                .any(|d| d.is_error());
            match round_trip(&definition) {
                Ok(_) => parsed += 1,
                Err(why) if valid || !why.starts_with("parse:") => {
                    failures.push(format!("{}: {why}\n  {literal}", path.display()));
                }
                Err(_) => {}
            }
        }
    }
    println!(
        "model round trip over {seen} definitions in the crate: {parsed} parsed and round-tripped"
    );
    assert!(seen > 20, "found the crate's test definitions ({seen})");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn collect_rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_rust_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}

/// The contents of `r#"…"#` string literals.
fn raw_literals(source: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut rest = source;
    while let Some(start) = rest.find("r#\"") {
        let after = &rest[start + 3..];
        let Some(end) = after.find("\"#") else { break };
        found.push(&after[..end]);
        rest = &after[end + 2..];
    }
    found
}
