//! The health score, grade and confidence (ANALYZER.md section 4), versioned by
//! [`SCORING_VERSION`] because a published score is a promise to users.

use serde::{Deserialize, Serialize};

use super::rules::Severity;

/// Bumped whenever the formula, weights, caps or a rule's default severity change, so stored
/// scores can be told apart from new ones.
pub const SCORING_VERSION: &str = "2026-12.3";

/// Deduction per severity for one issue (one rule in one workflow). Calibrated on realistic
/// workflows (shared/analyzer/tests/calibration): a critical issue alone makes a workflow Poor
/// (the cap), two or three high compliance gaps leave a nurture Good or Fair, mediums and lows
/// are polish.
pub fn weight(s: Severity) -> f64 {
    match s {
        Severity::Critical => 25.0,
        Severity::High => 9.0,
        Severity::Medium => 4.0,
        Severity::Low => 1.5,
        Severity::Info => 0.0,
    }
}

/// How much more an issue weighs for its further occurrences: 1 for one, 1.25 for two, 1.33
/// for three, never more than 1.5. A missing setting repeated over a 30-step nurture is one
/// problem, slightly worse than once, never thirty times worse.
pub fn growth(count: u32) -> f64 {
    1.5 - 0.5 / f64::from(count.max(1))
}

/// Highest score possible with any critical finding.
pub const CRITICAL_CAP: u8 = 59;
/// Highest score possible with any high finding.
pub const HIGH_CAP: u8 = 89;

/// `100 - sum over issues of weight(severity) * growth(count)`, rounded, clamped to 0..=100,
/// then capped at 59 with any critical issue and 89 with any high one. One issue is one rule in
/// one workflow (the analyzer groups repeats).
pub fn health_score(issues: impl IntoIterator<Item = (Severity, u32)>) -> u8 {
    let mut deduction = 0.0;
    let mut worst = None;
    for (sev, count) in issues {
        deduction += weight(sev) * growth(count);
        worst = worst.max(Some(sev));
    }
    let raw = (100.0 - deduction).round().clamp(0.0, 100.0) as u8;
    match worst {
        Some(Severity::Critical) => raw.min(CRITICAL_CAP),
        Some(Severity::High) => raw.min(HIGH_CAP),
        _ => raw,
    }
}

/// The grade band of a score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Grade {
    /// Below 40.
    Critical,
    /// 40 to 59.
    Poor,
    /// 60 to 74.
    Fair,
    /// 75 to 89.
    Good,
    /// 90 and above.
    Excellent,
}

impl Grade {
    /// Excellent >= 90, Good >= 75, Fair >= 60, Poor >= 40, Critical below.
    pub fn of(score: u8) -> Grade {
        match score {
            90.. => Grade::Excellent,
            75..=89 => Grade::Good,
            60..=74 => Grade::Fair,
            40..=59 => Grade::Poor,
            _ => Grade::Critical,
        }
    }

    /// The grade's display name.
    pub fn as_str(self) -> &'static str {
        match self {
            Grade::Critical => "Critical",
            Grade::Poor => "Poor",
            Grade::Fair => "Fair",
            Grade::Good => "Good",
            Grade::Excellent => "Excellent",
        }
    }
}

/// How much of the catalogue could run on the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    /// Metadata only.
    Low,
    /// A definition, but no triggers, no account lists for a bundle, or many unknown step types.
    Medium,
    /// A full definition with triggers (and account lists for a bundle).
    High,
}

impl Confidence {
    /// The lowercase name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_of_one_issue_grow_the_deduction_by_half_at_most() {
        assert_eq!(health_score([(Severity::Medium, 1)]), 96);
        assert_eq!(health_score([(Severity::Medium, 2)]), 95);
        assert_eq!(health_score([(Severity::Medium, 30)]), 94);
        assert_eq!(health_score([(Severity::Medium, u32::MAX)]), 94);
        assert_eq!(health_score([(Severity::Low, 1)]), 99);
        assert_eq!(health_score([]), 100);
    }

    #[test]
    fn caps_apply_for_critical_and_high() {
        assert_eq!(health_score([(Severity::Critical, 1)]), 59);
        assert_eq!(health_score([(Severity::High, 1)]), 89);
        assert_eq!(health_score([(Severity::High, 1), (Severity::High, 1)]), 82);
        assert_eq!(health_score(vec![(Severity::Info, 1); 50]), 100);
        assert_eq!(health_score(vec![(Severity::Critical, 1); 5]), 0);
    }

    #[test]
    fn grades_follow_the_bands() {
        assert_eq!(Grade::of(100), Grade::Excellent);
        assert_eq!(Grade::of(90), Grade::Excellent);
        assert_eq!(Grade::of(89), Grade::Good);
        assert_eq!(Grade::of(75), Grade::Good);
        assert_eq!(Grade::of(60), Grade::Fair);
        assert_eq!(Grade::of(40), Grade::Poor);
        assert_eq!(Grade::of(39), Grade::Critical);
    }
}
