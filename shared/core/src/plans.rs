//! What each plan gets: the free plan's monthly analysis quota and result retention, and the
//! pro plan's unlimited use (still rate limited). One place, so the API, the docs and the tests
//! agree.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use time::{Date, Month, OffsetDateTime, Time};
use workflow_analyzer::{AnalysisResult, Detail, ResultView};

use crate::auth::LocationId;
use crate::clock::format_rfc3339;
use crate::store::accounts::usage::QuotaWrites;
use crate::store::results::{NewAnalysis, PutError, ResultWrites};
use crate::store::StoreError;

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

/// A Pro feature asked for on the free plan (402 `PLAN_LIMIT_REACHED`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{feature} are a Pro feature: upgrade to Pro to change them")]
pub struct ProRequired {
    /// What was asked for, as a plural noun ("rule settings").
    pub feature: &'static str,
}

/// Refuses a Pro feature on the free plan.
pub fn require_pro(plan: Plan, feature: &'static str) -> Result<(), ProRequired> {
    match plan {
        Plan::Pro => Ok(()),
        Plan::Free => Err(ProRequired { feature }),
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

/// Why an analysis was not kept.
#[derive(Debug, thiserror::Error)]
pub enum KeepError {
    #[error(transparent)]
    QuotaReached(#[from] QuotaReached),
    #[error(transparent)]
    Put(#[from] PutError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// An analysis counted against its plan before it runs (nothing for pro): the request it was
/// counted for, so it can be given back exactly once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counted {
    period: String,
    request: String,
    /// The month's count after this one, on the free plan.
    pub used: Option<u32>,
}

/// Counts request `request`'s analysis under `plan` before the analyzer runs: a free account
/// over its quota is refused here, so a refused request costs no analysis. Idempotent per
/// request (see [`QuotaWrites`]).
pub async fn count_analysis<Q: QuotaWrites>(
    usage: &Q,
    location: &LocationId,
    plan: Plan,
    request: &str,
    now: i64,
) -> Result<Counted, KeepError> {
    let period = usage_period(now);
    let used = match plan {
        Plan::Pro => None,
        Plan::Free => Some(
            usage
                .consume_quota_once(location, &period, FREE_MONTHLY_ANALYSES, request)
                .await?
                .ok_or_else(|| quota_reached(now))?,
        ),
    };
    Ok(Counted {
        period,
        request: request.to_owned(),
        used,
    })
}

/// Gives a counted analysis back (it failed, or its result could not be stored). A failure to
/// give back is logged, never the caller's error: the caller is already answering another.
pub async fn give_back<Q: QuotaWrites>(usage: &Q, location: &LocationId, counted: &Counted) {
    if counted.used.is_none() {
        return;
    }
    if let Err(err) = usage
        .release_quota_once(location, &counted.period, &counted.request)
        .await
    {
        tracing::error!(error = %err, "could not give back a counted analysis");
    }
}

/// Stores a counted analysis whole; if it cannot be stored its count is given back, so
/// nothing is spent on what was not kept. Returns the month's count on the free plan.
pub async fn store_counted<Q: QuotaWrites, R: ResultWrites>(
    usage: &Q,
    results: &R,
    counted: &Counted,
    analysis: &NewAnalysis<'_>,
) -> Result<Option<u32>, KeepError> {
    if let Err(err) = results.put(analysis).await {
        give_back(usage, analysis.location, counted).await;
        return Err(err.into());
    }
    Ok(counted.used)
}

/// Keeps an analysis under `plan` in one step: counted (for the analysis id), then stored, the
/// count given back if it cannot be stored. Returns the month's count on the free plan.
pub async fn keep_analysis<Q: QuotaWrites, R: ResultWrites>(
    usage: &Q,
    results: &R,
    plan: Plan,
    analysis: &NewAnalysis<'_>,
    now: i64,
) -> Result<Option<u32>, KeepError> {
    let counted = count_analysis(usage, analysis.location, plan, analysis.id.as_str(), now).await?;
    store_counted(usage, results, &counted, analysis).await
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
    use crate::store::accounts::memory::MemoryAccounts;
    use crate::store::accounts::Account;
    use crate::store::results::{AnalysisId, MemoryResults, MAX_ITEM_BYTES};

    const NOW: i64 = 1_795_471_200; // 2026-11-23

    fn location() -> LocationId {
        LocationId::parse("LocQuota1").expect("a location id")
    }

    /// An account that exists (the OAuth flow made it), with no analysis counted yet.
    fn accounts() -> MemoryAccounts {
        let accounts = MemoryAccounts::default();
        accounts
            .insert(Account {
                location_id: "LocQuota1".into(),
                ..Account::default()
            })
            .expect("insert");
        accounts
    }

    /// Keeps one analysis whose stored definition is `definition`.
    async fn keep(
        accounts: &MemoryAccounts,
        results: &MemoryResults,
        plan: Plan,
        definition: Option<&[u8]>,
    ) -> Result<Option<u32>, KeepError> {
        let location = location();
        let id = AnalysisId::generate(NOW * 1000);
        let summary = json!({});
        let new = NewAnalysis {
            location: &location,
            id: &id,
            workflow_id: None,
            workflow_name: None,
            health_score: 80,
            grade: "Good",
            confidence: "high",
            summary: &summary,
            created_at_ms: NOW * 1000,
            expires_at: retention_until(plan, NOW),
            result: &summary,
            definition,
            compared: None,
        };
        keep_analysis(accounts, results, plan, &new, NOW).await
    }

    #[tokio::test]
    async fn the_free_plan_keeps_ten_analyses_a_month_and_refuses_the_eleventh() {
        let (accounts, results) = (accounts(), MemoryResults::default());
        for n in 1..=FREE_MONTHLY_ANALYSES {
            let counted = keep(&accounts, &results, Plan::Free, None).await;
            assert_eq!(counted.ok(), Some(Some(n)));
        }
        let refused = keep(&accounts, &results, Plan::Free, None).await;
        assert!(matches!(refused, Err(KeepError::QuotaReached(_))));
        assert_eq!(results.count(&location()), FREE_MONTHLY_ANALYSES as usize);
    }

    #[tokio::test]
    async fn an_analysis_too_large_to_store_gives_its_count_back() {
        let (accounts, results) = (accounts(), MemoryResults::default());
        let noise: Vec<u8> = (0..MAX_ITEM_BYTES + 64 * 1024)
            .map(|_| rand::random::<u8>())
            .collect();
        let refused = keep(&accounts, &results, Plan::Free, Some(&noise)).await;
        assert!(matches!(
            refused,
            Err(KeepError::Put(PutError::TooLarge(_)))
        ));
        assert_eq!(accounts.quota_used(&location(), &usage_period(NOW)), 0);
        assert_eq!(results.count(&location()), 0);
    }

    #[tokio::test]
    async fn pro_analyses_are_kept_without_counting() {
        let (accounts, results) = (accounts(), MemoryResults::default());
        for _ in 0..=FREE_MONTHLY_ANALYSES {
            let kept = keep(&accounts, &results, Plan::Pro, None).await;
            assert_eq!(kept.ok(), Some(None));
        }
        assert_eq!(accounts.quota_used(&location(), &usage_period(NOW)), 0);
    }

    #[tokio::test]
    async fn a_request_sent_twice_is_counted_once_and_given_back_once() {
        let accounts = accounts();
        let period = usage_period(NOW);
        for _ in 0..3 {
            let counted = count_analysis(&accounts, &location(), Plan::Free, "req-1", NOW).await;
            assert_eq!(counted.ok().and_then(|c| c.used), Some(1));
        }
        assert_eq!(accounts.quota_used(&location(), &period), 1);
        let other = count_analysis(&accounts, &location(), Plan::Free, "req-2", NOW).await;
        assert_eq!(other.ok().and_then(|c| c.used), Some(2));
        let counted = Counted {
            period: period.clone(),
            request: "req-1".into(),
            used: Some(1),
        };
        for _ in 0..3 {
            give_back(&accounts, &location(), &counted).await;
        }
        assert_eq!(
            accounts.quota_used(&location(), &period),
            1,
            "req-2 stays counted"
        );
    }

    #[tokio::test]
    async fn an_account_over_its_quota_is_refused_before_anything_runs() {
        let accounts = accounts();
        for n in 0..FREE_MONTHLY_ANALYSES {
            let request = format!("req-{n}");
            assert!(
                count_analysis(&accounts, &location(), Plan::Free, &request, NOW)
                    .await
                    .is_ok()
            );
        }
        let refused = count_analysis(&accounts, &location(), Plan::Free, "one-more", NOW).await;
        assert!(matches!(refused, Err(KeepError::QuotaReached(_))));
        let pro = count_analysis(&accounts, &location(), Plan::Pro, "one-more", NOW).await;
        assert_eq!(pro.ok().map(|c| c.used), Some(None));
    }

    #[test]
    fn quota_resets_on_the_first_of_next_month_even_in_december() {
        let nov = 1_795_471_200; // 2026-11-23
        assert_eq!(usage_period(nov), "2026-11");
        assert_eq!(format_rfc3339(quota_resets_at(nov)), "2026-12-01T00:00:00Z");
        let dec = 1_797_811_200; // 2026-12-20
        assert_eq!(format_rfc3339(quota_resets_at(dec)), "2027-01-01T00:00:00Z");
    }
}
