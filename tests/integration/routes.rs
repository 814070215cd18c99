use std::collections::BTreeSet;

use integration_tests::{function_routes, router_routes, template_routes};

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
    let code: BTreeSet<(String, String, String)> = function_routes()
        .into_iter()
        .filter(|(function, _)| *function != "stripe-webhook") // function URL, not API Gateway
        .flat_map(|(function, routes)| {
            routes
                .into_iter()
                .map(move |r| (r.method.to_owned(), r.path.to_owned(), function.to_owned()))
        })
        .collect();
    assert_eq!(
        template, code,
        "template.yaml HttpApi events vs the functions' route tables"
    );
}

/// `dynamodb:*` actions a function's template policy grants on a table (by logical id).
fn granted(function_binary: &str, table: &str) -> Vec<String> {
    let template = integration_tests::template();
    let mut actions = Vec::new();
    for (_, resource) in template["Resources"].as_mapping().expect("Resources") {
        if resource["Metadata"]["BuildProperties"]["Binary"].as_str() != Some(function_binary) {
            continue;
        }
        for policy in resource["Properties"]["Policies"]
            .as_sequence()
            .into_iter()
            .flatten()
        {
            for statement in policy["Statement"].as_sequence().into_iter().flatten() {
                let resources = format!("{:?}", statement["Resource"]);
                if !resources.contains(table) {
                    continue;
                }
                let list = match &statement["Action"] {
                    serde_yaml::Value::String(one) => vec![one.clone()],
                    other => other
                        .as_sequence()
                        .into_iter()
                        .flatten()
                        .filter_map(|a| a.as_str().map(str::to_owned))
                        .collect(),
                };
                actions.extend(list);
            }
        }
    }
    actions
}

#[test]
fn every_throttled_function_may_count_its_rate_limit_windows() {
    for (function, routes) in function_routes() {
        if routes.iter().any(|r| r.throttled) {
            let actions = granted(function, "RateLimitsTable");
            assert!(
                actions.iter().any(|a| a == "dynamodb:UpdateItem"),
                "{function} has throttled routes but no dynamodb:UpdateItem on RateLimitsTable: {actions:?}"
            );
        }
    }
}

#[test]
fn policies_name_actions_not_wildcards() {
    let text =
        std::fs::read_to_string(integration_tests::repo_root().join("template.yaml")).unwrap();
    assert!(
        !text.contains("dynamodb:*"),
        "least privilege: list the actions"
    );
    assert!(
        !text.contains("DynamoDBCrudPolicy"),
        "least privilege: no blanket CRUD policies"
    );
}

#[test]
fn a_deployed_stack_names_its_stage_and_gets_test_routes_only_when_asked() {
    let template = integration_tests::template();
    let stage = &template["Parameters"]["Stage"];
    assert!(
        stage.get("Default").is_none(),
        "Stage must be chosen at deploy time, no default: {stage:?}"
    );
    let switch = &template["Parameters"]["EnableTestRoutes"];
    assert_eq!(switch["Default"].as_str(), Some("false"), "{switch:?}");
    // The condition needs both the dev stage and the switch.
    let condition = format!("{:?}", template["Conditions"]["TestRoutesEnabled"]);
    assert!(
        condition.contains("IsDev") && condition.contains("EnableTestRoutes"),
        "{condition}"
    );
    let mut functions_with_test_routes = 0;
    for (name, resource) in template["Resources"].as_mapping().expect("Resources") {
        let events = format!("{:?}", resource["Properties"]["Events"]);
        if events.contains("/test/") {
            functions_with_test_routes += 1;
            assert_eq!(
                resource["Condition"].as_str(),
                Some("TestRoutesEnabled"),
                "{name:?} serves /test/* routes"
            );
            assert_eq!(
                resource["Properties"]["Environment"]["Variables"]["ENABLE_TEST_ROUTES"].as_str(),
                Some("true"),
                "{name:?}: the code's guard needs the switch too"
            );
        }
    }
    assert_eq!(functions_with_test_routes, 1);
    // Only that function gets the switch; the globals never do.
    let globals = format!("{:?}", template["Globals"]);
    assert!(!globals.contains("ENABLE_TEST_ROUTES"), "{globals}");
    for (env, file) in [("default", "dev"), ("prod", "prod")] {
        let config: toml::Value =
            std::fs::read_to_string(integration_tests::repo_root().join("samconfig.toml"))
                .unwrap()
                .parse()
                .unwrap();
        let overrides = config[env]["deploy"]["parameters"]["parameter_overrides"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(
            overrides.contains(&format!("Stage=\"{file}\"")),
            "samconfig [{env}] names its stage: {overrides}"
        );
        assert!(
            !overrides.contains("EnableTestRoutes=\"true\""),
            "samconfig [{env}] deploys no test routes: {overrides}"
        );
    }
}

#[test]
fn the_public_stripe_webhook_url_has_reserved_concurrency() {
    let template = integration_tests::template();
    let function = &template["Resources"]["StripeWebhookFunction"];
    assert_eq!(
        function["Properties"]["FunctionUrlConfig"]["AuthType"].as_str(),
        Some("NONE")
    );
    let reserved = format!(
        "{:?}",
        function["Properties"]["ReservedConcurrentExecutions"]
    );
    assert!(
        reserved.contains("StripeWebhookReservedConcurrency"),
        "{reserved}"
    );
    let parameter = &template["Parameters"]["StripeWebhookReservedConcurrency"];
    let default = parameter["Default"].as_u64().expect("a default");
    assert!((1..=50).contains(&default), "a sane default: {default}");
    assert!(
        parameter["MinValue"].as_u64().unwrap_or(0) >= 1,
        "0 would stop the webhook"
    );
}

#[test]
fn the_workflow_summary_index_projects_every_attribute_a_history_line_reads() {
    // DynamoDB refuses a Query of a global secondary index that asks for an attribute the index
    // does not project (moto does not), so a history filtered by workflow would fail in AWS only.
    let template = integration_tests::template();
    let table = &template["Resources"]["ResultsTable"]["Properties"];
    let index = table["GlobalSecondaryIndexes"]
        .as_sequence()
        .expect("GlobalSecondaryIndexes")
        .iter()
        .find(|i| i["IndexName"].as_str() == Some("byWorkflowSummary"))
        .expect("byWorkflowSummary");
    let mut projected: BTreeSet<String> = index["Projection"]["NonKeyAttributes"]
        .as_sequence()
        .expect("NonKeyAttributes")
        .iter()
        .filter_map(|a| a.as_str().map(str::to_owned))
        .collect();
    for schema in [&table["KeySchema"], &index["KeySchema"]] {
        for key in schema.as_sequence().expect("KeySchema") {
            projected.insert(key["AttributeName"].as_str().unwrap().to_owned());
        }
    }
    for attribute in backend_core::store::results::SUMMARY_ATTRIBUTES.split(',') {
        let attribute = attribute.trim();
        assert!(
            projected.contains(attribute),
            "byWorkflowSummary does not project {attribute} (projects {projected:?})"
        );
    }
}
