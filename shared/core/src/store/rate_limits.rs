//! Rate-limit windows: one atomic counter per (scope, subject, fixed window), expiring by TTL.
//! The increment is conditional, so concurrent requests can never exceed the limit.

use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};

use super::{is_conditional_failure, StoreError};

/// A limit: `max` requests per `window_secs`, for one kind of subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub scope: &'static str,
    pub max: u32,
    pub window_secs: i64,
}

impl Limit {
    /// Parses `N/SECONDS` (e.g. `5/900`) from configuration.
    pub fn parse(scope: &'static str, raw: &str) -> Option<Self> {
        let (max, window) = raw.trim().split_once('/')?;
        let max: u32 = max.trim().parse().ok().filter(|m| *m > 0)?;
        let window_secs: i64 = window
            .trim()
            .parse()
            .ok()
            .filter(|w| *w > 0 && *w <= 86_400)?;
        Some(Self {
            scope,
            max,
            window_secs,
        })
    }
}

/// The application's limits (configurable: `RATE_LIMIT_LOGIN`, `RATE_LIMIT_ANALYZE`,
/// `RATE_LIMIT_DEFAULT`, each `N/SECONDS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitConfig {
    /// Login attempts per IP (default 5 per 15 minutes).
    pub login: Limit,
    /// Analyses per account (default 30 per minute).
    pub analyze: Limit,
    /// Every other throttled route, per IP (default 100 per minute).
    pub general: Limit,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            login: Limit {
                scope: "login-ip",
                max: 5,
                window_secs: 900,
            },
            analyze: Limit {
                scope: "analyze-account",
                max: 30,
                window_secs: 60,
            },
            general: Limit {
                scope: "ip",
                max: 100,
                window_secs: 60,
            },
        }
    }
}

/// A counted request: what is left of the window, for the `RateLimit-*` headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allowance {
    pub limit: u32,
    pub remaining: u32,
    pub reset_secs: i64,
}

/// Why a hit was not counted.
#[derive(Debug, thiserror::Error)]
pub enum RateLimitError {
    /// Over the limit: retry after this many seconds.
    #[error("too many requests, retry in {retry_after_secs} s")]
    Exceeded { retry_after_secs: u64, limit: u32 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

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

    /// Deletes the live windows of `subject` under `limit` (an uninstalled location's analyze
    /// windows), found by key, no Scan: windows are fixed (`{scope}#{subject}#{window start}`),
    /// so the only one still counting at `now` is the current one; the previous one is deleted
    /// too (a clock near the boundary). Older windows count nothing any more and carry no data
    /// but the key: DynamoDB's TTL (`expiresAt`, a minute after the window ends) removes them.
    /// Returns how many existed.
    #[tracing::instrument(skip(self))]
    pub async fn delete_windows_for(
        &self,
        limit: Limit,
        subject: &str,
        now: i64,
    ) -> Result<u32, StoreError> {
        let current = now - now.rem_euclid(limit.window_secs);
        let mut deleted = 0;
        for window in [current, current - limit.window_secs] {
            let output = self
                .client
                .delete_item()
                .table_name(&self.table)
                .key(
                    "key",
                    AttributeValue::S(format!("{}#{subject}#{window}", limit.scope)),
                )
                .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
                .send()
                .await
                .map_err(StoreError::from_sdk)?;
            if output.attributes.is_some_and(|a| !a.is_empty()) {
                deleted += 1;
            }
        }
        Ok(deleted)
    }

    /// Counts one hit for `subject`; [`RateLimitError::Exceeded`] with the seconds left once over
    /// `limit`. Idempotent per call: the update carries a token of this call, the window keeps
    /// the tokens it counted (`reqs`, at most `limit.max` of them), and an update the SDK retries
    /// after a lost reply finds its token there (the refused update returns the item) and counts
    /// nothing again.
    pub async fn hit(
        &self,
        limit: Limit,
        subject: &str,
        now: i64,
    ) -> Result<Allowance, RateLimitError> {
        let token = hex::encode(rand::random::<[u8; 12]>());
        self.hit_once(limit, subject, now, &token).await
    }

    /// [`Self::hit`] for the call named `token`.
    pub async fn hit_once(
        &self,
        limit: Limit,
        subject: &str,
        now: i64,
        token: &str,
    ) -> Result<Allowance, RateLimitError> {
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
            .update_expression("ADD hits :one, reqs :req SET expiresAt = :exp")
            .condition_expression(
                "(attribute_not_exists(hits) OR hits < :max) AND NOT contains(reqs, :token)",
            )
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":max", AttributeValue::N(limit.max.to_string()))
            .expression_attribute_values(":exp", AttributeValue::N((reset + 60).to_string()))
            .expression_attribute_values(":req", AttributeValue::Ss(vec![token.to_owned()]))
            .expression_attribute_values(":token", AttributeValue::S(token.to_owned()))
            .return_values(ReturnValue::UpdatedNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let allowance = |hits: u32| Allowance {
            limit: limit.max,
            remaining: limit.max.saturating_sub(hits),
            reset_secs: reset - now,
        };
        match result {
            Ok(output) => Ok(allowance(
                output
                    .attributes
                    .as_ref()
                    .and_then(hits_of)
                    .unwrap_or(limit.max),
            )),
            Err(err) if is_conditional_failure(&err) => {
                // This very call, counted by an attempt whose reply was lost: it stands.
                let old = match err.as_service_error() {
                    Some(UpdateItemError::ConditionalCheckFailedException(e)) => e.item(),
                    _ => None,
                };
                let counted = old
                    .and_then(|item| item.get("reqs"))
                    .and_then(|v| v.as_ss().ok())
                    .is_some_and(|set| set.iter().any(|t| t == token));
                if counted {
                    return Ok(allowance(old.and_then(hits_of).unwrap_or(limit.max)));
                }
                Err(RateLimitError::Exceeded {
                    retry_after_secs: (reset - now).max(1) as u64,
                    limit: limit.max,
                })
            }
            Err(err) => Err(StoreError::from_sdk(err).into()),
        }
    }
}

fn hits_of(item: &std::collections::HashMap<String, AttributeValue>) -> Option<u32> {
    item.get("hits")
        .and_then(|v| v.as_n().ok().and_then(|n| n.parse().ok()))
}
