//! The API layer's error enum and the one table that maps it to AWS's wire errors.
//!
//! Every error leaves as `{"__type": "<Shape>", "message": "..."}` with the HTTP status AWS uses
//! for that shape. Messages follow AWS's wording, since clients and tests match on them.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    // The protocol envelope.
    #[error("{0}")]
    UnknownOperation(String),
    #[error("{0}")]
    Serialization(String),
    #[error("{0}")]
    Validation(String),
    #[error("{0}")]
    RequestTooLarge(String),

    // Modeled Step Functions errors.
    #[error("Invalid Arn: '{0}'")]
    InvalidArn(String),
    /// A `roleArn` that names no IAM role, in AWS's own words (shape `InvalidArn`).
    #[error("Invalid Role Arn: '{0}'")]
    InvalidRoleArn(String),
    #[error("Invalid Name: '{0}'")]
    InvalidName(String),
    #[error("{0}")]
    InvalidToken(String),
    #[error("{0}")]
    InvalidDefinition(String),
    #[error("{0}")]
    InvalidLoggingConfiguration(String),
    #[error("{0}")]
    InvalidTracingConfiguration(String),
    #[error("{0}")]
    InvalidEncryptionConfiguration(String),
    #[error("{0}")]
    TooManyTags(String),
    #[error("{0}")]
    ResourceNotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    MissingRequiredParameter(String),
    #[error("{0}")]
    ExecutionNotRedrivable(String),
    #[error("{0}")]
    AccessDenied(String),

    // Request authentication (AWS's common errors).
    #[error("Missing Authentication Token")]
    MissingAuthenticationToken,
    #[error("{0}")]
    IncompleteSignature(String),
    #[error("The security token included in the request is invalid.")]
    UnrecognizedClient,
    #[error("{0}")]
    InvalidSignature(String),
    /// The account's token bucket for the operation is empty (`api.throttling`).
    #[error("Rate exceeded")]
    Throttling,
    #[error("This operation is not supported by this type of state machine")]
    StateMachineTypeNotSupported,
    #[error("Activity Does Not Exist: '{0}'")]
    ActivityDoesNotExist(String),
    #[error("{0}")]
    ActivityAlreadyExists(String),
    #[error("State Machine Does Not Exist: '{0}'")]
    StateMachineDoesNotExist(String),
    #[error("State Machine Already Exists: '{0}'")]
    StateMachineAlreadyExists(String),
    #[error("State machine '{0}' is being deleted.")]
    StateMachineDeleting(String),
    #[error("{0}")]
    InvalidExecutionInput(String),
    #[error("{0}")]
    InvalidOutput(String),
    #[error("{0}")]
    TaskDoesNotExist(String),
    #[error("{0}")]
    TaskTimedOut(String),
    #[error("Execution Does Not Exist: '{0}'")]
    ExecutionDoesNotExist(String),
    #[error("Execution Already Exists: '{0}'")]
    ExecutionAlreadyExists(String),

    /// Anything that is the server's fault. The message sent to the client stays generic; the
    /// cause goes to the log.
    #[error("internal error: {0}")]
    Internal(String),
}

/// A refused start (API or child execution: `switchback_asl::start`) as this layer's
/// error of the same name.
impl From<switchback_asl::start::Refusal> for Error {
    fn from(refusal: switchback_asl::start::Refusal) -> Self {
        use switchback_asl::start::Refusal;
        match refusal {
            Refusal::InvalidArn(reason) => Error::InvalidArn(reason),
            Refusal::InvalidName(name) => Error::InvalidName(name),
            Refusal::InvalidExecutionInput(message) => Error::InvalidExecutionInput(message),
            Refusal::StateMachineDoesNotExist(arn) => Error::StateMachineDoesNotExist(arn),
            Refusal::StateMachineDeleting(arn) => Error::StateMachineDeleting(arn),
            Refusal::ExecutionAlreadyExists(arn) => Error::ExecutionAlreadyExists(arn),
        }
    }
}

impl Error {
    /// The table: error → (AWS error shape, HTTP status).
    fn shape(&self) -> (&'static str, StatusCode) {
        use Error::*;
        match self {
            UnknownOperation(_) => ("UnknownOperationException", StatusCode::BAD_REQUEST),
            Serialization(_) => ("SerializationException", StatusCode::BAD_REQUEST),
            Validation(_) => ("ValidationException", StatusCode::BAD_REQUEST),
            RequestTooLarge(_) => (
                "RequestEntityTooLargeException",
                StatusCode::PAYLOAD_TOO_LARGE,
            ),
            InvalidArn(_) | InvalidRoleArn(_) => ("InvalidArn", StatusCode::BAD_REQUEST),
            InvalidName(_) => ("InvalidName", StatusCode::BAD_REQUEST),
            InvalidToken(_) => ("InvalidToken", StatusCode::BAD_REQUEST),
            InvalidDefinition(_) => ("InvalidDefinition", StatusCode::BAD_REQUEST),
            InvalidLoggingConfiguration(_) => {
                ("InvalidLoggingConfiguration", StatusCode::BAD_REQUEST)
            }
            InvalidTracingConfiguration(_) => {
                ("InvalidTracingConfiguration", StatusCode::BAD_REQUEST)
            }
            InvalidEncryptionConfiguration(_) => {
                ("InvalidEncryptionConfiguration", StatusCode::BAD_REQUEST)
            }
            TooManyTags(_) => ("TooManyTags", StatusCode::BAD_REQUEST),
            ResourceNotFound(_) => ("ResourceNotFound", StatusCode::BAD_REQUEST),
            Conflict(_) => ("ConflictException", StatusCode::CONFLICT),
            MissingRequiredParameter(_) => ("MissingRequiredParameter", StatusCode::BAD_REQUEST),
            ExecutionNotRedrivable(_) => ("ExecutionNotRedrivable", StatusCode::BAD_REQUEST),
            AccessDenied(_) => ("AccessDeniedException", StatusCode::BAD_REQUEST),
            MissingAuthenticationToken => {
                ("MissingAuthenticationTokenException", StatusCode::FORBIDDEN)
            }
            IncompleteSignature(_) => ("IncompleteSignatureException", StatusCode::FORBIDDEN),
            UnrecognizedClient => ("UnrecognizedClientException", StatusCode::FORBIDDEN),
            InvalidSignature(_) => ("InvalidSignatureException", StatusCode::FORBIDDEN),
            Throttling => ("ThrottlingException", StatusCode::BAD_REQUEST),
            StateMachineTypeNotSupported => {
                ("StateMachineTypeNotSupported", StatusCode::BAD_REQUEST)
            }
            ActivityDoesNotExist(_) => ("ActivityDoesNotExist", StatusCode::BAD_REQUEST),
            ActivityAlreadyExists(_) => ("ActivityAlreadyExists", StatusCode::BAD_REQUEST),
            StateMachineDoesNotExist(_) => ("StateMachineDoesNotExist", StatusCode::BAD_REQUEST),
            StateMachineAlreadyExists(_) => ("StateMachineAlreadyExists", StatusCode::BAD_REQUEST),
            StateMachineDeleting(_) => ("StateMachineDeleting", StatusCode::BAD_REQUEST),
            InvalidExecutionInput(_) => ("InvalidExecutionInput", StatusCode::BAD_REQUEST),
            InvalidOutput(_) => ("InvalidOutput", StatusCode::BAD_REQUEST),
            TaskDoesNotExist(_) => ("TaskDoesNotExist", StatusCode::BAD_REQUEST),
            TaskTimedOut(_) => ("TaskTimedOut", StatusCode::BAD_REQUEST),
            ExecutionDoesNotExist(_) => ("ExecutionDoesNotExist", StatusCode::BAD_REQUEST),
            ExecutionAlreadyExists(_) => ("ExecutionAlreadyExists", StatusCode::BAD_REQUEST),
            Internal(_) => ("InternalFailure", StatusCode::INTERNAL_SERVER_ERROR),
        }
    }

    /// The AWS error shape name (`__type`).
    pub fn type_name(&self) -> &'static str {
        self.shape().0
    }
}

impl From<switchback_store::Error> for Error {
    fn from(error: switchback_store::Error) -> Self {
        Error::Internal(error.to_string())
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let (type_name, status) = self.shape();
        let message = match &self {
            Error::Internal(cause) => {
                tracing::error!(cause = %cause, "request failed");
                "An internal error occurred.".to_owned()
            }
            other => other.to_string(),
        };
        let body = json!({ "__type": type_name, "message": message }).to_string();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(crate::protocol::CONTENT_TYPE),
        );
        if let Ok(value) = HeaderValue::from_str(type_name) {
            headers.insert("x-amzn-errortype", value);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use switchback_asl::start::Refusal;

    use super::Error;

    #[test]
    fn a_refused_start_reads_the_same_from_the_api_as_from_a_task() {
        for refusal in [
            Refusal::InvalidArn("x".into()),
            Refusal::InvalidName("a b".into()),
            Refusal::InvalidExecutionInput("Invalid State Machine Execution Input: 'x'".into()),
            Refusal::StateMachineDoesNotExist("arn".into()),
            Refusal::StateMachineDeleting("arn".into()),
            Refusal::ExecutionAlreadyExists("arn".into()),
        ] {
            let error = Error::from(refusal.clone());
            assert_eq!(error.to_string(), refusal.to_string());
            assert_eq!(error.type_name(), refusal.code());
        }
    }
}
