//! What each plan gets: the free plan's monthly analysis quota and result retention, and the
//! pro plan's unlimited use (still rate limited). One place, so the API, the docs and the tests
//! agree.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use time::{Date, Month, OffsetDateTime, Time};
use workflow_analyzer::{AnalysisResult, Detail, ResultView};

use crate::clock::format_rfc3339;

/// The subscription plan an account is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Plan {
    /// Score, grade, confidence, counts and the top issues without recommendations.
    #[default]
    Free,
    /// Everything.
    Pro,
}

impl Plan {
    /// The plan's name as stored and shown (`free`, `pro`).
    pub fn as_str(self) -> &'static str {
        match self {
            Plan::Free => "free",
            Plan::Pro => "pro",
        }
    }

    /// How much of an analysis the plan shows.
    pub fn detail(self) -> Detail {
        match self {
            Plan::Free => Detail::Top(FREE_TOP_ISSUES),
            Plan::Pro => Detail::Full,
        }
    }
}

/// How many issues the free plan shows.
pub const FREE_TOP_ISSUES: usize = 3;

/// A result as a plan sees it: the analyzer's view plus the plan's name, which is the API body.
#[derive(Debug, Serialize)]
pub struct PlanView<'a> {
    /// `free` or `pro`.
    pub plan: Plan,
    /// The view itself.
    #[serde(flatten)]
    pub view: ResultView<'a>,
}

/// `result` as `plan` may see it.
pub fn view(result: &AnalysisResult, plan: Plan) -> PlanView<'_> {
    PlanView {
        plan,
        view: result.view(plan.detail()),
    }
}

/// Free analyses per calendar month (UTC).
pub const FREE_MONTHLY_ANALYSES: u32 = 10;
/// Free results are kept this many days; pro results until deleted.
pub const FREE_RETENTION_DAYS: i64 = 90;

/// The quota period of `now`: `YYYY-MM` (UTC).
pub fn usage_period(now: i64) -> String {
    let at = OffsetDateTime::from_unix_timestamp(now).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    format!("{:04}-{:02}", at.year(), u8::from(at.month()))
}

/// When the quota of `now`'s month resets: midnight UTC on the first of the next month.
pub fn quota_resets_at(now: i64) -> OffsetDateTime {
    let at = OffsetDateTime::from_unix_timestamp(now).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let (year, month) = match at.month() {
        Month::December => (at.year() + 1, Month::January),
        m => (at.year(), m.next()),
    };
    Date::from_calendar_date(year, month, 1)
        .map(|d| d.with_time(Time::MIDNIGHT).assume_utc())
        .unwrap_or(at)
}

/// The free plan's monthly analyses are used up (402 `PLAN_LIMIT_REACHED`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the free plan's {limit} analyses this month are used; the quota resets at {resets_at}, or upgrade to Pro")]
pub struct QuotaReached {
    pub limit: u32,
    /// When the quota resets, as the API writes times.
    pub resets_at: String,
}

/// The quota is used up at `now`: says when it resets.
pub fn quota_reached(now: i64) -> QuotaReached {
    QuotaReached {
        limit: FREE_MONTHLY_ANALYSES,
        resets_at: format_rfc3339(quota_resets_at(now)),
    }
}

/// The quota as the analyze response reports it.
pub fn quota_json(used: u32, now: i64) -> Value {
    json!({
        "used": used,
        "limit": FREE_MONTHLY_ANALYSES,
        "resetsAt": format_rfc3339(quota_resets_at(now)),
    })
}

/// Epoch seconds after which a result saved now under `plan` expires (`None`: kept).
pub fn retention_until(plan: Plan, now: i64) -> Option<i64> {
    match plan {
        Plan::Free => Some(now + FREE_RETENTION_DAYS * 86_400),
        Plan::Pro => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quota_resets_on_the_first_of_next_month_even_in_december() {
        let nov = 1_795_471_200; // 2026-11-23
        assert_eq!(usage_period(nov), "2026-11");
        assert_eq!(format_rfc3339(quota_resets_at(nov)), "2026-12-01T00:00:00Z");
        let dec = 1_797_811_200; // 2026-12-20
        assert_eq!(format_rfc3339(quota_resets_at(dec)), "2027-01-01T00:00:00Z");
    }
}
