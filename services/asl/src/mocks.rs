//! Mocked task responses, in the format of AWS Step Functions Local's mock configuration file
//! (`SFN_MOCK_CONFIG`), so existing test suites run unchanged:
//!
//! ```json
//! { "StateMachines": { "<machine name>": { "TestCases": { "<case>": { "<state>": "<response>" } } } },
//!   "MockedResponses": { "<response>": { "0": { "Return": {...} }, "1-2": { "Throw": { "Error": "...", "Cause": "..." } } } } }
//! ```
//!
//! An execution started on `<stateMachineArn>#<case>` uses the case. A state the case names
//! never calls out: its n-th invocation in the execution (0-based, counting retries and Map
//! iterations) gets the response whose key covers n, and fails when none does. A state the case
//! does not name makes its real call.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::failure::{Failure, errors};

/// A parsed mock configuration.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MockConfig {
    /// machine name → case → state → response name.
    machines: BTreeMap<String, BTreeMap<String, BTreeMap<String, String>>>,
    /// response name → (first, last invocation, response).
    responses: BTreeMap<String, Vec<(u32, u32, Mocked)>>,
}

/// What a mocked state answers.
#[derive(Debug, Clone, PartialEq)]
pub enum Mocked {
    Return(Value),
    Throw { error: String, cause: String },
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MockConfigError {
    #[error("the mock configuration is not valid JSON in its expected shape: {0}")]
    Shape(String),
    #[error(
        "mocked response '{response}': '{key}' is not an invocation number or range such as \"0\" or \"1-2\""
    )]
    Key { response: String, key: String },
    #[error("mocked response '{response}' at '{key}' must hold exactly one of Return or Throw")]
    Body { response: String, key: String },
    #[error(
        "test case '{case}' of state machine '{machine}' names the mocked response '{response}', which is not defined"
    )]
    Missing {
        machine: String,
        case: String,
        response: String,
    },
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct File {
    #[serde(default)]
    state_machines: BTreeMap<String, MachineCases>,
    #[serde(default)]
    mocked_responses: BTreeMap<String, BTreeMap<String, Value>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct MachineCases {
    #[serde(default)]
    test_cases: BTreeMap<String, BTreeMap<String, String>>,
}

impl MockConfig {
    pub fn parse(text: &str) -> Result<Self, MockConfigError> {
        let file: File =
            serde_json::from_str(text).map_err(|e| MockConfigError::Shape(e.to_string()))?;
        let mut responses = BTreeMap::new();
        for (name, attempts) in file.mocked_responses {
            let mut ranges = Vec::new();
            for (key, body) in attempts {
                let (first, last) = range(&key).ok_or_else(|| MockConfigError::Key {
                    response: name.clone(),
                    key: key.clone(),
                })?;
                let bad_body = || MockConfigError::Body {
                    response: name.clone(),
                    key: key.clone(),
                };
                let Value::Object(fields) = body else {
                    return Err(bad_body());
                };
                let mocked = match (fields.get("Return"), fields.get("Throw"), fields.len()) {
                    (Some(value), None, 1) => Mocked::Return(value.clone()),
                    (None, Some(throw), 1) => Mocked::Throw {
                        error: text_of(throw.get("Error")),
                        cause: text_of(throw.get("Cause")),
                    },
                    _ => return Err(bad_body()),
                };
                ranges.push((first, last, mocked));
            }
            responses.insert(name, ranges);
        }
        let mut machines = BTreeMap::new();
        for (machine, cases) in file.state_machines {
            for (case, states) in &cases.test_cases {
                if let Some(response) = states.values().find(|r| !responses.contains_key(*r)) {
                    return Err(MockConfigError::Missing {
                        machine: machine.clone(),
                        case: case.clone(),
                        response: response.clone(),
                    });
                }
            }
            machines.insert(machine, cases.test_cases);
        }
        Ok(Self {
            machines,
            responses,
        })
    }

    /// Whether the machine named `machine` has the test case `case`.
    pub fn has_case(&self, machine: &str, case: &str) -> bool {
        self.machines
            .get(machine)
            .is_some_and(|cases| cases.contains_key(case))
    }

    /// The response of `state`'s invocation number `invocation` in test case `case`:
    /// `None` when the case does not mock the state (the real call is made); a failure when it
    /// mocks the state but defines no response for this invocation.
    pub fn response(
        &self,
        machine: &str,
        case: &str,
        state: &str,
        invocation: u32,
    ) -> Option<Result<Mocked, Failure>> {
        let name = self.machines.get(machine)?.get(case)?.get(state)?;
        let found = self.responses.get(name).and_then(|ranges| {
            ranges
                .iter()
                .find(|(first, last, _)| (*first..=*last).contains(&invocation))
                .map(|(_, _, mocked)| mocked.clone())
        });
        Some(found.ok_or_else(|| {
            Failure::new(
                errors::RUNTIME,
                format!(
                    "The mocked response '{name}' of state '{state}' in test case '{case}' has no response for invocation {invocation}"
                ),
            )
        }))
    }
}

/// `"3"` or `"1-2"`.
fn range(key: &str) -> Option<(u32, u32)> {
    let parse = |s: &str| s.trim().parse::<u32>().ok();
    match key.split_once('-') {
        Some((a, b)) => {
            let (a, b) = (parse(a)?, parse(b)?);
            (a <= b).then_some((a, b))
        }
        None => parse(key).map(|n| (n, n)),
    }
}

fn text_of(value: Option<&Value>) -> String {
    match value {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const DOCS_EXAMPLE: &str = r#"{
      "StateMachines": { "LambdaSQSIntegration": { "TestCases": {
        "HappyPath": { "LambdaState": "MockedLambdaSuccess", "SQSState": "MockedSQSSuccess" },
        "RetryPath": { "LambdaState": "MockedLambdaRetry", "SQSState": "MockedSQSSuccess" },
        "HybridPath": { "LambdaState": "MockedLambdaSuccess" } } } },
      "MockedResponses": {
        "MockedLambdaSuccess": { "0": { "Return": { "StatusCode": 200, "Payload": { "body": "Hello" } } } },
        "MockedSQSSuccess": { "0": { "Return": { "MessageId": "m" } } },
        "MockedLambdaRetry": {
          "0": { "Throw": { "Error": "Lambda.ResourceNotReadyException", "Cause": "not ready" } },
          "1-2": { "Throw": { "Error": "Lambda.TimeoutException", "Cause": "timed out" } },
          "3": { "Return": { "StatusCode": 200 } } } } }"#;

    #[test]
    fn answers_by_invocation_number() {
        let config = MockConfig::parse(DOCS_EXAMPLE).expect("the docs example parses");
        let m = "LambdaSQSIntegration";
        assert!(config.has_case(m, "RetryPath"));
        assert!(!config.has_case(m, "Nope"));
        let throw = |e: &str, c: &str| {
            Some(Ok(Mocked::Throw {
                error: e.into(),
                cause: c.into(),
            }))
        };
        assert_eq!(
            config.response(m, "RetryPath", "LambdaState", 0),
            throw("Lambda.ResourceNotReadyException", "not ready")
        );
        for n in [1, 2] {
            assert_eq!(
                config.response(m, "RetryPath", "LambdaState", n),
                throw("Lambda.TimeoutException", "timed out")
            );
        }
        assert_eq!(
            config.response(m, "RetryPath", "LambdaState", 3),
            Some(Ok(Mocked::Return(json!({ "StatusCode": 200 }))))
        );
        let beyond = config.response(m, "RetryPath", "LambdaState", 4);
        assert!(matches!(beyond, Some(Err(f)) if f.cause.contains("invocation 4")));
        // A state the case does not mock makes its real call.
        assert_eq!(config.response(m, "HybridPath", "SQSState", 0), None);
    }

    #[test]
    fn refuses_malformed_files() {
        let bad_key = r#"{"MockedResponses": {"R": {"x": {"Return": 1}}}}"#;
        assert!(matches!(
            MockConfig::parse(bad_key),
            Err(MockConfigError::Key { .. })
        ));
        let both = r#"{"MockedResponses": {"R": {"0": {"Return": 1, "Throw": {}}}}}"#;
        assert!(matches!(
            MockConfig::parse(both),
            Err(MockConfigError::Body { .. })
        ));
        let dangling = r#"{"StateMachines": {"M": {"TestCases": {"C": {"S": "Nope"}}}}}"#;
        assert!(matches!(
            MockConfig::parse(dangling),
            Err(MockConfigError::Missing { .. })
        ));
        assert!(matches!(
            MockConfig::parse("\"text\""),
            Err(MockConfigError::Shape(_))
        ));
    }
}
