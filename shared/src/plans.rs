//! What each plan gets: the free plan's monthly analysis quota and result retention, and the
//! pro plan's unlimited use (still rate limited). One place, so the API, the docs and the tests
//! agree.

use serde_json::{json, Value};
use time::{Date, Month, OffsetDateTime, Time};

pub use crate::analysis::Plan;

use crate::http::ApiError;
use crate::telemetry::format_rfc3339;

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

/// 402 `PLAN_LIMIT_REACHED`, saying when the quota resets.
pub fn quota_reached(now: i64) -> ApiError {
    let resets = format_rfc3339(quota_resets_at(now));
    ApiError::PlanLimitReached {
        message: format!(
            "the free plan's {FREE_MONTHLY_ANALYSES} analyses this month are used; the quota resets at {resets}, or upgrade to Pro"
        ),
        details: json!({ "limit": FREE_MONTHLY_ANALYSES, "resetsAt": resets }),
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
