//! SARIF 2.1.0 output (`workflow-audit FILE --format sarif`), so code-scanning UIs show findings
//! on exported workflow files: the driver lists the whole rule registry, and each result is
//! located by the file and the RFC 6901 JSON pointer of its step in the input document
//! (a `logicalLocations` entry and `properties.jsonPointer`). Each result carries the issue's
//! stable fingerprint as `partialFingerprints["workflowAudit/v1"]`; compared with a baseline
//! ([`sarif_compared`]) each result has a `baselineState` (`new` or `unchanged`) and the fixed
//! issues are added as `absent` results. Suppressed findings (a configuration exception or an
//! `audit-ignore:` step note) are results with `suppressions: [{kind, justification}]`.

use std::collections::HashMap;

use serde_json::{json, Value};

use super::baseline::{BaselineState, ComparedIssue, Comparison};
use super::pointers::StepPointers;
use super::result::AnalysisResult;
use super::rules::{Rule, Severity};
use super::score::SCORING_VERSION;

/// The SARIF version written.
pub const SARIF_VERSION: &str = "2.1.0";
/// The SARIF 2.1.0 schema URI written as `$schema`.
pub const SARIF_SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// The SARIF level of a severity: critical/high are errors, medium warnings, low/info notes.
pub fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// A key as an RFC 6901 pointer token (`~` -> `~0`, `/` -> `~1`); most keys need no change.
pub(crate) fn escape(token: &str) -> std::borrow::Cow<'_, str> {
    if token.contains(['~', '/']) {
        token.replace('~', "~0").replace('/', "~1").into()
    } else {
        token.into()
    }
}

/// A fixed issue (in the baseline, not in the result): an `absent` result at the file.
fn absent(f: &ComparedIssue, uri: &str, index: &HashMap<&str, usize>) -> Value {
    let mut r = json!({
        "ruleId": f.rule_id,
        "level": level(f.severity),
        "message": {"text": if f.message.is_empty() { &f.title } else { &f.message }},
        "locations": [{"physicalLocation": {"artifactLocation": {"uri": uri}}}],
        "partialFingerprints": {FINGERPRINT_KEY: f.fingerprint},
        "baselineState": BaselineState::Absent.as_str(),
        "properties": {
            "severity": f.severity.as_str(),
            "stepId": f.step_id,
            "count": f.count,
            "workflowId": f.workflow_id,
        },
    });
    if let Some(&i) = index.get(f.rule_id.as_str()) {
        r["ruleIndex"] = json!(i);
    }
    r
}

/// The `partialFingerprints` key of the issue fingerprint ([`crate::fingerprint`]).
pub const FINGERPRINT_KEY: &str = "workflowAudit/v1";

/// The SARIF 2.1.0 log of a result. `uri` is the analyzed file as the pipeline names it;
/// `pointers` are the input document's step pointers ([`StepPointers::from_json`] of the bytes
/// analyzed; without them results point at the file).
pub fn sarif(result: &AnalysisResult, uri: &str, pointers: Option<&StepPointers>) -> Value {
    sarif_compared(result, uri, pointers, None)
}

/// [`sarif`] compared with a baseline: each result's `baselineState` is `new` or `unchanged`, and
/// each fixed issue is one more result with `baselineState: "absent"`, located at the file.
pub fn sarif_compared(
    result: &AnalysisResult,
    uri: &str,
    pointers: Option<&StepPointers>,
    comparison: Option<&Comparison>,
) -> Value {
    let rules: Vec<Value> = Rule::ALL
        .iter()
        .map(|r| {
            json!({
                "id": r.id(),
                "name": r.title(),
                "shortDescription": {"text": r.title()},
                "fullDescription": {"text": r.why()},
                "help": {"text": r.recommendation()},
                "defaultConfiguration": {"level": level(r.default_severity())},
                "properties": {
                    "family": r.family().id(),
                    "severity": r.default_severity().as_str(),
                    "needs": r.needs().as_str(),
                    "reads": r.reads(),
                },
            })
        })
        .collect();
    let index: HashMap<&str, usize> = Rule::ALL
        .iter()
        .enumerate()
        .map(|(i, r)| (r.id(), i))
        .collect();
    let none = StepPointers::default();
    let pointers = pointers.unwrap_or(&none);
    let bundle_root = pointers.bundle_root();
    let single_root = pointers.single_root();
    let result_workflow = result.workflow.as_ref().map_or("", |w| w.id.as_str());
    // Accepted findings follow the open ones, each with its `suppressions` entry.
    let mut results: Vec<Value> = result
        .issues
        .iter()
        .chain(&result.suppressed)
        .enumerate()
        .map(|(n, issue)| {
            let wf = match (&issue.workflow_id, &bundle_root) {
                (Some(id), Some(_)) => result.workflows.iter().position(|w| &w.id == id),
                _ => None,
            };
            let workflow_ptr = match (wf, &bundle_root) {
                (Some(i), Some(root)) => format!("{root}/{i}"),
                _ => single_root.to_owned(),
            };
            let locate = |id: &str| {
                pointers
                    .step(wf, id)
                    .map(str::to_owned)
                    // Export steps without ids carry their pointer as id.
                    .or_else(|| id.starts_with('/').then(|| id.to_owned()))
                    .unwrap_or_else(|| workflow_ptr.clone())
            };
            let pointer = issue
                .step_id
                .as_deref()
                .map_or_else(|| workflow_ptr.clone(), locate);
            let workflow_name = || issue.workflow_name.clone().unwrap_or_default();
            let location = |name: String, pointer: String| {
                json!({
                    "physicalLocation": {"artifactLocation": {"uri": uri}},
                    "logicalLocations": [{
                        "name": name,
                        "fullyQualifiedName": pointer,
                        "kind": "object",
                    }],
                })
            };
            // A grouped issue is one result located at each of its steps.
            let locations: Vec<Value> = if issue.steps.is_empty() {
                let name = issue.step_name.clone().unwrap_or_else(workflow_name);
                vec![location(name, pointer.clone())]
            } else {
                issue
                    .steps
                    .iter()
                    .map(|s| location(s.name.clone(), locate(&s.id)))
                    .collect()
            };
            let mut r = json!({
                "ruleId": issue.rule_id,
                "level": level(issue.severity),
                "message": {"text": issue.message},
                "locations": locations,
                "partialFingerprints": {
                    FINGERPRINT_KEY: issue.fingerprint_or_compute(result_workflow),
                },
                "properties": {
                    "severity": issue.severity.as_str(),
                    "jsonPointer": pointer,
                    "stepId": issue.step_id,
                    "count": issue.count,
                    "workflowId": issue.workflow_id,
                    "recommendation": issue.recommendation,
                },
            });
            if let Some(&i) = index.get(&*issue.rule_id) {
                r["ruleIndex"] = json!(i);
            }
            if let Some(sup) = &issue.suppression {
                r["suppressions"] = json!([{
                    "kind": sup.kind.as_str(),
                    "justification": sup.justification,
                }]);
            }
            if !issue.fixes.is_empty() {
                r["properties"]["fixes"] = json!(issue.fixes);
            }
            if let Some(state) = comparison
                .filter(|_| n < result.issues.len())
                .and_then(|c| c.states.get(n))
            {
                r["baselineState"] = json!(state.as_str());
            }
            r
        })
        .collect();
    if let Some(c) = comparison {
        results.extend(c.fixed.iter().map(|f| absent(f, uri, &index)));
    }
    json!({
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [{
            "tool": {"driver": {
                "name": "workflow-audit",
                "version": SCORING_VERSION,
                "rules": rules,
            }},
            "artifacts": [{"location": {"uri": uri}}],
            "results": results,
            "properties": {
                "healthScore": result.health_score,
                "grade": result.grade.as_str(),
                "confidence": result.confidence.as_str(),
                "skippedRules": result.skipped_rules.iter().map(|s| json!({"ruleId": s.rule_id, "reason": s.reason})).collect::<Vec<_>>(),
            },
        }],
    })
}
