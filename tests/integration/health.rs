use backend_core::secrets::Purpose;
use integration_tests::{event, TestApp};

#[tokio::test]
async fn detailed_health_is_200_when_every_dependency_is_up() {
    let t = TestApp::new().await;
    let res = t
        .call(&health::routes(), event("health-detailed.json"))
        .await;
    res.assert_envelope();
    assert_eq!(res.status, 200, "{}", res.json);
    let checks = res.json["data"]["checks"].as_array().expect("checks");
    assert_eq!(checks.len(), 6);
    assert!(checks.iter().all(|c| c["status"] == "ok"), "{checks:?}");
    assert!(res.json["data"]["uptimeSeconds"].as_f64().is_some());
}

#[tokio::test]
async fn detailed_health_tells_anonymous_callers_no_stage_version_or_memory() {
    let t = TestApp::new().await;
    let res = t
        .call(&health::routes(), event("health-detailed.json"))
        .await;
    assert_eq!(res.status, 200, "{}", res.json);
    for hidden in ["stage", "version", "memory"] {
        assert!(
            res.json["data"].get(hidden).is_none(),
            "{hidden}: {}",
            res.json
        );
    }
}

#[tokio::test]
async fn detailed_health_is_under_the_per_ip_rate_limit_and_probes_are_not() {
    let t = TestApp::with_env(&[("RATE_LIMIT_DEFAULT", Some("2/60"))]).await;
    let detailed = || {
        integration_tests::request("GET", "/health/detailed")
            .source_ip("192.0.2.44")
            .build()
    };
    for _ in 0..2 {
        assert_eq!(t.call(&health::routes(), detailed()).await.status, 200);
    }
    let res = t.call(&health::routes(), detailed()).await;
    res.assert_envelope();
    assert_eq!((res.status, res.error_code()), (429, "RATE_LIMITED"));
    assert!(res.header("retry-after").is_some());
    for probe in ["/health", "/ready", "/live"] {
        let req = integration_tests::request("GET", probe)
            .source_ip("192.0.2.44")
            .build();
        assert_eq!(t.call(&health::routes(), req).await.status, 200, "{probe}");
    }
}

#[tokio::test]
async fn detailed_health_is_503_naming_the_missing_table() {
    let t = TestApp::new().await;
    t.delete_table(&t.tables().results).await;
    let res = t
        .call(&health::routes(), event("health-detailed.json"))
        .await;
    res.assert_envelope();
    assert_eq!(res.status, 503);
    assert_eq!(res.error_code(), "SERVICE_UNAVAILABLE");
    let message = res.json["error"]["message"].as_str().unwrap_or("");
    assert!(message.contains("resultsTable"), "{message}");
    assert!(!message.contains("sessionsTable"), "{message}");
    assert!(
        !res.json.to_string().contains(&t.prefix),
        "physical table names must not leak"
    );
    assert!(
        !res.json.to_string().contains("127.0.0.1"),
        "hosts must not leak"
    );
}

#[tokio::test]
async fn ready_fails_when_the_secret_is_missing_and_live_does_not() {
    let t = TestApp::new().await;
    let missing = format!("{}/never-created", t.prefix);
    let t = t.reconfigured(|c| c.secrets.stripe_api_key = Some(missing));
    let ready = t.call(&health::routes(), event("ready.json")).await;
    assert_eq!(ready.status, 503, "{}", ready.json);
    assert!(ready.json["error"]["message"]
        .as_str()
        .unwrap_or("")
        .contains("secret"));
    let live = t.call(&health::routes(), event("live.json")).await;
    assert_eq!(live.status, 200);
}

#[tokio::test]
async fn health_reports_version_and_stage() {
    let t = TestApp::new().await;
    let res = t.call(&health::routes(), event("health.json")).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json["data"]["stage"], "dev");
    assert_eq!(res.json["data"]["version"], env!("CARGO_PKG_VERSION"));
}

#[tokio::test]
async fn the_health_checks_prove_the_secrets_are_reachable_without_reading_their_values() {
    let t = TestApp::new().await;
    // Values the functions could not use: the health checks never read them, so they still
    // answer 200 (only a missing or unreachable secret is a failed check).
    for purpose in Purpose::ALL {
        t.aws
            .secrets()
            .put_secret_value()
            .secret_id(&t.vars[purpose.id_var()])
            .secret_string("not the secret's JSON")
            .send()
            .await
            .unwrap();
    }
    let t = t.reconfigured(|_| {}); // a fresh App: nothing cached
    let res = t
        .call(&health::routes(), event("health-detailed.json"))
        .await;
    assert_eq!(res.status, 200, "{}", res.json);
    // One secret gone: the check fails and names no value.
    t.aws
        .secrets()
        .delete_secret()
        .secret_id(&t.vars[Purpose::StripeWebhook.id_var()])
        .force_delete_without_recovery(true)
        .send()
        .await
        .unwrap();
    let res = t
        .call(&health::routes(), event("health-detailed.json"))
        .await;
    assert_eq!(res.status, 503, "{}", res.json);
    assert!(
        !res.json.to_string().contains("not the secret"),
        "{}",
        res.json
    );
}
