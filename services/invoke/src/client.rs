//! The HTTP/1.1 client outbound task calls go through: plain HTTP and HTTPS (rustls with the
//! ring provider), a connection pool, a deadline per request, a cap on response bodies, and the
//! addresses it may connect to (see `destinations`).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use super::Error;
use super::destinations::{self, Destinations, Resolver};

/// Largest response body read. A task result over 256 KiB fails its state with
/// `States.DataLimitExceeded` (in the step function), but Lambda may return up to 6 MiB and
/// the error must say what happened.
pub(crate) const MAX_RESPONSE_BYTES: usize = 8 * 1024 * 1024;

const USER_AGENT: &str = concat!("switchback/", env!("CARGO_PKG_VERSION"));

/// Cheap to clone: the pool is shared.
#[derive(Clone)]
pub(crate) struct HttpClient {
    inner: Client<HttpsConnector<HttpConnector<Resolver>>, Full<Bytes>>,
    destinations: Destinations,
}

/// A response read to its end.
#[derive(Debug)]
pub(crate) struct Response {
    pub status: StatusCode,
    /// The reason phrase the server sent, or the canonical one.
    pub reason: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl HttpClient {
    pub(crate) fn new(destinations: Destinations) -> Result<Self, Error> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|error| Error::Tls(error.to_string()))?
            .with_root_certificates(root_store())
            .with_no_client_auth();
        let mut http = HttpConnector::new_with_resolver(Resolver::new(destinations));
        // The TLS layer above decides the scheme; without this the connector refuses https://.
        http.enforce_http(false);
        http.set_nodelay(true);
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let inner = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        Ok(Self {
            inner,
            destinations,
        })
    }

    /// Sends `request` and reads the whole response, all within `timeout`.
    pub(crate) async fn send(
        &self,
        mut request: Request<Full<Bytes>>,
        timeout: Duration,
    ) -> Result<Response, Error> {
        if self.destinations == Destinations::PublicOnly {
            destinations::check_literal(request.uri())?;
        }
        let headers = request.headers_mut();
        if !headers.contains_key(header::USER_AGENT) {
            headers.insert(header::USER_AGENT, HeaderValue::from_static(USER_AGENT));
        }
        let exchange = async {
            let response = self
                .inner
                .request(request)
                .await
                .map_err(|error| transport_error(&error))?;
            let (parts, body) = response.into_parts();
            let reason = parts
                .extensions
                .get::<hyper::ext::ReasonPhrase>()
                .map(|reason| String::from_utf8_lossy(reason.as_bytes()).into_owned())
                .unwrap_or_else(|| {
                    parts
                        .status
                        .canonical_reason()
                        .unwrap_or_default()
                        .to_owned()
                });
            let body = Limited::new(body, MAX_RESPONSE_BYTES)
                .collect()
                .await
                .map_err(|error| {
                    if error.is::<http_body_util::LengthLimitError>() {
                        Error::TooLarge {
                            limit: MAX_RESPONSE_BYTES,
                        }
                    } else {
                        Error::Transport(describe(error.as_ref()))
                    }
                })?
                .to_bytes();
            Ok(Response {
                status: parts.status,
                reason,
                headers: parts.headers,
                body,
            })
        };
        match tokio::time::timeout(timeout, exchange).await {
            Ok(result) => result,
            Err(_) => Err(Error::Timeout(timeout)),
        }
    }
}

/// System roots when there are any (what an operator configures, corporate CAs included);
/// Mozilla's bundled roots otherwise, so a bare container image can still reach public APIs.
fn root_store() -> rustls::RootCertStore {
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    let (added, ignored) = roots.add_parsable_certificates(native.certs);
    if !native.errors.is_empty() {
        tracing::debug!(
            errors = native.errors.len(),
            "some system certificate stores could not be read"
        );
    }
    if added == 0 {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        tracing::info!("no system root certificates found, using the bundled roots");
    } else {
        tracing::debug!(added, ignored, "loaded system root certificates");
    }
    roots
}

fn transport_error(error: &hyper_util::client::legacy::Error) -> Error {
    if let Some(refusal) = destinations::refusal(error) {
        return Error::PrivateDestination(refusal);
    }
    let detail = describe(error);
    if error.is_connect() {
        Error::Connect(detail)
    } else {
        Error::Transport(detail)
    }
}

/// The error and its sources in one line; hyper's top-level message alone ("client error
/// (Connect)") does not say what went wrong.
fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let next = cause.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = cause.source();
    }
    text
}

/// The `Host` header value hyper would send for `uri` (the port only when not the default),
/// set explicitly so that a signature covers exactly what goes on the wire.
pub(crate) fn host_header(uri: &Uri) -> Option<String> {
    let host = uri.host()?;
    let default_port = match uri.scheme_str() {
        Some("https") => 443,
        _ => 80,
    };
    Some(match uri.port_u16() {
        Some(port) if port != default_port => format!("{host}:{port}"),
        _ => host.to_owned(),
    })
}

/// `uri` without its query, which may carry an API key, for logs.
pub(crate) fn loggable_uri(uri: &Uri) -> String {
    format!(
        "{}://{}{}",
        uri.scheme_str().unwrap_or("http"),
        uri.authority().map(|a| a.as_str()).unwrap_or_default(),
        uri.path()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_header_and_loggable_uri() {
        let uri: Uri = "https://api.example.com:443/a/b?key=secret"
            .parse()
            .unwrap_or_default();
        assert_eq!(host_header(&uri).as_deref(), Some("api.example.com"));
        assert_eq!(loggable_uri(&uri), "https://api.example.com:443/a/b");
        let uri: Uri = "http://127.0.0.1:9000/x".parse().unwrap_or_default();
        assert_eq!(host_header(&uri).as_deref(), Some("127.0.0.1:9000"));
    }
}
