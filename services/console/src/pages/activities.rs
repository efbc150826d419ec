//! Activities: each with the tasks scheduled and waiting for a worker, and the workers polling
//! this node now.

use axum::extract::{Query, State};
use axum::response::Response;
use maud::html;
use serde::Deserialize;
use switchback_api::ApiState;
use switchback_store::{activities, console};

use super::layout::{page, when};
use crate::error::Error;
use crate::session::Viewer;

const PAGE_SIZE: i64 = 100;

#[derive(Deserialize)]
pub struct ListQuery {
    after: Option<i64>,
}

pub async fn list(
    State(state): State<ApiState>,
    viewer: Viewer,
    Query(query): Query<ListQuery>,
) -> Result<Response, Error> {
    let rows = activities::list(
        &state.pool,
        &viewer.scope,
        query.after.unwrap_or(0),
        PAGE_SIZE + 1,
    )
    .await?;
    let more = rows.len() as i64 > PAGE_SIZE;
    let rows = &rows[..rows.len().min(PAGE_SIZE as usize)];
    let arns: Vec<String> = rows.iter().map(|a| a.arn.clone()).collect();
    let waiting = console::waiting_tasks(&state.pool, &arns).await?;
    let body = html! {
        h1 { "Activities" }
        @if rows.is_empty() {
            p.empty { "No activities in " (viewer.scope.region) "." }
        } @else {
            table.list #activities {
                thead { tr { th { "Name" } th { "Created" } th { "Tasks waiting" } th { "Workers polling this node" } } }
                tbody {
                    @for activity in rows {
                        tr {
                            td { (activity.name) }
                            td { (when(activity.created_at)) }
                            td.number { (waiting.get(&activity.arn).copied().unwrap_or(0)) }
                            td.number { (state.polling(&activity.arn)) }
                        }
                    }
                }
            }
            @if more {
                @if let Some(last) = rows.last() {
                    p.paging { a href=(format!("/console/activities?after={}", last.seq)) { "Next page" } }
                }
            }
        }
    };
    Ok(page(&viewer, "Activities", body))
}
