//! ValidateStateMachineDefinition: the validator's diagnostics, without creating anything.

use serde::Deserialize;
use serde_json::{Value, json};
use switchback_asl::{MachineType, Severity, ValidateOptions, validate};

use super::Context;
use crate::Error;
use crate::input::{Checks, parse};

/// botocore's `ValidateStateMachineDefinitionMaxResult`: 0 to 100, where 0 means 100.
const MAX_DIAGNOSTICS: i64 = 100;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Input {
    definition: Option<String>,
    #[serde(rename = "type")]
    machine_type: Option<String>,
    severity: Option<String>,
    max_results: Option<i64>,
}

pub async fn validate_definition(_context: &Context<'_>, body: Value) -> Result<Value, Error> {
    let input: Input = parse(body)?;
    Checks::new()
        .required("definition", &input.definition)
        .length(
            "definition",
            input.definition.as_deref(),
            1,
            super::state_machines::MAX_DEFINITION_CHARS,
        )
        .one_of(
            "type",
            input.machine_type.as_deref(),
            &["STANDARD", "EXPRESS"],
        )
        .one_of("severity", input.severity.as_deref(), &["ERROR", "WARNING"])
        .range("maxResults", input.max_results, 0, MAX_DIAGNOSTICS)
        .finish()?;
    let options = ValidateOptions {
        machine_type: match input.machine_type.as_deref() {
            Some("EXPRESS") => MachineType::Express,
            _ => MachineType::Standard,
        },
    };
    // `severity` is the lowest severity reported: ERROR (the default) leaves warnings out.
    let with_warnings = input.severity.as_deref() == Some("WARNING");
    let limit = match input.max_results {
        None | Some(0) => MAX_DIAGNOSTICS,
        Some(n) => n,
    };
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);

    let diagnostics = validate(input.definition.as_deref().unwrap_or_default(), &options);
    let failed = diagnostics.iter().any(|d| d.is_error());
    let reported: Vec<_> = diagnostics
        .iter()
        .filter(|d| with_warnings || d.severity == Severity::Error)
        .collect();
    let listed: Vec<Value> = reported
        .iter()
        .take(limit)
        .map(|d| {
            let mut item = json!({
                "severity": d.severity.as_str(),
                "code": d.code.as_str(),
                "message": d.message,
            });
            if !d.location.is_empty() {
                item["location"] = Value::from(d.location.as_str());
            }
            item
        })
        .collect();
    Ok(json!({
        "result": if failed { "FAIL" } else { "OK" },
        "diagnostics": listed,
        "truncated": reported.len() > limit,
    }))
}
