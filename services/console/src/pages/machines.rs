//! State machines: the list (type, creation date, running and failed executions), and one
//! machine's page (its graph, definition, versions, aliases, recent executions, a start form).

use axum::extract::{Query, State};
use axum::response::Response;
use maud::html;
use serde::Deserialize;
use switchback_api::ApiState;
use switchback_asl::arn::{Arn, ResourceKind};
use switchback_asl::model::StateMachine;
use switchback_store::console::{self, ExecutionFilter};
use switchback_store::{state_machines, versions};

use super::executions::executions_table;
use super::layout::{link, page, pretty, when};
use crate::error::Error;
use crate::session::Viewer;

const PAGE_SIZE: i64 = 50;

#[derive(Deserialize)]
pub struct ListQuery {
    after: Option<i64>,
}

pub async fn list(
    State(state): State<ApiState>,
    viewer: Viewer,
    Query(query): Query<ListQuery>,
) -> Result<Response, Error> {
    let after = query.after.unwrap_or(0);
    let machines =
        console::state_machines(&state.pool, &viewer.scope, after, PAGE_SIZE + 1).await?;
    let more = machines.len() as i64 > PAGE_SIZE;
    let machines = &machines[..machines.len().min(PAGE_SIZE as usize)];
    let arns: Vec<String> = machines.iter().map(|m| m.arn.clone()).collect();
    let counts = console::execution_counts(&state.pool, &arns).await?;
    let body = html! {
        h1 { "State machines" }
        @if machines.is_empty() {
            p.empty { "No state machines in " (viewer.scope.region) " yet. Create one with "
                code { "aws stepfunctions create-state-machine" } " or any SDK." }
        } @else {
            table.list #machines {
                thead { tr { th { "Name" } th { "Type" } th { "Created" } th { "Running" } th { "Failed" } } }
                tbody {
                    @for machine in machines {
                        @let (running, failed) = counts.get(&machine.arn).copied().unwrap_or_default();
                        tr {
                            td { a href=(link("state-machine", &machine.arn)) { (machine.name) } }
                            td { (machine.machine_type) }
                            td { (when(machine.created_at)) }
                            td.number { (count(running)) }
                            td.number { (count(failed)) }
                        }
                    }
                }
            }
            @if more {
                @if let Some(last) = machines.last() {
                    p.paging { a href=(format!("/console/?after={}", last.seq)) { "Next page" } }
                }
            }
        }
    };
    Ok(page(&viewer, "State machines", body))
}

/// A count as shown: capped ones end in `+`.
fn count(n: i64) -> String {
    if n >= console::COUNT_CAP {
        format!("{n}+")
    } else {
        n.to_string()
    }
}

#[derive(Deserialize)]
pub struct ShowQuery {
    arn: String,
    /// Parallel and Map states drawn folded.
    fold: Option<String>,
}

pub async fn show(
    State(state): State<ApiState>,
    viewer: Viewer,
    Query(query): Query<ShowQuery>,
) -> Result<Response, Error> {
    let missing = || Error::NotFound(format!("State Machine Does Not Exist: '{}'", query.arn));
    let arn = Arn::parse(&query.arn, ResourceKind::StateMachine)
        .map_err(|error| Error::BadRequest(error.to_string()))?;
    if !viewer.scope.holds(&arn) {
        return Err(missing());
    }
    let machine = state_machines::describe(&state.pool, &query.arn)
        .await?
        .ok_or_else(missing)?;
    let folded = super::layout::folded(query.fold.as_deref());
    let base = link("state-machine", &machine.arn);
    let fold = |name: &str| super::layout::fold_link(&base, &folded, name);
    let graph = serde_json::from_str::<StateMachine>(&machine.definition)
        .ok()
        .map(|definition| crate::graph::layout(&definition, &folded));
    let versions = versions::list_versions(&state.pool, &machine.arn, i64::MAX, 20).await?;
    let aliases = versions::list_aliases(&state.pool, &machine.arn, 0, 20).await?;
    let filter = ExecutionFilter {
        state_machine_arn: Some(&machine.arn),
        ..Default::default()
    };
    let recent = console::executions(&state.pool, &viewer.scope, filter, i64::MAX, 20).await?;
    let body = html! {
        h1 { (machine.name) }
        dl.facts {
            dt { "ARN" } dd { code { (machine.arn) } }
            dt { "Type" } dd { (machine.machine_type) }
            dt { "Status" } dd { (machine.status) }
            dt { "Created" } dd { (when(machine.created_at)) }
            dt { "Role" } dd { code { (machine.role_arn) } }
        }
        @if machine.machine_type == "EXPRESS" {
            p.note { "Express executions are not kept for viewing (as in AWS, where their history goes to CloudWatch Logs): start them with StartExecution or StartSyncExecution." }
        } @else if !viewer.read_only() && machine.status == "ACTIVE" {
            details.action #start open[recent.is_empty()] {
                summary { "Start an execution" }
                form #start-form method="post" action="/console/actions/start" {
                    input type="hidden" name="csrf" value=(viewer.csrf);
                    input type="hidden" name="arn" value=(machine.arn);
                    label { "Name (optional)" input type="text" name="name" maxlength="80"; }
                    label { "Input (JSON)" textarea name="input" rows="6" data-json="" { "{}" } }
                    p.error.json-error hidden {}
                    button type="submit" { "Start execution" }
                }
            }
        }
        h2 { "Graph" }
        @match &graph {
            Some(graph) => div.graph-box { (crate::svg::render(graph, &Default::default(), &fold)) },
            None => p.empty { "The definition does not parse into a graph." },
        }
        h2 { "Recent executions" }
        @if recent.is_empty() {
            p.empty { "None yet." }
        } @else {
            (executions_table(&recent))
            p.paging { a href=(format!("/console/executions?machine={}", super::layout::encode(&machine.arn))) { "All executions of this machine" } }
        }
        @if !versions.is_empty() {
            h2 { "Versions" }
            table.list #versions {
                thead { tr { th { "Version" } th { "Description" } th { "Created" } } }
                tbody {
                    @for version in &versions {
                        tr {
                            td { (version.version) }
                            td { (version.description.as_deref().unwrap_or("")) }
                            td { (when(version.created_at)) }
                        }
                    }
                }
            }
        }
        @if !aliases.is_empty() {
            h2 { "Aliases" }
            table.list #aliases {
                thead { tr { th { "Alias" } th { "Routing" } th { "Updated" } } }
                tbody {
                    @for alias in &aliases {
                        tr {
                            td { (alias.name) }
                            td { code { (alias.routing.0.to_string()) } }
                            td { (when(alias.updated_at)) }
                        }
                    }
                }
            }
        }
        h2 { "Definition" }
        pre.json { (pretty(&machine.definition)) }
    };
    Ok(page(&viewer, &machine.name, body))
}
