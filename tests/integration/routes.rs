use std::collections::{BTreeMap, BTreeSet};

use analyzer_core::http::Route;
use integration_tests::{router_routes, template_routes};

/// Every function's route table, keyed by binary name.
fn code_routes() -> BTreeMap<&'static str, &'static [Route]> {
    BTreeMap::from([
        ("oauth-callback", oauth_callback::ROUTES),
        ("analyze", analyze::ROUTES),
        ("history", history::ROUTES),
        ("checkout", checkout::ROUTES),
        ("stripe-webhook", stripe_webhook::ROUTES),
        ("health", health::ROUTES),
    ])
}

#[test]
fn router_and_template_declare_the_same_routes() {
    let template: BTreeSet<(String, String)> = template_routes()
        .into_iter()
        .map(|(_, path, function)| (path, function))
        .collect();
    let router: BTreeSet<(String, String)> = router_routes().into_iter().collect();
    assert_eq!(
        template, router,
        "template.yaml HttpApi events vs Cargo.toml router"
    );
}

#[test]
fn template_and_code_declare_the_same_routes() {
    let template = template_routes();
    let code: BTreeSet<(String, String, String)> = code_routes()
        .into_iter()
        .filter(|(function, _)| *function != "stripe-webhook") // function URL, not API Gateway
        .flat_map(|(function, routes)| {
            routes
                .iter()
                .map(move |r| (r.method.to_owned(), r.path.to_owned(), function.to_owned()))
        })
        .collect();
    assert_eq!(
        template, code,
        "template.yaml HttpApi events vs the functions' ROUTES"
    );
}
