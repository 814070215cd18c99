//! SARIF 2.1.0 output (`workflow-audit FILE --format sarif`), so code-scanning UIs show findings
//! on exported workflow files: the driver lists the whole rule registry, and each result is
//! located by the file and the RFC 6901 JSON pointer of its step in the input document
//! (a `logicalLocations` entry and `properties.jsonPointer`). Each result carries the issue's
//! stable fingerprint as `partialFingerprints["workflowAudit/v1"]`; compared with a baseline
//! ([`sarif_compared`]) each result has a `baselineState` (`new` or `unchanged`) and the fixed
//! issues are added as `absent` results. Suppressed findings (a configuration exception or an
//! `audit-ignore:` step note) are results with `suppressions: [{kind, justification}]`.

use std::collections::HashMap;

use serde::Serialize;

use super::baseline::{BaselineState, ComparedIssue, Comparison};
use super::pointers::StepPointers;
use super::result::{AnalysisResult, Fix, Issue};
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

/// The `partialFingerprints` key of the issue fingerprint ([`crate::fingerprint`]).
pub const FINGERPRINT_KEY: &str = "workflowAudit/v1";

/// A SARIF 2.1.0 log, written by serializing it (`serde_json::to_string_pretty(&log)`). Typed and
/// borrowing the result: a log of a 10,000-step workflow has thousands of locations, and building
/// them as a `serde_json::Value` tree (a B-tree per object), printing and freeing it cost the CLI
/// more than the analysis.
#[derive(Debug, Serialize)]
pub struct SarifLog<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: [Run<'a>; 1],
}

#[derive(Debug, Serialize)]
struct Run<'a> {
    tool: Tool,
    artifacts: [Artifact<'a>; 1],
    results: Vec<SarifResult<'a>>,
    properties: RunProperties<'a>,
}

#[derive(Debug, Serialize)]
struct Tool {
    driver: Driver,
}

#[derive(Debug, Serialize)]
struct Driver {
    name: &'static str,
    version: &'static str,
    rules: Vec<RuleDescriptor>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct RuleDescriptor {
    id: &'static str,
    name: &'static str,
    short_description: Text<'static>,
    full_description: Text<'static>,
    help: Text<'static>,
    default_configuration: Configuration,
    properties: RuleProperties,
}

#[derive(Debug, Serialize)]
struct Configuration {
    level: &'static str,
}

#[derive(Debug, Serialize)]
struct RuleProperties {
    family: &'static str,
    severity: &'static str,
    needs: &'static str,
    reads: &'static str,
}

#[derive(Debug, Serialize)]
struct Text<'a> {
    text: &'a str,
}

#[derive(Debug, Serialize)]
struct Artifact<'a> {
    location: ArtifactLocation<'a>,
}

#[derive(Debug, Serialize)]
struct ArtifactLocation<'a> {
    uri: &'a str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct RunProperties<'a> {
    health_score: u8,
    grade: &'static str,
    confidence: &'static str,
    skipped_rules: Vec<Skipped<'a>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Skipped<'a> {
    rule_id: &'a str,
    reason: &'a str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult<'a> {
    rule_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    rule_index: Option<usize>,
    level: &'static str,
    message: Text<'a>,
    locations: Vec<Location<'a>>,
    partial_fingerprints: Fingerprints,
    #[serde(skip_serializing_if = "Option::is_none")]
    suppressions: Option<[SarifSuppression<'a>; 1]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    baseline_state: Option<&'static str>,
    properties: ResultProperties<'a>,
}

#[derive(Debug, Serialize)]
struct Fingerprints {
    #[serde(rename = "workflowAudit/v1")]
    workflow_audit_v1: String,
}

#[derive(Debug, Serialize)]
struct SarifSuppression<'a> {
    kind: &'static str,
    justification: &'a str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Location<'a> {
    physical_location: PhysicalLocation<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    logical_locations: Option<[LogicalLocation<'a>; 1]>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation<'a> {
    artifact_location: ArtifactLocation<'a>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct LogicalLocation<'a> {
    name: &'a str,
    fully_qualified_name: String,
    kind: &'static str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ResultProperties<'a> {
    severity: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    json_pointer: Option<String>,
    step_id: Option<&'a str>,
    count: u32,
    workflow_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    recommendation: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fixes: Option<&'a [Fix]>,
}

/// A fixed issue (in the baseline, not in the result): an `absent` result at the file.
fn absent<'a>(f: &'a ComparedIssue, uri: &'a str, index: &HashMap<&str, usize>) -> SarifResult<'a> {
    SarifResult {
        rule_id: &f.rule_id,
        rule_index: index.get(f.rule_id.as_str()).copied(),
        level: level(f.severity),
        message: Text {
            text: if f.message.is_empty() {
                &f.title
            } else {
                &f.message
            },
        },
        locations: vec![Location {
            physical_location: PhysicalLocation {
                artifact_location: ArtifactLocation { uri },
            },
            logical_locations: None,
        }],
        partial_fingerprints: Fingerprints {
            workflow_audit_v1: f.fingerprint.clone(),
        },
        suppressions: None,
        baseline_state: Some(BaselineState::Absent.as_str()),
        properties: ResultProperties {
            severity: f.severity.as_str(),
            json_pointer: None,
            step_id: f.step_id.as_deref(),
            count: f.count,
            workflow_id: f.workflow_id.as_deref(),
            recommendation: None,
            fixes: None,
        },
    }
}

/// The SARIF 2.1.0 log of a result. `uri` is the analyzed file as the pipeline names it;
/// `pointers` are the input document's step pointers ([`StepPointers::from_json`] of the bytes
/// analyzed; without them results point at the file).
pub fn sarif<'a>(
    result: &'a AnalysisResult,
    uri: &'a str,
    pointers: Option<&StepPointers>,
) -> SarifLog<'a> {
    sarif_compared(result, uri, pointers, None)
}

/// [`sarif`] compared with a baseline: each result's `baselineState` is `new` or `unchanged`, and
/// each fixed issue is one more result with `baselineState: "absent"`, located at the file.
pub fn sarif_compared<'a>(
    result: &'a AnalysisResult,
    uri: &'a str,
    pointers: Option<&StepPointers>,
    comparison: Option<&'a Comparison>,
) -> SarifLog<'a> {
    let rules: Vec<RuleDescriptor> = Rule::ALL
        .iter()
        .map(|r| RuleDescriptor {
            id: r.id(),
            name: r.title(),
            short_description: Text { text: r.title() },
            full_description: Text { text: r.why() },
            help: Text {
                text: r.recommendation(),
            },
            default_configuration: Configuration {
                level: level(r.default_severity()),
            },
            properties: RuleProperties {
                family: r.family().id(),
                severity: r.default_severity().as_str(),
                needs: r.needs().as_str(),
                reads: r.reads(),
            },
        })
        .collect();
    let index: HashMap<&str, usize> = Rule::ALL
        .iter()
        .enumerate()
        .map(|(i, r)| (r.id(), i))
        .collect();
    let none = StepPointers::default();
    let pointers = pointers.unwrap_or(&none);
    let result_workflow = result.workflow.as_ref().map_or("", |w| w.id.as_str());
    // Accepted findings follow the open ones, each with its `suppressions` entry.
    let mut results: Vec<SarifResult<'a>> = result
        .issues
        .iter()
        .chain(&result.suppressed)
        .enumerate()
        .map(|(n, issue)| {
            let state = comparison
                .filter(|_| n < result.issues.len())
                .and_then(|c| c.states.get(n))
                .map(|s| s.as_str());
            issue_result(issue, result, uri, pointers, &index, result_workflow, state)
        })
        .collect();
    if let Some(c) = comparison {
        results.extend(c.fixed.iter().map(|f| absent(f, uri, &index)));
    }
    SarifLog {
        schema: SARIF_SCHEMA,
        version: SARIF_VERSION,
        runs: [Run {
            tool: Tool {
                driver: Driver {
                    name: "workflow-audit",
                    version: SCORING_VERSION,
                    rules,
                },
            },
            artifacts: [Artifact {
                location: ArtifactLocation { uri },
            }],
            results,
            properties: RunProperties {
                health_score: result.health_score,
                grade: result.grade.as_str(),
                confidence: result.confidence.as_str(),
                skipped_rules: result
                    .skipped_rules
                    .iter()
                    .map(|s| Skipped {
                        rule_id: &s.rule_id,
                        reason: &s.reason,
                    })
                    .collect(),
            },
        }],
    }
}

/// One issue as a result: located at each of its steps (a grouped issue) or at its one place.
fn issue_result<'a>(
    issue: &'a Issue,
    result: &'a AnalysisResult,
    uri: &'a str,
    pointers: &StepPointers,
    index: &HashMap<&str, usize>,
    result_workflow: &str,
    baseline_state: Option<&'static str>,
) -> SarifResult<'a> {
    let bundle_root = pointers.bundle_root();
    let wf = match (&issue.workflow_id, &bundle_root) {
        (Some(id), Some(_)) => result.workflows.iter().position(|w| &w.id == id),
        _ => None,
    };
    let workflow_ptr = match (wf, &bundle_root) {
        (Some(i), Some(root)) => format!("{root}/{i}"),
        _ => pointers.single_root().to_owned(),
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
    let location = |name: &'a str, pointer: String| Location {
        physical_location: PhysicalLocation {
            artifact_location: ArtifactLocation { uri },
        },
        logical_locations: Some([LogicalLocation {
            name,
            fully_qualified_name: pointer,
            kind: "object",
        }]),
    };
    let locations: Vec<Location<'a>> = if issue.steps.is_empty() {
        let name = issue
            .step_name
            .as_deref()
            .or(issue.workflow_name.as_deref())
            .unwrap_or("");
        vec![location(name, pointer.clone())]
    } else {
        issue
            .steps
            .iter()
            .map(|s| location(&s.name, locate(&s.id)))
            .collect()
    };
    SarifResult {
        rule_id: &issue.rule_id,
        rule_index: index.get(&*issue.rule_id).copied(),
        level: level(issue.severity),
        message: Text {
            text: &issue.message,
        },
        locations,
        partial_fingerprints: Fingerprints {
            workflow_audit_v1: issue.fingerprint_or_compute(result_workflow),
        },
        suppressions: issue.suppression.as_ref().map(|sup| {
            [SarifSuppression {
                kind: sup.kind.as_str(),
                justification: &sup.justification,
            }]
        }),
        baseline_state,
        properties: ResultProperties {
            severity: issue.severity.as_str(),
            json_pointer: Some(pointer),
            step_id: issue.step_id.as_deref(),
            count: issue.count,
            workflow_id: issue.workflow_id.as_deref(),
            recommendation: Some(&issue.recommendation),
            fixes: (!issue.fixes.is_empty()).then_some(issue.fixes.as_slice()),
        },
    }
}
