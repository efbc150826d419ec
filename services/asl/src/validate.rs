//! Validation of a whole definition: the entry point, the options, and the sink every
//! rule writes its diagnostics into.
//!
//! Validation works on `serde_json::Value` rather than a typed model because AWS reports
//! every problem at once; a strict deserializer would stop at the first.

mod choice;
mod fields;
mod language;
mod machine;
mod map;
mod reachability;
mod retry_catch;
mod states;
mod task;
mod timestamp;
mod variables;

use std::collections::HashSet;

use serde_json::Value;

use crate::diagnostic::{Diagnostic, DiagnosticCode, Severity};
use crate::model::StateMachine;
use crate::model::definition::QueryLanguage;
use serde::Deserialize;

/// STANDARD or EXPRESS: Express machines refuse some integrations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MachineType {
    #[default]
    Standard,
    Express,
}

#[derive(Debug, Clone, Default)]
pub struct ValidateOptions {
    pub machine_type: MachineType,
}

/// Every diagnostic (errors and warnings), never stopping at the first. Never panics on any input.
pub fn validate(definition: &str, options: &ValidateOptions) -> Vec<Diagnostic> {
    let mut checker = Checker::new(options);
    if definition.trim().is_empty() {
        checker.unlocated(
            DiagnosticCode::SchemaValidationFailed,
            "Definition must be a valid JSON object",
        );
        return checker.diagnostics;
    }
    match serde_json::from_str::<Value>(definition) {
        Ok(Value::Object(root)) => {
            machine::validate_root(&mut checker, &root);
            // Variables are checked on the typed model, once everything else is valid.
            let valid = !checker.diagnostics.iter().any(Diagnostic::is_error);
            if valid && let Ok(model) = StateMachine::deserialize(Value::Object(root)) {
                variables::check(&mut checker, &model);
            }
        }
        Ok(_) => checker.unlocated(
            DiagnosticCode::SchemaValidationFailed,
            "Definition must be a valid JSON object",
        ),
        Err(error) => checker.unlocated(
            DiagnosticCode::InvalidJsonDescription,
            &json_error_message(&error),
        ),
    }
    checker.diagnostics
}

/// AWS's parser is Jackson; its exact text cannot be reproduced, so say what and where
/// in the same spirit.
fn json_error_message(error: &serde_json::Error) -> String {
    let what = match error.classify() {
        serde_json::error::Category::Eof => "Unexpected end-of-input",
        _ => "Unexpected character",
    };
    format!(
        "{what}: {error} (line: {}, column: {})",
        error.line(),
        error.column()
    )
}

/// Collects diagnostics while the rules walk the definition.
pub(crate) struct Checker<'o> {
    pub(crate) options: &'o ValidateOptions,
    pub(crate) diagnostics: Vec<Diagnostic>,
    /// The top-level `QueryLanguage`: states inherit it, and nested scopes do not change it
    /// (AWS resolves a state's language from its own field or the machine's, never a parent's).
    pub(crate) root_language: QueryLanguage,
    /// State names seen so far anywhere in the machine: AWS wants them unique across
    /// every scope, not just within one `States` object.
    pub(crate) state_names: HashSet<String>,
}

impl<'o> Checker<'o> {
    fn new(options: &'o ValidateOptions) -> Self {
        Checker {
            options,
            diagnostics: Vec::new(),
            root_language: QueryLanguage::JsonPath,
            state_names: HashSet::new(),
        }
    }

    pub(crate) fn express(&self) -> bool {
        self.options.machine_type == MachineType::Express
    }

    /// A `SCHEMA_VALIDATION_FAILED` error at `location` (`""` is the top level, shown as `/`).
    pub(crate) fn schema(&mut self, message: impl Into<String>, location: &str) {
        self.error(DiagnosticCode::SchemaValidationFailed, message, location);
    }

    pub(crate) fn error(
        &mut self,
        code: DiagnosticCode,
        message: impl Into<String>,
        location: &str,
    ) {
        let location = if location.is_empty() { "/" } else { location };
        self.diagnostics.push(Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            location: location.to_owned(),
        });
    }

    /// An error AWS reports without a location.
    /// A problem AWS accepts the definition with, which ValidateStateMachineDefinition reports.
    pub(crate) fn warning(&mut self, message: impl Into<String>, location: &str) {
        let location = if location.is_empty() { "/" } else { location };
        self.diagnostics.push(Diagnostic {
            severity: Severity::Warning,
            code: DiagnosticCode::SchemaValidationFailed,
            message: message.into(),
            location: location.to_owned(),
        });
    }

    pub(crate) fn unlocated(&mut self, code: DiagnosticCode, message: &str) {
        self.diagnostics.push(Diagnostic {
            severity: Severity::Error,
            code,
            message: message.to_owned(),
            location: String::new(),
        });
    }
}

/// The location of `key` inside the object at `base`.
pub(crate) fn child(base: &str, key: &str) -> String {
    format!("{base}/{key}")
}

/// The location of element `index` of the array at `base`, in AWS's `Branches[0]` style.
pub(crate) fn element(base: &str, index: usize) -> String {
    format!("{base}[{index}]")
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;

    pub(crate) fn check(definition: &str) -> Vec<Diagnostic> {
        validate(definition, &ValidateOptions::default())
    }

    pub(crate) fn check_express(definition: &str) -> Vec<Diagnostic> {
        validate(
            definition,
            &ValidateOptions {
                machine_type: MachineType::Express,
            },
        )
    }

    /// `(code, message, location)` of every error, for compact assertions.
    pub(crate) fn errors(diagnostics: &[Diagnostic]) -> Vec<(&'static str, String, String)> {
        diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| (d.code.as_str(), d.message.clone(), d.location.clone()))
            .collect()
    }

    pub(crate) fn schema(message: &str, location: &str) -> (&'static str, String, String) {
        (
            "SCHEMA_VALIDATION_FAILED",
            message.to_owned(),
            location.to_owned(),
        )
    }

    /// A one-state machine around `state`, named `A`.
    pub(crate) fn single(state: &str) -> String {
        format!(r#"{{"StartAt":"A","States":{{"A":{state}}}}}"#)
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::*;
    use super::*;

    #[test]
    fn a_minimal_machine_is_clean() {
        assert!(check(&single(r#"{"Type":"Pass","End":true}"#)).is_empty());
    }

    #[test]
    fn blank_and_non_object_definitions_are_not_json_objects() {
        for definition in [" ", "", "[]", "1", "null", "\"x\""] {
            let diagnostics = check(definition);
            assert_eq!(diagnostics.len(), 1, "{definition:?}");
            assert_eq!(
                diagnostics[0].message,
                "Definition must be a valid JSON object"
            );
            assert_eq!(diagnostics[0].location, "");
        }
    }

    #[test]
    fn broken_json_is_invalid_json_description() {
        let diagnostics = check("{\"StartAt\": ");
        assert_eq!(diagnostics.len(), 1);
        assert_eq!(diagnostics[0].code, DiagnosticCode::InvalidJsonDescription);
        assert!(
            diagnostics[0]
                .message
                .starts_with("Unexpected end-of-input")
        );
    }

    /// CI has no corpus: mangle a definition that touches every state type instead.
    #[test]
    fn truncated_and_mangled_definitions_never_panic() {
        let definition = r#"{"StartAt":"C","TimeoutSeconds":5,"States":{
            "C":{"Type":"Choice","Choices":[{"And":[{"Variable":"$.a","IsNull":true}],"Next":"P"}],"Default":"W"},
            "W":{"Type":"Wait","Timestamp":"2016-03-14T01:59:00Z","Next":"P"},
            "P":{"Type":"Parallel","Branches":[{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"r","Retry":[{"ErrorEquals":["States.ALL"]}],"End":true}}}],"Next":"M"},
            "M":{"Type":"Map","Label":"l","ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"EXPRESS"},"StartAt":"S","States":{"S":{"Type":"Succeed"}}},"Catch":[{"ErrorEquals":["E"],"Next":"F"}],"End":true},
            "F":{"Type":"Fail","Error":"E"}}}"#;
        assert!(errors(&check(definition)).is_empty());
        for (index, _) in definition.char_indices() {
            let truncated = &definition[..index];
            check(truncated);
            for junk in ["", "{", "}", "[", "]", "\"", ":", ",", "0", "null"] {
                let mut mangled = String::with_capacity(definition.len() + 4);
                mangled.push_str(truncated);
                mangled.push_str(junk);
                mangled.push_str(&definition[index + 1..]);
                check_express(&mangled);
            }
        }
    }

    #[test]
    fn locations_use_brackets_for_array_elements() {
        assert_eq!(
            element(&child("/States/P", "Branches"), 2),
            "/States/P/Branches[2]"
        );
    }
}
