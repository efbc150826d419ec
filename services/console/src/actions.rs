//! The console's actions: each runs the API's own operation (`switchback_api::call`) in the
//! viewer's scope, with the viewer's key's rights, so that it obeys the same rules and fails
//! with the same errors as a call from an SDK. Forms carry a CSRF token and must come from the
//! console's own origin.

use axum::Form;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use switchback_api::ApiState;

use crate::error::Error;
use crate::pages::layout::link;
use crate::session::{self, Viewer};

#[derive(Deserialize)]
pub struct Start {
    csrf: String,
    arn: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    input: String,
}

#[derive(Deserialize)]
pub struct Target {
    csrf: String,
    arn: String,
}

fn check(state: &ApiState, viewer: &Viewer, headers: &HeaderMap, csrf: &str) -> Result<(), Error> {
    if !session::same_origin(headers) || !viewer.check_csrf(state, csrf) {
        return Err(Error::Forbidden(
            "The form's token is not valid; reload the page and try again".to_owned(),
        ));
    }
    Ok(())
}

async fn call(
    state: &ApiState,
    viewer: &Viewer,
    operation: &str,
    body: Value,
) -> Result<Value, Error> {
    Ok(switchback_api::call(
        state,
        viewer.scope.clone(),
        viewer.key.as_ref(),
        operation,
        body,
    )
    .await?)
}

pub async fn start(
    State(state): State<ApiState>,
    viewer: Viewer,
    headers: HeaderMap,
    Form(form): Form<Start>,
) -> Result<Response, Error> {
    check(&state, &viewer, &headers, &form.csrf)?;
    let mut body = json!({ "stateMachineArn": form.arn });
    let name = form.name.trim();
    if !name.is_empty() {
        body["name"] = Value::from(name);
    }
    let input = if form.input.trim().is_empty() {
        "{}"
    } else {
        form.input.as_str()
    };
    body["input"] = Value::from(input);
    let started = call(&state, &viewer, "StartExecution", body).await?;
    let arn = started
        .get("executionArn")
        .and_then(Value::as_str)
        .unwrap_or_default();
    Ok(Redirect::to(&link("execution", arn)).into_response())
}

pub async fn stop(
    State(state): State<ApiState>,
    viewer: Viewer,
    headers: HeaderMap,
    Form(form): Form<Target>,
) -> Result<Response, Error> {
    on_execution(&state, &viewer, &headers, form, "StopExecution").await
}

pub async fn redrive(
    State(state): State<ApiState>,
    viewer: Viewer,
    headers: HeaderMap,
    Form(form): Form<Target>,
) -> Result<Response, Error> {
    on_execution(&state, &viewer, &headers, form, "RedriveExecution").await
}

/// Runs `operation` on the form's execution, then shows the execution.
async fn on_execution(
    state: &ApiState,
    viewer: &Viewer,
    headers: &HeaderMap,
    form: Target,
    operation: &str,
) -> Result<Response, Error> {
    check(state, viewer, headers, &form.csrf)?;
    call(
        state,
        viewer,
        operation,
        json!({ "executionArn": form.arn }),
    )
    .await?;
    Ok(Redirect::to(&link("execution", &form.arn)).into_response())
}
