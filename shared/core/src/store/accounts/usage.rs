//! The free plan's monthly usage counters (`usage_YYYY_MM`), counted with conditional updates so
//! concurrent requests can never count past the limit.

use std::future::Future;

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};

use super::Accounts;
use crate::auth::LocationId;
use crate::store::{is_conditional_failure, StoreError};

/// The usage writes the quota rule (`plans::keep_analysis`) makes: the DynamoDB table
/// ([`Accounts`]) in the functions, [`super::memory::MemoryAccounts`] in unit tests.
///
/// Both writes are idempotent per request: each names the request it counts (a server-made
/// token, the analysis id), the month's item keeps the tokens it counted
/// (`usageRequests_YYYY_MM`, at most the plan's limit of them), and an update the SDK retries
/// after a lost reply finds its token already there and counts nothing again.
pub trait QuotaWrites: Sync {
    /// Counts request `request`'s free-plan analysis in `period` (`YYYY-MM`) unless `max` are
    /// already counted. One conditional update: concurrent requests can never push the count
    /// past `max`, and the same request is counted once however often it is sent. Returns the
    /// count after this one, or `None` when the quota is used up.
    fn consume_quota_once(
        &self,
        location: &LocationId,
        period: &str,
        max: u32,
        request: &str,
    ) -> impl Future<Output = Result<Option<u32>, StoreError>> + Send;

    /// Gives back request `request`'s counted analysis (it failed or could not be saved); a
    /// request that was not counted, or was already given back, changes nothing.
    fn release_quota_once(
        &self,
        location: &LocationId,
        period: &str,
        request: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Counts one analysis under a fresh request token (for callers with no request of their
    /// own, such as tests setting up a used quota).
    fn consume_quota(
        &self,
        location: &LocationId,
        period: &str,
        max: u32,
    ) -> impl Future<Output = Result<Option<u32>, StoreError>> + Send {
        let request = hex::encode(rand::random::<[u8; 12]>());
        async move {
            self.consume_quota_once(location, period, max, &request)
                .await
        }
    }
}

impl QuotaWrites for Accounts {
    async fn consume_quota_once(
        &self,
        location: &LocationId,
        period: &str,
        max: u32,
        request: &str,
    ) -> Result<Option<u32>, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(location)))
            .update_expression("SET #u = if_not_exists(#u, :zero) + :one ADD #r :req")
            .condition_expression(
                "attribute_exists(locationId) AND (attribute_not_exists(#u) OR #u < :max) \
                 AND NOT contains(#r, :token)",
            )
            .expression_attribute_names("#u", usage_attribute(period))
            .expression_attribute_names("#r", requests_attribute(period))
            .expression_attribute_values(":zero", AttributeValue::N("0".into()))
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":max", AttributeValue::N(max.to_string()))
            .expression_attribute_values(":req", AttributeValue::Ss(vec![request.to_owned()]))
            .expression_attribute_values(":token", AttributeValue::S(request.to_owned()))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await;
        match result {
            Ok(output) => Ok(output
                .attributes
                .and_then(|a| a.get(&usage_attribute(period)).cloned())
                .and_then(|v| v.as_n().ok().and_then(|n| n.parse().ok()))),
            Err(err) if is_conditional_failure(&err) => {
                // Refused: the quota is used up, unless this very request was counted by an
                // earlier attempt whose reply was lost (then it stands, counted once).
                let (used, counted) = self.usage_of(location, period, request).await?;
                Ok(counted.then_some(used))
            }
            Err(err) => Err(StoreError::from_sdk(err)),
        }
    }

    async fn release_quota_once(
        &self,
        location: &LocationId,
        period: &str,
        request: &str,
    ) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(location)))
            .update_expression("SET #u = #u - :one DELETE #r :req")
            .condition_expression("#u > :zero AND contains(#r, :token)")
            .expression_attribute_names("#u", usage_attribute(period))
            .expression_attribute_names("#r", requests_attribute(period))
            .expression_attribute_values(":zero", AttributeValue::N("0".into()))
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":req", AttributeValue::Ss(vec![request.to_owned()]))
            .expression_attribute_values(":token", AttributeValue::S(request.to_owned()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) if is_conditional_failure(&err) => Ok(()),
            Err(err) => Err(StoreError::from_sdk(err)),
        }
    }
}

impl Accounts {
    /// The month's count, and whether `request` is among the requests it counted.
    async fn usage_of(
        &self,
        location: &LocationId,
        period: &str,
        request: &str,
    ) -> Result<(u32, bool), StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(location)))
            .projection_expression("#u, #r")
            .expression_attribute_names("#u", usage_attribute(period))
            .expression_attribute_names("#r", requests_attribute(period))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        let item = output.item.unwrap_or_default();
        let used = item
            .get(&usage_attribute(period))
            .and_then(|v| v.as_n().ok().and_then(|n| n.parse().ok()))
            .unwrap_or(0);
        let counted = item
            .get(&requests_attribute(period))
            .and_then(|v| v.as_ss().ok())
            .is_some_and(|set| set.iter().any(|r| r == request));
        Ok((used, counted))
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

/// The requests counted in the month (`usageRequests_2026_11`): a string set, so a retried
/// update can see it was already applied.
fn requests_attribute(period: &str) -> String {
    format!("usageRequests_{}", period.replace('-', "_"))
}
