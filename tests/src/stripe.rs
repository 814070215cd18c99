//! Stripe test support: the sample customer, subscription and location the billing and webhook
//! tests share, a wiremock Stripe, Stripe's subscription wire format, and the signature Stripe
//! would send.

use backend_core::auth::LocationId;
use backend_core::billing::{signature, SubscriptionState, SubscriptionStatus};
use backend_core::clock::now_epoch;
use backend_core::store::accounts::billing::SubscriptionWrites;
use serde_json::{json, Value};
use wiremock::MockServer;

use crate::{TestApp, TEST_PRICE_ID};

pub const LOCATION: &str = "Ve9EPM428h8vShlRW1KT";
pub const CUSTOMER: &str = "cus_R4nSampleCust01";
pub const SUBSCRIPTION: &str = "sub_1QJsampleSubscr01";
/// A price of the same Stripe account that is not the Pro price.
pub const OTHER_PRICE: &str = "price_1QJotherProduct01";

pub fn location() -> LocationId {
    LocationId::parse(LOCATION).expect("valid location")
}

/// A fake Stripe and a test world whose Stripe base URL points at it.
pub async fn with_stripe() -> (TestApp, MockServer) {
    let stripe = MockServer::start().await;
    let uri = stripe.uri();
    let t = TestApp::with_env(&[("STRIPE_API_BASE_URL", Some(&uri))]).await;
    (t, stripe)
}

/// A Stripe `subscription` object as the API returns it (API version 2024-06-20).
pub fn stripe_subscription(status: &str, period_end: i64, cancel_at_period_end: bool) -> Value {
    json!({
        "id": SUBSCRIPTION,
        "object": "subscription",
        "cancel_at": if cancel_at_period_end { json!(period_end) } else { Value::Null },
        "cancel_at_period_end": cancel_at_period_end,
        "canceled_at": if cancel_at_period_end { json!(now_epoch()) } else { Value::Null },
        "created": period_end - 30 * 86400,
        "current_period_end": period_end,
        "current_period_start": period_end - 30 * 86400,
        "customer": CUSTOMER,
        "ended_at": if status == "canceled" { json!(now_epoch()) } else { Value::Null },
        "items": {"object": "list", "data": [{"id": "si_test_1", "object": "subscription_item",
                  "price": {"id": TEST_PRICE_ID, "object": "price"}, "quantity": 1}]},
        "livemode": false,
        "metadata": {"locationId": LOCATION},
        "status": status
    })
}

/// Stores an active Pro subscription for `location`, confirmed against Stripe at `synced_at`.
pub async fn make_pro(t: &TestApp, location: &LocationId, period_end: i64, synced_at: i64) {
    let accounts = t.app.accounts();
    accounts
        .link_customer(location, CUSTOMER, synced_at)
        .await
        .expect("link customer");
    let state = SubscriptionState {
        subscription_id: SUBSCRIPTION.into(),
        customer_id: Some(CUSTOMER.into()),
        status: SubscriptionStatus::Active,
        current_period_end: Some(period_end),
        cancel_at_period_end: false,
        ends_at: None,
    };
    accounts
        .apply_subscription(location, &state, synced_at, synced_at)
        .await
        .expect("apply subscription");
}

impl TestApp {
    /// The `Stripe-Signature` header Stripe would send for `body` at `timestamp`, with this test
    /// world's webhook secret.
    pub async fn stripe_signature(&self, body: &str, timestamp: i64) -> String {
        let secret = self.app.secrets.stripe_webhook().await.expect("secret");
        signature::sign(&secret, timestamp, body.as_bytes())
    }
}
