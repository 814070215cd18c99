//! Cross-module tests of the analyzer: each rule firing and not firing, input formats and
//! errors, the samples' grades, plan views, structure, and property tests.

mod formats;
mod properties;
mod round2;
mod round3_account;
mod round3_ai_integrations;
mod round3_appointments_consent;
mod rules;
mod samples;

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
