//! docs/openapi.yaml against the code and the template: the same routes as template.yaml's
//! HttpApi events (plus the Stripe webhook's function URL, which the file documents as `POST /`
//! on its own server), every error code `ApiError` can produce, each error response under the
//! status its code has, and every `$ref` resolving.

use std::collections::{BTreeMap, BTreeSet};

use backend_core::http::ApiError;
use integration_tests::{repo_root, template, template_routes};
use serde_yaml::Value as Yaml;

const METHODS: &[&str] = &["get", "put", "post", "delete", "patch", "head", "trace"];

/// A set of (METHOD, path) routes.
type Routes = BTreeSet<(String, String)>;

fn spec() -> Yaml {
    let path = repo_root().join("docs/openapi.yaml");
    let text = std::fs::read_to_string(&path).expect("read docs/openapi.yaml");
    serde_yaml::from_str(&text).expect("docs/openapi.yaml is YAML")
}

fn paths(spec: &Yaml) -> Vec<(String, Yaml)> {
    spec["paths"]
        .as_mapping()
        .expect("paths")
        .iter()
        .map(|(path, item)| (path.as_str().expect("path").to_owned(), item.clone()))
        .collect()
}

/// (METHOD, path) of every operation but preflights, split into the HTTP API's (paths without
/// a server of their own) and those served elsewhere (the Stripe function URL).
fn operations(spec: &Yaml) -> (Routes, Routes) {
    let (mut api, mut elsewhere) = (BTreeSet::new(), BTreeSet::new());
    for (path, item) in paths(spec) {
        let own_server = item.get("servers").is_some();
        for method in METHODS {
            if item.get(*method).is_some() {
                let route = (method.to_uppercase(), path.clone());
                if own_server {
                    elsewhere.insert(route);
                } else {
                    api.insert(route);
                }
            }
        }
    }
    (api, elsewhere)
}

#[test]
fn openapi_and_template_declare_the_same_routes() {
    let spec = spec();
    assert_eq!(spec["openapi"].as_str(), Some("3.1.0"));
    let (api, elsewhere) = operations(&spec);
    let declared: Routes = template_routes()
        .into_iter()
        .map(|(method, path, _)| (method, path))
        .collect();
    let missing: Vec<_> = declared.difference(&api).collect();
    let extra: Vec<_> = api.difference(&declared).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "docs/openapi.yaml vs template.yaml HttpApi events: missing from the file {missing:?}, \
         not in the template {extra:?}"
    );

    // The Stripe webhook is the function URL of its own function, not an HttpApi route: the file
    // documents it as `POST /` with the function URL as the path's server.
    let webhook: Routes = stripe_webhook::routes()
        .iter()
        .map(|r| (r.method.to_owned(), r.path.to_owned()))
        .collect();
    assert_eq!(
        elsewhere, webhook,
        "paths with their own server must be exactly the Stripe webhook's function URL routes"
    );
    let resources = template();
    let function = &resources["Resources"]["StripeWebhookFunction"];
    assert!(
        function["Properties"].get("FunctionUrlConfig").is_some(),
        "the Stripe webhook is served by a function URL"
    );
    let item = &spec["paths"]["/"];
    let servers = item["servers"].as_sequence().expect("servers of /");
    assert!(
        servers.iter().any(|s| s["url"]
            .as_str()
            .is_some_and(|u| u.contains(".lambda-url."))),
        "the webhook path names the function URL server"
    );
}

#[test]
fn every_http_api_path_documents_its_preflight() {
    let spec = spec();
    for (path, item) in paths(&spec) {
        if item.get("servers").is_some() {
            continue; // the function URL has no CORS configuration
        }
        let preflight = item
            .get("options")
            .unwrap_or_else(|| panic!("{path} documents no OPTIONS preflight"));
        for status in ["204", "403"] {
            assert!(
                preflight["responses"].get(status).is_some(),
                "OPTIONS {path} lacks {status}"
            );
        }
    }
}

/// One of each variant; the match below stops compiling when a variant is added, so this list
/// (and the file) cannot silently fall behind.
fn every_api_error() -> Vec<ApiError> {
    let all = vec![
        ApiError::validation("x"),
        ApiError::Unauthenticated,
        ApiError::Forbidden("x".into()),
        ApiError::NotFound("x".into()),
        ApiError::MethodNotAllowed {
            method: "PUT".into(),
            allow: "GET".into(),
        },
        ApiError::Conflict("x".into()),
        ApiError::PayloadTooLarge { limit: 1 },
        ApiError::UnsupportedMediaType,
        ApiError::PlanLimitReached {
            message: "x".into(),
            details: serde_json::json!({}),
        },
        ApiError::RateLimited {
            retry_after_secs: 1,
            limit: 1,
        },
        ApiError::UpstreamUnavailable {
            service: "x",
            retry_after_secs: None,
        },
        ApiError::ServiceUnavailable {
            message: "x".into(),
            retry_after_secs: None,
        },
        ApiError::internal("x"),
    ];
    for err in &all {
        match err {
            ApiError::Validation { .. }
            | ApiError::Unauthenticated
            | ApiError::Forbidden(_)
            | ApiError::NotFound(_)
            | ApiError::MethodNotAllowed { .. }
            | ApiError::Conflict(_)
            | ApiError::PayloadTooLarge { .. }
            | ApiError::UnsupportedMediaType
            | ApiError::PlanLimitReached { .. }
            | ApiError::RateLimited { .. }
            | ApiError::UpstreamUnavailable { .. }
            | ApiError::ServiceUnavailable { .. }
            | ApiError::Internal(_) => {}
        }
    }
    all
}

/// The error code a response pins with `const` (inside `allOf`/`anyOf`), if any.
fn pinned_code(schema: &Yaml) -> Option<String> {
    if let Some(code) = schema["properties"]["error"]["properties"]["code"]["const"].as_str() {
        return Some(code.to_owned());
    }
    ["allOf", "anyOf", "oneOf"]
        .iter()
        .filter_map(|k| schema.get(*k).and_then(Yaml::as_sequence))
        .flatten()
        .find_map(pinned_code)
}

#[test]
fn every_error_code_of_the_api_is_documented() {
    let spec = spec();
    let documented: BTreeSet<String> = spec["components"]["schemas"]["ErrorCode"]["enum"]
        .as_sequence()
        .expect("components.schemas.ErrorCode.enum")
        .iter()
        .map(|v| v.as_str().expect("code").to_owned())
        .collect();
    let status_of: BTreeMap<String, String> = every_api_error()
        .iter()
        .map(|e| (e.code().to_owned(), e.status().as_u16().to_string()))
        .collect();
    let produced: BTreeSet<String> = status_of.keys().cloned().collect();
    assert_eq!(
        documented, produced,
        "ErrorCode enum in docs/openapi.yaml vs ApiError::code()"
    );

    // Each code has a reusable response, and operations use it only under the code's status.
    let responses = spec["components"]["responses"]
        .as_mapping()
        .expect("components.responses");
    let mut code_of_response = BTreeMap::new();
    for (name, response) in responses {
        let schema = &response["content"]["application/json"]["schema"];
        if let Some(code) = pinned_code(schema) {
            assert!(
                documented.contains(&code),
                "{name:?} pins unknown code {code}"
            );
            code_of_response.insert(
                format!("#/components/responses/{}", name.as_str().unwrap()),
                code,
            );
        }
    }
    let covered: BTreeSet<&String> = code_of_response.values().collect();
    for code in &produced {
        assert!(covered.contains(code), "no response component for {code}");
    }
    for (path, item) in paths(&spec) {
        for method in METHODS.iter().chain(&["options"]) {
            let Some(op) = item.get(*method) else {
                continue;
            };
            let answers = op["responses"].as_mapping().expect("responses");
            assert!(!answers.is_empty(), "{method} {path} has no responses");
            for (status, response) in answers {
                let status = status.as_str().expect("status keys are strings");
                let Some(reference) = response["$ref"].as_str() else {
                    continue;
                };
                if let Some(code) = code_of_response.get(reference) {
                    assert_eq!(
                        status, status_of[code],
                        "{method} {path}: {reference} ({code}) under status {status}"
                    );
                }
            }
        }
    }
}

/// Resolves a local JSON pointer (`#/components/...`).
fn resolve<'a>(root: &'a Yaml, pointer: &str) -> Option<&'a Yaml> {
    let mut node = root;
    for part in pointer.strip_prefix("#/")?.split('/') {
        let key = part.replace("~1", "/").replace("~0", "~");
        node = node.get(key.as_str())?;
    }
    Some(node)
}

fn refs<'a>(node: &'a Yaml, found: &mut Vec<&'a str>) {
    match node {
        Yaml::Mapping(map) => {
            for (key, value) in map {
                if key.as_str() == Some("$ref") {
                    found.push(value.as_str().expect("$ref is a string"));
                } else {
                    refs(value, found);
                }
            }
        }
        Yaml::Sequence(items) => items.iter().for_each(|v| refs(v, found)),
        _ => {}
    }
}

#[test]
fn the_document_is_self_consistent() {
    let spec = spec();
    let mut found = Vec::new();
    refs(&spec, &mut found);
    assert!(
        found.len() > 100,
        "expected many $refs, found {}",
        found.len()
    );
    for reference in &found {
        assert!(
            resolve(&spec, reference).is_some(),
            "$ref {reference} does not resolve"
        );
    }

    let mut ids = BTreeSet::new();
    let cookie = |op: &Yaml| {
        op["security"]
            .as_sequence()
            .is_some_and(|s| s.iter().any(|r| r.get("cookieAuth").is_some()))
    };
    for (path, item) in paths(&spec) {
        for method in METHODS {
            let Some(op) = item.get(*method) else {
                continue;
            };
            let id = op["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{method} {path} has no operationId"));
            assert!(ids.insert(id.to_owned()), "operationId {id} is used twice");
            // Every operation says how it authenticates, and cookie routes can answer 401.
            assert!(
                op.get("security").is_some(),
                "{method} {path} has no security"
            );
            let only_cookie = cookie(op)
                && op["security"]
                    .as_sequence()
                    .is_some_and(|s| s.iter().all(|r| r.get("cookieAuth").is_some()));
            if only_cookie {
                assert!(
                    op["responses"].get("401").is_some(),
                    "{method} {path} needs a session but documents no 401"
                );
            }
            // A state-changing request carrying a cookie without the allowed Origin gets 403.
            if matches!(*method, "post" | "delete" | "put" | "patch") {
                assert!(
                    op["responses"].get("403").is_some(),
                    "{method} {path} documents no 403 (Origin check)"
                );
            }
            // Dev-only routes are tagged so, and only they live under /test/.
            let dev_only = op["tags"]
                .as_sequence()
                .is_some_and(|t| t.iter().any(|t| t.as_str() == Some("dev-only")));
            assert_eq!(
                dev_only,
                path.starts_with("/test/"),
                "{method} {path} dev-only tag"
            );
        }
    }
    let scheme = &spec["components"]["securitySchemes"]["cookieAuth"];
    assert_eq!(scheme["type"].as_str(), Some("apiKey"));
    assert_eq!(scheme["in"].as_str(), Some("cookie"));
    assert_eq!(
        scheme["name"].as_str(),
        Some(backend_core::auth::SESSION_COOKIE)
    );
}

#[test]
fn rate_limits_and_bodies_are_documented_as_the_code_applies_them() {
    let spec = spec();
    for route in integration_tests::function_routes().values().flatten() {
        let op = &spec["paths"][route.path][route.method.to_lowercase().as_str()];
        assert!(
            op.is_mapping(),
            "{} {} is not in docs/openapi.yaml",
            route.method,
            route.path
        );
        // The per-IP limit runs before the handler on throttled routes, never on the others; the
        // HighLevel webhook answers 429 to ask for a retry (the only status HighLevel retries).
        assert_eq!(
            op["responses"].get("429").is_some(),
            route.throttled || route.path == "/webhooks/ghl",
            "{} {}: 429 documented iff the route is throttled",
            route.method,
            route.path
        );
        // Whatever reads a body can refuse it as malformed (400) or too large (413).
        if op.get("requestBody").is_some() {
            for status in ["400", "413"] {
                assert!(
                    op["responses"].get(status).is_some(),
                    "{} {} reads a body but documents no {status}",
                    route.method,
                    route.path
                );
            }
        }
    }
}
