//! stripe-webhook: Stripe's events, behind a public function URL (`POST /`), through the core's
//! one webhook receiver (`backend_core::http::webhook`).
//!
//! The signature is the authentication: it is verified over the raw body before anything else,
//! and a failure answers 400 with the reason and writes nothing. Each event then runs at most
//! once through the idempotency records (keys `stripe:<event id>`): a completed event answers
//! 200 with its recorded outcome, one in progress elsewhere answers 409 so Stripe retries later,
//! and a failure releases the claim and answers an error so Stripe's retry does the work.
//!
//! Subscription state is applied by `billing::sync_subscription` (only the Pro price grants Pro;
//! a followed subscription moved to another price ends Pro) and only if the event is not older
//! than the last one applied to the account; older, foreign and unknown events are recorded and
//! answered 200.

use backend_core::auth::LocationId;
use backend_core::billing::stripe::{CheckoutSession, Subscription};
use backend_core::billing::{signature, sync_subscription};
use backend_core::clock::now_epoch;
use backend_core::http::webhook::{self, Disposition, Outcome, Webhook};
use backend_core::http::{ApiError, Reply, Route};
use backend_core::telemetry::metrics;
use backend_core::App;
use lambda_http::Request;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The function's one route: the signature is the authentication, so no per-IP limit.
pub fn routes() -> Vec<Route> {
    vec![Route::post("/", receive).unthrottled()]
}

async fn receive(app: &App, req: &Request) -> Result<Reply, ApiError> {
    webhook::receive(&StripeWebhook, app, req).await
}

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

/// Stripe's own fields of an event's outcome.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct EventDetail {
    pub event_id: String,
    pub event_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location_id: Option<String>,
}

/// What is Stripe's own in receiving a webhook.
struct StripeWebhook;

impl Webhook for StripeWebhook {
    type Delivery = Event;
    type Detail = EventDetail;
    const KEY_PREFIX: &'static str = "stripe:";
    const METRIC_PREFIX: &'static str = "StripeWebhook";

    async fn accept(&self, app: &App, req: &Request, now_ms: i64) -> Result<Event, ApiError> {
        let secret = app.secrets.stripe_webhook().await?;
        let header = match req.headers().get("stripe-signature") {
            None => None,
            Some(value) => Some(value.to_str().map_err(|_| {
                ApiError::validation("invalid Stripe signature: the header is not ASCII")
            })?),
        };
        let body: &[u8] = req.body().as_ref();
        signature::verify(header, body, &secret, now_ms / 1000).map_err(|err| {
            tracing::warn!(reason = %err, "webhook refused: bad signature");
            metrics::count("StripeWebhookRejected", &[("Reason", "signature")]);
            ApiError::validation(format!("invalid Stripe signature: {err}"))
        })?;
        parse_event(body)
    }

    fn key(event: &Event) -> &str {
        &event.id
    }

    async fn apply(&self, app: &App, event: &Event) -> Result<Outcome<EventDetail>, ApiError> {
        apply(app, event).await
    }

    fn in_progress(&self) -> ApiError {
        ApiError::Conflict("this event is being processed by another delivery; retry later".into())
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
async fn apply(app: &App, event: &Event) -> Result<Outcome<EventDetail>, ApiError> {
    let outcome = |result, location: Option<&LocationId>, reason: Option<&str>| {
        let detail = EventDetail {
            event_id: event.id.clone(),
            event_type: event.kind.clone(),
            location_id: location.map(|l| l.as_str().to_owned()),
        };
        Outcome::new(detail, result, reason)
    };
    let sync = |location: LocationId, subscription: Subscription, as_of: i64| async move {
        let synced = sync_subscription(
            &app.accounts(),
            &app.config.stripe.price_id,
            &location,
            &subscription,
            as_of,
            now_epoch(),
        )
        .await?;
        let (result, reason) = Disposition::of_sync(synced);
        Ok::<_, ApiError>((location, result, reason))
    };
    match event.kind.as_str() {
        "checkout.session.completed" => {
            let session: CheckoutSession = object(event)?;
            if session.mode.as_deref() != Some("subscription") {
                return Ok(outcome(
                    Disposition::Ignored,
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
                    Disposition::Ignored,
                    None,
                    Some("the session names no location"),
                ));
            };
            let Some(subscription) = session.subscription.as_ref() else {
                return Ok(outcome(
                    Disposition::Ignored,
                    Some(&location),
                    Some("the session has no subscription"),
                ));
            };
            // The session says little about the subscription: read its current state.
            let Some((current, read_at)) = read_subscription(app, subscription.id()).await? else {
                return Ok(outcome(
                    Disposition::Ignored,
                    Some(&location),
                    Some(NOT_IN_STRIPE),
                ));
            };
            // `client_reference_id` is whatever the payer's link carried: any Payment Link or
            // pricing table on the Pro price can name another location. It counts only when the
            // subscription (created by our checkout with `metadata.locationId`) or the account's
            // Stripe customer agrees.
            if !checkout_belongs_to(app, &location, &session, &current).await? {
                tracing::warn!(
                    event_id = %event.id,
                    location = %location,
                    "checkout ignored: the session's location matches neither the subscription's metadata nor the account's customer"
                );
                metrics::count("StripeCheckoutLocationMismatch", &[]);
                return Ok(outcome(Disposition::Ignored, None, Some(LOCATION_MISMATCH)));
            }
            let as_of = read_at.max(event.created);
            let (location, result, reason) = sync(location, current, as_of).await?;
            if result == Disposition::Stale {
                // A newer event already set the state; the customer link must still exist.
                if let Some(customer) = session.customer.as_ref() {
                    app.accounts()
                        .link_customer(&location, customer.id(), now_epoch())
                        .await?;
                }
            }
            Ok(outcome(result, Some(&location), reason))
        }
        "customer.subscription.created"
        | "customer.subscription.updated"
        | "customer.subscription.deleted" => {
            let subscription: Subscription = object(event)?;
            let Some(location) = subscription.metadata.location() else {
                return Ok(outcome(
                    Disposition::Ignored,
                    None,
                    Some("the subscription has no locationId metadata"),
                ));
            };
            let (location, result, reason) = sync(location, subscription, event.created).await?;
            Ok(outcome(result, Some(&location), reason))
        }
        "invoice.paid" | "invoice.payment_succeeded" | "invoice.payment_failed" => {
            let Some(subscription_id) = invoice_subscription(&event.data.object) else {
                return Ok(outcome(
                    Disposition::Ignored,
                    None,
                    Some("not a subscription invoice"),
                ));
            };
            // The invoice moves the period (paid) or the status (failed: past_due while Stripe
            // retries); the subscription itself says both, so read it rather than infer.
            let Some((subscription, read_at)) = read_subscription(app, &subscription_id).await?
            else {
                return Ok(outcome(Disposition::Ignored, None, Some(NOT_IN_STRIPE)));
            };
            let Some(location) = subscription.metadata.location() else {
                return Ok(outcome(
                    Disposition::Ignored,
                    None,
                    Some("the subscription has no locationId metadata"),
                ));
            };
            let as_of = read_at.max(event.created);
            let (location, result, reason) = sync(location, subscription, as_of).await?;
            Ok(outcome(result, Some(&location), reason))
        }
        _ => Ok(outcome(
            Disposition::Ignored,
            None,
            Some("event type not handled"),
        )),
    }
}

const NOT_IN_STRIPE: &str = "the subscription does not exist in this Stripe account";
const LOCATION_MISMATCH: &str =
    "the session's location matches neither the subscription's locationId nor the account's customer";

/// The checkout's location is the subscription's: its `metadata.locationId` names it, or the
/// location's account already has the session's (or subscription's) Stripe customer.
async fn checkout_belongs_to(
    app: &App,
    location: &LocationId,
    session: &CheckoutSession,
    subscription: &Subscription,
) -> Result<bool, ApiError> {
    if subscription.metadata.location().as_ref() == Some(location) {
        return Ok(true);
    }
    let customers: Vec<&str> = [session.customer.as_ref(), subscription.customer.as_ref()]
        .into_iter()
        .flatten()
        .map(|c| c.id())
        .collect();
    if customers.is_empty() {
        return Ok(false);
    }
    let account = app.accounts().get(location).await?;
    Ok(account
        .and_then(|a| a.stripe_customer_id)
        .is_some_and(|known| customers.contains(&known.as_str())))
}

/// The subscription as Stripe has it now, and when we asked (the `as_of` of the state it
/// gives). `None` when Stripe does not know it (e.g. an event of another mode or account):
/// retrying could never succeed, so the event is recorded instead of failed.
async fn read_subscription(
    app: &App,
    subscription_id: &str,
) -> Result<Option<(Subscription, i64)>, ApiError> {
    let stripe = app.stripe().await?;
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
