//! The HighLevel connection: OAuth login and callback, sessions, token refresh, workflow listing.
//! HighLevel is a wiremock server speaking its wire format.

use std::sync::Arc;
use std::time::Duration;

use integration_tests::{
    captured_logs, cookie_pair, request, scan_all, set_cookies, Answer, TestApp, FRONTEND,
    TEST_GHL_CLIENT_SECRET,
};
use lambda_http::Request;
use wiremock::matchers::{body_string_contains, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const LOCATION: &str = "LocAbc123XyZ456";

async fn auth(t: &TestApp, req: Request) -> Answer {
    t.call(&oauth_callback::routes(), req).await
}

async fn analyze_fn(t: &TestApp, req: Request) -> Answer {
    t.call(&analyze::routes(), req).await
}

async fn highlevel_world() -> (MockServer, TestApp) {
    let server = MockServer::start().await;
    let t = TestApp::with_env(&[("GHL_API_BASE_URL", Some(&server.uri()))]).await;
    (server, t)
}

fn token_body(access: &str, refresh: &str) -> serde_json::Value {
    serde_json::json!({
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": 86399,
        "refresh_token": refresh,
        "scope": "workflows.readonly locations.readonly",
        "userType": "Location",
        "companyId": "CompanyQ1",
        "locationId": LOCATION,
        "userId": "UserZ9",
    })
}

fn workflows_body() -> serde_json::Value {
    serde_json::json!({ "workflows": [
        { "id": "wf-1", "name": "New lead nurture", "status": "published", "version": 4,
          "createdAt": "2026-01-02T10:00:00.000Z", "updatedAt": "2026-10-02T10:00:00.000Z", "locationId": LOCATION },
        { "id": "wf-2", "name": "Copy of test", "status": "draft", "version": 1,
          "createdAt": "2026-03-02T10:00:00.000Z", "updatedAt": "2026-03-02T10:00:00.000Z", "locationId": LOCATION }
    ]})
}

/// Starts a login: returns the `state` query value and the state cookie pair.
async fn start_login(t: &TestApp) -> (String, String) {
    let res = auth(t, request("GET", "/auth/login").build()).await;
    assert_eq!(res.status, 302, "{}", res.json);
    let location = url::Url::parse(res.header("location").expect("Location")).expect("url");
    let state = location
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .expect("state param");
    let cookie = set_cookies(&res)
        .into_iter()
        .find(|c| c.starts_with("gwa_oauth_state="))
        .expect("state cookie");
    (state, cookie_pair(&cookie))
}

async fn callback(t: &TestApp, state: &str, cookie: Option<&str>, code: &str) -> Answer {
    let mut req = request("GET", &format!("/auth/callback?code={code}&state={state}"));
    if let Some(cookie) = cookie {
        req = req.cookie(cookie);
    }
    auth(t, req.build()).await
}

fn redirect_error(res: &Answer) -> Option<String> {
    let location = url::Url::parse(res.header("location")?).ok()?;
    location
        .query_pairs()
        .find(|(k, _)| k == "error")
        .map(|(_, v)| v.into_owned())
}

async fn real_sessions(t: &TestApp) -> usize {
    scan_all(&t.aws, &t.tables().sessions)
        .await
        .iter()
        .filter(|item| {
            !item["tokenHash"]
                .as_s()
                .map(|s| s.starts_with("oauth-state#"))
                .unwrap_or(false)
        })
        .count()
}

async fn mock_token_exchange(server: &MockServer, access: &str, refresh: &str) {
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(body_string_contains("grant_type=authorization_code"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body(access, refresh)))
        .mount(server)
        .await;
}

#[tokio::test]
async fn login_callback_status_workflows_logout_round_trip() {
    let (server, t) = highlevel_world().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(body_string_contains("grant_type=authorization_code"))
        .and(body_string_contains("code=the-code-123"))
        .and(body_string_contains("user_type=Location"))
        .and(body_string_contains("client_id=test-client-id"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(token_body("access-AAA", "refresh-BBB")),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/workflows/"))
        .and(query_param("locationId", LOCATION))
        .and(header("authorization", "Bearer access-AAA"))
        .and(header("version", "2021-07-28"))
        .respond_with(ResponseTemplate::new(200).set_body_json(workflows_body()))
        .expect(1)
        .mount(&server)
        .await;

    // login: a redirect to the chooser with every OAuth parameter
    let res = auth(&t, request("GET", "/auth/login").build()).await;
    let to = url::Url::parse(res.header("location").unwrap()).unwrap();
    assert!(to
        .as_str()
        .starts_with("https://marketplace.gohighlevel.com/oauth/chooselocation?"));
    let params: std::collections::HashMap<_, _> = to.query_pairs().into_owned().collect();
    assert_eq!(params["response_type"], "code");
    assert_eq!(params["client_id"], "test-client-id");
    assert_eq!(
        params["redirect_uri"],
        "http://localhost:9000/auth/callback"
    );
    assert!(params["scope"]
        .split(' ')
        .any(|s| s == "workflows.readonly"));
    let state_cookie = set_cookies(&res)
        .into_iter()
        .find(|c| c.starts_with("gwa_oauth_state="))
        .unwrap();
    assert!(
        state_cookie.contains("HttpOnly")
            && state_cookie.contains("Secure")
            && state_cookie.contains("SameSite=Lax")
    );

    // callback: session cookie, redirect to the front end
    let state = params["state"].clone();
    let res = callback(
        &t,
        &state,
        Some(&cookie_pair(&state_cookie)),
        "the-code-123",
    )
    .await;
    assert_eq!(res.status, 302);
    assert_eq!(redirect_error(&res), None, "{:?}", res.header("location"));
    assert!(res.header("location").unwrap().starts_with(FRONTEND));
    let session = set_cookies(&res)
        .into_iter()
        .find(|c| c.starts_with("__Host-gwa_session="))
        .expect("session cookie");
    let attrs: Vec<&str> = session.split("; ").skip(1).collect();
    assert_eq!(
        attrs,
        [
            "HttpOnly",
            "Secure",
            "SameSite=Lax",
            "Path=/",
            "Max-Age=604800"
        ]
    );
    let value = cookie_pair(&session);
    assert_eq!(
        value.len(),
        "__Host-gwa_session=".len() + 43,
        "256-bit token, base64url"
    );

    // status
    let res = auth(&t, request("GET", "/auth/status").cookie(&value).build()).await;
    assert_eq!(res.json["data"]["authenticated"], true);
    assert_eq!(res.json["data"]["locationId"], LOCATION);
    assert_eq!(res.json["data"]["plan"], "free");
    assert!(res.json["data"]["sessionExpiresAt"].is_string());

    // workflows (and the second call comes from the container cache)
    for _ in 0..2 {
        let res = analyze_fn(&t, request("GET", "/api/workflows").cookie(&value).build()).await;
        res.assert_envelope();
        assert_eq!(res.status, 200, "{}", res.json);
        assert_eq!(res.json["data"]["workflows"][0]["id"], "wf-1");
        assert_eq!(res.json["data"]["count"], 2);
    }

    // logout: cookie cleared, session gone, idempotent
    for _ in 0..2 {
        let res = auth(
            &t,
            request("POST", "/auth/logout")
                .cookie(&value)
                .header("origin", FRONTEND)
                .build(),
        )
        .await;
        assert_eq!(res.status, 200, "{}", res.json);
        assert!(set_cookies(&res)
            .iter()
            .any(|c| c.starts_with("__Host-gwa_session=;") && c.contains("Max-Age=0")));
    }
    let res = auth(&t, request("GET", "/auth/status").cookie(&value).build()).await;
    assert_eq!(res.json["data"]["authenticated"], false);
    let res = analyze_fn(&t, request("GET", "/api/workflows").cookie(&value).build()).await;
    assert_eq!((res.status, res.error_code()), (401, "UNAUTHENTICATED"));
}

#[tokio::test]
async fn tampered_expired_replayed_or_missing_state_creates_no_session() {
    let (server, t) = highlevel_world().await;
    mock_token_exchange(&server, "access-1", "refresh-1").await;
    let (state, cookie) = start_login(&t).await;

    let tampered = format!("{}x", &state);
    let res = callback(&t, &tampered, Some(&cookie), "c").await;
    assert_eq!(redirect_error(&res).as_deref(), Some("invalid_state"));

    let res = callback(&t, "", Some(&cookie), "c").await;
    assert_eq!(redirect_error(&res).as_deref(), Some("invalid_state"));

    let res = callback(&t, &state, None, "c").await;
    assert_eq!(
        redirect_error(&res).as_deref(),
        Some("invalid_state"),
        "no cookie: another browser"
    );

    let (other_state, _) = start_login(&t).await;
    let res = callback(&t, &other_state, Some(&cookie), "c").await;
    assert_eq!(
        redirect_error(&res).as_deref(),
        Some("invalid_state"),
        "cookie of another login"
    );
    assert_eq!(real_sessions(&t).await, 0);

    // An expired state: signed correctly, but its time has passed.
    let key = t.app.secrets.token_key().await.unwrap();
    let old = backend_core::auth::oauth_state::issue(&key, backend_core::clock::now_epoch() - 601);
    let res = callback(
        &t,
        &old.state,
        Some(&format!("gwa_oauth_state={}", old.nonce)),
        "c",
    )
    .await;
    assert_eq!(redirect_error(&res).as_deref(), Some("state_expired"));
    assert_eq!(real_sessions(&t).await, 0);

    // The genuine one works once; replaying it is refused.
    let res = callback(&t, &state, Some(&cookie), "c").await;
    assert_eq!(redirect_error(&res), None);
    assert_eq!(real_sessions(&t).await, 1);
    let res = callback(&t, &state, Some(&cookie), "c").await;
    assert_eq!(redirect_error(&res).as_deref(), Some("invalid_state"));
    assert_eq!(real_sessions(&t).await, 1);
}

#[tokio::test]
async fn token_exchange_refused_or_down_redirects_with_an_error_code_and_no_session() {
    let (server, t) = highlevel_world().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(body_string_contains("code=bad"))
        .respond_with(ResponseTemplate::new(400).set_body_json(serde_json::json!({
            "error": "invalid_grant", "error_description": "Invalid grant: authorization code is invalid"
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(body_string_contains("code=flaky"))
        .respond_with(ResponseTemplate::new(503).set_body_string("upstream stack trace here"))
        .expect(3)
        .mount(&server)
        .await;

    let (state, cookie) = start_login(&t).await;
    let res = callback(&t, &state, Some(&cookie), "bad").await;
    assert_eq!(redirect_error(&res).as_deref(), Some("exchange_failed"));
    assert!(!res.header("location").unwrap().contains("invalid_grant"));

    let (state, cookie) = start_login(&t).await;
    let res = callback(&t, &state, Some(&cookie), "flaky").await;
    assert_eq!(
        redirect_error(&res).as_deref(),
        Some("upstream_unavailable")
    );
    assert!(!res.header("location").unwrap().contains("stack"));
    assert_eq!(real_sessions(&t).await, 0);
    assert!(scan_all(&t.aws, &t.tables().accounts).await.is_empty());
}

async fn expire_access_token(t: &TestApp) {
    t.aws
        .dynamodb()
        .update_item()
        .table_name(&t.tables().accounts)
        .key(
            "locationId",
            aws_sdk_dynamodb::types::AttributeValue::S(LOCATION.into()),
        )
        .update_expression("SET tokenExpiresAt = :past")
        .expression_attribute_values(
            ":past",
            aws_sdk_dynamodb::types::AttributeValue::N("1000".into()),
        )
        .send()
        .await
        .unwrap();
}

fn mock_refresh(old_refresh: &str, new_access: &str, new_refresh: &str, delay_ms: u64) -> Mock {
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(body_string_contains("grant_type=refresh_token"))
        .and(body_string_contains(format!("refresh_token={old_refresh}")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(token_body(new_access, new_refresh))
                .set_delay(Duration::from_millis(delay_ms)),
        )
}

#[tokio::test]
async fn an_expired_access_token_is_refreshed_once_and_the_call_made_with_the_new_one() {
    let (server, t) = highlevel_world().await;
    let cookie = t.connected_session(LOCATION).await;
    expire_access_token(&t).await;
    mock_refresh(&format!("rt-{LOCATION}"), "access-NEW", "refresh-NEW", 0)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/workflows/"))
        .and(header("authorization", "Bearer access-NEW"))
        .respond_with(ResponseTemplate::new(200).set_body_json(workflows_body()))
        .expect(1)
        .mount(&server)
        .await;
    let res = analyze_fn(&t, request("GET", "/api/workflows").cookie(&cookie).build()).await;
    assert_eq!(res.status, 200, "{}", res.json);

    // The new refresh token was stored (encrypted) for the next refresh.
    let account = t
        .app
        .accounts()
        .get(&backend_core::auth::LocationId::parse(LOCATION).unwrap())
        .await
        .unwrap()
        .unwrap();
    let key = t.app.secrets.token_key().await.unwrap();
    let location = backend_core::auth::LocationId::parse(LOCATION).unwrap();
    let refresh = backend_core::auth::crypto::decrypt(
        &key,
        &location,
        account.refresh_token.as_deref().unwrap(),
    )
    .unwrap();
    assert_eq!(refresh, "refresh-NEW");
    assert_eq!(account.token_version, 2);
}

#[tokio::test]
async fn a_401_from_highlevel_refreshes_and_retries_once() {
    let (server, t) = highlevel_world().await;
    let cookie = t.connected_session(LOCATION).await;
    Mock::given(method("GET"))
        .and(path("/workflows/"))
        .and(header(
            "authorization",
            format!("Bearer at-{LOCATION}").as_str(),
        ))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(serde_json::json!({"message": "Invalid JWT"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    mock_refresh(&format!("rt-{LOCATION}"), "access-R", "refresh-R", 0)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/workflows/"))
        .and(header("authorization", "Bearer access-R"))
        .respond_with(ResponseTemplate::new(200).set_body_json(workflows_body()))
        .expect(1)
        .mount(&server)
        .await;
    let res = analyze_fn(&t, request("GET", "/api/workflows").cookie(&cookie).build()).await;
    assert_eq!(res.status, 200, "{}", res.json);
}

#[tokio::test]
async fn two_concurrent_refreshes_spend_the_refresh_token_once() {
    let (server, t) = highlevel_world().await;
    let cookie = t.connected_session(LOCATION).await;
    mock_refresh(&format!("rt-{LOCATION}"), "access-C", "refresh-C", 400)
        .expect(1)
        .mount(&server)
        .await;
    let t = Arc::new(t);
    let send = |t: Arc<TestApp>, cookie: String| async move {
        auth(
            &t,
            request("POST", "/auth/refresh")
                .cookie(&cookie)
                .header("origin", FRONTEND)
                .build(),
        )
        .await
    };
    let (a, b) = tokio::join!(
        send(t.clone(), cookie.clone()),
        send(t.clone(), cookie.clone())
    );
    assert_eq!((a.status, b.status), (200, 200), "{} {}", a.json, b.json);
}

#[tokio::test]
async fn rate_limited_highlevel_call_honours_retry_after() {
    let (server, t) = highlevel_world().await;
    let cookie = t.connected_session(LOCATION).await;
    Mock::given(method("GET"))
        .and(path("/workflows/"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/workflows/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(workflows_body()))
        .expect(1)
        .mount(&server)
        .await;
    let res = analyze_fn(&t, request("GET", "/api/workflows").cookie(&cookie).build()).await;
    assert_eq!(res.status, 200, "{}", res.json);
    let requests = server.received_requests().await.unwrap_or_default();
    assert_eq!(requests.len(), 2);
}

#[tokio::test]
async fn highlevel_down_answers_upstream_unavailable() {
    let (server, t) = highlevel_world().await;
    let cookie = t.connected_session(LOCATION).await;
    Mock::given(method("GET"))
        .and(path("/workflows/"))
        .respond_with(ResponseTemplate::new(502))
        .expect(3)
        .mount(&server)
        .await;
    let res = analyze_fn(&t, request("GET", "/api/workflows").cookie(&cookie).build()).await;
    res.assert_envelope();
    assert_eq!(
        (res.status, res.error_code()),
        (502, "UPSTREAM_UNAVAILABLE")
    );
    assert!(res.header("retry-after").is_some());
}

#[tokio::test]
async fn the_stored_account_holds_no_plaintext_token() {
    let (server, t) = highlevel_world().await;
    mock_token_exchange(&server, "plain-access-SECRET1", "plain-refresh-SECRET2").await;
    let (state, cookie) = start_login(&t).await;
    let res = callback(&t, &state, Some(&cookie), "code-SECRET3").await;
    assert_eq!(redirect_error(&res), None);
    let items = scan_all(&t.aws, &t.tables().accounts).await;
    assert_eq!(items.len(), 1);
    let dump = format!("{:?}", items[0]);
    assert!(!dump.contains("plain-access-SECRET1") && !dump.contains("plain-refresh-SECRET2"));
    assert_eq!(items[0]["companyId"].as_s().unwrap(), "CompanyQ1");
    let sessions = format!("{:?}", scan_all(&t.aws, &t.tables().sessions).await);
    let session_value = set_cookies(&res)
        .into_iter()
        .find(|c| c.starts_with("__Host-gwa_session="))
        .unwrap();
    let token = cookie_pair(&session_value)
        .trim_start_matches("__Host-gwa_session=")
        .to_owned();
    assert!(
        !sessions.contains(&token),
        "only the hash of the session token is stored"
    );

    // and no log line carries a token, the code, the cookie or the client secret
    let logs = captured_logs();
    for secret in [
        "plain-access-SECRET1",
        "plain-refresh-SECRET2",
        "code-SECRET3",
        &token,
        TEST_GHL_CLIENT_SECRET,
    ] {
        assert!(!logs.contains(secret), "log leaked {secret}");
    }
}

#[tokio::test]
async fn deleted_or_expired_sessions_answer_401() {
    let (_server, t) = highlevel_world().await;
    let cookie = t.connected_session(LOCATION).await;
    let res = analyze_fn(
        &t,
        request("GET", "/api/workflows")
            .cookie("__Host-gwa_session=short")
            .build(),
    )
    .await;
    assert_eq!(res.status, 401);

    // expire every session item (TTL deletes late; the read must check expiry itself)
    for item in scan_all(&t.aws, &t.tables().sessions).await {
        t.aws
            .dynamodb()
            .update_item()
            .table_name(&t.tables().sessions)
            .key("tokenHash", item["tokenHash"].clone())
            .update_expression("SET expiresAt = :past")
            .expression_attribute_values(
                ":past",
                aws_sdk_dynamodb::types::AttributeValue::N("1000".into()),
            )
            .send()
            .await
            .unwrap();
    }
    let res = analyze_fn(&t, request("GET", "/api/workflows").cookie(&cookie).build()).await;
    res.assert_envelope();
    assert_eq!((res.status, res.error_code()), (401, "UNAUTHENTICATED"));
}

#[tokio::test]
async fn login_is_rate_limited_per_ip() {
    let (_server, t) = highlevel_world().await;
    for _ in 0..5 {
        let res = auth(
            &t,
            request("GET", "/auth/login")
                .source_ip("198.51.100.9")
                .build(),
        )
        .await;
        assert_eq!(res.status, 302);
    }
    let res = auth(
        &t,
        request("GET", "/auth/login")
            .source_ip("198.51.100.9")
            .build(),
    )
    .await;
    res.assert_envelope();
    assert_eq!((res.status, res.error_code()), (429, "RATE_LIMITED"));
    assert!(res.header("retry-after").unwrap().parse::<u64>().unwrap() >= 1);
    let other = auth(
        &t,
        request("GET", "/auth/login")
            .source_ip("198.51.100.10")
            .build(),
    )
    .await;
    assert_eq!(other.status, 302, "another IP is not limited");
}

#[tokio::test]
async fn status_reports_the_plan_every_other_route_applies_not_the_stored_one() {
    let t = TestApp::new().await;
    let cookie = t.connected_session("LocEndedPro1").await;
    // Stored as Pro by the last webhook, but the cancelled subscription ended an hour ago: every
    // route treats the account as Free from then on, the status included.
    let ended = backend_core::clock::now_epoch() - 3600;
    t.aws
        .dynamodb()
        .update_item()
        .table_name(&t.tables().accounts)
        .key(
            "locationId",
            aws_sdk_dynamodb::types::AttributeValue::S("LocEndedPro1".into()),
        )
        .update_expression(
            "SET #p = :pro, subscriptionStatus = :canceled, subscriptionEndsAt = :ended",
        )
        .expression_attribute_names("#p", "plan")
        .expression_attribute_values(
            ":pro",
            aws_sdk_dynamodb::types::AttributeValue::S("pro".into()),
        )
        .expression_attribute_values(
            ":canceled",
            aws_sdk_dynamodb::types::AttributeValue::S("canceled".into()),
        )
        .expression_attribute_values(
            ":ended",
            aws_sdk_dynamodb::types::AttributeValue::N(ended.to_string()),
        )
        .send()
        .await
        .expect("end the subscription");

    let res = auth(&t, request("GET", "/auth/status").cookie(&cookie).build()).await;
    assert_eq!(res.status, 200, "{}", res.json);
    assert_eq!(res.json["data"]["plan"], "free");
    let res = t
        .call(
            &checkout::routes(),
            request("GET", "/api/subscription/status")
                .cookie(&cookie)
                .build(),
        )
        .await;
    assert_eq!(res.json["data"]["plan"], "free", "{}", res.json);
}

#[tokio::test]
async fn a_request_carrying_the_session_cookie_twice_is_refused() {
    let (_server, t) = highlevel_world().await;
    let cookie = t.connected_session(LOCATION).await;
    let other = t.connected_session("LocPlanted1").await;
    // Alone, each cookie opens its session.
    let alone = auth(&t, request("GET", "/auth/status").cookie(&cookie).build()).await;
    assert_eq!(alone.json["data"]["authenticated"], true);
    // Twice (a planted cookie beside the real one, in one header or two), neither is used.
    for twice in [
        request("GET", "/api/workflows")
            .cookie(&format!("{other}; {cookie}"))
            .build(),
        request("GET", "/api/workflows")
            .cookie(&cookie)
            .cookie(&other)
            .build(),
    ] {
        let res = analyze_fn(&t, twice).await;
        res.assert_envelope();
        assert_eq!((res.status, res.error_code()), (401, "UNAUTHENTICATED"));
    }
}

#[test]
fn the_session_cookie_is_a_host_prefixed_secure_cookie_for_the_whole_site() {
    let token = backend_core::auth::SessionToken::generate();
    for set in [
        token.cookie(60),
        backend_core::auth::SessionToken::clearing_cookie(),
    ] {
        assert!(set.starts_with("__Host-gwa_session="), "{set}");
        let attrs: Vec<&str> = set.split("; ").skip(1).collect();
        assert!(
            attrs.contains(&"Secure") && attrs.contains(&"Path=/"),
            "{set}"
        );
        assert!(!set.to_ascii_lowercase().contains("domain="), "{set}");
    }
}
