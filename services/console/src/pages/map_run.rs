//! One Distributed Map run: where its items and its child executions stand, its settings, and
//! its children in pages, each linking to its own execution page.

use axum::extract::{Query, State};
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;
use switchback_api::ApiState;
use switchback_asl::arn::{Arn, ResourceKind, names_express_execution};
use switchback_store::executions::{self, Filter};
use switchback_store::map_runs::{self, MapRun, Tally};

use super::layout::{duration, encode, link, name_of, page, status, when};
use crate::error::Error;
use crate::session::Viewer;

const PAGE_SIZE: i64 = 50;

#[derive(Deserialize)]
pub struct ShowQuery {
    arn: String,
    /// The children's page before this item.
    before: Option<i64>,
}

pub async fn show(
    State(state): State<ApiState>,
    viewer: Viewer,
    Query(query): Query<ShowQuery>,
) -> Result<Response, Error> {
    let missing = || Error::NotFound(format!("Map Run Does Not Exist: '{}'", query.arn));
    let arn = Arn::parse(&query.arn, ResourceKind::MapRun)
        .map_err(|error| Error::BadRequest(error.to_string()))?;
    if !viewer.scope.holds(&arn) {
        return Err(missing());
    }
    let run = map_runs::describe(&state.pool, &query.arn)
        .await?
        .ok_or_else(missing)?;
    let (items, children) = run.counts.tallies();
    let before = query.before.unwrap_or(i64::MAX);
    let rows = executions::list_for_map_run(
        &state.pool,
        &run.arn,
        Filter::default(),
        before,
        PAGE_SIZE + 1,
    )
    .await?;
    let more = rows.len() as i64 > PAGE_SIZE;
    let rows = &rows[..rows.len().min(PAGE_SIZE as usize)];
    let next = rows
        .last()
        .filter(|_| more)
        .and_then(|last| last.map_index)
        .map(|index| format!("{}&before={index}", link("map-run", &run.arn)));
    let body = html! {
        h1 { "Map Run " (name_of(&run.arn)) " " (status(&run.status)) }
        (facts(&run))
        h2 { "Items and child executions" }
        table.list #map-run-counts {
            thead { tr { th { "" } th { "Items" } th { "Child executions" } } }
            tbody {
                @for (label, field) in COUNTED {
                    tr { td { (label) } td.number { (field(&items)) } td.number { (field(&children)) } }
                }
            }
        }
        h2 { "Child executions" }
        @if rows.is_empty() {
            p.empty { "No child execution yet." }
        } @else {
            table.list.executions #map-run-children {
                thead { tr { th { "Item" } th { "Name" } th { "Status" } th { "Started" } th { "Duration" } } }
                tbody {
                    @for child in rows {
                        tr data-status=(child.status) {
                            td.number { (child.map_index.unwrap_or_default()) }
                            // Express children have no execution page (AWS keeps no history).
                            td { @if names_express_execution(&child.arn) { (child.name) } @else {
                                a href=(link("execution", &child.arn)) { (child.name) }
                            } }
                            td { (status(&child.status)) }
                            td { (when(child.started_at)) }
                            td { @if let Some(stopped) = child.stopped_at {
                                (duration((stopped - child.started_at).as_seconds_f64()))
                            } }
                        }
                    }
                }
            }
        }
        @if let Some(next) = next {
            p.paging { a #earlier-children href=(next) { "Earlier items" } }
        }
    };
    Ok(page(&viewer, "Map Run", body))
}

/// One count of a [`Tally`].
type Count = fn(&Tally) -> i64;

/// The rows of the counts table: AWS's words, and each count.
const COUNTED: [(&str, Count); 7] = [
    ("Pending", |t| t.pending),
    ("Running", |t| t.running),
    ("Succeeded", |t| t.succeeded),
    ("Failed", |t| t.failed),
    ("Timed out", |t| t.timed_out),
    ("Aborted", |t| t.aborted),
    ("Total", |t| t.total),
];

/// The run's parent, dates and settings.
fn facts(run: &MapRun) -> Markup {
    html! {
        dl.facts {
            dt { "Execution" } dd { a #map-run-parent href=(link("execution", &run.execution_arn)) { (name_of(&run.execution_arn)) } }
            dt { "ARN" } dd { code { (run.arn) } }
            dt { "Started" } dd { (when(run.started_at)) }
            @if let Some(stopped) = run.stopped_at {
                dt { "Stopped" } dd { (when(stopped)) " (" (duration((stopped - run.started_at).as_seconds_f64())) ")" }
            }
            dt { "Max concurrency" } dd { (match run.max_concurrency { 0 => "unlimited (10,000)".to_owned(), n => n.to_string() }) }
            dt { "Tolerated failures" } dd {
                (run.tolerated_failure_count.unwrap_or(0)) " items, "
                (run.tolerated_failure_percentage.unwrap_or(0.0)) " %"
            }
            @if run.redrive_count > 0 {
                dt { "Redriven" } dd { (run.redrive_count) " time(s)" }
            }
            dt { "Child executions" } dd {
                a #map-run-filter href=(format!("/console/executions?machine={}", encode(&children_machine(run)))) { "Filter by status or name" }
            }
        }
    }
}

/// The state machine ARN the run's children are executions of: `…:stateMachine:<machine>/<label>`.
fn children_machine(run: &MapRun) -> String {
    run.arn
        .rsplit_once(':')
        .map(|(machine, _)| machine.replacen(":mapRun:", ":stateMachine:", 1))
        .unwrap_or_default()
}
