//! Account rules over a bundle: duplicate triggers and enrollment cycles across workflows (X),
//! and references to users, calendars, pipelines, forms, fields and tags that do not exist (A).

use std::collections::{BTreeMap, HashMap};

use super::data::{pipeline_of, stage_of, CREATE_OPP, UPDATE_OPP};
use super::{quoted, Finding, Rule};
use crate::analysis::graph::cyclic_components;
use crate::analysis::model::{AccountLists, Json, Step, Workflow};

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

/// Run the account rules. `several` enables the (X) rules, `lists` the (A) rule.
pub(crate) fn run(
    workflows: &[Workflow],
    account: Option<&AccountLists>,
    several: bool,
    out: &mut Vec<Finding>,
) {
    if several {
        duplicate_trigger(workflows, out);
        enrollment_cycle(workflows, out);
        tag_trigger_never_added(workflows, out);
    }
    if let Some(acc) = account {
        for (wi, w) in workflows.iter().enumerate() {
            dangling_account_reference(wi, w, acc, out);
        }
    }
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

fn enrollment_cycle(workflows: &[Workflow], out: &mut Vec<Finding>) {
    let by_id: HashMap<&str, usize> = workflows
        .iter()
        .enumerate()
        .filter(|(_, w)| !w.id.is_empty())
        .map(|(i, w)| (w.id.as_str(), i))
        .collect();
    let mut by_tag: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (wi, w) in workflows.iter().enumerate() {
        for t in w.triggers.as_deref().unwrap_or_default() {
            if t.active && t.kind == "contact_tag" {
                for c in &t.conditions {
                    for v in c.value_strings() {
                        by_tag
                            .entry(v.trim().to_ascii_lowercase())
                            .or_default()
                            .push(wi);
                    }
                }
            }
        }
    }
    // Edges workflow -> workflow, remembering the step that causes each.
    let mut adj: Vec<Vec<usize>> = vec![Vec::new(); workflows.len()];
    let mut cause: HashMap<(usize, usize), usize> = HashMap::new();
    for (wi, w) in workflows.iter().enumerate() {
        for (si, s) in w.steps.iter().enumerate() {
            if s.disabled {
                continue;
            }
            let mut targets = Vec::new();
            if s.kind == "add_to_workflow" {
                for id in str_list(
                    s,
                    &["workflowId", "workflow_id", "workflowIds", "workflows"],
                ) {
                    if let Some(&t) = by_id.get(id) {
                        targets.push(t);
                    }
                }
            }
            if s.kind == "add_contact_tag" {
                for tag in str_list(s, &["tags", "tag"]) {
                    if let Some(ws) = by_tag.get(&tag.to_ascii_lowercase()) {
                        targets.extend(ws.iter().copied());
                    }
                }
            }
            for t in targets {
                if t == wi && !w.settings.allow_multiple {
                    continue;
                }
                if let std::collections::hash_map::Entry::Vacant(e) = cause.entry((wi, t)) {
                    e.insert(si);
                    adj[wi].push(t);
                }
            }
        }
    }
    for comp in cyclic_components(&adj) {
        let members: std::collections::HashSet<usize> = comp.iter().copied().collect();
        for &wi in &comp {
            let step = adj[wi]
                .iter()
                .find(|t| members.contains(t))
                .and_then(|t| cause.get(&(wi, *t)).copied());
            // Name a few of the others, never all: a cycle of k workflows would otherwise write
            // k messages of k names each (quadratic output from a small bundle).
            let mut others_iter = comp.iter().filter(|&&o| o != wi);
            let names: Vec<String> = others_iter
                .by_ref()
                .take(MAX_NAMED_IN_CYCLE)
                .map(|&o| quoted(&workflows[o].name))
                .collect();
            let rest = others_iter.count();
            let others = match (names.is_empty(), rest) {
                (true, _) => "itself".to_owned(),
                (false, 0) => names.join(", "),
                (false, n) => format!("{} and {n} more", names.join(", ")),
            };
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
            for id in str_list(s, &["userId", "user_id", "userIds", "users", "assignedTo"]) {
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
                for id in str_list(s, &["fieldId", "customFieldId", "field_id"]) {
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
        for t in w
            .triggers
            .as_deref()
            .unwrap_or_default()
            .iter()
            .filter(|t| t.active && t.kind == "contact_tag")
        {
            let missing: Vec<&str> = t
                .conditions
                .iter()
                .filter(|c| c.field.to_ascii_lowercase().contains("tag"))
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
