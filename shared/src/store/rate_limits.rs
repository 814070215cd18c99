//! Rate-limit windows: one atomic counter per (scope, subject, fixed window), expiring by TTL.
//! The increment is conditional, so concurrent requests can never exceed the limit.

use aws_sdk_dynamodb::types::AttributeValue;

use super::{is_conditional_failure, StoreError};
use crate::http::ApiError;

/// A limit: `max` requests per `window_secs`, for one kind of subject.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    pub scope: &'static str,
    pub max: u32,
    pub window_secs: i64,
}

/// Login attempts per IP: 5 per 15 minutes.
pub const LOGIN_PER_IP: Limit = Limit {
    scope: "login-ip",
    max: 5,
    window_secs: 900,
};
/// Analyses per account: 30 per minute.
pub const ANALYZE_PER_ACCOUNT: Limit = Limit {
    scope: "analyze-account",
    max: 30,
    window_secs: 60,
};

#[derive(Clone)]
pub struct RateLimits {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl RateLimits {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// Counts one hit for `subject`; 429 `RATE_LIMITED` with the seconds left once over `limit`.
    pub async fn hit(&self, limit: Limit, subject: &str, now: i64) -> Result<(), ApiError> {
        let window = now - now.rem_euclid(limit.window_secs);
        let reset = window + limit.window_secs;
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(
                "key",
                AttributeValue::S(format!("{}#{subject}#{window}", limit.scope)),
            )
            .update_expression("ADD hits :one SET expiresAt = :exp")
            .condition_expression("attribute_not_exists(hits) OR hits < :max")
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":max", AttributeValue::N(limit.max.to_string()))
            .expression_attribute_values(":exp", AttributeValue::N((reset + 60).to_string()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) if is_conditional_failure(&err) => Err(ApiError::RateLimited {
                retry_after_secs: (reset - now).max(1) as u64,
            }),
            Err(err) => Err(StoreError::from_sdk(err).into()),
        }
    }
}
