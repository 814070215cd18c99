//! Every sample event in events/ parses as the runtime would parse it and round-trips through
//! the handler its path routes to, so the samples can never rot.

use integration_tests::{repo_root, router_routes, TestApp};

/// The function a sample event reaches: by the router's path, or the webhook's function URL.
fn function_for(event: &serde_json::Value) -> String {
    let path = event["rawPath"].as_str().unwrap_or("");
    let domain = event["requestContext"]["domainName"].as_str().unwrap_or("");
    if domain.contains(".lambda-url.") {
        return "stripe-webhook".into();
    }
    let router = router_routes();
    router
        .iter()
        .find(|(template, _)| backend_core::http::routes::match_path(template, path).is_some())
        .map(|(_, function)| function.clone())
        .unwrap_or_else(|| panic!("no route for sample path {path}"))
}

#[tokio::test]
async fn every_sample_event_parses_and_round_trips_through_its_handler() {
    let t = TestApp::new().await;
    let mut seen = 0;
    let mut paths: Vec<_> = std::fs::read_dir(repo_root().join("events"))
        .expect("events/")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    for path in paths {
        let text = std::fs::read_to_string(&path).expect("read event");
        let json: serde_json::Value = serde_json::from_str(&text).expect("event is JSON");
        if json.get("requestContext").is_none() {
            continue; // not a Lambda HTTP event (e.g. a Stripe payload used by a script)
        }
        let req = lambda_http::request::from_str(&text).unwrap_or_else(|e| {
            panic!("{} does not parse as a Lambda request: {e}", path.display())
        });
        let function = function_for(&json);
        let res = t.call_function(&function, req).await;
        res.assert_envelope();
        assert!(
            !matches!(res.status, 404 | 405 | 500),
            "{} answered {} {}",
            path.display(),
            res.status,
            res.json
        );
        seen += 1;
    }
    assert!(seen >= 4, "expected the health events at least, saw {seen}");
}
