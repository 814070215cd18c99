//! The step graph of one workflow: edges from `next`, go-to targets, branches and transitions,
//! the entry, reachability and depth (BFS), and cycles (iterative Tarjan). Every traversal is
//! iterative and linear in steps + edges, so no input can overflow the stack.

use std::collections::{HashMap, HashSet};

use super::model::{Kind, Next, Pairs, Role, Step, Text, Workflow};

/// The map for keys that come from the input (step ids, lookup keys). std's `RandomState` is
/// SipHash with a random key per process and per map: ids cannot be computed so that they share
/// one hash and turn the map into a list (a fixed, unkeyed hasher allowed exactly that). Most
/// `next` references are resolved without a lookup (the following step is tried first), which
/// keeps SipHash's cost small (docs/PERFORMANCE.md).
pub(crate) type FastMap<K, V> = HashMap<K, V>;

/// How one step leads to another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdgeKind {
    /// A plain step's `next`.
    Next,
    /// An if/else container to one of its branches.
    Branch,
    /// A multi-path step to one of its transitions.
    Transition,
    /// A go-to step to its target.
    Goto,
}

impl EdgeKind {
    /// The kind's name in the structure output.
    pub fn as_str(self) -> &'static str {
        match self {
            EdgeKind::Next => "next",
            EdgeKind::Branch => "branch",
            EdgeKind::Transition => "transition",
            EdgeKind::Goto => "goto",
        }
    }
}

/// A resolved edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Edge {
    pub from: u32,
    pub to: u32,
    pub kind: EdgeKind,
}

/// A reference to an id that does not exist.
#[derive(Debug, Clone)]
pub(crate) struct Dangling {
    pub from: usize,
    pub field: &'static str,
    pub target: String,
}

const UNSEEN: u32 = u32::MAX;

/// The attribute keys of message texts (as `Step::texts`).
const TEXT_KEYS: [&str; 6] = ["body", "message", "subject", "html", "text", "content"];

/// The analyzed graph of one workflow.
pub(crate) struct Graph<'a> {
    pub steps: &'a [Step<'a>],
    pub roles: Vec<Role>,
    /// Every step's type group (dense, for rule passes).
    pub kinds: Vec<Kind>,
    /// Every step's disabled flag (dense, for rule passes).
    pub disabled: Vec<bool>,
    /// The message texts (key, text) of outbound and internal-notification steps, gathered once
    /// (`text_pool[text_off[v]..text_off[v+1]]`) so that the many text rules do not each look
    /// the attribute keys up again.
    text_pool: Vec<(&'static str, &'a str)>,
    /// Each pooled text's byte pairs (`text_pool`'s order), for the phrase checks.
    text_pairs: Vec<Pairs>,
    text_off: Vec<u32>,
    /// Edges grouped by source (CSR: `out[off[v]..off[v+1]]`).
    pub edges: Vec<Edge>,
    off: Vec<u32>,
    /// Reverse adjacency (sources), grouped by target.
    rev: Vec<u32>,
    rev_off: Vec<u32>,
    pub entry: Option<usize>,
    /// BFS distance from the entry; `UNSEEN` when unreachable.
    pub depth: Vec<u32>,
    /// if/else and multi-path containers passed on the way from the entry.
    pub nesting: Vec<u32>,
    pub dangling: Vec<Dangling>,
    /// Steps whose id repeats an earlier step's id.
    pub duplicates: Vec<usize>,
    /// Strongly connected components that contain a cycle, each sorted by step index.
    pub cycles: Vec<Vec<usize>>,
    /// Component number of every step (for "does this edge leave the cycle").
    pub component: Vec<u32>,
}

impl<'a> Graph<'a> {
    /// Build the graph; never fails: broken references become `dangling`.
    pub fn build(w: &'a Workflow<'a>) -> Self {
        let steps = w.steps.as_slice();
        let n = steps.len();
        let mut index: FastMap<&str, usize> = FastMap::default();
        index.reserve(n);
        let mut duplicates = Vec::new();
        // One pass over the (large) step structs for everything dense.
        let mut roles = Vec::with_capacity(n);
        let mut kinds = Vec::with_capacity(n);
        let mut disabled = Vec::with_capacity(n);
        let mut text_pool: Vec<(&'static str, &'a str)> = Vec::new();
        let mut text_off: Vec<u32> = Vec::with_capacity(n + 1);
        for (i, s) in steps.iter().enumerate() {
            match index.entry(&*s.id) {
                std::collections::hash_map::Entry::Occupied(_) => duplicates.push(i),
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(i);
                }
            }
            roles.push(s.role());
            let kind = Kind::of(&s.kind);
            kinds.push(kind);
            disabled.push(s.disabled);
            text_off.push(text_pool.len() as u32);
            if kind.is_outbound() || kind == Kind::InternalNotification {
                text_pool.extend(TEXT_KEYS.iter().filter_map(|&k| {
                    s.attributes
                        .get(k)
                        .and_then(super::attributes::Json::as_str)
                        .map(|t| (k, t))
                }));
            }
        }
        text_off.push(text_pool.len() as u32);
        let text_pairs = text_pool.iter().map(|(_, t)| Pairs::of(t)).collect();
        let mut is_duplicate = vec![false; n];
        for &d in &duplicates {
            is_duplicate[d] = true;
        }
        // Built once: a dangling parent key is checked against the triggers in one lookup.
        let trigger_ids: HashSet<&str> = w
            .triggers
            .as_deref()
            .unwrap_or_default()
            .iter()
            .map(|t| t.id.as_str())
            .collect();
        let mut edges = Vec::with_capacity(n + n / 4);
        let mut off = Vec::with_capacity(n + 1);
        let mut dangling = Vec::new();
        for (i, s) in steps.iter().enumerate() {
            off.push(edges.len() as u32);
            let many_kind = if roles[i] == Role::MultiPath {
                EdgeKind::Transition
            } else {
                EdgeKind::Branch
            };
            let (ids, kind) = match &s.next {
                Next::None => (&[][..], EdgeKind::Next),
                Next::One(_) => (s.next.ids(), EdgeKind::Next),
                Next::Many(ids) => (ids.as_slice(), many_kind),
            };
            for id in ids {
                // Builders list steps mostly in flow order: try the following step before hashing
                // (only when it is the first holder of its id, as the index would answer).
                let following = steps
                    .get(i + 1)
                    .filter(|f| f.id == *id && !is_duplicate[i + 1])
                    .map(|_| i + 1);
                match following.or_else(|| index.get(&**id).copied()) {
                    Some(to) => edges.push(Edge {
                        from: i as u32,
                        to: to as u32,
                        kind,
                    }),
                    None => dangling.push(Dangling {
                        from: i,
                        field: if kind == EdgeKind::Transition {
                            "transition"
                        } else {
                            "next"
                        },
                        target: id.to_string(),
                    }),
                }
            }
            if kinds[i] == Kind::Goto {
                let target = s
                    .attr("targetNodeId")
                    .or_else(|| s.attr("target"))
                    .and_then(|v| v.id_string())
                    .unwrap_or_default();
                match index.get(target.as_str()) {
                    Some(&to) if !target.is_empty() => edges.push(Edge {
                        from: i as u32,
                        to: to as u32,
                        kind: EdgeKind::Goto,
                    }),
                    _ => dangling.push(Dangling {
                        from: i,
                        field: "go-to target",
                        target,
                    }),
                }
            }
            for (field, r) in [("parentKey", &s.parent_key), ("parent", &s.parent)] {
                if let Some(r) = r {
                    // Usually the previous step: a string compare instead of a hash lookup.
                    let previous = i > 0 && steps[i - 1].id == *r;
                    // The first step's parentKey may name the trigger it hangs from.
                    if !previous && !index.contains_key(&**r) && !trigger_ids.contains(&**r) {
                        dangling.push(Dangling {
                            from: i,
                            field,
                            target: r.to_string(),
                        });
                    }
                }
            }
        }
        off.push(edges.len() as u32);

        // Reverse CSR by counting sort.
        let mut rev_off = vec![0u32; n + 1];
        for e in &edges {
            rev_off[e.to as usize + 1] += 1;
        }
        for i in 0..n {
            rev_off[i + 1] += rev_off[i];
        }
        let mut fill = rev_off.clone();
        let mut rev = vec![0u32; edges.len()];
        for e in &edges {
            let slot = &mut fill[e.to as usize];
            rev[*slot as usize] = e.from;
            *slot += 1;
        }

        let mut g = Graph {
            steps,
            roles,
            kinds,
            disabled,
            text_pool,
            text_pairs,
            text_off,
            edges,
            off,
            rev,
            rev_off,
            entry: None,
            depth: Vec::new(),
            nesting: Vec::new(),
            dangling,
            duplicates,
            cycles: Vec::new(),
            component: Vec::new(),
        };
        g.entry = g.find_entry(w.triggers.as_deref().unwrap_or_default());
        g.bfs();
        g.tarjan();
        g
    }

    /// Number of steps (nodes).
    pub fn len(&self) -> usize {
        self.steps.len()
    }

    /// Outgoing edges of `v`.
    pub fn out(&self, v: usize) -> &[Edge] {
        let (a, b) = (self.off[v] as usize, self.off[v + 1] as usize);
        &self.edges[a..b]
    }

    /// Sources of edges into `v`.
    pub fn preds(&self, v: usize) -> &[u32] {
        let (a, b) = (self.rev_off[v] as usize, self.rev_off[v + 1] as usize);
        &self.rev[a..b]
    }

    /// The message texts of an outbound or internal-notification step (as [`Step::texts`]).
    pub fn texts(&self, v: usize) -> impl Iterator<Item = &'a str> + '_ {
        self.text_kv(v).iter().map(|(_, t)| *t)
    }

    /// The message texts of an outbound or internal-notification step with their keys.
    pub fn text_kv(&self, v: usize) -> &[(&'static str, &'a str)] {
        let (a, b) = (self.text_off[v] as usize, self.text_off[v + 1] as usize);
        &self.text_pool[a..b]
    }

    /// The message texts of step `v` with their byte pairs, for phrase checks.
    pub fn text_views(&self, v: usize) -> impl Iterator<Item = Text<'_>> + '_ {
        let (a, b) = (self.text_off[v] as usize, self.text_off[v + 1] as usize);
        self.text_pool[a..b]
            .iter()
            .zip(&self.text_pairs[a..b])
            .map(|((_, text), pairs)| Text { text, pairs })
    }

    /// Whether any message text of step `v` contains any of `words`, ASCII case ignored.
    pub fn says_any(&self, v: usize, words: &[&str]) -> bool {
        self.text_views(v).any(|t| t.has_any(words))
    }

    /// Whether any message text of step `v` contains any of `phrases` as whole words.
    pub fn says_phrase(&self, v: usize, phrases: &[&str]) -> bool {
        self.text_views(v).any(|t| t.has_any_phrase(phrases))
    }

    /// Whether step `i` is of this kind and switched on.
    pub fn live(&self, i: usize, kind: Kind) -> bool {
        self.kinds[i] == kind && !self.disabled[i]
    }

    /// Whether the entry reaches `v`.
    pub fn reachable(&self, v: usize) -> bool {
        self.depth[v] != UNSEEN
    }

    /// The first step: among steps nothing points to, the one with no parent (or whose parentKey
    /// is a trigger), lowest `order`,
    /// then first in the input; falling back to any such step, then to the lowest order.
    fn find_entry(&self, triggers: &[super::model::Trigger]) -> Option<usize> {
        let key = |i: usize| (self.steps[i].order.unwrap_or(i64::MAX), i);
        let actions = || (0..self.len()).filter(|&i| !self.roles[i].is_structural());
        let no_preds = || actions().filter(|&i| self.preds(i).is_empty());
        no_preds()
            .filter(|&i| {
                let s = &self.steps[i];
                let top = s
                    .parent_key
                    .as_deref()
                    .is_none_or(|p| triggers.iter().any(|t| t.id == p));
                top && s.parent.is_none()
            })
            .min_by_key(|&i| key(i))
            .or_else(|| no_preds().min_by_key(|&i| key(i)))
            .or_else(|| actions().min_by_key(|&i| key(i)))
    }

    fn bfs(&mut self) {
        let n = self.len();
        let mut depth = vec![UNSEEN; n];
        let mut nesting = vec![0u32; n];
        if let Some(e) = self.entry {
            let mut queue = std::collections::VecDeque::with_capacity(n);
            depth[e] = 0;
            queue.push_back(e);
            while let Some(v) = queue.pop_front() {
                let container = matches!(self.roles[v], Role::IfElse | Role::MultiPath);
                for edge in self.out(v) {
                    let w = edge.to as usize;
                    if depth[w] == UNSEEN {
                        depth[w] = depth[v] + 1;
                        nesting[w] = nesting[v] + u32::from(container);
                        queue.push_back(w);
                    }
                }
            }
        }
        self.depth = depth;
        self.nesting = nesting;
    }

    /// Iterative Tarjan: strongly connected components in O(V + E) with an explicit call stack.
    fn tarjan(&mut self) {
        let n = self.len();
        let mut idx = vec![UNSEEN; n];
        let mut low = vec![0u32; n];
        let mut on_stack = vec![false; n];
        let mut stack: Vec<u32> = Vec::new();
        let mut call: Vec<(u32, u32)> = Vec::new();
        let mut component = vec![UNSEEN; n];
        let mut counter = 0u32;
        let mut comp_count = 0u32;
        for s in 0..n {
            if idx[s] != UNSEEN {
                continue;
            }
            idx[s] = counter;
            low[s] = counter;
            counter += 1;
            stack.push(s as u32);
            on_stack[s] = true;
            call.push((s as u32, self.off[s]));
            while let Some(&mut (v, ref mut pos)) = call.last_mut() {
                let v = v as usize;
                if *pos < self.off[v + 1] {
                    let w = self.edges[*pos as usize].to as usize;
                    *pos += 1;
                    if idx[w] == UNSEEN {
                        idx[w] = counter;
                        low[w] = counter;
                        counter += 1;
                        stack.push(w as u32);
                        on_stack[w] = true;
                        call.push((w as u32, self.off[w]));
                    } else if on_stack[w] {
                        low[v] = low[v].min(idx[w]);
                    }
                    continue;
                }
                call.pop();
                if let Some(&(p, _)) = call.last() {
                    let p = p as usize;
                    low[p] = low[p].min(low[v]);
                }
                if low[v] == idx[v] {
                    // The component is the stack above `v`; only cyclic ones are collected (most
                    // are single acyclic steps: no allocation for them).
                    let at = stack.iter().rposition(|&x| x as usize == v).unwrap_or(0);
                    for &x in &stack[at..] {
                        on_stack[x as usize] = false;
                        component[x as usize] = comp_count;
                    }
                    comp_count += 1;
                    let cyclic =
                        stack.len() - at > 1 || self.out(v).iter().any(|e| e.to as usize == v);
                    if cyclic {
                        let mut members: Vec<usize> =
                            stack[at..].iter().map(|&x| x as usize).collect();
                        members.sort_unstable();
                        self.cycles.push(members);
                    }
                    stack.truncate(at);
                }
            }
        }
        self.cycles.sort_unstable_by_key(|c| c[0]);
        self.component = component;
    }

    /// Nodes reachable from any source by at least one edge, never expanding through `blocked`
    /// nodes (which are not marked either). Multi-source BFS, linear.
    pub fn after(
        &self,
        sources: impl IntoIterator<Item = usize>,
        blocked: impl Fn(usize) -> bool,
    ) -> Vec<bool> {
        let mut seen = vec![false; self.len()];
        let mut queue: Vec<usize> = sources.into_iter().collect();
        while let Some(v) = queue.pop() {
            for e in self.out(v) {
                let w = e.to as usize;
                if !seen[w] && !blocked(w) {
                    seen[w] = true;
                    queue.push(w);
                }
            }
        }
        seen
    }

    /// Nodes from which some target is reachable (targets included), never passing through
    /// `blocked` nodes. Reverse multi-source search, linear.
    pub fn reaching(
        &self,
        targets: impl IntoIterator<Item = usize>,
        blocked: impl Fn(usize) -> bool,
    ) -> Vec<bool> {
        let mut seen = vec![false; self.len()];
        let mut queue: Vec<usize> = Vec::new();
        for t in targets {
            if !seen[t] {
                seen[t] = true;
                queue.push(t);
            }
        }
        while let Some(v) = queue.pop() {
            for &p in self.preds(v) {
                let p = p as usize;
                if !seen[p] && !blocked(p) {
                    seen[p] = true;
                    queue.push(p);
                }
            }
        }
        seen
    }

    /// Longest BFS distance from the entry, in levels (0 for an empty workflow).
    pub fn max_depth(&self) -> u32 {
        self.depth
            .iter()
            .filter(|&&d| d != UNSEEN)
            .map(|d| d + 1)
            .max()
            .unwrap_or(0)
    }

    /// Deepest container nesting.
    pub fn max_nesting(&self) -> u32 {
        self.nesting.iter().copied().max().unwrap_or(0)
    }

    /// Branch and path count: if/else branches plus multi-path transitions.
    pub fn branch_count(&self) -> usize {
        self.roles.iter().filter(|r| r.is_structural()).count()
    }
}

/// Strongly connected components of a small generic graph given as adjacency lists (used for
/// workflows that enroll each other). Iterative; returns only the cyclic components.
pub(crate) fn cyclic_components(adj: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let n = adj.len();
    let mut idx = vec![UNSEEN; n];
    let mut low = vec![0u32; n];
    let mut on_stack = vec![false; n];
    let mut stack = Vec::new();
    let mut call: Vec<(usize, usize)> = Vec::new();
    let mut counter = 0u32;
    let mut out = Vec::new();
    for s in 0..n {
        if idx[s] != UNSEEN {
            continue;
        }
        idx[s] = counter;
        low[s] = counter;
        counter += 1;
        stack.push(s);
        on_stack[s] = true;
        call.push((s, 0));
        while let Some(&mut (v, ref mut pos)) = call.last_mut() {
            if let Some(&w) = adj[v].get(*pos) {
                *pos += 1;
                if w >= n {
                    continue;
                }
                if idx[w] == UNSEEN {
                    idx[w] = counter;
                    low[w] = counter;
                    counter += 1;
                    stack.push(w);
                    on_stack[w] = true;
                    call.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(idx[w]);
                }
                continue;
            }
            call.pop();
            if let Some(&(p, _)) = call.last() {
                low[p] = low[p].min(low[v]);
            }
            if low[v] == idx[v] {
                let mut members = Vec::new();
                while let Some(x) = stack.pop() {
                    on_stack[x] = false;
                    members.push(x);
                    if x == v {
                        break;
                    }
                }
                if members.len() > 1 || adj[v].contains(&v) {
                    members.sort_unstable();
                    out.push(members);
                }
            }
        }
    }
    out.sort();
    out
}
