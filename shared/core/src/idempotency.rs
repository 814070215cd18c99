//! Exactly-once handling of at-least-once deliveries (webhooks): idempotency records in
//! DynamoDB, in the shape of Powertools for AWS Lambda's (Stripe retries a delivery for up to
//! three days, out of order; HighLevel up to six times, ten minutes apart).
//!
//! A record `{id, status, expiration, in_progress_expiration, owner, data}` is claimed with one
//! conditional `PutItem` before any work starts. The claim succeeds when no record exists, when
//! the record has expired (DynamoDB's TTL deletes lazily, up to days late), or when it is
//! `INPROGRESS` past its in-progress expiry (the invocation that held it died). Otherwise:
//! a `COMPLETED` record replays the stored outcome and nothing is redone; an `INPROGRESS` record
//! in time means another invocation is working on it, and the caller answers so that the sender
//! retries later. Work that fails deletes the claim so the sender's retry can do the work; work
//! that succeeds turns the record `COMPLETED` with its outcome.
//!
//! `owner` is a random token per claim. Release and completion are conditioned on it, so an
//! invocation whose in-progress window ran out while it worked never deletes nor overwrites the
//! claim or outcome of the delivery that took the key over; and a claim `PutItem` that the SDK
//! retries after losing its answer recognises the record it wrote itself. Records of the previous
//! version have no `owner`: they are someone else's, as any record not written by this claim.
//!
//! The module knows no sender: keys are namespaced by the caller (`stripe:<event id>`,
//! `ghl:<webhookId>`, through `webhook::Webhook::KEY_PREFIX`) and outcomes are any serde type, so
//! every webhook reuses it unchanged.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;

use aws_sdk_dynamodb::types::AttributeValue;
use lambda_http::{Request, RequestExt};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tracing::Instrument;

use crate::clock::now_epoch_ms;
use crate::store::{is_conditional_failure, StoreError};

/// How long records are kept: longer than Stripe's 3-day retry window, so a late retry of a
/// completed event still finds its record and is not applied twice.
pub const RECORD_TTL_SECS: i64 = 7 * 24 * 3600;

/// In-progress window used when the Lambda deadline is unknown (tests, local runs) or absurd:
/// a little more than the functions' 10 s timeout.
pub const DEFAULT_IN_PROGRESS_MS: i64 = 15_000;

/// Longest in-progress window accepted from a deadline (Lambda's maximum timeout is 15 minutes).
const MAX_IN_PROGRESS_MS: i64 = 15 * 60 * 1000;

const STATUS_IN_PROGRESS: &str = "INPROGRESS";
const STATUS_COMPLETED: &str = "COMPLETED";

/// The idempotency table, through its port.
#[derive(Clone)]
pub struct Idempotency {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

/// Who holds a claim: 128 random bits (hex), stored as the record's `owner`, so that only the
/// claim's own invocation releases or completes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner(String);

impl Owner {
    fn random() -> Self {
        Self(hex::encode(rand::random::<[u8; 16]>()))
    }

    fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a claim attempt found.
#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// This invocation owns the record and must do the work, then `complete` or `release` it
    /// with this owner.
    Acquired(Owner),
    /// The work was done before; the stored outcome (JSON) is the answer.
    Completed(serde_json::Value),
    /// Another invocation holds the record and is still within its time.
    InProgress,
}

/// The result of [`Idempotency::run`].
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome<T> {
    /// The work ran now and produced `T`.
    Fresh(T),
    /// The work had already run; `T` is the outcome stored then.
    Replayed(T),
}

impl<T> Outcome<T> {
    pub fn into_inner(self) -> T {
        match self {
            Outcome::Fresh(value) | Outcome::Replayed(value) => value,
        }
    }

    pub fn is_replay(&self) -> bool {
        matches!(self, Outcome::Replayed(_))
    }
}

/// Why [`Idempotency::run`] did not produce an outcome.
#[derive(Debug, thiserror::Error)]
pub enum IdempotencyError<E> {
    /// Another invocation is doing the work right now: answer so the sender retries later (409).
    #[error("the same delivery is being processed by another invocation")]
    InProgress,
    /// The idempotency table could not be read or written; nothing was done.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The work failed; its claim was released so a retry can do it.
    #[error("the handler failed")]
    Handler(E),
}

/// Epoch milliseconds until which a claim made for `req` counts as in progress: the Lambda
/// invocation's deadline (now + its remaining time), or [`DEFAULT_IN_PROGRESS_MS`] from `now_ms`
/// when the request carries no Lambda context (tests, `cargo lambda` without one) or an
/// implausible deadline.
pub fn in_progress_until(req: &Request, now_ms: i64) -> i64 {
    let deadline = req
        .lambda_context_ref()
        .and_then(|ctx| i64::try_from(ctx.deadline).ok());
    deadline_or_default(deadline, now_ms)
}

fn deadline_or_default(deadline: Option<i64>, now_ms: i64) -> i64 {
    match deadline {
        Some(deadline) if deadline > now_ms && deadline - now_ms <= MAX_IN_PROGRESS_MS => deadline,
        _ => now_ms + DEFAULT_IN_PROGRESS_MS,
    }
}

/// The idempotency records, as the exactly-once rule uses them: the DynamoDB table
/// ([`Idempotency`]) in the functions, [`MemoryIdempotency`] in unit tests. `run` is the rule;
/// the other methods are the three conditional writes it rests on.
pub trait IdempotencyStore: Sync {
    /// Claims `key` for this invocation under a fresh [`Owner`], or reports who has it.
    fn claim(
        &self,
        key: &str,
        now_ms: i64,
        in_progress_until_ms: i64,
    ) -> impl Future<Output = Result<Claim, StoreError>> + Send;

    /// Marks `key` done with its outcome; kept [`RECORD_TTL_SECS`] from `now` (epoch seconds).
    ///
    /// Written only if the record is still `owner`'s (or is gone: our effects happened and nobody
    /// holds the key, so recording them spares a retry the work). If another delivery took the key
    /// over after our in-progress window ran out, its claim or outcome stays: our effects already
    /// happened and every effect behind this module is itself guarded by a conditional write, so
    /// this is logged and not an error; the caller still answers with its own outcome.
    fn complete(
        &self,
        key: &str,
        owner: &Owner,
        outcome: &serde_json::Value,
        now: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Deletes `owner`'s `INPROGRESS` claim after failed work, so the sender's retry can do it.
    /// Anything else is left alone: a `COMPLETED` record, or the claim of a delivery that took the
    /// key over after our in-progress window ran out.
    fn release(
        &self,
        key: &str,
        owner: &Owner,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Runs `work` at most once per `key`, across retries and concurrent deliveries.
    ///
    /// `in_progress_until_ms` is the claim's in-progress expiry (see [`in_progress_until`]).
    /// A stored outcome that no longer deserializes as `T` is a bug of a deploy, reported as a
    /// store failure rather than silently redoing the work.
    fn run<T, E, F, Fut>(
        &self,
        key: &str,
        in_progress_until_ms: i64,
        work: F,
    ) -> impl Future<Output = Result<Outcome<T>, IdempotencyError<E>>> + Send
    where
        T: Serialize + DeserializeOwned + Send,
        E: Send,
        F: FnOnce() -> Fut + Send,
        Fut: Future<Output = Result<T, E>> + Send,
    {
        let span = tracing::info_span!("idempotency", key);
        async move {
            let now_ms = now_epoch_ms();
            match self.claim(key, now_ms, in_progress_until_ms).await? {
                Claim::Completed(data) => {
                    let outcome = serde_json::from_value(data).map_err(|err| {
                        StoreError::Failed(format!("stored idempotency outcome is unreadable: {err}"))
                    })?;
                    tracing::info!("duplicate delivery: replaying the stored outcome");
                    Ok(Outcome::Replayed(outcome))
                }
                Claim::InProgress => {
                    tracing::info!("duplicate delivery while the first is in progress");
                    Err(IdempotencyError::InProgress)
                }
                Claim::Acquired(owner) => match work().await {
                    Ok(outcome) => {
                        let data = serde_json::to_value(&outcome).map_err(|err| {
                            StoreError::Failed(format!("idempotency outcome is not JSON: {err}"))
                        })?;
                        // The effects already happened: if recording them fails, the record stays
                        // INPROGRESS until its expiry and a retry redoes the work, which is why every
                        // effect behind this module is itself guarded by a conditional write.
                        self.complete(key, &owner, &data, now_ms / 1000).await?;
                        Ok(Outcome::Fresh(outcome))
                    }
                    Err(err) => {
                        if let Err(release) = self.release(key, &owner).await {
                            // The claim then expires by itself at `in_progress_until_ms`.
                            tracing::warn!(error = %release, "could not release the idempotency claim");
                        }
                        Err(IdempotencyError::Handler(err))
                    }
                },
            }
        }
        .instrument(span)
    }
}

impl IdempotencyStore for Idempotency {
    async fn claim(
        &self,
        key: &str,
        now_ms: i64,
        in_progress_until_ms: i64,
    ) -> Result<Claim, StoreError> {
        self.claim_as(key, &Owner::random(), now_ms, in_progress_until_ms)
            .await
    }

    async fn complete(
        &self,
        key: &str,
        owner: &Owner,
        outcome: &serde_json::Value,
        now: i64,
    ) -> Result<(), StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("id", AttributeValue::S(key.to_owned()))
            .item("status", AttributeValue::S(STATUS_COMPLETED.into()))
            .item(
                "expiration",
                AttributeValue::N((now + RECORD_TTL_SECS).to_string()),
            )
            .item("owner", AttributeValue::S(owner.as_str().to_owned()))
            .item("data", AttributeValue::S(outcome.to_string()))
            .condition_expression("attribute_not_exists(#id) OR #owner = :me")
            .expression_attribute_names("#id", "id")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":me", AttributeValue::S(owner.as_str().to_owned()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) if is_conditional_failure(&err) => {
                tracing::warn!(
                    "in-progress window ran out during the work and another delivery took the \
                     key over: its record is kept, this outcome is not recorded"
                );
                Ok(())
            }
            Err(err) => Err(StoreError::from_sdk(err)),
        }
    }

    async fn release(&self, key: &str, owner: &Owner) -> Result<(), StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("id", AttributeValue::S(key.to_owned()))
            .condition_expression("#status = :inprogress AND #owner = :me")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(
                ":inprogress",
                AttributeValue::S(STATUS_IN_PROGRESS.into()),
            )
            .expression_attribute_values(":me", AttributeValue::S(owner.as_str().to_owned()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) if is_conditional_failure(&err) => {
                // Gone already (an SDK retry of our own delete) or no longer ours.
                tracing::info!("idempotency claim not released: no longer held by this delivery");
                Ok(())
            }
            Err(err) => Err(StoreError::from_sdk(err)),
        }
    }
}

impl Idempotency {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// [`Idempotency::claim`] under a given owner. Public only so the tests can replay a claim
    /// `PutItem` with the same owner, as the SDK does when the first answer was lost.
    #[doc(hidden)]
    pub async fn claim_as(
        &self,
        key: &str,
        owner: &Owner,
        now_ms: i64,
        in_progress_until_ms: i64,
    ) -> Result<Claim, StoreError> {
        let now = now_ms.div_euclid(1000);
        // Two rounds: a record can vanish between our failed put and our read (its owner
        // released it); the second put then normally succeeds.
        for _ in 0..2 {
            let put = self
                .client
                .put_item()
                .table_name(&self.table)
                .item("id", AttributeValue::S(key.to_owned()))
                .item("status", AttributeValue::S(STATUS_IN_PROGRESS.into()))
                .item(
                    "expiration",
                    AttributeValue::N((now + RECORD_TTL_SECS).to_string()),
                )
                .item(
                    "in_progress_expiration",
                    AttributeValue::N(in_progress_until_ms.to_string()),
                )
                .item("owner", AttributeValue::S(owner.as_str().to_owned()))
                .condition_expression(
                    "attribute_not_exists(#id) OR #expiration < :now \
                     OR (#status = :inprogress AND in_progress_expiration < :now_ms)",
                )
                .expression_attribute_names("#id", "id")
                .expression_attribute_names("#status", "status")
                .expression_attribute_names("#expiration", "expiration")
                .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
                .expression_attribute_values(":now_ms", AttributeValue::N(now_ms.to_string()))
                .expression_attribute_values(
                    ":inprogress",
                    AttributeValue::S(STATUS_IN_PROGRESS.into()),
                )
                .send()
                .await;
            match put {
                Ok(_) => return Ok(Claim::Acquired(owner.clone())),
                Err(err) if is_conditional_failure(&err) => {}
                Err(err) => return Err(StoreError::from_sdk(err)),
            }
            let existing = self
                .client
                .get_item()
                .table_name(&self.table)
                .key("id", AttributeValue::S(key.to_owned()))
                .consistent_read(true)
                .send()
                .await
                .map_err(StoreError::from_sdk)?;
            let Some(item) = existing.item else {
                continue; // released in between: try to claim again
            };
            return found(&item, owner);
        }
        Ok(Claim::InProgress)
    }
}

/// What a claim that lost its conditional put found in the record: a stored outcome to replay,
/// our own claim (the SDK retried a put whose answer was lost, and the retry met the record the
/// first attempt wrote), or someone else's claim in time, including a previous version's claim
/// without `owner`.
fn found(
    item: &std::collections::HashMap<String, AttributeValue>,
    owner: &Owner,
) -> Result<Claim, StoreError> {
    let text = |name: &str| {
        item.get(name)
            .and_then(|v| v.as_s().ok())
            .map(String::as_str)
    };
    match text("status") {
        Some(STATUS_COMPLETED) => {
            let data = match text("data") {
                Some(data) => serde_json::from_str(data).map_err(|err| {
                    StoreError::Failed(format!("stored idempotency data is not JSON: {err}"))
                })?,
                None => serde_json::Value::Null,
            };
            Ok(Claim::Completed(data))
        }
        Some(STATUS_IN_PROGRESS) if text("owner") == Some(owner.as_str()) => {
            tracing::info!("the claim's put was retried after its answer was lost: still ours");
            Ok(Claim::Acquired(owner.clone()))
        }
        _ => Ok(Claim::InProgress),
    }
}

/// The idempotency records in memory, under the DynamoDB table's conditions, so the rule and the
/// webhooks' effects get fast unit tests; the integration suite proves the table itself.
#[derive(Debug, Default)]
pub struct MemoryIdempotency(Mutex<HashMap<String, MemoryRecord>>);

#[derive(Debug, Clone)]
struct MemoryRecord {
    completed: bool,
    expiration: i64,
    in_progress_expiration: i64,
    owner: Owner,
    data: serde_json::Value,
}

impl MemoryIdempotency {
    fn records(&self) -> std::sync::MutexGuard<'_, HashMap<String, MemoryRecord>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl IdempotencyStore for MemoryIdempotency {
    async fn claim(
        &self,
        key: &str,
        now_ms: i64,
        in_progress_until_ms: i64,
    ) -> Result<Claim, StoreError> {
        let now = now_ms.div_euclid(1000);
        let mut records = self.records();
        match records.get(key) {
            Some(record) if record.expiration >= now && record.completed => {
                Ok(Claim::Completed(record.data.clone()))
            }
            Some(record) if record.expiration >= now && record.in_progress_expiration >= now_ms => {
                Ok(Claim::InProgress)
            }
            _ => {
                let owner = Owner::random();
                records.insert(
                    key.to_owned(),
                    MemoryRecord {
                        completed: false,
                        expiration: now + RECORD_TTL_SECS,
                        in_progress_expiration: in_progress_until_ms,
                        owner: owner.clone(),
                        data: serde_json::Value::Null,
                    },
                );
                Ok(Claim::Acquired(owner))
            }
        }
    }

    async fn complete(
        &self,
        key: &str,
        owner: &Owner,
        outcome: &serde_json::Value,
        now: i64,
    ) -> Result<(), StoreError> {
        let mut records = self.records();
        if records.get(key).is_some_and(|r| r.owner != *owner) {
            return Ok(()); // taken over: the other delivery's record stays
        }
        records.insert(
            key.to_owned(),
            MemoryRecord {
                completed: true,
                expiration: now + RECORD_TTL_SECS,
                in_progress_expiration: 0,
                owner: owner.clone(),
                data: outcome.clone(),
            },
        );
        Ok(())
    }

    async fn release(&self, key: &str, owner: &Owner) -> Result<(), StoreError> {
        let mut records = self.records();
        if records
            .get(key)
            .is_some_and(|r| !r.completed && r.owner == *owner)
        {
            records.remove(key);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    use serde_json::json;

    /// An in-progress window well ahead of any test's clock.
    fn window() -> i64 {
        now_epoch_ms() + 60_000
    }

    #[tokio::test]
    async fn a_duplicate_delivery_replays_the_stored_outcome_and_does_no_work() {
        let store = MemoryIdempotency::default();
        let runs = AtomicU32::new(0);
        let work = |n: u32| {
            let runs = &runs;
            move || async move {
                runs.fetch_add(1, Ordering::SeqCst);
                Ok::<_, ()>(json!({ "delivery": n }))
            }
        };
        let first = store.run("stripe:evt_1", window(), work(1)).await;
        let second = store.run("stripe:evt_1", window(), work(2)).await;
        assert_eq!(first.ok(), Some(Outcome::Fresh(json!({ "delivery": 1 }))));
        assert_eq!(
            second.ok(),
            Some(Outcome::Replayed(json!({ "delivery": 1 })))
        );
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn failed_work_releases_the_claim_so_the_retry_does_it() {
        let store = MemoryIdempotency::default();
        let failed = store
            .run("ghl:wh-1", window(), || async {
                Err::<serde_json::Value, _>("down")
            })
            .await;
        assert!(matches!(failed, Err(IdempotencyError::Handler("down"))));
        let retried = store
            .run("ghl:wh-1", window(), || async {
                Ok::<_, &str>(json!("done"))
            })
            .await;
        assert_eq!(retried.ok(), Some(Outcome::Fresh(json!("done"))));
    }

    #[tokio::test]
    async fn a_claim_holds_off_other_deliveries_until_its_window_ends() {
        let store = MemoryIdempotency::default();
        let now_ms = 1_800_000_000_000;
        let held = store
            .claim("k", now_ms, now_ms + 10_000)
            .await
            .expect("claim");
        assert!(matches!(held, Claim::Acquired(_)));
        let during = store.claim("k", now_ms + 9_999, now_ms + 20_000).await;
        assert_eq!(during.ok(), Some(Claim::InProgress));
        // The holder died: once its window is over, the next delivery takes the key over...
        let after = store.claim("k", now_ms + 10_001, now_ms + 20_000).await;
        let Ok(Claim::Acquired(second)) = after else {
            panic!("expected the key to be taken over, got {after:?}");
        };
        // ...and the late holder can neither release nor overwrite the new claim.
        let Claim::Acquired(first) = held else {
            unreachable!()
        };
        store.release("k", &first).await.expect("release");
        store
            .complete("k", &first, &json!("late"), now_ms / 1000)
            .await
            .expect("complete");
        assert_eq!(
            store
                .claim("k", now_ms + 10_002, now_ms + 20_000)
                .await
                .ok(),
            Some(Claim::InProgress)
        );
        store
            .complete("k", &second, &json!("second"), now_ms / 1000)
            .await
            .expect("complete");
        assert_eq!(
            store
                .claim("k", now_ms + 10_003, now_ms + 20_000)
                .await
                .ok(),
            Some(Claim::Completed(json!("second")))
        );
    }

    #[tokio::test]
    async fn a_record_past_its_expiration_is_claimed_afresh() {
        let store = MemoryIdempotency::default();
        let then_ms = 1_800_000_000_000;
        let Ok(Claim::Acquired(owner)) = store.claim("k", then_ms, then_ms + 1_000).await else {
            panic!("expected a fresh claim");
        };
        store
            .complete("k", &owner, &json!(1), then_ms / 1000)
            .await
            .expect("complete");
        let later_ms = then_ms + (RECORD_TTL_SECS + 1) * 1000;
        let again = store.claim("k", later_ms, later_ms + 1_000).await;
        assert!(matches!(again, Ok(Claim::Acquired(_))));
    }

    #[test]
    fn a_plausible_lambda_deadline_is_the_in_progress_expiry() {
        let now = 1_800_000_000_000;
        assert_eq!(deadline_or_default(Some(now + 9_500), now), now + 9_500);
    }

    #[test]
    fn a_missing_past_or_absurd_deadline_falls_back_to_the_default_window() {
        let now = 1_800_000_000_000;
        let fallback = now + DEFAULT_IN_PROGRESS_MS;
        assert_eq!(deadline_or_default(None, now), fallback);
        assert_eq!(deadline_or_default(Some(0), now), fallback);
        assert_eq!(deadline_or_default(Some(now - 1), now), fallback);
        assert_eq!(deadline_or_default(Some(now + 3_600_000), now), fallback);
    }

    fn record(fields: &[(&str, &str)]) -> std::collections::HashMap<String, AttributeValue> {
        fields
            .iter()
            .map(|(name, value)| (name.to_string(), AttributeValue::S(value.to_string())))
            .collect()
    }

    #[test]
    fn owners_are_128_random_bits_in_hex() {
        let (a, b) = (Owner::random(), Owner::random());
        assert_eq!(a.as_str().len(), 32);
        assert!(a.as_str().bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }

    #[test]
    fn an_in_progress_record_of_our_own_owner_is_our_claim() {
        let me = Owner::random();
        let item = record(&[("status", STATUS_IN_PROGRESS), ("owner", me.as_str())]);
        assert_eq!(found(&item, &me).unwrap(), Claim::Acquired(me));
    }

    #[test]
    fn an_in_progress_record_of_another_owner_or_of_none_is_in_progress() {
        let me = Owner::random();
        let other = Owner::random();
        let theirs = record(&[("status", STATUS_IN_PROGRESS), ("owner", other.as_str())]);
        let previous_version = record(&[("status", STATUS_IN_PROGRESS)]);
        assert_eq!(found(&theirs, &me).unwrap(), Claim::InProgress);
        assert_eq!(found(&previous_version, &me).unwrap(), Claim::InProgress);
    }

    #[test]
    fn a_completed_record_replays_its_outcome_whoever_wrote_it() {
        let me = Owner::random();
        let ours = record(&[
            ("status", STATUS_COMPLETED),
            ("owner", me.as_str()),
            ("data", r#"{"result":"applied"}"#),
        ]);
        let previous_version = record(&[("status", STATUS_COMPLETED)]);
        assert_eq!(
            found(&ours, &me).unwrap(),
            Claim::Completed(serde_json::json!({"result": "applied"}))
        );
        assert_eq!(
            found(&previous_version, &me).unwrap(),
            Claim::Completed(serde_json::Value::Null)
        );
    }

    #[test]
    fn a_completed_record_with_unreadable_data_is_a_store_failure() {
        let item = record(&[("status", STATUS_COMPLETED), ("data", "{not json")]);
        assert!(matches!(
            found(&item, &Owner::random()),
            Err(StoreError::Failed(_))
        ));
    }
}
