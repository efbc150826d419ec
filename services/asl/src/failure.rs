//! A failure inside a workflow: an error name and a cause, as Retry, Catch and the history see
//! them. Also the names of the predefined `States.*` errors.

use std::fmt;

use crate::limits::{self, Exhausted};

/// An error raised while running a state: `error` is matched by `ErrorEquals`, `cause` is text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub error: String,
    pub cause: String,
    /// For `States.QueryEvaluationError`: the field whose expression failed (`Output/result`),
    /// which the `EvaluationFailed` event names.
    pub location: Option<String>,
}

impl Failure {
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        Self {
            error: error.into(),
            cause: cause.into(),
            location: None,
        }
    }

    /// `States.QueryEvaluationError`: a JSONata expression failed or returned what its field
    /// cannot take; `location` is the field, when one is to blame.
    pub fn query_evaluation(location: Option<&str>, cause: impl Into<String>) -> Self {
        Self {
            error: errors::QUERY_EVALUATION_ERROR.to_owned(),
            cause: cause.into(),
            location: location.map(str::to_owned),
        }
    }

    /// A runtime failure of the data flow (bad path, bad template...), which `States.ALL` does
    /// not catch.
    pub fn runtime(cause: impl Into<String>) -> Self {
        Self::new(errors::RUNTIME, cause)
    }

    /// `States.DataLimitExceeded` for a value that grew past the limits while a state computed
    /// it (an intrinsic function's result or arguments); `problem` is one of
    /// [`limits::TOO_LARGE`] and [`limits::TOO_DEEP`]. AWS's cause names the state, which only
    /// the interpreter knows: until [`Failure::name_state`] puts the name in, the cause is AWS's
    /// sentence without it.
    pub fn data_limit_exceeded(problem: &str) -> Self {
        Self::new(
            errors::DATA_LIMIT_EXCEEDED,
            format!("{DATA_LIMIT_UNNAMED}{problem}."),
        )
    }

    /// `States.DataLimitExceeded` as AWS words it for the state `state`: "The state/task
    /// '<name>' returned a result with a size exceeding the maximum number of bytes service
    /// limit."
    pub fn data_limit_exceeded_in(state: &str, problem: &str) -> Self {
        Self::new(
            errors::DATA_LIMIT_EXCEEDED,
            format!("The state/task '{state}' returned a result with {problem}."),
        )
    }

    /// Names `state` in the cause of a [`Failure::data_limit_exceeded`]; any other failure is
    /// returned as it is.
    pub fn name_state(self, state: &str) -> Self {
        if self.error == errors::DATA_LIMIT_EXCEEDED
            && let Some(problem) = self
                .cause
                .strip_prefix(DATA_LIMIT_UNNAMED)
                .and_then(|rest| rest.strip_suffix('.'))
        {
            return Self::data_limit_exceeded_in(state, problem);
        }
        self
    }
}

/// A [`Failure::data_limit_exceeded`] cause before the state is named.
const DATA_LIMIT_UNNAMED: &str = "The state/task returned a result with ";

/// A byte budget ran out while a value was built: the value would exceed the payload limit.
impl From<Exhausted> for Failure {
    fn from(_: Exhausted) -> Self {
        Self::data_limit_exceeded(limits::TOO_LARGE)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.error, self.cause)
    }
}

/// The predefined error names.
pub mod errors {
    pub const ALL: &str = "States.ALL";
    pub const HEARTBEAT_TIMEOUT: &str = "States.HeartbeatTimeout";
    pub const TIMEOUT: &str = "States.Timeout";
    pub const TASK_FAILED: &str = "States.TaskFailed";
    pub const PERMISSIONS: &str = "States.Permissions";
    pub const RESULT_PATH_MATCH_FAILURE: &str = "States.ResultPathMatchFailure";
    pub const PARAMETER_PATH_FAILURE: &str = "States.ParameterPathFailure";
    pub const QUERY_EVALUATION_ERROR: &str = "States.QueryEvaluationError";
    pub const BRANCH_FAILED: &str = "States.BranchFailed";
    pub const NO_CHOICE_MATCHED: &str = "States.NoChoiceMatched";
    pub const INTRINSIC_FAILURE: &str = "States.IntrinsicFailure";
    pub const EXCEED_TOLERATED_FAILURE_THRESHOLD: &str = "States.ExceedToleratedFailureThreshold";
    pub const ITEM_READER_FAILED: &str = "States.ItemReaderFailed";
    pub const RESULT_WRITER_FAILED: &str = "States.ResultWriterFailed";
    pub const RUNTIME: &str = "States.Runtime";
    pub const DATA_LIMIT_EXCEEDED: &str = "States.DataLimitExceeded";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_limit_causes_name_the_state_once_known() {
        let unnamed = Failure::data_limit_exceeded(limits::TOO_LARGE);
        assert_eq!(unnamed.error, errors::DATA_LIMIT_EXCEEDED);
        assert_eq!(
            unnamed.clone().name_state("Big"),
            Failure::new(
                errors::DATA_LIMIT_EXCEEDED,
                "The state/task 'Big' returned a result with a size exceeding the maximum number of bytes service limit."
            )
        );
        // Named once: a failure that went through a branch keeps its first state.
        let named = unnamed.name_state("Inner");
        assert_eq!(named.clone().name_state("Outer"), named);
        let other = Failure::runtime("x");
        assert_eq!(other.clone().name_state("S"), other);
        assert_eq!(
            Failure::from(Exhausted),
            Failure::data_limit_exceeded(limits::TOO_LARGE)
        );
    }
}
