//! The erasure queue's port: SQS in the functions ([`SqsErasureQueue`]), memory in unit tests
//! ([`MemoryErasureQueue`]).

use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use futures_util::{stream, StreamExt};

use super::ErasureJob;
use crate::store::StoreError;

/// Most messages one `SendMessageBatch` takes.
pub const BATCH: usize = 10;

/// `SendMessageBatch` calls in flight at once for one uninstall.
const BATCHES_AT_ONCE: usize = 4;

/// Where erasure jobs go. A job sent twice is harmless (the worker is idempotent), so a failure
/// part-way is retried whole by the caller.
pub trait ErasureQueue: Sync {
    /// Sends every job, or fails; `StoreError::Unavailable` is worth a retry.
    fn send(&self, jobs: &[ErasureJob]) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// The SQS queue of `ERASURE_QUEUE_URL`.
#[derive(Clone, Debug)]
pub struct SqsErasureQueue {
    client: aws_sdk_sqs::Client,
    url: String,
}

impl SqsErasureQueue {
    pub fn new(client: aws_sdk_sqs::Client, url: impl Into<String>) -> Self {
        Self {
            client,
            url: url.into(),
        }
    }
}

impl ErasureQueue for SqsErasureQueue {
    /// `SendMessageBatch` in chunks of ten, [`BATCHES_AT_ONCE`] at a time.
    #[tracing::instrument(skip_all, fields(jobs = jobs.len()))]
    async fn send(&self, jobs: &[ErasureJob]) -> Result<(), StoreError> {
        let sending: Vec<_> = jobs
            .chunks(BATCH)
            .map(|chunk| self.send_batch(chunk))
            .collect();
        let sent: Vec<_> = stream::iter(sending)
            .buffer_unordered(BATCHES_AT_ONCE)
            .collect()
            .await;
        sent.into_iter().collect()
    }
}

impl SqsErasureQueue {
    /// One `SendMessageBatch` of at most ten jobs; entries SQS reports failed on its side are
    /// sent again a few times with a short backoff, entries refused as the sender's fault fail
    /// at once.
    async fn send_batch(&self, chunk: &[ErasureJob]) -> Result<(), StoreError> {
        let mut entries = chunk
            .iter()
            .enumerate()
            .map(|(i, job)| {
                SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(job.body())
                    .build()
                    .map_err(|err| StoreError::Failed(format!("erasure message: {err}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        for attempt in 0..4u32 {
            let output = self
                .client
                .send_message_batch()
                .queue_url(&self.url)
                .set_entries(Some(entries.clone()))
                .send()
                .await
                .map_err(StoreError::from_sdk)?;
            let failed = output.failed;
            if failed.is_empty() {
                return Ok(());
            }
            if let Some(refused) = failed.iter().find(|f| f.sender_fault) {
                return Err(StoreError::Failed(format!(
                    "erasure message refused: {} {}",
                    refused.code,
                    refused.message.as_deref().unwrap_or("")
                )));
            }
            if attempt == 3 {
                return Err(StoreError::Unavailable(format!(
                    "{} erasure messages still unsent after retries ({})",
                    failed.len(),
                    failed[0].code
                )));
            }
            entries.retain(|entry| failed.iter().any(|f| f.id == entry.id));
            tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
        }
        Ok(())
    }
}

/// The jobs sent, in memory, so the webhook's rule gets fast unit tests; the integration suite
/// proves the SQS queue itself.
#[derive(Debug, Default)]
pub struct MemoryErasureQueue(Mutex<Vec<ErasureJob>>);

impl MemoryErasureQueue {
    /// Every job sent so far, in order.
    pub fn jobs(&self) -> Vec<ErasureJob> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl ErasureQueue for MemoryErasureQueue {
    async fn send(&self, jobs: &[ErasureJob]) -> Result<(), StoreError> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(jobs);
        Ok(())
    }
}
