//! Account rules over a bundle: duplicate triggers, enrollment cycles, pipeline-stage loops, tag
//! chains that start a second conversation and refunds that remove nothing (X); references to
//! users, calendars, pipelines, forms, fields and tags that do not exist, and alerts that all go
//! to one user (A).

use std::collections::{HashMap, HashSet};

use super::data::{pipeline_of, stage_of, CREATE_OPP, UPDATE_OPP};
use super::integrations::recipients;
use super::{exits_workflow, quoted, Finding, Rule};
use crate::graph::{cyclic_components, Graph};
use crate::model::Role;
use crate::model::{AccountLists, Json, Kind, Step, Trigger, Workflow};

fn finding(rule: Rule, workflow: usize, step: Option<usize>, message: String) -> Finding {
    Finding {
        rule,
        severity: rule.default_severity(),
        workflow,
        step,
        message,
    }
}

/// Strings of an attribute that may be a string or a list of strings.
/// Whether a field name is a HighLevel record id (20 or so letters and digits, with a digit or an
/// upper-case letter: `hQ2wuHh1TFh4zL5nCUlp`) rather than a standard field's key (`first_name`,
/// `email`, `date_of_birth`).
fn looks_like_id(name: &str) -> bool {
    name.len() >= 16
        && name.len() <= 40
        && name.bytes().all(|b| b.is_ascii_alphanumeric())
        && name
            .bytes()
            .any(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
}

fn str_list<'a>(s: &'a Step, keys: &[&str]) -> Vec<&'a str> {
    let mut out = Vec::new();
    for k in keys {
        match s.attr(k) {
            Some(Json::String(v)) if !v.trim().is_empty() => out.push(v.trim()),
            Some(Json::Array(a)) => out.extend(
                a.iter()
                    .filter_map(|v| v.as_str().or_else(|| v.get("id").and_then(Json::as_str)))
                    .map(str::trim)
                    .filter(|v| !v.is_empty()),
            ),
            _ => {}
        }
    }
    out
}

/// Run the account rules. `several` enables the (X) rules, `account` the (A) rules; `graphs` are
/// the workflows' step graphs, in the same order.
pub(crate) fn run(
    workflows: &[Workflow],
    graphs: &[Graph<'_>],
    account: Option<&AccountLists>,
    several: bool,
    out: &mut Vec<Finding>,
) {
    if several {
        duplicate_trigger(workflows, out);
        enrollment_cycle(workflows, out);
        tag_trigger_never_added(workflows, out);
        refund_removes_nothing(workflows, graphs, out);
        pipeline_stage_loop(workflows, graphs, out);
        tag_chain_double_conversation(workflows, graphs, out);
    }
    if let Some(acc) = account {
        for (wi, w) in workflows.iter().enumerate() {
            dangling_account_reference(wi, w, acc, out);
        }
        if let Some(users) = &acc.users {
            alerts_to_one_user(workflows, graphs, users, out);
        }
    }
}

/// A graph between workflows (nodes `0..workflows`), optionally routed through key nodes after
/// them (a stage, a status) so that many workflows sharing a key cost edges linear in their
/// number. Each edge out of a workflow remembers the step that causes it.
struct CrossGraph {
    workflows: usize,
    adj: Vec<Vec<usize>>,
    cause: HashMap<(usize, usize), usize>,
    keys: HashMap<String, usize>,
}

impl CrossGraph {
    fn new(workflows: usize) -> Self {
        CrossGraph {
            workflows,
            adj: vec![Vec::new(); workflows],
            cause: HashMap::new(),
            keys: HashMap::new(),
        }
    }

    /// The node of a key, created on first use.
    fn key(&mut self, key: String) -> usize {
        let next = self.adj.len();
        let node = *self.keys.entry(key).or_insert(next);
        if node == next {
            self.adj.push(Vec::new());
        }
        node
    }

    /// The node of a key, if it was created.
    fn existing_key(&self, key: &str) -> Option<&usize> {
        self.keys.get(key)
    }

    /// An edge (once per pair); `step` is the cause when `from` is a workflow.
    fn add(&mut self, from: usize, to: usize, step: Option<usize>) {
        if let std::collections::hash_map::Entry::Vacant(e) = self.cause.entry((from, to)) {
            e.insert(step.unwrap_or(usize::MAX));
            self.adj[from].push(to);
        }
    }

    /// The cyclic components, each as its workflow members (key nodes dropped).
    fn cycles(&self) -> Vec<(Vec<usize>, HashSet<usize>)> {
        cyclic_components(&self.adj)
            .into_iter()
            .map(|comp| {
                let all: HashSet<usize> = comp.iter().copied().collect();
                let members = comp.into_iter().filter(|&v| v < self.workflows).collect();
                (members, all)
            })
            .collect()
    }

    /// The step causing the first edge from workflow `wi` into a component.
    fn cause_into(&self, wi: usize, component: &HashSet<usize>) -> Option<usize> {
        self.adj[wi]
            .iter()
            .find(|t| component.contains(t))
            .and_then(|t| self.cause.get(&(wi, *t)).copied())
            .filter(|&s| s != usize::MAX)
    }
}

/// The other members of a cycle by name: a few, never all (a cycle of k workflows would otherwise
/// write k messages of k names each, quadratic output from a small bundle). `members` is sorted;
/// the rest is counted, not walked, so naming every member of a cycle stays linear.
fn others_in_cycle(workflows: &[Workflow], members: &[usize], wi: usize) -> String {
    let names: Vec<String> = members
        .iter()
        .filter(|&&o| o != wi)
        .take(MAX_NAMED_IN_CYCLE)
        .map(|&o| quoted(&workflows[o].name).to_string())
        .collect();
    let others = members.len() - usize::from(members.binary_search(&wi).is_ok());
    let rest = others - names.len();
    match (names.is_empty(), rest) {
        (true, _) => "itself".to_owned(),
        (false, 0) => names.join(", "),
        (false, n) => format!("{} and {n} more", names.join(", ")),
    }
}

/// The active triggers of a workflow.
/// The triggers that start a workflow today. A draft's count as switched on for its own rules
/// (the parser does that: they judge it as it will run once published), but a draft starts
/// nothing yet, so the rules across workflows leave its triggers out.
fn active_triggers<'w>(w: &'w Workflow) -> impl Iterator<Item = &'w Trigger> {
    w.triggers
        .as_deref()
        .unwrap_or_default()
        .iter()
        .filter(move |t| t.active && !w.is_draft())
}

/// The trimmed, lower-cased filter values of a trigger on fields containing `field`.
fn filter_values(t: &Trigger, field: &str) -> Vec<String> {
    t.conditions
        .iter()
        .filter(|c| c.field.to_ascii_lowercase().contains(field))
        .flat_map(|c| c.value_strings())
        .map(|v| v.trim().to_ascii_lowercase())
        .filter(|v| !v.is_empty())
        .collect()
}

fn duplicate_trigger(workflows: &[Workflow], out: &mut Vec<Finding>) {
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (wi, w) in workflows.iter().enumerate() {
        if !w.is_published() {
            continue;
        }
        for t in w
            .triggers
            .as_deref()
            .unwrap_or_default()
            .iter()
            .filter(|t| t.active)
        {
            let mut conds: Vec<String> = t
                .conditions
                .iter()
                .map(|c| {
                    format!(
                        "{}|{}|{}",
                        c.field.to_ascii_lowercase(),
                        c.operator.to_ascii_lowercase(),
                        c.value
                    )
                })
                .collect();
            conds.sort();
            let key = format!("{}#{}", t.kind, conds.join(";"));
            match seen.get(&key) {
                Some(&first) if first != wi => out.push(finding(
                    Rule::DuplicateTrigger,
                    wi,
                    None,
                    format!(
                        "Trigger {} of {} fires on the same event and filters as workflow {}.",
                        quoted(t.label()),
                        quoted(&w.name),
                        quoted(&workflows[first].name)
                    ),
                )),
                Some(_) => {}
                None => {
                    seen.insert(key, wi);
                }
            }
        }
    }
}

/// How many other workflows an enrollment-cycle message names.
const MAX_NAMED_IN_CYCLE: usize = 5;

/// Workflows that enroll each other: `add_to_workflow` is an edge to the named workflow; a tag is
/// a node of its own, with an edge from every workflow that adds it and an edge to every workflow
/// a live tag trigger starts on it. So the graph has one edge per (workflow, tag) and per (tag,
/// trigger), linear in the input however often a tag repeats (a tag added by every step of one
/// workflow and listed by many triggers of another would otherwise cost their product).
/// Whether a tag trigger's condition is on the tag's removal (`tagsRemoved`, a "removed" operator).
fn removal(c: &crate::model::Condition) -> bool {
    crate::model::contains_ci(&c.field, "remov") || crate::model::contains_ci(&c.operator, "remov")
}

fn enrollment_cycle(workflows: &[Workflow], out: &mut Vec<Finding>) {
    let by_id: HashMap<&str, usize> = workflows
        .iter()
        .enumerate()
        .filter(|(_, w)| !w.id.is_empty())
        .map(|(i, w)| (w.id.as_str(), i))
        .collect();
    let mut graph = CrossGraph::new(workflows.len());
    // Which tags start which workflows (a workflow counted once per tag).
    let mut triggered_by: HashMap<String, Vec<usize>> = HashMap::new();
    for (wi, w) in workflows.iter().enumerate() {
        for t in active_triggers(w) {
            if t.kind == "contact_tag" {
                // A trigger on a tag's removal is not started by adding it.
                for c in t.conditions.iter().filter(|c| !removal(c)) {
                    for v in c.value_strings() {
                        let starts = triggered_by
                            .entry(v.trim().to_ascii_lowercase())
                            .or_default();
                        if starts.last() != Some(&wi) {
                            starts.push(wi);
                        }
                    }
                }
            }
        }
    }
    for (tag, starts) in &triggered_by {
        let node = graph.key(format!("tag:{tag}"));
        for &wi in starts {
            graph.add(node, wi, None);
        }
    }
    for (wi, w) in workflows.iter().enumerate() {
        for (si, s) in w.steps.iter().enumerate() {
            if s.disabled {
                continue;
            }
            if s.kind == "add_to_workflow" {
                for id in str_list(
                    s,
                    &["workflowId", "workflow_id", "workflowIds", "workflows"],
                ) {
                    match by_id.get(id) {
                        Some(&t) if t != wi || w.settings.allow_multiple => {
                            graph.add(wi, t, Some(si))
                        }
                        _ => {}
                    }
                }
            }
            if s.kind == "add_contact_tag" {
                for tag in str_list(s, &["tags", "tag"]) {
                    // Only tags that start a workflow have a node.
                    let key = format!("tag:{}", tag.to_ascii_lowercase());
                    if let Some(&node) = graph.existing_key(&key) {
                        graph.add(wi, node, Some(si));
                    }
                }
            }
        }
    }
    for (comp, all) in graph.cycles() {
        // A workflow whose only loop runs through itself re-enrolls its contacts only when it
        // allows re-entry (otherwise HighLevel does not start it again for the same contact).
        if let [only] = comp[..] {
            if !workflows[only].settings.allow_multiple {
                continue;
            }
        }
        for &wi in &comp {
            let step = graph.cause_into(wi, &all);
            let others = others_in_cycle(workflows, &comp, wi);
            out.push(finding(
                Rule::EnrollmentCycle,
                wi,
                step,
                format!(
                    "Workflow {} re-enrolls contacts in a loop with {others}.",
                    quoted(&workflows[wi].name)
                ),
            ));
        }
    }
}

fn dangling_account_reference(wi: usize, w: &Workflow, acc: &AccountLists, out: &mut Vec<Finding>) {
    let mut report = |step: Option<usize>, what: &str, id: &str, extra: &str| {
        let place = match step {
            Some(si) => format!("Step {}", quoted(w.steps[si].label())),
            None => format!("A trigger of {}", quoted(&w.name)),
        };
        out.push(finding(
            Rule::DanglingAccountReference,
            wi,
            step,
            format!("{place} refers to {what} {}, which {extra}.", quoted(id)),
        ));
    };
    let missing = "does not exist in this account";
    for (si, s) in w.steps.iter().enumerate() {
        if let Some(users) = &acc.users {
            for id in str_list(
                s,
                &[
                    "userId",
                    "user_id",
                    "userIds",
                    "users",
                    "assignedTo",
                    "user_list",
                ],
            ) {
                match users.get(&id.to_ascii_lowercase()) {
                    None => report(Some(si), "the user", id, missing),
                    Some(false) => report(Some(si), "the user", id, "is inactive"),
                    Some(true) => {}
                }
            }
        }
        if let Some(cals) = &acc.calendars {
            for id in str_list(s, &["calendarId", "calendar_id"]) {
                if !cals.contains(&id.to_ascii_lowercase()) {
                    report(Some(si), "the calendar", id, missing);
                }
            }
        }
        if let Some(pipes) = &acc.pipelines {
            let k = &*s.kind;
            if CREATE_OPP.contains(&k) || UPDATE_OPP.contains(&k) || k == "find_opportunity" {
                if let Some(p) = pipeline_of(s) {
                    match pipes.get(&p.to_ascii_lowercase()) {
                        None => report(Some(si), "the pipeline", p, missing),
                        Some(stages) => {
                            if let Some(st) = stage_of(s) {
                                if !stages.contains(&st.to_ascii_lowercase()) {
                                    report(
                                        Some(si),
                                        "the stage",
                                        st,
                                        "is not a stage of its pipeline",
                                    );
                                }
                            }
                        }
                    }
                }
            }
        }
        if let Some(fields) = &acc.custom_fields {
            if s.kind == "update_contact_field" {
                // The explicit id keys, then the builder's `field` (its own or in the `fields`
                // list), which names a standard field by key or a custom field by its id: only an
                // id is looked up (a standard key is in no custom field list).
                // Each id once (a set: a list of thousands of ids must not be checked against
                // every id before it).
                let mut named = str_list(s, &["fieldId", "customFieldId", "field_id"]);
                let mut seen: HashSet<&str> = named.iter().copied().collect();
                for (field, _) in super::field_writes(s) {
                    let field = field.trim();
                    if looks_like_id(field) && seen.insert(field) {
                        named.push(field);
                    }
                }
                for id in named {
                    let l = id.to_ascii_lowercase();
                    if !fields.contains(l.strip_prefix("contact.").unwrap_or(&l)) {
                        report(Some(si), "the custom field", id, missing);
                    }
                }
            }
        }
        if let Some(tags) = &acc.tags {
            if s.kind == "add_contact_tag" || s.kind == "remove_contact_tag" {
                for tag in str_list(s, &["tags", "tag"]) {
                    if !tags.contains(&tag.to_ascii_lowercase()) {
                        report(Some(si), "the tag", tag, missing);
                    }
                }
            }
        }
    }
    for t in w.triggers.as_deref().unwrap_or_default() {
        for c in &t.conditions {
            let f = c.field.to_ascii_lowercase();
            let list = if f.contains("form") {
                acc.forms.as_ref().map(|l| (l, "the form"))
            } else if f.contains("calendar") {
                acc.calendars.as_ref().map(|l| (l, "the calendar"))
            } else if f.contains("tag") && t.kind == "contact_tag" {
                acc.tags.as_ref().map(|l| (l, "the tag"))
            } else {
                None
            };
            if let Some((list, what)) = list {
                for v in c.value_strings() {
                    if !v.trim().is_empty() && !list.contains(&v.trim().to_ascii_lowercase()) {
                        report(None, what, v, missing);
                    }
                }
            }
            if f.contains("pipeline") {
                if let Some(pipes) = &acc.pipelines {
                    for v in c.value_strings() {
                        if !pipes.contains_key(&v.to_ascii_lowercase()) {
                            report(None, "the pipeline", v, missing);
                        }
                    }
                }
            }
        }
    }
}

/// Tag triggers whose tag no workflow of the bundle adds (X). Linear in steps and triggers.
fn tag_trigger_never_added(workflows: &[Workflow], out: &mut Vec<Finding>) {
    let mut added: std::collections::HashSet<String> = std::collections::HashSet::new();
    for w in workflows {
        for s in w
            .steps
            .iter()
            .filter(|s| !s.disabled && s.kind == "add_contact_tag")
        {
            for t in str_list(s, &["tags", "tag"]) {
                added.insert(t.to_ascii_lowercase());
            }
        }
    }
    for (wi, w) in workflows.iter().enumerate() {
        for t in active_triggers(w).filter(|t| t.kind == "contact_tag") {
            let missing: Vec<&str> = t
                .conditions
                .iter()
                .filter(|c| c.field.to_ascii_lowercase().contains("tag") && !removal(c))
                .flat_map(|c| c.value_strings())
                .map(str::trim)
                .filter(|v| {
                    !v.is_empty() && !v.contains("{{") && !added.contains(&v.to_ascii_lowercase())
                })
                .collect();
            if let Some(tag) = missing.first() {
                out.push(finding(
                    Rule::TagTriggerNeverAdded,
                    wi,
                    None,
                    format!(
                        "Trigger {} waits for the tag \"{tag}\", which no workflow of the {} adds.",
                        quoted(t.label()),
                        workflows.len()
                    ),
                ));
            }
        }
    }
}

/// The user ids (lower-cased) an internal notification names, or `None` when it also (or only)
/// reaches someone else: addresses, phones, all users, the assigned user, the owner. Read with
/// [`recipients`], the reader `failure-alert-to-nobody` uses too.
fn notified_users(s: &Step) -> Option<HashSet<String>> {
    let r = recipients(s);
    (!r.others).then(|| r.users.iter().map(|u| u.to_ascii_lowercase()).collect())
}

/// alerts-to-one-user (A): 3+ live internal notifications name recipients, each exactly the
/// same single user, while the account has 2+ active users. Once, on the first notification.
fn alerts_to_one_user(
    workflows: &[Workflow],
    graphs: &[Graph<'_>],
    users: &HashMap<String, bool>,
    out: &mut Vec<Finding>,
) {
    /// Fewer alerts than this are not a pattern.
    const MIN_ALERTS: usize = 3;
    if users.values().filter(|&&active| active).count() < 2 {
        return;
    }
    let mut first: Option<(usize, usize)> = None;
    let mut only: Option<String> = None;
    let mut count = 0;
    for (wi, (w, g)) in workflows.iter().zip(graphs).enumerate() {
        for si in (0..g.len()).filter(|&i| g.live(i, Kind::InternalNotification)) {
            let Some(named) = notified_users(&w.steps[si]) else {
                return;
            };
            if named.is_empty() {
                continue;
            }
            let mut named = named.into_iter();
            let user = named.next().unwrap_or_default();
            if named.next().is_some() || only.as_ref().is_some_and(|u| *u != user) {
                return;
            }
            only = Some(user);
            first.get_or_insert((wi, si));
            count += 1;
        }
    }
    if let (Some((wi, si)), Some(user), true) = (first, only, count >= MIN_ALERTS) {
        out.push(finding(
            Rule::AlertsToOneUser,
            wi,
            Some(si),
            format!(
                "All {count} internal notifications of the bundle, starting with {}, go only to the user {}.",
                quoted(workflows[wi].steps[si].label()),
                quoted(&user)
            ),
        ));
    }
}

/// Whether a trigger type fires on a refund or a cancellation of a purchase.
fn is_refund_trigger(kind: &str) -> bool {
    let k = kind.to_ascii_lowercase();
    k.contains("refund")
        || k.starts_with("subscription_cancel")
        || k == "subscription_canceled"
        || k.starts_with("order_cancel")
        || k.starts_with("invoice_void")
        || k.starts_with("payment_cancel")
}

/// Whether a trigger type fires on a purchase.
fn is_purchase_trigger(kind: &str) -> bool {
    let k = kind.to_ascii_lowercase();
    !is_refund_trigger(&k)
        && (matches!(
            k.as_str(),
            "order_submitted"
                | "order_submission"
                | "order_form_submission"
                | "order_form_submitted"
                | "payment_received"
                | "invoice_paid"
                | "product_purchased"
                | "subscription_created"
                | "subscription_started"
        ) || k.contains("purchase"))
}

/// The lower-cased strings that the live goal steps and if/else conditions (container or branch)
/// of published workflows mention, each with the first two workflows mentioning it (two, so one is
/// never the asking workflow itself). Each kept attribute is read once: linear.
fn exit_mentions(workflows: &[Workflow], graphs: &[Graph<'_>]) -> HashMap<String, Vec<usize>> {
    let mut mentions: HashMap<String, Vec<usize>> = HashMap::new();
    let mut stack: Vec<&Json<'_>> = Vec::new();
    for (wi, (w, g)) in workflows.iter().zip(graphs).enumerate() {
        if !w.is_published() {
            continue;
        }
        for i in (0..g.len()).filter(|&i| {
            !g.disabled[i]
                && (g.kinds[i] == Kind::Goal
                    || matches!(g.roles[i], Role::IfElse | Role::Branch { .. }))
        }) {
            stack.extend(w.steps[i].attributes.iter().map(|(_, v)| v));
            while let Some(v) = stack.pop() {
                match v {
                    Json::String(t) if !t.trim().is_empty() => {
                        let ws = mentions.entry(t.trim().to_ascii_lowercase()).or_default();
                        if ws.len() < 2 && !ws.contains(&wi) {
                            ws.push(wi);
                        }
                    }
                    Json::Array(items) => stack.extend(items),
                    Json::Object(members) => stack.extend(members.iter().map(|(_, m)| m)),
                    _ => {}
                }
            }
        }
    }
    mentions
}

/// refund-removes-nothing (X): a published refund/cancellation workflow with no live removal
/// (remove from workflow, remove tag, goal, DND, or an added tag that a goal or if/else of another
/// published workflow checks: the usual "refunded" tag the purchase workflows exit on) while
/// another published workflow starts on a purchase. Once per refund workflow, workflow-level.
fn refund_removes_nothing(workflows: &[Workflow], graphs: &[Graph<'_>], out: &mut Vec<Finding>) {
    let purchase =
        |w: &Workflow| w.is_published() && active_triggers(w).any(|t| is_purchase_trigger(&t.kind));
    let Some(first_buy) = workflows.iter().position(purchase) else {
        return;
    };
    // Only built when a refund workflow could fire.
    let mut exits: Option<HashMap<String, Vec<usize>>> = None;
    for (wi, (w, g)) in workflows.iter().zip(graphs).enumerate() {
        if !w.is_published() {
            continue;
        }
        let Some(trigger) = active_triggers(w).find(|t| is_refund_trigger(&t.kind)) else {
            continue;
        };
        let mut removes = (0..g.len()).any(|i| {
            exits_workflow(g, i)
                || (!g.disabled[i] && matches!(g.kinds[i], Kind::RemoveTag | Kind::Dnd))
        });
        if !removes {
            let exits = exits.get_or_insert_with(|| exit_mentions(workflows, graphs));
            removes = (0..g.len())
                .filter(|&i| g.live(i, Kind::AddTag))
                .flat_map(|i| str_list(&w.steps[i], &["tags", "tag"]))
                .any(|tag| {
                    exits
                        .get(&tag.to_ascii_lowercase())
                        .is_some_and(|ws| ws.iter().any(|&o| o != wi))
                });
        }
        let buy = if first_buy == wi {
            workflows
                .iter()
                .skip(wi + 1)
                .position(purchase)
                .map(|p| p + wi + 1)
        } else {
            Some(first_buy)
        };
        if let (false, Some(buy)) = (removes, buy) {
            out.push(finding(
                Rule::RefundRemovesNothing,
                wi,
                None,
                format!(
                    "Workflow {} starts on {} but removes the contact from nothing, while {} starts on a purchase.",
                    quoted(&w.name),
                    quoted(trigger.label()),
                    quoted(&workflows[buy].name)
                ),
            ));
        }
    }
}

/// How many `status:V@stage:S` / `status:V@pipe:P` keys a status trigger may build before it
/// falls back to its `status:V` keys alone.
const MAX_STATUS_PAIRS: usize = 64;

/// The keys an opportunity trigger starts on: `stage:S`, `stage:*`, `stage:*@pipe:P` for a
/// stage trigger; `status:V` or `status:*`, optionally `@stage:S` / `@pipe:P`, for a status
/// trigger. Empty for other triggers.
///
/// A status trigger narrowed by stages or pipelines needs one key per (status, stage or pipeline)
/// pair: quadratic in the trigger's filter values (2000 x 2000 values, a 36 KB bundle, made 4
/// million keys). Past [`MAX_STATUS_PAIRS`] pairs it keeps only its `status:V` keys, which every
/// step setting that status also produces: the trigger then starts on the status in any stage
/// (an over-approximation) and its keys stay linear in its values.
fn opportunity_trigger_keys(t: &Trigger) -> Vec<String> {
    let k = t.kind.to_ascii_lowercase();
    let status = k.contains("opportunity") && k.contains("status");
    let stage = !status
        && (k.contains("stage") || k == "opportunity_changed" || k == "opportunity_updated");
    if !stage && !status {
        return Vec::new();
    }
    let stages = filter_values(t, "stage");
    let pipes: Vec<String> = filter_values(t, "pipeline")
        .into_iter()
        .filter(|_| stages.is_empty())
        .collect();
    let narrow: Vec<String> = stages
        .iter()
        .map(|s| format!("stage:{s}"))
        .chain(pipes.iter().map(|p| format!("pipe:{p}")))
        .collect();
    if stage {
        if narrow.is_empty() {
            return vec!["stage:*".to_owned()];
        }
        return stages
            .iter()
            .map(|s| format!("stage:{s}"))
            .chain(pipes.iter().map(|p| format!("stage:*@pipe:{p}")))
            .collect();
    }
    let mut values = filter_values(t, "status");
    if values.is_empty() {
        values.push("*".to_owned());
    }
    let mut keys = Vec::new();
    let too_many = values.len().saturating_mul(narrow.len()) > MAX_STATUS_PAIRS;
    for v in &values {
        if narrow.is_empty() || too_many {
            keys.push(format!("status:{v}"));
        } else {
            keys.extend(narrow.iter().map(|n| format!("status:{v}@{n}")));
        }
    }
    keys
}

/// The keys an opportunity step moves an opportunity into (see [`opportunity_trigger_keys`]).
fn opportunity_step_keys(s: &Step) -> Vec<String> {
    let stage = stage_of(s).map(str::to_ascii_lowercase);
    let pipe = pipeline_of(s).map(str::to_ascii_lowercase);
    let mut keys = Vec::new();
    if let Some(st) = &stage {
        keys.push(format!("stage:{st}"));
        keys.push("stage:*".to_owned());
        if let Some(p) = &pipe {
            keys.push(format!("stage:*@pipe:{p}"));
        }
    }
    if let Some(status) = s.attr_str("status").map(str::to_ascii_lowercase) {
        for v in [status.as_str(), "*"] {
            keys.push(format!("status:{v}"));
            if let Some(st) = &stage {
                keys.push(format!("status:{v}@stage:{st}"));
            }
            if let Some(p) = &pipe {
                keys.push(format!("status:{v}@pipe:{p}"));
            }
        }
    }
    keys
}

/// pipeline-stage-loop (X): workflows that move an opportunity into a stage (or status) that
/// starts another workflow, in a cycle. Workflow -> key -> workflow edges, so linear in steps
/// and triggers; one finding per cycle, on the stage-setting step of its first member.
fn pipeline_stage_loop(workflows: &[Workflow], graphs: &[Graph<'_>], out: &mut Vec<Finding>) {
    let mut graph = CrossGraph::new(workflows.len());
    for (wi, w) in workflows.iter().enumerate() {
        if !w.is_published() {
            continue;
        }
        for t in active_triggers(w) {
            for key in opportunity_trigger_keys(t) {
                let node = graph.key(key);
                graph.add(node, wi, None);
            }
        }
    }
    if graph.keys.is_empty() {
        return;
    }
    for (wi, (w, g)) in workflows.iter().zip(graphs).enumerate() {
        for si in (0..g.len())
            .filter(|&i| g.live(i, Kind::UpdateOpportunity) || g.live(i, Kind::CreateOpportunity))
        {
            for key in opportunity_step_keys(&w.steps[si]) {
                if let Some(&node) = graph.keys.get(&key) {
                    graph.add(wi, node, Some(si));
                }
            }
        }
    }
    for (comp, all) in graph.cycles() {
        let Some(&wi) = comp.first() else { continue };
        let w = &workflows[wi];
        // One workflow starting itself again only loops when re-entry is allowed.
        if comp.len() == 1 && !w.settings.allow_multiple {
            continue;
        }
        let Some(si) = graph.cause_into(wi, &all) else {
            continue;
        };
        let others = if comp.len() == 1 {
            "starts this same workflow again".to_owned()
        } else {
            format!(
                "starts {}, which moves it back",
                others_in_cycle(workflows, &comp, wi)
            )
        };
        out.push(finding(
            Rule::PipelineStageLoop,
            wi,
            Some(si),
            format!(
                "Step {} of {} moves the opportunity into a stage that {others}: the opportunity can flip between stages forever.",
                quoted(w.steps[si].label()),
                quoted(&w.name)
            ),
        ));
    }
}

/// tag-chain-double-conversation (X): published workflow A adds tag t and messages after it, while
/// another published workflow that messages starts on t being added (a trigger on its removal does
/// not count). On A's add-tag step. One reverse sweep from the outbound steps per workflow, so
/// linear.
fn tag_chain_double_conversation(
    workflows: &[Workflow],
    graphs: &[Graph<'_>],
    out: &mut Vec<Finding>,
) {
    // Tag -> the first two messaging workflows it starts (two, so one is never A itself).
    let mut starts: HashMap<String, Vec<usize>> = HashMap::new();
    for (wi, (w, g)) in workflows.iter().zip(graphs).enumerate() {
        if !w.is_published() || !(0..g.len()).any(|i| g.kinds[i].is_outbound() && !g.disabled[i]) {
            continue;
        }
        for t in active_triggers(w).filter(|t| t.kind == "contact_tag") {
            // A removal (`operator: "removed"` or `field: "tagsRemoved"`) is no start on a tag.
            for c in t.conditions.iter().filter(|c| {
                let field = c.field.to_ascii_lowercase();
                field.contains("tag")
                    && !field.contains("remov")
                    && !c.operator.to_ascii_lowercase().contains("remov")
            }) {
                for v in c.value_strings() {
                    let v = v.trim();
                    if v.is_empty() || v.contains("{{") {
                        continue;
                    }
                    let ws = starts.entry(v.to_ascii_lowercase()).or_default();
                    if ws.len() < 2 && !ws.contains(&wi) {
                        ws.push(wi);
                    }
                }
            }
        }
    }
    if starts.is_empty() {
        return;
    }
    // A draft workflow adds no tag: it does not run.
    for (wi, (w, g)) in workflows.iter().zip(graphs).enumerate() {
        if !w.is_published() {
            continue;
        }
        let adds: Vec<usize> = (0..g.len()).filter(|&i| g.live(i, Kind::AddTag)).collect();
        if adds.is_empty() {
            continue;
        }
        let outbound = (0..g.len()).filter(|&i| g.kinds[i].is_outbound() && !g.disabled[i]);
        let before_message = g.reaching(outbound, |_| false);
        for si in adds.into_iter().filter(|&i| before_message[i]) {
            let chained = str_list(&w.steps[si], &["tags", "tag"])
                .into_iter()
                .find_map(|tag| {
                    starts
                        .get(&tag.to_ascii_lowercase())
                        .and_then(|ws| ws.iter().find(|&&b| b != wi))
                        .map(|&b| (tag, b))
                });
            if let Some((tag, b)) = chained {
                out.push(finding(
                    Rule::TagChainDoubleConversation,
                    wi,
                    Some(si),
                    format!(
                        "Step {} adds the tag \"{tag}\", which starts {}, and {} keeps messaging after it: the contact gets two conversations at once.",
                        quoted(w.steps[si].label()),
                        quoted(&workflows[b].name),
                        quoted(&w.name)
                    ),
                ));
            }
        }
    }
}
