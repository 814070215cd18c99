//! The agency toolkit in the API (issue 18): the HTML report of a stored analysis in the
//! caller's plan view, the comparison of an analysis with the previous one of its workflow and
//! the diff between two analyses, the account's rule settings and what they change in the next
//! analysis, and the fixes of the Pro view. Against moto, through the functions' real edges.

use aws_sdk_dynamodb::types::AttributeValue;
use backend_core::http::HTML_CSP;
use integration_tests::{request, Answer, TestApp, FRONTEND};
use serde_json::{json, Value};

use crate::analyze::{analyze_fn, history_fn, make_pro, post_analyze, sample, sample_as};

pub(crate) async fn get(t: &TestApp, cookie: &str, path: &str) -> Answer {
    history_fn(t, request("GET", path).cookie(cookie).build()).await
}

/// Analyzes `body` and returns the 201's data.
pub(crate) async fn analyzed(t: &TestApp, cookie: &str, body: &Value) -> Value {
    let res = analyze_fn(t, post_analyze(cookie, body)).await;
    assert_eq!(res.status, 201, "{}", res.json);
    res.json["data"].clone()
}

pub(crate) fn id_of(data: &Value) -> String {
    data["analysisId"].as_str().expect("analysisId").to_owned()
}

async fn settings(t: &TestApp, cookie: &str) -> Answer {
    analyze_fn(
        t,
        request("GET", "/api/settings/rules").cookie(cookie).build(),
    )
    .await
}

async fn put_settings(t: &TestApp, cookie: &str, body: &Value) -> Answer {
    analyze_fn(
        t,
        request("PUT", "/api/settings/rules")
            .cookie(cookie)
            .header("origin", FRONTEND)
            .json(body)
            .build(),
    )
    .await
}

async fn make_free(t: &TestApp, location: &str) {
    t.aws
        .dynamodb()
        .update_item()
        .table_name(&t.tables().accounts)
        .key("locationId", AttributeValue::S(location.into()))
        .update_expression("SET #p = :free REMOVE subscriptionStatus")
        .expression_attribute_names("#p", "plan")
        .expression_attribute_values(":free", AttributeValue::S("free".into()))
        .send()
        .await
        .unwrap();
}

fn articles(html: &str) -> usize {
    html.matches("<article class=\"issue ").count()
}

fn rule_ids(list: &Value) -> Vec<String> {
    list.as_array()
        .into_iter()
        .flatten()
        .map(|i| i["ruleId"].as_str().unwrap_or("").to_owned())
        .collect()
}

// ------------------------------------------------------------------------------------- report

#[tokio::test]
async fn the_report_is_an_html_page_in_the_callers_plan_view() {
    let t = TestApp::new().await;
    let cookie = t.connected_session("LocReport1").await;
    let data = analyzed(&t, &cookie, &sample("critical")).await;
    let id = id_of(&data);
    let path = format!("/api/analysis/{id}/report");

    // Free: the top issues only, without how to fix them.
    let res = get(&t, &cookie, &path).await;
    assert_eq!(res.status, 200, "{}", res.json);
    assert_eq!(res.header("content-type"), Some("text/html; charset=utf-8"));
    assert_eq!(res.header("content-security-policy"), Some(HTML_CSP));
    assert_eq!(res.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(res.header("x-frame-options"), Some("DENY"));
    assert_eq!(res.header("cache-control"), Some("no-store"));
    assert!(res.header("x-request-id").is_some());
    assert!(res.html.starts_with("<!DOCTYPE html>"));
    assert!(
        res.html.contains("default-src 'none'"),
        "the page's own CSP"
    );
    assert_eq!(articles(&res.html), 3);
    assert!(res.html.contains("id=\"top-only\""));
    assert!(!res.html.contains("How to fix it"));
    // The whole graph all the same: the sample's steps are drawn.
    assert!(res.html.contains("<svg class=\"graph\""));

    // Pro: every issue with its fix, under the same headers.
    make_pro(&t, "LocReport1").await;
    let full = get(&t, &cookie, &format!("/api/analysis/{id}")).await;
    let issues = full.json["data"]["result"]["issues"]
        .as_array()
        .expect("issues")
        .len();
    assert!(
        issues > 3,
        "the critical sample has more than the free plan shows"
    );
    let res = get(&t, &cookie, &path).await;
    assert_eq!(res.status, 200, "{}", res.json);
    assert_eq!(res.header("content-security-policy"), Some(HTML_CSP));
    assert_eq!(articles(&res.html), issues);
    assert!(res.html.contains("How to fix it"));
    assert!(!res.html.contains("id=\"top-only\""));
    // No earlier analysis of the workflow: nothing to compare with.
    assert!(!res.html.contains("data-baseline="));

    // Another account: 404 in the envelope, exactly as a missing id; a malformed id is 400.
    let other = t.connected_session("LocReport2").await;
    let res = get(&t, &other, &path).await;
    res.assert_envelope();
    assert_eq!((res.status, res.error_code()), (404, "NOT_FOUND"));
    assert!(res.html.is_empty());
    let res = get(&t, &cookie, "/api/analysis/not-an-id/report").await;
    assert_eq!((res.status, res.error_code()), (400, "VALIDATION_ERROR"));
    let res = history_fn(&t, request("GET", &path).build()).await;
    assert_eq!((res.status, res.error_code()), (401, "UNAUTHENTICATED"));
}

#[tokio::test]
async fn hostile_names_in_a_report_are_text_not_markup() {
    let t = TestApp::new().await;
    let cookie = t.connected_session("LocReport3").await;
    make_pro(&t, "LocReport3").await;
    let mut body = sample_as("critical", "wf-hostile");
    body["workflow"]["name"] = json!("</title><script>alert('name')</script>");
    let first = body["workflow"]["workflowData"]["templates"][0].clone();
    assert!(first.is_object(), "the sample has steps");
    body["workflow"]["workflowData"]["templates"][0]["name"] =
        json!("<img src=x onerror=alert(1)>");
    let id = id_of(&analyzed(&t, &cookie, &body).await);

    let res = get(&t, &cookie, &format!("/api/analysis/{id}/report")).await;
    assert_eq!(res.status, 200, "{}", res.json);
    let html = &res.html;
    assert!(!html.contains("<script"), "no script tag from the input");
    assert!(!html.contains("<img"), "no img tag from the input");
    assert!(html.contains("&lt;/title&gt;&lt;script&gt;alert(&#39;name&#39;)&lt;/script&gt;"));
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"));
    // The only links are anchors in the page.
    assert!(html
        .match_indices("href=\"")
        .all(|(at, _)| html[at + 6..].starts_with('#')));
}

#[tokio::test]
async fn a_metadata_only_analysis_has_a_report_too() {
    let t = TestApp::new().await;
    let cookie = t.connected_session("LocReport4").await;
    make_pro(&t, "LocReport4").await;
    // A stored result without a definition, as a metadata-only analysis keeps it.
    let result = json!({
        "workflow": {"id": "wf-meta", "name": "Only <metadata>"},
        "healthScore": 90, "grade": "Excellent", "confidence": "low", "scoringVersion": "x",
        "issues": [{"ruleId": "generic-name", "severity": "info", "title": "Generic name",
                    "message": "m", "recommendation": "r"}],
        "skippedRules": [], "summary": {"critical": 0, "high": 0, "medium": 0, "low": 0, "info": 1},
        "stats": {"steps": 0, "branches": 0, "maxDepth": 0, "cycles": 0, "unknownTypes": 0},
        "analysisTimeMs": 0
    });
    let location = backend_core::auth::LocationId::parse("LocReport4").unwrap();
    let id = backend_core::store::results::AnalysisId::generate(1_795_471_200_000);
    let workflow = backend_core::highlevel::WorkflowId::parse("wf-meta").unwrap();
    t.app
        .results()
        .put(&backend_core::store::results::NewAnalysis {
            location: &location,
            id: &id,
            workflow_id: Some(&workflow),
            workflow_name: Some("Only <metadata>"),
            health_score: 90,
            grade: "Excellent",
            confidence: "low",
            summary: &json!({}),
            created_at_ms: 1_795_471_200_000,
            expires_at: None,
            result: &result,
            definition: None,
            compared: None,
        })
        .await
        .unwrap();
    let res = get(
        &t,
        &cookie,
        &format!("/api/analysis/{}/report", id.as_str()),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.json);
    assert!(res.html.contains("Only &lt;metadata&gt;"));
    assert_eq!(articles(&res.html), 1);
    assert!(res.html.contains("no steps to draw"));
}

// --------------------------------------------------------------------------- compared and diff

#[tokio::test]
async fn a_second_analysis_of_a_workflow_is_compared_with_the_first() {
    let t = TestApp::new().await;
    let cookie = t.connected_session("LocDiff1").await;
    make_pro(&t, "LocDiff1").await;

    let first = analyzed(&t, &cookie, &sample_as("critical", "wf-diff")).await;
    assert!(first.get("compared").is_none(), "nothing before it");
    // Another workflow in between is not what the next analysis of wf-diff is compared with.
    analyzed(&t, &cookie, &sample_as("medium", "wf-other")).await;
    let second = analyzed(&t, &cookie, &sample_as("healthy", "wf-diff")).await;
    let (first_id, second_id) = (id_of(&first), id_of(&second));
    let first_score = first["result"]["healthScore"].as_i64().unwrap();
    let second_score = second["result"]["healthScore"].as_i64().unwrap();
    let compared = &second["compared"];
    assert_eq!(compared["previousAnalysisId"], first_id.as_str());
    assert_eq!(compared["previousScore"], first_score);
    assert_eq!(compared["scoreDelta"], second_score - first_score);
    assert!(second_score > first_score);
    let fixed = compared["fixed"].as_u64().unwrap();
    assert!(
        fixed > 3,
        "the critical sample's issues are gone: {compared}"
    );

    // Read back: the analysis and its history line carry it.
    let res = get(&t, &cookie, &format!("/api/analysis/{second_id}")).await;
    assert_eq!(res.json["data"]["compared"], *compared);
    let res = get(&t, &cookie, "/api/history").await;
    let items = res.json["data"]["items"].as_array().unwrap();
    let line = |id: &str| items.iter().find(|i| i["id"] == id).unwrap().clone();
    assert_eq!(line(&second_id)["compared"], *compared);
    assert!(line(&first_id).get("compared").is_none());

    // The diff, by default against the previous analysis of the workflow.
    let res = get(&t, &cookie, &format!("/api/analysis/{second_id}/diff")).await;
    res.assert_envelope();
    assert_eq!(res.status, 200, "{}", res.json);
    let diff = &res.json["data"];
    assert_eq!(diff["analysisId"], second_id.as_str());
    assert_eq!(diff["against"]["analysisId"], first_id.as_str());
    assert_eq!(diff["scoreDelta"], compared["scoreDelta"]);
    for list in ["new", "unchanged", "fixed"] {
        assert_eq!(diff["counts"][list], compared[list], "{list}");
        assert_eq!(
            diff[list].as_array().unwrap().len() as u64,
            compared[list].as_u64().unwrap(),
            "{list}: Pro lists every issue"
        );
    }
    assert_eq!(diff["truncated"], false);
    for fixed in diff["fixed"].as_array().unwrap() {
        assert_eq!(fixed["fingerprint"].as_str().unwrap().len(), 16);
    }
    // Named explicitly: the same.
    let res = get(
        &t,
        &cookie,
        &format!("/api/analysis/{second_id}/diff?against={first_id}"),
    )
    .await;
    assert_eq!(res.json["data"]["counts"], diff["counts"]);
    // The other way round: what was fixed is new.
    let res = get(
        &t,
        &cookie,
        &format!("/api/analysis/{first_id}/diff?against={second_id}"),
    )
    .await;
    assert_eq!(res.json["data"]["counts"]["new"], fixed);
    // The first has nothing before it: 409 in the envelope, saying what to do.
    let res = get(&t, &cookie, &format!("/api/analysis/{first_id}/diff")).await;
    res.assert_envelope();
    assert_eq!((res.status, res.error_code()), (409, "CONFLICT"));
    assert!(res.json["error"]["message"]
        .as_str()
        .unwrap()
        .contains("against="));
    let res = get(
        &t,
        &cookie,
        &format!("/api/analysis/{second_id}/diff?against=yesterday"),
    )
    .await;
    assert_eq!((res.status, res.error_code()), (400, "VALIDATION_ERROR"));

    // The Pro report marks each issue against the previous analysis and lists the fixed ones.
    let res = get(&t, &cookie, &format!("/api/analysis/{second_id}/report")).await;
    assert_eq!(res.status, 200);
    assert!(res.html.contains("Compared with the baseline"));
    assert_eq!(
        res.html.matches("<li class=\"fixed-issue\"").count() as u64,
        fixed
    );
}

#[tokio::test]
async fn another_accounts_analysis_cannot_be_diffed_either_way() {
    let t = TestApp::new().await;
    let alice = t.connected_session("LocDiffA1").await;
    let bob = t.connected_session("LocDiffB1").await;
    let a1 = id_of(&analyzed(&t, &alice, &sample_as("critical", "wf-shared")).await);
    let a2 = id_of(&analyzed(&t, &alice, &sample_as("healthy", "wf-shared")).await);
    let b1 = id_of(&analyzed(&t, &bob, &sample_as("critical", "wf-shared")).await);

    for (cookie, path) in [
        (&alice, format!("/api/analysis/{a2}/diff?against={b1}")),
        (&bob, format!("/api/analysis/{b1}/diff?against={a1}")),
        (&bob, format!("/api/analysis/{a2}/diff")),
        (&bob, format!("/api/analysis/{a2}/diff?against={b1}")),
    ] {
        let res = get(&t, cookie, &path).await;
        res.assert_envelope();
        assert_eq!((res.status, res.error_code()), (404, "NOT_FOUND"), "{path}");
    }
    // Bob's analysis of the same workflow id is compared with nothing of Alice's.
    let res = get(&t, &bob, &format!("/api/analysis/{b1}/diff")).await;
    assert_eq!((res.status, res.error_code()), (409, "CONFLICT"));

    // Alice is on Free: counts whole, each list cut to the free plan's top issues.
    let res = get(&t, &alice, &format!("/api/analysis/{a2}/diff")).await;
    assert_eq!(res.status, 200, "{}", res.json);
    let diff = &res.json["data"];
    assert_eq!(diff["plan"], "free");
    assert!(diff["counts"]["fixed"].as_u64().unwrap() > 3);
    assert_eq!(diff["fixed"].as_array().unwrap().len(), 3);
    assert_eq!(diff["truncated"], true);
}

// --------------------------------------------------------------------------------- settings

#[tokio::test]
async fn rule_settings_round_trip_and_bad_settings_are_refused_whole() {
    let t = TestApp::new().await;
    let cookie = t.connected_session("LocRules1").await;
    make_pro(&t, "LocRules1").await;

    let res = settings(&t, &cookie).await;
    res.assert_envelope();
    assert_eq!(res.status, 200, "{}", res.json);
    assert_eq!(res.json["data"]["rules"]["disabled"], json!([]));
    assert_eq!(res.json["data"]["applied"], true);
    assert!(res.json["data"]["updatedAt"].is_null());

    let wanted = json!({
        "disabled": ["generic-name"],
        "disabledFamilies": ["ai"],
        "severity": {"wait-too-long": "low"},
        "options": {"waitTooLong": {"maxDays": 30}},
        "exceptions": [{"rule": "sms-without-opt-out", "workflow": "wf-1", "step": "s1", "reason": "transactional"}]
    });
    let res = put_settings(&t, &cookie, &wanted).await;
    res.assert_envelope();
    assert_eq!(res.status, 200, "{}", res.json);
    let res = settings(&t, &cookie).await;
    let stored = &res.json["data"]["rules"];
    for key in ["disabled", "disabledFamilies", "severity", "exceptions"] {
        assert_eq!(stored[key], wanted[key], "{key}");
    }
    assert_eq!(stored["options"]["waitTooLong"]["maxDays"], 30);
    // A partial configuration keeps the defaults of what it leaves out.
    assert_eq!(stored["options"]["messageBurst"]["windowHours"], 24);
    assert!(res.json["data"]["updatedAt"].is_string());

    // Every problem named, nothing stored.
    let res = put_settings(
        &t,
        &cookie,
        &json!({"disabled": ["no-such-rule"], "exceptions": [{"rule": "generic-name", "reason": ""}]}),
    )
    .await;
    res.assert_envelope();
    assert_eq!((res.status, res.error_code()), (400, "VALIDATION_ERROR"));
    let details = res.json["error"]["details"].to_string();
    assert!(details.contains("no-such-rule"), "{details}");
    assert!(details.contains("reason is required"), "{details}");
    for bad in [
        json!({"disabeld": ["generic-name"]}),
        json!({"severity": {"generic-name": "urgent"}}),
        json!({"options": {"staleDraft": {"days": 0}}}),
        json!([]),
    ] {
        let res = put_settings(&t, &cookie, &bad).await;
        assert_eq!(
            (res.status, res.error_code()),
            (400, "VALIDATION_ERROR"),
            "{bad}"
        );
        assert!(res.json["error"]["message"].as_str().unwrap().len() > 10);
    }
    let res = settings(&t, &cookie).await;
    assert_eq!(res.json["data"]["rules"]["disabled"], wanted["disabled"]);

    // Hostile bodies: too large, not JSON, cross-site.
    let huge = json!({"exceptions": (0..2000).map(|n| json!({"rule": "generic-name", "workflow": format!("wf-{n}"), "reason": "x".repeat(40)})).collect::<Vec<_>>()});
    let res = put_settings(&t, &cookie, &huge).await;
    assert_eq!((res.status, res.error_code()), (413, "PAYLOAD_TOO_LARGE"));
    let res = analyze_fn(
        &t,
        request("PUT", "/api/settings/rules")
            .cookie(&cookie)
            .header("origin", FRONTEND)
            .header("content-type", "text/plain")
            .body("disabled = []")
            .build(),
    )
    .await;
    assert_eq!(
        (res.status, res.error_code()),
        (415, "UNSUPPORTED_MEDIA_TYPE")
    );
    let res = analyze_fn(
        &t,
        request("PUT", "/api/settings/rules")
            .cookie(&cookie)
            .header("origin", FRONTEND)
            .header("content-type", "application/json")
            .body("{\"disabled\": [")
            .build(),
    )
    .await;
    assert_eq!((res.status, res.error_code()), (400, "VALIDATION_ERROR"));
    let res = analyze_fn(
        &t,
        request("PUT", "/api/settings/rules")
            .cookie(&cookie)
            .header("origin", "https://evil.example")
            .json(&json!({}))
            .build(),
    )
    .await;
    assert_eq!((res.status, res.error_code()), (403, "FORBIDDEN"));
    let res = settings(&t, &cookie).await;
    assert_eq!(res.json["data"]["rules"]["disabled"], wanted["disabled"]);
}

#[tokio::test]
async fn a_free_account_cannot_change_rule_settings() {
    let t = TestApp::new().await;
    let cookie = t.connected_session("LocRules2").await;
    let res = put_settings(&t, &cookie, &json!({"disabled": ["generic-name"]})).await;
    res.assert_envelope();
    assert_eq!((res.status, res.error_code()), (402, "PLAN_LIMIT_REACHED"));
    let res = settings(&t, &cookie).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json["data"]["rules"]["disabled"], json!([]));
    assert_eq!(res.json["data"]["applied"], false);
    assert_eq!(res.json["data"]["plan"], "free");
}

#[tokio::test]
async fn rule_settings_change_the_next_analysis() {
    let t = TestApp::new().await;
    let cookie = t.connected_session("LocRules3").await;
    make_pro(&t, "LocRules3").await;
    let body = sample_as("critical", "wf-rules");
    let before = analyzed(&t, &cookie, &body).await;
    let issues = before["result"]["issues"].as_array().unwrap().clone();
    // One rule to switch off, and one single-step issue of another rule to accept.
    let off = issues[0]["ruleId"].as_str().unwrap().to_owned();
    let accepted = issues
        .iter()
        .find(|i| {
            i["ruleId"] != off.as_str()
                && i["stepId"].is_string()
                && i.get("steps").is_none()
                && issues.iter().filter(|j| j["ruleId"] == i["ruleId"]).count() == 1
        })
        .expect("a single-step issue of another rule")
        .clone();
    let accepted_rule = accepted["ruleId"].as_str().unwrap().to_owned();
    let res = put_settings(
        &t,
        &cookie,
        &json!({
            "disabled": [off],
            "exceptions": [{"rule": accepted_rule, "workflow": "wf-rules",
                            "step": accepted["stepId"], "reason": "the client sends this one by hand"}]
        }),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.json);

    let after = analyzed(&t, &cookie, &body).await;
    let result = &after["result"];
    let now = rule_ids(&result["issues"]);
    assert!(!now.contains(&off), "{off} is switched off");
    assert!(!now.contains(&accepted_rule), "{accepted_rule} is accepted");
    let skipped = result["skippedRules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["ruleId"] == off.as_str())
        .expect("a switched-off rule is listed as skipped");
    assert_eq!(skipped["reason"], "disabled by configuration");
    let suppressed = result["suppressed"]
        .as_array()
        .expect("suppressed findings are reported");
    assert_eq!(rule_ids(&result["suppressed"]), [accepted_rule.as_str()]);
    assert_eq!(suppressed[0]["stepId"], accepted["stepId"]);
    assert_eq!(suppressed[0]["suppression"]["kind"], "external");
    assert_eq!(
        suppressed[0]["suppression"]["justification"],
        "the client sends this one by hand"
    );
    assert!(
        result["healthScore"].as_i64() >= before["result"]["healthScore"].as_i64(),
        "accepted and switched-off findings do not count"
    );
    // Switching a rule off or accepting a finding is not a fix, and nothing is new.
    assert_eq!(after["compared"]["fixed"], 0, "{}", after["compared"]);
    assert_eq!(after["compared"]["new"], 0, "{}", after["compared"]);

    // Pro's report shows the accepted finding with its reason.
    let report = get(
        &t,
        &cookie,
        &format!("/api/analysis/{}/report", id_of(&after)),
    )
    .await;
    assert!(report.html.contains("Accepted findings (1)"));
    assert!(report.html.contains("the client sends this one by hand"));

    // Back on Free, the stored settings are kept but not applied, and the view has no
    // suppressed findings or fixes.
    make_free(&t, "LocRules3").await;
    let free = analyzed(&t, &cookie, &body).await;
    assert_eq!(free["result"]["plan"], "free");
    assert!(free["result"].get("suppressed").is_none());
    let stored = get(&t, &cookie, &format!("/api/analysis/{}", id_of(&free))).await;
    assert!(stored.json["data"]["result"].get("suppressed").is_none());
    make_pro(&t, "LocRules3").await;
    let full = get(&t, &cookie, &format!("/api/analysis/{}", id_of(&free))).await;
    let result = &full.json["data"]["result"];
    assert!(
        rule_ids(&result["issues"]).contains(&off),
        "defaults on Free"
    );
    assert!(result.get("suppressed").is_none());
}

#[tokio::test]
async fn the_pro_view_carries_fixes_and_the_free_view_does_not() {
    let t = TestApp::new().await;
    let cookie = t.connected_session("LocFixes1").await;
    let body = sample_as("critical", "wf-fixes");
    let free = analyzed(&t, &cookie, &body).await;
    let id = id_of(&free);
    assert!(!free.to_string().contains("\"fixes\""), "no fixes on Free");
    make_pro(&t, "LocFixes1").await;
    let res = get(&t, &cookie, &format!("/api/analysis/{id}")).await;
    let issues = res.json["data"]["result"]["issues"].as_array().unwrap();
    let fixed: Vec<&Value> = issues.iter().filter(|i| i.get("fixes").is_some()).collect();
    assert!(
        !fixed.is_empty(),
        "the critical sample has mechanical fixes"
    );
    // Each fix is an RFC 6902 patch that applies to the definition that was sent.
    for issue in fixed {
        for fix in issue["fixes"].as_array().unwrap() {
            assert!(["high", "medium", "low"].contains(&fix["confidence"].as_str().unwrap()));
            assert!(!fix["description"].as_str().unwrap().is_empty());
            let patch = fix["patch"].as_array().unwrap();
            let mut doc = body.clone();
            workflow_analyzer::apply_patch(&mut doc, patch)
                .unwrap_or_else(|e| panic!("{}: {e}", issue["ruleId"]));
            assert_ne!(doc, body);
        }
    }
}

#[tokio::test]
async fn a_metadata_only_analysis_is_compared_only_with_its_own_kind() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/workflows/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "workflows": [
            { "id": "wf-kinds", "name": "Copy of Test workflow", "status": "published", "version": 2,
              "createdAt": "2024-01-01T00:00:00.000Z", "updatedAt": "2024-01-02T00:00:00.000Z" }
        ]})))
        .mount(&server)
        .await;
    let t = TestApp::with_env(&[("GHL_API_BASE_URL", Some(&server.uri()))]).await;
    let cookie = t.connected_session("LocKinds1").await;
    make_pro(&t, "LocKinds1").await;
    let full = analyzed(&t, &cookie, &sample_as("critical", "wf-kinds")).await;
    let metadata = json!({ "workflowId": "wf-kinds" });

    // Metadata after a definition: the full analysis's issues are not "fixed" by it.
    let first_meta = analyzed(&t, &cookie, &metadata).await;
    assert_eq!(first_meta["result"]["confidence"], "low");
    assert!(first_meta.get("compared").is_none(), "{}", first_meta);
    let res = get(
        &t,
        &cookie,
        &format!("/api/analysis/{}/diff", id_of(&first_meta)),
    )
    .await;
    assert_eq!((res.status, res.error_code()), (409, "CONFLICT"));
    // Named explicitly, the comparison is made, but the rules the metadata analysis could not
    // run fix nothing.
    let res = get(
        &t,
        &cookie,
        &format!(
            "/api/analysis/{}/diff?against={}",
            id_of(&first_meta),
            id_of(&full)
        ),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.json);
    let fixed = rule_ids(&res.json["data"]["fixed"]);
    let skipped = rule_ids(&first_meta["result"]["skippedRules"]);
    assert!(fixed.iter().all(|r| !skipped.contains(r)), "{fixed:?}");

    // Metadata after metadata: compared.
    let second_meta = analyzed(&t, &cookie, &metadata).await;
    assert_eq!(
        second_meta["compared"]["previousAnalysisId"],
        id_of(&first_meta).as_str()
    );
    assert_eq!(second_meta["compared"]["scoreDelta"], 0);
    assert_eq!(second_meta["compared"]["new"], 0);
    assert_eq!(second_meta["compared"]["fixed"], 0);
}
