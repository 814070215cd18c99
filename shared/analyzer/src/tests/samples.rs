//! The samples in `events/workflows/` grade as promised, and the CLI's examples stay honest.

use crate::{analyze, AnalysisResult, AnalyzeOptions, Confidence, Grade, Severity};

use super::NOW;

const HEALTHY: &[u8] = include_bytes!("../../../../events/workflows/healthy.json");
const MEDIUM: &[u8] = include_bytes!("../../../../events/workflows/medium.json");
const CRITICAL: &[u8] = include_bytes!("../../../../events/workflows/critical.json");
const BUNDLE: &[u8] = include_bytes!("../../../../events/workflows/bundle.json");

fn run(bytes: &[u8]) -> AnalysisResult {
    analyze(bytes, &AnalyzeOptions::at(NOW)).expect("samples parse")
}

#[test]
fn the_healthy_sample_is_excellent_with_at_most_two_low_findings() {
    let r = run(HEALTHY);
    assert_eq!(r.grade, Grade::Excellent, "{:#?}", r.issues);
    assert_eq!(r.confidence, Confidence::High);
    assert!(r.issues.iter().all(|i| i.severity <= Severity::Low));
    assert!(
        r.issues
            .iter()
            .filter(|i| i.severity == Severity::Low)
            .count()
            <= 2
    );
}

#[test]
fn the_healthy_sample_has_no_finding_at_all() {
    let r = run(HEALTHY);
    assert!(r.issues.is_empty(), "{:#?}", r.issues);
    assert_eq!(r.health_score, 100);
}

#[test]
fn the_medium_sample_is_fair_or_good() {
    let r = run(MEDIUM);
    assert!(
        matches!(r.grade, Grade::Fair | Grade::Good),
        "{:?} {:#?}",
        r.grade,
        r.issues
    );
    assert_eq!(r.summary.critical, 0);
}

#[test]
fn the_critical_sample_is_critical_with_many_findings() {
    let r = run(CRITICAL);
    assert_eq!(r.grade, Grade::Critical);
    assert!(r.issues.len() >= 20, "{}", r.issues.len());
    assert!(r.summary.critical >= 5);
    assert_eq!(r.stats.cycles, 1);
}

#[test]
fn the_bundle_sample_runs_the_account_rules() {
    let r = run(BUNDLE);
    assert_eq!(r.workflows.len(), 4);
    for rule in [
        "enrollment-cycle",
        "duplicate-trigger",
        "dangling-account-reference",
    ] {
        assert!(r.issues.iter().any(|i| i.rule_id == rule), "{rule}");
    }
    assert!(!r
        .skipped_rules
        .iter()
        .any(|s| s.rule_id == "enrollment-cycle"));
    assert!(r.issues.iter().all(|i| i.workflow_id.is_some()));
}
