//! One receiver for signed webhooks (Stripe's events, HighLevel's app deliveries): verify and
//! parse the delivery, key it, apply it at most once through the idempotency records, and answer
//! with one receipt shape. Each sender supplies only what is its own through [`Webhook`].

use std::future::Future;

use lambda_http::Request;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::{ApiError, Reply};
use crate::billing::Synced;
use crate::idempotency::{self, IdempotencyError, IdempotencyStore};
use crate::telemetry::metrics;
use crate::App;

/// What a delivery did; the same three answers for every sender.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Disposition {
    /// The accounts now reflect the delivery.
    Applied,
    /// Recorded but not applied: a newer state was applied already.
    Stale,
    /// Recorded, nothing to do (unknown type, not ours, nobody named).
    Ignored,
}

/// What happened to a delivery: stored in its idempotency record, replayed to duplicates and
/// sent back in the receipt. `D` holds the sender's own fields (its id, type, what it touched).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Outcome<D> {
    #[serde(flatten)]
    pub detail: D,
    pub result: Disposition,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl<D> Outcome<D> {
    pub fn new(detail: D, result: Disposition, reason: Option<&str>) -> Self {
        Self {
            detail,
            result,
            reason: reason.map(str::to_owned),
        }
    }
}

impl Disposition {
    /// A subscription sync as a webhook reports it, with the reason when it is not plain.
    pub fn of_sync(synced: Synced) -> (Self, Option<&'static str>) {
        match synced {
            Synced::Applied => (Self::Applied, None),
            Synced::Stale => (Self::Stale, None),
            Synced::ProEnded => (
                Self::Applied,
                Some("the subscription left the Pro price; Pro ended"),
            ),
            Synced::NotProPrice => (
                Self::Ignored,
                Some("the subscription is not for the Pro price"),
            ),
        }
    }
}

/// The answer the sender receives (senders read only the status; the body helps when debugging
/// a delivery in their dashboards).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Receipt<D> {
    received: bool,
    duplicate: bool,
    #[serde(flatten)]
    outcome: Outcome<D>,
}

/// What is specific to one sender.
pub trait Webhook: Sync {
    /// A verified, parsed delivery.
    type Delivery: Sync;
    /// The sender's own fields of an [`Outcome`].
    type Detail: Serialize + DeserializeOwned + Send;

    /// Namespace of the sender's idempotency keys (`stripe:`, `ghl:`): senders share the table.
    const KEY_PREFIX: &'static str;
    /// Prefix of the sender's metrics: `<prefix>Processed`, `<prefix>Duplicate`.
    const METRIC_PREFIX: &'static str;

    /// Verifies the signature over the raw body, then parses it; a refusal is the answer and
    /// nothing is written.
    fn accept(
        &self,
        app: &App,
        req: &Request,
        now_ms: i64,
    ) -> impl Future<Output = Result<Self::Delivery, ApiError>> + Send;

    /// The delivery's idempotency key, without the prefix (the sender's event or webhook id).
    fn key(delivery: &Self::Delivery) -> &str;

    /// The metric dimensions of a delivery (bounded values only).
    fn dimensions(_delivery: &Self::Delivery) -> Vec<(&'static str, &'static str)> {
        Vec::new()
    }

    /// Applies a delivery; an error releases the claim so the sender's retry does the work.
    fn apply(
        &self,
        app: &App,
        delivery: &Self::Delivery,
    ) -> impl Future<Output = Result<Outcome<Self::Detail>, ApiError>> + Send;

    /// The answer while another invocation holds the same delivery: one the sender retries.
    fn in_progress(&self) -> ApiError;

    /// The answer to a failure after acceptance (the sender's retry rules may need another
    /// status than the error's own).
    fn failed(&self, err: ApiError) -> ApiError {
        err
    }
}

/// Receives one delivery for `webhook`: accept, key, apply exactly once, answer.
pub async fn receive<W: Webhook>(webhook: &W, app: &App, req: &Request) -> Result<Reply, ApiError> {
    let now_ms = crate::clock::now_epoch_ms();
    let delivery = webhook.accept(app, req, now_ms).await?;
    let id = W::key(&delivery);
    let key = format!("{}{id}", W::KEY_PREFIX);
    let until = idempotency::in_progress_until(req, now_ms);
    let dimensions = W::dimensions(&delivery);
    let metric = |suffix: &str| {
        metrics::count(&format!("{}{suffix}", W::METRIC_PREFIX), &dimensions);
    };
    match app
        .idempotency()
        .run(&key, until, || webhook.apply(app, &delivery))
        .await
    {
        Ok(outcome) => {
            let duplicate = outcome.is_replay();
            let outcome = outcome.into_inner();
            tracing::info!(
                webhook = W::METRIC_PREFIX,
                key = %key,
                result = ?outcome.result,
                duplicate,
                "webhook processed"
            );
            metric(if duplicate { "Duplicate" } else { "Processed" });
            Reply::ok(&Receipt {
                received: true,
                duplicate,
                outcome,
            })
        }
        Err(IdempotencyError::InProgress) => {
            tracing::info!(key = %key, "delivery while the same one is in progress");
            metric("Duplicate");
            Err(webhook.in_progress())
        }
        Err(IdempotencyError::Store(err)) => Err(webhook.failed(err.into())),
        Err(IdempotencyError::Handler(err)) => {
            tracing::warn!(
                key = %key,
                error = %err,
                "webhook handling failed; claim released for the retry"
            );
            Err(webhook.failed(err))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
    #[serde(rename_all = "camelCase")]
    struct Detail {
        event_id: String,
    }

    #[test]
    fn an_outcome_serializes_flat_and_reads_back() {
        let outcome = Outcome::new(
            Detail {
                event_id: "evt_1".into(),
            },
            Disposition::Stale,
            None,
        );
        let json = serde_json::to_value(&outcome).expect("json");
        assert_eq!(
            json,
            serde_json::json!({"eventId": "evt_1", "result": "stale"})
        );
        assert_eq!(
            serde_json::from_value::<Outcome<Detail>>(json).expect("reads back"),
            outcome
        );
    }
}
