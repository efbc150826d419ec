//! The validator against definitions recorded on real AWS (`../shared/conformance/corpus`):
//! everything AWS ran must validate without errors, everything AWS refused must be refused,
//! and where AWS's message was recorded, ours should read the same.
//!
//! The corpus lives outside the repository; without it these tests are ignored (see `build.rs`).

use serde_json::Value;
use switchback_asl::diagnostic::{invalid_definition_message, invalid_definition_message_for};
use switchback_asl::{Diagnostic, MachineType, ValidateOptions, validate};

mod support;

/// Files whose `execution` records AWS accepted and ran.
const EXECUTION_FILES: [&str; 11] = [
    "base",
    "choice",
    "choice_operators",
    "context_object",
    "intrinsic_functions",
    "wait",
    "parallel",
    "map",
    "activities",
    "jsonata",
    "variables_assign",
];

/// What boto3 puts before the service's message when a test recorded the exception text.
const BOTO_PREFIX: &str =
    "An error occurred (InvalidDefinition) when calling the CreateStateMachine operation: ";

// Floors: the counts when they were written. They may only go up; a count below one means the
// corpus shrank or a check regressed.
/// Definitions AWS accepted, all of which validate cleanly.
const ACCEPTED_FLOOR: usize = 682;
/// Definitions AWS refused, all of which we refuse with AWS's message.
const REJECTED_FLOOR: usize = 76;
/// Validation calls whose diagnostics equal AWS's.
const DIAGNOSED_FLOOR: usize = 7;
/// Mangled definitions validated without a panic.
const MANGLED_FLOOR: usize = 27_150;

fn load(dir: &std::path::Path, file: &str) -> Vec<Value> {
    let path = dir.join(format!("{file}.json"));
    let text = std::fs::read_to_string(&path).expect("corpus file is readable");
    match serde_json::from_str(&text).expect("corpus file is JSON") {
        Value::Array(records) => records,
        _ => panic!("{} is not an array", path.display()),
    }
}

fn options(machine_type: Option<&str>) -> ValidateOptions {
    let machine_type = match machine_type {
        Some("EXPRESS") => MachineType::Express,
        _ => MachineType::Standard,
    };
    ValidateOptions { machine_type }
}

fn errors(diagnostics: &[Diagnostic]) -> Vec<&Diagnostic> {
    diagnostics.iter().filter(|d| d.is_error()).collect()
}

/// A definition AWS accepted: (id, definition, machine type).
struct Accepted {
    id: String,
    definition: String,
    machine_type: Option<String>,
}

fn accepted(dir: &std::path::Path) -> Vec<Accepted> {
    let mut found = Vec::new();
    for file in EXECUTION_FILES {
        for record in load(dir, file) {
            if record["kind"] != "execution" {
                continue;
            }
            if let Some(definition) = record["definition"].as_str() {
                found.push(Accepted {
                    id: format!("{file}: {}", record["id"].as_str().unwrap_or("?")),
                    definition: definition.to_owned(),
                    machine_type: record["state_machine_type"].as_str().map(str::to_owned),
                });
            }
        }
    }
    for record in load(dir, "api_create_state_machine") {
        let params = &record["call"]["params"];
        if record["expected"]["outcome"] == "ok"
            && let Some(definition) = params["definition"].as_str()
        {
            found.push(Accepted {
                id: format!("api: {}", record["id"].as_str().unwrap_or("?")),
                definition: definition.to_owned(),
                machine_type: params["type"].as_str().map(str::to_owned),
            });
        }
    }
    found
}

/// A definition AWS refused as InvalidDefinition, with AWS's message.
struct Rejected {
    id: String,
    definition: String,
    machine_type: Option<String>,
    message: String,
}

fn rejection(id: String, params: &Value, response: &Value) -> Option<Rejected> {
    let (code, message) = match (&response["Error"], &response["exception_typename"]) {
        (Value::Object(error), _) => (
            error.get("Code")?.as_str()?,
            error.get("Message")?.as_str()?,
        ),
        (_, Value::String(kind)) => {
            let text = response["exception_value"].as_str()?;
            (
                kind.as_str(),
                text.strip_prefix(BOTO_PREFIX).unwrap_or(text),
            )
        }
        _ => return None,
    };
    if code != "InvalidDefinition" {
        return None;
    }
    // Earlier responses of a sequence fill `${R<n>:...}`; only activity ARNs appear here.
    let definition = params["definition"].as_str()?.replace(
        "${R0:/activityArn}",
        "arn:aws:states:us-east-1:111111111111:activity:a",
    );
    Some(Rejected {
        id,
        definition,
        machine_type: params["type"].as_str().map(str::to_owned),
        message: message.to_owned(),
    })
}

fn rejected(dir: &std::path::Path) -> Vec<Rejected> {
    let mut found = Vec::new();
    for record in load(dir, "api_create_state_machine") {
        if record["expected"]["outcome"] != "error" {
            continue;
        }
        let id = format!("api: {}", record["id"].as_str().unwrap_or("?"));
        found.extend(rejection(
            id,
            &record["call"]["params"],
            &record["expected"]["response"],
        ));
    }
    for file in [
        "api_seq_express",
        "api_seq_state_machines",
        "api_seq_versioning",
    ] {
        for record in load(dir, file) {
            let steps = record["steps"].as_array().cloned().unwrap_or_default();
            for step in steps {
                if step["op"] != "CreateStateMachine" || step["expect"]["outcome"] != "error" {
                    continue;
                }
                let id = format!("{file}: {}", record["id"].as_str().unwrap_or("?"));
                found.extend(rejection(id, &step["params"], &step["expect"]["response"]));
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
fn accepted_definitions_validate_cleanly() {
    let dir = support::corpus_dir();
    let cases = accepted(&dir);
    let mut failures = Vec::new();
    for case in &cases {
        let diagnostics = validate(&case.definition, &options(case.machine_type.as_deref()));
        if !errors(&diagnostics).is_empty() {
            failures.push(format!(
                "{}\n    {}",
                case.id,
                invalid_definition_message(&diagnostics)
            ));
        }
    }
    eprintln!(
        "accepted-clean: {}/{}",
        cases.len() - failures.len(),
        cases.len()
    );
    assert!(
        failures.is_empty(),
        "AWS accepted these:\n{}",
        failures.join("\n")
    );
    support::assert_at_least("accepted definitions checked", cases.len(), ACCEPTED_FLOOR);
    support::assert_at_least(
        "accepted definitions clean",
        cases.len() - failures.len(),
        ACCEPTED_FLOOR,
    );
}

#[test]
#[cfg_attr(
    not(corpus),
    ignore = "no conformance corpus at ../shared/conformance/corpus beside the project"
)]
fn rejected_definitions_are_refused() {
    let dir = support::corpus_dir();
    let cases = rejected(&dir);
    let mut missed = Vec::new();
    let mut worded = 0;
    let mut wording = Vec::new();
    for case in &cases {
        let diagnostics = validate(&case.definition, &options(case.machine_type.as_deref()));
        if errors(&diagnostics).is_empty() {
            missed.push(case.id.clone());
            continue;
        }
        let ours = invalid_definition_message_for(&case.definition, &diagnostics);
        if ours == case.message {
            worded += 1;
        } else {
            wording.push(format!(
                "{}\n    aws:  {}\n    ours: {ours}",
                case.id, case.message
            ));
        }
    }
    eprintln!(
        "rejected-caught: {}/{}; same message: {worded}/{}",
        cases.len() - missed.len(),
        cases.len(),
        cases.len()
    );
    assert!(
        missed.is_empty(),
        "AWS refused these:\n{}",
        missed.join("\n")
    );
    assert!(
        wording.is_empty(),
        "worded differently:\n{}",
        wording.join("\n")
    );
    support::assert_at_least("rejected definitions checked", cases.len(), REJECTED_FLOOR);
    support::assert_at_least(
        "rejected definitions caught",
        cases.len() - missed.len(),
        REJECTED_FLOOR,
    );
    support::assert_at_least("rejections worded as AWS's", worded, REJECTED_FLOOR);
}

#[test]
#[cfg_attr(
    not(corpus),
    ignore = "no conformance corpus at ../shared/conformance/corpus beside the project"
)]
fn validation_diagnostics_match_aws() {
    let dir = support::corpus_dir();
    let mut checked = 0;
    for record in load(&dir, "api_validation") {
        let params = &record["call"]["params"];
        let Some(definition) = params["definition"].as_str() else {
            continue;
        };
        let diagnostics = validate(definition, &options(params["type"].as_str()));
        let ours: Vec<(String, String, String, String)> = diagnostics
            .iter()
            .map(|d| {
                (
                    d.severity.as_str().to_owned(),
                    d.code.as_str().to_owned(),
                    d.message.clone(),
                    d.location.clone(),
                )
            })
            .collect();
        let expected: Vec<(String, String, String, String)> =
            record["expected"]["response"]["diagnostics"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|d| {
                    let field = |key: &str| d[key].as_str().unwrap_or_default().to_owned();
                    (
                        field("severity"),
                        field("code"),
                        field("message"),
                        field("location"),
                    )
                })
                .collect();
        assert_eq!(ours, expected, "{}", record["id"]);
        checked += 1;
    }
    eprintln!("validation diagnostics matched: {checked}");
    // Each checked record asserted equality above, so checked is also matched.
    support::assert_at_least("validation diagnostics matched", checked, DIAGNOSED_FLOOR);
}

/// Mutations of real definitions: truncated text, and every value (up to a bound) replaced
/// by each JSON type in turn. None may panic the validator.
#[test]
#[cfg_attr(
    not(corpus),
    ignore = "no conformance corpus at ../shared/conformance/corpus beside the project"
)]
fn mangled_definitions_never_panic() {
    let dir = support::corpus_dir();
    let replacements = [
        Value::Null,
        Value::from(-1),
        Value::from(""),
        Value::from(1.5),
        Value::Array(Vec::new()),
        Value::Object(serde_json::Map::new()),
    ];
    let mut runs = 0usize;
    for case in accepted(&dir).iter().step_by(3) {
        let text = &case.definition;
        let cuts: Vec<usize> = (0..=16).map(|i| text.len() * i / 16).collect();
        for cut in cuts {
            if let Some(prefix) = text.get(..cut) {
                validate(prefix, &ValidateOptions::default());
                runs += 1;
            }
        }
        let Ok(root) = serde_json::from_str::<Value>(text) else {
            continue;
        };
        let mut pointers = Vec::new();
        collect_pointers(&root, String::new(), &mut pointers);
        for pointer in pointers.iter().take(120) {
            for replacement in &replacements {
                let mut mangled = root.clone();
                if let Some(slot) = mangled.pointer_mut(pointer) {
                    *slot = replacement.clone();
                }
                validate(&mangled.to_string(), &options(Some("EXPRESS")));
                runs += 1;
            }
        }
    }
    eprintln!("mangled definitions validated without panic: {runs}");
    support::assert_at_least("mangled definitions validated", runs, MANGLED_FLOOR);
}

fn collect_pointers(value: &Value, at: String, out: &mut Vec<String>) {
    match value {
        Value::Object(fields) => {
            for (key, inner) in fields {
                let escaped = key.replace('~', "~0").replace('/', "~1");
                let pointer = format!("{at}/{escaped}");
                out.push(pointer.clone());
                collect_pointers(inner, pointer, out);
            }
        }
        Value::Array(items) => {
            for (index, inner) in items.iter().enumerate() {
                let pointer = format!("{at}/{index}");
                out.push(pointer.clone());
                collect_pointers(inner, pointer, out);
            }
        }
        _ => {}
    }
}
