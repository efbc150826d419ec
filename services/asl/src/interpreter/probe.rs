//! What TestState watches and changes while the interpreter runs one state (see
//! `crate::test_state`): the values the state's data-flow stages produced, how its error was
//! handled, and the context object and retry count the test gives it. Executions run without a
//! probe.

use std::cell::RefCell;

use serde_json::Value;

use crate::failure::Failure;
use crate::variables::Frame;

/// The test's view into a step. Only the state under test (in the root scope) is watched.
#[derive(Debug, Default)]
pub struct Probe {
    /// The state under test.
    pub state: String,
    /// Replaces the context object (`$$`) the state reads, when the test gives one.
    pub context: Option<Value>,
    /// The variables in scope when the state starts.
    pub variables: Frame,
    /// Retries already made by the retrier that matches the state's error.
    pub retries_made: Option<u32>,
    /// A Map or Parallel state under test answers with this instead of running anything.
    pub state_mock: Option<StateMock>,
    /// How many of a mocked Map state's iterations failed.
    pub map_iteration_failures: Option<u32>,
    /// The items a Map state's `ItemReader` would have read.
    pub map_items: Option<Vec<Value>>,
    /// What the state's stages produced, filled in as they run.
    pub inspection: RefCell<Inspection>,
}

/// What a mocked Map or Parallel state answers.
#[derive(Debug, Clone, PartialEq)]
pub enum StateMock {
    /// The result, and how many items the mock's array had (a Map's iterations).
    Result {
        value: Value,
        items: usize,
    },
    Error(Failure),
}

/// TestState's `inspectionData`, as the stages of the state under test fill it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Inspection {
    pub after_input_path: Option<Value>,
    pub after_parameters: Option<Value>,
    pub after_arguments: Option<Value>,
    pub result: Option<Value>,
    pub after_result_selector: Option<Value>,
    pub after_result_path: Option<Value>,
    pub after_items_path: Option<Value>,
    pub max_concurrency: Option<u64>,
    pub tolerated_failure_count: Option<u64>,
    pub tolerated_failure_percentage: Option<f64>,
    /// The retrier that matched the error, and the wait before its next attempt (none when it
    /// has no attempt left).
    pub retry_index: Option<usize>,
    pub retry_backoff_seconds: Option<u64>,
    /// The catcher that took the error.
    pub catch_index: Option<usize>,
    /// The variables in scope after the state (with its assignments), when there are any.
    pub variables: Option<Value>,
    /// The error the state's retriers and catchers were given (not part of `inspectionData`:
    /// TestState answers it as `error` and `cause`).
    pub failure: Option<Failure>,
}

impl Probe {
    /// The inspection to fill for a thread at `state` in `scope`: only the state under test's.
    pub fn watching(&self, scope: &str, state: &str) -> Option<&RefCell<Inspection>> {
        (scope.is_empty() && state == self.state).then_some(&self.inspection)
    }
}
