//! The integration rules (webhooks, secrets and URLs, retry loops, timeouts, idempotency, inbound
//! webhook dedupe, alerts to nobody, repeated lookups): each fires on the right step, has a near
//! miss where it must not, and a rule that needs more than the definition is skipped with its
//! reason when the input lacks it.

use serde_json::{json, Value};

use super::{
    body, body_with, chain, crm, fires_on, hits, hook, notify, run, s, silent, skipped_reason, sms,
    tag, wait_day, wait_days,
};

/// A webhook `h` → an if/else `c` checking it → yes branch `y` → SMS `m`; else branch `n` (named
/// `else_name`) → `after_else`.
fn checked_call(else_name: &str, after_else: Value) -> Value {
    let id = after_else["id"].as_str().unwrap_or_default().to_owned();
    let mut after_else = after_else;
    after_else["parentKey"] = json!("n");
    body(vec![
        crm_call("c"),
        json!({"id": "c", "type": "if_else", "name": "CRM accepted?", "cat": "conditions", "nodeType": "condition-node",
               "next": ["y", "n"], "parentKey": "h", "attributes": {}}),
        json!({"id": "y", "type": "if_else", "name": "Yes", "nodeType": "branch-yes", "next": "m", "parent": "c", "attributes": {}}),
        json!({"id": "n", "type": "if_else", "name": else_name, "nodeType": "branch-no", "next": id, "parent": "c", "attributes": {}}),
        json!({"id": "m", "type": "sms", "name": "Thanks", "parentKey": "y", "attributes": {"body": "Thanks! Reply STOP to opt out."}}),
        after_else,
    ])
}

/// A webhook `h` posting to the CRM, followed by `next`.
fn crm_call(next: &str) -> Value {
    let mut h = hook(
        "h",
        json!({"method": "POST", "url": "{{custom_values.crm_url}}", "saveResponse": true}),
    );
    h["next"] = json!(next);
    h
}

fn keyless() -> Value {
    json!({"type": "email", "subject": "CRM sync failed", "body": "Check the CRM."})
}

fn lookup(id: &str, url: &str) -> Value {
    hook(
        id,
        json!({"method": "GET", "url": url, "saveResponse": true, "body": {"email": "{{contact.email}}"}}),
    )
}

// ---------------------------------------------------------------- webhook-unchecked

#[test]
fn webhook_unchecked_fires_when_the_response_is_ignored() {
    fires_on(
        &body(chain(vec![
            tag("a"),
            hook("h", json!({"url": "{{custom_values.hook}}"})),
            tag("b"),
        ])),
        "webhook-unchecked",
        Some("h"),
    );
    silent(
        &body(chain(vec![
            tag("a"),
            hook(
                "h",
                json!({"url": "{{custom_values.hook}}", "saveResponse": true}),
            ),
            tag("b"),
        ])),
        "webhook-unchecked",
    );
}

// ---------------------------------------------------------------- webhook-test-endpoint

#[test]
fn webhook_test_endpoint_fires_on_a_tunnel() {
    fires_on(
        &body(chain(vec![
            tag("a"),
            hook(
                "h",
                json!({"url": "https://ab12.ngrok-free.app/hook", "saveResponse": true}),
            ),
        ])),
        "webhook-test-endpoint",
        Some("h"),
    );
    silent(
        &body(chain(vec![
            tag("a"),
            hook(
                "h",
                json!({"url": "https://api.example.com/hook", "saveResponse": true}),
            ),
        ])),
        "webhook-test-endpoint",
    );
}

// ---------------------------------------------------------------- hardcoded-secret

#[test]
fn hardcoded_secret_fires_on_a_literal_bearer_token() {
    let attrs = |v: &str| json!({"url": "{{custom_values.hook}}", "saveResponse": true, "headers": [{"key": "Authorization", "value": v}]});
    fires_on(
        &body(chain(vec![
            tag("a"),
            hook("h", attrs("Bearer 9f8e7d6c5b4a39281706")),
        ])),
        "hardcoded-secret",
        Some("h"),
    );
    fires_on(
        &body(chain(vec![
            tag("a"),
            hook(
                "h",
                json!({"url": "{{custom_values.hook}}", "saveResponse": true, "body": {"key": "sk_live_4eC39HqLyjWDarjtT1zdp7dc"}}),
            ),
        ])),
        "hardcoded-secret",
        Some("h"),
    );
    silent(
        &body(chain(vec![
            tag("a"),
            hook("h", attrs("Bearer {{custom_values.token}}")),
        ])),
        "hardcoded-secret",
    );
}

// ---------------------------------------------------------------- hardcoded-url

#[test]
fn hardcoded_url_fires_on_a_literal_webhook_url() {
    fires_on(
        &body(chain(vec![
            tag("a"),
            hook(
                "h",
                json!({"url": "https://api.example.com/hook", "saveResponse": true}),
            ),
        ])),
        "hardcoded-url",
        Some("h"),
    );
    silent(
        &body(chain(vec![
            tag("a"),
            hook(
                "h",
                json!({"url": "{{custom_values.hook}}", "saveResponse": true}),
            ),
        ])),
        "hardcoded-url",
    );
}

#[test]
fn hardcoded_url_is_silent_on_a_vendors_fixed_public_api_endpoint() {
    // HighLevel's custom webhook step calling Stripe's API with the key in a header (a custom
    // value): the URL is the same for every Stripe customer and never moves.
    let call = |url: &str| {
        body(chain(vec![
            tag("a"),
            hook(
                "h",
                json!({"event": "CUSTOM", "method": "POST", "url": url,
                       "headers": [{"key": "Authorization", "value": "Bearer {{custom_values.stripe_key}}"}],
                       "saveResponse": true}),
            ),
        ]))
    };
    for url in [
        "https://api.stripe.com/v1/customers",
        "https://API.OpenAI.com/v1/chat/completions",
        "https://services.leadconnectorhq.com/contacts/upsert",
        "https://api.hubapi.com/crm/v3/objects/contacts",
    ] {
        silent(&call(url), "hardcoded-url");
    }
    // Near misses: a webhook URL with its secret in the path, a Zapier or Make catch hook,
    // HighLevel's own inbound webhook (one trigger's URL), paths naming the account's own sheet,
    // bucket, project or base, an account's data centre, HighLevel's retiring v1 API, the
    // account's own server, a lookalike host, a key in the query, plain http, a port.
    for url in [
        "https://services.leadconnectorhq.com/hooks/Xq7bK2mLp9TzR4vN8cWd/webhook-trigger/3f1c2a9e-1111-4222-8333-944455556666",
        "https://sheets.googleapis.com/v4/spreadsheets/1AbC/values/A1:append",
        "https://storage.googleapis.com/my-bucket/upload",
        "https://us-central1-aiplatform.googleapis.com/v1/projects/my-proj/locations/x",
        "https://api.airtable.com/v0/appAbc123/Leads",
        "https://us21.api.mailchimp.com/3.0/lists/abc/members",
        "https://rest.gohighlevel.com/v1/contacts/",
        "https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXXXXXX",
        "https://hooks.zapier.com/hooks/catch/123456/abcdef/",
        "https://hook.us1.make.com/abc123def456",
        "https://api.telegram.org/bot123456:ABCdef/sendMessage",
        "https://api.acme-crm.com/leads",
        "https://api.stripe.com.evil.example/v1/customers",
        "https://www.googleapis.com.example.net/x",
        "https://maps.googleapis.com/maps/api/geocode/json?address=x&key=AIzaSyXXXX",
        "https://api.stripe.com:8443/v1/customers",
        "https://acme.myshopify.com/admin/api/2024-01/orders.json",
    ] {
        fires_on(&call(url), "hardcoded-url", Some("h"));
    }
}

// ---------------------------------------------------------------- retry-loop-without-counter

#[test]
fn retry_loop_without_counter_fires_on_the_call_in_the_loop() {
    let steps = |counter: bool| {
        let mut v = vec![
            s("t", "add_contact_tag", json!({"tags": ["x"]})),
            hook("h", crm(json!({}))),
        ];
        if counter {
            v.push(s("m", "math_operation", json!({"field": "attempts"})));
        }
        v.push(wait_days("w", 1));
        v.push(s("g", "goto", json!({"targetNodeId": "h"})));
        chain(v)
    };
    fires_on(&body(steps(false)), "retry-loop-without-counter", Some("h"));
    silent(&body(steps(true)), "retry-loop-without-counter");
}

// ---------------------------------------------------------------- http-without-timeout

#[test]
fn http_without_timeout_reads_custom_code() {
    fires_on(
        &body(chain(vec![s(
            "c",
            "custom_code",
            json!({"code": "const r = await fetch('https://api.acme.com/x');"}),
        )])),
        "http-without-timeout",
        Some("c"),
    );
    silent(
        &body(chain(vec![s(
            "c",
            "custom_code",
            json!({"code": "const r = await fetch('https://api.acme.com/x', {signal: AbortSignal.timeout(5000)});"}),
        )])),
        "http-without-timeout",
    );
}

// ---------------------------------------------------------------- retried-post-without-idempotency

#[test]
fn retried_post_without_idempotency_needs_post_retries_and_no_key() {
    fires_on(
        &body(chain(vec![hook(
            "h",
            crm(json!({"method": "POST", "retries": 3})),
        )])),
        "retried-post-without-idempotency",
        Some("h"),
    );
    silent(
        &body(chain(vec![hook(
            "h",
            crm(
                json!({"method": "POST", "retries": 3, "headers": [{"key": "Idempotency-Key", "value": "{{contact.id}}"}]}),
            ),
        )])),
        "retried-post-without-idempotency",
    );
    silent(
        &body(chain(vec![hook(
            "h",
            crm(json!({"method": "GET", "retries": 3})),
        )])),
        "retried-post-without-idempotency",
    );
    silent(
        &body(chain(vec![hook("h", crm(json!({"method": "POST"})))])),
        "retried-post-without-idempotency",
    );
}

// ---------------------------------------------------------------- inbound-webhook-no-dedupe

#[test]
fn inbound_webhook_no_dedupe_fires_at_workflow_level() {
    let trig = json!([{"id": "t1", "type": "inbound_webhook", "active": true, "conditions": []}]);
    let steps = || chain(vec![sms("a", "This is Acme: thanks! Reply STOP")]);
    fires_on(
        &body_with(steps(), trig.clone(), json!({"allowMultiple": true})),
        "inbound-webhook-no-dedupe",
        None,
    );
    silent(
        &body_with(
            chain(vec![
                s("f", "find_contact", json!({})),
                sms("a", "This is Acme: thanks! Reply STOP"),
            ]),
            trig.clone(),
            json!({"allowMultiple": true}),
        ),
        "inbound-webhook-no-dedupe",
    );
    silent(
        &body_with(steps(), trig, json!({})),
        "inbound-webhook-no-dedupe",
    );
    let bare = json!({"name": "x", "workflowData": {"templates": steps()}});
    assert!(skipped_reason(&bare, "inbound-webhook-no-dedupe").is_some());
}

// ---------------------------------------------------------------- failure-alert-to-nobody

#[test]
fn failure_alert_to_nobody_fires_on_a_failure_path_notification_without_recipients() {
    // The else branch of the if/else checking a webhook.
    fires_on(
        &checked_call("None", notify("t", keyless())),
        "failure-alert-to-nobody",
        Some("t"),
    );
    // A failure-named branch further on.
    let v = body(vec![
        crm_call("w"),
        json!({"id": "w", "type": "wait", "name": "Wait", "parentKey": "h", "next": "c",
               "attributes": {"type": "time", "startAfter": {"type": "minutes", "value": 5}}}),
        json!({"id": "c", "type": "if_else", "name": "Status", "cat": "conditions", "nodeType": "condition-node",
               "next": ["y", "n"], "parentKey": "w", "attributes": {}}),
        json!({"id": "y", "type": "if_else", "name": "Sync failed", "nodeType": "branch-yes", "next": "t", "parent": "c", "attributes": {}}),
        json!({"id": "n", "type": "if_else", "name": "None", "nodeType": "branch-no", "parent": "c", "attributes": {}}),
        json!({"id": "t", "type": "internal_notification", "name": "Tell staff", "parentKey": "y", "attributes": keyless()}),
    ]);
    fires_on(&v, "failure-alert-to-nobody", Some("t"));
    // The error transition of a multi-path custom-code step.
    let v = body(vec![
        json!({"id": "k", "type": "custom_code", "name": "Sync", "cat": "multi-path", "next": ["ok", "err"],
               "attributes": {"code": "await fetch('https://api.acme.example/x')"}}),
        json!({"id": "ok", "type": "transition", "name": "Success", "parent": "k", "attributes": {}}),
        json!({"id": "err", "type": "transition", "name": "Error", "next": "t", "parent": "k", "attributes": {}}),
        json!({"id": "t", "type": "internal_notification", "name": "Tell staff", "parentKey": "err", "attributes": keyless()}),
    ]);
    fires_on(&v, "failure-alert-to-nobody", Some("t"));
}

#[test]
fn failure_alert_to_nobody_fires_on_explicitly_empty_recipients_anywhere() {
    for attrs in [
        json!({"subject": "Webhook failed", "userIds": [""], "email": " ", "recipients": []}),
        json!({"subject": "New lead", "userType": ""}),
        json!({"subject": "New lead", "users": [], "sendTo": "specific_users"}),
    ] {
        fires_on(
            &body(chain(vec![notify("t", attrs)])),
            "failure-alert-to-nobody",
            Some("t"),
        );
    }
}

#[test]
fn notification_recipients_are_read_from_the_channel_object() {
    let nested = |message: Value| notify("t", json!({"type": "sms", "sms": message}));
    // Recipients under the channel, as the builder writes them: someone receives it.
    for message in [
        json!({"body": "Webhook failed", "userType": "assign"}),
        json!({"body": "Webhook failed", "userType": "user", "selectedUser": ["u1"]}),
    ] {
        silent(
            &body(chain(vec![nested(message)])),
            "failure-alert-to-nobody",
        );
    }
    // An address object under `email` that is not the builder's channel object stays a
    // recipient (flat shape: `email` names whom to alert).
    silent(
        &body(chain(vec![notify(
            "t",
            json!({"type": "email", "email": {"address": "ops@example.com"},
                   "subject": "Webhook failed", "html": "<p>Check it</p>"}),
        )])),
        "failure-alert-to-nobody",
    );
    // Explicitly nobody under the channel is still nobody.
    fires_on(
        &body(chain(vec![nested(
            json!({"body": "Webhook failed", "userType": "user", "selectedUser": []}),
        )])),
        "failure-alert-to-nobody",
        Some("t"),
    );
}

#[test]
fn failure_alert_to_nobody_is_silent_when_someone_receives_it() {
    for recipients in [
        json!({"userType": "all"}),
        json!({"recipientType": "assigned_user"}),
        json!({"userId": "user_1"}),
        json!({"emails": ["ops@acme.example"]}),
        json!({"assignedTo": "user_2"}),
        json!({"assignedUser": true}),
        // An empty key beside one that names someone.
        json!({"userIds": [], "userType": "all"}),
    ] {
        let mut attrs = json!({"subject": "Webhook failed", "body": "Check the CRM."});
        if let (Some(a), Some(r)) = (attrs.as_object_mut(), recipients.as_object()) {
            a.extend(r.clone());
        }
        silent(
            &body(chain(vec![notify("t", attrs.clone())])),
            "failure-alert-to-nobody",
        );
        silent(
            &checked_call("None", notify("t", attrs)),
            "failure-alert-to-nobody",
        );
    }
    // A disabled notification is not judged.
    let mut t = notify("t", json!({"subject": "x", "userIds": []}));
    t["advanceCanvasMeta"] = json!({"isDisabled": true});
    silent(&body(chain(vec![t])), "failure-alert-to-nobody");
}

/// Asserts that failure-alert-to-nobody fires on the notification `step` only, at low (not the
/// failure-path medium).
fn low_only(v: &Value, step: &str) {
    let r = run(v);
    let found: Vec<_> = r
        .issues
        .iter()
        .filter(|i| i.rule_id == "failure-alert-to-nobody")
        .map(|i| (i.step_id.clone(), i.severity))
        .collect();
    assert_eq!(found, vec![(Some(step.to_owned()), crate::Severity::Low)]);
}

#[test]
fn failure_alert_to_nobody_reports_keyless_notifications_off_failure_paths_at_low() {
    // No recipient key at all (no userType, user, address) and no failure path: low.
    low_only(&body(chain(vec![notify("t", keyless())])), "t");
    let r = run(&body(chain(vec![notify("t", keyless())])));
    let issue = r
        .issues
        .iter()
        .find(|i| i.rule_id == "failure-alert-to-nobody")
        .expect("the issue");
    assert!(
        issue.message.contains("names no recipient"),
        "{}",
        issue.message
    );
    // HighLevel's own recipients: a user type, or selected users.
    for recipients in [
        json!({"type": "sms", "userType": "assign", "body": "New lead {{contact.name}}"}),
        json!({"type": "sms", "userType": "user", "selectedUser": ["usr_mgr"], "body": "New lead"}),
        json!({"type": "email", "subject": "New lead", "html": "<p>x</p>", "selectedUser": ["usr_mgr"]}),
    ] {
        silent(
            &body(chain(vec![notify("t", recipients)])),
            "failure-alert-to-nobody",
        );
    }
    // After a webhook, but on the yes branch of its check / after a plain webhook.
    let v = checked_call("None", sms("o", "Sorry! Reply STOP to opt out."));
    let mut v2 = v.clone();
    if let Some(steps) = v2["workflow"]["workflowData"]["templates"].as_array_mut() {
        steps[4] = json!({"id": "m", "type": "internal_notification", "name": "Tell staff",
                          "parentKey": "y", "attributes": keyless()});
    }
    low_only(&v2, "m");
    low_only(
        &body(chain(vec![
            lookup("h", "{{custom_values.crm_url}}"),
            notify("t", keyless()),
        ])),
        "t",
    );
    // The else branch of an if/else after a call that does not check it directly.
    let v = body(vec![
        crm_call("u"),
        json!({"id": "u", "type": "add_contact_tag", "name": "Tag", "parentKey": "h", "next": "c",
               "attributes": {"tags": ["synced"]}}),
        json!({"id": "c", "type": "if_else", "name": "VIP?", "cat": "conditions", "nodeType": "condition-node",
               "next": ["y", "n"], "parentKey": "u", "attributes": {}}),
        json!({"id": "y", "type": "if_else", "name": "Yes", "nodeType": "branch-yes", "parent": "c", "attributes": {}}),
        json!({"id": "n", "type": "if_else", "name": "None", "nodeType": "branch-no", "next": "t", "parent": "c", "attributes": {}}),
        json!({"id": "t", "type": "internal_notification", "name": "Tell staff", "parentKey": "n", "attributes": keyless()}),
    ]);
    low_only(&v, "t");
    // ...which fires at medium once the tag step is a second call.
    let mut v = v;
    v["workflow"]["workflowData"]["templates"][1] = json!({"id": "u", "type": "custom_webhook", "name": "Notify ERP",
        "parentKey": "h", "next": "c", "attributes": {"method": "POST", "url": "https://erp.acme.example/x"}});
    let r = fires_on(&v, "failure-alert-to-nobody", Some("t"));
    assert_eq!(
        r.issues
            .iter()
            .find(|i| i.rule_id == "failure-alert-to-nobody")
            .map(|i| i.severity),
        Some(crate::Severity::Medium)
    );
    // A retry loop: the failure branch waits and goes back to the call; the notification after
    // the call's success is not on the failure path.
    let v = body(vec![
        crm_call("c"),
        json!({"id": "c", "type": "if_else", "name": "CRM accepted?", "cat": "conditions", "nodeType": "condition-node",
               "next": ["y", "n"], "parentKey": "h", "attributes": {}}),
        json!({"id": "y", "type": "if_else", "name": "Yes", "nodeType": "branch-yes", "next": "t", "parent": "c", "attributes": {}}),
        json!({"id": "n", "type": "if_else", "name": "Failed", "nodeType": "branch-no", "next": "w", "parent": "c", "attributes": {}}),
        json!({"id": "t", "type": "internal_notification", "name": "New lead synced", "parentKey": "y", "attributes": keyless()}),
        json!({"id": "w", "type": "wait", "name": "Wait", "parentKey": "n", "next": "g",
               "attributes": {"type": "time", "startAfter": {"type": "hours", "value": 1}}}),
        json!({"id": "g", "type": "goto", "name": "Retry", "parentKey": "w", "attributes": {"targetNodeId": "h"}}),
    ]);
    low_only(&v, "t");
    // A recipient type the reader does not know is not "nobody".
    silent(
        &checked_call("None", notify("t", json!({"userType": "custom"}))),
        "failure-alert-to-nobody",
    );
}

// ---------------------------------------------------------------- repeated-external-lookup

#[test]
fn repeated_external_lookup_fires_on_the_later_of_two_identical_calls() {
    let url = "{{custom_values.crm_url}}/contacts";
    let v = body(chain(vec![
        lookup("h1", url),
        s(
            "u",
            "update_contact_field",
            json!({"field": "stage", "value": "x"}),
        ),
        lookup("h2", url),
    ]));
    let r = fires_on(&v, "repeated-external-lookup", Some("h2"));
    assert_eq!(
        hits(&r, "repeated-external-lookup"),
        vec![Some("h2".into())]
    );
    // Custom code repeating the same HTTP call.
    let code = json!({"code": "const r = await fetch('https://api.acme.example/x', {signal: AbortSignal.timeout(5000)});"});
    let v = body(chain(vec![
        s("k1", "custom_code", code.clone()),
        s("k2", "custom_code", code),
    ]));
    fires_on(&v, "repeated-external-lookup", Some("k2"));
}

#[test]
fn repeated_external_lookup_is_silent_for_different_calls_or_separate_paths() {
    let url = "{{custom_values.crm_url}}/contacts";
    // Different body.
    let other = hook(
        "h2",
        json!({"method": "GET", "url": url, "saveResponse": true, "body": {"phone": "{{contact.phone}}"}}),
    );
    silent(
        &body(chain(vec![lookup("h1", url), other])),
        "repeated-external-lookup",
    );
    // Different method.
    let post = hook(
        "h2",
        json!({"method": "POST", "url": url, "saveResponse": true, "body": {"email": "{{contact.email}}"}}),
    );
    silent(
        &body(chain(vec![lookup("h1", url), post])),
        "repeated-external-lookup",
    );
    // The same call on the two branches of an if/else: one contact makes only one.
    let steps = vec![
        json!({"id": "c", "type": "if_else", "name": "Has email?", "cat": "conditions", "nodeType": "condition-node",
               "next": ["y", "n"], "attributes": {}}),
        json!({"id": "y", "type": "if_else", "name": "Yes", "nodeType": "branch-yes", "next": "h1", "parent": "c", "attributes": {}}),
        json!({"id": "n", "type": "if_else", "name": "None", "nodeType": "branch-no", "next": "h2", "parent": "c", "attributes": {}}),
        lookup("h1", url),
        lookup("h2", url),
    ];
    silent(&body(steps), "repeated-external-lookup");
}

#[test]
fn repeated_external_lookup_ignores_a_call_that_only_reaches_itself() {
    // h1 is retried in a loop (other rules judge that); h2, the same call on another branch, is
    // never after h1.
    let url = "https://api.acme.example/lookup";
    let steps = vec![
        json!({"id": "c", "type": "if_else", "name": "Split", "cat": "conditions", "nodeType": "condition-node",
               "next": ["y", "n"], "attributes": {}}),
        json!({"id": "y", "type": "if_else", "name": "Yes", "nodeType": "branch-yes", "next": "h1", "parent": "c", "attributes": {}}),
        json!({"id": "n", "type": "if_else", "name": "None", "nodeType": "branch-no", "next": "h2", "parent": "c", "attributes": {}}),
        json!({"id": "h1", "type": "custom_webhook", "name": "Lookup", "next": "w",
               "attributes": {"method": "GET", "url": url, "saveResponse": true}}),
        json!({"id": "w", "type": "wait", "name": "Wait", "next": "g",
               "attributes": {"type": "time", "startAfter": {"type": "hours", "value": 1}}}),
        json!({"id": "g", "type": "goto", "name": "Retry", "attributes": {"targetNodeId": "h1"}}),
        json!({"id": "h2", "type": "custom_webhook", "name": "Lookup again",
               "attributes": {"method": "GET", "url": url, "saveResponse": true}}),
    ];
    silent(&body(steps), "repeated-external-lookup");
}

#[test]
fn repeated_external_lookup_searches_at_most_sixteen_duplicated_calls() {
    // 20 distinct calls, each made twice in a row: only the first 16 keys are searched.
    let mut steps = Vec::new();
    for k in 0..20 {
        let url = format!("https://api.acme.example/r{k}");
        steps.push(hook(
            &format!("a{k}"),
            json!({"method": "GET", "url": url, "saveResponse": true}),
        ));
        steps.push(hook(
            &format!("b{k}"),
            json!({"method": "GET", "url": url, "saveResponse": true}),
        ));
    }
    let r = run(&body(chain(steps)));
    let h = hits(&r, "repeated-external-lookup");
    assert_eq!(h.len(), 16, "{h:?}");
    assert!(h.contains(&Some("b0".into())) && !h.contains(&Some("b19".into())));
}

#[test]
fn repeated_external_lookup_is_silent_for_polling_with_a_wait_between() {
    // GET → "ready?" → None → wait 10 minutes → the same GET: a poll, not a repeat.
    let url = "https://api.acme.example/orders/{{contact.id}}";
    let steps = vec![
        lookup("h1", url),
        json!({"id": "c", "type": "if_else", "name": "Ready?", "cat": "conditions", "nodeType": "condition-node",
               "next": ["y", "n"], "parentKey": "h1", "attributes": {}}),
        json!({"id": "y", "type": "if_else", "name": "Yes", "nodeType": "branch-yes", "next": "m", "parent": "c", "attributes": {}}),
        json!({"id": "n", "type": "if_else", "name": "None", "nodeType": "branch-no", "next": "w", "parent": "c", "attributes": {}}),
        sms("m", "Your order is ready. Reply STOP to opt out."),
        json!({"id": "w", "type": "wait", "name": "Wait 10 min", "parentKey": "n", "next": "h2",
               "attributes": {"type": "time", "startAfter": {"type": "minutes", "value": 10}}}),
        lookup("h2", url),
    ];
    let mut steps = steps;
    steps[0]["next"] = json!("c");
    steps[4]["parentKey"] = json!("y");
    steps[6]["parentKey"] = json!("w");
    silent(&body(steps.clone()), "repeated-external-lookup");
    // The same without the wait (None → the same GET at once) is a repeat.
    steps[3]["next"] = json!("h2");
    steps[6]["parentKey"] = json!("n");
    steps.remove(5);
    fires_on(&body(steps.clone()), "repeated-external-lookup", Some("h2"));
    // A disabled wait does not make a poll.
    let v = body(chain(vec![
        lookup("h1", url),
        wait_day("w"),
        lookup("h2", url),
    ]));
    silent(&v, "repeated-external-lookup");
    let mut v = v;
    v["workflow"]["workflowData"]["templates"][1]["advanceCanvasMeta"] =
        json!({"isDisabled": true});
    fires_on(&v, "repeated-external-lookup", Some("h2"));
}
