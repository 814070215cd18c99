//! The accounts table in memory, under the DynamoDB conditions of the writes the business rules
//! make, so those rules get fast unit tests; the integration suite proves the table itself.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};

use super::billing::{Applied, SubscriptionWrites};
use super::install::{InstallWrites, Installation, Marked};
use super::usage::QuotaWrites;
use super::{Account, Plan};
use crate::auth::LocationId;
use crate::billing::SubscriptionState;
use crate::store::StoreError;

/// Account items by location, and their monthly usage counters.
#[derive(Debug, Default)]
pub struct MemoryAccounts {
    items: Mutex<HashMap<LocationId, Account>>,
    usage: Mutex<HashMap<(LocationId, String), u32>>,
    /// The requests each month's counter counted (the table's `usageRequests_YYYY_MM`).
    counted: Mutex<HashMap<(LocationId, String), HashSet<String>>>,
}

impl MemoryAccounts {
    fn items(&self) -> MutexGuard<'_, HashMap<LocationId, Account>> {
        self.items.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Free analyses counted for `location` in `period` (`YYYY-MM`).
    pub fn quota_used(&self, location: &LocationId, period: &str) -> u32 {
        let usage = self.usage.lock().unwrap_or_else(|p| p.into_inner());
        usage
            .get(&(location.clone(), period.to_owned()))
            .copied()
            .unwrap_or(0)
    }

    /// Stores `account` as its location's item, replacing any (a test's starting state).
    pub fn insert(&self, account: Account) -> Result<(), StoreError> {
        let location = account.location()?;
        self.items().insert(location, account);
        Ok(())
    }

    /// The account item of `location`, as the table would return it.
    pub fn get(&self, location: &LocationId) -> Option<Account> {
        self.items().get(location).cloned()
    }
}

impl SubscriptionWrites for MemoryAccounts {
    async fn apply_subscription(
        &self,
        location: &LocationId,
        state: &SubscriptionState,
        as_of: i64,
        now: i64,
    ) -> Result<Applied, StoreError> {
        let mut items = self.items();
        let current = items.get(location);
        let last = current.and_then(|a| a.last_stripe_event_created);
        let followed = current.and_then(|a| a.stripe_subscription_id.clone());
        let status = current.and_then(|a| a.subscription_status.clone());
        let in_order = last.is_none_or(|last| last <= as_of);
        let same = followed.as_deref() == Some(state.subscription_id.as_str());
        let allowed = if state.status.is_live() {
            !(last == Some(as_of) && same && status.as_deref() == Some("canceled"))
        } else {
            followed.is_none()
                || same
                || !matches!(status.as_deref(), Some("active" | "trialing" | "past_due"))
        };
        if !(in_order && allowed) {
            return Ok(Applied::Stale);
        }
        let account = items.entry(location.clone()).or_insert_with(|| Account {
            location_id: location.as_str().to_owned(),
            created_at: now,
            ..Account::default()
        });
        account.stripe_subscription_id = Some(state.subscription_id.clone());
        account.subscription_status = Some(state.status.as_str().to_owned());
        account.cancel_at_period_end = state.cancel_at_period_end;
        account.stored_plan = state.plan(now);
        account.last_stripe_event_created = Some(as_of);
        account.billing_synced_at = Some(now);
        account.updated_at = now;
        if let Some(customer) = &state.customer_id {
            account.stripe_customer_id = Some(customer.clone());
        }
        account.current_period_end = state.current_period_end;
        account.subscription_ends_at = state.ends_at;
        Ok(Applied::Applied)
    }

    async fn end_foreign_subscription(
        &self,
        location: &LocationId,
        subscription_id: &str,
        as_of: i64,
        now: i64,
    ) -> Result<Applied, StoreError> {
        let mut items = self.items();
        let Some(account) = items.get_mut(location) else {
            return Ok(Applied::Stale);
        };
        let follows = account.stripe_subscription_id.as_deref() == Some(subscription_id);
        let in_order = account
            .last_stripe_event_created
            .is_none_or(|last| last <= as_of);
        if !(follows && in_order) {
            return Ok(Applied::Stale);
        }
        account.subscription_status = Some("canceled".into());
        account.stored_plan = Plan::Free;
        account.subscription_ends_at = Some(as_of.min(now));
        account.cancel_at_period_end = false;
        account.last_stripe_event_created = Some(as_of);
        account.billing_synced_at = Some(now);
        account.updated_at = now;
        Ok(Applied::Applied)
    }
}

impl InstallWrites for MemoryAccounts {
    async fn mark_uninstalled(
        &self,
        location: &LocationId,
        uninstalled_at: i64,
        now: i64,
    ) -> Result<Marked, StoreError> {
        let mut items = self.items();
        let Some(account) = items.get_mut(location) else {
            return Ok(Marked::Absent);
        };
        let installed_before = account.installed_at.is_none_or(|at| at <= uninstalled_at);
        let marked_before = account.uninstalled_at.is_none_or(|at| at <= uninstalled_at);
        if installed_before && marked_before {
            account.uninstalled_at = Some(uninstalled_at);
            account.access_token = None;
            account.refresh_token = None;
            account.token_expires_at = None;
            account.updated_at = now;
            return Ok(Marked::Marked);
        }
        Ok(match account.uninstalled_at {
            Some(at) if at >= uninstalled_at => Marked::Marked,
            _ => Marked::InstalledSince,
        })
    }

    async fn record_installation(
        &self,
        location: &LocationId,
        installation: &Installation,
        now: i64,
    ) -> Result<bool, StoreError> {
        let mut items = self.items();
        let later_uninstall = items
            .get(location)
            .and_then(|a| a.uninstalled_at)
            .is_some_and(|at| at > installation.installed_at);
        if later_uninstall {
            return Ok(false);
        }
        let account = items.entry(location.clone()).or_insert_with(|| Account {
            location_id: location.as_str().to_owned(),
            created_at: now,
            ..Account::default()
        });
        account.installed_at = Some(installation.installed_at);
        account.uninstalled_at = None;
        account.updated_at = now;
        if let Some(company) = installation.company_id.as_deref().filter(|c| !c.is_empty()) {
            account.company_id = Some(company.to_owned());
        }
        Ok(true)
    }
}

impl QuotaWrites for MemoryAccounts {
    async fn consume_quota_once(
        &self,
        location: &LocationId,
        period: &str,
        max: u32,
        request: &str,
    ) -> Result<Option<u32>, StoreError> {
        if !self.items().contains_key(location) {
            return Ok(None); // the table's condition: the account exists
        }
        let key = (location.clone(), period.to_owned());
        let mut usage = self.usage.lock().unwrap_or_else(|p| p.into_inner());
        let mut counted = self.counted.lock().unwrap_or_else(|p| p.into_inner());
        let used = usage.entry(key.clone()).or_insert(0);
        let requests = counted.entry(key).or_default();
        if requests.contains(request) {
            return Ok(Some(*used)); // already counted: the same request, sent again
        }
        if *used >= max {
            return Ok(None);
        }
        *used += 1;
        requests.insert(request.to_owned());
        Ok(Some(*used))
    }

    async fn release_quota_once(
        &self,
        location: &LocationId,
        period: &str,
        request: &str,
    ) -> Result<(), StoreError> {
        let key = (location.clone(), period.to_owned());
        let mut usage = self.usage.lock().unwrap_or_else(|p| p.into_inner());
        let mut counted = self.counted.lock().unwrap_or_else(|p| p.into_inner());
        let was_counted = counted.get_mut(&key).is_some_and(|r| r.remove(request));
        if let (true, Some(used)) = (was_counted, usage.get_mut(&key)) {
            *used = used.saturating_sub(1);
        }
        Ok(())
    }
}
