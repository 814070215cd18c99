//! The Stripe API client: the few endpoints billing needs, hand-written over the shared reqwest
//! client. Requests are form-encoded with `Authorization: Bearer <secret key>` and a pinned
//! `Stripe-Version` (so a dashboard upgrade never changes the shapes we parse); every POST carries
//! an `Idempotency-Key`; every call goes through `upstream::send` (timeouts, retries with backoff
//! on 429/5xx/connection errors honouring `Stripe-Should-Retry`, the Stripe circuit breaker).
//!
//! Idempotency keys: a key is chosen once per logical operation and reused by every retry of it,
//! so a retry after a lost response never does the work twice. Where a *user's* retry (double
//! click, reload) must not duplicate either, the key is derived from the operation and the
//! account: one customer per location, one checkout session per location + price + minute.
//! Where repeating is harmless but replaying a cached answer would be wrong (cancel after a
//! resume, a fresh portal link), the key is random per call.

use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use url::Url;

use super::{SubscriptionState, SubscriptionStatus};
use crate::auth::LocationId;
use crate::upstream::{self, Breaker, RetryPolicy, UpstreamError};

/// The API version every request pins. Webhook endpoints should be created with the same version
/// (docs/BILLING.md); the parsers below also read the newer shapes where fields moved.
pub const STRIPE_VERSION: &str = "2024-06-20";

/// The service name in logs, metrics and `UPSTREAM_UNAVAILABLE` answers.
pub const SERVICE: &str = "Stripe";

/// Stripe's own retry advice wins over our status-based guess (e.g. a 409 idempotency conflict
/// says `true`, a 500 on a non-idempotent request may say `false`).
fn should_retry(response: &reqwest::Response) -> Option<bool> {
    match response
        .headers()
        .get("stripe-should-retry")?
        .to_str()
        .ok()?
    {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

/// A failed Stripe call.
#[derive(Debug, thiserror::Error)]
pub enum StripeError {
    /// Unreachable, overloaded, out of retries, or the breaker is open.
    #[error(transparent)]
    Upstream(UpstreamError),
    /// Stripe refused the request (4xx) with its error object.
    #[error("Stripe refused the request ({status} {kind}/{code}): {message}")]
    Refused {
        status: u16,
        kind: String,
        code: String,
        message: String,
    },
    /// Stripe answered 2xx with something we cannot read.
    #[error("unexpected Stripe response: {0}")]
    Decode(String),
}

impl StripeError {
    /// True for a 404 `resource_missing` (e.g. a subscription id from another Stripe account).
    pub fn is_missing(&self) -> bool {
        matches!(self, StripeError::Refused { status: 404, .. })
            || matches!(self, StripeError::Refused { code, .. } if code == "resource_missing")
    }
}

#[derive(Deserialize)]
struct ErrorEnvelope {
    error: ErrorObject,
}

#[derive(Deserialize)]
struct ErrorObject {
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

/// An expandable reference: an id, or the object when expanded.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Expandable {
    Id(String),
    Object { id: String },
}

impl Expandable {
    pub fn id(&self) -> &str {
        match self {
            Expandable::Id(id) | Expandable::Object { id } => id,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Customer {
    pub id: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CheckoutSession {
    pub id: String,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub mode: Option<String>,
    #[serde(default)]
    pub client_reference_id: Option<String>,
    #[serde(default)]
    pub customer: Option<Expandable>,
    #[serde(default)]
    pub subscription: Option<Expandable>,
    #[serde(default)]
    pub metadata: Metadata,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PortalSession {
    pub id: String,
    pub url: String,
}

/// Free-form `metadata`; we only ever read our `locationId`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Metadata {
    #[serde(default, rename = "locationId")]
    pub location_id: Option<String>,
}

impl Metadata {
    pub fn location(&self) -> Option<LocationId> {
        self.location_id
            .as_deref()
            .and_then(|raw| LocationId::parse(raw).ok())
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
struct ItemList {
    #[serde(default)]
    data: Vec<SubscriptionItem>,
}

#[derive(Debug, Clone, Deserialize)]
struct SubscriptionItem {
    #[serde(default)]
    current_period_end: Option<i64>,
    /// An object in API answers and webhook payloads, only its id in some expansions.
    #[serde(default)]
    price: Option<Expandable>,
}

/// A Stripe `subscription` object (API response or webhook payload).
#[derive(Debug, Clone, Deserialize)]
pub struct Subscription {
    pub id: String,
    #[serde(default)]
    pub customer: Option<Expandable>,
    pub status: SubscriptionStatus,
    /// Top-level before API version 2025-03-31; on the items since.
    #[serde(default)]
    current_period_end: Option<i64>,
    #[serde(default)]
    items: ItemList,
    #[serde(default)]
    pub cancel_at_period_end: bool,
    #[serde(default)]
    pub cancel_at: Option<i64>,
    #[serde(default)]
    pub ended_at: Option<i64>,
    #[serde(default)]
    pub metadata: Metadata,
}

impl Subscription {
    pub fn current_period_end(&self) -> Option<i64> {
        self.current_period_end.or_else(|| {
            self.items
                .data
                .iter()
                .filter_map(|item| item.current_period_end)
                .max()
        })
    }

    /// True when an item is on `price_id`. Only our Pro price grants Pro: any other price of the
    /// same Stripe account (another product, a test price, one a support agent made) may carry a
    /// `locationId` too.
    pub fn is_for_price(&self, price_id: &str) -> bool {
        self.items.data.iter().any(|item| {
            item.price
                .as_ref()
                .is_some_and(|price| price.id() == price_id)
        })
    }

    /// The state we store. Pro ends when the subscription ended, or at its scheduled
    /// cancellation (period end, or an explicit `cancel_at`).
    pub fn state(&self) -> SubscriptionState {
        let period_end = self.current_period_end();
        let ends_at = if self.status == SubscriptionStatus::Canceled {
            self.ended_at.or(self.cancel_at).or(period_end)
        } else if self.cancel_at_period_end {
            self.cancel_at.or(period_end)
        } else {
            self.cancel_at
        };
        SubscriptionState {
            subscription_id: self.id.clone(),
            customer_id: self.customer.as_ref().map(|c| c.id().to_owned()),
            status: self.status.clone(),
            current_period_end: period_end,
            cancel_at_period_end: self.cancel_at_period_end,
            ends_at,
        }
    }
}

/// What a Checkout Session is created with.
#[derive(Debug, Clone)]
pub struct CheckoutRequest<'a> {
    pub location: &'a LocationId,
    pub customer_id: &'a str,
    pub price_id: &'a str,
    pub success_url: &'a str,
    pub cancel_url: &'a str,
    /// Epoch seconds; the idempotency key changes each minute.
    pub now: i64,
}

/// A Stripe client for one invocation, built from its parts: the container's HTTP client and
/// Stripe breaker, the API base URL and the secret key (`App::stripe` assembles them).
pub struct Stripe<'a> {
    http: &'a reqwest::Client,
    breaker: &'a Breaker,
    base_url: &'a Url,
    api_key: Arc<SecretString>,
}

impl std::fmt::Debug for Stripe<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Stripe([REDACTED])")
    }
}

/// A deterministic idempotency key: `op` and a hash of the parts (bounded length, no raw ids).
pub fn derived_key(op: &str, parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0u8]);
    }
    format!("gwa-{op}-{}", hex::encode(&hasher.finalize()[..16]))
}

/// A random idempotency key for one logical attempt (reused by its retries).
pub fn random_key(op: &str) -> String {
    format!("gwa-{op}-{}", hex::encode(rand::random::<[u8; 16]>()))
}

impl<'a> Stripe<'a> {
    pub fn new(
        http: &'a reqwest::Client,
        breaker: &'a Breaker,
        base_url: &'a Url,
        api_key: Arc<SecretString>,
    ) -> Self {
        Self {
            http,
            breaker,
            base_url,
            api_key,
        }
    }

    fn url(&self, path: &str) -> String {
        format!(
            "{}/{}",
            self.base_url.as_str().trim_end_matches('/'),
            path.trim_start_matches('/')
        )
    }

    async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        form: &[(&str, &str)],
        idempotency_key: &str,
    ) -> Result<T, StripeError> {
        let url = self.url(path);
        let key = self.api_key.expose_secret();
        let result = upstream::send(
            self.breaker,
            RetryPolicy::default(),
            Some(should_retry),
            || {
                self.http
                    .post(&url)
                    .bearer_auth(key)
                    .header("stripe-version", STRIPE_VERSION)
                    .header("idempotency-key", idempotency_key)
                    .form(form)
            },
        )
        .await;
        decode(result).await
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, StripeError> {
        let url = self.url(path);
        let key = self.api_key.expose_secret();
        let result = upstream::send(
            self.breaker,
            RetryPolicy::default(),
            Some(should_retry),
            || {
                self.http
                    .get(&url)
                    .bearer_auth(key)
                    .header("stripe-version", STRIPE_VERSION)
            },
        )
        .await;
        decode(result).await
    }

    /// Creates the customer of `location`. The key is per location, so two concurrent first
    /// checkouts (or a retry after a lost answer) get the same customer within Stripe's 24 h
    /// key window.
    pub async fn create_customer(&self, location: &LocationId) -> Result<Customer, StripeError> {
        let description = format!("HighLevel location {location}");
        self.post(
            "/v1/customers",
            &[
                ("description", description.as_str()),
                ("metadata[locationId]", location.as_str()),
            ],
            &derived_key("customer", &[location.as_str()]),
        )
        .await
    }

    /// Creates a subscription Checkout Session. The location travels in `client_reference_id`
    /// (read by `checkout.session.completed`) and in the subscription's metadata (read by every
    /// later subscription event).
    pub async fn create_checkout_session(
        &self,
        request: &CheckoutRequest<'_>,
    ) -> Result<CheckoutSession, StripeError> {
        let minute = request.now.div_euclid(60).to_string();
        let key = derived_key(
            "checkout",
            &[request.location.as_str(), request.price_id, &minute],
        );
        let location = request.location.as_str();
        self.post(
            "/v1/checkout/sessions",
            &[
                ("mode", "subscription"),
                ("customer", request.customer_id),
                ("line_items[0][price]", request.price_id),
                ("line_items[0][quantity]", "1"),
                ("client_reference_id", location),
                ("metadata[locationId]", location),
                ("subscription_data[metadata][locationId]", location),
                ("success_url", request.success_url),
                ("cancel_url", request.cancel_url),
            ],
            &key,
        )
        .await
    }

    /// Creates a billing portal session (a short-lived link; a new one per call).
    pub async fn create_portal_session(
        &self,
        customer_id: &str,
        return_url: &str,
    ) -> Result<PortalSession, StripeError> {
        self.post(
            "/v1/billing_portal/sessions",
            &[("customer", customer_id), ("return_url", return_url)],
            &random_key("portal"),
        )
        .await
    }

    /// Reads a subscription as Stripe has it now.
    pub async fn get_subscription(&self, id: &str) -> Result<Subscription, StripeError> {
        let id = stripe_id(id)?;
        self.get(&format!("/v1/subscriptions/{id}")).await
    }

    /// Schedules the subscription to end at its period end (Pro stays until then).
    pub async fn cancel_at_period_end(&self, id: &str) -> Result<Subscription, StripeError> {
        let id = stripe_id(id)?;
        self.post(
            &format!("/v1/subscriptions/{id}"),
            &[("cancel_at_period_end", "true")],
            &random_key("cancel"),
        )
        .await
    }
}

/// Ids go into URL paths: only Stripe's id alphabet is allowed there.
fn stripe_id(id: &str) -> Result<&str, StripeError> {
    let ok =
        (1..=255).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if ok {
        Ok(id)
    } else {
        Err(StripeError::Decode(
            "a stored Stripe id has an invalid shape".into(),
        ))
    }
}

async fn decode<T: DeserializeOwned>(
    result: Result<reqwest::Response, UpstreamError>,
) -> Result<T, StripeError> {
    match result {
        Ok(response) => {
            let bytes = response.bytes().await.map_err(|err| {
                StripeError::Upstream(UpstreamError::Unavailable {
                    service: SERVICE,
                    detail: format!("reading the body failed: {}", err.without_url()),
                    retry_after_secs: None,
                })
            })?;
            serde_json::from_slice(&bytes).map_err(|err| StripeError::Decode(err.to_string()))
        }
        Err(UpstreamError::Rejected { status, body, .. }) => {
            let parsed = serde_json::from_str::<ErrorEnvelope>(&body).ok();
            let (kind, code, message) = match parsed {
                Some(ErrorEnvelope { error }) => (
                    error.kind,
                    error.code.unwrap_or_default(),
                    error.message.unwrap_or_default(),
                ),
                None => (String::new(), String::new(), "no error object".into()),
            };
            Err(StripeError::Refused {
                status,
                kind,
                code,
                message,
            })
        }
        Err(err) => Err(StripeError::Upstream(err)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_keys_are_stable_and_bounded_and_random_keys_differ() {
        let a = derived_key("checkout", &["loc1", "price_1", "29000000"]);
        assert_eq!(a, derived_key("checkout", &["loc1", "price_1", "29000000"]));
        assert_ne!(a, derived_key("checkout", &["loc1", "price_1", "29000001"]));
        assert_ne!(
            derived_key("x", &["ab", "c"]),
            derived_key("x", &["a", "bc"])
        );
        assert!(a.len() < 64);
        assert_ne!(random_key("cancel"), random_key("cancel"));
    }

    #[test]
    fn subscriptions_of_both_api_shapes_give_their_period_end() {
        let old: Subscription = serde_json::from_value(serde_json::json!({
            "id": "sub_1", "object": "subscription", "status": "active",
            "customer": "cus_1", "current_period_end": 1_800_000_000,
            "cancel_at_period_end": false, "metadata": {"locationId": "loc1"}
        }))
        .expect("old shape");
        assert_eq!(old.current_period_end(), Some(1_800_000_000));
        assert_eq!(
            old.metadata.location().map(String::from),
            Some("loc1".into())
        );
        let new: Subscription = serde_json::from_value(serde_json::json!({
            "id": "sub_1", "status": "active", "customer": {"id": "cus_1"},
            "items": {"object": "list", "data": [{"current_period_end": 1_800_000_100}]},
            "cancel_at_period_end": true, "cancel_at": null
        }))
        .expect("new shape");
        let state = new.state();
        assert_eq!(state.current_period_end, Some(1_800_000_100));
        assert_eq!(state.ends_at, Some(1_800_000_100));
        assert_eq!(state.customer_id.as_deref(), Some("cus_1"));
    }

    #[test]
    fn a_subscription_is_for_a_price_only_when_an_item_is_on_it() {
        let subscription = |items: serde_json::Value| -> Subscription {
            serde_json::from_value(serde_json::json!({
                "id": "sub_1", "status": "active", "items": {"object": "list", "data": items}
            }))
            .expect("subscription")
        };
        let object = subscription(serde_json::json!([
            {"id": "si_1", "price": {"id": "price_other", "object": "price", "unit_amount": 100}},
            {"id": "si_2", "price": {"id": "price_pro", "object": "price"}}
        ]));
        assert!(object.is_for_price("price_pro"));
        assert!(!object.is_for_price("price_pr"));
        let string = subscription(serde_json::json!([{"id": "si_1", "price": "price_pro"}]));
        assert!(string.is_for_price("price_pro"));
        assert!(!string.is_for_price("price_other"));
        assert!(!subscription(serde_json::json!([])).is_for_price("price_pro"));
        let no_items: Subscription =
            serde_json::from_value(serde_json::json!({"id": "sub_1", "status": "active"}))
                .expect("no items");
        assert!(!no_items.is_for_price("price_pro"));
        let no_price = subscription(serde_json::json!([{"id": "si_1"}]));
        assert!(!no_price.is_for_price("price_pro"));
    }

    #[test]
    fn ids_with_path_characters_are_refused() {
        assert!(stripe_id("sub_1MowQVLkdIwHu7ix").is_ok());
        assert!(stripe_id("../v1/customers").is_err());
        assert!(stripe_id("").is_err());
    }
}
