//! StartExecution's rules, in one place for every way an execution starts: the API's
//! StartExecution and StartSyncExecution, and a `states:startExecution` task's child. Pure:
//! the store then records the start and answers with what it found.

use thiserror::Error;

use crate::arn::Arn;
use crate::limits::{self, MAX_PAYLOAD_BYTES as MAX_INPUT_BYTES};
use crate::names::is_valid_resource_name;

/// Why an execution does not start, in AWS's words. [`Refusal::code`] is the error's name; a
/// task that started a child reports it as `StepFunctions.<code>Exception`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Refusal {
    #[error("Invalid Arn: '{0}'")]
    InvalidArn(String),
    #[error("Invalid Name: '{0}'")]
    InvalidName(String),
    #[error("{0}")]
    InvalidExecutionInput(String),
    #[error("State Machine Does Not Exist: '{0}'")]
    StateMachineDoesNotExist(String),
    #[error("State machine '{0}' is being deleted.")]
    StateMachineDeleting(String),
    #[error("Execution Already Exists: '{0}'")]
    ExecutionAlreadyExists(String),
}

impl Refusal {
    /// AWS's name for the error.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::InvalidArn(_) => "InvalidArn",
            Refusal::InvalidName(_) => "InvalidName",
            Refusal::InvalidExecutionInput(_) => "InvalidExecutionInput",
            Refusal::StateMachineDoesNotExist(_) => "StateMachineDoesNotExist",
            Refusal::StateMachineDeleting(_) => "StateMachineDeleting",
            Refusal::ExecutionAlreadyExists(_) => "ExecutionAlreadyExists",
        }
    }
}

/// A start that passed the rules: the machine's ARN (as given, and unqualified), the
/// version number or alias name it names if any, the execution's name and input.
#[derive(Debug, Clone)]
pub struct Start {
    pub machine_arn: String,
    pub machine: Arn,
    pub qualifier: Option<String>,
    pub name: String,
    pub input: String,
}

/// Checks a start: the machine's ARN, the name (the caller names an unnamed execution with a
/// new UUID, as AWS does; this crate has no randomness of its own) and the input (`{}` when
/// none is given). Lengths the model constrains are the caller's (the API checks them with
/// every other member); a task's child has only these rules.
pub fn check(machine_arn: &str, name: String, input: Option<String>) -> Result<Start, Refusal> {
    let (machine, qualifier) = Arn::parse_qualified_machine(machine_arn)
        .map_err(|error| Refusal::InvalidArn(error.to_string()))?;
    if !is_valid_resource_name(&name) {
        return Err(Refusal::InvalidName(name));
    }
    let input = input.unwrap_or_else(|| "{}".to_owned());
    check_input(&input)?;
    Ok(Start {
        machine_arn: machine_arn.to_owned(),
        machine,
        qualifier,
        name,
        input,
    })
}

/// An execution's input as AWS checks it: any JSON value up to 256 KiB, nested at most
/// [`limits::MAX_DEPTH`] levels, with the parser's complaint in the refusal for anything else.
pub fn check_input(input: &str) -> Result<(), Refusal> {
    let invalid = |reason: String| {
        Refusal::InvalidExecutionInput(format!("Invalid State Machine Execution Input: '{reason}'"))
    };
    if input.len() > MAX_INPUT_BYTES {
        return Err(invalid(format!(
            "The input is {} bytes, more than the limit of {MAX_INPUT_BYTES} bytes",
            input.len()
        )));
    }
    if input.trim().is_empty() {
        return Err(invalid("Invalid execution input.".to_owned()));
    }
    match serde_json::from_str::<serde_json::Value>(input) {
        Ok(value) if limits::too_deep(&value) => Err(invalid(format!(
            "The input is nested deeper than the limit of {} levels",
            limits::MAX_DEPTH
        ))),
        Ok(_) => Ok(()),
        Err(error) => Err(invalid(parser_message(input, &error))),
    }
}

/// AWS reports input errors in the words of its JSON parser; the common cases are rendered the
/// same way here, anything else with this parser's own description.
fn parser_message(input: &str, error: &serde_json::Error) -> String {
    let text = input.trim_start();
    let first = text.chars().next().unwrap_or(' ');
    if first.is_alphabetic() {
        let token: String = text
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        return format!(
            "Unrecognized token '{token}': was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')"
        );
    }
    // An object whose key does not start with a double quote.
    if first == '{' {
        let after = text[1..].trim_start();
        if let Some(c) = after.chars().next()
            && c != '"'
            && c != '}'
        {
            return format!(
                "Unexpected character ('{c}' (code {})): was expecting double-quote to start field name",
                c as u32
            );
        }
    }
    error.to_string()
}

#[cfg(test)]
mod tests {
    use super::{Refusal, check, check_input};

    fn message(input: &str) -> String {
        check_input(input).unwrap_err().to_string()
    }

    #[test]
    fn any_json_value_is_fine() {
        for input in ["{}", "2", "\"text\"", "null", "[1, 2]"] {
            assert!(check_input(input).is_ok(), "{input}");
        }
    }

    #[test]
    fn errors_read_like_aws() {
        assert_eq!(
            message("not some json"),
            "Invalid State Machine Execution Input: 'Unrecognized token 'not': was expecting \
             (JSON String, Number, Array, Object or token 'null', 'true' or 'false')'"
        );
        assert_eq!(
            message("{'not': 'json'"),
            "Invalid State Machine Execution Input: 'Unexpected character (''' (code 39)): \
             was expecting double-quote to start field name'"
        );
        assert_eq!(
            message(""),
            "Invalid State Machine Execution Input: 'Invalid execution input.'"
        );
        assert!(message(&"1".repeat(262_145)).contains("more than the limit"));
        let deep = format!("{}{}", "[".repeat(101), "]".repeat(101));
        assert!(message(&deep).contains("nested deeper than the limit of 100 levels"));
        let fine = format!("{}{}", "[".repeat(100), "]".repeat(100));
        assert!(check_input(&fine).is_ok());
    }

    #[test]
    fn names_arns_and_input_are_checked() {
        let arn = "arn:aws:states:us-east-1:123456789012:stateMachine:m";
        let start = check(arn, "n".into(), None).expect("valid");
        assert_eq!((start.name.as_str(), start.input.as_str()), ("n", "{}"));
        assert_eq!(start.machine.name(), "m");
        assert_eq!(
            check(arn, "a b".into(), None).unwrap_err(),
            Refusal::InvalidName("a b".into())
        );
        assert_eq!(
            check("nope", "n".into(), None).unwrap_err().code(),
            "InvalidArn"
        );
        assert_eq!(
            check(arn, "n".into(), Some("[".into())).unwrap_err().code(),
            "InvalidExecutionInput"
        );
    }
}
