//! Probes for orchestrators: liveness says the process answers, readiness that it can serve.

use axum::extract::State;
use axum::http::StatusCode;

use crate::ApiState;

pub async fn healthz() -> &'static str {
    "ok"
}

/// Ready when the database answers and its schema is the one this build expects, and not once
/// shutdown has begun (so load balancers stop sending work first).
pub async fn readyz(State(state): State<ApiState>) -> (StatusCode, String) {
    if state.shutdown.is_cancelled() {
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down".to_owned());
    }
    match switchback_store::migrate::check_current(&state.pool).await {
        Ok(()) => (StatusCode::OK, "ready".to_owned()),
        Err(error) => (StatusCode::SERVICE_UNAVAILABLE, error.to_string()),
    }
}
