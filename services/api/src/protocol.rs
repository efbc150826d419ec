//! The AWS JSON 1.0 envelope: `POST /` with `X-Amz-Target: AWSStepFunctions.<Operation>`, a JSON
//! object body, a JSON object answer. Any Host header is accepted (SDKs send StartSyncExecution
//! and TestState to `sync-<host>`).

use axum::body::{Body, to_bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use time::OffsetDateTime;
use tracing::Instrument;

use crate::{ApiState, Error, operations};

pub const CONTENT_TYPE: &str = "application/x-amz-json-1.0";
const TARGET_PREFIX: &str = "AWSStepFunctions.";

/// The handler behind `POST /`.
pub async fn handle(
    State(state): State<ApiState>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let operation = target.strip_prefix(TARGET_PREFIX).unwrap_or_default();
    let span = tracing::info_span!(
        "api",
        operation,
        request_id = %request_id,
        execution_arn = tracing::field::Empty
    );

    let result = async {
        let (bytes, scope) = match &state.config.credentials {
            Some(ring) => {
                let keys = ring.current();
                // The headers first: the body is read only for a known key, signed in time.
                // Rights are checked once the signature holds, so a key's rights tell nothing
                // to whoever does not hold its secret.
                let claim = crate::auth::claim(&keys, &headers, OffsetDateTime::now_utc())?;
                let bytes = read_bytes(body, state.config.max_request_bytes).await?;
                claim.check(
                    &headers,
                    uri.path(),
                    uri.query().unwrap_or_default(),
                    &bytes,
                )?;
                crate::auth::authorize(claim.key, operation, claim.region())?;
                let scope = switchback_store::Scope {
                    account: claim.key.account_id.clone(),
                    region: claim.region().to_owned(),
                };
                (bytes, scope)
            }
            None => (
                read_bytes(body, state.config.max_request_bytes).await?,
                scope_from(&headers, &state),
            ),
        };
        let body = parse_body(&bytes)?;
        let context = operations::Context {
            state: &state,
            scope,
        };
        operations::dispatch(&context, operation, body).await
    };
    let started = std::time::Instant::now();
    let result = result.instrument(span.clone()).await;
    record(operation, started, result.as_ref().err());

    let mut response = match result {
        Ok(output) => {
            let body = match output {
                operations::Reply::Json(value) => value.to_string(),
                operations::Reply::Text(text) => text,
            };
            let mut response = body.into_response();
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
            response
        }
        Err(error) => {
            span.in_scope(|| {
                tracing::debug!(error_type = error.type_name(), error = %error, "request rejected")
            });
            error.into_response()
        }
    };
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-amzn-requestid", value);
    }
    response
}

/// Counts a call of `operation` (on the wire or from the console) and its time.
pub(crate) fn record(operation: &str, started: std::time::Instant, error: Option<&Error>) {
    let outcome = error.map_or("ok", Error::type_name);
    // Only known operation names become label values, so the series stay bounded.
    let label = operations::known_operation(operation).unwrap_or("unknown");
    metrics::counter!("switchback_api_requests_total", "operation" => label, "outcome" => outcome)
        .increment(1);
    metrics::histogram!("switchback_api_request_duration_seconds", "operation" => label)
        .record(started.elapsed().as_secs_f64());
}

/// Reads the body, refusing more than `limit` bytes.
async fn read_bytes(body: Body, limit: usize) -> Result<axum::body::Bytes, Error> {
    to_bytes(body, limit).await.map_err(|_| {
        Error::RequestTooLarge(format!(
            "Request body is larger than the limit of {limit} bytes"
        ))
    })
}

/// Parses the body as a JSON object. An empty body counts as `{}`, as it does for AWS.
fn parse_body(bytes: &[u8]) -> Result<Value, Error> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Default::default()));
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(value @ Value::Object(_)) => Ok(value),
        Ok(_) => Err(Error::Serialization(
            "Start of structure or map expected at the top level of the request body".to_owned(),
        )),
        Err(e) => Err(Error::Serialization(format!(
            "Malformed JSON request body: {e}"
        ))),
    }
}

/// The account and region a request acts in. The region is the one the client signed for (the
/// credential scope of its `Authorization` header), so one server can hold several regions as
/// AWS does; without a signature, the configured default.
fn scope_from(headers: &HeaderMap, state: &ApiState) -> switchback_store::Scope {
    let region = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(signed_region)
        .unwrap_or(&state.config.default_region)
        .to_owned();
    switchback_store::Scope {
        account: state.config.default_account.clone(),
        region,
    }
}

/// `AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/states/aws4_request, ...` → `us-east-1`.
fn signed_region(authorization: &str) -> Option<&str> {
    let credential = authorization.split("Credential=").nth(1)?;
    let scope = credential.split([',', ' ']).next()?;
    let region = scope.split('/').nth(2)?;
    switchback_asl::arn::is_region(region).then_some(region)
}

/// AWS's wire timestamps: epoch seconds with whole milliseconds. Stored times are already cut to
/// milliseconds, so the float prints exactly (e.g. `1700000000.123`).
pub fn epoch_seconds(at: OffsetDateTime) -> Value {
    let millis = at.unix_timestamp_nanos() / 1_000_000;
    // A millisecond count fits an f64 exactly for any date this service will see.
    Value::from(millis as f64 / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_comes_from_the_credential_scope() {
        let auth = "AWS4-HMAC-SHA256 Credential=AKID/20260101/eu-west-1/states/aws4_request, \
                    SignedHeaders=host, Signature=abc";
        assert_eq!(signed_region(auth), Some("eu-west-1"));
        assert_eq!(signed_region("Bearer x"), None);
    }

    #[test]
    fn timestamps_have_whole_milliseconds() {
        let at = OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_000_000)
            .expect("valid time");
        assert_eq!(epoch_seconds(at).to_string(), "1700000000.123");
    }
}
