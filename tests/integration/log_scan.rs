//! Nothing secret reaches the logs: this test runs the flows that handle secrets (OAuth with
//! tokens and a code, an analysis of a workflow full of email addresses, a signed Stripe
//! delivery carrying a customer's email), then scans every log and metric line the test binary
//! captured so far (its own and those of the tests that ran beside it).

use backend_core::billing::signature;
use backend_core::clock::now_epoch;
use integration_tests::{
    captured_logs, cookie_pair, repo_root, request, set_cookies, TestApp, FRONTEND,
    TEST_ENCRYPTION_KEY, TEST_GHL_CLIENT_SECRET, TEST_STRIPE_KEY, TEST_WEBHOOK_SECRET,
};
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Words that look like email addresses: something@something.tld.
fn emails(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || "@._%+-".contains(c)))
        .filter(|word| {
            let Some((local, domain)) = word.split_once('@') else {
                return false;
            };
            !local.is_empty()
                && domain.contains('.')
                && domain.rsplit('.').next().is_some_and(|tld| {
                    tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic())
                })
        })
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_email_detector_detects() {
    assert_eq!(
        emails(r#"{"from":"Ann <ann.lee@agency.io>"}"#),
        vec!["ann.lee@agency.io"]
    );
    assert!(emails("user@localhost and @handle and a@b.c1").is_empty());
}

#[tokio::test]
async fn no_log_line_carries_a_token_cookie_secret_code_or_email() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "scan-access-TOKEN-1", "refresh_token": "scan-refresh-TOKEN-2",
            "expires_in": 86399, "scope": "workflows.readonly", "userType": "Location",
            "locationId": "LocScan1", "companyId": "CoScan", "userId": "UsScan"
        })))
        .mount(&server)
        .await;
    let t = TestApp::with_env(&[("GHL_API_BASE_URL", Some(&server.uri()))]).await;

    // OAuth: the code, the tokens, the state and the session cookie all pass through the code.
    let login = t
        .call(
            &oauth_callback::routes(),
            request("GET", "/auth/login").build(),
        )
        .await;
    let to = url::Url::parse(login.header("location").unwrap()).unwrap();
    let state = to
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    let state_cookie = cookie_pair(&set_cookies(&login)[0]);
    let callback = request(
        "GET",
        &format!("/auth/callback?code=scan-CODE-3&state={state}"),
    )
    .cookie(&state_cookie)
    .build();
    let res = t.call(&oauth_callback::routes(), callback).await;
    let session = set_cookies(&res)
        .into_iter()
        .find(|c| c.starts_with("__Host-gwa_session="))
        .expect("session");
    let session = cookie_pair(&session);

    // An analysis of a workflow with email addresses in its steps.
    let mut body: Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("events/workflows/critical.json")).unwrap(),
    )
    .unwrap();
    body["workflow"]["name"] = json!("Follow-up for owner.scan@agency-example.com");
    let req = request("POST", "/api/analyze")
        .cookie(&session)
        .header("origin", FRONTEND)
        .json(&body)
        .build();
    let res = t.call(&analyze::routes(), req).await;
    assert_eq!(res.status, 201, "{}", res.json);

    // A signed Stripe delivery carrying a customer's email.
    let event = json!({
        "id": "evt_scan_1", "object": "event", "type": "customer.created", "created": now_epoch(),
        "data": { "object": { "id": "cus_scan", "object": "customer", "email": "payer.scan@example.com" } }
    });
    let raw = event.to_string();
    let secret = t.app.secrets.stripe_webhook().await.unwrap();
    let header = signature::sign(&secret, now_epoch(), raw.as_bytes());
    let req = request("POST", "/")
        .header("content-type", "application/json")
        .header("stripe-signature", &header)
        .body(&raw)
        .build();
    let res = t.call(&stripe_webhook::routes(), req).await;
    assert_eq!(res.status, 200, "{}", res.json);

    let logs = captured_logs();
    assert!(
        logs.contains("\"request\""),
        "the request summary lines were captured"
    );
    let token = session.trim_start_matches("__Host-gwa_session=");
    let forbidden = [
        "scan-access-TOKEN-1",
        "scan-refresh-TOKEN-2",
        "scan-CODE-3",
        token,
        state.as_str(),
        header.as_str(),
        TEST_GHL_CLIENT_SECRET,
        TEST_STRIPE_KEY,
        TEST_WEBHOOK_SECRET,
        TEST_ENCRYPTION_KEY,
        "Bearer ",
        "whsec_",
        "sk_test_",
    ];
    for secret in forbidden {
        assert!(!logs.contains(secret), "a log line carries {secret:?}");
    }
    let found = emails(&logs);
    assert!(
        found.is_empty(),
        "log lines carry email addresses: {found:?}"
    );
}
