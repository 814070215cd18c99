//! The accounts table: one item per HighLevel location, holding its encrypted OAuth tokens, its
//! plan and billing state, and its usage counters. Writes are partial updates so that the OAuth
//! flow, billing and usage never overwrite each other's fields.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use serde::{Deserialize, Serialize};

use super::{conditional, is_conditional_failure, StoreError};
use crate::auth::LocationId;

pub use crate::plans::Plan;

/// An account item. Token fields hold ciphertext only (see `auth::crypto`).
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct Account {
    pub location_id: String,
    pub company_id: Option<String>,
    pub user_id: Option<String>,
    pub scopes: Option<String>,
    pub access_token: Option<String>,
    pub refresh_token: Option<String>,
    /// Epoch seconds when the access token stops working.
    pub token_expires_at: Option<i64>,
    /// Bumped on every token change; a refresh writes only if it still holds the version it read.
    pub token_version: i64,
    /// Epoch seconds until which one caller holds the right to spend the refresh token.
    pub refresh_lock_until: Option<i64>,
    /// The plan the billing state granted when it was written; time may have ended it since, so
    /// requests read [`Accounts::plan`] (or [`Account::effective_plan`]), never this.
    #[serde(rename = "plan")]
    pub stored_plan: Plan,
    pub stripe_customer_id: Option<String>,
    pub stripe_subscription_id: Option<String>,
    pub subscription_status: Option<String>,
    pub current_period_end: Option<i64>,
    pub cancel_at_period_end: bool,
    pub subscription_ends_at: Option<i64>,
    /// `created` of the last Stripe event applied, to ignore stale out-of-order deliveries.
    pub last_stripe_event_created: Option<i64>,
    /// When billing state was last confirmed against Stripe.
    pub billing_synced_at: Option<i64>,
    pub installed_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Account {
    pub fn location(&self) -> Result<LocationId, StoreError> {
        LocationId::parse(&self.location_id)
            .map_err(|_| StoreError::Failed("stored account has an invalid location id".into()))
    }
}

/// The token fields written after a code exchange or a refresh (already encrypted).
#[derive(Debug, Clone)]
pub struct TokenGrant {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_at: i64,
    pub scopes: String,
    pub company_id: Option<String>,
    pub user_id: Option<String>,
}

#[derive(Clone)]
pub struct Accounts {
    pub(crate) client: aws_sdk_dynamodb::Client,
    pub(crate) table: String,
}

impl Accounts {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    pub(crate) fn key(location: &LocationId) -> HashMap<String, AttributeValue> {
        HashMap::from([(
            "locationId".to_owned(),
            AttributeValue::S(location.as_str().to_owned()),
        )])
    }

    /// The plan `location` has at `now`: the one way requests read a plan (an account without an
    /// item is Free).
    pub async fn plan(&self, location: &LocationId, now: i64) -> Result<Plan, StoreError> {
        Ok(self
            .get(location)
            .await?
            .map(|account| account.effective_plan(now))
            .unwrap_or_default())
    }

    pub async fn get(&self, location: &LocationId) -> Result<Option<Account>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(location)))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        output
            .item
            .map(|item| serde_dynamo::from_item(item).map_err(StoreError::from))
            .transpose()
    }

    /// Stores tokens from a fresh authorization: creates the account (plan Free) or updates it,
    /// keeping its plan, billing and usage.
    #[tracing::instrument(skip(self, grant), fields(location = %location))]
    pub async fn save_authorization(
        &self,
        location: &LocationId,
        grant: &TokenGrant,
        now: i64,
    ) -> Result<Account, StoreError> {
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(location)))
            .update_expression(
                "SET accessToken = :a, refreshToken = :r, tokenExpiresAt = :e, scopes = :s, \
                 updatedAt = :now, \
                 tokenVersion = if_not_exists(tokenVersion, :zero) + :one, \
                 #plan = if_not_exists(#plan, :free), createdAt = if_not_exists(createdAt, :now), \
                 cancelAtPeriodEnd = if_not_exists(cancelAtPeriodEnd, :false)",
            )
            .expression_attribute_values(":a", AttributeValue::S(grant.access_token.clone()))
            .expression_attribute_values(":r", AttributeValue::S(grant.refresh_token.clone()))
            .expression_attribute_values(":e", AttributeValue::N(grant.expires_at.to_string()))
            .expression_attribute_values(":s", AttributeValue::S(grant.scopes.clone()))
            .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
            .expression_attribute_values(":zero", AttributeValue::N("0".into()))
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":free", AttributeValue::S("free".into()))
            .expression_attribute_names("#plan", "plan")
            .expression_attribute_values(":false", AttributeValue::Bool(false))
            .return_values(ReturnValue::AllNew);
        // Ids HighLevel did not send are left as they are, never overwritten with nothing (a
        // company-wide uninstall finds locations by companyId).
        let mut expression = update.get_update_expression().clone().unwrap_or_default();
        for (attribute, placeholder, value) in [
            ("companyId", ":c", &grant.company_id),
            ("userId", ":u", &grant.user_id),
        ] {
            if let Some(value) = value {
                expression.push_str(&format!(", {attribute} = {placeholder}"));
                update = update
                    .expression_attribute_values(placeholder, AttributeValue::S(value.clone()));
            }
        }
        update = update.update_expression(expression);
        let output = update.send().await.map_err(StoreError::from_sdk)?;
        let item = output
            .attributes
            .ok_or_else(|| StoreError::Failed("update returned no attributes".into()))?;
        Ok(serde_dynamo::from_item(item)?)
    }

    /// Replaces the tokens after a refresh, only if nobody refreshed since `expected_version`
    /// was read. `Ok(false)` means another refresh won: re-read the account and use its tokens.
    pub async fn replace_tokens(
        &self,
        location: &LocationId,
        expected_version: i64,
        grant: &TokenGrant,
        now: i64,
    ) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(location)))
            .update_expression(
                "SET accessToken = :a, refreshToken = :r, tokenExpiresAt = :e, scopes = :s, \
                 updatedAt = :now, tokenVersion = :next REMOVE refreshLockUntil",
            )
            .condition_expression("tokenVersion = :expected")
            .expression_attribute_values(":a", AttributeValue::S(grant.access_token.clone()))
            .expression_attribute_values(":r", AttributeValue::S(grant.refresh_token.clone()))
            .expression_attribute_values(":e", AttributeValue::N(grant.expires_at.to_string()))
            .expression_attribute_values(":s", AttributeValue::S(grant.scopes.clone()))
            .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
            .expression_attribute_values(
                ":expected",
                AttributeValue::N(expected_version.to_string()),
            )
            .expression_attribute_values(
                ":next",
                AttributeValue::N((expected_version + 1).to_string()),
            )
            .send()
            .await;
        Ok(conditional(result)?.is_some())
    }

    /// Claims the right to spend the refresh token of `expected_version` for `hold_secs`.
    /// Exactly one of several concurrent callers gets `true`; the others wait for its result.
    pub async fn claim_refresh(
        &self,
        location: &LocationId,
        expected_version: i64,
        now: i64,
        hold_secs: i64,
    ) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(location)))
            .update_expression("SET refreshLockUntil = :until")
            .condition_expression(
                "tokenVersion = :expected AND (attribute_not_exists(refreshLockUntil) OR refreshLockUntil < :now)",
            )
            .expression_attribute_values(":until", AttributeValue::N((now + hold_secs).to_string()))
            .expression_attribute_values(":expected", AttributeValue::N(expected_version.to_string()))
            .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
            .send()
            .await;
        Ok(conditional(result)?.is_some())
    }

    /// Gives up a refresh claim that failed, so the next caller can try at once instead of
    /// waiting out the hold (only while the tokens are still the ones the claim was for).
    pub async fn release_refresh(
        &self,
        location: &LocationId,
        version: i64,
    ) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(location)))
            .update_expression("REMOVE refreshLockUntil")
            .condition_expression("tokenVersion = :v")
            .expression_attribute_values(":v", AttributeValue::N(version.to_string()))
            .send()
            .await;
        conditional(result).map(|_| ())
    }

    /// Counts one free-plan analysis in `period` (`YYYY-MM`) unless `max` are already counted.
    /// One conditional update: concurrent requests can never push the count past `max`.
    /// Returns the count after this one, or `None` when the quota is used up.
    pub async fn consume_quota(
        &self,
        location: &LocationId,
        period: &str,
        max: u32,
    ) -> Result<Option<u32>, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(location)))
            .update_expression("SET #u = if_not_exists(#u, :zero) + :one")
            .condition_expression(
                "attribute_exists(locationId) AND (attribute_not_exists(#u) OR #u < :max)",
            )
            .expression_attribute_names("#u", usage_attribute(period))
            .expression_attribute_values(":zero", AttributeValue::N("0".into()))
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":max", AttributeValue::N(max.to_string()))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await;
        match result {
            Ok(output) => Ok(output
                .attributes
                .and_then(|a| a.get(&usage_attribute(period)).cloned())
                .and_then(|v| v.as_n().ok().and_then(|n| n.parse().ok()))),
            Err(err) if is_conditional_failure(&err) => Ok(None),
            Err(err) => Err(StoreError::from_sdk(err)),
        }
    }

    /// Gives back one counted analysis (its result could not be saved).
    pub async fn release_quota(
        &self,
        location: &LocationId,
        period: &str,
    ) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(location)))
            .update_expression("SET #u = #u - :one")
            .condition_expression("#u > :zero")
            .expression_attribute_names("#u", usage_attribute(period))
            .expression_attribute_values(":zero", AttributeValue::N("0".into()))
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) if is_conditional_failure(&err) => Ok(()),
            Err(err) => Err(StoreError::from_sdk(err)),
        }
    }

    /// Free analyses counted in `period`.
    pub async fn quota_used(&self, location: &LocationId, period: &str) -> Result<u32, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(location)))
            .projection_expression("#u")
            .expression_attribute_names("#u", usage_attribute(period))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(output
            .item
            .and_then(|i| i.get(&usage_attribute(period)).cloned())
            .and_then(|v| v.as_n().ok().and_then(|n| n.parse().ok()))
            .unwrap_or(0))
    }
}

/// One attribute per month (`usage_2026_11`), so a new month starts at zero by itself.
fn usage_attribute(period: &str) -> String {
    format!("usage_{}", period.replace('-', "_"))
}
