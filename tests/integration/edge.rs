//! The HTTP edge every function shares: envelope, headers, CORS, request ids, bad input.

use integration_tests::{request, Answer, TestApp, FRONTEND};
use lambda_http::Request;

async fn health(t: &TestApp, req: Request) -> Answer {
    t.call(&health::routes(), req).await
}

const SECURITY_HEADERS: &[(&str, &str)] = &[
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "no-referrer"),
    ("cache-control", "no-store"),
];

fn assert_security_headers(res: &Answer) {
    for (name, value) in SECURITY_HEADERS {
        assert_eq!(res.header(name), Some(*value), "{name}");
    }
    assert!(res
        .header("strict-transport-security")
        .unwrap_or("")
        .contains("max-age="));
    assert!(res
        .header("content-security-policy")
        .unwrap_or("")
        .contains("default-src 'none'"));
    assert!(res.header("x-request-id").is_some());
}

#[tokio::test]
async fn success_and_error_answers_share_the_envelope_and_headers() {
    let t = TestApp::new().await;
    let ok = health(&t, request("GET", "/health").build()).await;
    ok.assert_envelope();
    assert_security_headers(&ok);
    assert_eq!(
        ok.header("content-type"),
        Some("application/json; charset=utf-8")
    );

    let missing = health(&t, request("GET", "/nope").build()).await;
    missing.assert_envelope();
    assert_security_headers(&missing);
    assert_eq!((missing.status, missing.error_code()), (404, "NOT_FOUND"));
}

#[tokio::test]
async fn wrong_method_answers_405_with_allow() {
    let t = TestApp::new().await;
    let res = health(&t, request("DELETE", "/health").build()).await;
    res.assert_envelope();
    assert_eq!((res.status, res.error_code()), (405, "METHOD_NOT_ALLOWED"));
    assert_eq!(res.header("allow"), Some("GET"));
}

#[tokio::test]
async fn sane_inbound_request_id_is_echoed_and_insane_one_replaced() {
    let t = TestApp::new().await;
    let res = health(
        &t,
        request("GET", "/live")
            .header("x-request-id", "client-abc_123")
            .build(),
    )
    .await;
    assert_eq!(res.header("x-request-id"), Some("client-abc_123"));
    assert_eq!(res.json["meta"]["requestId"], "client-abc_123");

    let res = health(
        &t,
        request("GET", "/live")
            .header("x-request-id", "<script>alert(1)</script>")
            .build(),
    )
    .await;
    let id = res.header("x-request-id").unwrap_or("").to_owned();
    assert!(
        id.starts_with("req-"),
        "falls back to API Gateway's id, got {id}"
    );
    assert_eq!(res.json["meta"]["requestId"], id.as_str());
}

#[tokio::test]
async fn allowed_origin_gets_cors_headers_and_preflight() {
    let t = TestApp::new().await;
    let res = health(
        &t,
        request("GET", "/health").header("origin", FRONTEND).build(),
    )
    .await;
    assert_eq!(res.header("access-control-allow-origin"), Some(FRONTEND));
    assert_eq!(res.header("access-control-allow-credentials"), Some("true"));

    let preflight = health(
        &t,
        request("OPTIONS", "/health/detailed")
            .header("origin", FRONTEND)
            .header("access-control-request-method", "GET")
            .build(),
    )
    .await;
    assert_eq!(preflight.status, 204);
    assert_eq!(
        preflight.header("access-control-allow-origin"),
        Some(FRONTEND)
    );
    assert!(preflight
        .header("access-control-allow-methods")
        .unwrap_or("")
        .contains("GET"));
    assert!(preflight
        .header("access-control-allow-headers")
        .unwrap_or("")
        .contains("content-type"));
}

#[tokio::test]
async fn disallowed_origin_gets_no_cors_headers() {
    let t = TestApp::new().await;
    let res = health(
        &t,
        request("GET", "/health")
            .header("origin", "https://evil.example")
            .build(),
    )
    .await;
    assert_eq!(res.status, 200);
    assert!(res.header("access-control-allow-origin").is_none());

    let preflight = health(
        &t,
        request("OPTIONS", "/health")
            .header("origin", "https://evil.example")
            .build(),
    )
    .await;
    preflight.assert_envelope();
    assert_eq!(preflight.status, 403);
    assert!(preflight.header("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn cookie_authenticated_state_change_from_another_origin_is_forbidden() {
    let t = TestApp::new().await;
    let req = request("POST", "/auth/logout")
        .cookie("session=abc")
        .header("origin", "https://evil.example")
        .build();
    let res = t.call(&oauth_callback::routes(), req).await;
    res.assert_envelope();
    assert_eq!((res.status, res.error_code()), (403, "FORBIDDEN"));

    let req = request("POST", "/auth/logout")
        .cookie("session=abc")
        .build();
    let res = t.call(&oauth_callback::routes(), req).await;
    assert_eq!(res.status, 403, "a missing Origin is refused too");
}

#[tokio::test]
async fn oversized_body_is_413_in_the_envelope() {
    let t = TestApp::new().await;
    let body = "x".repeat(backend_core::http::MAX_BODY_BYTES + 1);
    let req = request("GET", "/health")
        .header("content-type", "application/json")
        .body(&body)
        .build();
    let res = health(&t, req).await;
    res.assert_envelope();
    assert_eq!((res.status, res.error_code()), (413, "PAYLOAD_TOO_LARGE"));
    assert!(res.json["error"]["message"]
        .as_str()
        .unwrap_or("")
        .contains("bytes"));
}

#[tokio::test]
async fn json_bodies_are_checked_for_type_size_depth_and_syntax() {
    use backend_core::http::request::json_body;
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        count: u32,
    }
    let parse = |req: Request| json_body::<Body>(&req, 64);

    let err = parse(
        request("POST", "/x")
            .header("content-type", "text/plain")
            .body("{}")
            .build(),
    )
    .unwrap_err();
    assert_eq!(err.code(), "UNSUPPORTED_MEDIA_TYPE");

    let big = serde_json::json!({ "name": "x".repeat(100), "count": 1 });
    let err = parse(request("POST", "/x").json(&big).build()).unwrap_err();
    assert_eq!(
        (err.code(), err.status().as_u16()),
        ("PAYLOAD_TOO_LARGE", 413)
    );

    let err = parse(
        request("POST", "/x")
            .header("content-type", "application/json")
            .body("{\"name\":")
            .build(),
    )
    .unwrap_err();
    assert_eq!(err.code(), "VALIDATION_ERROR");

    let err = parse(
        request("POST", "/x")
            .json(&serde_json::json!({"name": "a", "count": -1}))
            .build(),
    )
    .unwrap_err();
    assert_eq!(err.details()[0]["path"], "count", "{:?}", err.details());

    let deep = format!("{}{}", "[".repeat(130), "]".repeat(130));
    let err = json_body::<serde_json::Value>(
        &request("POST", "/x")
            .header("content-type", "application/json")
            .body(&deep)
            .build(),
        10_000,
    )
    .unwrap_err();
    assert!(err.to_string().contains("deeper"), "{err}");

    let ok = parse(
        request("POST", "/x")
            .header("content-type", "application/json; charset=utf-8")
            .body(r#"{"name":"a","count":2}"#)
            .build(),
    );
    assert!(ok.is_ok());
}

#[test]
fn configuration_lists_every_problem_and_applies_stage_rules() {
    use backend_core::config::Config;
    let vars = [
        ("STAGE", "prod"),
        ("FRONTEND_URL", "http://localhost:5173"),
        ("GHL_REDIRECT_URI", "https://127.0.0.1/auth/callback"),
    ];
    let err = Config::from_lookup(|k| {
        vars.iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.to_string())
    })
    .unwrap_err();
    let text = err.to_string();
    for needle in [
        "FRONTEND_URL must use https",
        "FRONTEND_URL must not point at localhost",
        "GHL_REDIRECT_URI must not point at localhost",
        "GHL_CLIENT_ID is required",
        "STRIPE_PRICE_ID is required",
        "SESSIONS_TABLE is required",
        "RATE_LIMITS_TABLE is required",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in {text}");
    }
}

#[tokio::test]
async fn general_per_ip_limit_trips_with_headers_and_spares_health() {
    let t = TestApp::with_env(&[("RATE_LIMIT_DEFAULT", Some("3/60"))]).await;
    let status = |ip: &'static str| request("GET", "/auth/status").source_ip(ip).build();
    for remaining in (0..3).rev() {
        let res = t.call(&oauth_callback::routes(), status("192.0.2.1")).await;
        assert_eq!(res.status, 200, "{}", res.json);
        assert_eq!(res.header("ratelimit-limit"), Some("3"));
        assert_eq!(
            res.header("ratelimit-remaining"),
            Some(remaining.to_string().as_str())
        );
    }
    let res = t.call(&oauth_callback::routes(), status("192.0.2.1")).await;
    res.assert_envelope();
    assert_eq!((res.status, res.error_code()), (429, "RATE_LIMITED"));
    assert!(res.header("retry-after").is_some());
    assert_eq!(res.header("ratelimit-remaining"), Some("0"));
    let other = t.call(&oauth_callback::routes(), status("192.0.2.2")).await;
    assert_eq!(other.status, 200, "another IP has its own window");
    for _ in 0..5 {
        let res = health(&t, request("GET", "/live").source_ip("192.0.2.1").build()).await;
        assert_eq!(res.status, 200, "health checks are not throttled");
    }
}

#[test]
fn malformed_rate_limit_settings_are_configuration_errors() {
    use backend_core::config::Config;
    let err =
        Config::from_lookup(|k| (k == "RATE_LIMIT_LOGIN").then(|| "lots".to_owned())).unwrap_err();
    assert!(
        err.to_string()
            .contains("RATE_LIMIT_LOGIN must look like N/SECONDS"),
        "{err}"
    );
}
