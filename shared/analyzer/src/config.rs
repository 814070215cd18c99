//! Analysis options: the clock and the per-account rule configuration (disable, re-grade).

use std::collections::BTreeMap;

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
    pub disabled_families: Vec<String>,
    /// Rule id to the severity its findings carry instead of the catalogue's.
    pub severity: BTreeMap<String, Severity>,
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
