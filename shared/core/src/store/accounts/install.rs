//! Account writes of the install webhook: recording an installation, erasing an uninstalled location,
//! and finding a company's locations. Partial updates, like the OAuth flow's and billing's, so
//! none of them overwrites the others' fields.

use std::collections::HashMap;
use std::future::Future;

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use serde::{Deserialize, Serialize};

use crate::auth::LocationId;
use crate::store::accounts::Accounts;
use crate::store::{conditional, is_conditional_failure, StoreError};

/// What an `INSTALL` delivery tells about the installation (tokens still come from OAuth).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Installation {
    /// Epoch seconds: the delivery's timestamp.
    pub installed_at: i64,
    pub company_id: Option<String>,
    pub app_id: Option<String>,
    /// The app version installed (HighLevel's `versionId`).
    pub version_id: Option<String>,
    /// The marketplace plan chosen at install (HighLevel's `planId`).
    pub plan_id: Option<String>,
    pub install_type: Option<String>,
}

/// What became of an account on uninstall.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum AccountErasure {
    /// There was no account (a location we never saw).
    Absent,
    /// No billing to keep: the whole item is gone.
    Deleted,
    /// A Stripe customer or subscription is linked: only the billing fields remain (with the
    /// month's usage counter, if any).
    BillingKept,
    /// No billing, but free analyses counted this month: the item stays with `KEPT_FOR_USAGE`
    /// (`locationId`, `companyId`, `plan`, `createdAt`, `updatedAt`, `uninstalledAt`) and that
    /// counter, so a reinstall does not restore the free quota.
    UsageKept,
    /// Installed or connected again since the uninstall (no `uninstalledAt` at or after it any
    /// more, or tokens written after the mark removed them): the new installation's, left alone.
    InstalledSince,
}

/// The account is still the uninstalled one the job is about: marked by this uninstall or a
/// later one, and without tokens (the mark removed them; only a new OAuth connection writes
/// them again). An `INSTALL` since removed `uninstalledAt`.
const STILL_UNINSTALLED: &str =
    "attribute_exists(uninstalledAt) AND uninstalledAt >= :at AND attribute_not_exists(accessToken)";

fn still_uninstalled(item: &HashMap<String, AttributeValue>, uninstalled_at: i64) -> bool {
    let marked = item
        .get("uninstalledAt")
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse::<i64>().ok())
        .is_some_and(|at| at >= uninstalled_at);
    marked && !item.contains_key("accessToken")
}

/// The monthly usage counters an uninstall keeps (issue 16: erasing them gave a location 10
/// more free analyses per reinstall): the month of the uninstall and the current month, named as
/// `store::accounts::usage` names them (`usage_YYYY_MM`). Older months no longer count.
fn kept_usage(uninstalled_at: i64, now: i64) -> Vec<String> {
    let mut kept = Vec::with_capacity(2);
    for at in [uninstalled_at, now] {
        let name = format!("usage_{}", crate::plans::usage_period(at).replace('-', "_"));
        if !kept.contains(&name) {
            kept.push(name);
        }
    }
    kept
}

/// Attributes an uninstall keeps on an account that links a Stripe customer or subscription,
/// so a paying subscription is neither lost nor orphaned (docs/GHL_WEBHOOK.md).
const KEPT_ON_UNINSTALL: &[&str] = &[
    "locationId",
    "companyId",
    "plan",
    "stripeCustomerId",
    "stripeSubscriptionId",
    "subscriptionStatus",
    "currentPeriodEnd",
    "cancelAtPeriodEnd",
    "subscriptionEndsAt",
    "lastStripeEventCreated",
    "billingSyncedAt",
    "createdAt",
    "updatedAt",
    "uninstalledAt",
];

/// What stays of an account without billing whose month's usage an uninstall keeps.
const KEPT_FOR_USAGE: &[&str] = &[
    "locationId",
    "companyId",
    "plan",
    "createdAt",
    "updatedAt",
    "uninstalledAt",
];

/// Always removed, even if written after our read: the tokens and what guards them.
/// Removing `tokenVersion` also makes a refresh that was in flight fail its conditional write.
const TOKEN_ATTRIBUTES: &[&str] = &[
    "accessToken",
    "refreshToken",
    "tokenExpiresAt",
    "tokenVersion",
    "refreshLockUntil",
    "scopes",
    "userId",
];

/// What `require_session` needs to know of a location's account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstallState {
    /// No account item: never connected, or erased by an uninstall.
    Absent,
    /// An account that no uninstall has marked.
    Installed,
    /// Marked uninstalled by HighLevel's event sent at these epoch seconds (an OAuth connection
    /// made after it opens new sessions; the ones opened before it are over).
    UninstalledAt(i64),
}

impl InstallState {
    /// Whether a session opened at `created_at` (epoch seconds) outlived its installation: the
    /// account is gone, or was uninstalled at or after the session's creation (issue 16).
    pub fn ends_session_created_at(self, created_at: i64) -> bool {
        match self {
            InstallState::Absent => true,
            InstallState::Installed => false,
            InstallState::UninstalledAt(at) => at >= created_at,
        }
    }
}

/// What marking an account uninstalled did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marked {
    /// `uninstalledAt` set and the tokens removed: every session and token stops working now.
    Marked,
    /// No account: nothing to mark (a location we never saw, or already erased).
    Absent,
    /// Installed again after this uninstall was sent (a late delivery): left alone.
    InstalledSince,
}

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

impl Accounts {
    /// Erases what an uninstall must erase from the account item (see [`AccountErasure`]), the
    /// erasure worker's step for the account. Every write is conditional on the account still
    /// being the uninstalled one ([`STILL_UNINSTALLED`]): a reinstall or a new connection since,
    /// even one landing between the read and the write, keeps its account.
    #[tracing::instrument(skip(self), fields(location = %location))]
    pub async fn erase_for_uninstall(
        &self,
        location: &LocationId,
        uninstalled_at: i64,
        now: i64,
    ) -> Result<AccountErasure, StoreError> {
        let read = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(location)))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        let Some(item) = read.item else {
            return Ok(AccountErasure::Absent);
        };
        if !still_uninstalled(&item, uninstalled_at) {
            return Ok(AccountErasure::InstalledSince);
        }
        let kept_usage = kept_usage(uninstalled_at, now);
        let counted = kept_usage
            .iter()
            .any(|name| matches!(item.get(name), Some(AttributeValue::N(n)) if n != "0"));
        let billing = has_billing(&item);
        if !billing && !counted {
            // Conditional: if checkout linked a customer meanwhile, keep it (update below).
            let deleted = self
                .client
                .delete_item()
                .table_name(&self.table)
                .set_key(Some(Self::key(location)))
                .condition_expression(format!(
                    "attribute_not_exists(stripeCustomerId) AND attribute_not_exists(stripeSubscriptionId) AND {STILL_UNINSTALLED}"
                ))
                .expression_attribute_values(":at", AttributeValue::N(uninstalled_at.to_string()))
                .send()
                .await;
            match deleted {
                Ok(_) => return Ok(AccountErasure::Deleted),
                Err(err) if is_conditional_failure(&err) => {}
                Err(err) => return Err(StoreError::from_sdk(err)),
            }
        }
        let mut removed: Vec<&str> = TOKEN_ATTRIBUTES.to_vec();
        let kept = if billing {
            KEPT_ON_UNINSTALL
        } else {
            KEPT_FOR_USAGE
        };
        for name in item.keys() {
            if !kept.contains(&name.as_str())
                && !kept_usage.contains(name)
                && !removed.contains(&name.as_str())
            {
                removed.push(name);
            }
        }
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(location)))
            .condition_expression(STILL_UNINSTALLED)
            .expression_attribute_values(":at", AttributeValue::N(uninstalled_at.to_string()))
            .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
            .return_values(ReturnValue::None);
        let mut placeholders = Vec::with_capacity(removed.len());
        for (i, name) in removed.iter().enumerate() {
            let placeholder = format!("#r{i}");
            update = update.expression_attribute_names(&placeholder, *name);
            placeholders.push(placeholder);
        }
        let result = update
            .update_expression(format!(
                "SET updatedAt = :now REMOVE {}",
                placeholders.join(", ")
            ))
            .send()
            .await;
        match result {
            Ok(_) if billing => Ok(AccountErasure::BillingKept),
            Ok(_) => Ok(AccountErasure::UsageKept),
            // Deleted in between (a duplicate job), or installed again since the read.
            Err(err) if is_conditional_failure(&err) => {
                Ok(match self.install_state(location).await? {
                    InstallState::Absent => AccountErasure::Absent,
                    _ => AccountErasure::InstalledSince,
                })
            }
            Err(err) => Err(StoreError::from_sdk(err)),
        }
    }

    /// Whether the account exists and when it was last marked uninstalled (two attributes, a
    /// strongly consistent read: `require_session` asks on every authenticated request).
    pub async fn install_state(&self, location: &LocationId) -> Result<InstallState, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(location)))
            .projection_expression("locationId, uninstalledAt")
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        let Some(item) = output.item else {
            return Ok(InstallState::Absent);
        };
        Ok(
            match item
                .get("uninstalledAt")
                .and_then(|v| v.as_n().ok())
                .and_then(|n| n.parse().ok())
            {
                Some(at) => InstallState::UninstalledAt(at),
                None => InstallState::Installed,
            },
        )
    }

    /// One page (at most [`COMPANY_PAGE`]) of the locations of `company` we hold an account for,
    /// through the accounts table's sparse `byCompany` index (keys only; an account without
    /// `companyId` is not in it): no Scan, and a company of any size is walked page by page.
    /// `None` as the next position: the last page. The index is eventually consistent: a
    /// location tied to the company in the last instant may be missed (HighLevel's own
    /// location-level event, or its retry, covers it).
    #[tracing::instrument(skip(self, start))]
    pub async fn company_locations_page(
        &self,
        company: &str,
        start: Option<CompanyPosition>,
    ) -> Result<(Vec<LocationId>, Option<CompanyPosition>), StoreError> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("byCompany")
            .key_condition_expression("companyId = :company")
            .expression_attribute_values(":company", s(company))
            .limit(COMPANY_PAGE)
            .set_exclusive_start_key(start.map(|p| p.0))
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        let mut locations = Vec::new();
        for item in output.items.unwrap_or_default() {
            if let Some(id) = item.get("locationId").and_then(|v| v.as_s().ok()) {
                if let Ok(location) = LocationId::parse(id) {
                    locations.push(location);
                }
            }
        }
        let next = output
            .last_evaluated_key
            .filter(|key| !key.is_empty())
            .map(CompanyPosition);
        Ok((locations, next))
    }
}

/// Most locations read per page of a company's locations.
pub const COMPANY_PAGE: i32 = 100;

/// Where the next page of a company's locations starts (DynamoDB's key, opaque).
#[derive(Debug, Clone)]
pub struct CompanyPosition(HashMap<String, AttributeValue>);

fn has_billing(item: &HashMap<String, AttributeValue>) -> bool {
    ["stripeCustomerId", "stripeSubscriptionId"]
        .iter()
        .any(|name| matches!(item.get(*name), Some(AttributeValue::S(v)) if !v.is_empty()))
}

/// The account writes of the install webhook (`install::record_install`,
/// `install::queue_erasure`): the DynamoDB table ([`Accounts`]) in the functions,
/// [`super::memory::MemoryAccounts`] in unit tests.
pub trait InstallWrites: Sync {
    /// Marks the account uninstalled at `uninstalled_at` (the event's time) and removes its tokens
    /// in one conditional update, before anything is erased: from then on no session opened
    /// before it passes `require_session`, and no token is left to call HighLevel with. An
    /// account installed again after the event was sent, or already marked by a later one, is
    /// left alone.
    fn mark_uninstalled(
        &self,
        location: &LocationId,
        uninstalled_at: i64,
        now: i64,
    ) -> impl Future<Output = Result<Marked, StoreError>> + Send;

    /// Records an installation on the account, creating it (plan Free) if OAuth has not yet.
    /// Returns false when the account was uninstalled after this install was sent (a late,
    /// out-of-order delivery): nothing is written then.
    fn record_installation(
        &self,
        location: &LocationId,
        installation: &Installation,
        now: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

impl InstallWrites for Accounts {
    #[tracing::instrument(skip(self), fields(location = %location))]
    async fn mark_uninstalled(
        &self,
        location: &LocationId,
        uninstalled_at: i64,
        now: i64,
    ) -> Result<Marked, StoreError> {
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(location)))
            .condition_expression(
                "attribute_exists(locationId) \
                 AND (attribute_not_exists(installedAt) OR installedAt <= :at) \
                 AND (attribute_not_exists(uninstalledAt) OR uninstalledAt <= :at)",
            )
            .expression_attribute_values(":at", AttributeValue::N(uninstalled_at.to_string()))
            .expression_attribute_values(":now", AttributeValue::N(now.to_string()));
        let mut placeholders = Vec::with_capacity(TOKEN_ATTRIBUTES.len());
        for (i, name) in TOKEN_ATTRIBUTES.iter().enumerate() {
            let placeholder = format!("#t{i}");
            update = update.expression_attribute_names(&placeholder, *name);
            placeholders.push(placeholder);
        }
        let result = update
            .update_expression(format!(
                "SET uninstalledAt = :at, updatedAt = :now REMOVE {}",
                placeholders.join(", ")
            ))
            .send()
            .await;
        if conditional(result)?.is_some() {
            return Ok(Marked::Marked);
        }
        Ok(match self.install_state(location).await? {
            InstallState::Absent => Marked::Absent,
            // Marked by this event already (a retry), or by a later one: uninstalled either way.
            InstallState::UninstalledAt(at) if at >= uninstalled_at => Marked::Marked,
            _ => Marked::InstalledSince,
        })
    }

    #[tracing::instrument(skip(self, installation), fields(location = %location))]
    async fn record_installation(
        &self,
        location: &LocationId,
        installation: &Installation,
        now: i64,
    ) -> Result<bool, StoreError> {
        let mut sets = vec![
            "installedAt = :at",
            "updatedAt = :now",
            "createdAt = if_not_exists(createdAt, :now)",
            "#plan = if_not_exists(#plan, :free)",
        ];
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(location)))
            .condition_expression("attribute_not_exists(uninstalledAt) OR uninstalledAt <= :at")
            .expression_attribute_names("#plan", "plan")
            .expression_attribute_values(
                ":at",
                AttributeValue::N(installation.installed_at.to_string()),
            )
            .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
            .expression_attribute_values(":free", s("free"));
        for (attribute, placeholder, value) in [
            ("companyId = :company", ":company", &installation.company_id),
            ("appId = :app", ":app", &installation.app_id),
            (
                "appVersionId = :version",
                ":version",
                &installation.version_id,
            ),
            (
                "installPlanId = :installPlan",
                ":installPlan",
                &installation.plan_id,
            ),
            (
                "installType = :installType",
                ":installType",
                &installation.install_type,
            ),
        ] {
            if let Some(value) = value.as_deref().filter(|v| !v.is_empty()) {
                sets.push(attribute);
                update = update.expression_attribute_values(placeholder, s(value));
            }
        }
        let result = update
            .update_expression(format!("SET {} REMOVE uninstalledAt", sets.join(", ")))
            .send()
            .await;
        Ok(conditional(result)?.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::InstallState;

    #[test]
    fn a_session_ends_with_its_account_or_an_uninstall_at_or_after_its_creation() {
        assert!(InstallState::Absent.ends_session_created_at(100));
        assert!(!InstallState::Installed.ends_session_created_at(100));
        assert!(InstallState::UninstalledAt(100).ends_session_created_at(100));
        assert!(InstallState::UninstalledAt(101).ends_session_created_at(100));
        assert!(
            !InstallState::UninstalledAt(99).ends_session_created_at(100),
            "a session opened after the uninstall (a reconnection) lives"
        );
    }
}
