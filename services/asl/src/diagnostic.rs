//! What the validator reports, and how AWS renders it in an `InvalidDefinition` error.

use std::fmt::Write as _;

/// How bad a diagnostic is. Only errors make CreateStateMachine fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    /// The value of `diagnostics[].severity` in ValidateStateMachineDefinition.
    pub fn as_str(&self) -> &'static str {
        match self {
            Severity::Error => "ERROR",
            Severity::Warning => "WARNING",
        }
    }
}

/// The class of a problem, spelled as AWS spells it on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiagnosticCode {
    /// The definition breaks the shape of the language (fields, types, values).
    SchemaValidationFailed,
    /// The definition is not JSON at all.
    InvalidJsonDescription,
    /// A transition names a state that does not exist, or a state nothing reaches.
    MissingTransitionTarget,
    /// No state in a scope can end it.
    MissingEndState,
    /// Two states share a name.
    DuplicateStateName,
    /// A Map `Label` AWS refuses. AWS reports these outside its diagnostic pipeline
    /// (a `ValueError` echoing the definition), so the code is Switchback's own.
    InvalidLabel,
}

impl DiagnosticCode {
    pub fn as_str(&self) -> &'static str {
        match self {
            DiagnosticCode::SchemaValidationFailed => "SCHEMA_VALIDATION_FAILED",
            DiagnosticCode::InvalidJsonDescription => "INVALID_JSON_DESCRIPTION",
            DiagnosticCode::MissingTransitionTarget => "MISSING_TRANSITION_TARGET",
            DiagnosticCode::MissingEndState => "MISSING_END_STATE",
            DiagnosticCode::DuplicateStateName => "DUPLICATE_STATE_NAME",
            DiagnosticCode::InvalidLabel => "INVALID_LABEL",
        }
    }
}

/// One problem found in a definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub code: DiagnosticCode,
    pub message: String,
    /// JSON-pointer-like place of the problem (`/States/A/Next`, `/States/P/Branches[0]`),
    /// `/` for the top level, and empty when AWS gives no location (it then omits the
    /// field in ValidateStateMachineDefinition and prints `at null` in CreateStateMachine).
    pub location: String,
}

impl Diagnostic {
    /// Where the problem is, as AWS prints it after `at`: `null` when there is no location.
    pub fn location_text(&self) -> &str {
        if self.location.is_empty() {
            "null"
        } else {
            &self.location
        }
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// The message AWS's CreateStateMachine puts in an InvalidDefinition error for these
/// diagnostics (only Error severity), e.g.
/// `Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: These fields are required: [States] at /'`.
///
/// AWS repeats the code for every error and joins them with `", "` inside one pair of
/// quotes: `'MISSING_TRANSITION_TARGET: Missing 'Next' target: pass3 at /States/pass1/Next,
/// MISSING_TRANSITION_TARGET: State "pass2" is not reachable. at /States/pass2'`.
/// A diagnostic without a location renders as `at null`, as AWS does for `MISSING_END_STATE`.
pub fn invalid_definition_message(diagnostics: &[Diagnostic]) -> String {
    let mut joined = String::new();
    for diagnostic in diagnostics.iter().filter(|d| d.is_error()) {
        if !joined.is_empty() {
            joined.push_str(", ");
        }
        let location = diagnostic.location_text();
        // Writing to a String cannot fail.
        let _ = write!(
            joined,
            "{}: {} at {}",
            diagnostic.code.as_str(),
            diagnostic.message,
            location
        );
    }
    format!("Invalid State Machine Definition: '{joined}'")
}

/// Like [`invalid_definition_message`], but reproduces the one AWS message that quotes the
/// definition itself: a bad Map `Label` fails with a Python-style
/// `Error=ValueError Args=["Label cannot exceed 40 characters"] in definition '<definition>'.`
/// and no other diagnostic is reported alongside it.
pub fn invalid_definition_message_for(definition: &str, diagnostics: &[Diagnostic]) -> String {
    let label = diagnostics
        .iter()
        .find(|d| d.is_error() && d.code == DiagnosticCode::InvalidLabel);
    match label {
        Some(diagnostic) => format!(
            "Error=ValueError Args=[{}] in definition '{}'.",
            python_repr(&diagnostic.message),
            crate::limits::quote_prefix(definition)
        ),
        None => invalid_definition_message(diagnostics),
    }
}

/// Python's `repr` of a string: AWS's label errors are rendered through it, so the quote
/// choice and escapes must match byte for byte.
pub(crate) fn python_repr(text: &str) -> String {
    let quote = if text.contains('\'') && !text.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(text.len() + 2);
    out.push(quote);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if is_python_unprintable(c) => {
                let code = u32::from(c);
                let _ = if code <= 0xff {
                    write!(out, "\\x{code:02x}")
                } else if code <= 0xffff {
                    write!(out, "\\u{code:04x}")
                } else {
                    write!(out, "\\U{code:08x}")
                };
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// The characters Python's `str.isprintable` rejects, as far as labels can hold them:
/// C0 and C1 controls, DEL, and the non-breaking/format spaces Python escapes.
fn is_python_unprintable(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{a0}' | '\u{ad}' | '\u{2028}' | '\u{2029}' | '\u{feff}'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(code: DiagnosticCode, message: &str, location: &str) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.to_owned(),
            location: location.to_owned(),
        }
    }

    #[test]
    fn codes_are_spelled_as_aws_spells_them() {
        assert_eq!(
            DiagnosticCode::SchemaValidationFailed.as_str(),
            "SCHEMA_VALIDATION_FAILED"
        );
        assert_eq!(
            DiagnosticCode::InvalidJsonDescription.as_str(),
            "INVALID_JSON_DESCRIPTION"
        );
        assert_eq!(
            DiagnosticCode::MissingTransitionTarget.as_str(),
            "MISSING_TRANSITION_TARGET"
        );
        assert_eq!(
            DiagnosticCode::MissingEndState.as_str(),
            "MISSING_END_STATE"
        );
        assert_eq!(Severity::Warning.as_str(), "WARNING");
    }

    #[test]
    fn one_error_renders_like_aws() {
        let message = invalid_definition_message(&[error(
            DiagnosticCode::SchemaValidationFailed,
            "These fields are required: [States]",
            "/",
        )]);
        assert_eq!(
            message,
            "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: These fields are required: [States] at /'"
        );
    }

    #[test]
    fn several_errors_repeat_the_code_and_join_with_comma() {
        let diagnostics = [
            error(
                DiagnosticCode::MissingTransitionTarget,
                "Missing 'Next' target: pass3",
                "/States/pass1/Next",
            ),
            Diagnostic {
                severity: Severity::Warning,
                ..error(DiagnosticCode::SchemaValidationFailed, "ignored", "/")
            },
            error(
                DiagnosticCode::MissingTransitionTarget,
                "State \"pass2\" is not reachable.",
                "/States/pass2",
            ),
        ];
        assert_eq!(
            invalid_definition_message(&diagnostics),
            "Invalid State Machine Definition: 'MISSING_TRANSITION_TARGET: Missing 'Next' target: pass3 at /States/pass1/Next, MISSING_TRANSITION_TARGET: State \"pass2\" is not reachable. at /States/pass2'"
        );
    }

    #[test]
    fn missing_location_renders_as_null() {
        let message = invalid_definition_message(&[error(
            DiagnosticCode::MissingEndState,
            "Workflow has no terminal state",
            "",
        )]);
        assert_eq!(
            message,
            "Invalid State Machine Definition: 'MISSING_END_STATE: Workflow has no terminal state at null'"
        );
    }

    #[test]
    fn label_errors_quote_the_definition_like_python() {
        let definition = r#"{"StartAt":"M"}"#;
        let diagnostics = [error(
            DiagnosticCode::InvalidLabel,
            "Label contains invalid character: ' '",
            "/States/M/Label",
        )];
        assert_eq!(
            invalid_definition_message_for(definition, &diagnostics),
            "Error=ValueError Args=[\"Label contains invalid character: ' '\"] in definition '{\"StartAt\":\"M\"}'."
        );
    }

    #[test]
    fn python_repr_matches_python() {
        assert_eq!(python_repr("abc"), "'abc'");
        assert_eq!(python_repr("a'b"), "\"a'b\"");
        assert_eq!(python_repr("a'\"b"), "'a\\'\"b'");
        assert_eq!(python_repr("\\"), "'\\\\'");
        assert_eq!(python_repr("\u{92}"), "'\\x92'");
        assert_eq!(python_repr("\n"), "'\\n'");
    }
}
