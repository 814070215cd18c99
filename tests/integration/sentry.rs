//! Optional Sentry: an internal error (500) is reported once, before the answer, with no personal
//! data; client errors are not reported; a malformed DSN is a configuration error.

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use integration_tests::{request, TestApp};
use wiremock::matchers::{header_regex, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn an_internal_error_is_reported_to_sentry_without_personal_data() {
    let sentry = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/42/store/"))
        .and(header_regex("x-sentry-auth", "sentry_key=testkey"))
        .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"id":"x"}"#))
        .expect(1)
        .mount(&sentry)
        .await;
    let dsn = format!("http://testkey@{}/42", sentry.address());
    let t = TestApp::with_env(&[("SENTRY_DSN", Some(&dsn))]).await;
    let cookie = t.connected_session("LocSentry1").await;

    // A stored analysis whose result cannot be read: the only way to it is an internal error.
    let id = "1795471200000-0a0b0c0d";
    t.aws
        .dynamodb()
        .put_item()
        .table_name(&t.tables().results)
        .item("locationId", AttributeValue::S("LocSentry1".into()))
        .item("analysisId", AttributeValue::S(id.into()))
        .item(
            "result",
            AttributeValue::B(Blob::new(b"not deflate".to_vec())),
        )
        .send()
        .await
        .unwrap();
    let res = t
        .call(
            &history::routes(),
            request("GET", &format!("/api/analysis/{id}"))
                .cookie(&cookie)
                .build(),
        )
        .await;
    res.assert_envelope();
    assert_eq!((res.status, res.error_code()), (500, "INTERNAL_ERROR"));
    assert!(res.json["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("internal error (request id"));

    // A client error is not reported (expect(1) above fails the test if it were).
    let res = t
        .call(
            &history::routes(),
            request("GET", "/api/analysis/bad-id")
                .cookie(&cookie)
                .build(),
        )
        .await;
    assert_eq!(res.status, 400);

    let received = sentry.received_requests().await.unwrap_or_default();
    assert_eq!(received.len(), 1);
    let event: serde_json::Value = serde_json::from_slice(&received[0].body).unwrap();
    assert_eq!(event["level"], "error");
    assert_eq!(event["tags"]["route"], "GET /api/analysis/{id}");
    let text = event.to_string();
    let token = cookie.trim_start_matches("__Host-gwa_session=");
    assert!(
        !text.contains(token) && !text.contains("gwa_session") && !text.contains("203.0.113.7")
    );
    assert!(event.get("user").is_none() && event.get("request").is_none());
}

#[test]
fn a_malformed_sentry_dsn_is_a_configuration_error() {
    let err = backend_core::config::Config::from_lookup(|k| {
        (k == "SENTRY_DSN").then(|| "https://nokey.example/x".to_owned())
    })
    .unwrap_err();
    assert!(err.to_string().contains("SENTRY_DSN"), "{err}");
}
