//! Storage ports on DynamoDB: sessions, accounts (and, in their own modules, results,
//! idempotency records and rate-limit windows). Items map through `serde_dynamo`.

pub mod accounts;
pub mod cursor;
pub mod rate_limits;
pub mod results;
pub mod sessions;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

use crate::http::ApiError;

/// A storage failure. `Unavailable` is worth a retry (throttling, timeouts, 5xx) and answers 503;
/// anything else is a bug or a misconfiguration and answers 500 with details only in the log.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    #[error("storage error: {0}")]
    Failed(String),
}

impl StoreError {
    /// Classifies any DynamoDB SDK error.
    pub fn from_sdk<E, R>(err: SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug,
    {
        let retryable = match &err {
            SdkError::DispatchFailure(_)
            | SdkError::TimeoutError(_)
            | SdkError::ResponseError(_) => true,
            SdkError::ServiceError(service) => matches!(
                service.err().code(),
                Some(
                    "ThrottlingException"
                        | "ProvisionedThroughputExceededException"
                        | "RequestLimitExceeded"
                        | "InternalServerError"
                        | "ServiceUnavailable"
                        | "TransactionConflictException"
                )
            ),
            _ => false,
        };
        let text = aws_sdk_dynamodb::error::DisplayErrorContext(&err).to_string();
        if retryable {
            StoreError::Unavailable(text)
        } else {
            StoreError::Failed(text)
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Unavailable(detail) => {
                tracing::warn!(error = %detail, "storage unavailable");
                ApiError::ServiceUnavailable {
                    message: "storage is temporarily unavailable, please retry".into(),
                    retry_after_secs: Some(2),
                }
            }
            StoreError::Failed(detail) => ApiError::Internal(detail),
        }
    }
}

impl From<serde_dynamo::Error> for StoreError {
    fn from(err: serde_dynamo::Error) -> Self {
        StoreError::Failed(format!("item mapping: {err}"))
    }
}

/// True when the SDK error is a failed condition (someone else won the race).
pub fn is_conditional_failure<E, R>(err: &SdkError<E, R>) -> bool
where
    E: ProvideErrorMetadata,
{
    matches!(err, SdkError::ServiceError(s) if s.err().code() == Some("ConditionalCheckFailedException"))
}

/// Milliseconds since the Unix epoch (analysis ids and idempotency expiries).
pub fn now_epoch_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// Seconds since the Unix epoch; the clock is read here, at the edge of the store, only.
pub fn now_epoch() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}
