//! Logging in with a key of the credentials file, logging out, and choosing the region when
//! requests are not authenticated.

use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;
use switchback_api::ApiState;

use super::layout::bare;
use crate::error::Error;
use crate::session::{self, REGION_COOKIE, Viewer};

pub async fn form(State(state): State<ApiState>) -> Response {
    if state.config.credentials.is_none() {
        return Redirect::to("/console/").into_response();
    }
    login_page(&state.config.default_region, None)
}

fn login_page(region: &str, failed: Option<&str>) -> Response {
    bare(
        "Log in",
        html! {
            h1 { "Switchback" }
            p { "Log in with an access key of this server's credentials file." }
            @if let Some(message) = failed { p.error #login-error { (message) } }
            form.login #login-form method="post" action="/console/login" {
                label { "Access key id" input type="text" name="access_key_id" required autocomplete="username"; }
                label { "Secret access key" input type="password" name="secret_access_key" required autocomplete="current-password"; }
                label { "Region" input type="text" name="region" value=(region) required; }
                button type="submit" { "Log in" }
            }
        },
    )
}

#[derive(Deserialize)]
pub struct Login {
    access_key_id: String,
    secret_access_key: String,
    region: String,
}

pub async fn submit(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Form(login): Form<Login>,
) -> Result<Response, Error> {
    if !session::same_origin(&headers) {
        return Err(Error::Forbidden(
            "The form was sent from another site".to_owned(),
        ));
    }
    let Some(ring) = &state.config.credentials else {
        return Ok(Redirect::to("/console/").into_response());
    };
    let region = login.region.trim();
    let keys = ring.current();
    let refused = |message: &str| Ok(login_page(region, Some(message)));
    let Some(key) = keys.login(login.access_key_id.trim(), &login.secret_access_key) else {
        tracing::info!(access_key_id = %login.access_key_id.trim(), "console login refused");
        return refused("Unknown access key id, or a wrong secret.");
    };
    if !switchback_asl::arn::is_region(region) {
        return refused("That is not a region name.");
    }
    if switchback_api::auth::authorize(key, "DescribeStateMachine", region).is_err() {
        return refused("This key may not act in that region.");
    }
    let cookie =
        session::session_cookie(&state, key, region, session::over_https(&state, &headers));
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to("/console/")).into_response())
}

#[derive(Deserialize)]
pub struct Csrf {
    csrf: String,
}

pub async fn logout(
    State(state): State<ApiState>,
    viewer: Viewer,
    headers: HeaderMap,
    Form(form): Form<Csrf>,
) -> Result<Response, Error> {
    if !session::same_origin(&headers) || !viewer.check_csrf(&state, &form.csrf) {
        return Err(Error::Forbidden(
            "The form's token is not valid; reload the page".to_owned(),
        ));
    }
    let secure = session::over_https(&state, &headers);
    Ok((
        [(header::SET_COOKIE, session::ended_session_cookie(secure))],
        Redirect::to("/console/login"),
    )
        .into_response())
}

#[derive(Deserialize)]
pub struct Region {
    csrf: String,
    region: String,
}

/// Without authentication, the region the console shows (with it, the login's).
pub async fn region(
    State(state): State<ApiState>,
    viewer: Viewer,
    headers: HeaderMap,
    Form(form): Form<Region>,
) -> Result<Response, Error> {
    if !session::same_origin(&headers) || !viewer.check_csrf(&state, &form.csrf) {
        return Err(Error::Forbidden(
            "The form's token is not valid; reload the page".to_owned(),
        ));
    }
    if state.config.credentials.is_some() {
        return Err(Error::BadRequest(
            "The region is chosen when logging in".to_owned(),
        ));
    }
    let region = form.region.trim();
    if !switchback_asl::arn::is_region(region) {
        return Err(Error::BadRequest(format!("Not a region name: {region}")));
    }
    let secure = session::over_https(&state, &headers);
    let cookie = session::cookie_header(REGION_COOKIE, region, None, secure);
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to("/console/")).into_response())
}
