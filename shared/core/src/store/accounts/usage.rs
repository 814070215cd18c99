//! The free plan's monthly usage counters (`usage_YYYY_MM`), counted with conditional updates so
//! concurrent requests can never count past the limit.

use std::future::Future;

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};

use super::Accounts;
use crate::auth::LocationId;
use crate::store::{is_conditional_failure, StoreError};

/// The usage writes the quota rule (`plans::keep_analysis`) makes: the DynamoDB table
/// ([`Accounts`]) in the functions, [`super::memory::MemoryAccounts`] in unit tests.
pub trait QuotaWrites: Sync {
    /// Counts one free-plan analysis in `period` (`YYYY-MM`) unless `max` are already counted.
    /// One conditional update: concurrent requests can never push the count past `max`.
    /// Returns the count after this one, or `None` when the quota is used up.
    fn consume_quota(
        &self,
        location: &LocationId,
        period: &str,
        max: u32,
    ) -> impl Future<Output = Result<Option<u32>, StoreError>> + Send;

    /// Gives back one counted analysis (its result could not be saved).
    fn release_quota(
        &self,
        location: &LocationId,
        period: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

impl QuotaWrites for Accounts {
    async fn consume_quota(
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

    async fn release_quota(&self, location: &LocationId, period: &str) -> Result<(), StoreError> {
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
}

impl Accounts {
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
