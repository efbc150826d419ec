//! Draws a laid-out graph as SVG, each state coloured by what happened to it.

use std::collections::HashMap;

use maud::{Markup, html};

use crate::graph::{EdgeKind, Graph, MAX_LABEL_CHARS, NodeKind};
use crate::progress::Status;

/// The whole drawing; `status` colours states (absent: not reached); `fold` gives the link
/// that folds or unfolds a Parallel or Map state.
pub fn render(
    graph: &Graph,
    status: &HashMap<String, Status>,
    fold: &dyn Fn(&str) -> String,
) -> Markup {
    html! {
        svg.graph xmlns="http://www.w3.org/2000/svg" width=(format!("{:.0}", graph.width))
            height=(format!("{:.0}", graph.height))
            viewBox=(format!("0 0 {:.0} {:.0}", graph.width, graph.height)) role="img" {
            defs {
                marker #arrow viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7"
                    markerHeight="7" orient="auto-start-reverse" {
                    path d="M0,0 L10,5 L0,10 z" {}
                }
            }
            (scope(graph, status, fold))
        }
    }
}

fn scope(graph: &Graph, status: &HashMap<String, Status>, fold: &dyn Fn(&str) -> String) -> Markup {
    html! {
        @for edge in &graph.edges {
            path class=(format!("edge {}", edge_class(edge.kind))) d=(edge.path)
                marker-end="url(#arrow)" {}
        }
        @for node in &graph.nodes {
            @match &node.kind {
                NodeKind::Start | NodeKind::End => {
                    @let label = if node.kind == NodeKind::Start { "Start" } else { "End" };
                    g.terminal transform=(format!("translate({:.1},{:.1})", node.x, node.y)) {
                        rect width=(node.width) height=(node.height) rx="14" {}
                        text x=(node.width / 2.0) y=(node.height / 2.0 + 4.0) { (label) }
                    }
                }
                NodeKind::State { name, type_name } => {
                    @let colour = status.get(name).map_or("not-reached", |s| s.as_str());
                    g class=(format!("state {colour}")) data-state=(name) data-status=(colour)
                        transform=(format!("translate({:.1},{:.1})", node.x, node.y)) {
                        title { (name) " (" (type_name) "): " (colour.replace('-', " ")) }
                        rect width=(node.width) height=(node.height) rx="6" {}
                        @if node.inner.is_empty() {
                            text.name x=(node.width / 2.0) y="18" { (label(name)) }
                            text.type x=(node.width / 2.0) y="32" { (type_name) }
                            @if node.folds {
                                a.fold href=(fold(name)) data-fold=(name) {
                                    title { "Show what runs inside " (name) }
                                    text x=(node.width - 12.0) y="14" { "+" }
                                }
                            }
                        } @else {
                            text.name.title x="10" y="17" {
                                (label(name)) " · " (type_name)
                            }
                            a.fold href=(fold(name)) data-fold=(name) {
                                title { "Fold " (name) }
                                text x=(node.width - 12.0) y="17" { "−" }
                            }
                            @for (x, y, inner) in &node.inner {
                                g transform=(format!("translate({x:.1},{y:.1})")) {
                                    (scope(inner, status, fold))
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn edge_class(kind: EdgeKind) -> &'static str {
    match kind {
        EdgeKind::Next => "next",
        EdgeKind::Choice => "choice",
        EdgeKind::Default => "default",
        EdgeKind::Catch => "catch",
        EdgeKind::Retry => "retry",
    }
}

/// The name as shown in the box: long ones cut with an ellipsis.
fn label(name: &str) -> String {
    if name.chars().count() <= MAX_LABEL_CHARS {
        name.to_owned()
    } else {
        let cut: String = name.chars().take(MAX_LABEL_CHARS - 1).collect();
        format!("{cut}…")
    }
}
