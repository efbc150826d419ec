//! The HTTP Task (`arn:aws:states:::http:invoke`): its evaluated Parameters to a request, the
//! connection's authorization and parameters merged in, and the response to AWS's output.
//!
//! Behaviours follow AWS's "Call HTTPS APIs in Step Functions workflows" page:
//! - output `{"Headers": {name: [values]}, "ResponseBody": ..., "StatusCode": n, "StatusText": s}`,
//!   the body parsed when the response is JSON and a string otherwise;
//! - a non-2xx answer fails with `States.Http.StatusCode.<code>` and the status text as cause
//!   (the response body is not part of the error on AWS);
//! - no answer (refused, reset, timed out) fails with `States.Http.Socket`; calls are capped at
//!   60 seconds whatever the task's timeout;
//! - the connection's invocation parameters win over the task's on equal names, and the
//!   headers AWS reserves (Authorization, Host, `X-Amz-*`, ...) cannot be set by the task.
//!
//! Switchback extension: a task without `Authentication` calls the endpoint unauthenticated
//! (AWS requires a connection), which is what internal services on a private network want.
//!
//! Switchback's guards, since the definition's author picks the endpoint while the operator owns
//! the credentials and the network: a connection is used only for endpoints under its
//! `allowed_endpoints` (else `Events.ConnectionResource.InvalidConnectionState`, before anything
//! is sent), and the client refuses non-public addresses unless allowed (`States.Http.Socket`).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine as _;
use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, Request, Uri};
use http_body_util::Full;
use serde_json::{Map, Value, json};

use super::client::{self, HttpClient};
use super::config::{AuthorizationType, ConnectionConfig, HttpParameters, OAuthConfig};
use super::destinations::EndpointRule;
use super::{Error, Outcome};

/// AWS's hard limit for one HTTP Task call.
pub(crate) const MAX_TIMEOUT: Duration = Duration::from_secs(60);

/// A token is dropped this long before it expires, so it does not expire in flight.
const TOKEN_MARGIN: Duration = Duration::from_secs(30);
/// Lifetime assumed when a token response has no `expires_in`.
const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(300);

const RUNTIME: &str = "States.Runtime";
const SOCKET: &str = "States.Http.Socket";
const CONNECTION_NOT_FOUND: &str = "Events.ConnectionResource.ResourceNotFound";
const CONNECTION_AUTH_FAILED: &str = "Events.ConnectionResource.InvalidConnectionState";

pub(crate) struct HttpTasks {
    connections: HashMap<String, Connection>,
    /// `User-Agent` of every call, as AWS sends it: `Amazon|StepFunctions|HttpInvoke|<region>`.
    user_agent: HeaderValue,
    /// OAuth access tokens by connection ARN.
    tokens: Mutex<HashMap<String, CachedToken>>,
}

struct CachedToken {
    value: String,
    expires: Instant,
}

/// A connection's settings with its `allowed_endpoints` read.
struct Connection {
    config: ConnectionConfig,
    allowed_endpoints: Vec<EndpointRule>,
}

impl Connection {
    /// `None` when the connection may carry its credentials to `uri`, else the failure.
    fn refuse(&self, uri: &Uri) -> Option<Outcome> {
        if self.allowed_endpoints.iter().any(|rule| rule.allows(uri)) {
            return None;
        }
        let arn = &self.config.arn;
        let cause = if self.allowed_endpoints.is_empty() {
            format!(
                "connection {arn} has no allowed_endpoints, so no HTTP Task may use it; list the \
                 URL prefixes its credentials may be sent to in \
                 integrations.connections.<label>.allowed_endpoints (\"*\" for any)"
            )
        } else {
            format!(
                "connection {arn} may not be used with {}: the endpoint is not under its \
                 allowed_endpoints (integrations.connections.<label>.allowed_endpoints)",
                client::loggable_uri(uri)
            )
        };
        Some(Outcome::failed(CONNECTION_AUTH_FAILED, cause))
    }
}

/// `Transform.RequestEncodingOptions.ArrayFormat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ArrayFormat {
    /// `a[]=1&a[]=2`
    Brackets,
    /// `a=1,2`
    Commas,
    /// `a[0]=1&a[1]=2`, AWS's default.
    Indices,
    /// `a=1&a=2`
    Repeat,
}

/// The task's Parameters, checked.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Spec {
    pub endpoint: String,
    pub method: Method,
    pub headers: Vec<(String, String)>,
    pub query: Vec<(String, String)>,
    pub body: Option<Value>,
    pub url_encoded: Option<ArrayFormat>,
    pub connection_arn: Option<String>,
}

impl HttpTasks {
    pub(crate) fn new(connections: Vec<ConnectionConfig>, region: &str) -> Result<Self, Error> {
        let user_agent =
            HeaderValue::from_str(&format!("Amazon|StepFunctions|HttpInvoke|{region}"))
                .map_err(|_| Error::Config(format!("'{region}' is not a usable region name")))?;
        let mut by_arn = HashMap::new();
        for connection in connections {
            check_connection(&connection)?;
            let arn = connection.arn.clone();
            let allowed_endpoints = connection
                .allowed_endpoints
                .iter()
                .map(|entry| EndpointRule::parse(entry))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|message| Error::Config(format!("connection {arn}: {message}")))?;
            if allowed_endpoints.is_empty() {
                tracing::warn!(
                    connection = %arn,
                    "connection has no allowed_endpoints; http tasks that name it will fail"
                );
            }
            let connection = Connection {
                config: connection,
                allowed_endpoints,
            };
            if by_arn.insert(arn.clone(), connection).is_some() {
                return Err(Error::Config(format!(
                    "connection {arn} is configured twice"
                )));
            }
        }
        Ok(Self {
            connections: by_arn,
            user_agent,
            tokens: Mutex::new(HashMap::new()),
        })
    }

    /// `http` makes the task's call; `token_http` fetches OAuth tokens from the endpoints the
    /// operator configured, which the task's address rules do not cover.
    pub(crate) async fn invoke(
        &self,
        http: &HttpClient,
        token_http: &HttpClient,
        parameters: &Value,
        timeout: Duration,
        mut trace: Option<&mut Option<HttpExchange>>,
    ) -> Outcome {
        let deadline = Instant::now() + timeout.min(MAX_TIMEOUT);
        let spec = match parse(parameters) {
            Ok(spec) => spec,
            Err(cause) => return Outcome::failed(RUNTIME, cause),
        };
        let connection = match &spec.connection_arn {
            Some(arn) => match self.connections.get(arn) {
                Some(connection) => Some(connection),
                None => {
                    return Outcome::failed(
                        CONNECTION_NOT_FOUND,
                        format!(
                            "connection {arn} is not configured; add it to [[integrations.connections]] in the settings"
                        ),
                    );
                }
            },
            None => None,
        };
        // What a trace shows of the request: without what the connection adds (its headers,
        // query and body parameters, credentials), which are the operator's secrets.
        let shown = match &trace {
            Some(_) => build_request(spec.clone(), None, &self.user_agent).ok(),
            None => None,
        };
        let request = match build_request(spec, connection.map(|c| &c.config), &self.user_agent) {
            Ok(built) => built,
            Err(cause) => return Outcome::failed(RUNTIME, cause),
        };
        let mut request = request;
        let mut used_token = false;
        if let Some(connection) = connection {
            // Checked on the URL that would be sent, before any credential is fetched or added.
            if let Some(refused) = connection.refuse(request.uri()) {
                tracing::info!(
                    connection = %connection.config.arn,
                    endpoint = %client::loggable_uri(request.uri()),
                    "http task endpoint not allowed for its connection"
                );
                return refused;
            }
            match self
                .authorize(token_http, &connection.config, &mut request, deadline)
                .await
            {
                Ok(token) => used_token = token,
                Err(outcome) => return outcome,
            }
        }
        if let (Some(trace), Some(shown)) = (trace.as_deref_mut(), &shown) {
            *trace = Some(HttpExchange {
                request: ExchangeRequest::of(shown).await,
                response: None,
            });
        }
        let uri = request.uri().clone();
        let method = request.method().clone();
        tracing::debug!(
            %method,
            endpoint = %client::loggable_uri(&uri),
            // Names only: a connection's header values may be secrets.
            headers = ?request.headers().keys().map(|k| k.as_str()).collect::<Vec<_>>(),
            "http task sending"
        );
        let started = Instant::now();
        let result = http.send(request, remaining(deadline)).await;
        let elapsed_ms = started.elapsed().as_millis() as u64;
        match result {
            Ok(response) => {
                tracing::debug!(
                    %method,
                    endpoint = %client::loggable_uri(&uri),
                    status = response.status.as_u16(),
                    elapsed_ms,
                    "http task answered"
                );
                if used_token && response.status == http::StatusCode::UNAUTHORIZED {
                    // The provider revoked or rotated the token early: the next attempt (a
                    // Retry) fetches a fresh one instead of failing until it expires.
                    if let (Some(connection), Ok(mut tokens)) = (connection, self.tokens.lock()) {
                        tokens.remove(&connection.config.arn);
                    }
                }
                if let Some(exchange) = trace.and_then(|trace| trace.as_mut()) {
                    exchange.response = Some(ExchangeResponse {
                        protocol: "HTTP/1.1".to_owned(),
                        status_code: response.status.as_u16().to_string(),
                        status_message: response.reason.clone(),
                        headers: header_text(&response.headers),
                        body: String::from_utf8_lossy(&response.body).into_owned(),
                    });
                }
                response_outcome(
                    response.status.as_u16(),
                    &response.reason,
                    &response.headers,
                    &response.body,
                )
            }
            Err(Error::PrivateDestination(reason)) => {
                tracing::info!(
                    %method,
                    endpoint = %client::loggable_uri(&uri),
                    reason,
                    "http task destination refused"
                );
                Outcome::failed(SOCKET, reason)
            }
            Err(error) => {
                tracing::info!(
                    %method,
                    endpoint = %client::loggable_uri(&uri),
                    %error,
                    elapsed_ms,
                    "http task failed without a response"
                );
                Outcome::failed(SOCKET, socket_cause(&error))
            }
        }
    }

    /// Adds the connection's credentials; true when an OAuth token was used.
    async fn authorize(
        &self,
        http: &HttpClient,
        connection: &ConnectionConfig,
        request: &mut Request<Full<Bytes>>,
        deadline: Instant,
    ) -> Result<bool, Outcome> {
        let (name, value, token) = match connection.authorization_type {
            AuthorizationType::Basic => {
                let Some(basic) = &connection.basic else {
                    return Err(missing_section(connection, "basic"));
                };
                (
                    header::AUTHORIZATION,
                    basic_authorization(&basic.username, &basic.password),
                    false,
                )
            }
            AuthorizationType::ApiKey => {
                let Some(key) = &connection.api_key else {
                    return Err(missing_section(connection, "api_key"));
                };
                let name = HeaderName::from_bytes(key.name.as_bytes()).map_err(|_| {
                    Outcome::failed(
                        CONNECTION_AUTH_FAILED,
                        format!(
                            "connection {} has an invalid API key header name",
                            connection.arn
                        ),
                    )
                })?;
                (name, key.value.clone(), false)
            }
            AuthorizationType::OAuthClientCredentials => {
                let Some(oauth) = &connection.oauth else {
                    return Err(missing_section(connection, "oauth"));
                };
                let token = self.token(http, &connection.arn, oauth, deadline).await?;
                (header::AUTHORIZATION, format!("Bearer {token}"), true)
            }
        };
        let mut value = HeaderValue::from_str(&value).map_err(|_| {
            Outcome::failed(
                CONNECTION_AUTH_FAILED,
                format!(
                    "connection {} has credentials that are not a valid header value",
                    connection.arn
                ),
            )
        })?;
        value.set_sensitive(true);
        request.headers_mut().insert(name, value);
        Ok(token)
    }

    async fn token(
        &self,
        http: &HttpClient,
        arn: &str,
        oauth: &OAuthConfig,
        deadline: Instant,
    ) -> Result<String, Outcome> {
        if let Ok(tokens) = self.tokens.lock()
            && let Some(cached) = tokens.get(arn)
            && cached.expires > Instant::now()
        {
            return Ok(cached.value.clone());
        }
        let request = token_request(oauth).map_err(|cause| {
            Outcome::failed(CONNECTION_AUTH_FAILED, format!("connection {arn}: {cause}"))
        })?;
        let endpoint = client::loggable_uri(request.uri());
        let response = http
            .send(request, remaining(deadline))
            .await
            .map_err(|error| {
                Outcome::failed(
                    CONNECTION_AUTH_FAILED,
                    format!(
                        "connection {arn}: the OAuth token request to {endpoint} failed: {error}"
                    ),
                )
            })?;
        if !response.status.is_success() {
            // The body is left out: token endpoints may echo what they were sent.
            return Err(Outcome::failed(
                CONNECTION_AUTH_FAILED,
                format!(
                    "connection {arn}: the OAuth token request to {endpoint} answered {} {}",
                    response.status.as_u16(),
                    response.reason
                ),
            ));
        }
        let (value, lifetime) = parse_token(&response.body).ok_or_else(|| {
            Outcome::failed(
                CONNECTION_AUTH_FAILED,
                format!(
                    "connection {arn}: the OAuth token response from {endpoint} has no access_token"
                ),
            )
        })?;
        tracing::debug!(
            connection = arn,
            lifetime_s = lifetime.as_secs(),
            "oauth token fetched"
        );
        if let Ok(mut tokens) = self.tokens.lock() {
            tokens.insert(
                arn.to_owned(),
                CachedToken {
                    value: value.clone(),
                    expires: Instant::now() + lifetime.saturating_sub(TOKEN_MARGIN),
                },
            );
        }
        Ok(value)
    }
}

fn remaining(deadline: Instant) -> Duration {
    deadline.saturating_duration_since(Instant::now())
}

fn missing_section(connection: &ConnectionConfig, section: &str) -> Outcome {
    Outcome::failed(
        CONNECTION_AUTH_FAILED,
        format!("connection {} has no {section} settings", connection.arn),
    )
}

fn check_connection(connection: &ConnectionConfig) -> Result<(), Error> {
    let arn = &connection.arn;
    if arn.trim().is_empty() {
        return Err(Error::Config("a connection has an empty arn".into()));
    }
    let present = match connection.authorization_type {
        AuthorizationType::Basic => connection.basic.is_some(),
        AuthorizationType::ApiKey => connection.api_key.is_some(),
        AuthorizationType::OAuthClientCredentials => connection.oauth.is_some(),
    };
    if !present {
        return Err(Error::Config(format!(
            "connection {arn} has authorization_type {:?} but not its settings section",
            connection.authorization_type
        )));
    }
    if let Some(key) = &connection.api_key
        && HeaderName::from_bytes(key.name.as_bytes()).is_err()
    {
        return Err(Error::Config(format!(
            "connection {arn}: api_key.name is not a header name"
        )));
    }
    if let Some(oauth) = &connection.oauth {
        super::check_base_url(
            &oauth.authorization_endpoint,
            "oauth authorization_endpoint",
        )?;
        if Method::from_bytes(oauth.http_method.to_ascii_uppercase().as_bytes()).is_err() {
            return Err(Error::Config(format!(
                "connection {arn}: oauth.http_method is not a method"
            )));
        }
    }
    Ok(())
}

fn basic_authorization(username: &str, password: &str) -> String {
    let encoded =
        base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
    format!("Basic {encoded}")
}

/// Headers a task may not set, as AWS lists them for the HTTP Task.
fn reserved_header(name: &str) -> bool {
    const RESERVED: [&str; 32] = [
        "a-im",
        "accept-charset",
        "accept-datetime",
        "accept-encoding",
        "authorization",
        "cache-control",
        "connection",
        "content-encoding",
        "content-md5",
        "date",
        "expect",
        "forwarded",
        "from",
        "host",
        "http2-settings",
        "if-match",
        "if-modified-since",
        "if-none-match",
        "if-range",
        "if-unmodified-since",
        "max-forwards",
        "origin",
        "pragma",
        "proxy-authorization",
        "referer",
        "server",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "via",
        "warning",
    ];
    let lower = name.to_ascii_lowercase();
    lower.starts_with("x-forwarded-")
        || lower.starts_with("x-amz-")
        || lower.starts_with("x-amzn-")
        || RESERVED.contains(&lower.as_str())
}

/// Reads the task's Parameters.
pub(crate) fn parse(parameters: &Value) -> Result<Spec, String> {
    let object = parameters
        .as_object()
        .ok_or_else(|| "the HTTP Task's Parameters must be an object".to_owned())?;
    let endpoint = object
        .get("ApiEndpoint")
        .and_then(Value::as_str)
        .ok_or_else(|| "the HTTP Task needs an ApiEndpoint string".to_owned())?
        .to_owned();
    let uri = endpoint
        .parse::<Uri>()
        .map_err(|_| format!("ApiEndpoint '{endpoint}' is not a URL"))?;
    if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.host().is_none() {
        return Err(format!(
            "ApiEndpoint '{endpoint}' must be an http:// or https:// URL"
        ));
    }
    let method = object
        .get("Method")
        .and_then(Value::as_str)
        .ok_or_else(|| "the HTTP Task needs a Method".to_owned())?;
    let method = match method.to_ascii_uppercase().as_str() {
        "GET" => Method::GET,
        "POST" => Method::POST,
        "PUT" => Method::PUT,
        "DELETE" => Method::DELETE,
        "PATCH" => Method::PATCH,
        "OPTIONS" => Method::OPTIONS,
        "HEAD" => Method::HEAD,
        _ => {
            return Err(format!(
                "Method '{method}' is not one of GET, POST, PUT, DELETE, PATCH, OPTIONS, HEAD"
            ));
        }
    };

    let mut headers = Vec::new();
    match object.get("Headers") {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            for (name, value) in map {
                if reserved_header(name) {
                    return Err(format!("the header '{name}' cannot be set by an HTTP Task"));
                }
                let value = match value {
                    Value::Array(items) => {
                        items.iter().map(scalar_text).collect::<Vec<_>>().join(",")
                    }
                    other => scalar_text(other),
                };
                headers.push((name.clone(), value));
            }
        }
        Some(_) => return Err("Headers must be an object".into()),
    }

    let mut query = Vec::new();
    match object.get("QueryParameters") {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            for (name, value) in map {
                match value {
                    Value::Array(items) => {
                        query.extend(items.iter().map(|item| (name.clone(), scalar_text(item))));
                    }
                    other => query.push((name.clone(), scalar_text(other))),
                }
            }
        }
        Some(_) => return Err("QueryParameters must be an object".into()),
    }

    let url_encoded = match object.get("Transform") {
        None | Some(Value::Null) => None,
        Some(Value::Object(transform)) => {
            match transform.get("RequestBodyEncoding").and_then(Value::as_str) {
                None | Some("NONE") => None,
                Some("URL_ENCODED") => {
                    let format = transform
                        .get("RequestEncodingOptions")
                        .and_then(|o| o.get("ArrayFormat"))
                        .and_then(Value::as_str);
                    Some(match format {
                        None | Some("INDICES") => ArrayFormat::Indices,
                        Some("BRACKETS") => ArrayFormat::Brackets,
                        Some("COMMAS") => ArrayFormat::Commas,
                        Some("REPEAT") => ArrayFormat::Repeat,
                        Some(other) => {
                            return Err(format!(
                                "ArrayFormat '{other}' is not one of BRACKETS, COMMAS, INDICES, REPEAT"
                            ));
                        }
                    })
                }
                Some(other) => {
                    return Err(format!(
                        "RequestBodyEncoding '{other}' is not one of NONE, URL_ENCODED"
                    ));
                }
            }
        }
        Some(_) => return Err("Transform must be an object".into()),
    };

    let connection_arn = ["Authentication", "InvocationConfig"]
        .iter()
        .find_map(|key| object.get(*key))
        .map(|auth| {
            auth.get("ConnectionArn")
                .and_then(Value::as_str)
                .filter(|arn| !arn.is_empty())
                .map(str::to_owned)
                .ok_or_else(|| "Authentication needs a ConnectionArn string".to_owned())
        })
        .transpose()?;

    Ok(Spec {
        endpoint,
        method,
        headers,
        query,
        body: object.get("RequestBody").filter(|b| !b.is_null()).cloned(),
        url_encoded,
        connection_arn,
    })
}

/// What TestState shows of an HTTP Task's call at TRACE (AWS's `inspectionData.request` and
/// `response`), without what its connection adds.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpExchange {
    pub request: ExchangeRequest,
    /// None when no response came.
    pub response: Option<ExchangeResponse>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ExchangeRequest {
    pub protocol: String,
    pub method: String,
    pub url: String,
    /// The headers as a JSON object of name to value.
    pub headers: String,
    pub body: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ExchangeResponse {
    pub protocol: String,
    pub status_code: String,
    pub status_message: String,
    pub headers: String,
    pub body: String,
}

impl ExchangeRequest {
    async fn of(request: &Request<Full<Bytes>>) -> Self {
        use http_body_util::BodyExt as _;
        let body = match request.body().clone().collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(never) => match never {},
        };
        Self {
            protocol: "HTTP/1.1".to_owned(),
            method: request.method().to_string(),
            url: request.uri().to_string(),
            headers: header_text(request.headers()),
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    }
}

/// Headers as a JSON object (repeated names joined with a comma).
fn header_text(headers: &HeaderMap) -> String {
    let mut object = Map::new();
    for (name, value) in headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        match object.get_mut(name.as_str()) {
            Some(Value::String(existing)) => {
                existing.push_str(", ");
                existing.push_str(&value);
            }
            _ => {
                object.insert(name.as_str().to_owned(), Value::String(value));
            }
        }
    }
    Value::Object(object).to_string()
}

/// The request for `spec` with the connection's parameters merged in (not yet its
/// credentials).
fn build_request(
    mut spec: Spec,
    connection: Option<&ConnectionConfig>,
    user_agent: &HeaderValue,
) -> Result<Request<Full<Bytes>>, String> {
    let empty = HttpParameters::default();
    let extra = connection.map_or(&empty, |c| &c.invocation_http_parameters);
    for (name, value) in &extra.headers {
        spec.headers
            .retain(|(existing, _)| !existing.eq_ignore_ascii_case(name));
        spec.headers.push((name.clone(), value.clone()));
    }
    for (name, value) in &extra.query {
        spec.query.retain(|(existing, _)| existing != name);
        spec.query.push((name.clone(), value.clone()));
    }
    if !extra.body.is_empty() {
        let mut merged = match spec.body.take() {
            None => Map::new(),
            Some(Value::Object(map)) => map,
            Some(_) => {
                return Err(
                    "the connection adds body parameters, so RequestBody must be an object".into(),
                );
            }
        };
        for (name, value) in &extra.body {
            merged.insert(name.clone(), Value::String(value.clone()));
        }
        spec.body = Some(Value::Object(merged));
    }

    let uri = with_query(&spec.endpoint, &spec.query)?;
    let (body, content_type) = match (spec.body, spec.url_encoded) {
        (None, _) => (String::new(), None),
        (Some(Value::Object(map)), Some(format)) => (
            encode_form(&map, format),
            Some("application/x-www-form-urlencoded"),
        ),
        (Some(_), Some(_)) => {
            return Err("RequestBody must be an object to be URL-encoded".into());
        }
        (Some(Value::String(text)), None) => (text, Some("application/json; charset=UTF-8")),
        (Some(value), None) => (value.to_string(), Some("application/json; charset=UTF-8")),
    };

    let mut headers = HeaderMap::new();
    for (name, value) in &spec.headers {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("'{name}' is not a valid header name"))?;
        let value = HeaderValue::from_str(value)
            .map_err(|_| format!("the value of header '{name}' is not a valid header value"))?;
        headers.append(name, value);
    }
    if let Some(content_type) = content_type
        && !headers.contains_key(header::CONTENT_TYPE)
    {
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    }
    // AWS sets these on every HTTP Task request, over any the definition gave.
    headers.insert(header::USER_AGENT, user_agent.clone());
    headers.insert(header::RANGE, HeaderValue::from_static("bytes=0-262144"));
    let host = client::host_header(&uri).ok_or_else(|| "ApiEndpoint has no host".to_owned())?;
    let host =
        HeaderValue::from_str(&host).map_err(|_| "ApiEndpoint has an invalid host".to_owned())?;
    headers.insert(header::HOST, host);

    let mut request = Request::builder()
        .method(spec.method)
        .uri(uri)
        .body(Full::new(Bytes::from(body)))
        .map_err(|error| format!("cannot build the request: {error}"))?;
    *request.headers_mut() = headers;
    Ok(request)
}

fn with_query(endpoint: &str, query: &[(String, String)]) -> Result<Uri, String> {
    let mut url = endpoint.to_owned();
    if !query.is_empty() {
        let encoded = query
            .iter()
            .map(|(name, value)| format!("{}={}", query_encode(name), query_encode(value)))
            .collect::<Vec<_>>()
            .join("&");
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(&encoded);
    }
    url.parse::<Uri>()
        .map_err(|_| format!("ApiEndpoint '{endpoint}' with its query is not a URL"))
}

fn query_encode(text: &str) -> String {
    super::sigv4::uri_encode(text.as_bytes())
}

/// The text of a JSON scalar as it goes into a header, query or form: strings unquoted.
fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// `application/x-www-form-urlencoded` with nested objects as `a[b]=c` and arrays in `format`.
pub(crate) fn encode_form(object: &Map<String, Value>, format: ArrayFormat) -> String {
    fn flatten(key: String, value: &Value, format: ArrayFormat, out: &mut Vec<(String, String)>) {
        match value {
            Value::Object(map) => {
                for (name, inner) in map {
                    flatten(format!("{key}[{name}]"), inner, format, out);
                }
            }
            Value::Array(items) => match format {
                ArrayFormat::Indices => {
                    for (index, item) in items.iter().enumerate() {
                        flatten(format!("{key}[{index}]"), item, format, out);
                    }
                }
                ArrayFormat::Brackets => {
                    for item in items {
                        flatten(format!("{key}[]"), item, format, out);
                    }
                }
                ArrayFormat::Repeat => {
                    for item in items {
                        flatten(key.clone(), item, format, out);
                    }
                }
                ArrayFormat::Commas => {
                    if items.iter().any(|i| i.is_object() || i.is_array()) {
                        // Nested structures have no comma form; indices keep them readable.
                        flatten(key, value, ArrayFormat::Indices, out);
                    } else {
                        let joined = items.iter().map(scalar_text).collect::<Vec<_>>().join(",");
                        out.push((key, joined));
                    }
                }
            },
            scalar => out.push((key, scalar_text(scalar))),
        }
    }
    let mut pairs = Vec::new();
    for (name, value) in object {
        flatten(name.clone(), value, format, &mut pairs);
    }
    pairs
        .iter()
        .map(|(name, value)| format!("{}={}", form_encode(name), form_encode(value)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The WHATWG urlencoded serializer: `*-._` and alphanumerics stay, space is `+`.
fn form_encode(text: &str) -> String {
    const FORM: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'*')
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b' ');
    percent_encoding::utf8_percent_encode(text, FORM)
        .to_string()
        .replace(' ', "+")
}

fn token_request(oauth: &OAuthConfig) -> Result<Request<Full<Bytes>>, String> {
    let params = &oauth.oauth_http_parameters;
    let method = Method::from_bytes(oauth.http_method.to_ascii_uppercase().as_bytes())
        .map_err(|_| "oauth.http_method is not an HTTP method".to_owned())?;
    let mut form: Map<String, Value> = Map::new();
    form.insert("grant_type".into(), json!("client_credentials"));
    for (name, value) in &params.body {
        form.insert(name.clone(), Value::String(value.clone()));
    }
    let mut query: Vec<(String, String)> = params
        .query
        .iter()
        .map(|(n, v)| (n.clone(), v.clone()))
        .collect();
    let body = if method == Method::GET {
        // A GET has no body: the grant goes in the query.
        query.extend(form.iter().map(|(n, v)| (n.clone(), scalar_text(v))));
        String::new()
    } else {
        encode_form(&form, ArrayFormat::Repeat)
    };
    let uri = with_query(&oauth.authorization_endpoint, &query)?;
    let host =
        client::host_header(&uri).ok_or_else(|| "the token endpoint has no host".to_owned())?;
    let mut builder = Request::builder()
        .method(method.clone())
        .uri(uri)
        .header(header::HOST, host)
        .header(header::ACCEPT, "application/json");
    for (name, value) in &params.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    if method != Method::GET {
        builder = builder.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    }
    let mut authorization =
        HeaderValue::from_str(&basic_authorization(&oauth.client_id, &oauth.client_secret))
            .map_err(|_| "the OAuth client credentials are not a valid header value".to_owned())?;
    authorization.set_sensitive(true);
    let mut request = builder
        .body(Full::new(Bytes::from(body)))
        .map_err(|_| "the OAuth token request has an invalid header".to_owned())?;
    request
        .headers_mut()
        .insert(header::AUTHORIZATION, authorization);
    Ok(request)
}

/// `access_token` and its lifetime from a token response.
fn parse_token(body: &[u8]) -> Option<(String, Duration)> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let token = value.get("access_token")?.as_str()?.to_owned();
    let lifetime = match value.get("expires_in") {
        Some(Value::Number(n)) => n.as_u64().map(Duration::from_secs),
        Some(Value::String(s)) => s.parse::<u64>().ok().map(Duration::from_secs),
        _ => None,
    }
    .unwrap_or(DEFAULT_TOKEN_LIFETIME);
    Some((token, lifetime))
}

fn socket_cause(error: &Error) -> String {
    match error {
        Error::Timeout(_) => "the HTTP request timed out".to_owned(),
        other => format!("the HTTP request failed: {other}"),
    }
}

/// Maps the endpoint's answer to the task's outcome.
pub(crate) fn response_outcome(
    status: u16,
    reason: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Outcome {
    if !(200..300).contains(&status) {
        return Outcome::failed(
            format!("States.Http.StatusCode.{status}"),
            reason.to_owned(),
        );
    }
    // AWS refuses binary bodies rather than mangling them into text.
    let media = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if media.starts_with("application/octet-stream")
        || ["image/", "video/", "audio/"]
            .iter()
            .any(|p| media.starts_with(p))
    {
        return Outcome::failed(
            RUNTIME,
            format!("The HTTP Task does not support responses of content type '{media}'"),
        );
    }
    let mut out_headers = Map::new();
    for name in headers.keys() {
        let values = headers
            .get_all(name)
            .iter()
            .map(|v| Value::String(String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect();
        out_headers.insert(name.as_str().to_owned(), Value::Array(values));
    }
    let text = String::from_utf8_lossy(body).into_owned();
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            let media = v
                .split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase();
            media == "application/json" || media.ends_with("+json")
        })
        .unwrap_or(false);
    let response_body = if is_json {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    } else {
        Value::String(text)
    };
    Outcome::Succeeded(json!({
        "Headers": out_headers,
        "ResponseBody": response_body,
        "StatusCode": status,
        "StatusText": reason,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ApiKeyAuth, BasicAuth};

    fn form(value: Value, format: ArrayFormat) -> String {
        match value {
            Value::Object(map) => encode_form(&map, format),
            _ => String::new(),
        }
    }

    #[test]
    fn url_encoded_bodies_in_every_array_format() {
        let body = json!({"name": "a b", "tags": ["x", "y"], "nested": {"k": 1}});
        assert_eq!(
            form(body.clone(), ArrayFormat::Indices),
            "name=a+b&tags%5B0%5D=x&tags%5B1%5D=y&nested%5Bk%5D=1"
        );
        assert_eq!(
            form(body.clone(), ArrayFormat::Brackets),
            "name=a+b&tags%5B%5D=x&tags%5B%5D=y&nested%5Bk%5D=1"
        );
        assert_eq!(
            form(body.clone(), ArrayFormat::Commas),
            "name=a+b&tags=x%2Cy&nested%5Bk%5D=1"
        );
        assert_eq!(
            form(body, ArrayFormat::Repeat),
            "name=a+b&tags=x&tags=y&nested%5Bk%5D=1"
        );
    }

    #[test]
    fn parameters_are_read_and_checked() {
        let spec = parse(&json!({
            "ApiEndpoint": "https://api.example.com/v1/items",
            "Method": "POST",
            "Headers": {"X-Trace": "t1", "Accept": ["a", "b"]},
            "QueryParameters": {"q": "a b", "n": 3, "ids": [1, 2]},
            "RequestBody": {"x": 1},
            "Transform": {"RequestBodyEncoding": "URL_ENCODED", "RequestEncodingOptions": {"ArrayFormat": "REPEAT"}},
            "Authentication": {"ConnectionArn": "arn:c"}
        }));
        assert_eq!(
            spec,
            Ok(Spec {
                endpoint: "https://api.example.com/v1/items".into(),
                method: Method::POST,
                headers: vec![
                    ("X-Trace".into(), "t1".into()),
                    ("Accept".into(), "a,b".into())
                ],
                query: vec![
                    ("q".into(), "a b".into()),
                    ("n".into(), "3".into()),
                    ("ids".into(), "1".into()),
                    ("ids".into(), "2".into()),
                ],
                body: Some(json!({"x": 1})),
                url_encoded: Some(ArrayFormat::Repeat),
                connection_arn: Some("arn:c".into()),
            })
        );
        assert!(parse(&json!({"Method": "GET"})).is_err());
        assert!(parse(&json!({"ApiEndpoint": "ftp://x", "Method": "GET"})).is_err());
        assert!(parse(&json!({"ApiEndpoint": "http://x", "Method": "TRACE"})).is_err());
        let reserved = parse(&json!({
            "ApiEndpoint": "http://x", "Method": "GET", "Headers": {"Authorization": "Bearer t"}
        }));
        assert_eq!(
            reserved.err().as_deref(),
            Some("the header 'Authorization' cannot be set by an HTTP Task")
        );
        assert!(
            parse(&json!({"ApiEndpoint": "http://x", "Method": "GET", "Authentication": {}}))
                .is_err()
        );
    }

    #[test]
    fn connection_parameters_win_and_merge_into_the_body() {
        let spec = parse(&json!({
            "ApiEndpoint": "http://api.local:8080/p?fixed=1",
            "Method": "POST",
            "Headers": {"x-team": "task"},
            "QueryParameters": {"page": 2, "key": "task"},
            "RequestBody": {"a": 1}
        }));
        let Ok(spec) = spec else { panic!("{spec:?}") };
        let connection = ConnectionConfig {
            arn: "arn:c".into(),
            authorization_type: AuthorizationType::ApiKey,
            basic: None,
            api_key: Some(ApiKeyAuth {
                name: "x-api-key".into(),
                value: "k".into(),
            }),
            oauth: None,
            invocation_http_parameters: HttpParameters {
                headers: [("X-Team".to_owned(), "conn".to_owned())].into(),
                query: [("key".to_owned(), "conn".to_owned())].into(),
                body: [("b".to_owned(), "2".to_owned())].into(),
            },
            allowed_endpoints: vec!["*".into()],
        };
        let Ok(request) = build_request(
            spec,
            Some(&connection),
            &HeaderValue::from_static("Amazon|StepFunctions|HttpInvoke|us-east-1"),
        ) else {
            panic!("request not built");
        };
        assert_eq!(
            request.uri().to_string(),
            "http://api.local:8080/p?fixed=1&page=2&key=conn"
        );
        assert_eq!(request.headers()["x-team"], "conn");
        assert_eq!(request.headers()["host"], "api.local:8080");
        assert_eq!(
            request.headers()["content-type"],
            "application/json; charset=UTF-8"
        );
    }

    #[test]
    fn responses_map_to_aws_output_and_errors() {
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        headers.append("set-cookie", HeaderValue::from_static("a=1"));
        headers.append("set-cookie", HeaderValue::from_static("b=2"));
        assert_eq!(
            response_outcome(200, "OK", &headers, br#"{"id":7}"#),
            Outcome::Succeeded(json!({
                "Headers": {"content-type": ["application/json"], "set-cookie": ["a=1", "b=2"]},
                "ResponseBody": {"id": 7},
                "StatusCode": 200,
                "StatusText": "OK",
            }))
        );
        let text = response_outcome(201, "Created", &HeaderMap::new(), b"{\"id\":7}");
        let Outcome::Succeeded(text) = text else {
            panic!("expected success")
        };
        assert_eq!(text["ResponseBody"], json!("{\"id\":7}"));
        assert_eq!(
            response_outcome(404, "Not Found", &headers, b"{}"),
            Outcome::failed("States.Http.StatusCode.404", "Not Found")
        );
    }

    #[test]
    fn connections_are_checked_at_start_up() {
        let basic = |arn: &str, basic: Option<BasicAuth>| ConnectionConfig {
            arn: arn.into(),
            authorization_type: AuthorizationType::Basic,
            basic,
            api_key: None,
            oauth: None,
            invocation_http_parameters: HttpParameters::default(),
            allowed_endpoints: Vec::new(),
        };
        let ok = BasicAuth {
            username: "u".into(),
            password: "p".into(),
        };
        assert!(HttpTasks::new(vec![basic("a", Some(ok.clone()))], "us-east-1").is_ok());
        assert!(HttpTasks::new(vec![basic("a", None)], "us-east-1").is_err());
        assert!(
            HttpTasks::new(
                vec![basic("a", Some(ok.clone())), basic("a", Some(ok.clone()))],
                "us-east-1"
            )
            .is_err()
        );
        let mut loose = basic("a", Some(ok));
        loose.allowed_endpoints = vec![
            "https://api.example.com/v1/".into(),
            "api.example.com".into(),
        ];
        let refused = HttpTasks::new(vec![loose], "us-east-1");
        assert!(
            refused.as_ref().err().is_some_and(|e| e
                .to_string()
                .contains("allowed_endpoints entry 'api.example.com'")),
            "{:?}",
            refused.err()
        );
    }

    #[test]
    fn token_responses() {
        assert_eq!(
            parse_token(br#"{"access_token":"t","expires_in":3600}"#),
            Some(("t".into(), Duration::from_secs(3600)))
        );
        assert_eq!(
            parse_token(br#"{"access_token":"t","expires_in":"60"}"#),
            Some(("t".into(), Duration::from_secs(60)))
        );
        assert_eq!(parse_token(br#"{"token_type":"bearer"}"#), None);
        assert_eq!(basic_authorization("user", "pass"), "Basic dXNlcjpwYXNz");
    }
}
