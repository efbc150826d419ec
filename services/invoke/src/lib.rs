//! switchback-invoke: outbound calls for task integrations, what a Task state's `Resource` does
//! when it leaves the database. The scheduler performs these under a lease and records the
//! [`Outcome`] as a signal; TestState makes them in the API node.
//!
//! Module map:
//! - this file — [`Invoker`], the one value callers hold, [`Outcome`] and the layer's [`Error`].
//! - `config` — the `[integrations]` settings: Lambda endpoints and credentials, connections.
//! - `client` — the HTTP/1.1 client (http and https, rustls on ring), deadlines, body cap,
//!   URLs without their query for logs (header values are never logged).
//! - `destinations` — where HTTP Tasks may go: public addresses only unless allowed, and a
//!   connection's credentials only to its `allowed_endpoints`.
//! - `sigv4` — AWS Signature Version 4, pure.
//! - `lambda` — Lambda's Invoke API and the mapping of its answers to Step Functions' results.
//! - `s3` — S3's GetObject (by range), ListObjectsV2 and PutObject, for Distributed Map's
//!   ItemReader and ResultWriter.
//! - `http_task` — the HTTP Task (`arn:aws:states:::http:invoke`) and connection authorization.
//! - `loopback` (tests) — both integrations against a small HTTP server on 127.0.0.1.
//!
//! Nothing here touches the database or the clock beyond the wall time a signature needs; every
//! failure, including a broken network, comes back as an [`Outcome::Failed`] that Retry and Catch
//! can match. Secrets from the settings never appear in logs, errors or outputs.

mod client;
pub mod config;
mod destinations;
mod http_task;
mod lambda;
#[cfg(test)]
mod loopback;
pub mod s3;
pub mod sigv4;

use std::sync::Arc;
use std::time::Duration;

use switchback_asl::interpreter::{Call, Event, Invocation};

pub use config::{
    ApiKeyAuth, AuthorizationType, BasicAuth, ConnectionConfig, FunctionConfig, HttpConfig,
    HttpParameters, IntegrationsConfig, LambdaConfig, OAuthConfig, S3Config,
};
pub use http_task::{ExchangeRequest, ExchangeResponse, HttpExchange};

/// Lambda's own limit on a function's run time.
const LAMBDA_MAX_SECONDS: u64 = 900;
/// AWS's hard limit on an HTTP Task's request.
const HTTP_MAX_SECONDS: u64 = 60;
/// A call may run this much longer than its state's `TimeoutSeconds`, so that the state's own
/// deadline (`States.Timeout`) fires first rather than the call's transport error.
const DEADLINE_SLACK: Duration = Duration::from_secs(2);

/// The result of one call, as the state machine sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The task's result.
    Succeeded(serde_json::Value),
    /// A task failure with AWS's error name and cause.
    Failed { error: String, cause: String },
}

impl Outcome {
    /// The signal the outcome is for the task `task_id` of the invocation: a result (submitted,
    /// when the state goes on waiting for a callback or a job), or a failure. A Lambda function
    /// called by its ARN answers with its payload alone.
    pub fn into_event(self, invocation: &Invocation, task_id: u64) -> Event {
        match self {
            Outcome::Succeeded(output) => {
                let output = match &invocation.call {
                    Call::Lambda { direct: true, .. } => output
                        .get("Payload")
                        .cloned()
                        .unwrap_or(serde_json::Value::Null),
                    _ => output,
                };
                let output = output.to_string();
                if invocation.pattern.waits_after_call() {
                    Event::TaskSubmitted { task_id, output }
                } else {
                    Event::TaskSucceeded { task_id, output }
                }
            }
            Outcome::Failed { error, cause } => Event::TaskFailed {
                task_id,
                error,
                cause,
            },
        }
    }

    pub(crate) fn failed(error: impl Into<String>, cause: impl Into<String>) -> Self {
        Self::Failed {
            error: error.into(),
            cause: cause.into(),
        }
    }
}

/// Errors of this layer. Only [`Error::Config`] and [`Error::Tls`] leave it (from
/// [`Invoker::new`]); the others become an [`Outcome::Failed`] of the integration that met them.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid integrations settings: {0}")]
    Config(String),
    #[error("cannot set up TLS: {0}")]
    Tls(String),
    #[error("no response within {0:?}")]
    Timeout(Duration),
    #[error("cannot connect: {0}")]
    Connect(String),
    #[error("{0}")]
    Transport(String),
    #[error("response body larger than {limit} bytes")]
    TooLarge { limit: usize },
    /// An HTTP Task's destination is not a public address and private ones are not allowed.
    #[error("{0}")]
    PrivateDestination(String),
}

/// Performs task integrations. Cheap to clone: the HTTP clients and their connection pools,
/// the settings and the OAuth token cache are shared.
#[derive(Clone)]
pub struct Invoker {
    inner: Arc<Inner>,
}

struct Inner {
    /// For endpoints the operator configured (Lambda, OAuth token endpoints): any address.
    http: client::HttpClient,
    /// For endpoints a state machine chose (HTTP Tasks): public addresses only unless the
    /// settings allow private ones; then the same client as `http`.
    task_http: client::HttpClient,
    lambda: lambda::Lambda,
    http_tasks: http_task::HttpTasks,
    s3: s3::S3,
}

impl std::fmt::Debug for Invoker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Invoker")
            .field("lambda", &self.inner.lambda)
            .finish_non_exhaustive()
    }
}

impl Invoker {
    /// Checks the settings and builds the client. `default_region` is the service's region,
    /// used for Lambda when the settings name none.
    pub fn new(config: IntegrationsConfig, default_region: &str) -> Result<Self, Error> {
        let lambda = lambda::Lambda::new(config.lambda, default_region)?;
        let http_tasks = http_task::HttpTasks::new(config.connections, default_region)?;
        let http = client::HttpClient::new(destinations::Destinations::Any)?;
        let task_http = if config.http.private_destinations_allowed() {
            http.clone()
        } else {
            client::HttpClient::new(destinations::Destinations::PublicOnly)?
        };
        let s3 = s3::S3::new(&config.s3, default_region, http.clone())?;
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                task_http,
                lambda,
                http_tasks,
                s3,
            }),
        })
    }

    /// The S3 client Distributed Map states read items with and write results with.
    pub fn s3(&self) -> &s3::S3 {
        &self.inner.s3
    }

    /// `lambda:invoke` with `InvocationType` `RequestResponse`: on success the AWS-shaped output
    /// `{"ExecutedVersion", "Payload", "SdkHttpMetadata", "SdkResponseMetadata", "StatusCode"}`,
    /// `Payload` holding the function's result parsed as JSON (or the text when it is not JSON).
    /// `payload` is sent as it is; `timeout` bounds the whole call. `raw_error_cause`: a
    /// function error's cause is the payload as the function wrote it (a function called by its
    /// ARN), else the payload re-serialized compactly (`lambda:invoke`), as AWS reports them.
    pub async fn lambda_invoke(
        &self,
        function_name: &str,
        qualifier: Option<&str>,
        payload: &str,
        raw_error_cause: bool,
        timeout: Duration,
    ) -> Outcome {
        self.inner
            .lambda
            .invoke(
                &self.inner.http,
                function_name,
                qualifier,
                payload,
                raw_error_cause,
                timeout,
            )
            .await
    }

    /// Makes an invocation's Lambda or HTTP call, bounded by its state's `TimeoutSeconds` (plus
    /// a little slack) and the service's own limit. Other calls are not made here (a nested
    /// execution needs the database): they fail with `States.Runtime`.
    pub async fn call(&self, invocation: &Invocation) -> Outcome {
        let limit = |max: u64| call_limit(invocation, max);
        match &invocation.call {
            Call::Lambda {
                function_name,
                qualifier,
                payload,
                direct,
            } => {
                self.lambda_invoke(
                    function_name,
                    qualifier.as_deref(),
                    payload,
                    *direct,
                    limit(LAMBDA_MAX_SECONDS),
                )
                .await
            }
            Call::Http { parameters } => {
                self.http_invoke(parameters, limit(HTTP_MAX_SECONDS)).await
            }
            Call::StartExecution { .. } | Call::Unsupported { .. } => Outcome::Failed {
                error: "States.Runtime".into(),
                cause: "this task does not call out".into(),
            },
        }
    }

    /// As [`Invoker::call`], also returning what an HTTP Task sent and received (TestState's
    /// TRACE), without what its connection adds: those are the operator's secrets.
    pub async fn call_traced(&self, invocation: &Invocation) -> (Outcome, Option<HttpExchange>) {
        let Call::Http { parameters } = &invocation.call else {
            return (self.call(invocation).await, None);
        };
        let mut exchange = None;
        let timeout = call_limit(invocation, HTTP_MAX_SECONDS);
        let outcome = self
            .inner
            .http_tasks
            .invoke(
                &self.inner.task_http,
                &self.inner.http,
                parameters,
                timeout,
                Some(&mut exchange),
            )
            .await;
        (outcome, exchange)
    }

    /// `http:invoke` with its evaluated Parameters. `timeout` is capped at AWS's 60 seconds.
    pub async fn http_invoke(&self, parameters: &serde_json::Value, timeout: Duration) -> Outcome {
        self.inner
            .http_tasks
            .invoke(
                &self.inner.task_http,
                &self.inner.http,
                parameters,
                timeout,
                None,
            )
            .await
    }
}

/// How long a call may take: its state's `TimeoutSeconds` plus a little slack, within one
/// second and the service's own limit of `max` seconds.
fn call_limit(invocation: &Invocation, max: u64) -> Duration {
    let seconds = invocation
        .timeout_seconds
        .and_then(|s| u64::try_from(s).ok())
        .map_or(Duration::from_secs(max), |s| {
            Duration::from_secs(s) + DEADLINE_SLACK
        });
    seconds.clamp(Duration::from_secs(1), Duration::from_secs(max))
}

/// An `http(s)://host[:port][/path]` base URL without credentials in it.
fn check_base_url(url: &str, what: &str) -> Result<(), Error> {
    let authority = url
        .split_once("://")
        .map_or(url, |(_, rest)| rest.split('/').next().unwrap_or_default());
    if authority.contains('@') {
        // Not echoed: the user part may be a password.
        return Err(Error::Config(format!(
            "{what} must not carry credentials in the URL"
        )));
    }
    let uri = url
        .parse::<http::Uri>()
        .map_err(|_| Error::Config(format!("{what} '{url}' is not a URL")))?;
    if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.host().is_none() {
        return Err(Error::Config(format!(
            "{what} '{url}' must be an http:// or https:// URL"
        )));
    }
    Ok(())
}
