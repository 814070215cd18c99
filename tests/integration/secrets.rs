//! Each function reads only the secrets of its purpose (security review, "every function reads the
//! whole secret"): its IAM policy may read exactly the secrets whose id variables it is given, and
//! a function given fewer ids still serves its routes.

use std::collections::{BTreeMap, BTreeSet};

use backend_core::secrets::Purpose;
use integration_tests::TestApp;
use serde_yaml::Value as Yaml;

/// The secrets (by logical id) each function may read, deliberately written out: widening a
/// function's access must change this table.
const EXPECTED: &[(&str, &[&str])] = &[
    (
        "OAuthCallbackFunction",
        &["AppSecret", "HighLevelClientSecret"],
    ),
    ("AnalyzeFunction", &["AppSecret", "HighLevelClientSecret"]),
    ("DevSamplesFunction", &["AppSecret"]),
    ("HistoryFunction", &["AppSecret"]),
    ("CheckoutFunction", &["StripeApiKeySecret"]),
    (
        "StripeWebhookFunction",
        &["StripeApiKeySecret", "StripeWebhookSecret"],
    ),
    ("GhlWebhookFunction", &[]),
    ("ErasureFunction", &[]),
    ("HealthFunction", &[]),
];

/// The logical id a `!Ref X` names (serde_yaml keeps the tag).
fn reference(value: &Yaml) -> Option<String> {
    match value {
        Yaml::Tagged(tagged) if tagged.tag == "!Ref" => tagged.value.as_str().map(str::to_owned),
        _ => None,
    }
}

fn functions() -> BTreeMap<String, Yaml> {
    let template = integration_tests::template();
    template["Resources"]
        .as_mapping()
        .expect("Resources")
        .iter()
        .filter(|(_, r)| r["Type"].as_str() == Some("AWS::Serverless::Function"))
        .map(|(k, v)| (k.as_str().unwrap().to_owned(), v.clone()))
        .collect()
}

/// Secrets a function's policies let it read (GetSecretValue), by logical id.
fn readable(function: &Yaml) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for policy in function["Properties"]["Policies"]
        .as_sequence()
        .into_iter()
        .flatten()
    {
        if let Some(arn) = policy
            .get("AWSSecretsManagerGetSecretValuePolicy")
            .map(|p| &p["SecretArn"])
        {
            out.insert(reference(arn).expect("SecretArn is a !Ref"));
        }
        let text = format!("{policy:?}");
        assert!(
            !text.contains("GetSecretValue") || policy.get("Statement").is_none(),
            "secret reads go through AWSSecretsManagerGetSecretValuePolicy: {text}"
        );
    }
    out
}

/// Secrets a function is given an id variable for, by logical id.
fn given(function: &Yaml) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for purpose in Purpose::ALL {
        if let Some(id) =
            reference(&function["Properties"]["Environment"]["Variables"][purpose.id_var()])
        {
            out.insert(purpose.id_var().to_owned(), id);
        }
    }
    out
}

#[test]
fn each_function_may_read_exactly_the_secrets_it_is_given() {
    let template = integration_tests::template();
    let globals = format!("{:?}", template["Globals"]["Function"]["Environment"]);
    for purpose in Purpose::ALL {
        assert!(
            !globals.contains(purpose.id_var()),
            "{} must not be global: every function would get it",
            purpose.id_var()
        );
    }
    assert!(
        !globals.contains("SECRET_ID"),
        "the all-in-one SECRET_ID is gone"
    );
    let functions = functions();
    assert_eq!(
        functions.keys().cloned().collect::<BTreeSet<_>>(),
        EXPECTED.iter().map(|(f, _)| f.to_string()).collect(),
        "every function is in the table of expected secrets"
    );
    for (name, expected) in EXPECTED {
        let function = &functions[*name];
        let readable = readable(function);
        let expected: BTreeSet<String> = expected.iter().map(|s| s.to_string()).collect();
        assert_eq!(readable, expected, "{name}: secrets its policy may read");
        if *name == "HealthFunction" {
            continue; // given every id to describe them, reads none (below)
        }
        let ids: BTreeSet<String> = given(function).into_values().collect();
        assert_eq!(ids, expected, "{name}: secret ids in its environment");
    }
    // The health function describes every secret and reads none.
    let health = &functions["HealthFunction"];
    let policies = format!("{:?}", health["Properties"]["Policies"]);
    assert!(!policies.contains("GetSecretValue"), "{policies}");
    assert!(
        policies.contains("secretsmanager:DescribeSecret"),
        "{policies}"
    );
    assert_eq!(given(health).len(), Purpose::ALL.len());
    for secret in [
        "AppSecret",
        "HighLevelClientSecret",
        "StripeApiKeySecret",
        "StripeWebhookSecret",
    ] {
        assert!(
            policies.contains(secret),
            "health cannot describe {secret}: {policies}"
        );
    }
}

/// An app given only `purposes` (the others' ids removed, so reaching for them fails).
async fn app_with_only(purposes: &[Purpose]) -> TestApp {
    let removed: Vec<(&str, Option<&str>)> = Purpose::ALL
        .iter()
        .filter(|p| !purposes.contains(p))
        .map(|p| (p.id_var(), None))
        .collect();
    TestApp::with_env(&removed).await
}

#[tokio::test]
async fn a_function_given_only_its_own_secrets_serves_its_routes() {
    // Login (oauth-callback) needs the token key for its signed state, nothing of Stripe.
    let t = app_with_only(&[Purpose::HighLevelClient, Purpose::TokenKey]).await;
    let res = t
        .call(
            &oauth_callback::routes(),
            integration_tests::request("GET", "/auth/login").build(),
        )
        .await;
    assert_eq!(res.status, 302, "{}", res.json);
    // The Stripe webhook verifies with its own secret, and a function without it cannot.
    let t = app_with_only(&[Purpose::StripeApiKey, Purpose::StripeWebhook]).await;
    assert!(t.app.secrets.stripe_webhook().await.is_ok());
    assert!(matches!(
        t.app.secrets.token_key().await,
        Err(backend_core::secrets::SecretsError::NotGranted(
            "TOKEN_KEY_SECRET_ID"
        ))
    ));
    // History (list cursors) with the token key alone.
    let t = app_with_only(&[Purpose::TokenKey]).await;
    let cookie = t.connected_session("loc_only_token_key_1").await;
    let res = t
        .call(
            &history::routes(),
            integration_tests::request("GET", "/api/history")
                .header("cookie", &cookie)
                .build(),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.json);
}

#[tokio::test]
async fn a_route_reaching_for_a_secret_not_given_is_a_500_that_names_the_variable_in_the_log_only()
{
    let t = app_with_only(&[]).await;
    let res = t
        .call(
            &oauth_callback::routes(),
            integration_tests::request("GET", "/auth/login").build(),
        )
        .await;
    assert_eq!(res.status, 500, "{}", res.json);
    let text = res.json.to_string();
    assert!(
        !text.contains("TOKEN_KEY_SECRET_ID"),
        "internal detail leaked: {text}"
    );
}
