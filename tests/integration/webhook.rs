//! The Stripe webhook against moto and a wiremock Stripe: signature checks on the raw body,
//! exactly-once application through the idempotency records, and event ordering.

use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;
use backend_core::billing::signature;
use backend_core::clock::now_epoch;
use backend_core::idempotency::IdempotencyStore;
use backend_core::store::accounts::Plan;
use integration_tests::{answer, on_test_price, repo_root, request, Answer, TestApp};
use secrecy::SecretString;
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use integration_tests::stripe::{
    location, stripe_subscription, with_stripe, CUSTOMER, LOCATION, OTHER_PRICE, SUBSCRIPTION,
};

/// A sample Stripe event from events/stripe/, with a fresh id and `created`, on the test price.
fn sample(name: &str, id: &str, created: i64) -> Value {
    let text = std::fs::read_to_string(
        repo_root()
            .join("events/stripe")
            .join(format!("{name}.json")),
    )
    .unwrap_or_else(|e| panic!("read events/stripe/{name}.json: {e}"));
    let mut event: Value = serde_json::from_str(&text).expect("sample is JSON");
    event["id"] = id.into();
    event["created"] = created.into();
    on_test_price(&mut event);
    event
}

fn delivery(body: &str, signature: Option<&str>) -> lambda_http::Request {
    let mut req = request("POST", "/")
        .header("content-type", "application/json; charset=utf-8")
        .header(
            "user-agent",
            "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        )
        .body(body);
    if let Some(signature) = signature {
        req = req.header("stripe-signature", signature);
    }
    req.build()
}

async fn deliver(t: &TestApp, body: &str, signature: Option<&str>) -> Answer {
    let answer = t
        .call(&stripe_webhook::routes(), delivery(body, signature))
        .await;
    answer.assert_envelope();
    answer
}

/// Signs `event` now and delivers it.
async fn deliver_signed(t: &TestApp, event: &Value) -> Answer {
    let body = event.to_string();
    let header = t.stripe_signature(&body, now_epoch()).await;
    deliver(t, &body, Some(&header)).await
}

async fn record(
    t: &TestApp,
    event_id: &str,
) -> Option<std::collections::HashMap<String, AttributeValue>> {
    t.aws
        .dynamodb()
        .get_item()
        .table_name(&t.tables().idempotency)
        .key("id", AttributeValue::S(format!("stripe:{event_id}")))
        .consistent_read(true)
        .send()
        .await
        .expect("get record")
        .item
}

fn status_of(item: &std::collections::HashMap<String, AttributeValue>) -> &str {
    item.get("status")
        .and_then(|v| v.as_s().ok())
        .map_or("", String::as_str)
}

/// Stripe answering the subscription read that checkout completion and invoices make.
async fn subscription_read(stripe: &MockServer, body: Value, times: u64) {
    Mock::given(method("GET"))
        .and(path(format!("/v1/subscriptions/{SUBSCRIPTION}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .expect(times)
        .mount(stripe)
        .await;
}

// ------------------------------------------------------------------------------- signatures

#[tokio::test]
async fn a_validly_signed_event_is_applied() {
    let (t, _stripe) = with_stripe().await;
    let event = sample("customer.subscription.created", "evt_valid_1", now_epoch());

    let answer = deliver_signed(&t, &event).await;

    assert_eq!(answer.status, 200, "{}", answer.json);
    assert_eq!(answer.json["data"]["result"], "applied");
    let account = t.stored_account(&location()).await;
    assert_eq!(account.stored_plan, Plan::Pro);
    assert_eq!(
        account.stripe_subscription_id.as_deref(),
        Some(SUBSCRIPTION)
    );
    assert_eq!(account.stripe_customer_id.as_deref(), Some(CUSTOMER));
    assert_eq!(
        status_of(&record(&t, "evt_valid_1").await.expect("record")),
        "COMPLETED"
    );
}

#[tokio::test]
async fn two_v1_signatures_of_which_the_second_is_valid_are_accepted() {
    let (t, _stripe) = with_stripe().await;
    let body = sample(
        "customer.subscription.created",
        "evt_rotated_1",
        now_epoch(),
    )
    .to_string();
    let now = now_epoch();
    let valid = t.stripe_signature(&body, now).await;
    let valid_v1 = valid.split(",v1=").nth(1).expect("v1");
    let header = format!("t={now},v1={},v1={valid_v1}", "5a".repeat(32));

    let answer = deliver(&t, &body, Some(&header)).await;

    assert_eq!(answer.status, 200, "{}", answer.json);
}

/// Asserts a 400 naming `reason`, with no idempotency record and no account written.
async fn assert_refused(t: &TestApp, answer: &Answer, event_id: &str, reason: &str) {
    assert_eq!(answer.status, 400, "{}", answer.json);
    assert_eq!(answer.error_code(), "VALIDATION_ERROR");
    let message = answer.json["error"]["message"].as_str().unwrap_or("");
    assert!(
        message.contains(reason),
        "{message:?} should mention {reason:?}"
    );
    assert!(record(t, event_id).await.is_none(), "no idempotency record");
    assert!(
        t.app.accounts().get(&location()).await.unwrap().is_none(),
        "no account"
    );
}

#[tokio::test]
async fn a_tampered_body_is_refused_and_changes_nothing() {
    let (t, _stripe) = with_stripe().await;
    let body = sample("customer.subscription.created", "evt_tampered", now_epoch()).to_string();
    let header = t.stripe_signature(&body, now_epoch()).await;
    let tampered = body.replacen("\"active\"", "\"trialing\"", 1);

    let answer = deliver(&t, &tampered, Some(&header)).await;

    assert_refused(&t, &answer, "evt_tampered", "no v1 signature matches").await;
}

#[tokio::test]
async fn a_signature_made_with_another_secret_is_refused() {
    let (t, _stripe) = with_stripe().await;
    let body = sample(
        "customer.subscription.created",
        "evt_wrong_secret",
        now_epoch(),
    )
    .to_string();
    let other = SecretString::from("whsec_someone_else");
    let header = signature::sign(&other, now_epoch(), body.as_bytes());

    let answer = deliver(&t, &body, Some(&header)).await;

    assert_refused(&t, &answer, "evt_wrong_secret", "no v1 signature matches").await;
}

#[tokio::test]
async fn timestamps_301_seconds_old_or_ahead_are_refused() {
    let (t, _stripe) = with_stripe().await;
    for (offset, id) in [(-301, "evt_too_old"), (301, "evt_too_new")] {
        let body = sample("customer.subscription.created", id, now_epoch()).to_string();
        let header = t.stripe_signature(&body, now_epoch() + offset).await;

        let answer = deliver(&t, &body, Some(&header)).await;

        assert_refused(&t, &answer, id, "300 s").await;
    }
}

#[tokio::test]
async fn missing_empty_malformed_and_v0_only_headers_are_refused() {
    let (t, _stripe) = with_stripe().await;
    let body = sample(
        "customer.subscription.created",
        "evt_bad_header",
        now_epoch(),
    )
    .to_string();
    let valid = t.stripe_signature(&body, now_epoch()).await;
    let v0_only = valid.replace("v1=", "v0=");
    let cases: [(Option<&str>, &str); 5] = [
        (None, "missing"),
        (Some(""), "empty"),
        (Some("not a signature"), "malformed"),
        (Some("t=yesterday,v1=abc"), "malformed"),
        (Some(&v0_only), "no v1 signature"),
    ];
    for (header, reason) in cases {
        let answer = deliver(&t, &body, header).await;
        assert_refused(&t, &answer, "evt_bad_header", reason).await;
    }
}

#[tokio::test]
async fn an_authentic_body_that_is_not_an_event_answers_400() {
    let (t, _stripe) = with_stripe().await;
    let body = r#"{"hello":"world"}"#;
    let header = t.stripe_signature(body, now_epoch()).await;

    let answer = deliver(&t, body, Some(&header)).await;

    assert_eq!(answer.status, 400, "{}", answer.json);
    assert_eq!(answer.error_code(), "VALIDATION_ERROR");
}

// ----------------------------------------------------------------------------- idempotency

#[tokio::test]
async fn the_same_event_delivered_twice_is_applied_once() {
    let (t, stripe) = with_stripe().await;
    let period_end = now_epoch() + 30 * 86400;
    // The Stripe read happens once: the second delivery replays the record.
    subscription_read(&stripe, stripe_subscription("active", period_end, false), 1).await;
    let event = sample("checkout.session.completed", "evt_twice", now_epoch());

    let first = deliver_signed(&t, &event).await;
    let second = deliver_signed(&t, &event).await;

    assert_eq!(first.status, 200, "{}", first.json);
    assert_eq!(first.json["data"]["duplicate"], false);
    assert_eq!(first.json["data"]["result"], "applied");
    assert_eq!(second.status, 200, "{}", second.json);
    assert_eq!(second.json["data"]["duplicate"], true);
    assert_eq!(second.json["data"]["result"], "applied");
    let account = t.stored_account(&location()).await;
    assert_eq!(account.stored_plan, Plan::Pro);
    assert_eq!(account.stripe_customer_id.as_deref(), Some(CUSTOMER));
    assert_eq!(account.current_period_end, Some(period_end));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_deliveries_of_one_event_have_exactly_one_effect() {
    let (t, stripe) = with_stripe().await;
    let period_end = now_epoch() + 30 * 86400;
    // Exactly one application = exactly one subscription read.
    Mock::given(method("GET"))
        .and(path(format!("/v1/subscriptions/{SUBSCRIPTION}")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(stripe_subscription("active", period_end, false))
                .set_delay(std::time::Duration::from_millis(300)),
        )
        .expect(1)
        .mount(&stripe)
        .await;
    let body = sample("checkout.session.completed", "evt_concurrent", now_epoch()).to_string();
    let header = t.stripe_signature(&body, now_epoch()).await;
    let body = Arc::new(body);

    // Through the proxy, which forwards writes in turn as DynamoDB applies them (moto's
    // conditional writes can race: tests/src/fault_proxy.rs).
    let proxy = integration_tests::fault_proxy::FaultProxy::start().await;
    let proxied = proxy.app_for(&t);
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let app = proxied.clone();
        let (body, header) = (body.clone(), header.clone());
        tasks.push(tokio::spawn(async move {
            let req = delivery(&body, Some(&header));
            answer(backend_core::lambda::dispatch(&app, &stripe_webhook::routes(), req).await)
        }));
    }
    let mut fresh = 0;
    for task in tasks {
        let answer = task.await.expect("task");
        answer.assert_envelope();
        match answer.status {
            200 if answer.json["data"]["duplicate"] == false => fresh += 1,
            200 => {}
            409 => assert_eq!(answer.error_code(), "CONFLICT"),
            other => panic!("unexpected {other}: {}", answer.json),
        }
    }

    assert_eq!(fresh, 1, "exactly one delivery did the work");
    let account = t.stored_account(&location()).await;
    assert_eq!(account.stored_plan, Plan::Pro);
    assert_eq!(
        status_of(&record(&t, "evt_concurrent").await.expect("record")),
        "COMPLETED"
    );
}

#[tokio::test]
async fn a_failure_in_the_middle_releases_the_claim_and_the_next_delivery_applies_it() {
    let (t, stripe) = with_stripe().await;
    let period_end = now_epoch() + 30 * 86400;
    // Stripe fails every attempt of the first delivery (3 tries), then recovers.
    Mock::given(method("GET"))
        .and(path(format!("/v1/subscriptions/{SUBSCRIPTION}")))
        .respond_with(ResponseTemplate::new(500).set_body_json(json!({
            "error": {"type": "api_error", "message": "An unknown error occurred"}
        })))
        .up_to_n_times(3)
        .expect(3)
        .mount(&stripe)
        .await;
    subscription_read(&stripe, stripe_subscription("active", period_end, false), 1).await;
    let event = sample("checkout.session.completed", "evt_fails_once", now_epoch());

    let failed = deliver_signed(&t, &event).await;

    assert_eq!(failed.status, 502, "{}", failed.json);
    assert_eq!(failed.error_code(), "UPSTREAM_UNAVAILABLE");
    assert!(
        record(&t, "evt_fails_once").await.is_none(),
        "claim released"
    );
    assert!(t.app.accounts().get(&location()).await.unwrap().is_none());

    let retried = deliver_signed(&t, &event).await;

    assert_eq!(retried.status, 200, "{}", retried.json);
    assert_eq!(retried.json["data"]["result"], "applied");
    let account = t.stored_account(&location()).await;
    assert_eq!(account.stored_plan, Plan::Pro);
}

#[tokio::test]
async fn a_delivery_while_another_is_in_progress_answers_409_and_an_expired_claim_is_taken_over() {
    let (t, _stripe) = with_stripe().await;
    let records = backend_core::idempotency::Idempotency::new(
        t.aws.dynamodb().clone(),
        &t.tables().idempotency,
    );
    let now_ms = backend_core::clock::now_epoch_ms();
    let event = sample(
        "customer.subscription.created",
        "evt_in_progress",
        now_epoch(),
    );
    records
        .claim("stripe:evt_in_progress", now_ms, now_ms + 60_000)
        .await
        .expect("claim");

    let busy = deliver_signed(&t, &event).await;

    assert_eq!(busy.status, 409, "{}", busy.json);
    assert!(t.app.accounts().get(&location()).await.unwrap().is_none());

    // The holder died: its in-progress expiry passes and the next delivery takes over.
    let event = sample(
        "customer.subscription.created",
        "evt_abandoned",
        now_epoch(),
    );
    records
        .claim("stripe:evt_abandoned", now_ms - 120_000, now_ms - 60_000)
        .await
        .expect("claim");
    let taken = deliver_signed(&t, &event).await;
    assert_eq!(taken.status, 200, "{}", taken.json);
    assert_eq!(taken.json["data"]["result"], "applied");
}

// -------------------------------------------------------------------------------- ordering

#[tokio::test]
async fn an_update_older_than_the_deletion_leaves_the_account_free() {
    let (t, _stripe) = with_stripe().await;
    let now = now_epoch();
    let created = sample(
        "customer.subscription.created",
        "evt_order_created",
        now - 30,
    );
    let mut deleted = sample(
        "customer.subscription.deleted",
        "evt_order_deleted",
        now - 10,
    );
    deleted["data"]["object"]["ended_at"] = (now - 10).into();
    let updated = sample(
        "customer.subscription.updated",
        "evt_order_updated",
        now - 20,
    );

    assert_eq!(
        deliver_signed(&t, &created).await.json["data"]["result"],
        "applied"
    );
    assert_eq!(
        deliver_signed(&t, &deleted).await.json["data"]["result"],
        "applied"
    );
    let late = deliver_signed(&t, &updated).await;

    assert_eq!(late.status, 200, "{}", late.json);
    assert_eq!(late.json["data"]["result"], "stale");
    let account = t.stored_account(&location()).await;
    assert_eq!(account.stored_plan, Plan::Free);
    assert_eq!(account.effective_plan(now_epoch()), Plan::Free);
    assert_eq!(account.subscription_status.as_deref(), Some("canceled"));
    assert_eq!(
        status_of(&record(&t, "evt_order_updated").await.expect("recorded")),
        "COMPLETED"
    );
}

#[tokio::test]
async fn an_update_in_the_same_second_as_the_deletion_leaves_the_account_free() {
    let (t, _stripe) = with_stripe().await;
    let now = now_epoch();
    let created = sample("customer.subscription.created", "evt_tie_created", now - 30);
    let mut deleted = sample("customer.subscription.deleted", "evt_tie_deleted", now - 10);
    deleted["data"]["object"]["ended_at"] = (now - 10).into();
    let updated = sample("customer.subscription.updated", "evt_tie_updated", now - 10);
    assert_eq!(
        deliver_signed(&t, &created).await.json["data"]["result"],
        "applied"
    );
    assert_eq!(
        deliver_signed(&t, &deleted).await.json["data"]["result"],
        "applied"
    );
    let late = deliver_signed(&t, &updated).await;
    assert_eq!(late.json["data"]["result"], "stale", "{}", late.json);
    let account = t.stored_account(&location()).await;
    assert_eq!(account.effective_plan(now_epoch()), Plan::Free);
}

#[tokio::test]
async fn a_scheduled_cancellation_keeps_pro_until_the_period_end() {
    let (t, _stripe) = with_stripe().await;
    let mut updated = sample(
        "customer.subscription.updated",
        "evt_cancel_later",
        now_epoch(),
    );
    let period_end = now_epoch() + 10 * 86400;
    updated["data"]["object"]["current_period_end"] = period_end.into();
    updated["data"]["object"]["cancel_at"] = period_end.into();

    let answer = deliver_signed(&t, &updated).await;

    assert_eq!(answer.status, 200, "{}", answer.json);
    let account = t.stored_account(&location()).await;
    assert!(account.cancel_at_period_end);
    assert_eq!(account.subscription_ends_at, Some(period_end));
    assert_eq!(account.effective_plan(now_epoch()), Plan::Pro);
    assert_eq!(account.effective_plan(period_end), Plan::Free);
}

#[tokio::test]
async fn a_paid_invoice_extends_the_period_and_a_failed_one_keeps_pro_while_past_due() {
    let (t, stripe) = with_stripe().await;
    let next_end = now_epoch() + 60 * 86400;
    let paid = sample("invoice.paid", "evt_invoice_paid", now_epoch());
    subscription_read(&stripe, stripe_subscription("active", next_end, false), 1).await;

    let answer = deliver_signed(&t, &paid).await;

    assert_eq!(answer.status, 200, "{}", answer.json);
    let account = t.stored_account(&location()).await;
    assert_eq!(account.current_period_end, Some(next_end));
    assert_eq!(account.stored_plan, Plan::Pro);

    stripe.reset().await;
    subscription_read(&stripe, stripe_subscription("past_due", next_end, false), 1).await;
    let failed = sample(
        "invoice.payment_failed",
        "evt_invoice_failed",
        now_epoch() + 1,
    );

    let answer = deliver_signed(&t, &failed).await;

    assert_eq!(answer.status, 200, "{}", answer.json);
    let account = t.stored_account(&location()).await;
    assert_eq!(account.subscription_status.as_deref(), Some("past_due"));
    assert_eq!(account.effective_plan(now_epoch()), Plan::Pro);
}

#[tokio::test]
async fn an_invoice_of_a_subscription_stripe_does_not_know_is_recorded_not_retried() {
    let (t, stripe) = with_stripe().await;
    Mock::given(method("GET"))
        .and(path(format!("/v1/subscriptions/{SUBSCRIPTION}")))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({
            "error": {"type": "invalid_request_error", "code": "resource_missing", "param": "id",
                      "message": format!("No such subscription: '{SUBSCRIPTION}'")}
        })))
        .expect(1)
        .mount(&stripe)
        .await;
    let paid = sample("invoice.paid", "evt_invoice_unknown_sub", now_epoch());

    let answer = deliver_signed(&t, &paid).await;

    assert_eq!(answer.status, 200, "{}", answer.json);
    assert_eq!(answer.json["data"]["result"], "ignored");
    assert!(t.app.accounts().get(&location()).await.unwrap().is_none());
}

// ----------------------------------------------------------------------------- the Pro price

const NOT_PRO_PRICE: &str = "the subscription is not for the Pro price";

/// Asserts a 200 `ignored` for another price, recorded, and an account still Free without the
/// subscription.
async fn assert_other_price_ignored(t: &TestApp, answer: &Answer, event_id: &str) {
    assert_eq!(answer.status, 200, "{}", answer.json);
    assert_eq!(answer.json["data"]["result"], "ignored");
    assert_eq!(answer.json["data"]["reason"], NOT_PRO_PRICE);
    assert_eq!(
        status_of(&record(t, event_id).await.expect("recorded")),
        "COMPLETED"
    );
    let account = t.stored_account(&location()).await;
    assert_eq!(account.stored_plan, Plan::Free);
    assert_eq!(account.effective_plan(now_epoch()), Plan::Free);
    assert_eq!(account.stripe_subscription_id, None);
    assert_eq!(account.subscription_status, None);
}

/// A Free account of `LOCATION` that already has its Stripe customer.
async fn free_account(t: &TestApp) {
    t.app
        .accounts()
        .link_customer(&location(), CUSTOMER, now_epoch())
        .await
        .expect("link customer");
}

#[tokio::test]
async fn a_subscription_on_another_price_with_our_location_leaves_the_account_free() {
    let (t, _stripe) = with_stripe().await;
    free_account(&t).await;
    let mut event = sample(
        "customer.subscription.created",
        "evt_other_price",
        now_epoch(),
    );
    event["data"]["object"]["items"]["data"][0]["price"]["id"] = OTHER_PRICE.into();

    let answer = deliver_signed(&t, &event).await;

    assert_other_price_ignored(&t, &answer, "evt_other_price").await;
    assert_eq!(answer.json["data"]["locationId"], LOCATION);
    let logs = integration_tests::captured_logs();
    let warning = logs
        .lines()
        .find(|line| line.contains("evt_other_price") && line.contains("not for the Pro price"))
        .expect("a warning for the ignored subscription");
    assert!(warning.contains(SUBSCRIPTION), "{warning}");
    assert!(logs.contains("StripeForeignPriceIgnored"), "the metric");
}

#[tokio::test]
async fn an_invoice_of_a_subscription_on_another_price_is_ignored() {
    let (t, stripe) = with_stripe().await;
    free_account(&t).await;
    let mut other = stripe_subscription("active", now_epoch() + 30 * 86400, false);
    other["items"]["data"][0]["price"]["id"] = OTHER_PRICE.into();
    subscription_read(&stripe, other, 1).await;
    let paid = sample("invoice.paid", "evt_invoice_other_price", now_epoch());

    let answer = deliver_signed(&t, &paid).await;

    assert_other_price_ignored(&t, &answer, "evt_invoice_other_price").await;
}

#[tokio::test]
async fn a_completed_checkout_whose_subscription_is_on_another_price_is_ignored() {
    let (t, stripe) = with_stripe().await;
    free_account(&t).await;
    let mut other = stripe_subscription("active", now_epoch() + 30 * 86400, false);
    other["items"]["data"][0]["price"] = OTHER_PRICE.into(); // the id-only form
    subscription_read(&stripe, other, 1).await;
    let completed = sample(
        "checkout.session.completed",
        "evt_checkout_other_price",
        now_epoch(),
    );

    let answer = deliver_signed(&t, &completed).await;

    assert_other_price_ignored(&t, &answer, "evt_checkout_other_price").await;
}

/// Another subscription of the same customer, on another price.
const OTHER_SUBSCRIPTION: &str = "sub_1QJotherSubscr02";

/// An account that follows `SUBSCRIPTION`, Pro since `created` (a webhook on the Pro price).
async fn pro_on_our_subscription(t: &TestApp, created: i64) {
    let event = sample("customer.subscription.created", "evt_pro_first", created);
    let answer = deliver_signed(t, &event).await;
    assert_eq!(answer.json["data"]["result"], "applied", "{}", answer.json);
    let account = t.stored_account(&location()).await;
    assert_eq!(account.effective_plan(now_epoch()), Plan::Pro);
}

#[tokio::test]
async fn the_followed_subscription_moved_to_another_price_ends_pro() {
    let (t, _stripe) = with_stripe().await;
    let now = now_epoch();
    pro_on_our_subscription(&t, now - 30).await;
    // A plan switch in the portal: the same subscription, still active, on another price.
    let mut switched = sample("customer.subscription.updated", "evt_switched", now - 10);
    switched["data"]["object"]["items"]["data"][0]["price"]["id"] = OTHER_PRICE.into();

    let answer = deliver_signed(&t, &switched).await;

    assert_eq!(answer.status, 200, "{}", answer.json);
    assert_eq!(answer.json["data"]["result"], "applied");
    assert_eq!(
        answer.json["data"]["reason"],
        "the subscription left the Pro price; Pro ended"
    );
    assert_eq!(answer.json["data"]["locationId"], LOCATION);
    let account = t.stored_account(&location()).await;
    assert_eq!(account.effective_plan(now_epoch()), Plan::Free);
    assert_eq!(account.stored_plan, Plan::Free);
    assert_eq!(account.subscription_status.as_deref(), Some("canceled"));
    assert!(!account.cancel_at_period_end);
    assert_eq!(account.last_stripe_event_created, Some(now - 10));
    assert_eq!(
        account.stripe_subscription_id.as_deref(),
        Some(SUBSCRIPTION)
    );
    assert!(
        !account.has_live_subscription(now_epoch()),
        "a new checkout is allowed"
    );
    assert_eq!(
        status_of(&record(&t, "evt_switched").await.expect("recorded")),
        "COMPLETED"
    );
    let logs = integration_tests::captured_logs();
    let warning = logs
        .lines()
        .find(|line| line.contains("evt_switched") && line.contains("Pro ended"))
        .expect("a warning for the ended subscription");
    assert!(warning.contains(SUBSCRIPTION), "{warning}");
    assert!(logs.contains("StripeProEndedByPriceChange"), "the metric");
}

#[tokio::test]
async fn another_subscription_on_another_price_leaves_pro_on_the_followed_one() {
    let (t, _stripe) = with_stripe().await;
    let now = now_epoch();
    pro_on_our_subscription(&t, now - 30).await;
    let mut other = sample("customer.subscription.updated", "evt_other_sub", now - 10);
    other["data"]["object"]["id"] = OTHER_SUBSCRIPTION.into();
    other["data"]["object"]["items"]["data"][0]["price"]["id"] = OTHER_PRICE.into();

    let answer = deliver_signed(&t, &other).await;

    assert_eq!(answer.status, 200, "{}", answer.json);
    assert_eq!(answer.json["data"]["result"], "ignored");
    assert_eq!(answer.json["data"]["reason"], NOT_PRO_PRICE);
    let account = t.stored_account(&location()).await;
    assert_eq!(account.effective_plan(now_epoch()), Plan::Pro);
    assert_eq!(account.subscription_status.as_deref(), Some("active"));
    assert_eq!(
        account.stripe_subscription_id.as_deref(),
        Some(SUBSCRIPTION)
    );
    assert_eq!(account.last_stripe_event_created, Some(now - 30));
}

#[tokio::test]
async fn an_older_event_of_the_followed_subscription_on_another_price_leaves_pro() {
    let (t, _stripe) = with_stripe().await;
    let now = now_epoch();
    // Moved to another price and back to Pro; the first switch's event arrives last.
    pro_on_our_subscription(&t, now - 10).await;
    let mut late = sample("customer.subscription.updated", "evt_late_switch", now - 30);
    late["data"]["object"]["items"]["data"][0]["price"]["id"] = OTHER_PRICE.into();

    let answer = deliver_signed(&t, &late).await;

    assert_eq!(answer.status, 200, "{}", answer.json);
    assert_eq!(answer.json["data"]["result"], "ignored");
    assert_eq!(answer.json["data"]["reason"], NOT_PRO_PRICE);
    let account = t.stored_account(&location()).await;
    assert_eq!(account.effective_plan(now_epoch()), Plan::Pro);
    assert_eq!(account.subscription_status.as_deref(), Some("active"));
}

#[tokio::test]
async fn unknown_event_types_answer_200_and_are_recorded() {
    let (t, _stripe) = with_stripe().await;
    let event = json!({
        "id": "evt_unknown_type", "object": "event", "api_version": "2024-06-20",
        "created": now_epoch(), "livemode": false, "pending_webhooks": 1,
        "type": "customer.tax_id.created",
        "data": {"object": {"id": "txi_123", "object": "tax_id", "customer": CUSTOMER}}
    });

    let answer = deliver_signed(&t, &event).await;

    assert_eq!(answer.status, 200, "{}", answer.json);
    assert_eq!(answer.json["data"]["result"], "ignored");
    assert_eq!(
        status_of(&record(&t, "evt_unknown_type").await.expect("recorded")),
        "COMPLETED"
    );
    assert!(t.app.accounts().get(&location()).await.unwrap().is_none());
}

#[tokio::test]
async fn every_stripe_sample_event_is_accepted_when_signed() {
    let (t, stripe) = with_stripe().await;
    Mock::given(method("GET"))
        .and(path(format!("/v1/subscriptions/{SUBSCRIPTION}")))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(stripe_subscription(
                "active",
                now_epoch() + 86400,
                false,
            )),
        )
        .mount(&stripe)
        .await;
    let mut names: Vec<_> = std::fs::read_dir(repo_root().join("events/stripe"))
        .expect("events/stripe")
        .filter_map(Result::ok)
        .filter_map(|e| {
            e.file_name()
                .to_str()?
                .strip_suffix(".json")
                .map(str::to_owned)
        })
        .collect();
    names.sort();
    assert!(names.len() >= 6, "{names:?}");
    for (i, name) in names.iter().enumerate() {
        let event = sample(name, &format!("evt_sample_{i}"), now_epoch());
        assert_eq!(event["type"], name.as_str(), "file name is the event type");
        assert_eq!(
            event["data"]["object"]["metadata"]["locationId"]
                .as_str()
                .or(
                    event["data"]["object"]["subscription_details"]["metadata"]["locationId"]
                        .as_str()
                ),
            Some(LOCATION),
            "{name}"
        );
        let answer = deliver_signed(&t, &event).await;
        assert_eq!(answer.status, 200, "{name}: {}", answer.json);
    }
}

// ------------------------------------------------------------------ checkout's location claim

#[tokio::test]
async fn a_checkout_naming_another_location_is_ignored_unless_the_subscription_or_customer_agrees()
{
    let (t, stripe) = with_stripe().await;
    let period_end = now_epoch() + 30 * 86400;
    // The victim: a connected account with nothing to do with this payment.
    t.connected_session("LocVictim1").await;
    let victim = backend_core::auth::LocationId::parse("LocVictim1").unwrap();
    // A payer's own subscription (e.g. from a Payment Link): metadata names no location.
    let mut foreign = stripe_subscription("active", period_end, false);
    foreign["metadata"] = json!({});
    subscription_read(&stripe, foreign, 2).await;
    let mut event = sample(
        "checkout.session.completed",
        "evt_claims_victim",
        now_epoch(),
    );
    event["data"]["object"]["client_reference_id"] = json!("LocVictim1");
    event["data"]["object"]["metadata"] = json!({});
    let res = deliver_signed(&t, &event).await;
    assert_eq!(res.status, 200, "{}", res.json);
    assert_eq!(res.json["data"]["result"], "ignored", "{}", res.json);
    let account = t.stored_account(&victim).await;
    assert_eq!(
        account.stored_plan,
        Plan::Free,
        "the victim's plan is untouched"
    );
    assert_eq!(account.stripe_customer_id, None, "nor its customer");
    let logs = integration_tests::captured_logs();
    assert!(
        logs.contains("StripeCheckoutLocationMismatch"),
        "a metric line"
    );

    // The same session for the account whose customer it is: applied.
    t.app
        .accounts()
        .link_customer(&victim, CUSTOMER, now_epoch())
        .await
        .unwrap();
    let mut event = sample(
        "checkout.session.completed",
        "evt_own_customer",
        now_epoch(),
    );
    event["data"]["object"]["client_reference_id"] = json!("LocVictim1");
    event["data"]["object"]["metadata"] = json!({});
    let res = deliver_signed(&t, &event).await;
    assert_eq!(res.status, 200, "{}", res.json);
    assert_ne!(res.json["data"]["result"], "ignored", "{}", res.json);
}
