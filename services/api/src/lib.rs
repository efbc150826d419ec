//! switchback-api: the AWS Step Functions wire contract.
//!
//! Module map:
//! - [`protocol`] — the AWS JSON 1.0 envelope (`POST /`, `X-Amz-Target`), body limits, timestamps.
//! - [`auth`] — SigV4 checks of requests against the credentials file's keys; account per key.
//! - `operations` — one module per group of operations, and the dispatch table.
//! - `long_poll` — waking GetActivityTask polls from one LISTEN connection per process.
//! - [`input`] — the model's member constraints, reported as AWS's `ValidationException`.
//! - [`page_token`] — signed, expiring pagination tokens.
//! - [`error`] — the layer's error enum and the single table to AWS error shapes.
//! - [`throttle`] — per-account token buckets (optional), AWS's quotas by default.
//! - [`tls`] — HTTPS from a certificate and key, for nodes without a proxy in front.
//! - `health` — `/healthz` and `/readyz`.
//! - `metrics_endpoint` — `/metrics` in Prometheus text.
//!
//! The API never advances an execution: it records intents in the database and leaves the rest
//! to scheduler nodes.

pub mod auth;
pub mod error;
mod health;
pub mod input;
mod long_poll;
mod metrics_endpoint;
mod operations;
pub mod page_token;
pub mod protocol;
pub mod throttle;
pub mod tls;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use metrics_exporter_prometheus::PrometheusHandle;
use switchback_store::PgPool;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use error::Error;
use page_token::PageTokens;

/// The API's settings, filled in by the binary.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Account id of every resource (until credentials map to accounts).
    pub default_account: String,
    /// Region used when a request carries no signed region.
    pub default_region: String,
    /// Largest request body accepted. AWS's hard request limit is 1 MiB; definitions can be
    /// 1 MiB of characters, which JSON escaping can make larger, hence the default of 4 MiB.
    pub max_request_bytes: usize,
    /// How long GetActivityTask waits for a task before answering without one (AWS: 60 s).
    pub activity_poll: std::time::Duration,
    /// Serve only `/healthz`, `/readyz` and `/metrics` (for scheduler-only processes).
    pub operations_only: bool,
    /// The mock configuration whose test cases StartExecution accepts as
    /// `<stateMachineArn>#<case>`.
    pub mocks: Option<std::sync::Arc<switchback_asl::mocks::MockConfig>>,
    /// Lambda endpoints and connections, for TestState's Task states run without a mock.
    pub integrations: switchback_invoke::IntegrationsConfig,
    /// The keys requests must be signed with; `None`: requests are not authenticated.
    pub credentials: Option<auth::KeyRing>,
    /// Per-account token buckets; `None`: requests are not throttled.
    pub throttle: Option<throttle::Throttle>,
    /// Whether the API is served over TLS (`api.tls`): the console's cookies are then `Secure`.
    pub tls: bool,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            default_account: "123456789012".to_owned(),
            default_region: "us-east-1".to_owned(),
            max_request_bytes: 4 * 1024 * 1024,
            activity_poll: std::time::Duration::from_secs(60),
            operations_only: false,
            mocks: None,
            integrations: Default::default(),
            credentials: None,
            throttle: None,
            tls: false,
        }
    }
}

/// Shared by every request. Cheap to clone.
#[derive(Clone)]
pub struct ApiState {
    pub pool: PgPool,
    pub config: Arc<ApiConfig>,
    pub page_tokens: PageTokens,
    pub(crate) long_polls: Arc<long_poll::Hub>,
    /// Cancelled when the server begins to shut down: long polls answer at once, without a task.
    pub shutdown: CancellationToken,
    /// Renders `/metrics`; `None` when no recorder is installed.
    pub metrics: Option<PrometheusHandle>,
    /// Wakes schedulers after an intent was recorded (coalesced NOTIFY).
    pub(crate) due: switchback_store::notify::Coalescer,
    /// Records StartExecution calls in batches.
    pub(crate) starter: switchback_store::starts::Starter,
    /// Makes the calls of TestState's Task states run without a mock.
    pub(crate) invoker: switchback_invoke::Invoker,
}

impl ApiState {
    /// How many GetActivityTask polls of the activity wait on this node.
    pub fn polling(&self, activity_arn: &str) -> usize {
        self.long_polls.polling(activity_arn)
    }

    /// Reads what the API needs from the database (the page-token key).
    pub async fn load(
        pool: PgPool,
        config: ApiConfig,
        metrics: Option<PrometheusHandle>,
    ) -> Result<Self, Error> {
        let invoker =
            switchback_invoke::Invoker::new(config.integrations.clone(), &config.default_region)
                .map_err(|error| Error::Internal(error.to_string()))?;
        let key = switchback_store::meta::page_token_key(&pool).await?;
        let starter = switchback_store::starts::Starter::start(pool.clone());
        let long_polls = Arc::new(long_poll::Hub::default());
        let shutdown = CancellationToken::new();
        tokio::spawn(long_polls.clone().listen(pool.clone(), shutdown.clone()));
        let stop = shutdown.clone();
        let due = switchback_store::notify::Coalescer::start(
            pool.clone(),
            switchback_store::notify::DUE,
            async move {
                stop.cancelled().await;
            },
        );
        Ok(Self {
            pool,
            config: Arc::new(config),
            page_tokens: PageTokens::new(key),
            long_polls,
            shutdown,
            metrics,
            due,
            starter,
            invoker,
        })
    }
}

/// Runs one operation of the API for a caller already authenticated (the console's actions):
/// the key's rights, the account's throttling, and the operation's own checks and errors, as
/// for a request on the wire.
pub async fn call(
    state: &ApiState,
    scope: switchback_store::Scope,
    key: Option<&auth::Key>,
    operation: &str,
    body: serde_json::Value,
) -> Result<serde_json::Value, Error> {
    let started = std::time::Instant::now();
    let result = async {
        if let Some(key) = key {
            auth::authorize(key, operation, &scope.region)?;
        }
        let context = operations::Context { state, scope };
        match operations::dispatch(&context, operation, body).await? {
            operations::Reply::Json(value) => Ok(value),
            operations::Reply::Text(text) => {
                serde_json::from_str(&text).map_err(|error| Error::Internal(error.to_string()))
            }
        }
    }
    .await;
    protocol::record(operation, started, result.as_ref().err());
    result
}

/// The routes of the AWS API and the probes.
pub fn router(state: ApiState) -> Router {
    let router = if state.config.operations_only {
        Router::new()
    } else {
        Router::new().route("/", post(protocol::handle))
    };
    router
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics_endpoint::render))
        .with_state(state)
}

/// Where the API takes connections: plain HTTP, or HTTPS.
pub enum Listener {
    Plain(TcpListener),
    Tls(tls::TlsListener),
}

impl Listener {
    pub fn local_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        match self {
            Listener::Plain(tcp) => tcp.local_addr(),
            Listener::Tls(tls) => axum::serve::Listener::local_addr(tls),
        }
    }

    /// The URL scheme clients use.
    pub fn scheme(&self) -> &'static str {
        match self {
            Listener::Plain(_) => "http",
            Listener::Tls(_) => "https",
        }
    }
}

/// Serves `router` (the API's, with any other pages of the node) on `listener` until `shutdown`
/// completes, then finishes in-flight requests.
pub async fn serve(
    listener: Listener,
    state: ApiState,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let cancel = state.shutdown.clone();
    let shutdown = async move {
        shutdown.await;
        // Waiting long polls answer now; then the server stops taking requests and lets the
        // ones in flight finish.
        cancel.cancel();
    };
    match listener {
        Listener::Plain(tcp) => {
            axum::serve(tcp, router)
                .with_graceful_shutdown(shutdown)
                .await
        }
        Listener::Tls(tls) => {
            axum::serve(tls, router)
                .with_graceful_shutdown(shutdown)
                .await
        }
    }
}
