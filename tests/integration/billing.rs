//! The checkout function against moto and a wiremock Stripe speaking Stripe's wire format:
//! checkout, portal, status (with its repair from Stripe) and cancel.

use backend_core::auth::LocationId;
use backend_core::billing::{SubscriptionState, SubscriptionStatus};
use backend_core::clock::now_epoch;
use backend_core::store::accounts::billing::SubscriptionWrites;
use backend_core::store::accounts::Plan;
use integration_tests::stripe::{
    location, make_pro, stripe_subscription, with_stripe, CUSTOMER, LOCATION, OTHER_PRICE,
    SUBSCRIPTION,
};
use integration_tests::{request, Answer, TestApp, FRONTEND, TEST_STRIPE_KEY};
use serde_json::{json, Value};
use wiremock::matchers::{body_string_contains, header, header_exists, method, path};
use wiremock::{Mock, ResponseTemplate};

/// A live session for `location`; returns the `Cookie` value.
async fn signed_in(t: &TestApp, location: &LocationId) -> String {
    // A connected account behind the session: a session without one is refused (issue 16).
    t.connected_session(location.as_str()).await
}

async fn post(t: &TestApp, path: &str, cookie: &str) -> Answer {
    let req = request("POST", path)
        .cookie(cookie)
        .header("origin", FRONTEND)
        .build();
    let answer = t.call(&checkout::routes(), req).await;
    answer.assert_envelope();
    answer
}

async fn get(t: &TestApp, path: &str, cookie: &str) -> Answer {
    let req = request("GET", path).cookie(cookie).build();
    let answer = t.call(&checkout::routes(), req).await;
    answer.assert_envelope();
    answer
}

#[tokio::test]
async fn checkout_creates_a_customer_and_answers_the_session_url() {
    let (t, stripe) = with_stripe().await;
    let cookie = signed_in(&t, &location()).await;
    let bearer = format!("Bearer {TEST_STRIPE_KEY}");
    Mock::given(method("POST"))
        .and(path("/v1/customers"))
        .and(header("authorization", bearer.as_str()))
        .and(header("stripe-version", "2024-06-20"))
        .and(header_exists("idempotency-key"))
        .and(body_string_contains(format!(
            "metadata%5BlocationId%5D={LOCATION}"
        )))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"id": CUSTOMER, "object": "customer", "livemode": false})),
        )
        .expect(1)
        .mount(&stripe)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/checkout/sessions"))
        .and(header("authorization", bearer.as_str()))
        .and(header_exists("idempotency-key"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string_contains("mode=subscription"))
        .and(body_string_contains(format!("customer={CUSTOMER}")))
        .and(body_string_contains(
            "line_items%5B0%5D%5Bprice%5D=price_test_pro",
        ))
        .and(body_string_contains(format!(
            "client_reference_id={LOCATION}"
        )))
        .and(body_string_contains(format!(
            "subscription_data%5Bmetadata%5D%5BlocationId%5D={LOCATION}"
        )))
        .and(body_string_contains(
            "success_url=http%3A%2F%2Flocalhost%3A5173%2Fbilling",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "cs_test_a1b2c3",
            "object": "checkout.session",
            "mode": "subscription",
            "url": "https://checkout.stripe.com/c/pay/cs_test_a1b2c3"
        })))
        .expect(1)
        .mount(&stripe)
        .await;

    let answer = post(&t, "/api/subscription/checkout", &cookie).await;

    assert_eq!(answer.status, 200, "{}", answer.json);
    assert_eq!(
        answer.json["data"]["url"],
        "https://checkout.stripe.com/c/pay/cs_test_a1b2c3"
    );
    assert_eq!(answer.json["data"]["sessionId"], "cs_test_a1b2c3");
    let account = t.stored_account(&location()).await;
    assert_eq!(account.stripe_customer_id.as_deref(), Some(CUSTOMER));
    assert_eq!(
        account.stored_plan,
        Plan::Free,
        "Pro only comes from Stripe's webhook"
    );
}

#[tokio::test]
async fn checkout_when_already_pro_answers_conflict() {
    let (t, stripe) = with_stripe().await;
    let now = now_epoch();
    make_pro(&t, &location(), now + 20 * 86400, now).await;
    let cookie = signed_in(&t, &location()).await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&stripe)
        .await;

    let answer = post(&t, "/api/subscription/checkout", &cookie).await;

    assert_eq!(answer.status, 409, "{}", answer.json);
    assert_eq!(answer.error_code(), "CONFLICT");
}

#[tokio::test]
async fn billing_routes_need_a_session() {
    let (t, _stripe) = with_stripe().await;
    for (verb, route) in [
        ("POST", "/api/subscription/checkout"),
        ("POST", "/api/subscription/portal"),
        ("GET", "/api/subscription/status"),
        ("POST", "/api/subscription/cancel"),
    ] {
        let req = request(verb, route).header("origin", FRONTEND).build();
        let answer = t.call(&checkout::routes(), req).await;
        answer.assert_envelope();
        assert_eq!(answer.status, 401, "{route}");
        assert_eq!(answer.error_code(), "UNAUTHENTICATED");
    }
}

#[tokio::test]
async fn upstream_stripe_500_is_retried_then_answers_upstream_unavailable() {
    let (t, stripe) = with_stripe().await;
    let accounts = t.app.accounts();
    accounts
        .link_customer(&location(), CUSTOMER, now_epoch())
        .await
        .expect("link");
    let cookie = signed_in(&t, &location()).await;
    Mock::given(method("POST"))
        .and(path("/v1/checkout/sessions"))
        .respond_with(ResponseTemplate::new(500).set_body_json(json!({
            "error": {"type": "api_error", "message": "An unknown error occurred"}
        })))
        .expect(3)
        .mount(&stripe)
        .await;

    let answer = post(&t, "/api/subscription/checkout", &cookie).await;

    assert_eq!(answer.status, 502, "{}", answer.json);
    assert_eq!(answer.error_code(), "UPSTREAM_UNAVAILABLE");
    assert!(answer.header("retry-after").is_some());
}

#[tokio::test]
async fn a_stripe_refusal_answers_upstream_unavailable_without_retrying() {
    let (t, stripe) = with_stripe().await;
    t.app
        .accounts()
        .link_customer(&location(), CUSTOMER, now_epoch())
        .await
        .expect("link");
    let cookie = signed_in(&t, &location()).await;
    Mock::given(method("POST"))
        .and(path("/v1/checkout/sessions"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": {"type": "invalid_request_error", "code": "resource_missing",
                      "param": "line_items[0][price]", "message": "No such price: 'price_test_pro'"}
        })))
        .expect(1)
        .mount(&stripe)
        .await;

    let answer = post(&t, "/api/subscription/checkout", &cookie).await;

    assert_eq!(answer.status, 502, "{}", answer.json);
    assert_eq!(answer.error_code(), "UPSTREAM_UNAVAILABLE");
}

#[tokio::test]
async fn portal_answers_a_link_for_a_customer_and_not_found_without_one() {
    let (t, stripe) = with_stripe().await;
    let cookie = signed_in(&t, &location()).await;

    let none = post(&t, "/api/subscription/portal", &cookie).await;
    assert_eq!(none.status, 404, "{}", none.json);
    assert_eq!(none.error_code(), "NOT_FOUND");

    t.app
        .accounts()
        .link_customer(&location(), CUSTOMER, now_epoch())
        .await
        .expect("link");
    Mock::given(method("POST"))
        .and(path("/v1/billing_portal/sessions"))
        .and(header_exists("idempotency-key"))
        .and(body_string_contains(format!("customer={CUSTOMER}")))
        .and(body_string_contains(
            "return_url=http%3A%2F%2Flocalhost%3A5173%2Fbilling",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "bps_1QJsample", "object": "billing_portal.session",
            "url": "https://billing.stripe.com/p/session/test_sample"
        })))
        .expect(1)
        .mount(&stripe)
        .await;

    let link = post(&t, "/api/subscription/portal", &cookie).await;
    assert_eq!(link.status, 200, "{}", link.json);
    assert_eq!(
        link.json["data"]["url"],
        "https://billing.stripe.com/p/session/test_sample"
    );
}

#[tokio::test]
async fn status_of_a_new_account_is_free_with_both_plans_features() {
    let (t, _stripe) = with_stripe().await;
    let cookie = signed_in(&t, &location()).await;

    let answer = get(&t, "/api/subscription/status", &cookie).await;

    assert_eq!(answer.status, 200, "{}", answer.json);
    let data = &answer.json["data"];
    assert_eq!(data["plan"], "free");
    assert_eq!(data["cancelAtPeriodEnd"], false);
    assert_eq!(data["features"][0]["plan"], "free");
    assert_eq!(data["features"][1]["plan"], "pro");
    assert_eq!(data["features"][1]["analysesPerMonth"], Value::Null);
}

#[tokio::test]
async fn fresh_status_is_served_without_asking_stripe() {
    let (t, stripe) = with_stripe().await;
    let now = now_epoch();
    make_pro(&t, &location(), now + 20 * 86400, now).await;
    let cookie = signed_in(&t, &location()).await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&stripe)
        .await;

    let answer = get(&t, "/api/subscription/status", &cookie).await;

    assert_eq!(answer.status, 200, "{}", answer.json);
    assert_eq!(answer.json["data"]["plan"], "pro");
    assert_eq!(answer.json["data"]["status"], "active");
}

#[tokio::test]
async fn status_repairs_a_stale_plan_from_stripe() {
    let (t, stripe) = with_stripe().await;
    let now = now_epoch();
    // Stored as Pro, last confirmed an hour ago; the deleted webhook never arrived.
    make_pro(&t, &location(), now + 20 * 86400, now - 3600).await;
    let cookie = signed_in(&t, &location()).await;
    Mock::given(method("GET"))
        .and(path(format!("/v1/subscriptions/{SUBSCRIPTION}")))
        .and(header(
            "authorization",
            format!("Bearer {TEST_STRIPE_KEY}").as_str(),
        ))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(stripe_subscription(
                "canceled",
                now - 60,
                false,
            )),
        )
        .expect(1)
        .mount(&stripe)
        .await;

    let answer = get(&t, "/api/subscription/status", &cookie).await;

    assert_eq!(answer.status, 200, "{}", answer.json);
    assert_eq!(answer.json["data"]["plan"], "free");
    assert_eq!(answer.json["data"]["status"], "canceled");
    let account = t.stored_account(&location()).await;
    assert_eq!(account.stored_plan, Plan::Free);
    assert!(!account.billing_is_stale(now_epoch()));
}

#[tokio::test]
async fn status_repair_does_not_grant_pro_for_a_subscription_on_another_price() {
    let (t, stripe) = with_stripe().await;
    let now = now_epoch();
    // Stored as an unpaid first attempt, last confirmed an hour ago.
    let state = SubscriptionState {
        subscription_id: SUBSCRIPTION.into(),
        customer_id: Some(CUSTOMER.into()),
        status: SubscriptionStatus::Incomplete,
        current_period_end: Some(now + 20 * 86400),
        cancel_at_period_end: false,
        ends_at: None,
    };
    t.app
        .accounts()
        .apply_subscription(&location(), &state, now - 3600, now - 3600)
        .await
        .expect("apply subscription");
    let cookie = signed_in(&t, &location()).await;
    let mut other = stripe_subscription("active", now + 20 * 86400, false);
    other["items"]["data"][0]["price"]["id"] = OTHER_PRICE.into();
    Mock::given(method("GET"))
        .and(path(format!("/v1/subscriptions/{SUBSCRIPTION}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(other))
        .expect(1)
        .mount(&stripe)
        .await;

    let answer = get(&t, "/api/subscription/status", &cookie).await;

    assert_eq!(answer.status, 200, "{}", answer.json);
    assert_eq!(answer.json["data"]["plan"], "free");
    // Never made live: the followed subscription is on another price, so it is ended.
    assert_eq!(answer.json["data"]["status"], "canceled");
    let account = t.stored_account(&location()).await;
    assert_eq!(account.stored_plan, Plan::Free);
    assert_eq!(account.effective_plan(now_epoch()), Plan::Free);
}

#[tokio::test]
async fn status_repair_ends_pro_when_the_stored_subscription_moved_to_another_price() {
    let (t, stripe) = with_stripe().await;
    let now = now_epoch();
    // Stored as Pro, last confirmed an hour ago; since then a plan switch put the subscription on
    // another price, and its webhooks are not applied.
    make_pro(&t, &location(), now + 20 * 86400, now - 3600).await;
    let cookie = signed_in(&t, &location()).await;
    let mut moved = stripe_subscription("active", now + 20 * 86400, false);
    moved["items"]["data"][0]["price"]["id"] = OTHER_PRICE.into();
    Mock::given(method("GET"))
        .and(path(format!("/v1/subscriptions/{SUBSCRIPTION}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(moved))
        .expect(1)
        .mount(&stripe)
        .await;

    let answer = get(&t, "/api/subscription/status", &cookie).await;

    assert_eq!(answer.status, 200, "{}", answer.json);
    assert_eq!(answer.json["data"]["plan"], "free");
    assert_eq!(answer.json["data"]["status"], "canceled");
    assert_eq!(answer.json["data"]["cancelAtPeriodEnd"], false);
    let account = t.stored_account(&location()).await;
    assert_eq!(account.stored_plan, Plan::Free);
    assert_eq!(account.effective_plan(now_epoch()), Plan::Free);
    assert!(
        !account.has_live_subscription(now_epoch()),
        "a new checkout is allowed"
    );
    assert_eq!(
        account.stripe_subscription_id.as_deref(),
        Some(SUBSCRIPTION)
    );
    assert!(!account.billing_is_stale(now_epoch()));
    let logs = integration_tests::captured_logs();
    assert!(
        logs.contains("subscription moved off the Pro price; Pro ended"),
        "the webhook's warning: one rule for both"
    );
    assert!(logs.contains("StripeProEndedByPriceChange"), "the metric");
}

#[tokio::test]
async fn status_serves_the_stored_state_when_stripe_is_down() {
    let (t, stripe) = with_stripe().await;
    let now = now_epoch();
    make_pro(&t, &location(), now + 20 * 86400, now - 3600).await;
    let cookie = signed_in(&t, &location()).await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&stripe)
        .await;

    let answer = get(&t, "/api/subscription/status", &cookie).await;

    assert_eq!(answer.status, 200, "{}", answer.json);
    assert_eq!(answer.json["data"]["plan"], "pro");
}

#[tokio::test]
async fn cancel_keeps_pro_until_the_period_end() {
    let (t, stripe) = with_stripe().await;
    let now = now_epoch();
    let period_end = now + 20 * 86400;
    make_pro(&t, &location(), period_end, now).await;
    let cookie = signed_in(&t, &location()).await;
    Mock::given(method("POST"))
        .and(path(format!("/v1/subscriptions/{SUBSCRIPTION}")))
        .and(header_exists("idempotency-key"))
        .and(body_string_contains("cancel_at_period_end=true"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(stripe_subscription("active", period_end, true)),
        )
        .expect(1)
        .mount(&stripe)
        .await;

    let answer = post(&t, "/api/subscription/cancel", &cookie).await;

    assert_eq!(answer.status, 200, "{}", answer.json);
    let data = &answer.json["data"];
    assert_eq!(data["plan"], "pro");
    assert_eq!(data["cancelAtPeriodEnd"], true);
    assert_eq!(data["subscriptionEndsAt"], data["currentPeriodEnd"]);
    let account = t.stored_account(&location()).await;
    assert_eq!(account.subscription_ends_at, Some(period_end));
    assert_eq!(account.effective_plan(period_end - 1), Plan::Pro);
    assert_eq!(account.effective_plan(period_end), Plan::Free);

    // A second cancel changes nothing and does not call Stripe again (expect(1) above).
    let again = post(&t, "/api/subscription/cancel", &cookie).await;
    assert_eq!(again.status, 200, "{}", again.json);
    assert_eq!(again.json["data"]["cancelAtPeriodEnd"], true);
}

#[tokio::test]
async fn cancel_without_a_subscription_answers_conflict() {
    let (t, _stripe) = with_stripe().await;
    let cookie = signed_in(&t, &location()).await;

    let answer = post(&t, "/api/subscription/cancel", &cookie).await;

    assert_eq!(answer.status, 409, "{}", answer.json);
    assert_eq!(answer.error_code(), "CONFLICT");
}
