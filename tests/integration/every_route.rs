//! Walks every route of template.yaml (and the Stripe function URL) with the least a client can
//! send: each answer carries the envelope (or is a redirect / 204), the security headers and a
//! request id, and none is a 500. State-changing routes are tried with a cookie from another
//! origin too: always 403.

use integration_tests::{request, template_routes, Answer, TestApp, FRONTEND};
use lambda_http::Request;

const SECURITY_HEADERS: &[&str] = &[
    "strict-transport-security",
    "x-content-type-options",
    "x-frame-options",
    "referrer-policy",
    "content-security-policy",
    "cache-control",
    "x-request-id",
];

fn concrete(path: &str) -> String {
    path.replace("{id}", "1795471200000-0a0b0c0d").replace(
        "/api/workflows/1795471200000-0a0b0c0d/",
        "/api/workflows/wf-1/",
    )
}

fn assert_edge(route: &str, res: &Answer) {
    for header in SECURITY_HEADERS {
        assert!(res.header(header).is_some(), "{route}: missing {header}");
    }
    assert_ne!(res.status, 500, "{route}: {}", res.json);
    res.assert_envelope();
}

#[tokio::test]
async fn every_route_answers_with_the_envelope_and_security_headers() {
    let t = TestApp::new().await;
    let cookie = t.connected_session("LocWalker1").await;
    let mut routes: Vec<(String, String, String)> = template_routes().into_iter().collect();
    routes.push(("POST".into(), "/".into(), "stripe-webhook".into()));
    for (method, path, function) in routes {
        let route = format!("{method} {path}");
        let path = concrete(&path);
        let build = |with_cookie: bool| -> Request {
            let mut req = request(&method, &path).header("origin", FRONTEND);
            if with_cookie {
                req = req.cookie(&cookie);
            }
            if matches!(method.as_str(), "POST" | "PUT") {
                req = req.json(&serde_json::json!({}));
            }
            req.build()
        };
        // Anonymous, then with a session: neither may break the edge's promises.
        for with_cookie in [false, true] {
            let res = t.call_function(&function, build(with_cookie)).await;
            assert_edge(&route, &res);
        }
        if matches!(method.as_str(), "POST" | "PUT" | "DELETE") {
            let forged = request(&method, &path)
                .cookie(&cookie)
                .header("origin", "https://evil.example")
                .build();
            let res = t.call_function(&function, forged).await;
            assert_edge(&route, &res);
            assert_eq!(
                res.status, 403,
                "{route}: a cross-site change with the cookie must be refused"
            );
        }
    }
}
