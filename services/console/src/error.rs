//! The console's error enum, and the page each error shows.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::html;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// What the API answered (an action refused, a malformed ARN): shown with AWS's shape and
    /// words, as a client would see them.
    #[error("{}: {error}", error.type_name())]
    Api {
        #[from]
        error: switchback_api::Error,
    },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("internal error: {0}")]
    Store(#[from] switchback_store::Error),
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = match &self {
            Error::Api {
                error: switchback_api::Error::Internal(_),
            }
            | Error::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Error::Api { .. } | Error::BadRequest(_) => StatusCode::BAD_REQUEST,
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::Forbidden(_) => StatusCode::FORBIDDEN,
        };
        let message = match &self {
            Error::Store(error) => {
                tracing::error!(%error, "console page failed");
                "An internal error occurred.".to_owned()
            }
            Error::Api {
                error: switchback_api::Error::Internal(cause),
            } => {
                tracing::error!(%cause, "console action failed");
                "An internal error occurred.".to_owned()
            }
            other => other.to_string(),
        };
        let body = crate::pages::layout::bare(
            "Error",
            html! {
                h1 { "Something went wrong" }
                p.error #error-message { (message) }
                p { a href="/console/" { "Back to the state machines" } }
            },
        );
        (status, body).into_response()
    }
}
