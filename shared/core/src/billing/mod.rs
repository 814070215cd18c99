//! Billing: plans and their features, the subscription state we keep per account, the rule that
//! turns it into an effective plan, the Stripe client, and the webhook signature check.
//!
//! Stripe is the source of truth; the accounts table holds a copy that webhooks keep current
//! (ordered by each event's `created`) and that `GET /api/subscription/status` repairs from
//! Stripe when it has not been confirmed for [`STALE_AFTER_SECS`]. See docs/BILLING.md.

pub mod signature;
pub mod stripe;
pub mod sync;

use serde::{Deserialize, Serialize};

use crate::store::accounts::{Account, Plan};

pub use crate::store::accounts::billing::Applied;
pub use sync::{sync_subscription, Synced};

/// Billing state older than this is re-read from Stripe by the status route: webhooks can be
/// delayed, lost after Stripe's retries, or misconfigured, and a paying user must not wait days.
pub const STALE_AFTER_SECS: i64 = 5 * 60;

/// A Stripe subscription status, as Stripe spells it. Unknown future values stay representable
/// (and grant nothing) instead of failing a webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubscriptionStatus {
    Incomplete,
    IncompleteExpired,
    Trialing,
    Active,
    PastDue,
    Canceled,
    Unpaid,
    Paused,
    #[serde(other)]
    Unknown,
}

impl SubscriptionStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Incomplete => "incomplete",
            Self::IncompleteExpired => "incomplete_expired",
            Self::Trialing => "trialing",
            Self::Active => "active",
            Self::PastDue => "past_due",
            Self::Canceled => "canceled",
            Self::Unpaid => "unpaid",
            Self::Paused => "paused",
            Self::Unknown => "unknown",
        }
    }

    /// Parses a stored value; anything unrecognised is `Unknown`.
    pub fn parse(raw: &str) -> Self {
        serde_json::from_value(serde_json::Value::String(raw.to_owned())).unwrap_or(Self::Unknown)
    }

    /// Statuses that pay for Pro. `past_due` is included: Stripe is still retrying the payment
    /// (its Smart Retries grace period) and ends the subscription itself if they all fail.
    pub fn is_live(&self) -> bool {
        matches!(self, Self::Active | Self::Trialing | Self::PastDue)
    }
}

/// The plan a subscription grants at `now`.
///
/// Pro while the status is live (active, trialing, past_due) and no scheduled end has passed;
/// a subscription cancelled at period end keeps Pro until `ends_at`, even if Stripe's final
/// `canceled` status arrives first or the `deleted` webhook is late; everything else is Free.
pub fn effective_plan(status: Option<&SubscriptionStatus>, ends_at: Option<i64>, now: i64) -> Plan {
    let ended = ends_at.is_some_and(|end| end <= now);
    match status {
        _ if ended => Plan::Free,
        Some(status) if status.is_live() => Plan::Pro,
        Some(SubscriptionStatus::Canceled) if ends_at.is_some() => Plan::Pro,
        _ => Plan::Free,
    }
}

impl Account {
    /// The plan this account has right now, from its stored billing state (the stored `plan`
    /// field is what the state granted when it was written; time may have ended it since).
    pub fn effective_plan(&self, now: i64) -> Plan {
        let status = self
            .subscription_status
            .as_deref()
            .map(SubscriptionStatus::parse);
        effective_plan(status.as_ref(), self.subscription_ends_at, now)
    }

    /// True when the account pays for a subscription that has not ended: a second checkout
    /// would charge it twice.
    pub fn has_live_subscription(&self, now: i64) -> bool {
        self.stripe_subscription_id.is_some() && self.effective_plan(now) == Plan::Pro
    }

    /// True when the billing copy has not been confirmed against Stripe recently.
    pub fn billing_is_stale(&self, now: i64) -> bool {
        self.billing_synced_at
            .is_none_or(|synced| now - synced > STALE_AFTER_SECS)
    }
}

/// A subscription as we store it: what a Stripe `subscription` object says, reduced to the
/// fields the plan depends on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionState {
    pub subscription_id: String,
    pub customer_id: Option<String>,
    pub status: SubscriptionStatus,
    /// Epoch seconds: end of the period paid for.
    pub current_period_end: Option<i64>,
    pub cancel_at_period_end: bool,
    /// Epoch seconds when Pro ends: the scheduled cancellation, or when the subscription ended.
    pub ends_at: Option<i64>,
}

impl SubscriptionState {
    pub fn plan(&self, now: i64) -> Plan {
        effective_plan(Some(&self.status), self.ends_at, now)
    }
}

/// What each plan includes, as the status route shows it. The numbers come from the modules
/// that enforce them (`plans`, `analysis`), so the page and the limits cannot disagree.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PlanFeatures {
    pub plan: Plan,
    /// Analyses per calendar month (UTC); `None` is unlimited.
    pub analyses_per_month: Option<u32>,
    /// Issues shown per analysis; `None` is every issue.
    pub issues_shown: Option<usize>,
    /// Whether each issue comes with how to fix it.
    pub recommendations: bool,
    /// Days a saved analysis is kept; `None` is until deleted.
    pub history_retention_days: Option<i64>,
}

/// Both plans, Free first.
pub fn plan_features() -> [PlanFeatures; 2] {
    [
        PlanFeatures {
            plan: Plan::Free,
            analyses_per_month: Some(crate::plans::FREE_MONTHLY_ANALYSES),
            issues_shown: Some(crate::plans::FREE_TOP_ISSUES),
            recommendations: false,
            history_retention_days: Some(crate::plans::FREE_RETENTION_DAYS),
        },
        PlanFeatures {
            plan: Plan::Pro,
            analyses_per_month: None,
            issues_shown: None,
            recommendations: true,
            history_retention_days: None,
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    #[test]
    fn live_statuses_are_pro_and_others_free() {
        for status in [
            SubscriptionStatus::Active,
            SubscriptionStatus::Trialing,
            SubscriptionStatus::PastDue,
        ] {
            assert_eq!(effective_plan(Some(&status), None, NOW), Plan::Pro);
        }
        for status in [
            SubscriptionStatus::Incomplete,
            SubscriptionStatus::IncompleteExpired,
            SubscriptionStatus::Unpaid,
            SubscriptionStatus::Paused,
            SubscriptionStatus::Canceled,
            SubscriptionStatus::Unknown,
        ] {
            assert_eq!(effective_plan(Some(&status), None, NOW), Plan::Free);
        }
        assert_eq!(effective_plan(None, None, NOW), Plan::Free);
    }

    #[test]
    fn cancelled_at_period_end_keeps_pro_until_the_end_then_free() {
        let active = SubscriptionStatus::Active;
        let canceled = SubscriptionStatus::Canceled;
        assert_eq!(
            effective_plan(Some(&active), Some(NOW + 60), NOW),
            Plan::Pro
        );
        assert_eq!(
            effective_plan(Some(&canceled), Some(NOW + 60), NOW),
            Plan::Pro
        );
        assert_eq!(effective_plan(Some(&active), Some(NOW), NOW), Plan::Free);
        assert_eq!(
            effective_plan(Some(&canceled), Some(NOW - 1), NOW),
            Plan::Free
        );
    }

    #[test]
    fn stored_statuses_parse_and_unknown_ones_grant_nothing() {
        assert_eq!(
            SubscriptionStatus::parse("past_due"),
            SubscriptionStatus::PastDue
        );
        assert_eq!(
            SubscriptionStatus::parse("galactic"),
            SubscriptionStatus::Unknown
        );
        assert_eq!(SubscriptionStatus::PastDue.as_str(), "past_due");
    }
}
