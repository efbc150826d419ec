//! AWS Signature Version 4: for the requests Switchback sends to AWS-compatible APIs (Lambda),
//! and for checking the signatures of the requests it receives (the API).
//!
//! Pure: the caller gives the request's parts and the time, and gets back the headers to add.
//! Written here rather than taken from `aws-sigv4` because a signer needs only `hmac` and
//! `sha2`, which the workspace already has, while `aws-sigv4` brings the smithy runtime along.

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::macros::format_description;

type HmacSha256 = Hmac<Sha256>;

/// Static credentials.
#[derive(Clone)]
pub(crate) struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

impl Credentials {
    /// The credentials a settings section (`lambda`, `s3`) gives: none when neither key is set
    /// (unsigned requests); both keys or neither.
    pub(crate) fn from_settings(
        section: &str,
        access_key_id: Option<&str>,
        secret_access_key: Option<&str>,
        session_token: Option<&str>,
    ) -> Result<Option<Self>, crate::Error> {
        // An empty value (as a compose file passes for an unset variable) means unset.
        fn set(value: Option<&str>) -> Option<&str> {
            value.filter(|v| !v.is_empty())
        }
        match (set(access_key_id), set(secret_access_key)) {
            (Some(id), Some(secret)) => Ok(Some(Self {
                access_key_id: id.to_owned(),
                secret_access_key: secret.to_owned(),
                session_token: set(session_token).map(str::to_owned),
            })),
            (None, None) => Ok(None),
            _ => Err(crate::Error::Config(format!(
                "{section}.access_key_id and {section}.secret_access_key must be set together"
            ))),
        }
    }
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// The parts of a request that SigV4 covers.
#[derive(Clone, Copy)]
pub struct SignableRequest<'a> {
    pub method: &'a str,
    /// The path as sent on the wire (already percent-encoded), e.g. `/2015-03-31/functions/f%3A1/invocations`.
    pub path: &'a str,
    /// The query as sent on the wire, without `?`; empty for none.
    pub query: &'a str,
    /// Headers to sign, `host` among them. `x-amz-date` and `x-amz-security-token` are added by
    /// [`sign`] and must not be given.
    pub headers: &'a [(&'a str, &'a str)],
    pub body: &'a [u8],
}

/// Signs `request` and returns the headers to send with it: `x-amz-date`, then
/// `x-amz-security-token` when the credentials have one, then `authorization`.
pub(crate) fn sign(
    request: &SignableRequest<'_>,
    credentials: &Credentials,
    service: &str,
    region: &str,
    at: OffsetDateTime,
) -> Vec<(&'static str, String)> {
    let amz_date = amz_date(at);
    let date = amz_date.get(..8).unwrap_or_default();
    let mut headers: Vec<(&str, &str)> = request.headers.to_vec();
    headers.push(("x-amz-date", &amz_date));
    if let Some(token) = &credentials.session_token {
        headers.push(("x-amz-security-token", token));
    }
    let signed = SignableRequest {
        headers: &headers,
        ..*request
    };
    let (signed_headers, signature) = signature(
        &signed,
        &credentials.secret_access_key,
        &amz_date,
        region,
        service,
    );
    let scope = format!("{date}/{region}/{service}/aws4_request");
    let mut out = vec![("x-amz-date", amz_date.clone())];
    if let Some(token) = &credentials.session_token {
        out.push(("x-amz-security-token", token.clone()));
    }
    out.push((
        "authorization",
        format!(
            "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
            credentials.access_key_id
        ),
    ));
    out
}

/// `at` as SigV4's `x-amz-date` (`20150830T123600Z`).
pub fn amz_date(at: OffsetDateTime) -> String {
    at.to_offset(time::UtcOffset::UTC)
        .format(format_description!(
            "[year][month][day]T[hour][minute][second]Z"
        ))
        .unwrap_or_default()
}

/// The signed-headers list and the signature of a request: `request.headers` are every header
/// signed, `x-amz-date` among them. One computation for signing what Switchback sends and for
/// verifying what it receives.
pub fn signature(
    request: &SignableRequest<'_>,
    secret_access_key: &str,
    amz_date: &str,
    region: &str,
    service: &str,
) -> (String, String) {
    let date = amz_date.get(..8).unwrap_or_default();
    let mut headers: Vec<(String, String)> = request
        .headers
        .iter()
        .map(|(name, value)| (name.to_ascii_lowercase(), normalize_value(value)))
        .collect();
    headers.sort_by(|a, b| a.0.cmp(&b.0));
    // Repeated headers are signed as one line with their values joined by commas, in order.
    let mut merged: Vec<(String, String)> = Vec::with_capacity(headers.len());
    for (name, value) in headers {
        match merged.last_mut() {
            Some((last, values)) if *last == name => {
                values.push(',');
                values.push_str(&value);
            }
            _ => merged.push((name, value)),
        }
    }
    let canonical_headers: String = merged
        .iter()
        .map(|(name, value)| format!("{name}:{value}\n"))
        .collect();
    let signed_headers = merged
        .iter()
        .map(|(name, _)| name.as_str())
        .collect::<Vec<_>>()
        .join(";");

    let canonical_request = format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        request.method.to_ascii_uppercase(),
        canonical_uri(request.path, service),
        canonical_query(request.query),
        canonical_headers,
        signed_headers,
        hex(&Sha256::digest(request.body)),
    );
    let scope = format!("{date}/{region}/{service}/aws4_request");
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex(&Sha256::digest(canonical_request.as_bytes()))
    );

    let key = [
        date.as_bytes(),
        region.as_bytes(),
        service.as_bytes(),
        b"aws4_request",
    ]
    .iter()
    .fold(
        format!("AWS4{secret_access_key}").into_bytes(),
        |key, part| hmac(&key, part),
    );
    let signature = hex(&hmac(&key, string_to_sign.as_bytes()));
    (signed_headers, signature)
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail; the fallback keeps the
    // function total without an unwrap.
    match HmacSha256::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(data);
            mac.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

/// Trims and collapses runs of spaces, as the canonical form requires.
fn normalize_value(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Every service but S3 signs the path encoded a second time: the wire form's `%` becomes `%25`.
fn canonical_uri(path: &str, service: &str) -> String {
    if path.is_empty() {
        return "/".to_owned();
    }
    if service == "s3" {
        return path.to_owned();
    }
    path.split('/')
        .map(|segment| uri_encode(segment.as_bytes()))
        .collect::<Vec<_>>()
        .join("/")
}

/// Pairs decoded from the wire form, re-encoded strictly, sorted by name then value.
fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (
                uri_encode(&percent_encoding::percent_decode_str(name).collect::<Vec<u8>>()),
                uri_encode(&percent_encoding::percent_decode_str(value).collect::<Vec<u8>>()),
            )
        })
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// SigV4's encoding: everything but `A-Za-z0-9-._~` as uppercase `%XX`.
pub(crate) fn uri_encode(bytes: &[u8]) -> String {
    percent_encoding::percent_encode(bytes, UNRESERVED).to_string()
}

/// RFC 3986 unreserved characters stay; everything else is encoded.
pub(crate) const UNRESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    // The credentials, scope and time of AWS's published SigV4 test suite
    // (docs.aws.amazon.com/general/latest/gr/signature-v4-test-suite.html).
    fn suite_credentials(token: Option<&str>) -> Credentials {
        Credentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
            session_token: token.map(str::to_owned),
        }
    }

    fn authorization(request: &SignableRequest<'_>) -> String {
        let headers = sign(
            request,
            &suite_credentials(None),
            "service",
            "us-east-1",
            datetime!(2015-08-30 12:36:00 UTC),
        );
        assert_eq!(headers[0], ("x-amz-date", "20150830T123600Z".to_owned()));
        headers
            .into_iter()
            .find(|(name, _)| *name == "authorization")
            .map(|(_, value)| value)
            .unwrap_or_default()
    }

    #[test]
    fn get_vanilla() {
        let request = SignableRequest {
            method: "GET",
            path: "/",
            query: "",
            headers: &[("Host", "example.amazonaws.com")],
            body: b"",
        };
        assert_eq!(
            authorization(&request),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders=host;x-amz-date, \
             Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
    }

    #[test]
    fn get_vanilla_query_order_key_case() {
        let request = SignableRequest {
            method: "GET",
            path: "/",
            query: "Param2=value2&Param1=value1",
            headers: &[("Host", "example.amazonaws.com")],
            body: b"",
        };
        assert!(authorization(&request).ends_with(
            "Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"
        ));
    }

    #[test]
    fn post_vanilla_query() {
        let request = SignableRequest {
            method: "POST",
            path: "/",
            query: "Param1=value1",
            headers: &[("Host", "example.amazonaws.com")],
            body: b"",
        };
        assert!(authorization(&request).ends_with(
            "Signature=28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11"
        ));
    }

    #[test]
    fn post_x_www_form_urlencoded() {
        let request = SignableRequest {
            method: "POST",
            path: "/",
            query: "",
            headers: &[
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("Host", "example.amazonaws.com"),
            ],
            body: b"Param1=value1",
        };
        assert_eq!(
            authorization(&request),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date, \
             Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"
        );
    }

    #[test]
    fn session_token_is_signed_and_sent() {
        let request = SignableRequest {
            method: "GET",
            path: "/",
            query: "",
            headers: &[("Host", "example.amazonaws.com")],
            body: b"",
        };
        let headers = sign(
            &request,
            &suite_credentials(Some("TOKEN")),
            "service",
            "us-east-1",
            datetime!(2015-08-30 12:36:00 UTC),
        );
        assert_eq!(headers[1], ("x-amz-security-token", "TOKEN".to_owned()));
        assert!(
            headers[2]
                .1
                .contains("SignedHeaders=host;x-amz-date;x-amz-security-token,")
        );
    }

    #[test]
    fn paths_are_encoded_twice_and_queries_normalized() {
        assert_eq!(
            canonical_uri(
                "/2015-03-31/functions/arn%3Aaws%3Alambda/invocations",
                "lambda"
            ),
            "/2015-03-31/functions/arn%253Aaws%253Alambda/invocations"
        );
        // S3 signs the path as sent.
        assert_eq!(canonical_uri("/b/a%20key", "s3"), "/b/a%20key");
        assert_eq!(
            canonical_query("b=2&a=%24LATEST&a=1"),
            "a=%24LATEST&a=1&b=2"
        );
        assert_eq!(normalize_value("  a   b  "), "a b");
    }
}
