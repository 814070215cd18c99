//! Cross-module tests of the analyzer. One file per rule family, named after [`crate::Family`]
//! (`structure.rs` ... `metadata.rs`), holds every test of that family's rules: each rule firing
//! and not firing, and skipped with its reason when its data is absent. `registry.rs` tests the
//! registry, configuration and SARIF; `formats.rs` input formats and errors, plan views and the
//! structure; `samples.rs` the samples' grades; `properties.rs` property tests. The builders and
//! assertions the files share (steps, bodies, bundles, `fires_on`, `silent`...) are defined here,
//! once.

mod account;
mod ai;
mod appointments;
mod data;
mod deliverability;
mod formats;
mod integrations;
mod messaging;
mod metadata;
mod properties;
mod registry;
mod revenue;
mod samples;
mod structure;
mod triggers;
mod waits;

use serde_json::{json, Value};

use super::{analyze, AnalysisResult, AnalyzeOptions};

/// 2026-11-23T00:00:00Z, the tests' "now".
pub(super) const NOW: i64 = 1_795_392_000;

/// A step with a readable name.
pub(super) fn s(id: &str, kind: &str, attrs: Value) -> Value {
    json!({"id": id, "type": kind, "name": format!("{kind} {id}"), "attributes": attrs})
}

/// Link steps in order (`next` and `parentKey`) where they do not say otherwise.
pub(super) fn chain(mut steps: Vec<Value>) -> Vec<Value> {
    let ids: Vec<String> = steps
        .iter()
        .map(|v| v["id"].as_str().unwrap_or_default().to_owned())
        .collect();
    for (i, step) in steps.iter_mut().enumerate() {
        let Some(o) = step.as_object_mut() else {
            continue;
        };
        if i + 1 < ids.len() && !o.contains_key("next") {
            o.insert("next".into(), json!(ids[i + 1]));
        }
        if i > 0 && !o.contains_key("parentKey") {
            o.insert("parentKey".into(), json!(ids[i - 1]));
        }
        o.insert("order".into(), json!(i));
    }
    steps
}

/// The default trigger: a form submission with its form.
pub(super) fn form_trigger() -> Value {
    json!([{"id": "t1", "name": "Contact form", "type": "form_submission", "active": true,
            "conditions": [{"field": "formId", "operator": "==", "value": "form_1"}]}])
}

/// A `{workflow, triggers}` body around steps, published, stop-on-response on.
pub(super) fn body(steps: Vec<Value>) -> Value {
    body_with(steps, form_trigger(), json!({}))
}

/// A body with explicit triggers and extra workflow fields (settings, name, status).
pub(super) fn body_with(steps: Vec<Value>, triggers: Value, extra: Value) -> Value {
    let mut w = json!({"_id": "wf1", "name": "Lead follow-up", "status": "published",
                       "stopOnResponse": true, "updatedAt": "2026-11-20T10:00:00Z",
                       "workflowData": {"templates": steps}});
    if let (Some(w), Some(extra)) = (w.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            w.insert(k.clone(), v.clone());
        }
    }
    json!({"workflow": w, "triggers": triggers})
}

pub(super) fn run(v: &Value) -> AnalysisResult {
    let bytes = serde_json::to_vec(v).expect("test JSON serializes");
    analyze(&bytes, &AnalyzeOptions::at(NOW)).expect("test input parses")
}

/// The step ids (None for workflow-level) of a rule's findings: a grouped issue counts once per
/// step it lists, a workflow-level one once per occurrence.
pub(super) fn hits(r: &AnalysisResult, rule: &str) -> Vec<Option<String>> {
    r.issues
        .iter()
        .filter(|i| i.rule_id == rule)
        .flat_map(|i| match (&i.step_id, i.steps.is_empty()) {
            (None, _) => vec![None; i.count as usize],
            (Some(id), true) => vec![Some(id.clone())],
            // Occurrences beyond the listed steps were workflow-level.
            (Some(_), false) => i
                .steps
                .iter()
                .map(|s| Some(s.id.clone()))
                .chain(std::iter::repeat_n(
                    None,
                    (i.count as usize).saturating_sub(i.steps.len()),
                ))
                .collect(),
        })
        .collect()
}

pub(super) fn fires_on(v: &Value, rule: &str, step: Option<&str>) -> AnalysisResult {
    let r = run(v);
    let h = hits(&r, rule);
    assert!(
        h.contains(&step.map(str::to_owned)),
        "{rule} should fire on {step:?}, fired on {h:?}; issues: {:#?}",
        r.issues
    );
    r
}

pub(super) fn silent(v: &Value, rule: &str) {
    let r = run(v);
    let h = hits(&r, rule);
    assert!(h.is_empty(), "{rule} should not fire, fired on {h:?}");
}

/// A bundle of workflows (a list, or a `json!` array) with account lists beside them.
pub(super) fn bundle(workflows: impl Into<Value>, lists: Value) -> Value {
    let mut b = json!({"workflows": workflows.into()});
    if let (Some(b), Some(l)) = (b.as_object_mut(), lists.as_object()) {
        for (k, v) in l {
            b.insert(k.clone(), v.clone());
        }
    }
    b
}

pub(super) fn sms(id: &str, text: &str) -> Value {
    s(id, "sms", json!({"body": text}))
}

pub(super) fn email(id: &str, attrs: Value) -> Value {
    s(id, "email", attrs)
}

pub(super) fn wait_days(id: &str, days: u32) -> Value {
    s(
        id,
        "wait",
        json!({"type": "time", "startAfter": {"type": "days", "value": days}, "window": {"start": "09:00", "end": "18:00"}}),
    )
}

pub(super) fn wait_minutes(id: &str, m: u32) -> Value {
    s(
        id,
        "wait",
        json!({"type": "time", "startAfter": {"type": "minutes", "value": m}, "window": {"start": "09:00", "end": "18:00"}}),
    )
}

pub(super) fn ai(id: &str, attrs: Value) -> Value {
    s(id, "chatgpt", attrs)
}

pub(super) fn hook(id: &str, attrs: Value) -> Value {
    s(id, "custom_webhook", attrs)
}

pub(super) fn skipped_reason(v: &Value, rule: &str) -> Option<String> {
    run(v)
        .skipped_rules
        .into_iter()
        .find(|k| k.rule_id == rule)
        .map(|k| k.reason)
}

pub(super) fn wf(id: &str, steps: Vec<Value>, triggers: Value) -> Value {
    json!({"_id": id, "name": format!("Workflow {id} nurture"), "status": "published", "stopOnResponse": true,
           "workflowData": {"templates": steps}, "triggers": triggers})
}

pub(super) fn crm(extra: Value) -> Value {
    let mut a = json!({"url": "{{custom_values.crm}}", "saveResponse": true});
    if let (Some(a), Some(e)) = (a.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            a.insert(k.clone(), v.clone());
        }
    }
    a
}

pub(super) fn plain_wf(id: &str, steps: Vec<Value>, triggers: Value) -> Value {
    json!({"_id": id, "name": format!("Workflow {id}"), "status": "published", "stopOnResponse": true,
           "workflowData": {"templates": steps}, "triggers": triggers})
}

/// The (workflow id, step id) of a rule's findings.
pub(super) fn places(v: &Value, rule: &str) -> Vec<(Option<String>, Option<String>)> {
    run(v)
        .issues
        .into_iter()
        .filter(|i| i.rule_id == rule)
        .map(|i| (i.workflow_id, i.step_id))
        .collect()
}

pub(super) fn place(w: &str, step: Option<&str>) -> (Option<String>, Option<String>) {
    (Some(w.to_owned()), step.map(str::to_owned))
}

pub(super) fn a_single_workflow() -> Value {
    body_with(
        chain(vec![sms("m", "This is Acme. Reply STOP")]),
        form_trigger(),
        json!({}),
    )
}

pub(super) const MISMATCH: &str = "custom-field-type-mismatch";

pub(super) fn notify(id: &str, attrs: Value) -> Value {
    s(id, "internal_notification", attrs)
}

pub(super) fn wait_day(id: &str) -> Value {
    s(
        id,
        "wait",
        json!({"type": "time", "startAfter": {"type": "days", "value": 1}, "window": {"start": "09:00", "end": "18:00"}}),
    )
}

pub(super) fn enrollment_trigger(kind: &str, conditions: Value) -> Value {
    json!([{"id": "t1", "name": "Enrollment", "type": kind, "active": true, "conditions": conditions}])
}

/// A step with an explicit `next` (omitted when null) and `parentKey`.
pub(super) fn linked(mut step: Value, next: Value, parent_key: &str) -> Value {
    if let Some(o) = step.as_object_mut() {
        if !next.is_null() {
            o.insert("next".into(), next);
        }
        if !parent_key.is_empty() {
            o.insert("parentKey".into(), json!(parent_key));
        }
    }
    step
}

/// An if/else container `id` (conditions on its first branch) with a `yes` branch leading to
/// `yes_next` and a None branch leading to `no_next`.
pub(super) fn if_else_branches(
    id: &str,
    name: &str,
    conditions: Value,
    parent: &str,
    yes_next: &str,
    no_next: &str,
) -> Vec<Value> {
    let branch = |bid: String, bname: &str, node: &str, next: &str| {
        json!({"id": bid, "type": "if_else", "name": bname, "nodeType": node, "parent": id,
               "parentKey": id, "next": next, "attributes": {}})
    };
    vec![
        json!({"id": id, "type": "if_else", "name": name, "cat": "conditions", "nodeType": "condition-node",
               "parentKey": parent, "next": [format!("{id}_yes"), format!("{id}_no")],
               "attributes": {"branches": [{"name": "Yes", "conditions": conditions}]}}),
        branch(format!("{id}_yes"), "Yes", "branch-yes", yes_next),
        branch(format!("{id}_no"), "None", "branch-no", no_next),
    ]
}

pub(super) fn no_triggers(steps: Vec<Value>) -> Value {
    json!({"workflow": {"_id": "wf1", "name": "Lead follow-up", "status": "published",
                        "workflowData": {"templates": steps}}})
}

pub(super) fn tag(id: &str) -> Value {
    s(id, "add_contact_tag", json!({"tags": ["lead"]}))
}

pub(super) fn branch(id: &str, none: bool, next: Option<&str>) -> Value {
    let mut b = json!({"id": id, "type": "if_else", "name": if none { "None" } else { "Yes" },
                       "nodeType": if none { "branch-no" } else { "branch-yes" }, "attributes": {}});
    if let Some(n) = next {
        b["next"] = json!(n);
    }
    b
}
