//! Fault injection between the functions and DynamoDB (docs/RELIABILITY.md), and the DynamoDB
//! operations each endpoint costs (docs/PERFORMANCE.md).
//!
//! The faults come from `integration_tests::fault_proxy::FaultProxy`, in front of moto.
//!
//! The faults are drawn from a seeded generator (`FAULT_SEED`, default 8), so a failure can be
//! replayed with the same seed; timings still vary, so replays are close, not identical.
//! Print the tables with `cargo test -p integration-tests --test integration faults -- --nocapture`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use backend_core::billing::signature;
use backend_core::clock::now_epoch;
use backend_core::App;
use integration_tests::fault_proxy::{Call, FaultProxy, Faults, Injected};
use integration_tests::{
    answer, on_test_price, repo_root, request, scan_all, Answer, TestApp, FRONTEND,
};
use lambda_http::{Request, RequestExt};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;

// ------------------------------------------------------------------------------------ helpers

/// Most calls fail: retries cannot hide it, endpoints must answer 503.
const STORM: Faults = Faults {
    throttle: 0.35,
    error_500: 0.25,
    lost_reply: 0.1,
    delay: 0.1,
    bare_502: 0.0,
};

/// The share of calls used by the fault runs: about one call in four is disturbed.
const MIXED: Faults = Faults {
    throttle: 0.08,
    error_500: 0.06,
    lost_reply: 0.04,
    delay: 0.10,
    bare_502: 0.0,
};

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A world without the general and per-account rate limits getting in the way.
async fn unlimited_world() -> TestApp {
    TestApp::with_env(&[
        ("RATE_LIMIT_DEFAULT", Some("1000000/60")),
        ("RATE_LIMIT_ANALYZE", Some("1000000/60")),
    ])
    .await
}

fn workflow_sample(name: &str) -> Value {
    let text = std::fs::read_to_string(repo_root().join(format!("events/workflows/{name}.json")))
        .expect("workflow sample");
    serde_json::from_str(&text).expect("workflow sample is JSON")
}

async fn set_plan(t: &TestApp, location: &str, plan: &str) {
    t.aws
        .dynamodb()
        .update_item()
        .table_name(&t.tables().accounts)
        .key("locationId", AttributeValue::S(location.into()))
        .update_expression("SET #p = :plan, subscriptionStatus = :active")
        .expression_attribute_names("#p", "plan")
        .expression_attribute_values(":plan", AttributeValue::S(plan.into()))
        .expression_attribute_values(":active", AttributeValue::S("active".into()))
        .send()
        .await
        .expect("set plan");
}

async fn call(app: &Arc<App>, fn_name: &str, req: Request) -> Answer {
    let routes = integration_tests::routes_of(fn_name);
    answer(backend_core::lambda::dispatch(app, &routes, req).await)
}

/// One request of the endpoint matrix; `n` makes source addresses distinct.
struct Probe {
    name: &'static str,
    function: &'static str,
    build: Box<dyn Fn(usize) -> Request + Send + Sync>,
}

fn probes(cookie: &str, analysis_id: &str) -> Vec<Probe> {
    let c = cookie.to_owned();
    let id = analysis_id.to_owned();
    let ip = |n: usize| format!("198.51.{}.{}", (n / 250) % 250, n % 250 + 1);
    let mut list: Vec<Probe> = Vec::new();
    for path in ["/health", "/health/detailed", "/ready", "/live"] {
        list.push(Probe {
            name: path,
            function: "health",
            build: Box::new(move |n| request("GET", path).source_ip(&ip(n)).build()),
        });
    }
    let cc = c.clone();
    list.push(Probe {
        name: "GET /auth/status",
        function: "oauth-callback",
        build: Box::new(move |n| {
            request("GET", "/auth/status")
                .cookie(&cc)
                .source_ip(&ip(n))
                .build()
        }),
    });
    let cc = c.clone();
    list.push(Probe {
        name: "POST /api/analyze",
        function: "analyze",
        build: Box::new(move |n| {
            request("POST", "/api/analyze")
                .cookie(&cc)
                .header("origin", FRONTEND)
                .source_ip(&ip(n))
                .json(&workflow_sample("critical"))
                .build()
        }),
    });
    let cc = c.clone();
    list.push(Probe {
        name: "GET /api/workflows/{id}/structure",
        function: "analyze",
        build: Box::new(move |n| {
            request("GET", "/api/workflows/wf_critical_reactivation/structure")
                .cookie(&cc)
                .source_ip(&ip(n))
                .build()
        }),
    });
    let cc = c.clone();
    list.push(Probe {
        name: "GET /api/history",
        function: "history",
        build: Box::new(move |n| {
            request("GET", "/api/history?limit=5")
                .cookie(&cc)
                .source_ip(&ip(n))
                .build()
        }),
    });
    let cc = c.clone();
    list.push(Probe {
        name: "GET /api/analysis/{id}",
        function: "history",
        build: Box::new(move |n| {
            request("GET", &format!("/api/analysis/{id}"))
                .cookie(&cc)
                .source_ip(&ip(n))
                .build()
        }),
    });
    let (cc, report_id) = (c.clone(), analysis_id.to_owned());
    list.push(Probe {
        name: "GET /api/analysis/{id}/report",
        function: "history",
        build: Box::new(move |n| {
            request("GET", &format!("/api/analysis/{report_id}/report"))
                .cookie(&cc)
                .source_ip(&ip(n))
                .build()
        }),
    });
    let (cc, diff_id) = (c.clone(), analysis_id.to_owned());
    list.push(Probe {
        name: "GET /api/analysis/{id}/diff",
        function: "history",
        build: Box::new(move |n| {
            request(
                "GET",
                &format!("/api/analysis/{diff_id}/diff?against={diff_id}"),
            )
            .cookie(&cc)
            .source_ip(&ip(n))
            .build()
        }),
    });
    let cc = c.clone();
    list.push(Probe {
        name: "GET /api/settings/rules",
        function: "analyze",
        build: Box::new(move |n| {
            request("GET", "/api/settings/rules")
                .cookie(&cc)
                .source_ip(&ip(n))
                .build()
        }),
    });
    let cc = c.clone();
    list.push(Probe {
        name: "PUT /api/settings/rules",
        function: "analyze",
        build: Box::new(move |n| {
            request("PUT", "/api/settings/rules")
                .cookie(&cc)
                .header("origin", FRONTEND)
                .source_ip(&ip(n))
                .json(&serde_json::json!({"disabled": ["generic-name"]}))
                .build()
        }),
    });
    let cc = c.clone();
    list.push(Probe {
        name: "GET /api/subscription/status",
        function: "checkout",
        build: Box::new(move |n| {
            request("GET", "/api/subscription/status")
                .cookie(&cc)
                .source_ip(&ip(n))
                .build()
        }),
    });
    list
}

fn assert_clean(name: &str, expected: u16, a: &Answer) {
    a.assert_envelope();
    if a.status == 503 {
        assert_eq!(a.error_code(), "SERVICE_UNAVAILABLE", "{name}: {}", a.json);
        assert!(
            a.header("retry-after").is_some(),
            "{name}: 503 without Retry-After"
        );
    } else {
        assert_eq!(
            a.status, expected,
            "{name}: neither its normal answer nor a clean 503: {}",
            a.json
        );
    }
}

// ---------------------------------------------------------------------------------- the tests

/// Every endpoint, called repeatedly while a quarter of DynamoDB calls fail or stall: each
/// answer is the endpoint's normal one or a clean 503; afterwards nothing is half written
/// (every counted analysis was stored, nothing left in progress, logout all-or-nothing).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_endpoint_succeeds_or_answers_a_clean_503_under_dynamodb_faults() {
    let t = unlimited_world().await;
    let proxy = FaultProxy::start().await;
    let app = proxy.app_for(&t);
    let location = "LocFaultFree1";
    let cookie = t.connected_session(location).await;

    // Baseline without faults: each endpoint's normal status.
    let first = call(
        &app,
        "analyze",
        request("POST", "/api/analyze")
            .cookie(&cookie)
            .header("origin", FRONTEND)
            .json(&workflow_sample("critical"))
            .build(),
    )
    .await;
    assert_eq!(first.status, 201, "{}", first.json);
    let id = first.json["data"]["analysisId"]
        .as_str()
        .expect("analysisId")
        .to_owned();
    // Free plan counts analyses; Pro lets the run repeat analyze without the monthly quota.
    set_plan(&t, location, "pro").await;
    let probes = probes(&cookie, &id);
    let mut expected = BTreeMap::new();
    for (n, probe) in probes.iter().enumerate() {
        let a = call(&app, probe.function, (probe.build)(n)).await;
        a.assert_envelope();
        assert!(
            a.status < 300,
            "{}: baseline {}: {}",
            probe.name,
            a.status,
            a.json
        );
        expected.insert(probe.name, a.status);
    }
    proxy.take_calls();

    // The same calls with faults, several times each, all at once per round: first the mixed
    // share, then a storm where most calls fail, so the 503 path is taken too.
    let rounds = setting("FAULT_ROUNDS", 12);
    let probes = Arc::new(probes);
    let mut tally: BTreeMap<(&str, &str), (u32, u32)> = BTreeMap::new();
    for (phase, faults, phase_rounds) in [("mixed", MIXED, rounds), ("storm", STORM, 3)] {
        proxy.set_faults(faults);
        for round in 0..phase_rounds {
            let mut tasks = Vec::new();
            for i in 0..probes.len() {
                let (probes, app) = (probes.clone(), app.clone());
                let n =
                    1000 + (round + if phase == "storm" { rounds } else { 0 }) * probes.len() + i;
                tasks.push(tokio::spawn(async move {
                    let probe = &probes[i];
                    let a = call(&app, probe.function, (probe.build)(n)).await;
                    (i, a)
                }));
            }
            for task in tasks {
                let (i, a) = task.await.expect("no panic in a handler");
                let name = probes[i].name;
                assert_clean(name, expected[name], &a);
                let entry = tally.entry((name, phase)).or_default();
                if a.status == 503 {
                    entry.1 += 1;
                } else {
                    entry.0 += 1;
                }
            }
        }
    }
    proxy.set_faults(MIXED);
    // Logout: the session is gone entirely or still fully usable.
    let mut logouts = (0, 0);
    for n in 0..rounds {
        let session = t
            .session_cookie(&backend_core::auth::LocationId::parse(location).unwrap())
            .await;
        let a = call(
            &app,
            "oauth-callback",
            request("POST", "/auth/logout")
                .cookie(&session)
                .header("origin", FRONTEND)
                .source_ip(&format!("203.0.113.{}", n + 10))
                .build(),
        )
        .await;
        a.assert_envelope();
        assert!(
            a.status < 300 || a.status == 503,
            "logout: {} {}",
            a.status,
            a.json
        );
        let status = call(
            &t.app,
            "oauth-callback",
            request("GET", "/auth/status").cookie(&session).build(),
        )
        .await;
        let still_in = status.json["data"]["authenticated"] == true;
        if a.status < 300 {
            logouts.0 += 1;
            assert!(
                !still_in,
                "a successful logout left the session: {}",
                status.json
            );
        } else {
            logouts.1 += 1;
        }
    }
    let calls = proxy.take_calls();
    proxy.set_faults(Faults::NONE);

    // Nothing half written: every analysis that answered 201 or failed after storing is
    // readable; the results table holds exactly what history lists.
    let stored = scan_all(&t.aws, &t.tables().results).await;
    let mut seen = 0;
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/history?limit=50&cursor={c}"),
            None => "/api/history?limit=50".to_owned(),
        };
        let page = call(
            &t.app,
            "history",
            request("GET", &path).cookie(&cookie).build(),
        )
        .await;
        assert_eq!(page.status, 200, "{}", page.json);
        seen += page.json["data"]["items"].as_array().map_or(0, Vec::len);
        match page.json["data"]["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, stored.len(), "history lists every stored result");
    let analyze_ok = tally
        .iter()
        .filter(|((name, _), _)| *name == "POST /api/analyze")
        .map(|(_, (ok, _))| *ok as usize)
        .sum::<usize>()
        + 1;
    assert!(
        stored.len() >= analyze_ok,
        "{} stored results for {analyze_ok} successful analyses",
        stored.len()
    );
    // The free analysis counted once in the account's usage.
    let account = t
        .aws
        .dynamodb()
        .get_item()
        .table_name(&t.tables().accounts)
        .key("locationId", AttributeValue::S(location.into()))
        .consistent_read(true)
        .send()
        .await
        .expect("account")
        .item
        .expect("account exists");
    let usage: Vec<_> = account
        .iter()
        .filter(|(k, _)| k.starts_with("usage"))
        .map(|(k, v)| format!("{k}={v:?}"))
        .collect();

    let injected = calls
        .iter()
        .filter(|c| c.injected != Injected::None)
        .count();
    println!(
        "\nfault run: {} DynamoDB calls, {injected} disturbed ({:?})",
        calls.len(),
        MIXED
    );
    println!("| endpoint | phase | normal answer | 503 |\n|---|---|---|---|");
    for ((name, phase), (ok, unavailable)) in &tally {
        println!(
            "| {name} | {phase} | {ok} x {} | {unavailable} |",
            expected[name]
        );
    }
    println!(
        "| POST /auth/logout | mixed | {} x 2xx | {} |",
        logouts.0, logouts.1
    );
    println!(
        "results stored: {} (successful analyses: {analyze_ok}); account usage: {usage:?}",
        stored.len()
    );
}

/// A 502 without a DynamoDB error type (an HTML page from something in between) on every call:
/// the SDK retries, then the endpoint must still answer a clean 503, not a 500.
///
/// `StoreError::from_sdk` once classified service errors by their error code only, and this one
/// has none: it answered 500 INTERNAL_ERROR. A 5xx status is now retryable whatever its body.
#[tokio::test]
async fn an_untyped_502_from_in_between_answers_503() {
    let t = unlimited_world().await;
    let proxy = FaultProxy::start().await;
    let app = proxy.app_for(&t);
    let cookie = t.connected_session("LocFaultBare1").await;
    proxy.set_faults(Faults {
        bare_502: 1.0,
        ..Faults::NONE
    });
    let a = call(
        &app,
        "history",
        request("GET", "/api/history").cookie(&cookie).build(),
    )
    .await;
    proxy.set_faults(Faults::NONE);
    assert_clean("GET /api/history with untyped 502s", 200, &a);
    assert_eq!(a.status, 503, "{}", a.json);
}

// ------------------------------------------------------------------------- the Stripe webhook

fn stripe_event(kind: &str, id: &str, location: &str, created: i64) -> Value {
    let text = std::fs::read_to_string(repo_root().join(format!("events/stripe/{kind}.json")))
        .expect("stripe sample");
    let mut event: Value = serde_json::from_str(&text).expect("stripe sample is JSON");
    event["id"] = id.into();
    event["created"] = created.into();
    let object = &mut event["data"]["object"];
    let n = location.trim_start_matches("LocWebhook");
    object["id"] = format!("sub_fault{n}").into();
    object["customer"] = format!("cus_fault{n}").into();
    object["metadata"]["locationId"] = location.into();
    on_test_price(&mut event);
    event
}

/// How long a simulated invocation may run: its context deadline, after which it is cut off as
/// Lambda would (the in-progress claim of a cut-off invocation expires at the same moment).
const INVOCATION_MS: u64 = 3_000;

enum Delivery {
    Fresh,
    Duplicate,
    Refused,
    Retry(String),
}

async fn deliver(app: &Arc<App>, body: &str, signature: &str) -> Delivery {
    let deadline = backend_core::clock::now_epoch_ms() as u64 + INVOCATION_MS;
    let mut context = lambda_http::Context::default();
    context.deadline = deadline;
    context.request_id = format!("inv-{}", hex::encode(rand::random::<[u8; 4]>()));
    let req = request("POST", "/")
        .header("content-type", "application/json; charset=utf-8")
        .header("stripe-signature", signature)
        .body(body)
        .build()
        .with_lambda_context(context);
    let run = call(app, "stripe-webhook", req);
    let Ok(a) = tokio::time::timeout(Duration::from_millis(INVOCATION_MS), run).await else {
        return Delivery::Retry("invocation timed out".into());
    };
    a.assert_envelope();
    match a.status {
        200 if a.json["data"]["duplicate"] == false => Delivery::Fresh,
        200 => Delivery::Duplicate,
        400 => Delivery::Refused,
        409 => Delivery::Retry("409".into()),
        503 => {
            assert_eq!(a.error_code(), "SERVICE_UNAVAILABLE", "{}", a.json);
            Delivery::Retry("503".into())
        }
        other => panic!("webhook answered {other}: {}", a.json),
    }
}

/// 500 deliveries (every event once, most twice, some three times, and tampered copies) in a
/// shuffled order, 16 at a time, with a quarter of DynamoDB calls failing or stalling; failed
/// deliveries are redelivered as Stripe does until each event got a 200. In the end every event
/// was processed fresh exactly once, its record is COMPLETED and its account shows it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_webhook_applies_each_event_exactly_once_across_500_deliveries_with_faults() {
    let t = TestApp::new().await;
    let proxy = FaultProxy::start().await;
    let app = proxy.app_for(&t);
    let secret = t.app.secrets.stripe_webhook().await.expect("secret");
    let events_count = setting("FAULT_EVENTS", 200);
    let kinds = [
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.deleted",
    ];
    let now = now_epoch();
    let mut events = Vec::new(); // (id, kind, location, body)
    for i in 0..events_count {
        let kind = kinds[i % kinds.len()];
        let location = format!("LocWebhook{i:04}");
        let id = format!("evt_fault_{i:04}");
        let body = stripe_event(kind, &id, &location, now - 5).to_string();
        events.push((id, kind, location, body));
    }
    // The first wave: 1x all, 2x all, 3x a quarter, and a tampered copy of another quarter.
    let mut wave: Vec<(usize, bool)> = Vec::new();
    for i in 0..events_count {
        wave.push((i, false));
        wave.push((i, false));
        if i % 4 == 0 {
            wave.push((i, false));
        }
        if i % 4 == 2 {
            wave.push((i, true));
        }
    }
    let mut rng = StdRng::seed_from_u64(42);
    for i in (1..wave.len()).rev() {
        let j = rng.gen_range(0..=i);
        wave.swap(i, j);
    }
    let total_first = wave.len();
    proxy.set_faults(MIXED);

    let events = Arc::new(events);
    let mut fresh = vec![0u32; events_count];
    let mut done = vec![false; events_count];
    let mut outcomes: BTreeMap<String, u32> = BTreeMap::new();
    let mut deliveries = 0usize;
    let mut rounds = 0;
    let started = std::time::Instant::now();
    let semaphore = Arc::new(tokio::sync::Semaphore::new(16));
    while !wave.is_empty() {
        rounds += 1;
        assert!(rounds <= 40, "events still failing after 40 rounds");
        let mut tasks = Vec::new();
        for (i, tampered) in wave.drain(..) {
            let (events, app, secret, semaphore) = (
                events.clone(),
                app.clone(),
                secret.clone(),
                semaphore.clone(),
            );
            tasks.push(tokio::spawn(async move {
                let _permit = semaphore.acquire().await.expect("semaphore");
                let body = &events[i].3;
                let header = signature::sign(&secret, now_epoch(), body.as_bytes());
                let body = if tampered {
                    body.replacen("\"evt_fault_", "\"evt_fake_", 1)
                } else {
                    body.clone()
                };
                (i, tampered, deliver(&app, &body, &header).await)
            }));
        }
        deliveries += tasks.len();
        for task in tasks {
            let (i, tampered, result) = task.await.expect("no panic in the webhook");
            let key = match &result {
                Delivery::Fresh => "200 fresh".to_owned(),
                Delivery::Duplicate => "200 duplicate".to_owned(),
                Delivery::Refused => "400 refused".to_owned(),
                Delivery::Retry(why) => format!("retry after {why}"),
            };
            *outcomes.entry(key).or_default() += 1;
            if tampered {
                assert!(
                    matches!(result, Delivery::Refused),
                    "a tampered body passed"
                );
                continue;
            }
            match result {
                Delivery::Fresh => {
                    fresh[i] += 1;
                    done[i] = true;
                }
                Delivery::Duplicate => done[i] = true,
                Delivery::Refused => panic!("an authentic delivery was refused"),
                Delivery::Retry(_) => {}
            }
        }
        // Stripe redelivers what did not get a 200 (after a pause: here, past the claim window).
        for (i, ok) in done.iter().enumerate() {
            if !ok {
                wave.push((i, false));
            }
        }
        if !wave.is_empty() {
            tokio::time::sleep(Duration::from_millis(INVOCATION_MS + 200)).await;
        }
    }
    let elapsed = started.elapsed();
    let calls = proxy.take_calls();
    proxy.set_faults(Faults::NONE);

    // Exactly once: one fresh 200 per event, the record COMPLETED, the account showing it.
    let doubled: Vec<_> = (0..events_count).filter(|&i| fresh[i] > 1).collect();
    assert!(doubled.is_empty(), "events processed twice: {doubled:?}");
    // An event can be done without its fresh answer ever reaching Stripe (the invocation was cut
    // off, or the reply of the final write was lost, after the work was recorded): the next
    // delivery then replays the record. Not lost: its record and its effect are checked below.
    let unseen = (0..events_count).filter(|&i| fresh[i] == 0).count();
    let records: HashMap<String, HashMap<String, AttributeValue>> =
        scan_all(&t.aws, &t.tables().idempotency)
            .await
            .into_iter()
            .filter_map(|item| Some((item.get("id")?.as_s().ok()?.clone(), item)))
            .collect();
    let accounts: HashMap<String, HashMap<String, AttributeValue>> =
        scan_all(&t.aws, &t.tables().accounts)
            .await
            .into_iter()
            .filter_map(|item| Some((item.get("locationId")?.as_s().ok()?.clone(), item)))
            .collect();
    for (id, kind, location, _) in events.iter() {
        let record = records
            .get(&format!("stripe:{id}"))
            .unwrap_or_else(|| panic!("{id}: no idempotency record"));
        assert_eq!(
            record["status"].as_s().map(String::as_str),
            Ok("COMPLETED"),
            "{id}"
        );
        let data: Value =
            serde_json::from_str(record["data"].as_s().expect("data")).expect("data is JSON");
        assert_eq!(data["result"], "applied", "{id}: {data}");
        let account = accounts
            .get(location)
            .unwrap_or_else(|| panic!("{id}: no account for {location}"));
        let n = location.trim_start_matches("LocWebhook");
        assert_eq!(
            account["stripeSubscriptionId"].as_s().map(String::as_str),
            Ok(format!("sub_fault{n}").as_str())
        );
        let want = if *kind == "customer.subscription.deleted" {
            "canceled"
        } else {
            "active"
        };
        assert_eq!(
            account["subscriptionStatus"].as_s().map(String::as_str),
            Ok(want),
            "{id}"
        );
    }
    assert!(
        !records.keys().any(|k| k.starts_with("stripe:evt_fake_")),
        "a tampered delivery left a record"
    );
    assert_eq!(
        records.len(),
        events_count,
        "one record per event, nothing else"
    );

    let injected: BTreeMap<String, usize> = calls.iter().fold(BTreeMap::new(), |mut m, c| {
        *m.entry(format!("{:?}", c.injected)).or_default() += 1;
        m
    });
    println!(
        "\nwebhook under faults: {events_count} events, {total_first} first deliveries, \
         {deliveries} deliveries in all over {rounds} rounds, {:.1} s",
        elapsed.as_secs_f64()
    );
    println!("outcomes: {outcomes:?}; events whose fresh answer was lost: {unseen}");
    println!("DynamoDB calls: {} ({injected:?})", calls.len());
}

// ----------------------------------------------------------------------------------- the cost

/// Reads and writes per request of each endpoint, counted at the proxy without faults. Asserts
/// only the counts that do not depend on timing; the table goes to docs/PERFORMANCE.md.
#[tokio::test]
async fn dynamodb_operations_per_request() {
    let t = TestApp::new().await;
    let proxy = FaultProxy::start().await;
    let app = proxy.app_for(&t);
    let location = "LocCost1";
    let cookie = t.connected_session(location).await;
    proxy.take_calls();

    let mut rows: Vec<(String, u16, Vec<Call>)> = Vec::new();
    let mut measure = |name: &str, status: u16, calls: Vec<Call>| {
        rows.push((name.to_owned(), status, calls));
    };

    let a = call(
        &app,
        "analyze",
        request("POST", "/api/analyze")
            .cookie(&cookie)
            .header("origin", FRONTEND)
            .json(&workflow_sample("critical"))
            .build(),
    )
    .await;
    assert_eq!(a.status, 201, "{}", a.json);
    let id = a.json["data"]["analysisId"].as_str().unwrap().to_owned();
    measure(
        "POST /api/analyze (free plan)",
        a.status,
        proxy.take_calls(),
    );

    set_plan(&t, location, "pro").await;
    let a = call(
        &app,
        "analyze",
        request("POST", "/api/analyze")
            .cookie(&cookie)
            .header("origin", FRONTEND)
            .json(&workflow_sample("critical"))
            .build(),
    )
    .await;
    assert_eq!(a.status, 201, "{}", a.json);
    measure("POST /api/analyze (pro plan)", a.status, proxy.take_calls());

    for (i, probe) in probes(&cookie, &id).iter().enumerate() {
        let a = call(&app, probe.function, (probe.build)(i)).await;
        measure(probe.name, a.status, proxy.take_calls());
    }

    let a = call(
        &app,
        "history",
        request("DELETE", &format!("/api/analysis/{id}"))
            .cookie(&cookie)
            .header("origin", FRONTEND)
            .build(),
    )
    .await;
    measure("DELETE /api/analysis/{id}", a.status, proxy.take_calls());

    let a = call(
        &app,
        "oauth-callback",
        request("POST", "/auth/logout")
            .cookie(&cookie)
            .header("origin", FRONTEND)
            .build(),
    )
    .await;
    measure("POST /auth/logout", a.status, proxy.take_calls());

    // The webhook: a new event, then the same event again.
    let secret = t.app.secrets.stripe_webhook().await.unwrap();
    let body = stripe_event(
        "customer.subscription.created",
        "evt_cost_1",
        "LocWebhook9999",
        now_epoch(),
    )
    .to_string();
    for name in [
        "POST / (stripe-webhook, new event)",
        "POST / (stripe-webhook, duplicate)",
    ] {
        let header = signature::sign(&secret, now_epoch(), body.as_bytes());
        let a = call(
            &app,
            "stripe-webhook",
            request("POST", "/")
                .header("content-type", "application/json")
                .header("stripe-signature", &header)
                .body(&body)
                .build(),
        )
        .await;
        assert_eq!(a.status, 200, "{}", a.json);
        measure(name, a.status, proxy.take_calls());
    }

    let reads = ["GetItem", "Query", "Scan", "BatchGetItem", "DescribeTable"];
    println!("\n| endpoint | status | DynamoDB calls | reads | writes | request bytes | response bytes |");
    println!("|---|---|---|---|---|---|---|");
    let mut counts = BTreeMap::new();
    for (name, status, calls) in &rows {
        let ops: Vec<String> = calls
            .iter()
            .map(|c| {
                let table = c.table.rsplit('-').next().unwrap_or("").to_owned();
                let refused = if c.upstream_status >= 400 {
                    " (condition failed)"
                } else {
                    ""
                };
                format!("{} {table}{refused}", c.op)
            })
            .collect();
        let r = calls
            .iter()
            .filter(|c| reads.contains(&c.op.as_str()))
            .count();
        let w = calls.len() - r;
        let req: usize = calls.iter().map(|c| c.request_bytes).sum();
        let resp: usize = calls.iter().map(|c| c.response_bytes).sum();
        println!(
            "| {name} | {status} | {} | {r} | {w} | {req} | {resp} |",
            ops.join(", ")
        );
        counts.insert(name.clone(), (r, w));
    }
    // Item sizes as DynamoDB bills them (names + values), the largest item of each table.
    println!("\n| table | items | largest item (bytes, DynamoDB size) | write units | read units (strong) |");
    println!("|---|---|---|---|---|");
    for (logical, table) in [
        ("SessionsTable", &t.tables().sessions),
        ("AccountsTable", &t.tables().accounts),
        ("ResultsTable", &t.tables().results),
        ("IdempotencyTable", &t.tables().idempotency),
        ("RateLimitsTable", &t.tables().rate_limits),
    ] {
        let items = scan_all(&t.aws, table).await;
        let largest = items.iter().map(item_size).max().unwrap_or(0);
        println!(
            "| {logical} | {} | {largest} | {} | {} |",
            items.len(),
            largest.div_ceil(1024).max(1),
            largest.div_ceil(4096).max(1)
        );
    }

    // The byWorkflowSummary index's copy of a result: the keys and the projected attributes of
    // template.yaml (issue 19: the summary only, never the deflated result and definition).
    let template = integration_tests::template();
    let index = template["Resources"]["ResultsTable"]["Properties"]["GlobalSecondaryIndexes"]
        .as_sequence()
        .expect("indexes")
        .iter()
        .find(|i| i["IndexName"].as_str() == Some("byWorkflowSummary"))
        .expect("byWorkflowSummary")
        .clone();
    assert_eq!(
        index["Projection"]["ProjectionType"].as_str(),
        Some("INCLUDE")
    );
    let mut projected: Vec<String> = ["locationId", "analysisId", "workflowKey"]
        .map(str::to_owned)
        .to_vec();
    for name in index["Projection"]["NonKeyAttributes"]
        .as_sequence()
        .expect("NonKeyAttributes")
    {
        projected.push(name.as_str().expect("a name").to_owned());
    }
    let copy = scan_all(&t.aws, &t.tables().results)
        .await
        .iter()
        .map(|item| {
            item.iter()
                .filter(|(k, _)| projected.contains(k))
                .map(|(k, v)| k.len() + value_size(v))
                .sum::<usize>()
        })
        .max()
        .unwrap_or(0);
    println!(
        "| ResultsTable byWorkflowSummary copy | | {copy} | {} | {} |",
        copy.div_ceil(1024).max(1),
        copy.div_ceil(4096).max(1)
    );
    assert!(
        copy > 0 && copy <= 1024,
        "the byWorkflowSummary copy of a result is {copy} bytes: more than 1 WRU"
    );

    // Deterministic counts (no timing involved): what the cost estimate rests on.
    for (name, want) in [
        // Every session route reads the account's install state too (issue 16).
        // Issue 18: an analysis looks for the previous one of its workflow (a Query of
        // `byWorkflowSummary`); the pro request is the second of the same workflow, so it also reads
        // that one whole (GetItem) to be compared with it.
        ("POST /api/analyze (free plan)", (4, 4)),
        ("POST /api/analyze (pro plan)", (5, 3)),
        ("GET /api/history", (3, 1)),
        // The index finds the newest analysis, its whole item is read by key (issue 19).
        ("GET /api/workflows/{id}/structure", (5, 1)),
        ("POST / (stripe-webhook, new event)", (0, 3)),
        ("POST / (stripe-webhook, duplicate)", (1, 1)),
        ("/live", (0, 0)),
    ] {
        assert_eq!(counts[name], want, "{name}: (reads, writes)");
    }
}

/// An item's size as DynamoDB counts it: attribute names plus values (numbers about one byte per
/// two digits plus one, strings and binaries their length, maps and lists 3 bytes plus contents).
fn item_size(item: &HashMap<String, AttributeValue>) -> usize {
    item.iter().map(|(k, v)| k.len() + value_size(v)).sum()
}

fn value_size(v: &AttributeValue) -> usize {
    match v {
        AttributeValue::S(s) => s.len(),
        AttributeValue::N(n) => n.trim_start_matches('-').len().div_ceil(2) + 1,
        AttributeValue::B(b) => b.as_ref().len(),
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::M(m) => {
            3 + m
                .iter()
                .map(|(k, v)| 1 + k.len() + value_size(v))
                .sum::<usize>()
        }
        AttributeValue::L(l) => 3 + l.iter().map(|v| 1 + value_size(v)).sum::<usize>(),
        AttributeValue::Ss(l) => l.iter().map(String::len).sum(),
        AttributeValue::Ns(l) => l.iter().map(|n| n.len().div_ceil(2) + 1).sum(),
        AttributeValue::Bs(l) => l.iter().map(|b| b.as_ref().len()).sum(),
        _ => 0,
    }
}

/// Every reply lost: the write happens, the SDK cannot tell and sends it again (3 attempts).
const EVERY_REPLY_LOST: Faults = Faults {
    lost_reply: 1.0,
    ..Faults::NONE
};

#[tokio::test]
async fn a_quota_count_whose_reply_was_lost_is_counted_once_and_given_back_once() {
    use backend_core::store::accounts::usage::QuotaWrites;
    let t = TestApp::new().await;
    t.connected_session("LocLostQuota1").await;
    let location = backend_core::auth::LocationId::parse("LocLostQuota1").unwrap();
    let period = backend_core::plans::usage_period(now_epoch());
    let proxy = FaultProxy::start().await;
    let app = proxy.app_for(&t);
    proxy.set_faults(EVERY_REPLY_LOST);
    let _ = app
        .accounts()
        .consume_quota_once(&location, &period, 10, "request-1")
        .await;
    proxy.set_faults(Faults::NONE);
    let sent = proxy
        .take_calls()
        .iter()
        .filter(|c| c.op == "UpdateItem" && c.injected == Injected::LostReply)
        .count();
    assert!(sent >= 2, "the SDK sent the update again ({sent} sent)");
    let used = t
        .app
        .accounts()
        .quota_used(&location, &period)
        .await
        .unwrap();
    assert_eq!(used, 1, "one request, counted once");
    // The request's answer, asked again, is the count it made.
    let again = app
        .accounts()
        .consume_quota_once(&location, &period, 10, "request-1")
        .await
        .unwrap();
    assert_eq!(again, Some(1));

    proxy.set_faults(EVERY_REPLY_LOST);
    let _ = app
        .accounts()
        .release_quota_once(&location, &period, "request-1")
        .await;
    proxy.set_faults(Faults::NONE);
    let counted_other = t
        .app
        .accounts()
        .consume_quota_once(&location, &period, 10, "request-2")
        .await
        .unwrap();
    assert_eq!(counted_other, Some(1), "given back once, not below zero");
}

#[tokio::test]
async fn a_rate_limit_hit_whose_reply_was_lost_is_counted_once() {
    let t = TestApp::new().await;
    let proxy = FaultProxy::start().await;
    let app = proxy.app_for(&t);
    let limit = backend_core::store::rate_limits::Limit {
        scope: "test",
        max: 5,
        window_secs: 60,
    };
    let now = now_epoch();
    proxy.set_faults(EVERY_REPLY_LOST);
    let _ = app.rate_limits().hit(limit, "subject-1", now).await;
    proxy.set_faults(Faults::NONE);
    let sent = proxy
        .take_calls()
        .iter()
        .filter(|c| c.op == "UpdateItem" && c.injected == Injected::LostReply)
        .count();
    assert!(sent >= 2, "the SDK sent the update again ({sent} sent)");
    let windows = scan_all(&t.aws, &t.tables().rate_limits).await;
    assert_eq!(windows.len(), 1);
    assert_eq!(
        windows[0]["hits"].as_n().map(String::as_str),
        Ok("1"),
        "one hit, counted once: {:?}",
        windows[0]
    );
    let next = app
        .rate_limits()
        .hit(limit, "subject-1", now)
        .await
        .unwrap();
    assert_eq!(next.remaining, 3);
}
