//! The account's rule settings: one attribute of the account item (`ruleSettings`, the JSON of
//! a validated `RuleConfig`), so the analysis that applies them reads them with the account it
//! reads anyway, and an uninstall erases them with the rest of the item.

use aws_sdk_dynamodb::types::AttributeValue;
use workflow_analyzer::RuleConfig;

use super::{Account, Accounts};
use crate::auth::LocationId;
use crate::store::{is_conditional_failure, StoreError};

impl Account {
    /// The stored rule settings, if any. They were validated when written; one that no longer
    /// reads is an error, never a silent return to the defaults.
    pub fn rule_settings(&self) -> Result<Option<RuleConfig>, StoreError> {
        self.stored_rule_settings
            .as_deref()
            .map(|json| {
                serde_json::from_str(json).map_err(|e| {
                    StoreError::Failed(format!("stored rule settings do not read: {e}"))
                })
            })
            .transpose()
    }
}

impl Accounts {
    /// Replaces the rule settings of an existing account (validated by the caller); `false`
    /// when there is no account.
    #[tracing::instrument(skip(self, settings), fields(location = %location))]
    pub async fn put_rule_settings(
        &self,
        location: &LocationId,
        settings: &RuleConfig,
        now: i64,
    ) -> Result<bool, StoreError> {
        let json = serde_json::to_string(settings)
            .map_err(|e| StoreError::Failed(format!("rule settings: {e}")))?;
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(location)))
            .update_expression(
                "SET ruleSettings = :settings, ruleSettingsUpdatedAt = :now, updatedAt = :now",
            )
            .condition_expression("attribute_exists(locationId)")
            .expression_attribute_values(":settings", AttributeValue::S(json))
            .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(err) if is_conditional_failure(&err) => Ok(false),
            Err(err) => Err(StoreError::from_sdk(err)),
        }
    }
}
