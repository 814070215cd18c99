//! Metadata rules, the only ones HighLevel's public API allows without a definition: stale
//! drafts, test-like names on published workflows, generic names.

use super::{quoted, Ctx, Finding, Rule};

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Unix seconds of an ISO 8601 date or date-time (time of day ignored) or of epoch
/// milliseconds / seconds given as a string.
pub(crate) fn unix_seconds(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(n) = s.parse::<i64>() {
        return Some(if n > 100_000_000_000 { n / 1000 } else { n });
    }
    let date = s.get(..10)?;
    let mut parts = date.split('-');
    let y: i64 = parts.next()?.parse().ok()?;
    let m: i64 = parts.next()?.parse().ok()?;
    let d: i64 = parts.next()?.parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    Some(days_from_civil(y, m, d) * 86_400)
}

fn words(name: &str) -> Vec<String> {
    name.to_ascii_lowercase()
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Whether a name reads like a test, copy or sandbox.
pub(crate) fn is_test_name(name: &str) -> bool {
    let w = words(name);
    let has = |x: &str| w.iter().any(|v| v == x);
    [
        "test", "testing", "copy", "sandbox", "demo", "tmp", "temp", "dummy", "wip",
    ]
    .iter()
    .any(|t| has(t))
        || (has("do") && has("not") && has("use"))
}

/// Whether a name says the workflow runs a real experiment: "A/B", "AB test", "split test"
/// (or testing, "multivariate test").
pub(crate) fn is_experiment_name(name: &str) -> bool {
    let w = words(name);
    crate::model::contains_ci(name, "a/b")
        || w.windows(2).any(|p| {
            matches!(p[0].as_str(), "ab" | "split" | "multivariate")
                && matches!(p[1].as_str(), "test" | "testing" | "tests")
        })
}

/// Whether a name says nothing ("New Workflow", "Untitled", "Workflow 3").
pub(crate) fn is_generic_name(name: &str) -> bool {
    let w = words(name);
    let rest: Vec<&String> = w
        .iter()
        .filter(|x| {
            !matches!(x.as_str(), "new" | "workflow" | "untitled" | "my")
                && !x.bytes().all(|b| b.is_ascii_digit())
        })
        .collect();
    rest.is_empty()
}

pub(super) fn run(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let w = ctx.w;
    let draft = w
        .status
        .as_deref()
        .is_some_and(|s| s.eq_ignore_ascii_case("draft"));
    if draft {
        if let Some(updated) = w
            .updated_at
            .as_deref()
            .or(w.created_at.as_deref())
            .and_then(unix_seconds)
        {
            let days = (ctx.now_unix - updated).div_euclid(86_400);
            if days >= i64::from(ctx.options.stale_draft.days) {
                ctx.emit(out, Rule::StaleDraft, None, || {
                    format!(
                        "Draft {} has not been touched for {days} days.",
                        quoted(&w.name)
                    )
                });
            }
        }
    }
    // A published experiment is a real test: named as one, or holding a split step (HighLevel's
    // `workflow_split`, or `split`).
    // (Asked only of a published workflow with a test's name: it is a pass over every step.)
    let experiment = || {
        is_experiment_name(&w.name)
            || w.steps
                .iter()
                .any(|s| !s.disabled && matches!(&*s.kind, "workflow_split" | "split"))
    };
    if w.is_published() && is_test_name(&w.name) && !experiment() {
        ctx.emit(out, Rule::TestNamePublished, None, || {
            format!(
                "Workflow {} is published but named like a test or copy.",
                quoted(&w.name)
            )
        });
    }
    if is_generic_name(&w.name) {
        ctx.emit(out, Rule::GenericName, None, || {
            format!("Workflow {} has a generic name.", quoted(&w.name))
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_parse_to_unix_seconds() {
        assert_eq!(unix_seconds("1970-01-02T00:00:00Z"), Some(86_400));
        assert_eq!(unix_seconds("2026-11-23"), Some(1_795_392_000));
        assert_eq!(unix_seconds("1795392000000"), Some(1_795_392_000));
        assert_eq!(unix_seconds("yesterday"), None);
    }

    #[test]
    fn names_are_classified() {
        assert!(is_test_name("Lead nurture (copy)"));
        assert!(is_test_name("TEST - webinar"));
        assert!(!is_test_name("Contest winners"));
        assert!(is_experiment_name("Roof invite - A/B subject test"));
        assert!(is_experiment_name("AB test: offer"));
        assert!(is_experiment_name("Split-testing the first SMS"));
        assert!(!is_experiment_name("Test - lead follow-up"));
        assert!(!is_experiment_name("Split payments test"));
        assert!(is_generic_name("New Workflow : 1700000000"));
        assert!(is_generic_name(""));
        assert!(!is_generic_name("New lead follow-up"));
    }
}
