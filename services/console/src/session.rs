//! Who is looking, and in which account and region.
//!
//! With a credentials file, the console asks for a key (its id and secret, checked as the API
//! checks a signature's key) and keeps a session cookie: the key id and region, signed with the
//! page-token key every node shares, valid for a day, and only while the key is in the file.
//! Without one, everybody is the one account of `aws.account_id`, as on the API.
//!
//! Forms that act carry a CSRF token, signed the same way and bound to the session; the cookie
//! is `SameSite=Strict`, and a POST from another origin is refused.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use switchback_api::ApiState;
use switchback_api::auth::Key;
use switchback_asl::arn::is_region;
use switchback_store::Scope;

pub const SESSION_COOKIE: &str = "switchback_session";
pub const REGION_COOKIE: &str = "switchback_region";

/// The viewer of a page: the scope every read and action of the page is in.
pub struct Viewer {
    pub scope: Scope,
    /// The key that logged in; `None` when requests are not authenticated.
    pub key: Option<Key>,
    /// The token this viewer's forms carry.
    pub csrf: String,
}

impl Viewer {
    /// Whether this viewer's key may only read.
    pub fn read_only(&self) -> bool {
        self.key.as_ref().is_some_and(|key| key.read_only)
    }

    /// Checks a form's CSRF token.
    pub fn check_csrf(&self, state: &ApiState, token: &str) -> bool {
        state
            .page_tokens
            .read(&csrf_list(self.key.as_ref()), token)
            .is_ok()
    }
}

fn session_list(access_key_id: &str, region: &str) -> String {
    format!("console-session:{access_key_id}:{region}")
}

fn csrf_list(key: Option<&Key>) -> String {
    match key {
        Some(key) => format!("console-csrf:{}", key.access_key_id),
        None => "console-csrf".to_owned(),
    }
}

/// A cookie's value from the request's `Cookie` headers.
pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// Whether the browser reached the console over HTTPS: served with TLS, or through a proxy
/// that says so. Cookies are then `Secure`.
pub fn over_https(state: &ApiState, headers: &HeaderMap) -> bool {
    state.config.tls
        || headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|proto| proto.eq_ignore_ascii_case("https"))
}

/// A console cookie: only for `/console`, never sent by another site's requests.
pub fn cookie_header(name: &str, value: &str, max_age: Option<u32>, secure: bool) -> String {
    let mut cookie = format!("{name}={value}; Path=/console; HttpOnly; SameSite=Strict");
    if let Some(seconds) = max_age {
        cookie.push_str(&format!("; Max-Age={seconds}"));
    }
    if secure {
        cookie.push_str("; Secure");
    }
    cookie
}

/// The session cookie for a key that logged in to `region`. Its token is bound to the key's
/// secret: rotating the secret ends the session.
pub fn session_cookie(state: &ApiState, key: &Key, region: &str, secure: bool) -> String {
    let token = state.page_tokens.issue_bound(
        &session_list(&key.access_key_id, region),
        0,
        key.session_binding(),
    );
    let value = format!(
        "{}~{}~{token}",
        URL_SAFE_NO_PAD.encode(&key.access_key_id),
        URL_SAFE_NO_PAD.encode(region)
    );
    cookie_header(SESSION_COOKIE, &value, Some(86_400), secure)
}

/// A cookie that ends the session.
pub fn ended_session_cookie(secure: bool) -> String {
    cookie_header(SESSION_COOKIE, "", Some(0), secure)
}

/// The key and region of a genuine session cookie whose key is still in force.
fn session(state: &ApiState, headers: &HeaderMap) -> Option<(Key, String)> {
    let ring = state.config.credentials.as_ref()?;
    let value = cookie(headers, SESSION_COOKIE)?;
    let mut parts = value.splitn(3, '~');
    let decode = |part: Option<&str>| {
        URL_SAFE_NO_PAD
            .decode(part?)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
    };
    let access_key_id = decode(parts.next())?;
    let region = decode(parts.next())?;
    let token = parts.next()?;
    let key = ring.current().get(&access_key_id)?.clone();
    state
        .page_tokens
        .read_bound(
            &session_list(&access_key_id, &region),
            token,
            key.session_binding(),
        )
        .ok()?;
    // A key since limited to other regions no longer opens this one.
    switchback_api::auth::authorize(&key, "DescribeStateMachine", &region).ok()?;
    Some((key, region))
}

impl FromRequestParts<ApiState> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, Response> {
        let (scope, key) = if state.config.credentials.is_some() {
            let Some((key, region)) = session(state, &parts.headers) else {
                return Err(Redirect::to("/console/login").into_response());
            };
            let scope = Scope {
                account: key.account_id.clone(),
                region,
            };
            (scope, Some(key))
        } else {
            let region = cookie(&parts.headers, REGION_COOKIE)
                .filter(|region| is_region(region))
                .unwrap_or(&state.config.default_region);
            let scope = Scope {
                account: state.config.default_account.clone(),
                region: region.to_owned(),
            };
            (scope, None)
        };
        let csrf = state.page_tokens.issue(&csrf_list(key.as_ref()), 0);
        Ok(Viewer { scope, key, csrf })
    }
}

/// Whether a POST comes from the console's own pages: a browser names the page's origin in
/// `Origin`, which must be this host (as the browser addressed it: `Host`, or the
/// `X-Forwarded-Host` of a proxy that rewrites it).
pub fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        // Browsers send Origin with every form POST; a client without it is not a browser
        // that another site could drive.
        return true;
    };
    let origin_host = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .unwrap_or_default();
    [header::HOST.as_str(), "x-forwarded-host"]
        .iter()
        .any(|name| {
            headers
                .get(*name)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|host| !host.is_empty() && host == origin_host)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_by_name() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            "a=1; switchback_region=eu-west-1".parse().expect("header"),
        );
        assert_eq!(cookie(&headers, REGION_COOKIE), Some("eu-west-1"));
        assert_eq!(cookie(&headers, "b"), None);
    }

    #[test]
    fn only_the_same_origin_may_post() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, "127.0.0.1:8083".parse().expect("header"));
        assert!(same_origin(&headers));
        headers.insert(
            header::ORIGIN,
            "http://127.0.0.1:8083".parse().expect("header"),
        );
        assert!(same_origin(&headers));
        headers.insert(
            header::ORIGIN,
            "https://evil.example".parse().expect("header"),
        );
        assert!(!same_origin(&headers));
    }
}
