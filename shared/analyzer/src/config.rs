//! Analysis options: the clock and the per-account rule configuration (disable, re-grade).

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::rules::{Family, Rule, Severity};

/// Per-account rule settings, deserialized from e.g.
/// `{"disabled": ["generic-name"], "disabledFamilies": ["ai"], "severity": {"wait-too-long": "low"}}`, because agencies disagree
/// about what matters and a rule they cannot tune is a rule they learn to ignore.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RuleConfig {
    /// Rule ids that must not run; they are listed in `skippedRules` so a silence is never a pass.
    pub disabled: Vec<String>,
    /// Family ids (see `Family::id`) whose rules must not run, listed in `skippedRules` too.
    #[serde(alias = "disabled-families")]
    pub disabled_families: Vec<String>,
    /// Rule id to the severity its findings carry instead of the catalogue's.
    pub severity: BTreeMap<String, Severity>,
    /// Thresholds of the rules that have one; each left out keeps the catalogue's default.
    #[serde(skip_serializing_if = "RuleOptions::is_default")]
    pub options: RuleOptions,
    /// Accepted findings: a rule on a workflow (or one step of it), with the reason. Their
    /// findings are reported under `suppressed`, not counted in the score.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub exceptions: Vec<Exception>,
}

/// The keys a configuration (JSON or `.workflow-audit.toml`) may have at its top level.
pub const CONFIG_KEYS: &[&str] = &[
    "disabled",
    "disabledFamilies",
    "disabled-families",
    "severity",
    "options",
    "exceptions",
];

/// The thresholds rules use, tunable per account or per repository. A partial set keeps the
/// defaults of what it leaves out. JSON: `{"messageBurst": {"windowHours": 12}}`; TOML:
/// `[options.message-burst] window-hours = 12`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct RuleOptions {
    /// `message-burst`: three SMS within this many hours on one path (default 24).
    #[serde(alias = "message-burst")]
    pub message_burst: MessageBurstOptions,
    /// `wait-too-long`: a wait of at least this many days (default 365).
    #[serde(alias = "wait-too-long")]
    pub wait_too_long: WaitTooLongOptions,
    /// `stale-draft`: a draft untouched for at least this many days (default 90).
    #[serde(alias = "stale-draft")]
    pub stale_draft: StaleDraftOptions,
}

/// `message-burst`'s window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct MessageBurstOptions {
    /// Hours within which a third SMS is a burst.
    #[serde(alias = "window-hours")]
    pub window_hours: u32,
}

/// `wait-too-long`'s threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct WaitTooLongOptions {
    /// Days from which a wait is too long.
    #[serde(alias = "max-days")]
    pub max_days: u32,
}

/// `stale-draft`'s threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct StaleDraftOptions {
    /// Days untouched from which a draft is stale.
    pub days: u32,
}

impl Default for MessageBurstOptions {
    fn default() -> Self {
        MessageBurstOptions { window_hours: 24 }
    }
}

impl Default for WaitTooLongOptions {
    fn default() -> Self {
        WaitTooLongOptions { max_days: 365 }
    }
}

impl Default for StaleDraftOptions {
    fn default() -> Self {
        StaleDraftOptions { days: 90 }
    }
}

impl RuleOptions {
    /// Whether every threshold is the catalogue's.
    pub fn is_default(&self) -> bool {
        *self == RuleOptions::default()
    }

    /// Thresholds out of range (each must be at least 1; a wait limit at most 100 years).
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.message_burst.window_hours == 0 {
            out.push("options.message-burst.window-hours must be at least 1".to_owned());
        }
        if !(1..=36_500).contains(&self.wait_too_long.max_days) {
            out.push("options.wait-too-long.max-days must be from 1 to 36500".to_owned());
        }
        if self.stale_draft.days == 0 {
            out.push("options.stale-draft.days must be at least 1".to_owned());
        }
        out
    }
}

/// An accepted finding: `rule` on the workflow `workflow` (any workflow when absent), on the step
/// `step` (any step when absent), for `reason`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Exception {
    /// The rule id.
    pub rule: String,
    /// HighLevel's workflow id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow: Option<String>,
    /// The step id within it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// Why the finding is accepted (required: it is what the report shows).
    pub reason: String,
}

impl Exception {
    /// Whether the exception covers a finding of `rule` on workflow `workflow` at step `step`.
    pub fn covers(&self, rule: &str, workflow: &str, step: Option<&str>) -> bool {
        self.rule == rule
            && self.workflow.as_deref().is_none_or(|w| w == workflow)
            && self.step.as_deref().is_none_or(|s| Some(s) == step)
    }
}

/// A configuration's exceptions indexed by what they name, so finding the one that covers a finding
/// costs four lookups whatever the number of exceptions (a configuration may list thousands, an
/// analysis may have thousands of findings: a scan per finding would be their product). The
/// first covering exception in the configuration's order wins, as a scan would find it.
pub(crate) struct Exceptions<'a> {
    all: &'a [Exception],
    /// (rule, workflow, step) -> the position of the first exception with exactly these fields.
    first: HashMap<(&'a str, Option<&'a str>, Option<&'a str>), usize>,
}

impl<'a> Exceptions<'a> {
    fn new(all: &'a [Exception]) -> Self {
        let mut first = HashMap::with_capacity(all.len());
        for (n, e) in all.iter().enumerate() {
            first
                .entry((e.rule.as_str(), e.workflow.as_deref(), e.step.as_deref()))
                .or_insert(n);
        }
        Self { all, first }
    }

    /// The exception covering a finding of `rule` on workflow `workflow` at step `step`, if any.
    pub(crate) fn covering(
        &self,
        rule: Rule,
        workflow: &str,
        step: Option<&str>,
    ) -> Option<&'a Exception> {
        if self.all.is_empty() {
            return None;
        }
        let rule = rule.id();
        let step_keys: &[Option<&str>] = match step {
            Some(_) => &[step, None],
            None => &[None],
        };
        let mut best: Option<usize> = None;
        for w in [Some(workflow), None] {
            for s in step_keys {
                if let Some(&n) = self.first.get(&(rule, w, *s)) {
                    best = Some(best.map_or(n, |b| b.min(n)));
                }
            }
        }
        let found = best.map(|n| &self.all[n]);
        debug_assert!(found.is_none_or(|e| e.covers(rule, workflow, step)));
        found
    }
}

impl RuleConfig {
    /// Rule ids (and family ids under `disabledFamilies`) named by the configuration that the
    /// registry does not know, so the caller can reject a typo (400) instead of silently doing
    /// nothing.
    pub fn unknown_rule_ids(&self) -> Vec<String> {
        self.disabled
            .iter()
            .chain(self.severity.keys())
            .filter(|id| Rule::from_id(id).is_none())
            .chain(
                self.disabled_families
                    .iter()
                    .filter(|f| Family::from_id(f).is_none()),
            )
            .cloned()
            .collect()
    }

    /// Everything wrong with the configuration, for a caller that must refuse it: unknown rule
    /// or family ids, exceptions without a known rule or a reason, thresholds out of range.
    pub fn problems(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .unknown_rule_ids()
            .into_iter()
            .map(|id| format!("unknown rule or family \"{id}\""))
            .collect();
        for (n, e) in self.exceptions.iter().enumerate() {
            if Rule::from_id(&e.rule).is_none() {
                out.push(format!("exceptions[{n}]: unknown rule \"{}\"", e.rule));
            }
            if e.reason.trim().is_empty() {
                out.push(format!("exceptions[{n}]: a reason is required"));
            }
        }
        out.extend(self.options.problems());
        out
    }

    /// The exceptions, indexed for the findings of one analysis (see [`Exceptions`]).
    pub(crate) fn exceptions(&self) -> Exceptions<'_> {
        Exceptions::new(&self.exceptions)
    }

    /// Why a rule does not run by configuration, if it does not.
    pub(crate) fn disabled_reason(&self, rule: Rule) -> Option<String> {
        if self.disabled.iter().any(|d| d == rule.id()) {
            Some("disabled by configuration".to_owned())
        } else if self
            .disabled_families
            .iter()
            .any(|f| f == rule.family().id())
        {
            Some(format!(
                "family \"{}\" disabled by configuration",
                rule.family().id()
            ))
        } else {
            None
        }
    }

    pub(crate) fn severity_for(&self, rule: Rule, found: Severity) -> Severity {
        self.severity.get(rule.id()).copied().unwrap_or(found)
    }
}

/// Everything the analyzer needs besides the input. The clock is an argument so results are
/// reproducible and tests can pin "now".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AnalyzeOptions {
    /// The current time in Unix seconds (used by `stale-draft`).
    pub now_unix: i64,
    /// Which rules run and at what severity.
    pub rules: RuleConfig,
}

impl AnalyzeOptions {
    /// Options with the catalogue's defaults at the given time.
    pub fn at(now_unix: i64) -> Self {
        AnalyzeOptions {
            now_unix,
            rules: RuleConfig::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn exception(
        rule: Rule,
        workflow: Option<&str>,
        step: Option<&str>,
        reason: &str,
    ) -> Exception {
        Exception {
            rule: rule.id().to_owned(),
            workflow: workflow.map(str::to_owned),
            step: step.map(str::to_owned),
            reason: reason.to_owned(),
        }
    }

    proptest! {
        /// The index finds what a scan in the configuration's order finds, for any exceptions.
        #[test]
        fn the_index_finds_the_first_covering_exception_as_a_scan_would(
            specs in proptest::collection::vec(
                (0..3usize, proptest::option::of(0..3usize), proptest::option::of(0..3usize)),
                0..24,
            ),
            rule in 0..3usize,
            workflow in 0..3usize,
            step in proptest::option::of(0..3usize),
        ) {
            let rules = &Rule::ALL[..3];
            let names = ["wf-a", "wf-b", "wf-c"];
            let steps = ["s1", "s2", "s3"];
            let all: Vec<Exception> = specs
                .iter()
                .enumerate()
                .map(|(n, (r, w, s))| {
                    exception(rules[*r], w.map(|w| names[w]), s.map(|s| steps[s]), &n.to_string())
                })
                .collect();
            let index = Exceptions::new(&all);
            let step = step.map(|s| steps[s]);
            let scanned = all.iter().find(|e| e.covers(rules[rule].id(), names[workflow], step));
            let found = index.covering(rules[rule], names[workflow], step);
            prop_assert_eq!(found.map(|e| &e.reason), scanned.map(|e| &e.reason));
        }
    }

    #[test]
    fn the_first_listed_wins_over_a_more_specific_later_one() {
        let rule = Rule::ALL[0];
        let all = vec![
            exception(rule, None, None, "everywhere"),
            exception(rule, Some("wf"), Some("s"), "this step"),
        ];
        let index = Exceptions::new(&all);
        assert_eq!(
            index.covering(rule, "wf", Some("s")).unwrap().reason,
            "everywhere"
        );
        assert!(index.covering(Rule::ALL[1], "wf", Some("s")).is_none());
    }
}
