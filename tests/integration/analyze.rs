//! Analyze and history: plan gating, the free quota under concurrency, storage round trips,
//! cursors, cross-account isolation, bad input that writes nothing, and the dev-only routes.

use std::collections::HashSet;

use aws_sdk_dynamodb::types::AttributeValue;
use integration_tests::{answer, repo_root, request, scan_all, Answer, TestApp, FRONTEND};
use lambda_http::Request;
use serde_json::{json, Value};

pub(crate) async fn analyze_fn(t: &TestApp, req: Request) -> Answer {
    t.call(&analyze::routes(), req).await
}

pub(crate) async fn history_fn(t: &TestApp, req: Request) -> Answer {
    t.call(&history::routes(), req).await
}

pub(crate) fn sample(name: &str) -> Value {
    let text =
        std::fs::read_to_string(repo_root().join(format!("events/workflows/{name}.json"))).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// A sample re-identified as another workflow.
pub(crate) fn sample_as(name: &str, workflow_id: &str) -> Value {
    let mut body = sample(name);
    body["workflow"]["_id"] = json!(workflow_id);
    body
}

pub(crate) fn post_analyze(cookie: &str, body: &Value) -> Request {
    request("POST", "/api/analyze")
        .cookie(cookie)
        .header("origin", FRONTEND)
        .json(body)
        .build()
}

pub(crate) async fn make_pro(t: &TestApp, location: &str) {
    t.aws
        .dynamodb()
        .update_item()
        .table_name(&t.tables().accounts)
        .key("locationId", AttributeValue::S(location.into()))
        .update_expression("SET #p = :pro, subscriptionStatus = :active")
        .expression_attribute_names("#p", "plan")
        .expression_attribute_values(":pro", AttributeValue::S("pro".into()))
        .expression_attribute_values(":active", AttributeValue::S("active".into()))
        .send()
        .await
        .unwrap();
}

async fn results_count(t: &TestApp) -> usize {
    scan_all(&t.aws, &t.tables().results).await.len()
}

#[tokio::test]
async fn analyze_history_get_delete_round_trip() {
    let t = TestApp::new().await;
    let cookie = t.connected_session("LocRound1").await;

    let res = analyze_fn(&t, post_analyze(&cookie, &sample("critical"))).await;
    res.assert_envelope();
    assert_eq!(res.status, 201, "{}", res.json);
    let data = &res.json["data"];
    let id = data["analysisId"].as_str().unwrap().to_owned();
    assert_eq!(data["result"]["plan"], "free");
    assert_eq!(data["result"]["grade"], "Critical");
    assert!(data["result"]["issues"].as_array().unwrap().len() <= 3);
    assert!(data["result"]["issues"][0].get("recommendation").is_none());
    assert_eq!(data["quota"]["used"], 1);
    assert_eq!(data["quota"]["limit"], 10);

    let res = history_fn(&t, request("GET", "/api/history").cookie(&cookie).build()).await;
    assert_eq!(res.status, 200, "{}", res.json);
    let items = res.json["data"]["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], id.as_str());
    assert_eq!(items[0]["workflowId"], "wf_critical_reactivation");
    assert_eq!(items[0]["grade"], "Critical");
    assert!(items[0]["summary"]["critical"].as_u64().unwrap() > 0);
    assert!(res.json["data"]["nextCursor"].is_null());

    let res = history_fn(
        &t,
        request("GET", &format!("/api/analysis/{id}"))
            .cookie(&cookie)
            .build(),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.json);
    assert_eq!(res.json["data"]["result"]["plan"], "free");

    let res = analyze_fn(
        &t,
        request("GET", "/api/workflows/wf_critical_reactivation/structure")
            .cookie(&cookie)
            .build(),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.json);
    assert!(!res.json["data"]["nodes"].as_array().unwrap().is_empty());
    assert!(res.json["data"]["edges"].is_array());

    let del = request("DELETE", &format!("/api/analysis/{id}"))
        .cookie(&cookie)
        .header("origin", FRONTEND)
        .build();
    let res = history_fn(&t, del).await;
    assert_eq!(res.status, 204);
    let res = history_fn(
        &t,
        request("GET", &format!("/api/analysis/{id}"))
            .cookie(&cookie)
            .build(),
    )
    .await;
    assert_eq!((res.status, res.error_code()), (404, "NOT_FOUND"));
    let del = request("DELETE", &format!("/api/analysis/{id}"))
        .cookie(&cookie)
        .header("origin", FRONTEND)
        .build();
    assert_eq!(history_fn(&t, del).await.status, 404);
    let res = analyze_fn(
        &t,
        request("GET", "/api/workflows/wf_critical_reactivation/structure")
            .cookie(&cookie)
            .build(),
    )
    .await;
    assert_eq!(res.status, 404);
}

#[tokio::test]
async fn pagination_with_filters_has_no_duplicates_or_gaps() {
    let t = TestApp::new().await;
    let cookie = t.connected_session("LocPages1").await;
    make_pro(&t, "LocPages1").await;
    let mut healthy_ids = Vec::new();
    for i in 0..7 {
        let (name, wf) = if i % 2 == 0 {
            ("healthy", "wf-a")
        } else {
            ("critical", "wf-b")
        };
        let res = analyze_fn(&t, post_analyze(&cookie, &sample_as(name, wf))).await;
        assert_eq!(res.status, 201, "{}", res.json);
        if wf == "wf-a" {
            healthy_ids.push(res.json["data"]["analysisId"].as_str().unwrap().to_owned());
        }
    }
    healthy_ids.reverse(); // newest first

    // All seven, two at a time.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/history?limit=2&cursor={c}"),
            None => "/api/history?limit=2".to_owned(),
        };
        let res = history_fn(&t, request("GET", &path).cookie(&cookie).build()).await;
        assert_eq!(res.status, 200, "{}", res.json);
        for item in res.json["data"]["items"].as_array().unwrap() {
            seen.push(item["id"].as_str().unwrap().to_owned());
        }
        match res.json["data"]["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 7, "{seen:?}");
    assert_eq!(
        seen.iter().collect::<HashSet<_>>().len(),
        7,
        "no duplicates"
    );
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(seen, sorted, "newest first");

    // One workflow and one grade, combined, across pages.
    let mut filtered = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let base = "/api/history?limit=1&workflowId=wf-a&grade=Excellent";
        let path = match &cursor {
            Some(c) => format!("{base}&cursor={c}"),
            None => base.to_owned(),
        };
        let res = history_fn(&t, request("GET", &path).cookie(&cookie).build()).await;
        assert_eq!(res.status, 200, "{}", res.json);
        for item in res.json["data"]["items"].as_array().unwrap() {
            assert_eq!(item["workflowId"], "wf-a");
            filtered.push(item["id"].as_str().unwrap().to_owned());
        }
        match res.json["data"]["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(filtered, healthy_ids);

    // A date range that excludes everything, and one that includes everything.
    let res = history_fn(
        &t,
        request("GET", "/api/history?to=2001-01-01")
            .cookie(&cookie)
            .build(),
    )
    .await;
    assert_eq!(res.json["data"]["items"].as_array().unwrap().len(), 0);
    let res = history_fn(
        &t,
        request("GET", "/api/history?from=2001-01-01&limit=100")
            .cookie(&cookie)
            .build(),
    )
    .await;
    assert_eq!(res.json["data"]["items"].as_array().unwrap().len(), 7);

    // Bad parameters are 400s naming the parameter.
    for bad in [
        "limit=0",
        "limit=101",
        "limit=x",
        "grade=Great",
        "from=yesterday",
        "from=2026-02-01&to=2026-01-01",
    ] {
        let res = history_fn(
            &t,
            request("GET", &format!("/api/history?{bad}"))
                .cookie(&cookie)
                .build(),
        )
        .await;
        res.assert_envelope();
        assert_eq!(
            (res.status, res.error_code()),
            (400, "VALIDATION_ERROR"),
            "{bad}"
        );
    }
}

#[tokio::test]
async fn forged_replayed_and_cross_account_cursors_are_rejected() {
    let t = TestApp::new().await;
    let alice = t.connected_session("LocAlice1").await;
    let bob = t.connected_session("LocBob1").await;
    make_pro(&t, "LocAlice1").await;
    for _ in 0..3 {
        assert_eq!(
            analyze_fn(&t, post_analyze(&alice, &sample("healthy")))
                .await
                .status,
            201
        );
    }
    let res = history_fn(
        &t,
        request("GET", "/api/history?limit=1")
            .cookie(&alice)
            .build(),
    )
    .await;
    let cursor = res.json["data"]["nextCursor"].as_str().unwrap().to_owned();

    let mut forged = cursor.clone().into_bytes();
    forged[2] = if forged[2] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();
    for (who, path) in [
        (&alice, format!("/api/history?limit=1&cursor={forged}")),
        (&bob, format!("/api/history?limit=1&cursor={cursor}")),
        (
            &alice,
            format!("/api/history?limit=1&grade=Good&cursor={cursor}"),
        ),
        (&alice, "/api/history?cursor=not-a-cursor".to_owned()),
    ] {
        let res = history_fn(&t, request("GET", &path).cookie(who).build()).await;
        res.assert_envelope();
        assert_eq!(
            (res.status, res.error_code()),
            (400, "VALIDATION_ERROR"),
            "{path}: {}",
            res.json
        );
    }
}

#[tokio::test]
async fn another_accounts_analysis_answers_not_found() {
    let t = TestApp::new().await;
    let alice = t.connected_session("LocAlice2").await;
    let bob = t.connected_session("LocBob2").await;
    let res = analyze_fn(&t, post_analyze(&alice, &sample("medium"))).await;
    let id = res.json["data"]["analysisId"].as_str().unwrap().to_owned();
    let get = history_fn(
        &t,
        request("GET", &format!("/api/analysis/{id}"))
            .cookie(&bob)
            .build(),
    )
    .await;
    assert_eq!((get.status, get.error_code()), (404, "NOT_FOUND"));
    let missing = history_fn(
        &t,
        request("GET", "/api/analysis/1795471200000-00000000")
            .cookie(&bob)
            .build(),
    )
    .await;
    assert_eq!(
        get.json["error"]["message"], missing.json["error"]["message"],
        "indistinguishable from a missing one"
    );
    let del = request("DELETE", &format!("/api/analysis/{id}"))
        .cookie(&bob)
        .header("origin", FRONTEND)
        .build();
    assert_eq!(history_fn(&t, del).await.status, 404);
    let still = history_fn(
        &t,
        request("GET", &format!("/api/analysis/{id}"))
            .cookie(&alice)
            .build(),
    )
    .await;
    assert_eq!(still.status, 200);
    let bad = history_fn(
        &t,
        request("GET", "/api/analysis/..%2F..")
            .cookie(&alice)
            .build(),
    )
    .await;
    assert_eq!(bad.status, 400);
}

#[tokio::test]
async fn free_quota_holds_exactly_under_twenty_concurrent_requests() {
    let t = TestApp::new().await;
    let cookie = t.connected_session("LocQuota1").await;
    let body = sample("healthy");
    // Through the fault proxy (no faults): it forwards writes one at a time, as DynamoDB applies
    // the writes of one item, which moto's threads do not (its conditional updates can both
    // pass); what is tested is then our quota condition, not moto.
    let proxy = integration_tests::fault_proxy::FaultProxy::start().await;
    let app = proxy.app_for(&t);
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (app, cookie, body) = (app.clone(), cookie.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            let req = post_analyze(&cookie, &body);
            answer(backend_core::lambda::dispatch(&app, &analyze::routes(), req).await)
        }));
    }
    let mut statuses = Vec::new();
    for task in tasks {
        let res = task.await.unwrap();
        if res.status == 402 {
            res.assert_envelope();
            assert_eq!(res.error_code(), "PLAN_LIMIT_REACHED");
            assert!(res.json["error"]["message"]
                .as_str()
                .unwrap()
                .contains("resets"));
            assert!(res.json["error"]["details"][0]["resetsAt"].is_string());
        }
        statuses.push(res.status);
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        10,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 402).count(),
        10,
        "{statuses:?}"
    );
    assert_eq!(results_count(&t).await, 10);
}

#[tokio::test]
async fn pro_is_unlimited_and_an_upgrade_reveals_the_full_result() {
    let t = TestApp::new().await;
    let cookie = t.connected_session("LocUpgrade1").await;
    let res = analyze_fn(&t, post_analyze(&cookie, &sample("critical"))).await;
    let id = res.json["data"]["analysisId"].as_str().unwrap().to_owned();
    let total = res.json["data"]["result"]["summary"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum::<u64>();
    assert!(total > 3);

    make_pro(&t, "LocUpgrade1").await;
    let res = history_fn(
        &t,
        request("GET", &format!("/api/analysis/{id}"))
            .cookie(&cookie)
            .build(),
    )
    .await;
    assert_eq!(res.json["data"]["result"]["plan"], "pro");
    let issues = res.json["data"]["result"]["issues"].as_array().unwrap();
    assert_eq!(issues.len() as u64, total);
    assert!(issues.iter().all(|i| i["recommendation"].is_string()));

    for _ in 0..12 {
        let res = analyze_fn(&t, post_analyze(&cookie, &sample("healthy"))).await;
        assert_eq!(res.status, 201, "{}", res.json);
        assert!(res.json["data"].get("quota").is_none());
    }
}

#[tokio::test]
async fn bad_bodies_answer_in_the_envelope_and_write_nothing() {
    let t = TestApp::new().await;
    let cookie = t.connected_session("LocBad1").await;
    let post = |body: &str, content_type: &str| {
        request("POST", "/api/analyze")
            .cookie(&cookie)
            .header("origin", FRONTEND)
            .header("content-type", content_type)
            .body(body)
            .build()
    };
    let huge = format!(
        "{{\"workflow\": {{\"name\": \"{}\"}}}}",
        "x".repeat(analyze::MAX_ANALYZE_BODY)
    );
    let cases = [
        (post(&huge, "application/json"), 413, "PAYLOAD_TOO_LARGE"),
        (post("{}", "text/plain"), 415, "UNSUPPORTED_MEDIA_TYPE"),
        (
            post("{\"workflow\": ", "application/json"),
            400,
            "VALIDATION_ERROR",
        ),
        (post("[1, 2]", "application/json"), 400, "VALIDATION_ERROR"),
        (
            post(
                "{\"workflow\": {\"workflowData\": {\"templates\": 7}}}",
                "application/json",
            ),
            400,
            "VALIDATION_ERROR",
        ),
        (
            post("{\"workflowId\": 12}", "application/json"),
            400,
            "VALIDATION_ERROR",
        ),
    ];
    for (req, status, code) in cases {
        let res = analyze_fn(&t, req).await;
        res.assert_envelope();
        assert_eq!(
            (res.status, res.error_code()),
            (status, code),
            "{}",
            res.json
        );
    }
    let res = analyze_fn(&t, post("{\"workflow\": ", "application/json")).await;
    assert!(
        res.json["error"]["details"][0]["line"].is_number(),
        "{}",
        res.json
    );
    let res = analyze_fn(
        &t,
        post(
            "{\"workflow\": {\"workflowData\": {\"templates\": 7}}}",
            "application/json",
        ),
    )
    .await;
    assert!(
        res.json["error"]["details"][0]["pointer"]
            .as_str()
            .unwrap()
            .starts_with("/workflow"),
        "{}",
        res.json
    );
    assert_eq!(results_count(&t).await, 0);
    let account = scan_all(&t.aws, &t.tables().accounts).await;
    assert!(
        account[0]
            .iter()
            .filter(|(k, _)| k.starts_with("usage_"))
            .all(|(_, v)| v.as_n().map(String::as_str) == Ok("0")),
        "no quota was spent (each count taken was given back): {:?}",
        account[0]
    );
}

/// Uses up `count` of the free plan's analyses this month for `location`.
async fn use_quota(t: &TestApp, location: &str, count: u32) {
    use backend_core::store::accounts::usage::QuotaWrites;
    let id = backend_core::auth::LocationId::parse(location).unwrap();
    let period = backend_core::plans::usage_period(backend_core::clock::now_epoch());
    for _ in 0..count {
        t.app
            .accounts()
            .consume_quota(&id, &period, backend_core::plans::FREE_MONTHLY_ANALYSES)
            .await
            .unwrap()
            .expect("counted");
    }
}

async fn quota_used(t: &TestApp, location: &str) -> u32 {
    let id = backend_core::auth::LocationId::parse(location).unwrap();
    let period = backend_core::plans::usage_period(backend_core::clock::now_epoch());
    t.app.accounts().quota_used(&id, &period).await.unwrap()
}

#[tokio::test]
async fn a_free_account_over_its_quota_gets_402_before_its_body_is_analyzed() {
    let t = TestApp::new().await;
    let cookie = t.connected_session("LocOverQuota1").await;
    use_quota(&t, "LocOverQuota1", 10).await;
    // A body the analyzer would refuse (400) or work hard on: the quota answers first.
    for body in [
        json!({ "workflow": { "workflowData": { "templates": 7 } } }),
        sample("critical"),
    ] {
        let res = analyze_fn(&t, post_analyze(&cookie, &body)).await;
        res.assert_envelope();
        assert_eq!((res.status, res.error_code()), (402, "PLAN_LIMIT_REACHED"));
    }
    assert_eq!(quota_used(&t, "LocOverQuota1").await, 10);
    assert_eq!(results_count(&t).await, 0);
}

#[tokio::test]
async fn a_counted_analysis_that_fails_gives_its_count_back() {
    let t = TestApp::new().await;
    let cookie = t.connected_session("LocGiveBack1").await;
    use_quota(&t, "LocGiveBack1", 9).await;
    // Not a workflow (400), and a body over the analyzer's step limit (413): counted, failed,
    // given back.
    let bad = analyze_fn(
        &t,
        post_analyze(
            &cookie,
            &json!({ "workflow": { "workflowData": { "templates": 7 } } }),
        ),
    )
    .await;
    assert_eq!(bad.status, 400, "{}", bad.json);
    let steps: Vec<Value> = (0..25_000)
        .map(|n| json!({ "id": format!("s{n}"), "type": "wait" }))
        .collect();
    let huge = json!({ "workflow": { "_id": "wf_huge", "name": "huge", "workflowData": { "templates": steps } } });
    let big = analyze_fn(&t, post_analyze(&cookie, &huge)).await;
    assert!(matches!(big.status, 400 | 413), "{}", big.json);
    assert_eq!(
        quota_used(&t, "LocGiveBack1").await,
        9,
        "nothing spent on failures"
    );
    // The tenth is still there for a good one.
    let good = analyze_fn(&t, post_analyze(&cookie, &sample("healthy"))).await;
    assert_eq!(good.status, 201, "{}", good.json);
    assert_eq!(good.json["data"]["quota"]["used"], 10);
}

#[tokio::test]
async fn metadata_only_analysis_runs_the_metadata_rules_with_low_confidence() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/workflows/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "workflows": [
            { "id": "wf-copy", "name": "Copy of Test workflow", "status": "published", "version": 2,
              "createdAt": "2024-01-01T00:00:00.000Z", "updatedAt": "2024-01-02T00:00:00.000Z" }
        ]})))
        .mount(&server)
        .await;
    let t = TestApp::with_env(&[("GHL_API_BASE_URL", Some(&server.uri()))]).await;
    let cookie = t.connected_session("LocMeta1").await;
    make_pro(&t, "LocMeta1").await;
    let res = analyze_fn(
        &t,
        post_analyze(&cookie, &json!({ "workflowId": "wf-copy" })),
    )
    .await;
    assert_eq!(res.status, 201, "{}", res.json);
    let result = &res.json["data"]["result"];
    assert_eq!(result["confidence"], "low");
    assert!(result["issues"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["ruleId"] == "test-name-published"));
    assert!(result["skippedRules"].as_array().unwrap().len() > 10);
    let res = analyze_fn(
        &t,
        post_analyze(&cookie, &json!({ "workflowId": "wf-none" })),
    )
    .await;
    assert_eq!(res.status, 404);
    let res = analyze_fn(
        &t,
        request("GET", "/api/workflows/wf-copy/structure")
            .cookie(&cookie)
            .build(),
    )
    .await;
    assert_eq!(res.status, 404, "no definition was analyzed");
}

#[tokio::test]
async fn dev_sample_routes_work_in_dev_and_are_absent_in_prod() {
    let t = TestApp::new().await;
    let res = analyze_fn(&t, request("GET", "/test/workflows").build()).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json["data"]["samples"].as_array().unwrap().len(), 3);
    let res = analyze_fn(
        &t,
        request("POST", "/test/analyze")
            .json(&json!({ "sample": "healthy" }))
            .build(),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.json);
    assert_eq!(res.json["data"]["result"]["grade"], "Excellent");
    let res = analyze_fn(
        &t,
        request("POST", "/test/analyze")
            .json(&json!({ "sample": "nope" }))
            .build(),
    )
    .await;
    assert_eq!(res.status, 400);
    let res = analyze_fn(
        &t,
        request("POST", "/test/login")
            .json(&json!({ "locationId": "demo-loc1" }))
            .build(),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.json);
    let cookie = integration_tests::cookie_pair(&integration_tests::set_cookies(&res)[0]);
    let res = analyze_fn(&t, post_analyze(&cookie, &sample("healthy"))).await;
    assert_eq!(
        res.status, 201,
        "the demo session can analyze: {}",
        res.json
    );

    let prod = TestApp::with_env(&[
        ("STAGE", Some("prod")),
        ("GHL_APP_ID", Some("app_test_1")),
        ("ENABLE_TEST_ROUTES", None),
        ("FRONTEND_URL", Some("https://app.example.com")),
        (
            "GHL_REDIRECT_URI",
            Some("https://api.example.com/auth/callback"),
        ),
    ])
    .await;
    for req in [
        request("GET", "/test/workflows").build(),
        request("POST", "/test/analyze")
            .json(&json!({ "sample": "healthy" }))
            .build(),
        request("POST", "/test/login")
            .json(&json!({ "locationId": "demo-loc1" }))
            .build(),
    ] {
        let res = analyze_fn(&prod, req).await;
        res.assert_envelope();
        assert_eq!((res.status, res.error_code()), (404, "NOT_FOUND"));
    }
    assert!(scan_all(&prod.aws, &prod.tables().sessions)
        .await
        .is_empty());
}

#[tokio::test]
async fn a_dev_stack_has_no_test_routes_unless_they_are_switched_on() {
    let t = TestApp::with_env(&[("ENABLE_TEST_ROUTES", None)]).await;
    assert!(!t.app.config.test_routes, "off unless asked");
    for req in [
        request("GET", "/test/workflows").build(),
        request("POST", "/test/analyze")
            .json(&json!({ "sample": "healthy" }))
            .build(),
        request("POST", "/test/login")
            .json(&json!({ "locationId": "demo-loc1" }))
            .build(),
    ] {
        let res = analyze_fn(&t, req).await;
        res.assert_envelope();
        assert_eq!((res.status, res.error_code()), (404, "NOT_FOUND"));
    }
    assert!(integration_tests::scan_all(&t.aws, &t.tables().sessions)
        .await
        .is_empty());
    let t = TestApp::with_env(&[("ENABLE_TEST_ROUTES", Some("false"))]).await;
    assert!(!t.app.config.test_routes);
}

#[test]
fn the_test_routes_switch_is_refused_in_prod_and_must_be_a_boolean() {
    let base = |stage: &str, switch: &str| {
        let vars: std::collections::BTreeMap<&str, String> = [
            ("STAGE", stage.to_owned()),
            ("GHL_APP_ID", "app_test_1".to_owned()),
            ("ENABLE_TEST_ROUTES", switch.to_owned()),
            ("FRONTEND_URL", "https://app.example.com".to_owned()),
            (
                "GHL_REDIRECT_URI",
                "https://api.example.com/auth/callback".to_owned(),
            ),
            ("GHL_CLIENT_ID", "id".to_owned()),
            ("STRIPE_PRICE_ID", "price_x".to_owned()),
            ("TOKEN_KEY_SECRET_ID", "s".to_owned()),
            ("SESSIONS_TABLE", "a".to_owned()),
            ("ACCOUNTS_TABLE", "b".to_owned()),
            ("RESULTS_TABLE", "c".to_owned()),
            ("IDEMPOTENCY_TABLE", "d".to_owned()),
            ("RATE_LIMITS_TABLE", "e".to_owned()),
        ]
        .into_iter()
        .collect();
        backend_core::config::Config::from_lookup(|k| vars.get(k).cloned())
    };
    let problems = base("prod", "true").unwrap_err().problems;
    assert!(
        problems.iter().any(|p| p.contains("ENABLE_TEST_ROUTES")),
        "{problems:?}"
    );
    assert!(base("dev", "yes").is_err());
    assert!(base("dev", "true").unwrap().test_routes);
    assert!(!base("prod", "false").unwrap().test_routes);
}

#[tokio::test]
async fn an_analysis_emits_embedded_metric_format_lines() {
    let t = TestApp::new().await;
    let cookie = t.connected_session("LocMetrics1").await;
    let res = analyze_fn(&t, post_analyze(&cookie, &sample("critical"))).await;
    assert_eq!(res.status, 201);
    let logs = integration_tests::captured_logs();
    let line = logs
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| {
            v.get("AnalysisDuration").is_some() && v["IssuesCritical"].as_f64().unwrap_or(0.0) > 0.0
        })
        .expect("an EMF line for the analysis");
    let directive = &line["_aws"]["CloudWatchMetrics"][0];
    assert_eq!(directive["Namespace"], "GhlWorkflowAnalyzer");
    let names: Vec<&str> = directive["Metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["Name"].as_str().unwrap())
        .collect();
    for name in [
        "AnalysisDuration",
        "HealthScore",
        "IssuesCritical",
        "IssuesHigh",
    ] {
        assert!(names.contains(&name), "{names:?}");
    }
    assert!(line["_aws"]["Timestamp"].as_i64().unwrap() > 1_700_000_000_000);
    assert_eq!(line["Plan"], "free");
}

#[tokio::test]
async fn the_free_structure_view_shows_only_the_free_plans_issues() {
    let t = TestApp::new().await;
    let cookie = t.connected_session("LocGraph1").await;
    assert_eq!(
        analyze_fn(&t, post_analyze(&cookie, &sample("critical")))
            .await
            .status,
        201
    );
    let path = "/api/workflows/wf_critical_reactivation/structure";
    let free = analyze_fn(&t, request("GET", path).cookie(&cookie).build()).await;
    let count = |res: &Answer| -> usize {
        res.json["data"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["data"]["issues"].as_array().map_or(0, Vec::len))
            .sum()
    };
    assert!(count(&free) <= 3, "{}", free.json);
    make_pro(&t, "LocGraph1").await;
    let pro = analyze_fn(&t, request("GET", path).cookie(&cookie).build()).await;
    assert!(count(&pro) > 3, "pro sees every finding on the graph");
}

#[tokio::test]
async fn the_structure_view_shows_the_stored_issues_without_analyzing_again() {
    use backend_core::auth::LocationId;
    use backend_core::highlevel::WorkflowId;
    use backend_core::store::results::{AnalysisId, NewAnalysis};
    let t = TestApp::new().await;
    let cookie = t.connected_session("LocStored1").await;
    make_pro(&t, "LocStored1").await;
    let res = analyze_fn(&t, post_analyze(&cookie, &sample("critical"))).await;
    assert_eq!(res.status, 201, "{}", res.json);
    // A newer stored analysis of the same definition whose result keeps one issue only: a view
    // that ran the rules again would show them all.
    let mut result = res.json["data"]["result"].clone();
    result.as_object_mut().unwrap().remove("plan");
    let issues = result["issues"].as_array().unwrap().clone();
    assert!(issues.len() > 1, "{result}");
    let kept = issues
        .iter()
        .find(|i| i["stepIds"].as_array().is_some_and(|s| !s.is_empty()))
        .or_else(|| issues.iter().find(|i| !i["stepId"].is_null()))
        .expect("an issue on a step")
        .clone();
    result["issues"] = json!([kept.clone()]);
    let location = LocationId::parse("LocStored1").unwrap();
    let workflow = WorkflowId::parse("wf_critical_reactivation").unwrap();
    let now_ms = backend_core::clock::now_epoch_ms() + 5_000;
    let id = AnalysisId::generate(now_ms);
    let definition = serde_json::to_vec(&sample("critical")).unwrap();
    let summary = json!({});
    t.app
        .results()
        .put(&NewAnalysis {
            location: &location,
            id: &id,
            workflow_id: Some(&workflow),
            workflow_name: Some("stored"),
            health_score: 50,
            grade: "Poor",
            confidence: "high",
            summary: &summary,
            created_at_ms: now_ms,
            expires_at: None,
            result: &result,
            definition: Some(&definition),
            compared: None,
        })
        .await
        .unwrap();
    let path = "/api/workflows/wf_critical_reactivation/structure";
    let view = analyze_fn(&t, request("GET", path).cookie(&cookie).build()).await;
    assert_eq!(view.status, 200, "{}", view.json);
    let shown: HashSet<String> = view.json["data"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|n| n["data"]["issues"].as_array().cloned().unwrap_or_default())
        .map(|r| r.as_str().unwrap().to_owned())
        .collect();
    let rule = kept["ruleId"].as_str().unwrap().to_owned();
    assert_eq!(shown, HashSet::from([rule]), "{}", view.json);
}

#[tokio::test]
async fn overlong_workflow_ids_and_names_are_bounded_not_fatal() {
    let t = TestApp::new().await;
    let cookie = t.connected_session("LocLong1").await;
    let mut body = sample("healthy");
    body["workflow"]["_id"] = json!("x".repeat(3000));
    body["workflow"]["name"] = json!("N".repeat(100_000));
    let res = analyze_fn(&t, post_analyze(&cookie, &body)).await;
    res.assert_envelope();
    assert_eq!(res.status, 201, "{}", res.json);
    let items = scan_all(&t.aws, &t.tables().results).await;
    assert!(
        !items[0].contains_key("workflowKey"),
        "an id of the wrong shape is not indexed"
    );
    assert_eq!(items[0]["workflowName"].as_s().unwrap().len(), 200);
}

#[tokio::test]
async fn the_dev_login_opens_sessions_for_demo_locations_only() {
    let t = TestApp::new().await;
    t.connected_session("RealLocation123").await;
    let res = analyze_fn(
        &t,
        request("POST", "/test/login")
            .json(&json!({ "locationId": "RealLocation123" }))
            .build(),
    )
    .await;
    res.assert_envelope();
    assert_eq!((res.status, res.error_code()), (400, "VALIDATION_ERROR"));
    assert!(integration_tests::set_cookies(&res).is_empty());
}

#[tokio::test]
async fn history_structure_and_metadata_analysis_refuse_the_same_workflow_ids() {
    let t = TestApp::new().await;
    let cookie = t.connected_session("LocWfIds1").await;
    let long = "w".repeat(65);
    for bad in [long.as_str(), "wf.1", "wf%20a"] {
        let res = history_fn(
            &t,
            request("GET", &format!("/api/history?workflowId={bad}"))
                .cookie(&cookie)
                .build(),
        )
        .await;
        assert_eq!(
            (res.status, res.error_code()),
            (400, "VALIDATION_ERROR"),
            "history {bad}"
        );
        let res = analyze_fn(
            &t,
            request("GET", &format!("/api/workflows/{bad}/structure"))
                .cookie(&cookie)
                .build(),
        )
        .await;
        assert_eq!(
            (res.status, res.error_code()),
            (400, "VALIDATION_ERROR"),
            "structure {bad}"
        );
    }
    // An empty id is no id in a query (documented: empty counts as absent) and refused in a body.
    let res = history_fn(
        &t,
        request("GET", "/api/history?workflowId=")
            .cookie(&cookie)
            .build(),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.json);
    let res = analyze_fn(
        &t,
        request("POST", "/api/analyze")
            .cookie(&cookie)
            .header("origin", FRONTEND)
            .json(&json!({ "workflowId": "" }))
            .build(),
    )
    .await;
    assert_eq!(
        (res.status, res.error_code()),
        (400, "VALIDATION_ERROR"),
        "{}",
        res.json
    );
}
