//! Storage ports on DynamoDB: sessions, accounts (and, in their own modules, results,
//! idempotency records and rate-limit windows). Items map through `serde_dynamo`.

pub mod accounts;
pub mod cursor;
pub mod rate_limits;
pub mod results;
pub mod sessions;

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

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
    pub fn from_sdk<E>(err: SdkError<E, HttpResponse>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let retryable = match &err {
            SdkError::DispatchFailure(_)
            | SdkError::TimeoutError(_)
            | SdkError::ResponseError(_) => true,
            // A 5xx is the service's trouble whatever its body says (an HTML 502 from a proxy
            // has no error code at all).
            SdkError::ServiceError(service) if service.raw().status().is_server_error() => true,
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

impl From<serde_dynamo::Error> for StoreError {
    fn from(err: serde_dynamo::Error) -> Self {
        StoreError::Failed(format!("item mapping: {err}"))
    }
}

/// The outcome of a conditional write: `Some(output)` when it happened, `None` when its
/// condition failed (someone else won the race, or the guarded state was not there); any other
/// failure classified as a `StoreError`.
pub fn conditional<T, E>(
    result: Result<T, SdkError<E, HttpResponse>>,
) -> Result<Option<T>, StoreError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match result {
        Ok(output) => Ok(Some(output)),
        Err(err) if is_conditional_failure(&err) => Ok(None),
        Err(err) => Err(StoreError::from_sdk(err)),
    }
}

/// True when the SDK error is a failed condition (someone else won the race).
pub fn is_conditional_failure<E, R>(err: &SdkError<E, R>) -> bool
where
    E: ProvideErrorMetadata,
{
    matches!(err, SdkError::ServiceError(s) if s.err().code() == Some("ConditionalCheckFailedException"))
}

/// Items read per page by the erasure's queries: a page is read, then written, then the next
/// one read, so one location's erasure holds at most this many keys at a time.
pub(crate) const PAGE: i32 = 100;

/// Most keys one `BatchWriteItem` takes.
const BATCH_SIZE: usize = 25;

/// Deletes `keys` from `table` in batches of 25, retrying unprocessed items with a short backoff
/// (throttling). Returns how many keys were deleted; fails if some stay unprocessed, so the
/// caller's retry (an idempotent erasure) finishes the job.
pub(crate) async fn batch_delete(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    keys: Vec<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>>,
) -> Result<u32, StoreError> {
    use aws_sdk_dynamodb::types::{DeleteRequest, WriteRequest};

    let count = keys.len();
    for chunk in keys.chunks(BATCH_SIZE) {
        let mut requests = chunk
            .iter()
            .map(|key| {
                DeleteRequest::builder()
                    .set_key(Some(key.clone()))
                    .build()
                    .map(|delete| WriteRequest::builder().delete_request(delete).build())
                    .map_err(|err| StoreError::Failed(format!("delete request: {err}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        for attempt in 0..6u32 {
            let output = client
                .batch_write_item()
                .request_items(table, requests)
                .send()
                .await
                .map_err(StoreError::from_sdk)?;
            requests = output
                .unprocessed_items
                .and_then(|mut left| left.remove(table))
                .unwrap_or_default();
            if requests.is_empty() {
                break;
            }
            if attempt == 5 {
                return Err(StoreError::Unavailable(format!(
                    "{} deletes still unprocessed after retries",
                    requests.len()
                )));
            }
            tokio::time::sleep(std::time::Duration::from_millis(50 << attempt)).await;
        }
    }
    Ok(u32::try_from(count).unwrap_or(u32::MAX))
}
