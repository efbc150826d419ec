//! A definition laid out as a graph: states in layers from `StartAt` down, Choice, Default and
//! Catch edges, Parallel branches and Map processors drawn inside their state. Our own layered
//! layout (longest path from the start, one barycentre pass to order each layer): the shapes of
//! Step Functions graphs are simple enough that a general layout crate would cost more build
//! time than it saves code.

use std::collections::{BTreeMap, HashMap, HashSet};

use switchback_asl::model::{State, StateKind, StateMachine};

/// Gaps and sizes, in SVG units (pixels at 100 %).
const NODE_HEIGHT: f64 = 40.0;
const MIN_NODE_WIDTH: f64 = 120.0;
const MAX_NODE_WIDTH: f64 = 240.0;
const CHAR_WIDTH: f64 = 7.5;
const H_GAP: f64 = 28.0;
const V_GAP: f64 = 46.0;
/// Room around and above the graphs inside a Parallel or Map state.
const PAD: f64 = 14.0;
const TITLE: f64 = 26.0;
/// The longest name shown whole; longer ones end in an ellipsis (the whole name is the title).
pub const MAX_LABEL_CHARS: usize = 30;

/// A laid-out scope (the machine, a branch, a Map's processor), with its origin at (0, 0).
#[derive(Debug)]
pub struct Graph {
    pub width: f64,
    pub height: f64,
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
}

#[derive(Debug)]
pub struct Node {
    pub kind: NodeKind,
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
    /// A Parallel state's branches or a Map state's processor, side by side, with their
    /// offsets inside this node (none when it is folded).
    pub inner: Vec<(f64, f64, Graph)>,
    /// A Parallel or Map state, which the viewer may fold or unfold.
    pub folds: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeKind {
    Start,
    End,
    State {
        name: String,
        type_name: &'static str,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdgeKind {
    Next,
    /// A Choice rule's `Next`, or its `Default`.
    Choice,
    Default,
    Catch,
    /// A state's retriers: a loop on its own right side.
    Retry,
}

#[derive(Debug)]
pub struct Edge {
    pub kind: EdgeKind,
    /// SVG path data.
    pub path: String,
}

/// Lays out a whole definition, the Parallel and Map states named in `folded` drawn as one
/// box without what runs inside them.
pub fn layout(machine: &StateMachine, folded: &HashSet<String>) -> Graph {
    layout_scope(&machine.start_at, &machine.states, folded)
}

/// The node's size: a state's from its name, a Parallel's or Map's from what it holds.
fn measure(name: &str) -> f64 {
    let chars = name.chars().count().min(MAX_LABEL_CHARS) as f64;
    (chars * CHAR_WIDTH + 28.0).clamp(MIN_NODE_WIDTH, MAX_NODE_WIDTH)
}

fn inner_graphs(state: &State, folded: &HashSet<String>) -> Vec<Graph> {
    match &state.kind {
        StateKind::Parallel(parallel) => parallel
            .branches
            .iter()
            .map(|branch| layout_scope(&branch.start_at, &branch.states, folded))
            .collect(),
        StateKind::Map(map) => map
            .processor()
            .map(|(_, processor)| {
                vec![layout_scope(&processor.start_at, &processor.states, folded)]
            })
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// Where each node's edges go, with their kinds; `None` is the End node.
fn successors(state: &State) -> Vec<(Option<&str>, EdgeKind)> {
    let mut out = Vec::new();
    match &state.kind {
        StateKind::Choice(choice) => {
            for rule in &choice.choices {
                if let Some(next) = &rule.next {
                    out.push((Some(next.as_str()), EdgeKind::Choice));
                }
            }
            if let Some(default) = &choice.default {
                out.push((Some(default.as_str()), EdgeKind::Default));
            }
        }
        StateKind::Succeed(_) | StateKind::Fail(_) => out.push((None, EdgeKind::Next)),
        _ => match state.next() {
            Some(next) => out.push((Some(next), EdgeKind::Next)),
            None => out.push((None, EdgeKind::Next)),
        },
    }
    for catcher in state.catchers() {
        out.push((Some(catcher.next.as_str()), EdgeKind::Catch));
    }
    out
}

fn layout_scope(
    start_at: &str,
    states: &BTreeMap<String, State>,
    folded: &HashSet<String>,
) -> Graph {
    // Node indices: 0 is Start, 1 is End, then the states by name.
    let names: Vec<&String> = states.keys().collect();
    let index: HashMap<&str, usize> = names
        .iter()
        .enumerate()
        .map(|(i, name)| (name.as_str(), i + 2))
        .collect();
    let count = names.len() + 2;
    let mut edges: Vec<Vec<(usize, EdgeKind)>> = vec![Vec::new(); count];
    if let Some(&first) = index.get(start_at) {
        edges[0].push((first, EdgeKind::Next));
    }
    for (i, name) in names.iter().enumerate() {
        for (target, kind) in successors(&states[*name]) {
            let target = match target {
                None => Some(1),
                Some(name) => index.get(name).copied(),
            };
            if let Some(target) = target
                && !edges[i + 2].contains(&(target, kind))
            {
                edges[i + 2].push((target, kind));
            }
        }
    }

    // Depth-first from Start (then from any state it does not reach): discovery order, and
    // the edges that go back up (loops), which layering ignores.
    let mut order = Vec::with_capacity(count);
    let mut mark = vec![0u8; count]; // 0 new, 1 on the stack, 2 done
    let mut back = vec![Vec::new(); count];
    let mut postorder = Vec::with_capacity(count);
    let roots = std::iter::once(0).chain(2..count).chain(std::iter::once(1));
    for root in roots {
        if mark[root] != 0 {
            continue;
        }
        // An explicit stack: definitions may hold thousands of states.
        let mut stack = vec![(root, 0usize)];
        mark[root] = 1;
        order.push(root);
        while let Some((node, next_edge)) = stack.last_mut() {
            let node = *node;
            if let Some(&(target, _)) = edges[node].get(*next_edge) {
                *next_edge += 1;
                match mark[target] {
                    0 => {
                        mark[target] = 1;
                        order.push(target);
                        stack.push((target, 0));
                    }
                    1 => back[node].push(target),
                    _ => {}
                }
            } else {
                mark[node] = 2;
                postorder.push(node);
                stack.pop();
            }
        }
    }

    // Longest path from the roots over the forward edges; End below everything.
    let mut layer = vec![0usize; count];
    for &node in postorder.iter().rev() {
        for &(target, _) in &edges[node] {
            if !back[node].contains(&target) && target != 1 {
                layer[target] = layer[target].max(layer[node] + 1);
            }
        }
    }
    let last = (0..count)
        .filter(|&n| n != 1)
        .map(|n| layer[n])
        .max()
        .unwrap_or(0);
    layer[1] = last + 1;

    // Sizes, inner graphs first.
    let mut inner: Vec<Vec<Graph>> = (0..count).map(|_| Vec::new()).collect();
    let mut size = vec![(0.0, 0.0); count];
    size[0] = (60.0, 28.0);
    size[1] = (60.0, 28.0);
    for (i, name) in names.iter().enumerate() {
        let graphs = if folded.contains(*name) {
            Vec::new()
        } else {
            inner_graphs(&states[*name], folded)
        };
        let own = measure(name);
        size[i + 2] = if graphs.is_empty() {
            (own, NODE_HEIGHT)
        } else {
            let width: f64 = graphs.iter().map(|g| g.width).sum::<f64>()
                + H_GAP * (graphs.len() as f64 - 1.0)
                + 2.0 * PAD;
            let height = graphs.iter().map(|g| g.height).fold(0.0, f64::max) + TITLE + PAD;
            (width.max(own), height)
        };
        inner[i + 2] = graphs;
    }

    // Layers in discovery order, then each node at the mean position of its predecessors.
    let layers = layer[1] + 1;
    let mut rows: Vec<Vec<usize>> = vec![Vec::new(); layers];
    for &node in &order {
        rows[layer[node]].push(node);
    }
    let mut position = vec![0.0f64; count];
    for row in &rows {
        for (slot, &node) in row.iter().enumerate() {
            position[node] = slot as f64;
        }
    }
    let mut parents: Vec<Vec<usize>> = vec![Vec::new(); count];
    for (from, targets) in edges.iter().enumerate() {
        for &(to, _) in targets {
            parents[to].push(from);
        }
    }
    for (depth, row) in rows.iter_mut().enumerate().skip(1) {
        let mut keyed: Vec<(f64, usize)> = row
            .iter()
            .map(|&node| {
                let above: Vec<f64> = parents[node]
                    .iter()
                    .filter(|&&p| layer[p] < depth)
                    .map(|&p| position[p])
                    .collect();
                let key = if above.is_empty() {
                    position[node]
                } else {
                    above.iter().sum::<f64>() / above.len() as f64
                };
                (key, node)
            })
            .collect();
        keyed.sort_by(|a, b| a.0.total_cmp(&b.0));
        *row = keyed.into_iter().map(|(_, node)| node).collect();
        for (slot, &node) in row.iter().enumerate() {
            position[node] = slot as f64;
        }
    }

    // Coordinates: rows centred on the widest.
    let row_width = |row: &Vec<usize>| {
        row.iter().map(|&n| size[n].0).sum::<f64>() + H_GAP * (row.len().max(1) as f64 - 1.0)
    };
    let width = rows.iter().map(row_width).fold(0.0, f64::max) + 2.0 * H_GAP;
    let mut xy = vec![(0.0, 0.0); count];
    let mut y = V_GAP / 2.0;
    for row in &rows {
        let mut x = (width - row_width(row)) / 2.0;
        let height = row.iter().map(|&n| size[n].1).fold(0.0, f64::max);
        for &node in row {
            xy[node] = (x, y + (height - size[node].1) / 2.0);
            x += size[node].0 + H_GAP;
        }
        y += height + V_GAP;
    }
    let height = y - V_GAP / 2.0;

    let mut drawn = Vec::new();
    for (i, name) in names.iter().enumerate() {
        if !states[*name].retriers().is_empty() {
            let (x, y) = xy[i + 2];
            let (w, h) = size[i + 2];
            let (sx, sy, ey) = (x + w, y + h * 0.3, y + h * 0.7);
            let out = sx + 22.0;
            drawn.push(Edge {
                kind: EdgeKind::Retry,
                path: format!(
                    "M{sx:.1},{sy:.1} C{out:.1},{sy:.1} {out:.1},{ey:.1} {sx:.1},{ey:.1}"
                ),
            });
        }
    }
    for (from, targets) in edges.iter().enumerate() {
        for &(to, kind) in targets {
            let (fx, fy) = xy[from];
            let (fw, fh) = size[from];
            let (tx, ty) = xy[to];
            let (tw, th) = size[to];
            let path = if back[from].contains(&to) {
                // Up the right-hand side, back into the target's right edge.
                let (sx, sy) = (fx + fw, fy + fh / 2.0);
                let (ex, ey) = (tx + tw, ty + th / 2.0);
                let out = sx.max(ex) + 40.0;
                format!("M{sx:.1},{sy:.1} C{out:.1},{sy:.1} {out:.1},{ey:.1} {ex:.1},{ey:.1}")
            } else {
                let (sx, sy) = (fx + fw / 2.0, fy + fh);
                let (ex, ey) = (tx + tw / 2.0, ty);
                let mid = (ey - sy) / 2.0;
                format!(
                    "M{sx:.1},{sy:.1} C{sx:.1},{:.1} {ex:.1},{:.1} {ex:.1},{ey:.1}",
                    sy + mid,
                    ey - mid
                )
            };
            drawn.push(Edge { kind, path });
        }
    }

    let mut nodes = Vec::with_capacity(count);
    let mut inner = inner.into_iter();
    for node in 0..count {
        let graphs = inner.next().unwrap_or_default();
        let kind = match node {
            0 => NodeKind::Start,
            1 => NodeKind::End,
            n => NodeKind::State {
                name: names[n - 2].clone(),
                type_name: states[names[n - 2]].type_name(),
            },
        };
        // Inner graphs side by side, centred in the node.
        let total: f64 = graphs.iter().map(|g| g.width).sum::<f64>()
            + H_GAP * (graphs.len().max(1) as f64 - 1.0);
        let mut x = (size[node].0 - total) / 2.0;
        let placed = graphs
            .into_iter()
            .map(|graph| {
                let at = (x, TITLE);
                x += graph.width + H_GAP;
                (at.0, at.1, graph)
            })
            .collect();
        let folds = node >= 2
            && matches!(
                states[names[node - 2]].kind,
                StateKind::Parallel(_) | StateKind::Map(_)
            );
        nodes.push(Node {
            kind,
            folds,
            x: xy[node].0,
            y: xy[node].1,
            width: size[node].0,
            height: size[node].1,
            inner: placed,
        });
    }
    Graph {
        width,
        height,
        nodes,
        edges: drawn,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn machine(definition: &str) -> StateMachine {
        serde_json::from_str(definition).expect("a definition")
    }

    fn layout_all(machine: &StateMachine) -> Graph {
        layout(machine, &HashSet::new())
    }

    fn state<'g>(graph: &'g Graph, name: &str) -> &'g Node {
        graph
            .nodes
            .iter()
            .find(|n| matches!(&n.kind, NodeKind::State { name: n, .. } if n == name))
            .expect("the state is drawn")
    }

    #[test]
    fn states_go_down_in_order_and_choices_side_by_side() {
        let graph = layout_all(&machine(
            r#"{"StartAt": "A", "States": {
                "A": {"Type": "Pass", "Next": "C"},
                "C": {"Type": "Choice", "Choices": [{"Variable": "$.x", "BooleanEquals": true, "Next": "Yes"}], "Default": "No"},
                "Yes": {"Type": "Succeed"},
                "No": {"Type": "Fail", "Error": "E"}
            }}"#,
        ));
        let (a, c, yes, no) = (
            state(&graph, "A"),
            state(&graph, "C"),
            state(&graph, "Yes"),
            state(&graph, "No"),
        );
        assert!(a.y < c.y && c.y < yes.y);
        assert_eq!(yes.y, no.y);
        assert!(yes.x + yes.width <= no.x || no.x + no.width <= yes.x);
        let kinds: Vec<EdgeKind> = graph.edges.iter().map(|e| e.kind).collect();
        assert!(kinds.contains(&EdgeKind::Choice) && kinds.contains(&EdgeKind::Default));
        // Start, End and the four states.
        assert_eq!(graph.nodes.len(), 6);
    }

    #[test]
    fn a_state_with_retriers_has_a_retry_loop() {
        let graph = layout_all(&machine(
            r#"{"StartAt": "Call", "States": {"Call": {"Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke", "End": true,
                "Retry": [{"ErrorEquals": ["States.ALL"]}]}}}"#,
        ));
        assert_eq!(
            graph
                .edges
                .iter()
                .filter(|e| e.kind == EdgeKind::Retry)
                .count(),
            1
        );
    }

    #[test]
    fn a_hundred_states_are_laid_out_without_overlap() {
        let mut states = serde_json::Map::new();
        for i in 0..100 {
            let state = if i % 10 == 9 {
                serde_json::json!({"Type": "Choice", "Choices": [{"Variable": "$.x", "BooleanEquals": true, "Next": format!("S{}", (i + 1) % 100)}], "Default": format!("S{}", (i + 2).min(99))})
            } else if i == 99 {
                serde_json::json!({"Type": "Succeed"})
            } else {
                serde_json::json!({"Type": "Pass", "Next": format!("S{}", i + 1)})
            };
            states.insert(format!("S{i}"), state);
        }
        let definition = serde_json::json!({"StartAt": "S0", "States": states});
        let graph = layout_all(&machine(&definition.to_string()));
        assert_eq!(graph.nodes.len(), 102);
        for (i, a) in graph.nodes.iter().enumerate() {
            for b in &graph.nodes[i + 1..] {
                let apart = a.x + a.width <= b.x
                    || b.x + b.width <= a.x
                    || a.y + a.height <= b.y
                    || b.y + b.height <= a.y;
                assert!(apart, "{:?} overlaps {:?}", a.kind, b.kind);
            }
        }
    }

    #[test]
    fn loops_do_not_push_states_down_and_branches_are_drawn_inside() {
        let graph = layout_all(&machine(
            r#"{"StartAt": "Work", "States": {
                "Work": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Next": "Check",
                         "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Oops"}]},
                "Check": {"Type": "Choice", "Choices": [{"Variable": "$.again", "BooleanEquals": true, "Next": "Work"}], "Default": "Both"},
                "Both": {"Type": "Parallel", "End": true, "Branches": [
                    {"StartAt": "L", "States": {"L": {"Type": "Pass", "End": true}}},
                    {"StartAt": "R", "States": {"R": {"Type": "Pass", "End": true}}}
                ]},
                "Oops": {"Type": "Fail"}
            }}"#,
        ));
        assert!(state(&graph, "Work").y < state(&graph, "Check").y);
        let both = state(&graph, "Both");
        assert_eq!(both.inner.len(), 2);
        assert!(both.width > 2.0 * MIN_NODE_WIDTH);
        assert!(graph.edges.iter().any(|e| e.kind == EdgeKind::Catch));
        assert!(!graph.edges.iter().any(|e| e.kind == EdgeKind::Retry));
        assert!(both.folds);
        assert!(!state(&graph, "Work").folds);
        // Folded, the Parallel state is one box.
        let definition = machine(
            r#"{"StartAt": "Both", "States": {"Both": {"Type": "Parallel", "End": true, "Branches": [
                {"StartAt": "L", "States": {"L": {"Type": "Pass", "End": true}}}]}}}"#,
        );
        let folded = layout(&definition, &HashSet::from(["Both".to_owned()]));
        let both = state(&folded, "Both");
        assert!(both.inner.is_empty() && both.folds);
        assert_eq!(both.height, NODE_HEIGHT);
    }
}
