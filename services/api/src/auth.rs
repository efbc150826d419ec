//! Request authentication: each request's AWS Signature Version 4 is checked against the keys
//! of the credentials file, and the key decides the account the request acts in, the regions
//! it may act in and whether it may write. Without keys configured, requests are not checked
//! (one account, `aws.account_id`).
//!
//! The signature is computed by `switchback_invoke::sigv4::signature`, the same code that signs
//! Switchback's own calls (checked against AWS's published test suite). Failures answer with
//! AWS's error shapes and words (see `Error`).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use axum::http::HeaderMap;
use serde::Deserialize;
use switchback_invoke::sigv4::{self, SignableRequest};
use time::OffsetDateTime;
use time::macros::format_description;

use crate::Error;

/// AWS's window for a request's time against the server's clock.
const MAX_SKEW: time::Duration = time::Duration::minutes(15);
/// The service name in a Step Functions credential scope.
const SERVICE: &str = "states";

/// One key of the credentials file. Unknown fields are refused: a misspelt `read_only` must not
/// leave a key that writes.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Key {
    pub access_key_id: String,
    secret_access_key: String,
    pub account_id: String,
    /// The regions the key may act in; all when absent.
    #[serde(default)]
    pub regions: Option<Vec<String>>,
    /// Only operations that read (Describe*, List*, GetExecutionHistory,
    /// ValidateStateMachineDefinition).
    #[serde(default)]
    pub read_only: bool,
}

impl Key {
    /// What binds a console session to this key's secret: signed into the session's token,
    /// never sent, so that rotating the secret ends the sessions it opened.
    pub fn session_binding(&self) -> &[u8] {
        self.secret_access_key.as_bytes()
    }
}

// The secret never appears in logs or errors.
impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key")
            .field("access_key_id", &self.access_key_id)
            .field("account_id", &self.account_id)
            .field("regions", &self.regions)
            .field("read_only", &self.read_only)
            .finish_non_exhaustive()
    }
}

/// The keys requests may be signed with, by access key id.
#[derive(Debug, Clone, Default)]
pub struct Keys {
    by_id: HashMap<String, Key>,
}

impl Keys {
    /// Checks the keys: ids unique, accounts of 12 digits, every field given.
    pub fn new(keys: Vec<Key>) -> Result<Self, String> {
        let mut by_id = HashMap::new();
        for key in keys {
            if key.access_key_id.is_empty() || key.secret_access_key.is_empty() {
                return Err("a credential needs access_key_id and secret_access_key".to_owned());
            }
            let account = &key.account_id;
            if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!(
                    "the account_id of {} must be 12 digits",
                    key.access_key_id
                ));
            }
            if let Some(previous) = by_id.insert(key.access_key_id.clone(), key) {
                return Err(format!(
                    "the access key id {} is given twice",
                    previous.access_key_id
                ));
            }
        }
        Ok(Self { by_id })
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// The key with this access key id.
    pub fn get(&self, access_key_id: &str) -> Option<&Key> {
        self.by_id.get(access_key_id)
    }

    /// The key a console login names, when the secret given is its own (compared in constant
    /// time). The answer does not say which of the two was wrong.
    pub fn login(&self, access_key_id: &str, secret_access_key: &str) -> Option<&Key> {
        let key = self.by_id.get(access_key_id)?;
        same_bytes(
            key.secret_access_key.as_bytes(),
            secret_access_key.as_bytes(),
        )
        .then_some(key)
    }
}

/// The keys in force, replaced whole when the credentials file changes (rotation without a
/// restart). Cheap to clone; a request reads the keys once.
#[derive(Debug, Clone, Default)]
pub struct KeyRing(Arc<RwLock<Arc<Keys>>>);

impl KeyRing {
    pub fn new(keys: Keys) -> Self {
        Self(Arc::new(RwLock::new(Arc::new(keys))))
    }

    pub fn current(&self) -> Arc<Keys> {
        match self.0.read() {
            Ok(keys) => keys.clone(),
            // A writer never panics while holding the lock; if one did, the keys it left are
            // still whole (the swap is one assignment).
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    pub fn replace(&self, keys: Keys) {
        let keys = Arc::new(keys);
        match self.0.write() {
            Ok(mut current) => *current = keys,
            Err(poisoned) => *poisoned.into_inner() = keys,
        }
    }

    /// How many keys are in force.
    pub fn key_count(&self) -> usize {
        self.current().by_id.len()
    }
}

/// The parts of `Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`.
struct Authorization<'a> {
    access_key_id: &'a str,
    date: &'a str,
    region: &'a str,
    service: &'a str,
    signed_headers: Vec<&'a str>,
    signature: &'a str,
}

fn parse_authorization(header: &str) -> Result<Authorization<'_>, Error> {
    let Some(rest) = header.strip_prefix("AWS4-HMAC-SHA256 ") else {
        return Err(Error::IncompleteSignature(format!(
            "Unsupported authorization type or malformed header. Authorization={header}"
        )));
    };
    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for part in rest.split(',').map(str::trim) {
        if let Some(value) = part.strip_prefix("Credential=") {
            credential = Some(value);
        } else if let Some(value) = part.strip_prefix("SignedHeaders=") {
            signed_headers = Some(value);
        } else if let Some(value) = part.strip_prefix("Signature=") {
            signature = Some(value);
        }
    }
    let missing: Vec<String> = [
        ("Credential", credential.is_none()),
        ("Signature", signature.is_none()),
        ("SignedHeaders", signed_headers.is_none()),
    ]
    .iter()
    .filter(|(_, missing)| *missing)
    .map(|(name, _)| format!("Authorization header requires '{name}' parameter."))
    .collect();
    let (Some(credential), Some(signed_headers), Some(signature)) =
        (credential, signed_headers, signature)
    else {
        return Err(Error::IncompleteSignature(format!(
            "{} Authorization={header}",
            missing.join(" ")
        )));
    };
    let scope: Vec<&str> = credential.split('/').collect();
    let bad_scope = || {
        Error::IncompleteSignature(format!(
            "Credential should be scoped to a valid region, not '{}'. Authorization={header}",
            scope.get(2).copied().unwrap_or_default()
        ))
    };
    let [access_key_id, date, region, service, "aws4_request"] = scope[..] else {
        return Err(bad_scope());
    };
    if !switchback_asl::arn::is_region(region) {
        return Err(bad_scope());
    }
    Ok(Authorization {
        access_key_id,
        date,
        region,
        service,
        signed_headers: signed_headers.split(';').collect(),
        signature,
    })
}

/// What a request's headers claim, checked as far as it can be without its body: the key, the
/// time, the scope and the signed-header list. The caller reads the body only then, so that an
/// unsigned client cannot make the server read a large one.
pub struct Claim<'h, 'k> {
    pub key: &'k Key,
    authorization: Authorization<'h>,
    amz_date: &'h str,
}

impl Claim<'_, '_> {
    /// The region the request signed for, which it acts in.
    pub fn region(&self) -> &str {
        self.authorization.region
    }

    /// Checks the signature over the whole request.
    pub fn check(
        &self,
        headers: &HeaderMap,
        path: &str,
        query: &str,
        body: &[u8],
    ) -> Result<(), Error> {
        let authorization = &self.authorization;
        let mut signed: Vec<(&str, &str)> = Vec::with_capacity(authorization.signed_headers.len());
        for name in &authorization.signed_headers {
            for value in headers.get_all(*name) {
                let Ok(value) = value.to_str() else {
                    return Err(Error::InvalidSignature(signature_mismatch()));
                };
                signed.push((name, value));
            }
        }
        let request = SignableRequest {
            method: "POST",
            path,
            query,
            headers: &signed,
            body,
        };
        let (_, expected) = sigv4::signature(
            &request,
            &self.key.secret_access_key,
            self.amz_date,
            authorization.region,
            SERVICE,
        );
        if !same_bytes(expected.as_bytes(), authorization.signature.as_bytes()) {
            return Err(Error::InvalidSignature(signature_mismatch()));
        }
        Ok(())
    }
}

/// Reads and checks what a request's headers claim (see [`Claim`]).
pub fn claim<'h, 'k>(
    keys: &'k Keys,
    headers: &'h HeaderMap,
    now: OffsetDateTime,
) -> Result<Claim<'h, 'k>, Error> {
    let Some(header) = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
    else {
        return Err(Error::MissingAuthenticationToken);
    };
    let authorization = parse_authorization(header)?;
    if headers.contains_key("x-amz-security-token") {
        // No token service exists: a session token names nothing here.
        return Err(Error::UnrecognizedClient);
    }
    let key = keys
        .by_id
        .get(authorization.access_key_id)
        .ok_or(Error::UnrecognizedClient)?;
    let amz_date = headers
        .get("x-amz-date")
        .and_then(|value| value.to_str().ok())
        .ok_or_else(|| {
            Error::IncompleteSignature(
                "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
                    .to_owned(),
            )
        })?;
    let signed_at = time::PrimitiveDateTime::parse(
        amz_date,
        format_description!("[year][month][day]T[hour][minute][second]Z"),
    )
    .map(time::PrimitiveDateTime::assume_utc)
    .map_err(|_| {
        Error::IncompleteSignature(format!(
            "Date must be in ISO-8601 'basic format'. Got '{amz_date}'."
        ))
    })?;
    if (now - signed_at).abs() > MAX_SKEW {
        let earliest = sigv4::amz_date(now - MAX_SKEW);
        let latest = sigv4::amz_date(now + MAX_SKEW);
        let message = if signed_at < now {
            format!(
                "Signature expired: {amz_date} is now earlier than {earliest} ({} - 15 min.)",
                sigv4::amz_date(now)
            )
        } else {
            format!(
                "Signature not yet current: {amz_date} is still later than {latest} ({} + 15 min.)",
                sigv4::amz_date(now)
            )
        };
        return Err(Error::InvalidSignature(message));
    }
    // The scope's date is the request's own (the signing key is derived from the latter).
    if authorization.service != SERVICE || amz_date.get(..8) != Some(authorization.date) {
        return Err(Error::InvalidSignature(signature_mismatch()));
    }
    // The signed headers as SigV4 lists them: lowercase, sorted, each sent; `host` and
    // `x-amz-target` among them (every SDK signs both), so a captured request cannot be sent
    // again to another operation. The signature covers this list, so no other spelling of it
    // may pass.
    let names = &authorization.signed_headers;
    let listed = names.iter().all(|name| {
        !name.is_empty() && *name == name.to_ascii_lowercase() && headers.contains_key(*name)
    }) && names.windows(2).all(|pair| pair[0] < pair[1])
        && names.contains(&"host")
        && names.contains(&"x-amz-target");
    if !listed {
        return Err(Error::InvalidSignature(signature_mismatch()));
    }
    Ok(Claim {
        key,
        authorization,
        amz_date,
    })
}

/// Whether a key may call `operation` in `region`.
pub fn authorize(key: &Key, operation: &str, region: &str) -> Result<(), Error> {
    let denied = || {
        Error::AccessDenied(format!(
            "User: {} is not authorized to perform: states:{operation}",
            key.access_key_id
        ))
    };
    if key
        .regions
        .as_ref()
        .is_some_and(|regions| !regions.iter().any(|r| r == region))
    {
        return Err(denied());
    }
    let reads = operation.starts_with("Describe")
        || operation.starts_with("List")
        || matches!(
            operation,
            "GetExecutionHistory" | "ValidateStateMachineDefinition"
        );
    if key.read_only && !reads {
        return Err(denied());
    }
    Ok(())
}

fn signature_mismatch() -> String {
    "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.".to_owned()
}

/// Compares in time independent of where the bytes differ, so a signature cannot be guessed
/// byte by byte from response times.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Claim and check in one, as the API does them around reading the body: the key that signed it, and the region it signed for.
    fn verify<'k>(
        keys: &'k Keys,
        headers: &HeaderMap,
        path: &str,
        query: &str,
        body: &[u8],
        now: OffsetDateTime,
    ) -> Result<(&'k Key, String), Error> {
        let claim = claim(keys, headers, now)?;
        claim.check(headers, path, query, body)?;
        Ok((claim.key, claim.authorization.region.to_owned()))
    }
    use axum::http::HeaderValue;

    fn keys() -> Keys {
        Keys::new(vec![Key {
            access_key_id: "AKID".into(),
            secret_access_key: "secret".into(),
            account_id: "123456789012".into(),
            regions: None,
            read_only: false,
        }])
        .expect("valid keys")
    }

    /// A request signed at `at` with `secret`.
    fn signed(at: OffsetDateTime, secret: &str) -> HeaderMap {
        let amz_date = sigv4::amz_date(at);
        let date = &amz_date[..8];
        let pairs = [
            ("host", "localhost:8080"),
            ("x-amz-date", amz_date.as_str()),
            ("x-amz-target", "AWSStepFunctions.ListActivities"),
        ];
        let request = SignableRequest {
            method: "POST",
            path: "/",
            query: "",
            headers: &pairs,
            body: b"{}",
        };
        let (signed_headers, signature) =
            sigv4::signature(&request, secret, &amz_date, "us-east-1", SERVICE);
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static("localhost:8080"));
        headers.insert("x-amz-date", HeaderValue::from_str(&amz_date).unwrap());
        headers.insert(
            "x-amz-target",
            HeaderValue::from_static("AWSStepFunctions.ListActivities"),
        );
        let authorization = format!(
            "AWS4-HMAC-SHA256 Credential=AKID/{date}/us-east-1/states/aws4_request, SignedHeaders={signed_headers}, Signature={signature}"
        );
        headers.insert(
            "authorization",
            HeaderValue::from_str(&authorization).unwrap(),
        );
        headers
    }

    #[test]
    fn a_signature_is_checked_with_its_time_and_secret() {
        let keys = keys();
        let now = OffsetDateTime::now_utc();
        let (key, region) =
            verify(&keys, &signed(now, "secret"), "/", "", b"{}", now).expect("a good signature");
        assert_eq!(
            (key.account_id.as_str(), region.as_str()),
            ("123456789012", "us-east-1")
        );
        // Another body is another signature.
        assert!(matches!(
            verify(&keys, &signed(now, "secret"), "/", "", b"{ }", now),
            Err(Error::InvalidSignature(_))
        ));
        assert!(matches!(
            verify(&keys, &signed(now, "other"), "/", "", b"{}", now),
            Err(Error::InvalidSignature(_))
        ));
        let old = now - time::Duration::minutes(20);
        let Err(Error::InvalidSignature(message)) =
            verify(&keys, &signed(old, "secret"), "/", "", b"{}", now)
        else {
            panic!("an expired signature is refused");
        };
        assert!(message.starts_with("Signature expired: "), "{message}");
        assert!(message.ends_with(" - 15 min.)"), "{message}");
    }

    #[test]
    fn malformed_or_missing_authorization_is_refused_in_aws_words() {
        let keys = keys();
        let now = OffsetDateTime::now_utc();
        assert!(matches!(
            verify(&keys, &HeaderMap::new(), "/", "", b"", now),
            Err(Error::MissingAuthenticationToken)
        ));
        let mut headers = signed(now, "secret");
        headers.insert(
            "authorization",
            HeaderValue::from_static(
                "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/states/aws4_request",
            ),
        );
        let Err(Error::IncompleteSignature(message)) = verify(&keys, &headers, "/", "", b"", now)
        else {
            panic!("an incomplete header is refused");
        };
        assert!(message.starts_with(
            "Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter."
        ));
        let mut headers = signed(now, "secret");
        headers.insert("x-amz-security-token", HeaderValue::from_static("token"));
        assert!(matches!(
            verify(&keys, &headers, "/", "", b"{}", now),
            Err(Error::UnrecognizedClient)
        ));
    }

    /// Property: any Authorization header other than the right one, made of the header's own
    /// pieces, random characters, or one character of a valid header changed, is refused, and
    /// nothing panics.
    #[test]
    fn malformed_headers_never_panic_and_never_pass() {
        let keys = keys();
        let now = OffsetDateTime::now_utc();
        let valid = signed(now, "secret");
        let valid_text = valid["authorization"].to_str().unwrap().to_owned();
        let mut random = switchback_asl::entropy::Entropy::new(7);
        let mut pick = |n: usize| (random.next_u64() % n as u64) as usize;
        const PIECES: [&str; 14] = [
            "AWS4-HMAC-SHA256 ",
            "Credential=",
            "SignedHeaders=",
            "Signature=",
            "AKID",
            "/",
            ",",
            ", ",
            "aws4_request",
            "states",
            "us-east-1",
            ";",
            "host;x-amz-date;x-amz-target",
            "é\u{0}",
        ];
        for round in 0..5_000 {
            let header = if round % 2 == 0 {
                // A valid header with one character replaced, dropped or doubled.
                let mut chars: Vec<char> = valid_text.chars().collect();
                let at = pick(chars.len());
                // A separator doubled or dropped (`, ,`, two spaces) says the same thing.
                if matches!(chars[at], ' ' | ',') {
                    continue;
                }
                match pick(3) {
                    0 => chars[at] = char::from(b'!' + (pick(90) as u8)),
                    1 => {
                        chars.remove(at);
                    }
                    _ => chars.insert(at, chars[at]),
                }
                chars.into_iter().collect::<String>()
            } else {
                (0..pick(12)).map(|_| PIECES[pick(PIECES.len())]).collect()
            };
            if header == valid_text {
                continue;
            }
            let mut headers = valid.clone();
            let Ok(value) = HeaderValue::from_str(&header) else {
                continue;
            };
            headers.insert("authorization", value);
            assert!(
                verify(&keys, &headers, "/", "", b"{}", now).is_err(),
                "accepted: {header}"
            );
        }
    }

    #[test]
    fn keys_are_checked_and_never_show_their_secret() {
        let key = |id: &str, account: &str| Key {
            access_key_id: id.into(),
            secret_access_key: "hunter2".into(),
            account_id: account.into(),
            regions: None,
            read_only: false,
        };
        assert!(Keys::new(vec![key("A", "1234")]).is_err());
        assert!(Keys::new(vec![key("A", "123456789012"), key("A", "123456789012")]).is_err());
        assert!(!format!("{:?}", key("A", "123456789012")).contains("hunter2"));
    }
}
