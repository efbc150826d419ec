//! One execution: its graph coloured by what happened to each state, a timeline of the states,
//! its input, output, error and cause, and its history in pages. A running execution's page
//! refreshes itself (the script fetches the page again and swaps `#live`).

use axum::Extension;
use axum::extract::{Query, State};
use axum::response::Response;
use maud::html;
use serde::Deserialize;
use serde_json::Value;
use switchback_api::ApiState;
use switchback_asl::arn::{Arn, ResourceKind, names_express_execution};
use switchback_asl::model::StateMachine;
use switchback_store::{executions, map_runs};
use time::OffsetDateTime;

use super::layout::{duration, link, name_of, page, pretty, status, when};
use crate::error::Error;
use crate::outlines::Outlines;
use crate::progress;
use crate::session::Viewer;

/// Events per page of the history table.
const EVENTS_PAGE: i64 = 100;
/// Every event is read for the colours, up to AWS's limit on a history.
const MAX_EVENTS: i64 = switchback_asl::limits::MAX_HISTORY_EVENTS as i64;
/// Distributed Map runs listed on an execution's page (its newest).
const MAP_RUNS_SHOWN: i64 = 20;
/// Rows of the timeline shown (loops and Map iterations can enter states thousands of times).
const TIMELINE_ROWS: usize = 200;

#[derive(Deserialize)]
pub struct ShowQuery {
    arn: String,
    /// The history page after this event id.
    after: Option<i64>,
    /// The history page before this event id.
    before: Option<i64>,
    /// Show one iteration of this Map state (with `iteration`).
    map: Option<String>,
    iteration: Option<u64>,
    /// Parallel and Map states drawn folded.
    fold: Option<String>,
}

pub async fn show(
    State(state): State<ApiState>,
    Extension(outlines): Extension<Outlines>,
    viewer: Viewer,
    Query(query): Query<ShowQuery>,
) -> Result<Response, Error> {
    let missing = || Error::NotFound(format!("Execution Does Not Exist: '{}'", query.arn));
    let arn = Arn::parse(&query.arn, ResourceKind::Execution)
        .map_err(|error| Error::BadRequest(error.to_string()))?;
    if !viewer.scope.holds(&arn) || names_express_execution(&query.arn) {
        return Err(missing());
    }
    let execution = executions::describe(&state.pool, &query.arn)
        .await?
        .ok_or_else(missing)?;
    let outline = outlines
        .read(&state.pool, execution.seq, MAX_EVENTS)
        .await?;
    let definition = serde_json::from_str::<StateMachine>(&execution.definition).ok();
    let maps = definition
        .as_ref()
        .map(progress::map_states)
        .unwrap_or_default();
    let only = match (&definition, &query.map, query.iteration) {
        (Some(definition), Some(map), Some(index)) => {
            progress::OneIteration::new(definition, map, index)
        }
        _ => None,
    };
    let progress = progress::read(
        &outline,
        &execution.status,
        definition.as_ref(),
        only.as_ref(),
    );
    let folded = super::layout::folded(query.fold.as_deref());
    let graph = definition
        .as_ref()
        .map(|definition| crate::graph::layout(definition, &folded));
    let mut base = link("execution", &execution.arn);
    if let Some(only) = &only {
        base.push_str(&format!(
            "&map={}&iteration={}",
            super::layout::encode(&only.map),
            only.index
        ));
    }
    let fold = |name: &str| super::layout::fold_link(&base, &folded, name);

    // The history page asked for.
    let (mut events, reverse) = match (query.before, query.after) {
        (Some(before), _) => (
            executions::history_page(&state.pool, execution.seq, before, true, EVENTS_PAGE).await?,
            true,
        ),
        (None, after) => (
            executions::history_page(
                &state.pool,
                execution.seq,
                after.unwrap_or(0),
                false,
                EVENTS_PAGE,
            )
            .await?,
            false,
        ),
    };
    if reverse {
        events.reverse();
    }
    let total = outline.len() as i64;
    let first_id = events.first().map(|(id, _)| i64::from(*id));
    let last_id = events.last().map(|(id, _)| i64::from(*id));
    let started = execution.started_at.unix_timestamp_nanos() as f64 / 1e9;
    let running = execution.status == "RUNNING";
    let redrivable = execution
        .not_redrivable(OffsetDateTime::now_utc())
        .is_none();
    let machine_arn = &execution.state_machine_arn;
    // The Distributed Map runs it started, newest first (each retry or entry is a run).
    let runs = map_runs::list(&state.pool, &execution.arn, i64::MAX, MAP_RUNS_SHOWN).await?;

    let body = html! {
        div #live data-refresh=[running.then_some("2000")] {
            h1 { (execution.name) " " (status(&execution.status)) }
            dl.facts {
                dt { "State machine" } dd { a href=(link("state-machine", machine_arn)) { (name_of(machine_arn)) } }
                @if let Some(version) = &execution.state_machine_version_arn { dt { "Version" } dd { code { (version) } } }
                @if let Some(alias) = &execution.state_machine_alias_arn { dt { "Alias" } dd { code { (alias) } } }
                dt { "ARN" } dd { code { (execution.arn) } }
                dt { "Started" } dd { (when(execution.started_at)) }
                @if let Some(stopped) = execution.stopped_at {
                    dt { "Stopped" } dd { (when(stopped)) " (" (duration((stopped - execution.started_at).as_seconds_f64())) ")" }
                }
                @if execution.redrive_count > 0 {
                    dt { "Redriven" } dd { (execution.redrive_count) " time(s)" }
                }
                @if !runs.is_empty() {
                    dt { "Map Runs" } dd #map-runs {
                        @for run in &runs {
                            a href=(link("map-run", &run.arn)) { (name_of(&run.arn)) } " " (status(&run.status)) br;
                        }
                    }
                }
            }
            @if !viewer.read_only() && (running || redrivable) {
                div.actions {
                    @if running {
                        form #stop-form method="post" action="/console/actions/stop" {
                            input type="hidden" name="csrf" value=(viewer.csrf);
                            input type="hidden" name="arn" value=(execution.arn);
                            button.danger type="submit" { "Stop execution" }
                        }
                    }
                    @if redrivable {
                        form #redrive-form method="post" action="/console/actions/redrive" {
                            input type="hidden" name="csrf" value=(viewer.csrf);
                            input type="hidden" name="arn" value=(execution.arn);
                            button type="submit" { "Redrive" }
                        }
                    }
                }
            }
            @if let Some(error) = &execution.error {
                div.failure #failure {
                    h2 { "Error" }
                    p #error { code { (error.0) } }
                    @if let Some(cause) = &execution.cause {
                        h3 { "Cause" }
                        pre #cause { (pretty(&cause.0)) }
                    }
                }
            }
            h2 { "Graph" }
            p.legend {
                @for (class, label) in [("succeeded", "succeeded"), ("retried", "retried"), ("running", "running"), ("caught", "caught"), ("failed", "failed"), ("aborted", "stopped"), ("not-reached", "not reached")] {
                    span class=(format!("swatch {class}")) {} (label)
                }
            }
            @if !maps.is_empty() {
                form.filters #iteration-form method="get" action="/console/execution" {
                    input type="hidden" name="arn" value=(execution.arn);
                    label { "Map state "
                        select name="map" {
                            @for map in &maps {
                                option value=(map) selected[only.as_ref().is_some_and(|o| o.map == *map)] { (map) }
                            }
                        }
                    }
                    label { "Iteration " input type="number" name="iteration" min="0" value=[only.as_ref().map(|o| o.index)]; }
                    button type="submit" { "Show one iteration" }
                    @if let Some(only) = &only {
                        span.note #showing-iteration { "Showing iteration " (only.index) " of " (only.map) ". " }
                        a href=(link("execution", &execution.arn)) { "Show all iterations" }
                    }
                }
            }
            @match &graph {
                Some(graph) => div.graph-box { (crate::svg::render(graph, &progress.status, &fold)) },
                None => p.empty { "The definition does not parse into a graph." },
            }
            h2 { "Timeline" }
            @if progress.runs.is_empty() {
                p.empty { "No state entered yet." }
            } @else {
                @let end = progress.runs.iter().filter_map(|r| r.exited).chain(progress.runs.iter().map(|r| r.entered)).fold(started, f64::max).max(started + 0.001);
                @let span = end - started;
                table.list.timeline #timeline {
                    thead { tr { th { "State" } th { "Entered" } th { "Duration" } th.bar { "" } } }
                    tbody {
                        @for run in progress.runs.iter().take(TIMELINE_ROWS) {
                            @let from = ((run.entered - started) / span).clamp(0.0, 1.0);
                            @let to = ((run.exited.unwrap_or(end) - started) / span).clamp(from, 1.0);
                            tr data-state=(run.name) {
                                td { (run.name) }
                                td { "+" (duration(run.entered - started)) }
                                td { @match run.exited { Some(exited) => (duration(exited - run.entered)), None => "…" } }
                                td.bar {
                                    svg width="100%" height="12" viewBox="0 0 1000 12" preserveAspectRatio="none" {
                                        rect class=(format!("bar {}", run.status.as_str())) x=(format!("{:.1}", from * 1000.0)) y="1" height="10" width=(format!("{:.1}", ((to - from) * 1000.0).max(2.0))) {}
                                    }
                                }
                            }
                        }
                    }
                }
                @if progress.runs.len() > TIMELINE_ROWS {
                    p.note { "The first " (TIMELINE_ROWS) " of " (progress.runs.len()) " states entered." }
                }
            }
            h2 { "Input" }
            pre.json #input { (pretty(&execution.input)) }
            @if let Some(output) = &execution.output {
                h2 { "Output" }
                pre.json #output { (pretty(output)) }
            }
        }
        h2 #events { "Events (" (total) ")" }
        table.list.events #event-table {
            thead { tr { th { "ID" } th { "Type" } th { "Time" } th { "Details" } } }
            tbody {
                @for (id, text) in &events {
                    @let event: Value = serde_json::from_str(text).unwrap_or(Value::Null);
                    @let kind = event.get("type").and_then(Value::as_str).unwrap_or("");
                    @let at = event.get("timestamp").and_then(Value::as_f64).unwrap_or(started);
                    tr data-id=(id) {
                        td.number { (id) }
                        td { (kind) }
                        td { "+" (duration(at - started)) }
                        td {
                            @if let Some((key, details)) = progress::details(&event) {
                                details {
                                    summary { (key) }
                                    pre.json { (serde_json::to_string_pretty(details).unwrap_or_default()) }
                                }
                            }
                        }
                    }
                }
            }
        }
        p.paging {
            @if let Some(first) = first_id.filter(|id| *id > 1) {
                a #newer-events href=(format!("{}&before={first}#events", link("execution", &execution.arn))) { "Previous events" }
            }
            @if let Some(last) = last_id.filter(|id| *id < total) {
                " "
                a #more-events href=(format!("{}&after={last}#events", link("execution", &execution.arn))) { "Next events" }
            }
        }
    };
    Ok(page(&viewer, &execution.name, body))
}
