//! `/metrics`: Prometheus text. Counters and histograms are recorded where things happen (API
//! requests here, steps in the scheduler); gauges about the database are read at scrape time.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::ApiState;

pub async fn render(State(state): State<ApiState>) -> Response {
    let Some(handle) = &state.metrics else {
        return (StatusCode::NOT_FOUND, "metrics are not enabled").into_response();
    };
    match switchback_store::engine::backlog(&state.pool).await {
        Ok(backlog) => {
            metrics::gauge!("switchback_due_executions").set(backlog.count as f64);
            metrics::gauge!("switchback_due_executions_oldest_age_seconds")
                .set(backlog.oldest_age_seconds);
        }
        Err(error) => tracing::warn!(%error, "cannot read the scheduling backlog"),
    }
    metrics::gauge!("switchback_database_pool_connections").set(f64::from(state.pool.size()));
    metrics::gauge!("switchback_database_pool_idle_connections").set(state.pool.num_idle() as f64);
    let mut response = handle.render().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    response
}
