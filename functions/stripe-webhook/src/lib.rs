//! stripe-webhook: Stripe's events, behind a public function URL (`POST /`).
//!
//! The signature is the authentication: it is verified over the raw body before anything else,
//! and a failure answers 400 with the reason and writes nothing. Each event then runs at most
//! once through the idempotency records (DESIGN.md section 5): a completed event answers 200
//! with its recorded outcome, one in progress elsewhere answers 409 so Stripe retries later, and
//! a failure releases the claim and answers an error so Stripe's retry does the work.
//!
//! Subscription state is applied only if the subscription is for our Pro price and the event is
//! not older than the last one applied to the account; older, foreign and unknown events are
//! recorded and answered 200. A followed subscription moved to another price ends Pro.

use backend_core::auth::LocationId;
use backend_core::billing::stripe::{CheckoutSession, Stripe, Subscription};
use backend_core::billing::{signature, Applied};
use backend_core::http::{ApiError, Reply, Route};
use backend_core::idempotency::{self, Idempotency, IdempotencyError};
use backend_core::store::now_epoch;
use backend_core::telemetry::metrics;
use backend_core::App;
use lambda_http::Request;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The function's one route: the signature is the authentication, so no per-IP limit.
pub fn routes() -> Vec<Route> {
    vec![Route::post("/", receive).unthrottled()]
}

/// Idempotency keys of this webhook are namespaced, so other webhooks can share the table.
const KEY_PREFIX: &str = "stripe:";

/// The parts of a Stripe `event` every type has.
#[derive(Debug, Deserialize)]
struct Event {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    created: i64,
    data: EventData,
}

#[derive(Debug, Deserialize)]
struct EventData {
    object: Value,
}

/// What happened to an event: stored in its idempotency record and replayed to duplicates.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct EventOutcome {
    pub event_id: String,
    pub event_type: String,
    pub result: EventResult,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum EventResult {
    /// The account now reflects the event.
    Applied,
    /// Recorded but not applied: a newer state was applied already.
    Stale,
    /// Recorded, nothing to do (unknown type, not ours, not a subscription).
    Ignored,
}

/// The answer Stripe receives (it reads only the status; the body helps when debugging in the
/// Stripe dashboard).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Receipt {
    received: bool,
    duplicate: bool,
    #[serde(flatten)]
    outcome: EventOutcome,
}

async fn receive(app: &App, req: &Request) -> Result<Reply, ApiError> {
    let secrets = app.secrets.get().await?;
    let header = match req.headers().get("stripe-signature") {
        None => None,
        Some(value) => Some(value.to_str().map_err(|_| {
            ApiError::validation("invalid Stripe signature: the header is not ASCII")
        })?),
    };
    let body: &[u8] = req.body().as_ref();
    signature::verify(header, body, &secrets.stripe_webhook_secret, now_epoch()).map_err(
        |err| {
            tracing::warn!(reason = %err, "webhook refused: bad signature");
            metrics::count("StripeWebhookRejected", &[("Reason", "signature")]);
            ApiError::validation(format!("invalid Stripe signature: {err}"))
        },
    )?;
    let event = parse_event(body)?;

    let records = Idempotency::new(app.aws.dynamodb.clone(), &app.config.tables.idempotency);
    let until = idempotency::in_progress_until(req, idempotency::now_epoch_ms());
    let key = format!("{KEY_PREFIX}{}", event.id);
    match records.run(&key, until, || apply(app, &event)).await {
        Ok(outcome) => {
            let duplicate = outcome.is_replay();
            let outcome = outcome.into_inner();
            tracing::info!(
                event_id = %event.id,
                event_type = %event.kind,
                result = ?outcome.result,
                duplicate,
                "webhook processed"
            );
            metrics::count(
                if duplicate {
                    "StripeWebhookDuplicate"
                } else {
                    "StripeWebhookProcessed"
                },
                &[],
            );
            Reply::ok(&Receipt {
                received: true,
                duplicate,
                outcome,
            })
        }
        Err(IdempotencyError::InProgress) => {
            tracing::info!(event_id = %event.id, "delivery while the event is in progress");
            metrics::count("StripeWebhookDuplicate", &[]);
            Err(ApiError::Conflict(
                "this event is being processed by another delivery; retry later".into(),
            ))
        }
        Err(IdempotencyError::Store(err)) => Err(err.into()),
        Err(IdempotencyError::Handler(err)) => {
            tracing::warn!(
                event_id = %event.id,
                event_type = %event.kind,
                error = %err,
                "webhook handling failed; claim released for the retry"
            );
            Err(err)
        }
    }
}

/// An authentic body that is not an event we can key on is still a client error (400).
fn parse_event(body: &[u8]) -> Result<Event, ApiError> {
    let event: Event = serde_json::from_slice(body)
        .map_err(|err| ApiError::validation(format!("the body is not a Stripe event: {err}")))?;
    let id_ok = (1..=255).contains(&event.id.len())
        && event
            .id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !id_ok {
        return Err(ApiError::validation(
            "the event id must be 1-255 letters, digits or '_'",
        ));
    }
    Ok(event)
}

/// Applies one event. Errors release the idempotency claim (Stripe retries).
async fn apply(app: &App, event: &Event) -> Result<EventOutcome, ApiError> {
    let outcome = |result, location: Option<&LocationId>, reason: Option<&str>| EventOutcome {
        event_id: event.id.clone(),
        event_type: event.kind.clone(),
        result,
        location_id: location.map(|l| l.as_str().to_owned()),
        reason: reason.map(str::to_owned),
    };
    match event.kind.as_str() {
        "checkout.session.completed" => {
            let session: CheckoutSession = object(event)?;
            if session.mode.as_deref() != Some("subscription") {
                return Ok(outcome(
                    EventResult::Ignored,
                    None,
                    Some("not a subscription checkout"),
                ));
            }
            let location = session
                .client_reference_id
                .as_deref()
                .and_then(|raw| LocationId::parse(raw).ok())
                .or_else(|| session.metadata.location());
            let Some(location) = location else {
                return Ok(outcome(
                    EventResult::Ignored,
                    None,
                    Some("the session names no location"),
                ));
            };
            let Some(subscription) = session.subscription.as_ref() else {
                return Ok(outcome(
                    EventResult::Ignored,
                    Some(&location),
                    Some("the session has no subscription"),
                ));
            };
            // The session says little about the subscription: read its current state.
            let Some((current, read_at)) = read_subscription(app, subscription.id()).await? else {
                return Ok(outcome(
                    EventResult::Ignored,
                    Some(&location),
                    Some(NOT_IN_STRIPE),
                ));
            };
            let as_of = read_at.max(event.created);
            if !is_pro(app, &current) {
                let (result, reason) =
                    not_pro_price(app, event, &location, &current, as_of).await?;
                return Ok(outcome(result, Some(&location), Some(reason)));
            }
            let result = app
                .accounts()
                .apply_subscription(&location, &current.state(), as_of, now_epoch())
                .await?;
            if result == Applied::Stale {
                // A newer event already set the state; the customer link must still exist.
                if let Some(customer) = session.customer.as_ref() {
                    app.accounts()
                        .link_customer(&location, customer.id(), now_epoch())
                        .await?;
                }
            }
            Ok(outcome(result.into_result(), Some(&location), None))
        }
        "customer.subscription.created"
        | "customer.subscription.updated"
        | "customer.subscription.deleted" => {
            let subscription: Subscription = object(event)?;
            let Some(location) = subscription.metadata.location() else {
                return Ok(outcome(
                    EventResult::Ignored,
                    None,
                    Some("the subscription has no locationId metadata"),
                ));
            };
            if !is_pro(app, &subscription) {
                let (result, reason) =
                    not_pro_price(app, event, &location, &subscription, event.created).await?;
                return Ok(outcome(result, Some(&location), Some(reason)));
            }
            let result = app
                .accounts()
                .apply_subscription(&location, &subscription.state(), event.created, now_epoch())
                .await?;
            Ok(outcome(result.into_result(), Some(&location), None))
        }
        "invoice.paid" | "invoice.payment_succeeded" | "invoice.payment_failed" => {
            let Some(subscription_id) = invoice_subscription(&event.data.object) else {
                return Ok(outcome(
                    EventResult::Ignored,
                    None,
                    Some("not a subscription invoice"),
                ));
            };
            // The invoice moves the period (paid) or the status (failed: past_due while Stripe
            // retries); the subscription itself says both, so read it rather than infer.
            let Some((subscription, read_at)) = read_subscription(app, &subscription_id).await?
            else {
                return Ok(outcome(EventResult::Ignored, None, Some(NOT_IN_STRIPE)));
            };
            let Some(location) = subscription.metadata.location() else {
                return Ok(outcome(
                    EventResult::Ignored,
                    None,
                    Some("the subscription has no locationId metadata"),
                ));
            };
            let as_of = read_at.max(event.created);
            if !is_pro(app, &subscription) {
                let (result, reason) =
                    not_pro_price(app, event, &location, &subscription, as_of).await?;
                return Ok(outcome(result, Some(&location), Some(reason)));
            }
            let result = app
                .accounts()
                .apply_subscription(&location, &subscription.state(), as_of, now_epoch())
                .await?;
            Ok(outcome(result.into_result(), Some(&location), None))
        }
        _ => Ok(outcome(
            EventResult::Ignored,
            None,
            Some("event type not handled"),
        )),
    }
}

const NOT_IN_STRIPE: &str = "the subscription does not exist in this Stripe account";
const NOT_PRO_PRICE: &str = "the subscription is not for the Pro price";
const PRO_ENDED: &str = "the subscription left the Pro price; Pro ended";

/// Whether `subscription` is for our Pro price (`STRIPE_PRICE_ID`). Any other price of the Stripe
/// account may carry a `locationId` too (another product, a test price, one made by hand) and
/// must not grant Pro.
fn is_pro(app: &App, subscription: &Subscription) -> bool {
    subscription.is_for_price(&app.config.stripe.price_id)
}

/// A subscription that is not for the Pro price is never applied. If the account follows that
/// very subscription, it was moved off the Pro price (a plan switch in the portal, a support
/// agent): its Pro ends as of `as_of`, or the account would stay Pro forever. Otherwise nothing
/// is written. Both are logged and counted.
async fn not_pro_price(
    app: &App,
    event: &Event,
    location: &LocationId,
    subscription: &Subscription,
    as_of: i64,
) -> Result<(EventResult, &'static str), ApiError> {
    let ended = app
        .accounts()
        .end_foreign_subscription(location, &subscription.id, as_of, now_epoch())
        .await?;
    match ended {
        Applied::Applied => {
            tracing::warn!(
                event_id = %event.id,
                subscription = %subscription.id,
                "subscription moved off the Pro price; Pro ended"
            );
            metrics::count("StripeProEndedByPriceChange", &[]);
            Ok((EventResult::Applied, PRO_ENDED))
        }
        Applied::Stale => {
            tracing::warn!(
                event_id = %event.id,
                subscription = %subscription.id,
                "subscription not for the Pro price; not applied"
            );
            metrics::count("StripeForeignPriceIgnored", &[]);
            Ok((EventResult::Ignored, NOT_PRO_PRICE))
        }
    }
}

/// The subscription as Stripe has it now, and when we asked (the `as_of` of the state it
/// gives). `None` when Stripe does not know it (e.g. an event of another mode or account):
/// retrying could never succeed, so the event is recorded instead of failed.
async fn read_subscription(
    app: &App,
    subscription_id: &str,
) -> Result<Option<(Subscription, i64)>, ApiError> {
    let stripe = Stripe::connect(app).await?;
    let read_at = now_epoch();
    match stripe.get_subscription(subscription_id).await {
        Ok(subscription) => Ok(Some((subscription, read_at))),
        Err(err) if err.is_missing() => {
            tracing::warn!(error = %err, "subscription unknown to Stripe");
            Ok(None)
        }
        Err(err) => Err(err.into()),
    }
}

/// The event's object as `T`; a known type with an unexpected shape is a 400.
fn object<T: serde::de::DeserializeOwned>(event: &Event) -> Result<T, ApiError> {
    serde_json::from_value(event.data.object.clone()).map_err(|err| {
        ApiError::validation(format!(
            "the {} object does not have the expected shape: {err}",
            event.kind
        ))
    })
}

/// The subscription an invoice belongs to: `subscription` (API versions before 2025-03-31) or
/// `parent.subscription_details.subscription` (since), as an id or an expanded object.
fn invoice_subscription(invoice: &Value) -> Option<String> {
    let candidate = invoice
        .get("subscription")
        .filter(|v| !v.is_null())
        .or_else(|| invoice.pointer("/parent/subscription_details/subscription"))?;
    let id = match candidate {
        Value::String(id) => id.as_str(),
        Value::Object(map) => map.get("id")?.as_str()?,
        _ => return None,
    };
    (!id.is_empty()).then(|| id.to_owned())
}

trait IntoResult {
    fn into_result(self) -> EventResult;
}

impl IntoResult for Applied {
    fn into_result(self) -> EventResult {
        match self {
            Applied::Applied => EventResult::Applied,
            Applied::Stale => EventResult::Stale,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invoices_of_both_api_shapes_name_their_subscription() {
        let old = serde_json::json!({"subscription": "sub_1"});
        let new = serde_json::json!({"subscription": null,
            "parent": {"subscription_details": {"subscription": "sub_2"}}});
        let expanded = serde_json::json!({"subscription": {"id": "sub_3"}});
        let none = serde_json::json!({"subscription": null});
        assert_eq!(invoice_subscription(&old).as_deref(), Some("sub_1"));
        assert_eq!(invoice_subscription(&new).as_deref(), Some("sub_2"));
        assert_eq!(invoice_subscription(&expanded).as_deref(), Some("sub_3"));
        assert_eq!(invoice_subscription(&none), None);
    }

    #[test]
    fn events_with_unusable_ids_are_refused() {
        let body = br#"{"id":"evt/../x","type":"x","created":1,"data":{"object":{}}}"#;
        assert!(parse_event(body).is_err());
        assert!(parse_event(b"[]").is_err());
        let ok = br#"{"id":"evt_1","type":"x","created":1,"data":{"object":{}}}"#;
        assert!(parse_event(ok).is_ok());
    }
}
