//! Executions across the scope's state machines: a status filter, a name search, and keyset
//! paging that stays as fast on the millionth execution as on the first.

use axum::extract::{Query, State};
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;
use switchback_api::ApiState;
use switchback_store::console::{self, ExecutionFilter, ExecutionRow};
use switchback_store::executions::STATUSES;

use super::layout::{duration, encode, link, name_of, page, status, when};
use crate::error::Error;
use crate::session::Viewer;

const PAGE_SIZE: i64 = 50;

#[derive(Deserialize)]
pub struct ListQuery {
    status: Option<String>,
    name: Option<String>,
    machine: Option<String>,
    before: Option<i64>,
}

pub async fn list(
    State(state): State<ApiState>,
    viewer: Viewer,
    Query(query): Query<ListQuery>,
) -> Result<Response, Error> {
    let status_filter = query.status.as_deref().filter(|s| STATUSES.contains(s));
    let name = query
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty());
    let machine = query.machine.as_deref().filter(|m| !m.is_empty());
    let filter = ExecutionFilter {
        status: status_filter,
        state_machine_arn: machine,
        name_prefix: name,
    };
    let before = query.before.unwrap_or(i64::MAX);
    let rows =
        console::executions(&state.pool, &viewer.scope, filter, before, PAGE_SIZE + 1).await?;
    let more = rows.len() as i64 > PAGE_SIZE;
    let rows = &rows[..rows.len().min(PAGE_SIZE as usize)];
    let next = rows.last().filter(|_| more).map(|last| {
        let mut url = format!("/console/executions?before={}", last.seq);
        for (key, value) in [
            ("status", status_filter),
            ("name", name),
            ("machine", machine),
        ] {
            if let Some(value) = value {
                url.push_str(&format!("&{key}={}", encode(value)));
            }
        }
        url
    });
    let body = html! {
        h1 { "Executions" }
        form.filters #filters method="get" action="/console/executions" {
            @if let Some(machine) = machine {
                input type="hidden" name="machine" value=(machine);
                span.filter { "of " a href=(link("state-machine", machine)) { (name_of(machine)) } }
            }
            label { "Status "
                select name="status" {
                    option value="" selected[status_filter.is_none()] { "Any" }
                    @for s in STATUSES {
                        option value=(s) selected[status_filter == Some(s)] { (s) }
                    }
                }
            }
            label { "Name starts with " input type="search" name="name" value=(name.unwrap_or("")); }
            button type="submit" { "Filter" }
        }
        @if rows.is_empty() {
            p.empty { "No executions match." }
        } @else {
            (executions_table(rows))
        }
        @if let Some(next) = next {
            p.paging { a #older href=(next) { "Older executions" } }
        }
    };
    Ok(page(&viewer, "Executions", body))
}

/// A table of executions, newest first.
pub fn executions_table(rows: &[ExecutionRow]) -> Markup {
    html! {
        table.list.executions {
            thead { tr { th { "Name" } th { "State machine" } th { "Status" } th { "Started" } th { "Duration" } } }
            tbody {
                @for row in rows {
                    tr data-status=(row.status) {
                        td { a href=(link("execution", &row.arn)) { (row.name) } }
                        td { a href=(link("state-machine", &row.state_machine_arn)) { (name_of(&row.state_machine_arn)) } }
                        td { (status(&row.status)) }
                        td { (when(row.started_at)) }
                        td { @if let Some(stopped) = row.stopped_at {
                            (duration((stopped - row.started_at).as_seconds_f64()))
                        } }
                    }
                }
            }
        }
    }
}
