//! The integrations against a tiny HTTP/1.1 server on 127.0.0.1: what goes on the wire and how
//! real responses (and no response) map to outcomes.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::config::{
    AuthorizationType, BasicAuth, ConnectionConfig, HttpConfig, HttpParameters, IntegrationsConfig,
    LambdaConfig, OAuthConfig,
};
use super::{Invoker, Outcome};

/// One request as the server saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    target: String,
    /// Lowercased names.
    headers: Vec<(String, String)>,
    body: String,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

struct Reply {
    status: u16,
    reason: &'static str,
    headers: Vec<(&'static str, String)>,
    body: String,
}

fn reply(status: u16, reason: &'static str, headers: &[(&'static str, &str)], body: &str) -> Reply {
    Reply {
        status,
        reason,
        headers: headers.iter().map(|(n, v)| (*n, (*v).to_owned())).collect(),
        body: body.to_owned(),
    }
}

type Handler = Arc<dyn Fn(&Seen) -> Reply + Send + Sync>;

/// Serves `handler` until the test ends; returns the base URL and the requests seen.
async fn serve(handler: Handler) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let listener = match TcpListener::bind("127.0.0.1:0").await {
        Ok(listener) => listener,
        Err(error) => panic!("bind: {error}"),
    };
    let base = match listener.local_addr() {
        Ok(addr) => format!("http://{addr}"),
        Err(error) => panic!("local_addr: {error}"),
    };
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let handler = handler.clone();
            let log = log.clone();
            tokio::spawn(async move {
                // A connection that breaks mid-request is the client's business, not the server's.
                let _ = read_request(stream, handler, log).await;
            });
        }
    });
    (base, seen)
}

async fn read_request(
    mut stream: TcpStream,
    handler: Handler,
    log: Arc<Mutex<Vec<Seen>>>,
) -> Option<()> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let method = request_line.next()?.to_owned();
    let target = request_line.next()?.to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buffer[head_end + 4..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    let seen = Seen {
        method,
        target,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    if let Ok(mut log) = log.lock() {
        log.push(seen.clone());
    }
    let reply = handler(&seen);
    let mut response = format!("HTTP/1.1 {} {}\r\n", reply.status, reply.reason);
    for (name, value) in &reply.headers {
        response.push_str(&format!("{name}: {value}\r\n"));
    }
    response.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n{}",
        reply.body.len(),
        reply.body
    ));
    stream.write_all(response.as_bytes()).await.ok()?;
    stream.shutdown().await.ok()
}

fn invoker(config: IntegrationsConfig) -> Invoker {
    match Invoker::new(config, "us-east-1") {
        Ok(invoker) => invoker,
        Err(error) => panic!("invoker: {error}"),
    }
}

fn lambda_at(base: &str, signed: bool) -> Invoker {
    let mut lambda = LambdaConfig {
        endpoint: Some(base.to_owned()),
        ..LambdaConfig::default()
    };
    if signed {
        lambda.access_key_id = Some("AKIDEXAMPLE".into());
        lambda.secret_access_key = Some("lambda-secret-value".into());
    }
    invoker(IntegrationsConfig {
        lambda,
        ..IntegrationsConfig::default()
    })
}

/// Settings that let HTTP Tasks reach the loopback test server.
fn loopback_allowed(connections: Vec<ConnectionConfig>) -> IntegrationsConfig {
    IntegrationsConfig {
        http: HttpConfig {
            allow_private_destinations: Some(true),
        },
        connections,
        ..IntegrationsConfig::default()
    }
}

const SECOND: Duration = Duration::from_secs(5);

#[tokio::test]
async fn lambda_success_is_signed_and_shaped() {
    let (base, seen) = serve(Arc::new(|_| {
        reply(
            200,
            "OK",
            &[
                ("x-amzn-RequestId", "req-9"),
                ("X-Amz-Executed-Version", "$LATEST"),
                ("content-type", "application/json"),
            ],
            r#"{"greeting":"hi"}"#,
        )
    }))
    .await;
    let outcome = lambda_at(&base, true)
        .lambda_invoke(
            "arn:aws:lambda:us-east-1:123456789012:function:greet",
            Some("live"),
            r#"{"name":"x"}"#,
            false,
            SECOND,
        )
        .await;
    let Outcome::Succeeded(output) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(output["Payload"], json!({"greeting": "hi"}));
    assert_eq!(output["SdkResponseMetadata"]["RequestId"], json!("req-9"));
    assert_eq!(output["StatusCode"], json!(200));
    let requests = seen.lock().map(|s| s.clone()).unwrap_or_default();
    let request = &requests[0];
    assert_eq!(request.method, "POST");
    assert_eq!(
        request.target,
        "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Agreet/invocations?Qualifier=live"
    );
    assert_eq!(request.body, r#"{"name":"x"}"#);
    assert_eq!(
        request.header("x-amz-invocation-type"),
        Some("RequestResponse")
    );
    let authorization = request.header("authorization").unwrap_or_default();
    assert!(authorization.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"));
    assert!(authorization.contains("/us-east-1/lambda/aws4_request"));
    assert!(!authorization.contains("lambda-secret-value"));
}

#[tokio::test]
async fn lambda_function_and_api_errors() {
    let (base, _) = serve(Arc::new(|seen: &Seen| {
        if seen.target.contains("/missing/") {
            reply(
                404,
                "Not Found",
                &[
                    (
                        "x-amzn-ErrorType",
                        "ResourceNotFoundException:http://internal/",
                    ),
                    ("x-amzn-RequestId", "req-404"),
                ],
                r#"{"Type":"User","message":"Function not found: missing"}"#,
            )
        } else {
            reply(
                200,
                "OK",
                &[("X-Amz-Function-Error", "Unhandled")],
                r#"{"errorMessage":"bad input","errorType":"ValidationError"}"#,
            )
        }
    }))
    .await;
    let invoker = lambda_at(&base, false);
    assert_eq!(
        invoker
            .lambda_invoke("broken", None, "{}", false, SECOND)
            .await,
        Outcome::Failed {
            error: "ValidationError".into(),
            cause: r#"{"errorMessage":"bad input","errorType":"ValidationError"}"#.into(),
        }
    );
    assert_eq!(
        invoker
            .lambda_invoke("missing", None, "{}", false, SECOND)
            .await,
        Outcome::Failed {
            error: "Lambda.ResourceNotFoundException".into(),
            cause: "Function not found: missing (Service: AWSLambda; Status Code: 404; \
                    Error Code: ResourceNotFoundException; Request ID: req-404; Proxy: null)"
                .into(),
        }
    );
}

#[tokio::test]
async fn lambda_without_a_server_is_a_retryable_client_error() {
    // A port that was just free: nothing listens there.
    let port = match TcpListener::bind("127.0.0.1:0").await {
        Ok(listener) => listener.local_addr().map(|a| a.port()).unwrap_or(1),
        Err(_) => 1,
    };
    let outcome = lambda_at(&format!("http://127.0.0.1:{port}"), true)
        .lambda_invoke("f", None, "{}", false, SECOND)
        .await;
    let Outcome::Failed { error, cause } = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(error, "Lambda.SdkClientException");
    assert!(
        cause.starts_with("Unable to execute HTTP request: cannot connect"),
        "{cause}"
    );
    assert!(!cause.contains("lambda-secret-value"));
}

#[tokio::test]
async fn lambda_timeout_is_a_client_error() {
    let listener = match TcpListener::bind("127.0.0.1:0").await {
        Ok(listener) => listener,
        Err(error) => panic!("bind: {error}"),
    };
    let base = format!(
        "http://{}",
        listener
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default()
    );
    // Accepts and never answers.
    let _held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            open.push(stream);
        }
    });
    let outcome = lambda_at(&base, false)
        .lambda_invoke("f", None, "{}", false, Duration::from_millis(200))
        .await;
    let Outcome::Failed { error, .. } = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(error, "Lambda.SdkClientException");
}

fn connection(arn: &str, kind: AuthorizationType) -> ConnectionConfig {
    ConnectionConfig {
        arn: arn.into(),
        authorization_type: kind,
        basic: None,
        api_key: None,
        oauth: None,
        invocation_http_parameters: HttpParameters::default(),
        allowed_endpoints: vec!["*".into()],
    }
}

#[tokio::test]
async fn http_task_with_basic_auth_and_a_404() {
    let (base, seen) = serve(Arc::new(|seen: &Seen| {
        if seen.header("authorization") != Some("Basic dXNlcjpwYXNzd29yZA==") {
            return reply(401, "Unauthorized", &[], "");
        }
        if seen.target.starts_with("/items") {
            reply(
                200,
                "OK",
                &[("content-type", "application/json")],
                r#"{"items":[1,2]}"#,
            )
        } else {
            reply(404, "Not Found", &[], "no such thing")
        }
    }))
    .await;
    let mut basic = connection(
        "arn:aws:events:us-east-1:1:connection/api/1",
        AuthorizationType::Basic,
    );
    basic.basic = Some(BasicAuth {
        username: "user".into(),
        password: "password".into(),
    });
    let invoker = invoker(loopback_allowed(vec![basic]));
    let parameters = |path: &str| {
        json!({
            "ApiEndpoint": format!("{base}{path}"),
            "Method": "POST",
            "QueryParameters": {"page": 1},
            "RequestBody": {"tags": ["a", "b"]},
            "Transform": {"RequestBodyEncoding": "URL_ENCODED", "RequestEncodingOptions": {"ArrayFormat": "BRACKETS"}},
            "Authentication": {"ConnectionArn": "arn:aws:events:us-east-1:1:connection/api/1"},
        })
    };
    let outcome = invoker.http_invoke(&parameters("/items"), SECOND).await;
    let Outcome::Succeeded(output) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(output["ResponseBody"], json!({"items": [1, 2]}));
    assert_eq!(output["StatusCode"], json!(200));
    assert_eq!(output["StatusText"], json!("OK"));
    assert_eq!(
        output["Headers"]["content-type"],
        json!(["application/json"])
    );
    let first = seen.lock().map(|s| s[0].clone());
    let Ok(first) = first else {
        panic!("no request")
    };
    assert_eq!(first.target, "/items?page=1");
    assert_eq!(first.body, "tags%5B%5D=a&tags%5B%5D=b");
    assert_eq!(
        first.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );

    assert_eq!(
        invoker.http_invoke(&parameters("/nothing"), SECOND).await,
        Outcome::Failed {
            error: "States.Http.StatusCode.404".into(),
            cause: "Not Found".into(),
        }
    );
    let unknown = json!({
        "ApiEndpoint": format!("{base}/items"),
        "Method": "GET",
        "Authentication": {"ConnectionArn": "arn:unknown"},
    });
    let Outcome::Failed { error, cause } = invoker.http_invoke(&unknown, SECOND).await else {
        panic!("unknown connection accepted")
    };
    assert_eq!(error, "Events.ConnectionResource.ResourceNotFound");
    assert!(cause.contains("arn:unknown"));
}

#[tokio::test]
async fn http_task_oauth_token_is_fetched_once_and_cached() {
    let (base, seen) = serve(Arc::new(|seen: &Seen| {
        if seen.target.starts_with("/token") {
            reply(
                200,
                "OK",
                &[("content-type", "application/json")],
                r#"{"access_token":"tok-1","token_type":"bearer","expires_in":3600}"#,
            )
        } else if seen.header("authorization") == Some("Bearer tok-1") {
            reply(200, "OK", &[("content-type", "text/plain")], "done")
        } else {
            reply(401, "Unauthorized", &[], "")
        }
    }))
    .await;
    let mut oauth = connection("arn:oauth", AuthorizationType::OAuthClientCredentials);
    oauth.oauth = Some(OAuthConfig {
        authorization_endpoint: format!("{base}/token"),
        http_method: "POST".into(),
        client_id: "client".into(),
        client_secret: "client-secret-value".into(),
        oauth_http_parameters: HttpParameters {
            body: [("scope".to_owned(), "read".to_owned())].into(),
            ..HttpParameters::default()
        },
    });
    let invoker = invoker(loopback_allowed(vec![oauth]));
    let parameters = json!({
        "ApiEndpoint": format!("{base}/work"),
        "Method": "GET",
        "Authentication": {"ConnectionArn": "arn:oauth"},
    });
    for _ in 0..2 {
        let outcome = invoker.http_invoke(&parameters, SECOND).await;
        let Outcome::Succeeded(output) = outcome else {
            panic!("{outcome:?}")
        };
        assert_eq!(output["ResponseBody"], Value::String("done".into()));
    }
    let requests = seen.lock().map(|s| s.clone()).unwrap_or_default();
    let tokens: Vec<&Seen> = requests.iter().filter(|s| s.target == "/token").collect();
    assert_eq!(tokens.len(), 1, "{requests:?}");
    assert_eq!(tokens[0].body, "grant_type=client_credentials&scope=read");
    assert_eq!(
        tokens[0].header("authorization"),
        Some("Basic Y2xpZW50OmNsaWVudC1zZWNyZXQtdmFsdWU=")
    );
}

#[tokio::test]
async fn http_task_without_a_server_is_a_socket_error() {
    let port = match TcpListener::bind("127.0.0.1:0").await {
        Ok(listener) => listener.local_addr().map(|a| a.port()).unwrap_or(1),
        Err(_) => 1,
    };
    let outcome = invoker(loopback_allowed(Vec::new()))
        .http_invoke(
            &json!({"ApiEndpoint": format!("http://127.0.0.1:{port}/x"), "Method": "GET"}),
            SECOND,
        )
        .await;
    let Outcome::Failed { error, .. } = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(error, "States.Http.Socket");
}

#[tokio::test]
async fn http_task_to_a_private_address_is_refused_unless_allowed() {
    let (base, seen) = serve(Arc::new(|_| reply(200, "OK", &[], "metrics"))).await;
    let port = base.rsplit(':').next().unwrap_or_default().to_owned();
    let refusing = invoker(IntegrationsConfig::default());
    // An IP literal, a name that resolves to loopback, and IPv4 in IPv6 clothing.
    for endpoint in [
        format!("{base}/metrics"),
        format!("http://localhost:{port}/metrics"),
        format!("http://[::ffff:127.0.0.1]:{port}/metrics"),
    ] {
        let outcome = refusing
            .http_invoke(&json!({"ApiEndpoint": endpoint, "Method": "GET"}), SECOND)
            .await;
        let Outcome::Failed { error, cause } = outcome else {
            panic!("{endpoint}: {outcome:?}")
        };
        assert_eq!(error, "States.Http.Socket", "{endpoint}");
        // The refusal itself, not a connect error that happens to quote it.
        assert!(cause.starts_with("the destination "), "{endpoint}: {cause}");
        assert!(
            cause.contains("integrations.http.allow_private_destinations"),
            "{endpoint}: {cause}"
        );
    }
    assert!(seen.lock().map(|s| s.is_empty()).unwrap_or(false));
    // Lambda endpoints are the operator's: the same address is fine for them.
    let lambda = lambda_at(&base, false)
        .lambda_invoke("f", None, "{}", false, SECOND)
        .await;
    assert!(matches!(lambda, Outcome::Succeeded(_)), "{lambda:?}");
    let allowed = invoker(loopback_allowed(Vec::new()))
        .http_invoke(
            &json!({"ApiEndpoint": format!("http://localhost:{port}/metrics"), "Method": "GET"}),
            SECOND,
        )
        .await;
    assert!(matches!(allowed, Outcome::Succeeded(_)), "{allowed:?}");
}

#[tokio::test]
async fn a_connection_is_used_only_for_its_allowed_endpoints() {
    let (base, seen) = serve(Arc::new(|_| reply(200, "OK", &[], "ok"))).await;
    let mut basic = connection("arn:scoped", AuthorizationType::Basic);
    basic.basic = Some(BasicAuth {
        username: "user".into(),
        password: "scoped-password".into(),
    });
    basic.allowed_endpoints = vec![format!("{base}/api/")];
    let mut unscoped = connection("arn:unscoped", AuthorizationType::Basic);
    unscoped.basic = basic.basic.clone();
    unscoped.allowed_endpoints = Vec::new();
    let invoker = invoker(loopback_allowed(vec![basic, unscoped]));
    let call = |path: &str, arn: &str| {
        json!({"ApiEndpoint": format!("{base}{path}"), "Method": "GET",
            "Authentication": {"ConnectionArn": arn}})
    };
    let ok = invoker
        .http_invoke(&call("/api/items", "arn:scoped"), SECOND)
        .await;
    assert!(matches!(ok, Outcome::Succeeded(_)), "{ok:?}");
    for (path, arn, says) in [
        ("/metrics", "arn:scoped", "not under its allowed_endpoints"),
        (
            "/api/../metrics",
            "arn:scoped",
            "not under its allowed_endpoints",
        ),
        ("/api/items", "arn:unscoped", "has no allowed_endpoints"),
    ] {
        let outcome = invoker.http_invoke(&call(path, arn), SECOND).await;
        let Outcome::Failed { error, cause } = outcome else {
            panic!("{path} with {arn}: {outcome:?}")
        };
        assert_eq!(error, "Events.ConnectionResource.InvalidConnectionState");
        assert!(cause.contains(says), "{cause}");
        assert!(cause.contains("allowed_endpoints"), "{cause}");
    }
    // Only the allowed call reached the server.
    let requests = seen.lock().map(|s| s.clone()).unwrap_or_default();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!(requests[0].target, "/api/items");
}
