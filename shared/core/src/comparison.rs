//! An analysis compared with an earlier one, by the analyzer's stable fingerprints
//! (`workflow_analyzer::compare`): the small `compared` summary an analysis keeps (score delta
//! and counts against the previous analysis of the same workflow) and the diff that lists each
//! issue as new, unchanged or fixed. An earlier issue is fixed only if its rule ran again and did
//! not find it ([`baseline_for`]).

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use workflow_analyzer::{compare, AnalysisResult, Baseline, BaselineState, ComparedIssue};

use crate::plans::{Plan, FREE_TOP_ISSUES};

/// What an analysis keeps of its comparison with the previous analysis of its workflow (fixed
/// when it was made; history lists it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Compared {
    /// The analysis compared with.
    pub previous_analysis_id: String,
    /// Its score.
    pub previous_score: u8,
    /// This score minus the previous one.
    pub score_delta: i16,
    /// Issues the previous analysis did not have.
    pub new: u32,
    /// Issues both have.
    pub unchanged: u32,
    /// Issues of the previous analysis that are gone.
    pub fixed: u32,
}

/// `previous` as a baseline for `current`: its issues, less those `current` could not have
/// found again (their rule did not run this time: switched off, or its input was missing) and
/// those `current` accepts (now suppressed). Without this, switching a rule off or accepting a
/// finding would read as a fix.
pub fn baseline_for(current: &AnalysisResult, previous: &AnalysisResult) -> Baseline {
    let mut baseline = Baseline::of(previous);
    let wid = current.workflow.as_ref().map_or("", |w| w.id.as_str());
    let accepted: HashSet<String> = current
        .suppressed
        .iter()
        .map(|i| i.fingerprint_or_compute(wid))
        .collect();
    baseline.issues.retain(|i| {
        !current.skipped_rules.iter().any(|s| s.rule_id == i.rule_id)
            && !accepted.contains(&i.fingerprint)
    });
    baseline
}

impl Compared {
    /// `current` compared with `previous` (the analysis `previous_id`).
    pub fn of(current: &AnalysisResult, previous_id: &str, previous: &AnalysisResult) -> Self {
        let c = compare(current, &baseline_for(current, previous));
        Compared {
            previous_analysis_id: previous_id.to_owned(),
            previous_score: previous.health_score,
            score_delta: i16::from(current.health_score) - i16::from(previous.health_score),
            new: c.new.len() as u32,
            unchanged: c.unchanged,
            fixed: c.fixed.len() as u32,
        }
    }
}

/// The issue lists of a diff. The free plan sees at most its top issues in each list (the
/// counts are always whole).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Diff {
    /// Score of the analysis compared with.
    pub previous_score: u8,
    /// This score minus that one.
    pub score_delta: i16,
    /// How many issues are in each list, before any plan cut.
    pub counts: DiffCounts,
    /// Issues of this analysis that the other does not have.
    pub new: Vec<ComparedIssue>,
    /// Issues both have (as this analysis reports them).
    pub unchanged: Vec<ComparedIssue>,
    /// Issues of the other analysis this one no longer has.
    pub fixed: Vec<ComparedIssue>,
    /// Whether the lists were cut to the plan's view.
    pub truncated: bool,
}

/// The sizes of a diff's lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DiffCounts {
    pub new: u32,
    pub unchanged: u32,
    pub fixed: u32,
}

/// `current` against `other`, in `plan`'s view.
pub fn diff(current: &AnalysisResult, other: &AnalysisResult, plan: Plan) -> Diff {
    let c = compare(current, &baseline_for(current, other));
    let wid = current.workflow.as_ref().map_or("", |w| w.id.as_str());
    let unchanged: Vec<ComparedIssue> = current
        .issues
        .iter()
        .zip(&c.states)
        .filter(|(_, state)| **state == BaselineState::Unchanged)
        .map(|(i, _)| ComparedIssue {
            fingerprint: i.fingerprint_or_compute(wid),
            rule_id: i.rule_id.to_string(),
            severity: i.severity,
            title: i.title.to_string(),
            message: i.message.clone(),
            workflow_id: i.workflow_id.clone(),
            workflow_name: i.workflow_name.clone(),
            step_id: i.step_id.clone(),
            count: i.count,
        })
        .collect();
    let counts = DiffCounts {
        new: c.new.len() as u32,
        unchanged: unchanged.len() as u32,
        fixed: c.fixed.len() as u32,
    };
    let mut diff = Diff {
        previous_score: other.health_score,
        score_delta: i16::from(current.health_score) - i16::from(other.health_score),
        counts,
        new: c.new,
        unchanged,
        fixed: c.fixed,
        truncated: false,
    };
    if plan == Plan::Free {
        for list in [&mut diff.new, &mut diff.unchanged, &mut diff.fixed] {
            if list.len() > FREE_TOP_ISSUES {
                list.truncate(FREE_TOP_ISSUES);
                diff.truncated = true;
            }
        }
    }
    diff
}

#[cfg(test)]
mod tests {
    use super::*;
    use workflow_analyzer::{analyze, AnalyzeOptions};

    const NOW: i64 = 1_795_392_000;

    fn sample(name: &str) -> AnalysisResult {
        let path = format!(
            "{}/../../events/workflows/{name}.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let mut body: serde_json::Value =
            serde_json::from_slice(&std::fs::read(path).expect("sample")).expect("JSON");
        // One workflow id for both samples: the same workflow before and after a change.
        body["workflow"]["_id"] = "wf-same".into();
        analyze(body.to_string().as_bytes(), &AnalyzeOptions::at(NOW)).expect("analysis")
    }

    #[test]
    fn a_fixed_workflow_lists_its_gone_issues_as_fixed_and_its_score_delta() {
        let (before, after) = (sample("critical"), sample("healthy"));
        let compared = Compared::of(&after, "1795392000000-0a0b0c0d", &before);
        assert_eq!(compared.previous_score, before.health_score);
        assert_eq!(
            compared.score_delta,
            i16::from(after.health_score) - i16::from(before.health_score)
        );
        assert!(compared.score_delta > 0);
        let full = diff(&after, &before, Plan::Pro);
        assert_eq!(full.counts.fixed, compared.fixed);
        assert_eq!(full.counts.new, compared.new);
        assert_eq!(full.counts.unchanged, compared.unchanged);
        assert_eq!(full.fixed.len() as u32, compared.fixed);
        assert!(
            compared.fixed > FREE_TOP_ISSUES as u32,
            "critical has many issues"
        );
        assert!(!full.truncated);

        let free = diff(&after, &before, Plan::Free);
        assert!(free.truncated);
        assert_eq!(free.fixed.len(), FREE_TOP_ISSUES);
        assert_eq!(free.counts, full.counts);
    }

    #[test]
    fn a_rule_switched_off_or_a_finding_accepted_is_not_a_fix() {
        let before = sample("critical");
        let off = before.issues[0].rule_id.to_string();
        let accepted = before.issues[1].clone();
        let mut body: serde_json::Value = serde_json::from_slice(
            &std::fs::read(format!(
                "{}/../../events/workflows/critical.json",
                env!("CARGO_MANIFEST_DIR")
            ))
            .unwrap(),
        )
        .unwrap();
        body["workflow"]["_id"] = "wf-same".into();
        let mut opts = AnalyzeOptions::at(NOW);
        opts.rules = serde_json::from_value(serde_json::json!({
            "disabled": [off],
            "exceptions": [{"rule": accepted.rule_id, "reason": "accepted"}]
        }))
        .unwrap();
        let after = analyze(body.to_string().as_bytes(), &opts).unwrap();
        assert!(!after.suppressed.is_empty());
        let d = diff(&after, &before, Plan::Pro);
        assert_eq!((d.counts.new, d.counts.fixed), (0, 0), "{d:?}");
        assert_eq!(d.counts.unchanged as usize, after.issues.len());
        // Compared with the plain analyzer, both would have read as fixed.
        let plain = compare(&after, &Baseline::of(&before));
        assert!(plain.fixed.len() >= 2);
    }

    #[test]
    fn an_analysis_against_itself_is_all_unchanged() {
        let r = sample("critical");
        let d = diff(&r, &r, Plan::Pro);
        assert_eq!(
            (d.counts.new, d.counts.fixed, d.score_delta),
            (0, 0, 0),
            "{d:?}"
        );
        assert_eq!(d.unchanged.len(), r.issues.len());
        assert_eq!(d.unchanged[0].fingerprint, r.issues[0].fingerprint);
    }
}
