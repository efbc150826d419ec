//! Lambda's Invoke REST API (`POST /2015-03-31/functions/{FunctionName}/invocations`) and the
//! mapping of its answers to what Step Functions reports.
//!
//! What AWS reports, and where it is written down:
//! - success: the SDK's InvokeResult with the payload parsed (docs: "Invoke Lambda with Step
//!   Functions", connect-lambda), `SdkHttpMetadata` as the Java SDK fills it.
//! - function error (`X-Amz-Function-Error`): error = the payload's `errorType`, cause = the
//!   payload (LocalStack's `state_task_service_lambda.py`, recorded against AWS); with no
//!   `errorType`, `Lambda.Unknown` for unhandled errors (docs: bp-lambda-serviceexception).
//! - API error: `Lambda.<ErrorCode>` and the Java SDK's message, `<message> (Service: AWSLambda;
//!   Status Code: n; Error Code: c; Request ID: r; Proxy: null)` (same LocalStack source).
//! - no response: `Lambda.SdkClientException`, one of the errors AWS's recommended Retry lists.

use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, Request, Uri};
use http_body_util::Full;
use serde_json::{Map, Value, json};

use super::client::{self, HttpClient};
use super::config::LambdaConfig;
use super::sigv4::{self, Credentials};
use super::{Error, Outcome};

/// Lambda settings checked once at start-up.
#[derive(Debug)]
pub(crate) struct Lambda {
    config: LambdaConfig,
    default_region: String,
    credentials: Option<Credentials>,
}

/// Where one call goes.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Target {
    pub uri: Uri,
    pub region: String,
}

impl Lambda {
    pub(crate) fn new(config: LambdaConfig, default_region: &str) -> Result<Self, Error> {
        let credentials = Credentials::from_settings(
            "lambda",
            config.access_key_id.as_deref(),
            config.secret_access_key.as_deref(),
            config.session_token.as_deref(),
        )?;
        for endpoint in config.endpoint.iter().chain(
            config
                .functions
                .values()
                .filter_map(|f| f.endpoint.as_ref()),
        ) {
            super::check_base_url(endpoint, "lambda endpoint")?;
        }
        Ok(Self {
            default_region: config
                .region
                .clone()
                .filter(|r| !r.is_empty())
                .unwrap_or_else(|| default_region.to_owned()),
            config,
            credentials,
        })
    }

    /// Where `function_name` is invoked, following the settings.
    pub(crate) fn target(
        &self,
        function_name: &str,
        qualifier: Option<&str>,
    ) -> Result<Target, String> {
        let parsed = FunctionName::parse(function_name)?;
        let function = self.config.functions.get(parsed.name).or_else(|| {
            // The `config` crate lowercases keys read from the environment.
            self.config
                .functions
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(parsed.name))
                .map(|(_, function)| function)
        });
        let region = parsed
            .region
            .map(str::to_owned)
            .unwrap_or_else(|| self.default_region.clone());
        let base = function
            .and_then(|f| f.endpoint.clone())
            .or_else(|| self.config.endpoint.clone())
            .unwrap_or_else(|| format!("https://lambda.{region}.amazonaws.com"));
        let sent_name = match function.and_then(|f| f.remote_name.as_deref()) {
            Some(remote) => remote.to_owned(),
            None => function_name.to_owned(),
        };
        let uri = invoke_uri(&base, &sent_name, qualifier)?;
        Ok(Target { uri, region })
    }

    pub(crate) async fn invoke(
        &self,
        http: &HttpClient,
        function_name: &str,
        qualifier: Option<&str>,
        payload: &str,
        raw_error_cause: bool,
        timeout: Duration,
    ) -> Outcome {
        let target = match self.target(function_name, qualifier) {
            Ok(target) => target,
            Err(cause) => {
                // What the SDK's parameter validation reports for a malformed name.
                return Outcome::failed("Lambda.AWSLambdaException", cause);
            }
        };
        let request = match self.request(&target, payload) {
            Ok(request) => request,
            Err(cause) => return Outcome::failed("Lambda.SdkClientException", cause),
        };
        let started = std::time::Instant::now();
        let result = http.send(request, timeout).await;
        let elapsed_ms = started.elapsed().as_millis() as u64;
        match result {
            Ok(response) => {
                tracing::debug!(
                    function = function_name,
                    endpoint = %client::loggable_uri(&target.uri),
                    status = response.status.as_u16(),
                    elapsed_ms,
                    "lambda invoke answered"
                );
                let outcome = outcome(response.status.as_u16(), &response.headers, &response.body);
                match outcome {
                    // A function called by its ARN fails with its error payload as the function
                    // wrote it; `lambda:invoke` re-serializes it compactly.
                    Outcome::Failed { error, .. }
                        if raw_error_cause
                            && response.headers.contains_key("x-amz-function-error") =>
                    {
                        Outcome::Failed {
                            error,
                            cause: String::from_utf8_lossy(&response.body).into_owned(),
                        }
                    }
                    other => other,
                }
            }
            Err(error) => {
                tracing::info!(
                    function = function_name,
                    endpoint = %client::loggable_uri(&target.uri),
                    %error,
                    elapsed_ms,
                    "lambda invoke failed without a response"
                );
                Outcome::failed(
                    "Lambda.SdkClientException",
                    format!("Unable to execute HTTP request: {error}"),
                )
            }
        }
    }

    fn request(&self, target: &Target, payload: &str) -> Result<Request<Full<Bytes>>, String> {
        let host = client::host_header(&target.uri)
            .ok_or_else(|| "the Lambda endpoint has no host".to_owned())?;
        let mut builder = Request::builder()
            .method(Method::POST)
            .uri(target.uri.clone())
            .header(header::HOST, &host)
            .header(header::CONTENT_TYPE, "application/json")
            .header("x-amz-invocation-type", "RequestResponse");
        if let Some(credentials) = &self.credentials {
            let signable = sigv4::SignableRequest {
                method: "POST",
                path: target.uri.path(),
                query: target.uri.query().unwrap_or_default(),
                headers: &[
                    ("host", &host),
                    ("content-type", "application/json"),
                    ("x-amz-invocation-type", "RequestResponse"),
                ],
                body: payload.as_bytes(),
            };
            let signed = sigv4::sign(
                &signable,
                credentials,
                "lambda",
                &target.region,
                time::OffsetDateTime::now_utc(),
            );
            for (name, value) in signed {
                builder = builder.header(name, value);
            }
        }
        builder
            .body(Full::new(Bytes::copy_from_slice(payload.as_bytes())))
            .map_err(|error| format!("cannot build the Lambda request: {error}"))
    }
}

/// The parts of a `FunctionName` that choose an endpoint.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct FunctionName<'a> {
    /// The bare name, the key of per-function settings.
    pub name: &'a str,
    /// From a full ARN only.
    pub region: Option<&'a str>,
}

impl<'a> FunctionName<'a> {
    /// Accepts Lambda's three forms: `name[:qualifier]`, `account:function:name[:qualifier]` and
    /// `arn:partition:lambda:region:account:function:name[:qualifier]`.
    pub(crate) fn parse(text: &'a str) -> Result<Self, String> {
        let parts: Vec<&str> = text.split(':').collect();
        let (name, region) = match parts.as_slice() {
            [name] | [name, _] => (*name, None),
            [_, "function", name] | [_, "function", name, _] => (*name, None),
            ["arn", _, "lambda", region, _, "function", name]
            | ["arn", _, "lambda", region, _, "function", name, _] => (*name, Some(*region)),
            _ => ("", None),
        };
        // The region of a full ARN becomes part of the default endpoint's host
        // (`lambda.<region>.amazonaws.com`), and the ARN comes from a state machine: a region
        // such as `evil.test/` or `x@evil.test` would send the signed call elsewhere.
        let region_is_a_name = region.is_none_or(|r| {
            r.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        });
        if name.is_empty() || !region_is_a_name {
            return Err(format!(
                "1 validation error detected: Value '{text}' at 'functionName' failed to satisfy constraint: \
                 Member must satisfy regular expression pattern: \
                 (arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{{2}}(-gov)?-[a-z]+-\\d{{1}}:)?(\\d{{12}}:)?(function:)?([a-zA-Z0-9-_\\.]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?"
            ));
        }
        Ok(Self {
            name,
            region: region.filter(|r| !r.is_empty()),
        })
    }
}

/// `{base}/2015-03-31/functions/{name}/invocations[?Qualifier=q]`, the name encoded as an SDK
/// encodes a path label (everything but unreserved characters, so `:` becomes `%3A`).
pub(crate) fn invoke_uri(
    base: &str,
    function_name: &str,
    qualifier: Option<&str>,
) -> Result<Uri, String> {
    let mut uri = format!(
        "{}/2015-03-31/functions/{}/invocations",
        base.trim_end_matches('/'),
        sigv4::uri_encode(function_name.as_bytes())
    );
    if let Some(qualifier) = qualifier.filter(|q| !q.is_empty()) {
        uri.push_str("?Qualifier=");
        uri.push_str(&sigv4::uri_encode(qualifier.as_bytes()));
    }
    uri.parse::<Uri>()
        .map_err(|error| format!("invalid Lambda endpoint URL: {error}"))
}

/// Maps Lambda's answer to the task's outcome.
pub(crate) fn outcome(status: u16, headers: &HeaderMap, body: &[u8]) -> Outcome {
    let request_id = header_str(headers, "x-amzn-requestid")
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let text = String::from_utf8_lossy(body);
    if (200..300).contains(&status) {
        if let Some(kind) = header_str(headers, "x-amz-function-error") {
            return function_error(kind, &text);
        }
        let payload = serde_json::from_str::<Value>(&text)
            .unwrap_or_else(|_| Value::String(text.clone().into_owned()));
        let executed_version = header_str(headers, "x-amz-executed-version").unwrap_or("$LATEST");
        return Outcome::Succeeded(json!({
            "ExecutedVersion": executed_version,
            "Payload": payload,
            "SdkHttpMetadata": {
                "AllHttpHeaders": all_http_headers(headers),
                "HttpHeaders": http_headers(headers),
                "HttpStatusCode": status,
            },
            "SdkResponseMetadata": {"RequestId": request_id},
            "StatusCode": status,
        }));
    }
    api_error(status, headers, &text, &request_id)
}

fn function_error(kind: &str, payload: &str) -> Outcome {
    let parsed = serde_json::from_str::<Value>(payload).ok();
    let error_type = parsed
        .as_ref()
        .and_then(|p| p.get("errorType"))
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .map(str::to_owned);
    let error = match error_type {
        Some(error_type) => error_type,
        // Timeouts and out-of-memory kills carry no errorType.
        None if kind.eq_ignore_ascii_case("Unhandled") => "Lambda.Unknown".to_owned(),
        None => "Exception".to_owned(),
    };
    // AWS reports the payload re-serialized compactly; a payload that is not JSON goes as is.
    let cause = match parsed {
        Some(value) => value.to_string(),
        None => payload.to_owned(),
    };
    Outcome::Failed { error, cause }
}

fn api_error(status: u16, headers: &HeaderMap, text: &str, request_id: &str) -> Outcome {
    let body = serde_json::from_str::<Value>(text).ok();
    let field = |names: &[&str]| -> Option<String> {
        let object = body.as_ref()?.as_object()?;
        names
            .iter()
            .find_map(|name| object.get(*name).and_then(Value::as_str))
            .map(str::to_owned)
    };
    // `x-amzn-ErrorType: ResourceNotFoundException:http://internal.amazon.com/...`; JSON
    // protocols may name it `__type` with a namespace before `#`. The body's `Type` is the fault
    // side (`User`/`Service`), not the code.
    let code = header_str(headers, "x-amzn-errortype")
        .map(|value| value.split(':').next().unwrap_or(value).to_owned())
        .or_else(|| field(&["__type", "code", "Code"]))
        .map(|code| match code.rsplit_once('#') {
            Some((_, short)) => short.to_owned(),
            None => code,
        })
        .filter(|code| !code.is_empty())
        .unwrap_or_else(|| {
            // What the Java SDK calls an error it cannot name; Retry blocks list it.
            if status == 429 {
                "TooManyRequestsException".to_owned()
            } else {
                "AWSLambdaException".to_owned()
            }
        });
    let message = field(&["message", "Message", "errorMessage"]).unwrap_or_else(|| {
        if body.is_none() && !text.trim().is_empty() && text.len() <= 1024 {
            text.trim().to_owned()
        } else {
            http::StatusCode::from_u16(status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("null")
                .to_owned()
        }
    });
    Outcome::Failed {
        error: format!("Lambda.{code}"),
        cause: format!(
            "{message} (Service: AWSLambda; Status Code: {status}; Error Code: {code}; \
             Request ID: {request_id}; Proxy: null)"
        ),
    }
}

fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Header names as Lambda spells them: hyper hands them over lowercased, and the Java SDK that
/// AWS's output comes from keeps the server's spelling.
fn display_name(name: &str) -> String {
    const KNOWN: [&str; 6] = [
        "x-amzn-RequestId",
        "x-amzn-Remapped-Content-Length",
        "X-Amzn-Trace-Id",
        "X-Amz-Executed-Version",
        "X-Amz-Function-Error",
        "X-Amz-Log-Result",
    ];
    if let Some(known) = KNOWN.iter().find(|k| k.eq_ignore_ascii_case(name)) {
        return (*known).to_owned();
    }
    name.split('-')
        .map(|part| {
            let mut chars = part.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

fn all_http_headers(headers: &HeaderMap) -> Value {
    let mut out = Map::new();
    for name in headers.keys() {
        let values: Vec<Value> = headers
            .get_all(name)
            .iter()
            .map(|v| Value::String(String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect();
        out.insert(display_name(name.as_str()), Value::Array(values));
    }
    Value::Object(out)
}

/// One value per name (the last, as the SDK's map keeps it), sorted without regard to case as
/// the SDK's `TreeMap(CASE_INSENSITIVE_ORDER)` does.
fn http_headers(headers: &HeaderMap) -> Value {
    let mut entries: Vec<(String, String)> = headers
        .keys()
        .filter_map(|name| {
            let last: Option<&HeaderValue> = headers.get_all(name).iter().next_back();
            last.map(|v| {
                (
                    display_name(name.as_str()),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
        })
        .collect();
    entries.sort_by_key(|(name, _)| name.to_ascii_lowercase());
    Value::Object(
        entries
            .into_iter()
            .map(|(name, value)| (name, Value::String(value)))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::FunctionConfig;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    fn lambda(config: LambdaConfig) -> Lambda {
        match Lambda::new(config, "eu-west-1") {
            Ok(lambda) => lambda,
            Err(error) => panic!("{error}"),
        }
    }

    #[test]
    fn function_names_in_every_form() {
        let parse = |text| FunctionName::parse(text);
        assert_eq!(
            parse("my-fn"),
            Ok(FunctionName {
                name: "my-fn",
                region: None
            })
        );
        assert_eq!(
            parse("my-fn:prod"),
            Ok(FunctionName {
                name: "my-fn",
                region: None
            })
        );
        assert_eq!(
            parse("123456789012:function:my-fn"),
            Ok(FunctionName {
                name: "my-fn",
                region: None
            })
        );
        assert_eq!(
            parse("arn:aws:lambda:us-west-2:123456789012:function:my-fn:7"),
            Ok(FunctionName {
                name: "my-fn",
                region: Some("us-west-2")
            })
        );
        assert!(parse("").is_err());
        assert!(parse("arn:aws:s3:::bucket").is_err());
        // A region that would move the default endpoint's host.
        for steering in [
            "arn:aws:lambda:evil.test/x:123456789012:function:f",
            "arn:aws:lambda:x@evil.test#:123456789012:function:f",
            "arn:aws:lambda:US-EAST-1.evil.test?:123456789012:function:f",
        ] {
            assert!(parse(steering).is_err(), "{steering}");
        }
    }

    #[test]
    fn urls_encode_the_name_like_the_sdks() {
        let uri = invoke_uri(
            "http://localhost:4566/",
            "arn:aws:lambda:us-east-1:123456789012:function:f",
            Some("$LATEST"),
        );
        assert_eq!(
            uri.map(|u| u.to_string()),
            Ok("http://localhost:4566/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Af/invocations?Qualifier=%24LATEST".to_owned())
        );
    }

    #[test]
    fn endpoint_selection_prefers_function_then_default_then_aws() {
        let mut config = LambdaConfig::default();
        let aws = lambda(config.clone());
        assert_eq!(
            aws.target("arn:aws:lambda:us-west-2:1:function:f", None)
                .map(|t| (t.uri.to_string(), t.region)),
            Ok((
                "https://lambda.us-west-2.amazonaws.com/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-west-2%3A1%3Afunction%3Af/invocations".to_owned(),
                "us-west-2".to_owned()
            ))
        );
        assert_eq!(
            aws.target("f", None)
                .map(|t| t.uri.host().map(str::to_owned)),
            Ok(Some("lambda.eu-west-1.amazonaws.com".to_owned()))
        );
        config.endpoint = Some("http://localstack:4566".into());
        config.functions.insert(
            "rie".into(),
            FunctionConfig {
                endpoint: Some("http://rie:8080".into()),
                remote_name: Some("function".into()),
            },
        );
        let local = lambda(config);
        assert_eq!(
            local.target("other", Some("2")).map(|t| t.uri.to_string()),
            Ok(
                "http://localstack:4566/2015-03-31/functions/other/invocations?Qualifier=2"
                    .to_owned()
            )
        );
        assert_eq!(
            local
                .target("123456789012:function:rie", None)
                .map(|t| t.uri.to_string()),
            Ok("http://rie:8080/2015-03-31/functions/function/invocations".to_owned())
        );
    }

    #[test]
    fn half_configured_credentials_are_refused() {
        let config = LambdaConfig {
            access_key_id: Some("AKID".into()),
            ..LambdaConfig::default()
        };
        assert!(Lambda::new(config, "us-east-1").is_err());
    }

    #[test]
    fn success_has_the_aws_shape() {
        let h = headers(&[
            ("content-type", "application/json"),
            ("x-amzn-requestid", "req-1"),
            ("x-amz-executed-version", "3"),
            ("connection", "keep-alive"),
        ]);
        let Outcome::Succeeded(output) = outcome(200, &h, br#"{"ok":true}"#) else {
            panic!("expected success");
        };
        assert_eq!(
            output,
            json!({
                "ExecutedVersion": "3",
                "Payload": {"ok": true},
                "SdkHttpMetadata": {
                    "AllHttpHeaders": {
                        "Content-Type": ["application/json"],
                        "x-amzn-RequestId": ["req-1"],
                        "X-Amz-Executed-Version": ["3"],
                        "Connection": ["keep-alive"],
                    },
                    "HttpHeaders": {
                        "Connection": "keep-alive",
                        "Content-Type": "application/json",
                        "X-Amz-Executed-Version": "3",
                        "x-amzn-RequestId": "req-1",
                    },
                    "HttpStatusCode": 200,
                },
                "SdkResponseMetadata": {"RequestId": "req-1"},
                "StatusCode": 200,
            })
        );
        let keys: Vec<&String> = output["SdkHttpMetadata"]["HttpHeaders"]
            .as_object()
            .map(|o| o.keys().collect())
            .unwrap_or_default();
        assert_eq!(
            keys,
            [
                "Connection",
                "Content-Type",
                "X-Amz-Executed-Version",
                "x-amzn-RequestId"
            ]
        );
    }

    #[test]
    fn a_payload_that_is_not_json_stays_a_string() {
        let Outcome::Succeeded(output) = outcome(200, &HeaderMap::new(), b"hello") else {
            panic!("expected success");
        };
        assert_eq!(output["Payload"], json!("hello"));
        assert_eq!(output["ExecutedVersion"], json!("$LATEST"));
        assert!(output["SdkResponseMetadata"]["RequestId"].is_string());
    }

    #[test]
    fn function_errors_name_the_error_type() {
        let h = headers(&[("x-amz-function-error", "Unhandled")]);
        let body = br#"{"errorMessage": "boom", "errorType": "ValueError", "stackTrace": []}"#;
        assert_eq!(
            outcome(200, &h, body),
            Outcome::Failed {
                error: "ValueError".into(),
                cause: r#"{"errorMessage":"boom","errorType":"ValueError","stackTrace":[]}"#.into(),
            }
        );
        let timeout = br#"{"errorMessage":"Task timed out after 3.00 seconds"}"#;
        assert_eq!(
            outcome(200, &h, timeout),
            Outcome::Failed {
                error: "Lambda.Unknown".into(),
                cause: r#"{"errorMessage":"Task timed out after 3.00 seconds"}"#.into(),
            }
        );
        let handled = headers(&[("x-amz-function-error", "Handled")]);
        assert_eq!(
            outcome(200, &handled, b"not json"),
            Outcome::Failed {
                error: "Exception".into(),
                cause: "not json".into(),
            }
        );
    }

    #[test]
    fn api_errors_read_like_the_java_sdk() {
        let h = headers(&[
            (
                "x-amzn-errortype",
                "ResourceNotFoundException:http://internal.amazon.com/coral/com.amazonaws.awsgalaxy/",
            ),
            ("x-amzn-requestid", "r-2"),
        ]);
        let body = br#"{"Type":"User","message":"Function not found: arn:aws:lambda:us-east-1:1:function:nope"}"#;
        assert_eq!(
            outcome(404, &h, body),
            Outcome::Failed {
                error: "Lambda.ResourceNotFoundException".into(),
                cause: "Function not found: arn:aws:lambda:us-east-1:1:function:nope (Service: AWSLambda; \
                        Status Code: 404; Error Code: ResourceNotFoundException; Request ID: r-2; Proxy: null)"
                    .into(),
            }
        );
        let h = headers(&[("x-amzn-requestid", "r-3")]);
        assert_eq!(
            outcome(400, &h, br#"{"__type":"com.amazon#InvalidRequestContentException","Message":"bad"}"#),
            Outcome::Failed {
                error: "Lambda.InvalidRequestContentException".into(),
                cause: "bad (Service: AWSLambda; Status Code: 400; Error Code: InvalidRequestContentException; \
                        Request ID: r-3; Proxy: null)"
                    .into(),
            }
        );
        let Outcome::Failed { error, cause } = outcome(502, &h, b"<html>bad gateway</html>") else {
            panic!("expected failure");
        };
        assert_eq!(error, "Lambda.AWSLambdaException");
        assert!(
            cause.starts_with("<html>bad gateway</html> (Service: AWSLambda; Status Code: 502;")
        );
    }
}
