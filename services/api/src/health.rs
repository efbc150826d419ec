//! Probes for orchestrators: liveness says the process answers, readiness that it can serve.

use axum::extract::State;
use axum::http::StatusCode;

use crate::ApiState;

pub async fn healthz() -> &'static str {
    "ok"
}

/// Ready when the database answers and its schema is the one this build expects, and not once
/// shutdown has begun (so load balancers stop sending work first).
///
/// The reason goes to the log, not to the caller: probes are often reachable from outside the
/// cluster, and a database error can name hosts, users and databases.
pub async fn readyz(State(state): State<ApiState>) -> (StatusCode, &'static str) {
    if state.shutdown.is_cancelled() {
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down");
    }
    match switchback_store::migrate::check_current(&state.pool).await {
        Ok(()) => (StatusCode::OK, "ready"),
        Err(error) => {
            tracing::warn!(error = %error, "not ready");
            (StatusCode::SERVICE_UNAVAILABLE, "not ready")
        }
    }
}
