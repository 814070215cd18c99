//! The workflow analyzer: bytes in, typed result out. Parses HighLevel workflows (native builder
//! JSON, the simple export, account bundles) into one graph model, runs the rule catalogue,
//! scores the result and lays the workflow out for React Flow. Pure: no I/O, no clock reads
//! (the time is an argument), deterministic output.
//!
//! ```
//! use workflow_analyzer::{analyze, AnalyzeOptions, Detail};
//! let body = br#"{"workflow": {"name": "Welcome", "workflowData": {"templates": [
//!     {"id": "a", "type": "sms", "name": "Hello", "attributes": {"body": "Hi! Reply STOP to opt out"}}
//! ]}}, "triggers": [{"type": "form_submission", "conditions": [{"field": "formId", "value": "f1"}]}]}"#;
//! let result = analyze(body, &AnalyzeOptions::at(1_795_392_000)).unwrap();
//! assert!(result.health_score >= 90);
//! let _json = serde_json::to_value(result.view(Detail::Top(3))).unwrap();
//! ```

mod attributes;
mod baseline;
mod config;
mod error;
mod fix;
mod graph;
mod model;
mod parse;
mod pointers;
mod registry;
mod report;
mod result;
mod rules;
mod sarif;
mod score;
mod structure;

#[cfg(test)]
mod tests;

pub use baseline::{
    compare, fingerprint, Baseline, BaselineState, ComparedIssue, Comparison, FINGERPRINT_VERSION,
};
pub use config::{AnalyzeOptions, Exception, RuleConfig, RuleOptions, CONFIG_KEYS};
pub use error::{InputError, Limit};
pub use fix::{
    apply_fixes, apply_patch, attach_fixes, offers_fixes, PatchError, GREETING_FALLBACK,
    OPT_OUT_TEXT,
};
pub use graph::EdgeKind;
pub use model::{
    is_known_kind, is_outbound_kind, AccountLists, Attributes, Bundle, Condition, CustomFieldType,
    DomainAuth, InlineIgnore, Input, Json, Next, PhoneNumber, Role, Settings, SourceFormat, Step,
    Trigger, Workflow, WorkflowMeta, KNOWN_KINDS, OUTBOUND_KINDS,
};
pub use parse::{parse, parse_value};
pub use pointers::StepPointers;
pub use registry::{registry, rules_markdown, rules_text, RuleInfo, RULES_MD_COMMAND};
pub use report::{escape_html, html_report, html_report_view, MAX_GRAPH_NODES};
pub use result::{
    AnalysisResult, AssumedDefault, Detail, Fix, FixConfidence, Issue, IssueStep, Purpose,
    PurposeKind, ResultView, SkippedRule, Stats, Summary, SummaryIssue, SummaryView, Suppression,
    SuppressionKind, WorkflowRef, WorkflowScore,
};
pub use rules::{Family, Needs, Rule, Severity};
pub use sarif::{sarif, sarif_compared, SarifLog, FINGERPRINT_KEY, SARIF_SCHEMA, SARIF_VERSION};
pub use score::{health_score, Confidence, Grade, CRITICAL_CAP, HIGH_CAP, SCORING_VERSION};
pub use structure::{Structure, StructureEdge, StructureNode};

use graph::Graph;
use rules::{Ctx, Finding};

/// Largest accepted input: 5 MiB, under Lambda's 6 MB synchronous payload limit and enough for
/// [`MAX_STEPS`] realistic steps.
pub const MAX_INPUT_BYTES: usize = 5 * 1024 * 1024;
/// Most steps accepted in one input (summed over a bundle's workflows). HighLevel's builder
/// becomes unusable long before this; the limit bounds work per request.
pub const MAX_STEPS: usize = 20_000;
/// Most workflows accepted in one bundle.
pub const MAX_WORKFLOWS: usize = 1_000;
/// Most triggers of one workflow (real workflows have a handful).
pub const MAX_TRIGGERS: usize = 100;
/// Most conditions (filters) of one trigger.
pub const MAX_CONDITIONS: usize = 50;
/// Most values one trigger condition lists (tags, forms, pipeline stages).
pub const MAX_CONDITION_VALUES: usize = 1_000;
/// Most paths from one step: if/else branches or multi-path transitions.
pub const MAX_PATHS: usize = 100;
/// Unknown step types above this share of action steps lower confidence to medium.
const UNKNOWN_SHARE_FOR_MEDIUM: f64 = 0.10;

/// Parse and analyze a request body (or a file). The errors are the only ones the HTTP layer
/// maps (400 for not JSON / not a workflow, 413 for too large); broken workflows are findings.
pub fn analyze(input: &[u8], opts: &AnalyzeOptions) -> Result<AnalysisResult, InputError> {
    let parsed = parse(input)?;
    Ok(analyze_input(&parsed, opts))
}

/// Analyze an already-parsed input. Never fails and never panics, whatever the graph looks like.
pub fn analyze_input(input: &Input, opts: &AnalyzeOptions) -> AnalysisResult {
    let workflows = input.workflows();
    let (account, is_bundle) = match input {
        Input::Bundle(b) => (b.account.any().then_some(&b.account), true),
        Input::Single(_) => (None, false),
    };
    let several = is_bundle && workflows.len() >= 2;
    let graphs: Vec<Graph<'_>> = workflows.iter().map(Graph::build).collect();
    let mut findings = Vec::new();
    let mut assumed: Vec<(Rule, &'static str)> = Vec::new();
    let mut purposes = Vec::with_capacity(workflows.len());
    for (index, (w, g)) in workflows.iter().zip(&graphs).enumerate() {
        let ctx = Ctx::new(w, g, opts.now_unix, account, index).with_options(opts.rules.options);
        rules::run_workflow(&ctx, &mut findings);
        purposes.push(ctx.purpose());
        for a in ctx.assumptions() {
            if !assumed.contains(&a) {
                assumed.push(a);
            }
        }
    }
    rules::run_account(workflows, &graphs, account, several, &mut findings);

    let any_triggers = workflows.iter().any(|w| w.triggers.is_some());
    let skipped = skipped_rules(opts, |rule| {
        match rule.needs() {
        Needs::Triggers if !any_triggers => Some(
            "the input has no triggers; send them beside the workflow as {\"workflow\": ..., \"triggers\": [...]}"
                .to_owned(),
        ),
        Needs::SeveralWorkflows if !several => {
            Some("needs several workflows: send an account bundle".to_owned())
        }
        Needs::PhoneNumbers if account.and_then(|a| a.phone_numbers.as_ref()).is_none() => Some(
            "needs the account's phone numbers: send an account bundle with a `phoneNumbers` list"
                .to_owned(),
        ),
        Needs::EmailDomains if account.and_then(|a| a.email_domains.as_ref()).is_none() => Some(
            "needs the account's sending domains: send an account bundle with an `emailDomains` list (spf, dkim, dmarc)"
                .to_owned(),
        ),
        Needs::Users if account.and_then(|a| a.users.as_ref()).is_none() => Some(
            "needs the account's users: send an account bundle with a `users` list".to_owned(),
        ),
        Needs::CustomFieldTypes
            if account.and_then(|a| a.custom_field_types.as_ref()).is_none() =>
        {
            Some(
                "needs the account's custom fields with their types: send an account bundle with a `customFields` list whose entries have a `dataType`"
                    .to_owned(),
            )
        }
        Needs::AccountLists if account.is_none() => Some(
            "needs the account's lists (users, calendars, pipelines, forms, custom fields, tags): send an account bundle"
                .to_owned(),
        ),
        _ => None,
    }
    });

    let mut stats = Stats::default();
    for g in &graphs {
        stats.steps += (0..g.len())
            .filter(|&i| !g.roles[i].is_structural())
            .count() as u32;
        stats.branches += g.branch_count() as u32;
        stats.max_depth = stats.max_depth.max(g.max_depth());
        stats.cycles += g.cycles.len() as u32;
    }
    stats.unknown_types = findings
        .iter()
        .filter(|f| f.rule == Rule::UnknownStepType)
        .count() as u32;

    let confidence = if workflows.iter().any(|w| w.triggers.is_none())
        || (is_bundle && account.is_none())
        || (stats.unknown_types >= 2
            && f64::from(stats.unknown_types) > f64::from(stats.steps) * UNKNOWN_SHARE_FOR_MEDIUM)
    {
        Confidence::Medium
    } else {
        Confidence::High
    };

    let workflow = match input {
        Input::Single(w) => Some(WorkflowRef {
            id: w.id.clone(),
            name: w.name.clone(),
            purpose: purposes.first().cloned(),
        }),
        Input::Bundle(_) => None,
    };
    let mut result = finish(
        workflows, is_bundle, findings, skipped, stats, confidence, workflow, opts,
    );
    for (line, purpose) in result.workflows.iter_mut().zip(purposes) {
        line.purpose = Some(purpose);
    }
    result.assumed_defaults = assumed
        .into_iter()
        .filter(|(rule, _)| opts.rules.disabled_reason(*rule).is_none())
        .map(|(rule, what)| AssumedDefault {
            rule_id: rule.id().to_owned(),
            assumption: what.to_owned(),
        })
        .collect();
    result
}

/// The metadata-only analysis, for a workflow whose steps we do not have (HighLevel's public API
/// returns only metadata). Confidence is low and every other rule is listed as skipped.
pub fn metadata(meta: &WorkflowMeta, opts: &AnalyzeOptions) -> AnalysisResult {
    let w = meta.to_workflow();
    let g = Graph::build(&w);
    let ctx = Ctx::new(&w, &g, opts.now_unix, None, 0).with_options(opts.rules.options);
    let mut findings = Vec::new();
    rules::run_metadata(&ctx, &mut findings);
    let skipped = skipped_rules(opts, |rule| {
        (rule.needs() != Needs::Metadata).then(|| {
            "only the workflow's metadata is available; send the definition for a full analysis"
                .to_owned()
        })
    });
    let workflow = Some(WorkflowRef {
        id: w.id.clone(),
        name: w.name.clone(),
        purpose: None,
    });
    finish(
        std::slice::from_ref(&w),
        false,
        findings,
        skipped,
        Stats::default(),
        Confidence::Low,
        workflow,
        opts,
    )
}

/// Most steps an issue lists by name in its message.
const NAMED_IN_MESSAGE: usize = 3;
/// Longest workflow name an issue repeats (in characters); the whole name is in `workflows[]`.
const MAX_ISSUE_WORKFLOW_NAME: usize = 200;

/// One issue per (workflow, rule, severity), listing every step it concerns, from findings
/// sorted by that key then step. Linear: each finding is visited once, and the workflow's name is
/// copied once per issue, bounded in length.
fn group(
    findings: Vec<(Finding, Option<Suppression>)>,
    workflows: &[Workflow],
    is_bundle: bool,
) -> Vec<Issue> {
    let mut issues: Vec<Issue> = Vec::new();
    let mut last: Option<(usize, Rule, Severity)> = None;
    for (f, suppression) in findings {
        let w = workflows.get(f.workflow);
        let step = f.step.and_then(|s| w.and_then(|w| w.steps.get(s)));
        let key = (f.workflow, f.rule, f.severity);
        let step_ref = step.map(|s| IssueStep {
            id: s.id.to_string(),
            name: s.label().to_owned(),
        });
        if last == Some(key) {
            if let Some(issue) = issues.last_mut() {
                issue.count += 1;
                if issue.message.is_empty() {
                    // Past a rule's message budget (rules::Ctx::emit) occurrences carry none.
                    issue.message = f.message;
                }
                if let Some(r) = step_ref {
                    if issue.steps.last().map(|l| &l.id) != Some(&r.id) {
                        issue.steps.push(r);
                    }
                }
                continue;
            }
        }
        last = Some(key);
        issues.push(Issue {
            rule_id: f.rule.id().into(),
            severity: f.severity,
            title: f.rule.title().into(),
            message: f.message,
            step_id: step_ref.as_ref().map(|s| s.id.clone()),
            step_name: step_ref.as_ref().map(|s| s.name.clone()),
            steps: step_ref.into_iter().collect(),
            count: 1,
            workflow_id: if is_bundle {
                w.map(|w| w.id.clone())
            } else {
                None
            },
            workflow_name: if is_bundle {
                w.map(|w| w.name.chars().take(MAX_ISSUE_WORKFLOW_NAME).collect())
            } else {
                None
            },
            recommendation: f.rule.recommendation().into(),
            fingerprint: String::new(),
            suppression,
            fixes: Vec::new(),
        });
    }
    for issue in &mut issues {
        if issue.step_id.is_none() {
            // A workflow-level occurrence came first; the issue still points at its first step.
            if let Some(first) = issue.steps.first() {
                issue.step_id = Some(first.id.clone());
                issue.step_name = Some(first.name.clone());
            }
        }
        if issue.count > 1 {
            issue.message.push_str(&also_in(issue));
        }
        if issue.steps.len() <= 1 {
            // One step: `stepId` says it all; the list is for groups.
            issue.steps.clear();
        }
        // A single input's issues carry no workflow id; its workflow's id goes in all the same.
        let workflow_id = match (&issue.workflow_id, workflows) {
            (Some(id), _) => id.as_str(),
            (None, [only]) if !is_bundle => only.id.as_str(),
            _ => "",
        };
        issue.fingerprint = fingerprint(&issue.rule_id, workflow_id, issue.step_ids());
    }
    issues.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(a.workflow_id.cmp(&b.workflow_id))
            .then(b.count.cmp(&a.count))
            .then(a.rule_id.cmp(&b.rule_id))
    });
    issues
}

/// " The same in N more places: "A", "B", "C" and K others." for a grouped issue.
fn also_in(issue: &Issue) -> String {
    let more = issue.count - 1;
    let named: Vec<String> = issue
        .steps
        .iter()
        .skip(1)
        .take(NAMED_IN_MESSAGE)
        .map(|s| rules::quoted(&s.name).to_string())
        .collect();
    let places = if more == 1 { "place" } else { "places" };
    if named.is_empty() {
        return format!(" The same in {more} more {places}.");
    }
    let rest = (more as usize).saturating_sub(named.len());
    let tail = match rest {
        0 => String::new(),
        1 => " and 1 other".to_owned(),
        n => format!(" and {n} others"),
    };
    format!(
        " The same in {more} more {places}: {}{tail}.",
        named.join(", ")
    )
}

/// The React Flow structure of one workflow of the input (the first when `workflow_id` is
/// `None`), with each node carrying its findings.
pub fn structure(
    input: &[u8],
    workflow_id: Option<&str>,
    opts: &AnalyzeOptions,
) -> Result<Structure, InputError> {
    let parsed = parse(input)?;
    let result = analyze_input(&parsed, opts);
    let workflows = parsed.workflows();
    let found = match workflow_id {
        None => workflows.first(),
        // A single workflow sent without its id still answers for the id it was stored under.
        Some(id) => workflows.iter().find(|w| w.id == id).or(match workflows {
            [only] if only.id.is_empty() => Some(only),
            _ => None,
        }),
    };
    let w = found.ok_or_else(|| {
        InputError::not_workflow(
            "",
            match workflow_id {
                Some(id) => format!("no workflow with id \"{id}\" in the input"),
                None => "the bundle has no workflows".to_owned(),
            },
        )
    })?;
    Ok(structure_of(w, &result))
}

/// The React Flow structure of a parsed workflow, decorated with the issues of `result` that
/// concern it (matched by workflow id in a bundle result, by step id).
pub fn structure_of(workflow: &Workflow, result: &AnalysisResult) -> Structure {
    structure::layout(workflow, result)
}

fn skipped_rules(
    opts: &AnalyzeOptions,
    unmet: impl Fn(Rule) -> Option<String>,
) -> Vec<SkippedRule> {
    Rule::ALL
        .iter()
        .filter_map(|&rule| {
            let reason = opts.rules.disabled_reason(rule).or_else(|| unmet(rule))?;
            Some(SkippedRule {
                rule_id: rule.id().to_owned(),
                reason,
            })
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn finish(
    workflows: &[Workflow],
    is_bundle: bool,
    mut findings: Vec<Finding>,
    skipped: Vec<SkippedRule>,
    stats: Stats,
    confidence: Confidence,
    workflow: Option<WorkflowRef>,
    opts: &AnalyzeOptions,
) -> AnalysisResult {
    findings.retain(|f| !skipped.iter().any(|s| s.rule_id == f.rule.id()));
    for f in &mut findings {
        f.severity = opts.rules.severity_for(f.rule, f.severity);
    }
    // Within one (workflow, rule, severity), occurrences in step order: the group's first.
    findings.sort_by(|a, b| {
        a.workflow
            .cmp(&b.workflow)
            .then(a.rule.id().cmp(b.rule.id()))
            .then(b.severity.cmp(&a.severity))
            .then(
                a.step
                    .map_or(0, |s| s + 1)
                    .cmp(&b.step.map_or(0, |s| s + 1)),
            )
            .then_with(|| a.message.cmp(&b.message))
    });

    // Accepted findings (a configured exception, or `audit-ignore:` in the step's note) are
    // grouped apart: reported with their reason, never counted.
    let exceptions = opts.rules.exceptions();
    let (kept, accepted): (Vec<_>, Vec<_>) = findings
        .into_iter()
        .map(|f| {
            let s = suppression_of(&f, workflows, &exceptions);
            (f, s)
        })
        .partition(|(_, s)| s.is_none());
    let issues = group(kept, workflows, is_bundle);
    let suppressed = group(accepted, workflows, is_bundle);
    let mut summary = Summary::default();
    for i in &issues {
        summary.add(i.severity);
    }
    let health = health_score(issues.iter().map(|i| (i.severity, i.count)));

    let per_workflow = if is_bundle {
        workflows
            .iter()
            .map(|w| {
                let mine = issues
                    .iter()
                    .filter(|i| i.workflow_id.as_deref() == Some(w.id.as_str()));
                let mut summary = Summary::default();
                for i in mine.clone() {
                    summary.add(i.severity);
                }
                let score = health_score(mine.map(|i| (i.severity, i.count)));
                WorkflowScore {
                    id: w.id.clone(),
                    name: w.name.clone(),
                    purpose: None,
                    health_score: score,
                    grade: Grade::of(score),
                    summary,
                }
            })
            .collect()
    } else {
        Vec::new()
    };

    AnalysisResult {
        workflow,
        workflows: per_workflow,
        health_score: health,
        grade: Grade::of(health),
        confidence,
        scoring_version: SCORING_VERSION.to_owned(),
        issues,
        skipped_rules: skipped,
        summary,
        stats,
        analysis_time_ms: 0,
        assumed_defaults: Vec::new(),
        suppressed,
    }
}

/// Why a finding is accepted, if it is: an `audit-ignore:` note on its step (in source), else a
/// configured exception (external).
fn suppression_of(
    f: &Finding,
    workflows: &[Workflow],
    exceptions: &config::Exceptions,
) -> Option<Suppression> {
    let w = workflows.get(f.workflow)?;
    let step = f.step.and_then(|s| w.steps.get(s));
    if let Some(i) = step.and_then(|s| s.ignores.iter().find(|i| i.rule == f.rule.id())) {
        return Some(Suppression {
            kind: SuppressionKind::InSource,
            justification: if i.reason.is_empty() {
                "audit-ignore in the step's note (no reason given)".to_owned()
            } else {
                i.reason.clone()
            },
        });
    }
    let e = exceptions.covering(f.rule, &w.id, step.map(|s| &*s.id))?;
    Some(Suppression {
        kind: SuppressionKind::External,
        justification: e.reason.clone(),
    })
}
