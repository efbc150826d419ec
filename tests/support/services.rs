//! Services that Task states call, served in the test process on `127.0.0.1:<random port>`:
//! a Lambda Invoke API server and an HTTP server for HTTP Tasks. Both record every request.
//!
//! Lambda functions, by name:
//! - `echo` — answers with its payload.
//! - `fail` — raises: `X-Amz-Function-Error: Unhandled` and `{errorMessage, errorType, ...}`.
//! - `untyped` — raises without an `errorType`.
//! - `slow` — sleeps `sleep_ms` (from the payload), then echoes.
//! - `flaky` — answers 500 `ServiceException` to its first `fail_times` calls (per payload
//!   `key`), then echoes.
//! - anything else — 404 `ResourceNotFoundException`, as Lambda answers.
//!
//! HTTP paths:
//! - `/status/<code>` — answers `<code>` with a small JSON body.
//! - `/oauth/token` — an OAuth client-credentials token endpoint.
//! - anything else — echoes `{method, path, query, headers, body}` as JSON.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Response, StatusCode};
use serde_json::{Value, json};

/// A request a test server received.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    /// For Lambda: the function name from the path.
    pub path: String,
    pub query: String,
    pub headers: HashMap<String, String>,
    pub body: String,
}

#[derive(Clone, Default)]
struct Shared {
    received: Arc<Mutex<Vec<Received>>>,
    attempts: Arc<Mutex<HashMap<String, u64>>>,
}

/// A running test server.
pub struct TestServer {
    pub address: SocketAddr,
    shared: Shared,
}

impl TestServer {
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Every request so far.
    pub fn received(&self) -> Vec<Received> {
        self.shared
            .received
            .lock()
            .map(|r| r.clone())
            .unwrap_or_default()
    }

    /// Requests whose path is `path` (for Lambda: calls of the function).
    pub fn calls_of(&self, path: &str) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| r.path == path)
            .collect()
    }
}

/// A Lambda Invoke API (`POST /2015-03-31/functions/<name>/invocations`).
pub async fn lambda() -> TestServer {
    serve(lambda_handler).await
}

/// An HTTP server for HTTP Tasks.
pub async fn http() -> TestServer {
    serve(http_handler).await
}

async fn serve<F, Fut>(handler: F) -> TestServer
where
    F: Fn(Shared, Received) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Response<Body>> + Send + 'static,
{
    let shared = Shared::default();
    let router = Router::new()
        .fallback(move |State(shared): State<Shared>, request: Request| {
            let handler = handler.clone();
            async move {
                let received = read(request).await;
                if let Ok(mut all) = shared.received.lock() {
                    all.push(received.clone());
                }
                handler(shared, received).await
            }
        })
        .with_state(shared.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a test server");
    let address = listener.local_addr().expect("test server address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    TestServer { address, shared }
}

async fn read(request: Request) -> Received {
    let (parts, body) = request.into_parts();
    let body = to_bytes(body, 16 * 1024 * 1024).await.unwrap_or_default();
    let path = parts.uri.path().to_owned();
    // Lambda's path names the function; record the name alone.
    let path = path
        .strip_prefix("/2015-03-31/functions/")
        .and_then(|rest| rest.strip_suffix("/invocations"))
        .map(percent_decode)
        .unwrap_or(path);
    Received {
        method: parts.method.to_string(),
        path,
        query: parts.uri.query().unwrap_or_default().to_owned(),
        headers: headers(&parts.headers),
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

fn headers(headers: &HeaderMap) -> HashMap<String, String> {
    headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                value.to_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(byte) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn respond(status: StatusCode, headers: &[(&str, &str)], body: String) -> Response<Body> {
    let mut response = Response::builder().status(status);
    for (name, value) in headers {
        response = response.header(*name, *value);
    }
    response
        .body(Body::from(body))
        .unwrap_or_else(|_| Response::new(Body::empty()))
}

async fn lambda_handler(shared: Shared, request: Received) -> Response<Body> {
    let payload: Value = serde_json::from_str(&request.body).unwrap_or(Value::Null);
    let ok = |body: String| {
        respond(
            StatusCode::OK,
            &[
                ("content-type", "application/json"),
                ("x-amz-executed-version", "$LATEST"),
                ("x-amzn-requestid", "11111111-2222-3333-4444-555555555555"),
            ],
            body,
        )
    };
    let function = request.path.rsplit(':').next().unwrap_or_default();
    match function {
        "echo" => ok(request.body.clone()),
        "slow" => {
            let sleep = payload["sleep_ms"].as_u64().unwrap_or(1000);
            tokio::time::sleep(Duration::from_millis(sleep)).await;
            ok(request.body.clone())
        }
        "fail" | "untyped" => {
            let body = if function == "fail" {
                json!({"errorMessage": "boom", "errorType": "ValueError", "stackTrace": []})
            } else {
                json!({"errorMessage": "no type"})
            };
            respond(
                StatusCode::OK,
                &[
                    ("content-type", "application/json"),
                    ("x-amz-function-error", "Unhandled"),
                ],
                body.to_string(),
            )
        }
        "flaky" => {
            let key = payload["key"].as_str().unwrap_or_default().to_owned();
            let fail_times = payload["fail_times"].as_u64().unwrap_or(1);
            let attempt = {
                let mut attempts = shared.attempts.lock().unwrap_or_else(|e| e.into_inner());
                let n = attempts.entry(key).or_default();
                *n += 1;
                *n
            };
            if attempt <= fail_times {
                respond(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    &[
                        ("content-type", "application/json"),
                        ("x-amzn-errortype", "ServiceException"),
                    ],
                    json!({"Type": "Service", "message": "try again"}).to_string(),
                )
            } else {
                ok(request.body.clone())
            }
        }
        _ => respond(
            StatusCode::NOT_FOUND,
            &[
                ("content-type", "application/json"),
                ("x-amzn-errortype", "ResourceNotFoundException"),
            ],
            json!({
                "Type": "User",
                "message": format!("Function not found: {}", request.path),
            })
            .to_string(),
        ),
    }
}

async fn http_handler(_shared: Shared, request: Received) -> Response<Body> {
    let json_type = [("content-type", "application/json")];
    if let Some(code) = request.path.strip_prefix("/status/") {
        let status = code
            .parse::<u16>()
            .ok()
            .and_then(|c| StatusCode::from_u16(c).ok())
            .unwrap_or(StatusCode::BAD_REQUEST);
        return respond(
            status,
            &json_type,
            json!({"status": status.as_u16()}).to_string(),
        );
    }
    if request.path == "/oauth/token" {
        return respond(
            StatusCode::OK,
            &json_type,
            json!({"access_token": "token-from-oauth", "token_type": "Bearer", "expires_in": 3600})
                .to_string(),
        );
    }
    let body: Value =
        serde_json::from_str(&request.body).unwrap_or(Value::from(request.body.clone()));
    respond(
        StatusCode::OK,
        &json_type,
        json!({
            "method": request.method,
            "path": request.path,
            "query": request.query,
            "headers": request.headers,
            "body": body,
        })
        .to_string(),
    )
}
