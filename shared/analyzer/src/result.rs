//! The analysis result (ANALYZER.md section 5, camelCase JSON) and its views (the whole result, or a summary of the top issues).

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use super::rules::Severity;
use super::score::{Confidence, Grade};

/// The analyzer's answer. Serialized as the API's result body; also stored in the history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnalysisResult {
    /// The analyzed workflow (single-workflow input).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow: Option<WorkflowRef>,
    /// One line per workflow (bundle input): its own score from its own findings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub workflows: Vec<WorkflowScore>,
    /// 0..=100.
    pub health_score: u8,
    /// The score's band.
    pub grade: Grade,
    /// How much of the catalogue could run.
    pub confidence: Confidence,
    /// The formula version the score was computed with.
    pub scoring_version: String,
    /// Findings, most severe first, then by workflow, step order and rule id.
    pub issues: Vec<Issue>,
    /// Rules that did not run, with the reason (skipped is never passed).
    pub skipped_rules: Vec<SkippedRule>,
    /// Finding counts by severity.
    pub summary: Summary,
    /// Size and shape of the analyzed graph(s).
    pub stats: Stats,
    /// Filled in by the caller (the analyzer reads no clock).
    pub analysis_time_ms: u64,
    /// Verdicts that rest on a HighLevel platform default the input did not show (e.g. LC
    /// Email's unsubscribe footer), so a reader knows what to check.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assumed_defaults: Vec<AssumedDefault>,
    /// Findings accepted by a configured exception or an `audit-ignore:` step note, each with its
    /// `suppression`: reported, never counted in the score or the summary.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub suppressed: Vec<Issue>,
}

/// Why a finding is accepted (SARIF `suppressions[]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Suppression {
    /// `inSource` (a step note) or `external` (a configuration exception).
    pub kind: SuppressionKind,
    /// The reason given.
    pub justification: String,
}

/// Where a suppression was written (SARIF's kinds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SuppressionKind {
    /// `audit-ignore: <rule-id> <reason>` in the step's builder note.
    InSource,
    /// An exception in the configuration (`.workflow-audit.toml`, account settings).
    External,
}

impl SuppressionKind {
    /// The SARIF spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            SuppressionKind::InSource => "inSource",
            SuppressionKind::External => "external",
        }
    }
}

/// A machine-applicable fix: an RFC 6902 JSON Patch against the document that was analyzed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Fix {
    /// One line: what the patch does.
    pub description: String,
    /// How sure the fix is right for every workflow (`high` applies blindly).
    pub confidence: FixConfidence,
    /// RFC 6902 operations (`add`, `replace`, `remove`, `test`) with RFC 6901 pointers into the
    /// input document.
    pub patch: Vec<serde_json::Value>,
}

/// A fix's confidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FixConfidence {
    /// A guess a person should review.
    Low,
    /// Right for most workflows; review the wording.
    Medium,
    /// Mechanical: applies blindly.
    High,
}

impl FixConfidence {
    /// The JSON spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            FixConfidence::Low => "low",
            FixConfidence::Medium => "medium",
            FixConfidence::High => "high",
        }
    }
}

/// A platform default a verdict rested on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssumedDefault {
    /// The rule whose verdict it decided.
    pub rule_id: String,
    /// What was assumed and how to tell the analyzer otherwise.
    pub assumption: String,
}

/// Which workflow a result is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowRef {
    /// HighLevel's workflow id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// What the workflow is for, as the rules judged it (absent in metadata-only results and
    /// results stored before it was reported).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<Purpose>,
}

/// Whether a workflow is transactional or marketing, and why: the marketing-only rules (postal
/// address, unsubscribe, SMS opt-out, stop on response, frequency) judge marketing workflows only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Purpose {
    /// The verdict.
    pub kind: PurposeKind,
    /// Why, in one sentence naming the trigger or step it rests on.
    pub reason: String,
}

/// See [`Purpose`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PurposeKind {
    /// Answers the contact's own booking, order or request.
    Transactional,
    /// Selling, or messages nobody asked for.
    Marketing,
    /// Messages no contact: team notifications, assignments, pipeline moves.
    Internal,
}

/// A bundle's per-workflow line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowScore {
    /// HighLevel's workflow id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// What the workflow is for, as the rules judged it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<Purpose>,
    /// Score from this workflow's findings only (account findings included when they name it).
    pub health_score: u8,
    /// The score's band.
    pub grade: Grade,
    /// Its finding counts.
    pub summary: Summary,
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Issue {
    // The catalogue's texts are borrowed, not copied, for every finding (an analysis of 10,000
    // steps can report thousands); stored results deserialize into owned strings.
    /// Stable rule id from the catalogue.
    pub rule_id: Cow<'static, str>,
    /// After configuration overrides.
    pub severity: Severity,
    /// The rule's title.
    pub title: Cow<'static, str>,
    /// What is wrong, naming the step.
    pub message: String,
    /// The step concerned, when the finding is about one step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_id: Option<String>,
    /// That step's display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_name: Option<String>,
    /// Every step the finding concerns, in step order (the first is `stepId`): one problem
    /// repeated over a workflow is one issue, not one per step.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<IssueStep>,
    /// How many times the rule fired in this workflow (>= 1).
    #[serde(default = "one")]
    pub count: u32,
    /// The workflow concerned (bundle input only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow_id: Option<String>,
    /// That workflow's name (bundle input only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow_name: Option<String>,
    /// How to fix it.
    pub recommendation: Cow<'static, str>,
    /// Stable across runs, machines and rewordings: the hex FNV-1a hash of the rule id, the
    /// workflow id and the sorted step ids ([`crate::fingerprint`]); what a baseline matches
    /// issues by. Empty in results stored before fingerprints (computed when compared).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub fingerprint: String,
    /// Why the finding is accepted (issues under `suppressed` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppression: Option<Suppression>,
    /// Machine-applicable fixes, when the caller asked for them (`crate::attach_fixes`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fixes: Vec<Fix>,
}

fn one() -> u32 {
    1
}

/// A step an issue concerns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssueStep {
    /// Step id.
    pub id: String,
    /// Its display name.
    pub name: String,
}

impl Issue {
    /// The ids of every step the issue concerns (results stored before grouping name one).
    pub fn step_ids(&self) -> impl Iterator<Item = &str> {
        let first = self
            .steps
            .is_empty()
            .then_some(self.step_id.as_deref())
            .flatten();
        first
            .into_iter()
            .chain(self.steps.iter().map(|s| s.id.as_str()))
    }
}

/// A rule that did not run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SkippedRule {
    /// Stable rule id.
    pub rule_id: String,
    /// Why it could not run.
    pub reason: String,
}

/// Finding counts by severity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Critical findings.
    pub critical: u32,
    /// High findings.
    pub high: u32,
    /// Medium findings.
    pub medium: u32,
    /// Low findings.
    pub low: u32,
    /// Informational findings.
    pub info: u32,
}

impl Summary {
    /// Count one finding.
    pub fn add(&mut self, s: Severity) {
        match s {
            Severity::Critical => self.critical += 1,
            Severity::High => self.high += 1,
            Severity::Medium => self.medium += 1,
            Severity::Low => self.low += 1,
            Severity::Info => self.info += 1,
        }
    }

    /// Total findings.
    pub fn total(&self) -> u32 {
        self.critical + self.high + self.medium + self.low + self.info
    }
}

/// Size and shape of what was analyzed (summed over a bundle; `maxDepth` is the maximum).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    /// Action steps (branch and path nodes not counted).
    pub steps: u32,
    /// If/else branches plus multi-path paths.
    pub branches: u32,
    /// Longest shortest path from the start, in steps.
    pub max_depth: u32,
    /// Loops (strongly connected components with a cycle).
    pub cycles: u32,
    /// Steps of a type the analyzer does not know.
    pub unknown_types: u32,
}

/// How much of a result a reader is shown. Who sees what is the caller's business: the backend
/// maps its billing plans onto it, the CLI takes it from a flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// The whole result.
    Full,
    /// Score, grade, confidence, counts and the `n` most severe issues, without recommendations.
    Top(usize),
}

/// An issue in the summary view: no recommendation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SummaryIssue<'a> {
    /// Stable rule id.
    pub rule_id: &'a str,
    /// Severity.
    pub severity: Severity,
    /// Title.
    pub title: &'a str,
    /// Message naming the step.
    pub message: &'a str,
    /// The step concerned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step_id: Option<&'a str>,
    /// Its name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step_name: Option<&'a str>,
    /// Every step the issue was found on, when there are several (as in the full view).
    #[serde(skip_serializing_if = "<[IssueStep]>::is_empty")]
    pub steps: &'a [IssueStep],
    /// How many times it was found (as in the full view).
    pub count: u32,
    /// The workflow concerned (bundles).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workflow_id: Option<&'a str>,
    /// The issue's stable fingerprint (a summary view can be a baseline too).
    #[serde(skip_serializing_if = "str::is_empty")]
    pub fingerprint: &'a str,
}

/// A result as a [`Detail`] shows it. Serializes to the API body: the summary view is a strict
/// subset of the full view plus `truncated`, so clients need one parser.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ResultView<'a> {
    /// The summary view.
    Summary(SummaryView<'a>),
    /// The whole result.
    Full(&'a AnalysisResult),
}

/// The summary view.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SummaryView<'a> {
    /// Whether issues were left out (always: recommendations are).
    pub truncated: bool,
    /// The analyzed workflow.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workflow: Option<&'a WorkflowRef>,
    /// Score.
    pub health_score: u8,
    /// Grade.
    pub grade: Grade,
    /// Confidence.
    pub confidence: Confidence,
    /// Formula version.
    pub scoring_version: &'a str,
    /// Counts of all findings.
    pub summary: Summary,
    /// The top issues, most severe first.
    pub issues: Vec<SummaryIssue<'a>>,
    /// Caller-filled timing.
    pub analysis_time_ms: u64,
}

impl AnalysisResult {
    /// The result as `detail` shows it.
    pub fn view(&self, detail: Detail) -> ResultView<'_> {
        match detail {
            Detail::Full => ResultView::Full(self),
            Detail::Top(n) => ResultView::Summary(SummaryView {
                truncated: true,
                workflow: self.workflow.as_ref(),
                health_score: self.health_score,
                grade: self.grade,
                confidence: self.confidence,
                scoring_version: &self.scoring_version,
                summary: self.summary,
                issues: self
                    .issues
                    .iter()
                    .take(n)
                    .map(|i| SummaryIssue {
                        rule_id: &i.rule_id,
                        severity: i.severity,
                        title: &i.title,
                        message: &i.message,
                        step_id: i.step_id.as_deref(),
                        step_name: i.step_name.as_deref(),
                        steps: &i.steps,
                        count: i.count,
                        workflow_id: i.workflow_id.as_deref(),
                        fingerprint: &i.fingerprint,
                    })
                    .collect(),
                analysis_time_ms: self.analysis_time_ms,
            }),
        }
    }

    /// The most severe finding, for `--fail-on` and alerts.
    pub fn worst_severity(&self) -> Option<Severity> {
        self.issues.iter().map(|i| i.severity).max()
    }
}
