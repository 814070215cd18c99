//! The rule registry as data: every rule's id, family, severity, needs, what it reads, title, why,
//! fix and when it does not apply, rendered for `workflow-audit --list-rules` (text, JSON, Markdown) and for
//! docs/RULES.md, which is generated from it (a test fails when the file drifts).

use serde::Serialize;

use super::rules::{Family, Rule};

/// The command that regenerates docs/RULES.md.
pub const RULES_MD_COMMAND: &str =
    "cargo run -q -p workflow-analyzer --bin workflow-audit -- --list-rules --format markdown > docs/RULES.md";

/// One registry entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleInfo {
    /// Stable kebab-case id.
    pub id: &'static str,
    /// Family id (configuration can disable a family).
    pub family: &'static str,
    /// Default severity.
    pub severity: &'static str,
    /// What the rule needs beyond a definition (missing: the rule is listed as skipped).
    pub needs: &'static str,
    /// What the rule reads from the input.
    pub reads: &'static str,
    /// Short title.
    pub title: &'static str,
    /// Why it matters.
    pub why: &'static str,
    /// The recommended fix.
    pub fix: &'static str,
    /// When the rule does not apply: what it leaves alone on purpose, and the legitimate designs
    /// it still reports (false-positive guidance).
    pub not_applicable: &'static str,
}

impl Rule {
    /// The rule's registry entry.
    pub fn info(self) -> RuleInfo {
        RuleInfo {
            id: self.id(),
            family: self.family().id(),
            severity: self.default_severity().as_str(),
            needs: self.needs().as_str(),
            reads: self.reads(),
            title: self.title(),
            why: self.why(),
            fix: self.recommendation(),
            not_applicable: self.not_applicable(),
        }
    }
}

/// Every rule's entry, grouped by family in registry order, catalogue order within a family.
pub fn registry() -> Vec<RuleInfo> {
    Family::ALL
        .iter()
        .flat_map(|f| Rule::ALL.iter().filter(move |r| r.family() == *f))
        .map(|r| r.info())
        .collect()
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// The registry as plain text: one rule a line, then an indented line saying when it does not
/// apply.
pub fn rules_text() -> String {
    let mut out = String::new();
    for r in registry() {
        out.push_str(&format!(
            "{:<34} {:<8} {:<14} {:<26} {}\n    does not apply: {}\n",
            r.id, r.severity, r.family, r.needs, r.title, r.not_applicable
        ));
    }
    out
}

/// The registry as Markdown: the content of docs/RULES.md.
pub fn rules_markdown() -> String {
    let all = registry();
    let mut out = String::new();
    out.push_str("# Workflow analyzer rules\n\n");
    out.push_str("<!-- Generated from the rule registry (shared/analyzer/src/rules/mod.rs); do not edit by hand.\n");
    out.push_str(&format!("     Regenerate: {RULES_MD_COMMAND} -->\n\n"));
    out.push_str(&format!(
        "{} rules in {} families. Severity is the default; configuration changes it per rule \
         (`{{\"severity\": {{\"rule-id\": \"low\"}}}}`) and disables rules (`{{\"disabled\": [\"rule-id\"]}}`) \
         or whole families (`{{\"disabledFamilies\": [\"ai\"]}}`). A rule whose needs the input does not meet \
         is listed in `skippedRules` with the reason, never guessed: (A) rules need the account bundle's \
         lists, (X) rules need several workflows.\n\n",
        all.len(),
        Family::ALL.len()
    ));
    out.push_str("| family | rules |\n|---|---|\n");
    for f in Family::ALL {
        let ids: Vec<String> = all
            .iter()
            .filter(|r| r.family == f.id())
            .map(|r| format!("`{}`", r.id))
            .collect();
        out.push_str(&format!("| {} | {} |\n", f.id(), ids.join(", ")));
    }
    for f in Family::ALL {
        out.push_str(&format!("\n## {}\n\n", f.id()));
        out.push_str("| id | severity | needs | title | reads | why | fix |\n|---|---|---|---|---|---|---|\n");
        for r in all.iter().filter(|r| r.family == f.id()) {
            out.push_str(&format!(
                "| `{}` | {} | {} | {} | {} | {} | {} |\n",
                r.id,
                r.severity,
                r.needs,
                cell(r.title),
                cell(r.reads),
                cell(r.why),
                cell(r.fix)
            ));
        }
        out.push_str("\nWhen it does not apply:\n\n");
        for r in all.iter().filter(|r| r.family == f.id()) {
            out.push_str(&format!("- `{}`: {}\n", r.id, r.not_applicable));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docs_rules_md_matches_the_registry() {
        let on_disk = include_str!("../../../docs/RULES.md");
        assert!(
            on_disk == rules_markdown(),
            "docs/RULES.md is out of date with the rule registry; regenerate it with:\n  {RULES_MD_COMMAND}"
        );
    }

    #[test]
    fn every_rule_is_in_the_registry_once_with_a_known_family() {
        let all = registry();
        assert_eq!(all.len(), Rule::ALL.len());
        for r in Rule::ALL {
            assert_eq!(all.iter().filter(|i| i.id == r.id()).count(), 1);
            assert!(Family::from_id(r.family().id()).is_some());
            assert!(!r.reads().is_empty() && !r.why().is_empty());
            assert!(
                !r.not_applicable().is_empty(),
                "{} says when it does not apply",
                r.id()
            );
        }
        let json = serde_json::to_value(&all[0]).unwrap();
        assert_eq!(json["notApplicable"], all[0].not_applicable);
        assert!(rules_text().contains(&format!("    does not apply: {}\n", all[0].not_applicable)));
    }
}
