//! The HighLevel lifecycle webhook against moto, with an Ed25519 key pair made here: signature
//! checks on the raw body, freshness, exactly-once per `webhookId`, installs, and what an
//! uninstall erases once the erasure worker has run its queued jobs (and what it leaves alone).

use std::collections::HashMap;
use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;
use backend_core::auth::LocationId;
use backend_core::clock::now_epoch;
use backend_core::highlevel::WorkflowId;
use backend_core::install::signature::WebhookKey;
use backend_core::install::InstallWrites;
use backend_core::store::accounts::usage::QuotaWrites;
use backend_core::store::results::{AnalysisId, NewAnalysis};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ed25519_dalek::{Signer, SigningKey};
use integration_tests::{answer, captured_logs, request, scan_all, Answer, TestApp};
use serde_json::{json, Value};

type Item = HashMap<String, AttributeValue>;

/// A test world whose `GHL_WEBHOOK_PUBLIC_KEY` is the public half of a fresh key pair.
struct World {
    t: TestApp,
    key: SigningKey,
}

async fn world_with(extra: &[(&str, Option<&str>)]) -> World {
    let key = SigningKey::from_bytes(&rand::random::<[u8; 32]>());
    let spki = WebhookKey::from_verifying_key(key.verifying_key()).to_spki_base64();
    let mut env = vec![
        ("GHL_WEBHOOK_PUBLIC_KEY", Some(spki.as_str())),
        ("GHL_APP_ID", Some("app_test_1")),
    ];
    env.extend_from_slice(extra);
    World {
        t: TestApp::with_env(&env).await,
        key,
    }
}

async fn world() -> World {
    world_with(&[]).await
}

fn iso(epoch_ms: i64) -> String {
    let at = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(epoch_ms) * 1_000_000)
        .expect("time");
    at.format(&time::format_description::well_known::Rfc3339)
        .expect("format")
}

fn now_ms() -> i64 {
    backend_core::clock::now_epoch_ms()
}

fn webhook_id() -> String {
    format!("wh-{}", hex::encode(rand::random::<[u8; 8]>()))
}

/// A delivery body of `kind`, sent now, with `fields` merged in.
fn payload(kind: &str, fields: Value) -> Value {
    let mut body = json!({
        "type": kind,
        "appId": "app_test_1",
        "webhookId": webhook_id(),
        "timestamp": iso(now_ms()),
    });
    if let (Some(body), Value::Object(fields)) = (body.as_object_mut(), fields) {
        body.extend(fields);
    }
    body
}

fn sign(key: &SigningKey, body: &str) -> String {
    STANDARD.encode(key.sign(body.as_bytes()).to_bytes())
}

fn delivery(body: &str, headers: &[(&str, &str)]) -> lambda_http::Request {
    let mut req = request("POST", "/webhooks/ghl")
        .header("content-type", "application/json")
        .body(body);
    for (name, value) in headers {
        req = req.header(name, value);
    }
    req.build()
}

impl World {
    async fn send(&self, body: &str, headers: &[(&str, &str)]) -> Answer {
        let answer = self
            .t
            .call(&ghl_webhook::routes(), delivery(body, headers))
            .await;
        answer.assert_envelope();
        answer
    }

    /// Signs `body` with the configured key pair and delivers it.
    async fn deliver(&self, body: &Value) -> Answer {
        let text = body.to_string();
        let signature = sign(&self.key, &text);
        self.send(&text, &[("x-ghl-signature", &signature)]).await
    }

    async fn account(&self, location: &str) -> Option<Item> {
        self.t
            .aws
            .dynamodb()
            .get_item()
            .table_name(&self.t.tables().accounts)
            .key("locationId", AttributeValue::S(location.into()))
            .consistent_read(true)
            .send()
            .await
            .expect("get account")
            .item
    }

    /// Every item of every table, by logical table name.
    async fn everything(&self) -> Vec<(&'static str, Item)> {
        let mut all = Vec::new();
        for (name, table) in self.t.tables().named() {
            for item in scan_all(&self.t.aws, table).await {
                all.push((name, item));
            }
        }
        all
    }

    /// A connected location with the data an uninstall must erase: two sessions, a usage
    /// counter, an analyze rate-limit window and three analyses. Returns the first session's cookie.
    async fn populated(&self, location: &str) -> String {
        let cookie = self.t.connected_session(location).await;
        let id = LocationId::parse(location).expect("location");
        self.t.session_cookie(&id).await;
        let app = &self.t.app;
        app.accounts()
            .consume_quota(&id, "2026-11", 10)
            .await
            .expect("usage");
        app.rate_limits()
            .hit(app.config.rate_limits.analyze, location, now_epoch())
            .await
            .expect("window");
        let workflow = WorkflowId::parse("wf-1").expect("a workflow id");
        for n in 0..3 {
            let analysis = AnalysisId::generate(now_ms() + n);
            let summary = json!({"issues": n});
            app.results()
                .put(&NewAnalysis {
                    location: &id,
                    id: &analysis,
                    workflow_id: Some(&workflow),
                    workflow_name: Some("Welcome"),
                    health_score: 80,
                    grade: "B",
                    confidence: "high",
                    summary: &summary,
                    created_at_ms: now_ms(),
                    expires_at: None,
                    result: &summary,
                    definition: None,
                    compared: None,
                })
                .await
                .expect("put analysis");
        }
        cookie
    }
}

/// Whether any attribute of `item` (strings, at any depth of the key) mentions `needle`.
fn mentions(item: &Item, needle: &str) -> bool {
    item.values().any(|value| match value {
        AttributeValue::S(text) => text.contains(needle),
        _ => false,
    })
}

fn rejections(reason: &str) -> usize {
    captured_logs()
        .lines()
        .filter(|line| {
            line.contains("\"GhlWebhookRejected\"")
                && line.contains(&format!("\"Reason\":\"{reason}\""))
        })
        .count()
}

async fn assert_refused_and_nothing_written(w: &World, answer: &Answer) {
    assert_eq!(answer.status, 401, "{}", answer.json);
    assert_eq!(answer.error_code(), "UNAUTHENTICATED");
    let items = w.everything().await;
    assert!(items.is_empty(), "a refused delivery wrote {items:?}");
}

// ------------------------------------------------------------------------------- signatures

#[tokio::test]
async fn a_validly_signed_install_records_the_installation_without_tokens() {
    let w = world().await;
    let body = payload(
        "INSTALL",
        json!({"locationId": "locInstall1", "companyId": "comp1", "versionId": "v7", "planId": "plan_pro", "installType": "Location"}),
    );

    let answer = w.deliver(&body).await;

    assert_eq!(answer.status, 200, "{}", answer.json);
    assert_eq!(answer.json["data"]["result"], "applied");
    assert_eq!(answer.json["data"]["duplicate"], false);
    let account = w.account("locInstall1").await.expect("account recorded");
    for (name, want) in [
        ("companyId", "comp1"),
        ("appVersionId", "v7"),
        ("installPlanId", "plan_pro"),
        ("appId", "app_test_1"),
        ("plan", "free"),
    ] {
        assert_eq!(
            account[name].as_s().ok().map(String::as_str),
            Some(want),
            "{name}"
        );
    }
    assert!(account.contains_key("installedAt"));
    assert!(!account.contains_key("accessToken") && !account.contains_key("refreshToken"));
}

#[tokio::test]
async fn a_tampered_body_is_refused_with_a_warning_that_omits_the_body() {
    let w = world().await;
    let marker = format!("marker-{}", hex::encode(rand::random::<[u8; 6]>()));
    let body = payload(
        "UNINSTALL",
        json!({"locationId": "locTamper1", "companyName": marker}),
    )
    .to_string();
    let signature = sign(&w.key, &body);
    let tampered = body.replace("locTamper1", "locTamper2");
    let before = rejections("mismatch");

    let answer = w.send(&tampered, &[("x-ghl-signature", &signature)]).await;

    assert_refused_and_nothing_written(&w, &answer).await;
    assert!(
        rejections("mismatch") > before,
        "a GhlWebhookRejected metric"
    );
    let logs = captured_logs();
    assert!(logs.contains("HighLevel webhook refused"));
    assert!(!logs.contains(&marker), "the body reached the logs");
}

#[tokio::test]
async fn a_signature_from_another_key_is_refused() {
    let w = world().await;
    let other = SigningKey::from_bytes(&[42; 32]);
    let body = payload("INSTALL", json!({"locationId": "locOther1"})).to_string();

    let answer = w
        .send(&body, &[("x-ghl-signature", &sign(&other, &body))])
        .await;

    assert_refused_and_nothing_written(&w, &answer).await;
}

#[tokio::test]
async fn missing_empty_non_base64_and_wrong_length_signatures_are_refused() {
    let w = world().await;
    let body = payload("INSTALL", json!({"locationId": "locBadSig1"})).to_string();
    let good = sign(&w.key, &body);
    let short = STANDARD.encode(&STANDARD.decode(&good).expect("b64")[..63]);
    let long = STANDARD.encode([7u8; 65]);
    let cases: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("missing", vec![]),
        ("missing", vec![("x-ghl-signature", "")]),
        ("malformed", vec![("x-ghl-signature", "not base64 at all!")]),
        ("malformed", vec![("x-ghl-signature", &short)]),
        ("malformed", vec![("x-ghl-signature", &long)]),
    ];
    for (reason, headers) in cases {
        let before = rejections(reason);
        let answer = w.send(&body, &headers).await;
        assert_refused_and_nothing_written(&w, &answer).await;
        assert!(rejections(reason) > before, "{reason} for {headers:?}");
    }
}

#[tokio::test]
async fn a_delivery_signed_only_with_the_retired_rsa_header_is_refused() {
    let w = world().await;
    let body = payload("INSTALL", json!({"locationId": "locRsa1"})).to_string();
    let before = rejections("rsa_only");

    let answer = w
        .send(&body, &[("x-wh-signature", &STANDARD.encode([1u8; 256]))])
        .await;

    assert_refused_and_nothing_written(&w, &answer).await;
    assert!(rejections("rsa_only") > before);
}

#[tokio::test]
async fn deliveries_beyond_the_65_minute_window_are_refused() {
    let w = world().await;
    for offset_ms in [-3_960_000i64, 3_960_000] {
        let mut body = payload("INSTALL", json!({"locationId": "locStale1"}));
        body["timestamp"] = iso(now_ms() + offset_ms).into();

        let answer = w.deliver(&body).await;

        assert_refused_and_nothing_written(&w, &answer).await;
    }
    // HighLevel's sixth retry, an hour after the original timestamp (epoch milliseconds), is
    // inside the window: a delivery we answered 429 must be able to come back.
    let mut body = payload("INSTALL", json!({"locationId": "locStale1"}));
    body["timestamp"] = (now_ms() - 3_600_000).into();
    assert_eq!(w.deliver(&body).await.status, 200);
}

// ------------------------------------------------------------------------------- exactly once

#[tokio::test]
async fn the_same_webhook_id_twice_is_applied_once() {
    let w = world().await;
    let body = payload(
        "INSTALL",
        json!({"locationId": "locTwice1", "companyId": "c1"}),
    );
    let first = w.deliver(&body).await;
    assert_eq!(first.json["data"]["duplicate"], false, "{}", first.json);
    // Were the second delivery applied again, the account would come back.
    w.t.aws
        .dynamodb()
        .delete_item()
        .table_name(&w.t.tables().accounts)
        .key("locationId", AttributeValue::S("locTwice1".into()))
        .send()
        .await
        .expect("delete");

    let second = w.deliver(&body).await;

    assert_eq!(second.status, 200, "{}", second.json);
    assert_eq!(second.json["data"]["duplicate"], true);
    assert_eq!(second.json["data"]["result"], "applied");
    assert!(w.account("locTwice1").await.is_none(), "applied twice");
    let record = scan_all(&w.t.aws, &w.t.tables().idempotency).await;
    assert_eq!(record.len(), 1);
    let id = body["webhookId"].as_str().expect("id");
    assert_eq!(record[0]["id"].as_s().ok(), Some(&format!("ghl:{id}")));
    assert_eq!(
        record[0]["status"].as_s().ok().map(String::as_str),
        Some("COMPLETED")
    );
    let logs = captured_logs();
    assert!(logs.contains("\"GhlWebhookProcessed\":1.0"));
    assert!(logs.contains("\"GhlWebhookDuplicate\":1.0"));
}

#[tokio::test]
async fn twenty_concurrent_duplicates_have_one_effect() {
    let w = world().await;
    w.populated("locRace1").await;
    let body = payload("UNINSTALL", json!({"locationId": "locRace1"})).to_string();
    let signature = sign(&w.key, &body);

    // Through the proxy, which forwards writes in turn as DynamoDB applies them (moto's
    // conditional writes can race: tests/src/fault_proxy.rs).
    let proxy = integration_tests::fault_proxy::FaultProxy::start().await;
    let proxied = proxy.app_for(&w.t);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let app = Arc::clone(&proxied);
        let req = delivery(&body, &[("x-ghl-signature", &signature)]);
        tasks.spawn(async move {
            answer(backend_core::lambda::dispatch(&app, &ghl_webhook::routes(), req).await)
        });
    }
    let mut fresh = 0;
    let mut statuses = Vec::new();
    while let Some(done) = tasks.join_next().await {
        let answer = done.expect("task");
        answer.assert_envelope();
        statuses.push(answer.status);
        if answer.status == 200 && answer.json["data"]["duplicate"] == false {
            fresh += 1;
            assert_eq!(answer.json["data"]["queued"]["jobs"], 1, "{}", answer.json);
        }
    }

    assert_eq!(fresh, 1, "exactly one delivery did the work: {statuses:?}");
    assert_eq!(w.t.receive_erasures().await.len(), 1, "one job queued");
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 429),
        "only 200 or in-progress 429 (HighLevel retries only 429s): {statuses:?}"
    );
}

// ------------------------------------------------------------------------------- installs

#[tokio::test]
async fn a_bulk_install_of_30_locations_records_each_of_them() {
    let w = world().await;
    let ids: Vec<String> = (0..30).map(|n| format!("locBulk{n:02}")).collect();
    let body = payload(
        "INSTALL",
        json!({"companyId": "compBulk", "installType": "Company", "locationIds": ids}),
    );

    let answer = w.deliver(&body).await;

    assert_eq!(answer.status, 200, "{}", answer.json);
    assert_eq!(answer.json["data"]["locations"], 30);
    let accounts = scan_all(&w.t.aws, &w.t.tables().accounts).await;
    assert_eq!(accounts.len(), 30);
    for account in &accounts {
        assert_eq!(
            account["companyId"].as_s().ok().map(String::as_str),
            Some("compBulk")
        );
        assert!(account.contains_key("installedAt"));
    }
}

#[tokio::test]
async fn an_install_keeps_existing_tokens_and_billing() {
    let w = world().await;
    w.t.connected_session("locKeep1").await;
    let before = w.account("locKeep1").await.expect("account");

    w.deliver(&payload(
        "INSTALL",
        json!({"locationId": "locKeep1", "companyId": "c9"}),
    ))
    .await;

    let after = w.account("locKeep1").await.expect("account");
    for name in ["accessToken", "refreshToken", "tokenVersion", "plan"] {
        assert_eq!(before.get(name), after.get(name), "{name}");
    }
}

#[tokio::test]
async fn location_updates_and_unknown_types_are_recorded_without_effect() {
    let w = world().await;
    for kind in ["LocationUpdate", "SomethingNew"] {
        let answer = w
            .deliver(&payload(
                kind,
                json!({"locationId": "locUpd1", "id": "locUpd1"}),
            ))
            .await;
        assert_eq!(answer.status, 200, "{}", answer.json);
        assert_eq!(answer.json["data"]["result"], "ignored");
    }
    let items = w.everything().await;
    assert!(
        items.iter().all(|(table, _)| *table == "idempotency"),
        "{items:?}"
    );
    assert_eq!(items.len(), 2);
}

// ------------------------------------------------------------------------------- other apps

/// HighLevel signs every marketplace app's events with one key: an app our customer once
/// installed receives a valid UNINSTALL for them and can replay it to us (issue 16).
#[tokio::test]
async fn events_for_another_app_are_ignored_with_a_metric_and_never_applied() {
    let w = world().await;
    let cookie = w.populated("locForeign1").await;
    let before: Vec<_> = w
        .everything()
        .await
        .into_iter()
        .filter(|(table, _)| *table != "idempotency")
        .collect();
    let metrics_before = captured_logs().matches("\"GhlWebhookForeignApp\"").count();

    let mut bodies = vec![
        payload(
            "UNINSTALL",
            json!({"locationId": "locForeign1", "appId": "another_app"}),
        ),
        payload(
            "UNINSTALL",
            json!({"companyId": "c1", "appId": "another_app"}),
        ),
        payload(
            "INSTALL",
            json!({"locationId": "locForeign2", "appId": "another_app"}),
        ),
    ];
    let mut nameless = payload("UNINSTALL", json!({"locationId": "locForeign1"}));
    nameless.as_object_mut().expect("object").remove("appId");
    bodies.push(nameless);
    for body in &bodies {
        let answer = w.deliver(body).await;
        assert_eq!(answer.status, 200, "{}", answer.json);
        assert_eq!(answer.json["data"]["result"], "ignored", "{}", answer.json);
        assert_eq!(
            answer.json["data"]["reason"],
            "the event is for another app"
        );
    }

    let after: Vec<_> = w
        .everything()
        .await
        .into_iter()
        .filter(|(table, _)| *table != "idempotency")
        .collect();
    assert_eq!(after.len(), before.len(), "something was written or erased");
    for item in &before {
        assert!(after.contains(item), "changed: {item:?}");
    }
    let status =
        w.t.call(
            &oauth_callback::routes(),
            request("GET", "/auth/status").cookie(&cookie).build(),
        )
        .await;
    assert_eq!(
        status.json["data"]["authenticated"], true,
        "{}",
        status.json
    );
    let logs = captured_logs();
    assert!(
        logs.matches("\"GhlWebhookForeignApp\"").count() >= metrics_before + bodies.len(),
        "one metric per foreign event"
    );
    assert!(logs.contains("the event is for another app"));
}

// ------------------------------------------------------------------------------- uninstalls

#[tokio::test]
async fn an_uninstall_erases_every_item_of_that_location_and_leaves_others_untouched() {
    let w = world().await;
    w.populated("locGone1").await;
    w.populated("locStay1").await;
    let others_before: Vec<_> = w
        .everything()
        .await
        .into_iter()
        .filter(|(_, item)| mentions(item, "locStay1"))
        .collect();

    let answer = w
        .deliver(&payload(
            "UNINSTALL",
            json!({"locationId": "locGone1", "companyId": "c1"}),
        ))
        .await;

    assert_eq!(answer.status, 200, "{}", answer.json);
    assert_eq!(answer.json["data"]["queued"]["jobs"], 1, "{}", answer.json);
    let results = scan_all(&w.t.aws, &w.t.tables().results).await;
    assert_eq!(
        results.len(),
        6,
        "the webhook answered before erasing anything"
    );

    let deliveries = w.t.drain_erasures().await;

    assert_eq!(deliveries.len(), 1, "{deliveries:?}");
    assert!(deliveries[0].failed.is_empty(), "{deliveries:?}");
    let logs = captured_logs();
    assert!(
        logs.lines().any(|l| l.contains("\"location erased\"")
            && l.contains("locGone1")
            && l.contains("\"sessions\":2")
            && l.contains("\"analyses_deleted\":3")
            && l.contains("\"rate_limit_windows\":1")
            && l.contains("\"account\":\"deleted\"")),
        "the worker logs what it erased"
    );
    let everything = w.everything().await;
    let left: Vec<_> = everything
        .iter()
        .filter(|(_, item)| mentions(item, "locGone1"))
        .collect();
    assert!(
        left.is_empty(),
        "items of the uninstalled location remain: {left:?}"
    );
    let others_after: Vec<_> = everything
        .into_iter()
        .filter(|(_, item)| mentions(item, "locStay1"))
        .collect();
    assert_eq!(others_after.len(), others_before.len());
    for item in &others_before {
        assert!(others_after.contains(item), "changed: {item:?}");
    }
}

#[tokio::test]
async fn a_session_opened_before_the_uninstall_answers_401_after_it() {
    let w = world().await;
    let cookie = w.populated("locSession1").await;
    let status = |cookie: &str| request("GET", "/auth/status").cookie(cookie).build();
    let before = w.t.call(&oauth_callback::routes(), status(&cookie)).await;
    assert_eq!(
        before.json["data"]["authenticated"], true,
        "{}",
        before.json
    );

    w.deliver(&payload("UNINSTALL", json!({"locationId": "locSession1"})))
        .await;

    let history =
        w.t.call(
            &history::routes(),
            request("GET", "/api/history").cookie(&cookie).build(),
        )
        .await;
    assert_eq!(history.status, 401, "{}", history.json);
    assert_eq!(history.error_code(), "UNAUTHENTICATED");
    let after = w.t.call(&oauth_callback::routes(), status(&cookie)).await;
    assert_eq!(after.status, 200);
    assert_eq!(after.json["data"]["authenticated"], false, "{}", after.json);
}

/// The `byLocation` index is eventually consistent, so the erasure can miss a session: the
/// account's mark (or its absence) ends it anyway, and a session opened after the uninstall
/// (a reconnection) works.
#[tokio::test]
async fn a_session_the_erasure_missed_ends_with_the_uninstall_mark_or_the_account() {
    let w = world().await;
    let history = |cookie: &str| request("GET", "/api/history").cookie(cookie).build();
    let cookie = w.populated("locMissed1").await;
    let location = LocationId::parse("locMissed1").expect("location");
    assert_eq!(
        w.t.call(&history::routes(), history(&cookie)).await.status,
        200
    );

    let now = now_epoch();
    let marked =
        w.t.app
            .accounts()
            .mark_uninstalled(&location, now, now)
            .await;
    assert_eq!(marked.ok(), Some(backend_core::install::Marked::Marked));
    let refused = w.t.call(&history::routes(), history(&cookie)).await;
    assert_eq!(refused.status, 401, "{}", refused.json);
    let account = w
        .account("locMissed1")
        .await
        .expect("the account stays until erased");
    assert!(!account.contains_key("accessToken") && !account.contains_key("refreshToken"));

    let again =
        w.t.app
            .accounts()
            .mark_uninstalled(&location, now, now)
            .await;
    assert_eq!(
        again.ok(),
        Some(backend_core::install::Marked::Marked),
        "a retry"
    );

    // Opened after the uninstall (the mark is older than the session): it works.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let later = w.t.session_cookie(&location).await;
    assert_eq!(
        w.t.call(&history::routes(), history(&later)).await.status,
        200
    );

    // The account deleted whole, the session row left behind: 401.
    let orphan = w.t.connected_session("locMissed2").await;
    w.t.aws
        .dynamodb()
        .delete_item()
        .table_name(&w.t.tables().accounts)
        .key("locationId", AttributeValue::S("locMissed2".into()))
        .send()
        .await
        .expect("delete account");
    let gone = w.t.call(&history::routes(), history(&orphan)).await;
    assert_eq!(gone.status, 401, "{}", gone.json);
}

/// HighLevel may deliver an uninstall late (its retries keep the original timestamp): one sent
/// before the location's last install is stale and erases nothing of the new installation.
#[tokio::test]
async fn an_uninstall_sent_before_a_reinstall_leaves_the_new_installation_alone() {
    let w = world().await;
    let cookie = w.populated("locBack1").await;
    let reinstall = payload(
        "INSTALL",
        json!({"locationId": "locBack1", "companyId": "c1"}),
    );
    assert_eq!(w.deliver(&reinstall).await.status, 200);
    let before = w
        .everything()
        .await
        .into_iter()
        .filter(|(t, _)| *t != "idempotency")
        .count();

    let mut late = payload("UNINSTALL", json!({"locationId": "locBack1"}));
    late["timestamp"] = json!(iso(now_ms() - 120_000));
    let answer = w.deliver(&late).await;
    assert_eq!(answer.status, 200, "{}", answer.json);
    assert_eq!(answer.json["data"]["result"], "stale", "{}", answer.json);
    assert!(w.t.receive_erasures().await.is_empty(), "nothing queued");
    let after = w
        .everything()
        .await
        .into_iter()
        .filter(|(t, _)| *t != "idempotency")
        .count();
    assert_eq!(after, before, "the late uninstall erased something");
    let history = request("GET", "/api/history").cookie(&cookie).build();
    assert_eq!(w.t.call(&history::routes(), history).await.status, 200);
}

/// Erasing the month's usage counter gave a location 10 more free analyses per reinstall
/// (issue 16): the counter of the current month survives the uninstall, nothing else does.
#[tokio::test]
async fn uninstall_and_reinstall_does_not_restore_the_free_quota() {
    let w = world().await;
    w.populated("locQuota1").await;
    let location = LocationId::parse("locQuota1").expect("location");
    let period = backend_core::plans::usage_period(now_epoch());
    let accounts = w.t.app.accounts();
    while accounts
        .consume_quota(&location, &period, 10)
        .await
        .expect("count")
        .is_some()
    {}
    assert_eq!(accounts.quota_used(&location, &period).await.ok(), Some(10));

    let answer = w
        .deliver(&payload("UNINSTALL", json!({"locationId": "locQuota1"})))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.json);
    w.t.drain_erasures().await;
    let left = w.account("locQuota1").await.expect("the counter stays");
    let usage = format!("usage_{}", period.replace('-', "_"));
    for name in left.keys() {
        assert!(
            [
                "locationId",
                "companyId",
                "plan",
                "createdAt",
                "updatedAt",
                "uninstalledAt",
                usage.as_str()
            ]
            .contains(&name.as_str()),
            "{name} survived the uninstall: {left:?}"
        );
    }
    assert!(!left.contains_key("usage_2026_11") || period == "2026-11");

    // Reinstalled and reconnected within the month: the quota is still used up.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    w.t.connected_session("locQuota1").await;
    assert_eq!(accounts.quota_used(&location, &period).await.ok(), Some(10));
    let eleventh = accounts.consume_quota(&location, &period, 10).await;
    assert_eq!(
        eleventh.ok(),
        Some(None),
        "the eleventh free analysis is refused"
    );
}

#[tokio::test]
async fn an_uninstall_for_a_location_never_seen_writes_only_the_idempotency_record() {
    let w = world().await;

    let answer = w
        .deliver(&payload(
            "UNINSTALL",
            json!({"locationId": "locNeverSeen1"}),
        ))
        .await;

    assert_eq!(answer.status, 200, "{}", answer.json);
    assert_eq!(answer.json["data"]["queued"]["jobs"], 1, "{}", answer.json);
    let deliveries = w.t.drain_erasures().await;
    assert!(
        deliveries.iter().all(|d| d.failed.is_empty()),
        "{deliveries:?}"
    );
    let items = w.everything().await;
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0].0, "idempotency");
}

#[tokio::test]
async fn an_uninstall_keeps_only_the_billing_of_a_paying_account() {
    let w = world().await;
    w.populated("locPaying1").await;
    w.t.aws
        .dynamodb()
        .update_item()
        .table_name(&w.t.tables().accounts)
        .key("locationId", AttributeValue::S("locPaying1".into()))
        .update_expression("SET stripeCustomerId = :c, stripeSubscriptionId = :s, subscriptionStatus = :a, #p = :pro")
        .expression_attribute_names("#p", "plan")
        .expression_attribute_values(":c", AttributeValue::S("cus_1".into()))
        .expression_attribute_values(":s", AttributeValue::S("sub_1".into()))
        .expression_attribute_values(":a", AttributeValue::S("active".into()))
        .expression_attribute_values(":pro", AttributeValue::S("pro".into()))
        .send()
        .await
        .expect("link billing");
    // The account's rule settings (issue 18) are the account's data: erased too.
    let settings = workflow_analyzer::RuleConfig {
        disabled: vec!["generic-name".into()],
        ..Default::default()
    };
    let location = backend_core::auth::LocationId::parse("locPaying1").unwrap();
    assert!(w
        .t
        .app
        .accounts()
        .put_rule_settings(&location, &settings, backend_core::clock::now_epoch())
        .await
        .expect("store rule settings"));
    assert!(w
        .account("locPaying1")
        .await
        .unwrap()
        .contains_key("ruleSettings"));

    let answer = w
        .deliver(&payload("UNINSTALL", json!({"locationId": "locPaying1"})))
        .await;

    assert_eq!(answer.status, 200, "{}", answer.json);
    w.t.drain_erasures().await;
    let account = w.account("locPaying1").await.expect("billing kept");
    assert_eq!(
        account["stripeSubscriptionId"]
            .as_s()
            .ok()
            .map(String::as_str),
        Some("sub_1")
    );
    assert_eq!(account["plan"].as_s().ok().map(String::as_str), Some("pro"));
    assert!(account.contains_key("uninstalledAt"));
    for gone in [
        "accessToken",
        "refreshToken",
        "tokenVersion",
        "usage_2026_11",
        "ruleSettings",
        "ruleSettingsUpdatedAt",
    ] {
        assert!(!account.contains_key(gone), "{gone} survived the uninstall");
    }
}

#[tokio::test]
async fn a_company_uninstall_erases_every_location_of_the_company() {
    let w = world().await;
    let ids = ["locCoA", "locCoB"];
    for id in ids {
        w.populated(id).await;
    }
    w.deliver(&payload(
        "INSTALL",
        json!({"companyId": "compX", "locationIds": ids}),
    ))
    .await;
    w.populated("locElsewhere").await;

    let answer = w
        .deliver(&payload("UNINSTALL", json!({"companyId": "compX"})))
        .await;

    assert_eq!(answer.json["data"]["locations"], 2, "{}", answer.json);
    assert_eq!(answer.json["data"]["queued"]["jobs"], 2, "{}", answer.json);
    w.t.drain_erasures().await;
    let everything = w.everything().await;
    assert!(!everything
        .iter()
        .any(|(_, item)| ids.iter().any(|id| mentions(item, id))));
    assert!(everything
        .iter()
        .any(|(table, item)| *table == "sessions" && mentions(item, "locElsewhere")));
}

#[tokio::test]
async fn with_a_retention_period_analyses_expire_instead_of_vanishing() {
    let w = world_with(&[("UNINSTALL_RESULTS_RETENTION_DAYS", Some("30"))]).await;
    w.populated("locRetain1").await;

    w.deliver(&payload("UNINSTALL", json!({"locationId": "locRetain1"})))
        .await;
    w.t.drain_erasures().await;

    let results = scan_all(&w.t.aws, &w.t.tables().results).await;
    assert_eq!(results.len(), 3);
    let horizon = now_epoch() + 30 * 86_400;
    for item in results {
        let expires: i64 = item["expiresAt"]
            .as_n()
            .expect("expiresAt")
            .parse()
            .expect("number");
        assert!(
            (horizon - 60..=horizon + 60).contains(&expires),
            "{expires}"
        );
    }
    assert!(scan_all(&w.t.aws, &w.t.tables().sessions).await.is_empty());
}
