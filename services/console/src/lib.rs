//! switchback-console: the web console every API node serves under `/console/`.
//!
//! Module map:
//! - [`session`] — who is looking: the key a login proved (with credentials) or the one
//!   account; the session cookie; CSRF tokens.
//! - `pages` — the pages, rendered on the server with maud (every value escaped):
//!   `layout` (the frame, navigation, formats), `machines`, `executions`, `execution`,
//!   `activities`, `login`.
//! - `actions` — start, stop, redrive: forms that run the API's own operations through
//!   [`switchback_api::call`], with its rules, errors and throttling.
//! - [`graph`] — a definition laid out in layers; `svg` draws it, each state coloured.
//! - [`progress`] — what happened to each state, read from the history's outline.
//! - `outlines` — the outlines of recently viewed histories, read only as far as they grew.
//! - `error` — the console's error enum and the page each error shows.
//! - `assets` — the stylesheet and the small script (live refresh, the JSON check), compiled
//!   into the binary.
//!
//! Reads go to the store directly (`switchback_store::console` and the API's own store
//! functions); nothing here writes but through the API's operations.

mod actions;
mod assets;
mod error;
pub mod graph;
mod outlines;
mod pages;
pub mod progress;
pub mod session;
mod svg;

use axum::Router;
use axum::response::Redirect;
use axum::routing::{get, post};
use switchback_api::ApiState;

/// The console's routes, all under `/console`.
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route(
            "/console",
            get(|| async { Redirect::permanent("/console/") }),
        )
        .route("/console/", get(pages::machines::list))
        .route("/console/state-machine", get(pages::machines::show))
        .route("/console/executions", get(pages::executions::list))
        .route("/console/execution", get(pages::execution::show))
        .route("/console/activities", get(pages::activities::list))
        .route("/console/map-run", get(pages::map_run::show))
        .route("/console/region", post(pages::login::region))
        .route(
            "/console/login",
            get(pages::login::form).post(pages::login::submit),
        )
        .route("/console/logout", post(pages::login::logout))
        .route("/console/actions/start", post(actions::start))
        .route("/console/actions/stop", post(actions::stop))
        .route("/console/actions/redrive", post(actions::redrive))
        .route("/console/assets/console.css", get(assets::css))
        .route("/console/assets/console.js", get(assets::js))
        .layer(axum::Extension(outlines::Outlines::default()))
        .with_state(state)
}
