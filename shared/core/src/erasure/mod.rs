//! Erasing an uninstalled location off the request path (issue 19): the job the install webhook
//! queues per location ([`ErasureJob`]), the queue it goes through ([`queue`]), and what the
//! erasure worker (`functions/erasure`) erases for one job ([`erase`]).
//!
//! The webhook has already marked the account uninstalled (sessions and tokens stopped working
//! then); the worker removes the data. Every step is idempotent and bounded by pages, so a job
//! that runs twice, or stops half-way and is retried, ends in the same state; and every step
//! stops at the uninstall's time, so a reinstallation since keeps what it created.

pub mod queue;

use serde::{Deserialize, Serialize};

use crate::auth::LocationId;
use crate::store::accounts::install::AccountErasure;
use crate::store::accounts::Accounts;
use crate::store::rate_limits::{Limit, RateLimits};
use crate::store::results::Results;
use crate::store::sessions::Sessions;
use crate::store::StoreError;

pub use queue::{ErasureQueue, MemoryErasureQueue, SqsErasureQueue};

/// Longest idempotency id a job carries (the install webhook's `webhookId` is at most 128).
const MAX_EVENT_ID: usize = 128;

/// One location to erase: the body of an erasure queue message (JSON, camelCase).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ErasureJob {
    pub location_id: LocationId,
    /// When HighLevel sent the uninstall, epoch seconds: what was created at or before it is
    /// erased, what a reinstallation created after it is kept.
    pub uninstalled_at: i64,
    /// The uninstall event's idempotency id (`webhookId`), to trace a job to its delivery.
    pub event_id: String,
}

/// A message body that is not an erasure job: no retry can fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an erasure job: {0}")]
pub struct InvalidJob(pub String);

impl ErasureJob {
    /// Parses a message body, refusing anything the webhook would not have sent.
    pub fn parse(body: &str) -> Result<Self, InvalidJob> {
        let job: Self = serde_json::from_str(body).map_err(|err| InvalidJob(err.to_string()))?;
        if job.uninstalled_at <= 0 {
            return Err(InvalidJob(
                "uninstalledAt must be positive epoch seconds".into(),
            ));
        }
        if !(1..=MAX_EVENT_ID).contains(&job.event_id.len()) {
            return Err(InvalidJob(format!(
                "eventId must be 1-{MAX_EVENT_ID} characters"
            )));
        }
        Ok(job)
    }

    /// The message body.
    pub fn body(&self) -> String {
        // A struct of strings and integers always serializes.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// What the worker erases from, and how: the four tables holding a location's data, the limit
/// of its per-account rate-limit windows (their keys follow from it), and how long its analyses
/// stay (`UNINSTALL_RESULTS_RETENTION_DAYS`, 0: erased at once). `App::erasure` assembles it.
pub struct Erasure {
    pub sessions: Sessions,
    pub accounts: Accounts,
    pub rate_limits: RateLimits,
    pub results: Results,
    pub rate_limit: Limit,
    pub results_retention_days: u32,
}

/// What one job erased (logged and sent as metrics by the worker).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Erased {
    pub account: AccountErasure,
    pub sessions: u32,
    /// Analyses deleted now (retention 0) ...
    pub analyses_deleted: u32,
    /// ... or given an expiry (retention N days).
    pub analyses_expiring: u32,
    pub rate_limit_windows: u32,
}

/// Erases one location for `job`: the account item (its tokens and usage counters, deleting
/// it unless it links a Stripe customer or subscription or counts this month's free analyses,
/// which stay), the sessions and analyses created at or before the uninstall, and the live
/// per-account rate-limit windows. A location installed or connected again since keeps its
/// account and its rate-limit windows; only what predates the uninstall goes.
#[tracing::instrument(skip(stores, job), fields(location = %job.location_id, event_id = %job.event_id))]
pub async fn erase(stores: &Erasure, job: &ErasureJob, now: i64) -> Result<Erased, StoreError> {
    let location = &job.location_id;
    let account = stores
        .accounts
        .erase_for_uninstall(location, job.uninstalled_at, now)
        .await?;
    let sessions = stores
        .sessions
        .delete_opened_up_to(location, job.uninstalled_at)
        .await?;
    let retention_days = stores.results_retention_days;
    let expire_at = (retention_days > 0).then(|| now + i64::from(retention_days) * 86_400);
    let analyses = stores
        .results
        .erase_created_up_to(location, job.uninstalled_at, expire_at)
        .await?;
    let rate_limit_windows = if account == AccountErasure::InstalledSince {
        0
    } else {
        stores
            .rate_limits
            .delete_windows_for(stores.rate_limit, location.as_str(), now)
            .await?
    };
    Ok(Erased {
        account,
        sessions,
        analyses_deleted: if expire_at.is_none() { analyses } else { 0 },
        analyses_expiring: if expire_at.is_some() { analyses } else { 0 },
        rate_limit_windows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_round_trips_through_its_body() {
        let job = ErasureJob {
            location_id: LocationId::parse("loc1").unwrap(),
            uninstalled_at: 1_800_000_000,
            event_id: "wh-1".into(),
        };
        assert_eq!(
            job.body(),
            r#"{"locationId":"loc1","uninstalledAt":1800000000,"eventId":"wh-1"}"#
        );
        assert_eq!(ErasureJob::parse(&job.body()), Ok(job));
    }

    #[test]
    fn hostile_bodies_are_refused_with_a_reason() {
        for body in [
            "",
            "null",
            "[]",
            r#"{"locationId":"../x","uninstalledAt":1,"eventId":"a"}"#,
            r#"{"locationId":"loc1","uninstalledAt":0,"eventId":"a"}"#,
            r#"{"locationId":"loc1","uninstalledAt":-5,"eventId":"a"}"#,
            r#"{"locationId":"loc1","uninstalledAt":"1","eventId":"a"}"#,
            r#"{"locationId":"loc1","uninstalledAt":1,"eventId":""}"#,
            r#"{"locationId":"loc1","uninstalledAt":1}"#,
            r#"{"locationId":"loc1","uninstalledAt":1,"eventId":"a","extra":true}"#,
        ] {
            let refused = ErasureJob::parse(body);
            assert!(refused.is_err(), "{body}");
        }
        let long = format!(
            r#"{{"locationId":"loc1","uninstalledAt":1,"eventId":"{}"}}"#,
            "a".repeat(129)
        );
        assert!(ErasureJob::parse(&long).is_err());
    }
}
