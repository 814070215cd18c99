//! The React Flow structure of a workflow: nodes with a deterministic layered layout (depth
//! down, siblings across) and labelled edges, each node carrying its findings.

use std::collections::{HashMap, VecDeque};

use serde::{Deserialize, Serialize};

use super::graph::{EdgeKind, Graph};
use super::model::{Role, Workflow};
use super::result::AnalysisResult;
use super::rules::Severity;

/// Horizontal distance between siblings, in React Flow pixels.
const X_GAP: i64 = 280;
/// Vertical distance between layers.
const Y_GAP: i64 = 150;

/// What the front end renders with React Flow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Structure {
    /// One node per step (branch and path nodes included).
    pub nodes: Vec<StructureNode>,
    /// One edge per resolved link.
    pub edges: Vec<StructureEdge>,
}

/// A React Flow node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StructureNode {
    /// Unique node id: the step id (suffixed `~n` for a repeated id).
    pub id: String,
    /// React Flow node type: `action`, `condition`, `branch`, `multiPath`, `path`, `wait`, `goto`.
    #[serde(rename = "type")]
    pub node_type: String,
    /// Layout position.
    pub position: Position,
    /// What the node shows.
    pub data: NodeData,
}

/// A position in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    /// Across.
    pub x: i64,
    /// Down.
    pub y: i64,
}

/// A node's payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeData {
    /// Display name.
    pub label: String,
    /// The step's type key.
    pub step_type: String,
    /// The worst severity among the node's findings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    /// Rule ids of the node's findings.
    pub issues: Vec<String>,
}

/// A React Flow edge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StructureEdge {
    /// Unique edge id.
    pub id: String,
    /// Source node id.
    pub source: String,
    /// Target node id.
    pub target: String,
    /// Branch or path name, or "go to".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The edge's kind.
    pub data: EdgeData,
}

/// An edge's payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EdgeData {
    /// `next`, `branch`, `transition` or `goto`.
    pub kind: String,
}

pub(crate) fn layout(w: &Workflow, result: &AnalysisResult) -> Structure {
    let g = Graph::build(w);
    let n = g.len();
    // Unique node ids.
    let mut used: HashMap<&str, usize> = HashMap::new();
    let node_ids: Vec<String> = w
        .steps
        .iter()
        .map(|s| {
            let count = used.entry(&*s.id).or_insert(0);
            *count += 1;
            if *count == 1 {
                s.id.to_string()
            } else {
                format!("{}~{}", s.id, *count - 1)
            }
        })
        .collect();

    // Layers: BFS from the entry ignoring go-to edges, then from each remaining step in order.
    const NONE: u32 = u32::MAX;
    let mut layer = vec![NONE; n];
    let mut order: Vec<usize> = Vec::with_capacity(n);
    let mut next_base = 0u32;
    let starts = g.entry.into_iter().chain(0..n);
    for s in starts {
        if layer[s] != NONE {
            continue;
        }
        layer[s] = next_base;
        let mut deepest = next_base;
        let mut queue = VecDeque::from([s]);
        while let Some(v) = queue.pop_front() {
            order.push(v);
            for e in g.out(v) {
                let t = e.to as usize;
                if e.kind != EdgeKind::Goto && layer[t] == NONE {
                    layer[t] = layer[v] + 1;
                    deepest = deepest.max(layer[t]);
                    queue.push_back(t);
                }
            }
        }
        next_base = deepest + 2;
    }
    // Slots across, in discovery order per layer.
    let mut per_layer: HashMap<u32, Vec<usize>> = HashMap::new();
    for &v in &order {
        per_layer.entry(layer[v]).or_default().push(v);
    }
    let mut position = vec![Position { x: 0, y: 0 }; n];
    for (l, members) in &per_layer {
        let count = members.len() as i64;
        for (slot, &v) in members.iter().enumerate() {
            position[v] = Position {
                x: (slot as i64) * X_GAP - (count - 1) * X_GAP / 2,
                y: i64::from(*l) * Y_GAP,
            };
        }
    }

    // Findings per step id (this workflow's only, in a bundle result).
    let mut by_step: HashMap<&str, (Severity, Vec<String>)> = HashMap::new();
    for issue in &result.issues {
        if issue.workflow_id.as_deref().is_some_and(|id| id != w.id) {
            continue;
        }
        for step in issue.step_ids() {
            let entry = by_step.entry(step).or_insert((issue.severity, Vec::new()));
            entry.0 = entry.0.max(issue.severity);
            if !entry.1.iter().any(|r| *r == issue.rule_id) {
                entry.1.push(issue.rule_id.to_string());
            }
        }
    }

    let nodes = w
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let found = by_step.get(&*s.id);
            let node_type = match g.roles[i] {
                Role::IfElse => "condition",
                Role::Branch { .. } => "branch",
                Role::MultiPath => "multiPath",
                Role::Transition => "path",
                Role::Action if s.is_wait() => "wait",
                Role::Action if s.kind == "goto" => "goto",
                Role::Action => "action",
            };
            StructureNode {
                id: node_ids[i].clone(),
                node_type: node_type.to_owned(),
                position: position[i],
                data: NodeData {
                    label: s.label().to_owned(),
                    step_type: s.kind.to_string(),
                    severity: found.map(|f| f.0),
                    issues: found.map(|f| f.1.clone()).unwrap_or_default(),
                },
            }
        })
        .collect();
    let edges = g
        .edges
        .iter()
        .enumerate()
        .map(|(k, e)| {
            let (from, to) = (e.from as usize, e.to as usize);
            let label = match e.kind {
                EdgeKind::Branch | EdgeKind::Transition => Some(w.steps[to].label().to_owned()),
                EdgeKind::Goto => Some("go to".to_owned()),
                EdgeKind::Next => None,
            };
            StructureEdge {
                id: format!("e{k}-{}-{}", node_ids[from], node_ids[to]),
                source: node_ids[from].clone(),
                target: node_ids[to].clone(),
                label,
                data: EdgeData {
                    kind: e.kind.as_str().to_owned(),
                },
            }
        })
        .collect();
    Structure { nodes, edges }
}
