//! The frame every page shares, the response headers that keep pages safe, and formats.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};
use time::OffsetDateTime;
use time::macros::format_description;

use crate::session::Viewer;

/// Scripts and styles only from the console itself (`/console/assets/`), nothing inline, no
/// framing: user data that slipped through as HTML still could not run.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; \
     form-action 'self'";

/// A page with the navigation, for a viewer.
pub fn page(viewer: &Viewer, title: &str, body: Markup) -> Response {
    respond(document(
        title,
        html! {
            header.top {
                a.brand href="/console/" { "Switchback" }
                nav {
                    a href="/console/" { "State machines" }
                    a href="/console/executions" { "Executions" }
                    a href="/console/activities" { "Activities" }
                }
                div.who {
                    span.scope { (viewer.scope.account) " · " (viewer.scope.region) }
                    @if let Some(key) = &viewer.key {
                        span.key { (key.access_key_id) @if key.read_only { " (read only)" } }
                        form.inline method="post" action="/console/logout" {
                            input type="hidden" name="csrf" value=(viewer.csrf);
                            button type="submit" { "Log out" }
                        }
                    } @else {
                        form.inline method="post" action="/console/region" {
                            input type="hidden" name="csrf" value=(viewer.csrf);
                            input type="text" name="region" value=(viewer.scope.region)
                                size="12" aria-label="Region";
                            button type="submit" { "Switch region" }
                        }
                    }
                }
            }
            main #main { (body) }
        },
    ))
}

/// A page without navigation (login, errors).
pub fn bare(title: &str, body: Markup) -> Response {
    respond(document(title, html! { main #main { (body) } }))
}

fn document(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Switchback" }
                link rel="stylesheet" href="/console/assets/console.css";
                script src="/console/assets/console.js" defer {}
            }
            body { (body) }
        }
    }
}

fn respond(markup: Markup) -> Response {
    let mut response = axum::response::Html(markup.into_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A time as the console shows it: UTC, to the millisecond.
pub fn when(at: OffsetDateTime) -> String {
    at.format(format_description!(
        "[year]-[month]-[day] [hour]:[minute]:[second].[subsecond digits:3]"
    ))
    .unwrap_or_default()
}

/// A duration in the unit that reads best.
pub fn duration(seconds: f64) -> String {
    if seconds < 1.0 {
        format!("{:.0} ms", seconds * 1000.0)
    } else if seconds < 120.0 {
        format!("{seconds:.2} s")
    } else if seconds < 7200.0 {
        format!("{:.1} min", seconds / 60.0)
    } else {
        format!("{:.1} h", seconds / 3600.0)
    }
}

/// A status badge.
pub fn status(status: &str) -> Markup {
    html! { span class=(format!("badge {}", status.to_ascii_lowercase())) { (status) } }
}

/// JSON text shown indented when it parses, as given when it does not.
pub fn pretty(text: &str) -> String {
    serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|value| serde_json::to_string_pretty(&value).ok())
        .unwrap_or_else(|| text.to_owned())
}

/// The link to a page about an ARN.
pub fn link(page: &str, arn: &str) -> String {
    format!("/console/{page}?arn={}", encode(arn))
}

/// A query-string value.
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~' | b':') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The Parallel and Map states a page draws folded (its `fold` parameter: names joined by
/// commas).
pub fn folded(fold: Option<&str>) -> std::collections::HashSet<String> {
    fold.unwrap_or_default()
        .split(',')
        .filter(|name| !name.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The link that folds `name` (or unfolds it, if it is folded) on the page at `base`.
pub fn fold_link(base: &str, folded: &std::collections::HashSet<String>, name: &str) -> String {
    let mut names: Vec<&str> = folded.iter().map(String::as_str).collect();
    match names.iter().position(|n| *n == name) {
        Some(at) => {
            names.remove(at);
        }
        None => names.push(name),
    }
    names.sort_unstable();
    if names.is_empty() {
        base.to_owned()
    } else {
        format!("{base}&fold={}", encode(&names.join(",")))
    }
}

/// The last part of an ARN (a resource's name).
pub fn name_of(arn: &str) -> &str {
    arn.rsplit(':').next().unwrap_or(arn)
}
