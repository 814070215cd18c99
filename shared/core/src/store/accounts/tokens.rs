//! The OAuth flow's writes: the token pair after an authorization or a refresh, and the
//! refresh lock that lets exactly one of several concurrent callers spend a refresh token.

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};

use super::{Account, Accounts, TokenGrant};
use crate::auth::LocationId;
use crate::store::{conditional, StoreError};

impl Accounts {
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
}
