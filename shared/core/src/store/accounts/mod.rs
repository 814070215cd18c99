//! The accounts table, all of it here: one item per HighLevel location, holding its encrypted
//! OAuth tokens, its plan and billing state, its install details and its usage counters. This
//! module has the item and its reads; each concern's writes have their own module (`tokens` for
//! the OAuth flow, `usage` for the free quota, `billing` for Stripe's state, `install` for the
//! HighLevel app install webhook, `settings` for the rule settings). Writes are partial conditional updates, so no concern ever
//! overwrites another's fields.

pub mod billing;
pub mod install;
pub mod memory;
mod settings;
mod tokens;
pub mod usage;

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};

use super::StoreError;
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
    /// When HighLevel reported the app uninstalled (kept while billing fields keep the item):
    /// an install sent before it is a late delivery and changes nothing.
    pub uninstalled_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    /// The account's rule settings (`workflow_analyzer::RuleConfig` as JSON, validated when
    /// written); read through [`Account::rule_settings`].
    #[serde(rename = "ruleSettings")]
    pub stored_rule_settings: Option<String>,
    /// When the rule settings were last written (epoch seconds).
    pub rule_settings_updated_at: Option<i64>,
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
}
