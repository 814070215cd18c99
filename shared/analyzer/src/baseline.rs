//! Baselines: a stable fingerprint per issue, and the comparison of a result with an earlier one
//! (`workflow-audit FILE --baseline OLD.json`): each issue is new or unchanged, and the issues of
//! the earlier result that are gone are fixed.
//!
//! The fingerprint is the hex of a 64-bit FNV-1a hash (written out here: std's hashers are keyed
//! per process) over a version tag, the rule id, the workflow id and the issue's sorted, distinct
//! step ids, each length-prefixed. It does not depend on the message, severity, count or order of
//! the issues, so rewording a message or re-levelling a rule keeps it; a grouped issue that gains
//! or loses a step is a different issue (the old one is fixed, the new one new).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::result::{AnalysisResult, Issue};
use super::rules::Severity;

/// The fingerprint scheme, hashed in (a new scheme would change every fingerprint at once).
pub const FINGERPRINT_VERSION: &str = "workflow-audit/fingerprint/v1";

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// 64-bit FNV-1a: the same value on every run, machine and build.
#[derive(Debug, Clone, Copy)]
struct Fnv1a(u64);

impl Fnv1a {
    fn new() -> Self {
        Fnv1a(FNV_OFFSET)
    }

    fn bytes(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(FNV_PRIME);
        }
    }

    /// A field, length-prefixed so that ("ab", "c") and ("a", "bc") differ.
    fn field(&mut self, s: &str) {
        self.bytes(&(s.len() as u64).to_le_bytes());
        self.bytes(s.as_bytes());
    }
}

/// The stable fingerprint of an issue: 16 lowercase hex digits from the rule id, the workflow id
/// (the single workflow's id for a single input) and the step ids (sorted and deduplicated here,
/// so their order does not matter).
pub fn fingerprint<'a>(
    rule_id: &str,
    workflow_id: &str,
    step_ids: impl IntoIterator<Item = &'a str>,
) -> String {
    let mut ids: Vec<&str> = step_ids.into_iter().collect();
    ids.sort_unstable();
    ids.dedup();
    let mut h = Fnv1a::new();
    h.field(FINGERPRINT_VERSION);
    h.field(rule_id);
    h.field(workflow_id);
    h.bytes(&(ids.len() as u64).to_le_bytes());
    for id in ids {
        h.field(id);
    }
    format!("{:016x}", h.0)
}

impl Issue {
    /// The issue's fingerprint: the stored one, or (results stored before fingerprints) computed
    /// from its rule, `workflow_id` (a single input's workflow id; bundle issues carry their own)
    /// and steps.
    pub fn fingerprint_or_compute(&self, workflow_id: &str) -> String {
        if !self.fingerprint.is_empty() {
            return self.fingerprint.clone();
        }
        fingerprint(
            &self.rule_id,
            self.workflow_id.as_deref().unwrap_or(workflow_id),
            self.step_ids(),
        )
    }
}

/// Whether an issue was in the baseline. `Absent` is a baseline issue that is gone (fixed).
/// The names are SARIF's `baselineState` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BaselineState {
    /// Not in the baseline.
    New,
    /// In the baseline too.
    Unchanged,
    /// In the baseline only: fixed.
    Absent,
}

impl BaselineState {
    /// `new`, `unchanged` or `absent` (SARIF's `baselineState`).
    pub fn as_str(self) -> &'static str {
        match self {
            BaselineState::New => "new",
            BaselineState::Unchanged => "unchanged",
            BaselineState::Absent => "absent",
        }
    }
}

/// An issue as a comparison lists it (new issues from the current result, fixed ones from the
/// baseline).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ComparedIssue {
    /// The stable fingerprint.
    pub fingerprint: String,
    /// Rule id.
    pub rule_id: String,
    /// Severity (after configuration, as reported).
    pub severity: Severity,
    /// The rule's title.
    #[serde(default)]
    pub title: String,
    /// The message.
    #[serde(default)]
    pub message: String,
    /// The workflow concerned (bundle input).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow_id: Option<String>,
    /// That workflow's name (bundle input).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow_name: Option<String>,
    /// The first step concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_id: Option<String>,
    /// Occurrences.
    #[serde(default = "one")]
    pub count: u32,
}

fn one() -> u32 {
    1
}

/// An earlier result's issues, as a baseline: read from a `workflow-audit --format json` output
/// (the whole result or the `--top` view) or taken from a stored [`AnalysisResult`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Baseline {
    /// Its issues, in its order, each with its fingerprint.
    pub issues: Vec<ComparedIssue>,
    /// Its score, when it had one.
    pub health_score: Option<u8>,
}

/// What a stored issue must have to be compared; everything else is optional, so results of
/// older versions (no fingerprint, no `steps`) and the summary view are read too.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredIssue {
    rule_id: String,
    #[serde(default)]
    severity: Option<Severity>,
    #[serde(default)]
    fingerprint: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    workflow_id: Option<String>,
    #[serde(default)]
    workflow_name: Option<String>,
    #[serde(default)]
    step_id: Option<String>,
    #[serde(default)]
    steps: Vec<StoredStep>,
    #[serde(default = "one")]
    count: u32,
}

#[derive(Deserialize)]
struct StoredStep {
    id: String,
}

impl Baseline {
    /// The baseline of a result (e.g. a stored analysis).
    pub fn of(result: &AnalysisResult) -> Baseline {
        let wid = result.workflow.as_ref().map_or("", |w| w.id.as_str());
        Baseline {
            issues: result
                .issues
                .iter()
                .map(|i| compared(i, i.fingerprint_or_compute(wid)))
                .collect(),
            health_score: Some(result.health_score),
        }
    }

    /// Read a baseline from a previous `workflow-audit --format json` output (or the API's
    /// result body): an object with an `issues` array whose items have at least a `ruleId`.
    /// Issues without a `fingerprint` (older results) get one computed from their rule,
    /// workflow and steps.
    pub fn from_json(bytes: &[u8]) -> Result<Baseline, String> {
        let doc: Value = serde_json::from_slice(bytes).map_err(|e| format!("not JSON ({e})"))?;
        let issues = doc
            .get("issues")
            .and_then(Value::as_array)
            .ok_or("not a workflow-audit JSON result (no \"issues\" array)")?;
        let wid = doc
            .pointer("/workflow/id")
            .and_then(Value::as_str)
            .unwrap_or("");
        let mut out = Vec::with_capacity(issues.len());
        for (k, v) in issues.iter().enumerate() {
            let s: StoredIssue = serde_json::from_value(v.clone())
                .map_err(|e| format!("issue {k} is not a workflow-audit issue ({e})"))?;
            let fp = if s.fingerprint.is_empty() {
                let first = s.steps.is_empty().then_some(s.step_id.as_deref()).flatten();
                fingerprint(
                    &s.rule_id,
                    s.workflow_id.as_deref().unwrap_or(wid),
                    first
                        .into_iter()
                        .chain(s.steps.iter().map(|st| st.id.as_str())),
                )
            } else {
                s.fingerprint
            };
            out.push(ComparedIssue {
                fingerprint: fp,
                rule_id: s.rule_id,
                severity: s.severity.unwrap_or(Severity::Info),
                title: s.title,
                message: s.message,
                workflow_id: s.workflow_id,
                workflow_name: s.workflow_name,
                step_id: s.step_id,
                count: s.count,
            });
        }
        Ok(Baseline {
            issues: out,
            health_score: doc
                .get("healthScore")
                .and_then(Value::as_u64)
                .and_then(|s| u8::try_from(s).ok()),
        })
    }
}

fn compared(i: &Issue, fingerprint: String) -> ComparedIssue {
    ComparedIssue {
        fingerprint,
        rule_id: i.rule_id.to_string(),
        severity: i.severity,
        title: i.title.to_string(),
        message: i.message.clone(),
        workflow_id: i.workflow_id.clone(),
        workflow_name: i.workflow_name.clone(),
        step_id: i.step_id.clone(),
        count: i.count,
    }
}

/// A result compared with a baseline. Serializes as `{"new": [...], "unchanged": n, "fixed":
/// [...]}` (plus the score before and the delta when the baseline had a score).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Comparison {
    /// Issues of the current result that the baseline does not have, in the result's order.
    pub new: Vec<ComparedIssue>,
    /// How many issues of the current result the baseline has too.
    pub unchanged: u32,
    /// Issues of the baseline the current result no longer has, in the baseline's order.
    pub fixed: Vec<ComparedIssue>,
    /// The baseline's score.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_score: Option<u8>,
    /// The current score minus the baseline's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score_delta: Option<i16>,
    /// The state of each issue of the current result, index for index (`New` or `Unchanged`).
    #[serde(skip)]
    pub states: Vec<BaselineState>,
}

impl Comparison {
    /// Whether a new issue is at or above `severity` (`--fail-on new:SEVERITY`).
    pub fn new_at_or_above(&self, severity: Severity) -> bool {
        self.new.iter().any(|i| i.severity >= severity)
    }
}

/// Compare a result with a baseline by fingerprint. Issues sharing a fingerprint are matched as
/// many times as both sides have them. Linear in the two results' sizes.
pub fn compare(current: &AnalysisResult, baseline: &Baseline) -> Comparison {
    let mut remaining: HashMap<&str, u32> = HashMap::with_capacity(baseline.issues.len());
    for b in &baseline.issues {
        *remaining.entry(b.fingerprint.as_str()).or_insert(0) += 1;
    }
    let wid = current.workflow.as_ref().map_or("", |w| w.id.as_str());
    let mut new = Vec::new();
    let mut unchanged = 0;
    let mut states = Vec::with_capacity(current.issues.len());
    for issue in &current.issues {
        let fp = issue.fingerprint_or_compute(wid);
        match remaining.get_mut(fp.as_str()) {
            Some(n) if *n > 0 => {
                *n -= 1;
                unchanged += 1;
                states.push(BaselineState::Unchanged);
            }
            _ => {
                states.push(BaselineState::New);
                new.push(compared(issue, fp));
            }
        }
    }
    let mut fixed = Vec::new();
    for b in &baseline.issues {
        if let Some(n) = remaining.get_mut(b.fingerprint.as_str()) {
            if *n > 0 {
                // The current result matched the first ones; the rest are gone.
                *n -= 1;
                fixed.push(b.clone());
            }
        }
    }
    Comparison {
        new,
        unchanged,
        fixed,
        previous_score: baseline.health_score,
        score_delta: baseline
            .health_score
            .map(|s| i16::from(current.health_score) - i16::from(s)),
        states,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_the_published_test_vectors() {
        // From the FNV reference (isthe.com/chongo/tech/comp/fnv): 64-bit FNV-1a.
        for (input, want) in [
            ("", 0xcbf2_9ce4_8422_2325_u64),
            ("a", 0xaf63_dc4c_8601_ec8c),
            ("foobar", 0x8594_4171_f739_67e8),
        ] {
            let mut h = Fnv1a::new();
            h.bytes(input.as_bytes());
            assert_eq!(h.0, want, "{input:?}");
        }
    }

    #[test]
    fn the_fingerprint_is_pinned_and_ignores_step_order_and_repeats() {
        let a = fingerprint("sms-without-opt-out", "wf-1", ["s2", "s1"]);
        assert_eq!(a.len(), 16);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
        // Pinned (also computed independently in Python): the same on every machine and run; a
        // change here breaks every stored baseline.
        assert_eq!(a, "bd74998a65916908");
        assert_eq!(a, fingerprint("sms-without-opt-out", "wf-1", ["s1", "s2"]));
        assert_eq!(
            a,
            fingerprint("sms-without-opt-out", "wf-1", ["s1", "s2", "s1"])
        );
        assert_ne!(a, fingerprint("sms-without-opt-out", "wf-2", ["s1", "s2"]));
        assert_ne!(
            a,
            fingerprint("email-without-unsubscribe", "wf-1", ["s1", "s2"])
        );
        assert_ne!(a, fingerprint("sms-without-opt-out", "wf-1", ["s1"]));
        // Length-prefixed fields: moving a character across a boundary changes it.
        assert_ne!(
            fingerprint("ab", "c", std::iter::empty()),
            fingerprint("a", "bc", std::iter::empty())
        );
        assert_ne!(
            fingerprint("r", "w", ["a", "b"]),
            fingerprint("r", "w", ["ab"])
        );
    }

    fn issue(rule: &'static str, severity: Severity, steps: &[&str]) -> ComparedIssue {
        ComparedIssue {
            fingerprint: fingerprint(rule, "wf", steps.iter().copied()),
            rule_id: rule.into(),
            severity,
            title: String::new(),
            message: String::new(),
            workflow_id: None,
            workflow_name: None,
            step_id: steps.first().map(|s| s.to_string()),
            count: steps.len().max(1) as u32,
        }
    }

    fn result_with(issues: &[ComparedIssue]) -> AnalysisResult {
        let mut r: AnalysisResult = serde_json::from_value(serde_json::json!({
            "workflow": {"id": "wf", "name": "W"},
            "healthScore": 70, "grade": "Fair", "confidence": "high",
            "scoringVersion": "x", "issues": [], "skippedRules": [],
            "summary": {"critical": 0, "high": 0, "medium": 0, "low": 0, "info": 0},
            "stats": {"steps": 1, "branches": 0, "maxDepth": 1, "cycles": 0, "unknownTypes": 0},
            "analysisTimeMs": 0
        }))
        .unwrap();
        for i in issues {
            r.issues.push(Issue {
                rule_id: i.rule_id.clone().into(),
                severity: i.severity,
                title: "t".into(),
                message: "m".into(),
                step_id: i.step_id.clone(),
                step_name: None,
                steps: Vec::new(),
                count: 1,
                workflow_id: None,
                workflow_name: None,
                recommendation: "r".into(),
                // Left empty: computed from the rule, the result's workflow and the step.
                fingerprint: String::new(),
                suppression: None,
                fixes: Vec::new(),
            });
        }
        r
    }

    #[test]
    fn issues_are_new_unchanged_or_fixed_by_fingerprint() {
        let kept = issue("kept", Severity::High, &["a"]);
        let gone = issue("gone", Severity::Critical, &["b"]);
        let twice = issue("twice", Severity::Low, &["c"]);
        let baseline = Baseline {
            issues: vec![kept.clone(), gone.clone(), twice.clone(), twice.clone()],
            health_score: Some(50),
        };
        let added = issue("added", Severity::Medium, &["d"]);
        let now = result_with(&[kept.clone(), added.clone(), twice.clone()]);
        let c = compare(&now, &baseline);
        assert_eq!(
            c.states,
            [
                BaselineState::Unchanged,
                BaselineState::New,
                BaselineState::Unchanged
            ]
        );
        assert_eq!(c.unchanged, 2);
        assert_eq!(c.new.len(), 1);
        assert_eq!(c.new[0].fingerprint, added.fingerprint);
        // One of the two "twice" and the "gone" issue are fixed, in the baseline's order.
        let fixed: Vec<&str> = c.fixed.iter().map(|f| f.rule_id.as_str()).collect();
        assert_eq!(fixed, ["gone", "twice"]);
        assert_eq!(c.score_delta, Some(20));
        assert!(c.new_at_or_above(Severity::Medium));
        assert!(!c.new_at_or_above(Severity::High));

        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(json["unchanged"], 2);
        assert_eq!(json["new"][0]["ruleId"], "added");
        assert_eq!(json["fixed"][0]["severity"], "critical");
        assert!(json.get("states").is_none());

        // Against itself: nothing new, nothing fixed.
        let same = compare(&now, &Baseline::of(&now));
        assert!(same.new.is_empty() && same.fixed.is_empty());
        assert_eq!(same.unchanged, 3);
    }

    #[test]
    fn a_json_baseline_without_fingerprints_is_fingerprinted_like_the_result() {
        let now = result_with(&[issue("kept", Severity::High, &["a"])]);
        let old = serde_json::json!({
            "workflow": {"id": "wf", "name": "W"},
            "healthScore": 90,
            "issues": [
                {"ruleId": "kept", "severity": "high", "stepId": "a"},
                {"ruleId": "gone", "severity": "low", "steps": [{"id": "y", "name": "Y"}, {"id": "x", "name": "X"}]}
            ]
        });
        let b = Baseline::from_json(old.to_string().as_bytes()).unwrap();
        assert_eq!(
            b.issues[1].fingerprint,
            fingerprint("gone", "wf", ["x", "y"])
        );
        let c = compare(&now, &b);
        assert_eq!((c.new.len(), c.unchanged, c.fixed.len()), (0, 1, 1));
        assert!(Baseline::from_json(b"[1]").is_err());
        assert!(Baseline::from_json(b"{\"issues\": [{}]}").is_err());
        assert!(Baseline::from_json(b"not json").is_err());
    }
}
