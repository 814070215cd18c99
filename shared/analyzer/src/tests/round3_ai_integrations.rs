//! Issue 11, AI and integration rules of the third batch: branches on AI output, AI failure paths, conversation AI handoff, alerts to nobody, repeated lookups: each fires on the right step, has a near miss, and needs-data rules are
//! skipped with their reason when the data is absent.

use serde_json::{json, Value};

use super::{body, chain, fires_on, hits, run, s, silent};

fn ai(id: &str, attrs: Value) -> Value {
    s(id, "chatgpt", attrs)
}
fn sms(id: &str, text: &str) -> Value {
    s(id, "sms", json!({"body": text}))
}
fn hook(id: &str, attrs: Value) -> Value {
    s(id, "custom_webhook", attrs)
}
fn notify(id: &str, attrs: Value) -> Value {
    s(id, "internal_notification", attrs)
}
fn wait_day(id: &str) -> Value {
    s(
        id,
        "wait",
        json!({"type": "time", "startAfter": {"type": "days", "value": 1}, "window": {"start": "09:00", "end": "18:00"}}),
    )
}

/// `before` (chained) → an if/else `c` with `c_attrs` → yes branch `y` → SMS `m`; None branch `n`
/// → SMS `o`.
fn branch_after(before: Vec<Value>, c_attrs: Value) -> Value {
    let last = before
        .last()
        .and_then(|v| v["id"].as_str())
        .unwrap_or_default()
        .to_owned();
    let mut steps = chain(before);
    if let Some(o) = steps.last_mut().and_then(Value::as_object_mut) {
        o.insert("next".into(), json!("c"));
    }
    steps.extend([
        json!({"id": "c", "type": "if_else", "name": "Intent?", "cat": "conditions", "nodeType": "condition-node",
               "next": ["y", "n"], "parentKey": last, "attributes": c_attrs}),
        json!({"id": "y", "type": "if_else", "name": "Hot", "nodeType": "branch-yes", "next": "m", "parent": "c", "attributes": {}}),
        json!({"id": "n", "type": "if_else", "name": "None", "nodeType": "branch-no", "next": "o", "parent": "c", "attributes": {}}),
        json!({"id": "m", "type": "sms", "name": "Hot SMS", "parentKey": "y", "attributes": {"body": "Great, a rep will call. Reply STOP to opt out."}}),
        json!({"id": "o", "type": "sms", "name": "Other SMS", "parentKey": "n", "attributes": {"body": "Thanks! Reply STOP to opt out."}}),
    ]);
    body(steps)
}

fn on_ai_answer(value: &str) -> Value {
    json!({"branches": [{"name": "Hot", "conditions": [
        {"field": "{{chatgpt.response}}", "operator": "==", "value": value}]}]})
}

#[test]
fn ai_branch_unconstrained_fires_on_an_if_else_comparing_free_form_ai_text() {
    let free = json!({"prompt": "Read the lead's message and describe their intent."});
    fires_on(
        &branch_after(vec![ai("a", free.clone())], on_ai_answer("hot")),
        "ai-branch-unconstrained",
        Some("c"),
    );
    // A plain field name under `field`, and conditions on the branch node, count too.
    let v = branch_after(
        vec![ai("a", free.clone())],
        json!({"conditions": [{"field": "chatgpt.response", "operator": "contains", "value": "hot"}]}),
    );
    fires_on(&v, "ai-branch-unconstrained", Some("c"));
    // A field an update wrote from the AI output.
    let v = branch_after(
        vec![
            ai("a", free),
            s(
                "u",
                "update_contact_field",
                json!({"field": "ai_intent", "value": "{{chatgpt.response}}"}),
            ),
        ],
        json!({"branches": [{"conditions": [{"field": "{{contact.ai_intent}}", "operator": "==", "value": "hot"}]}]}),
    );
    fires_on(&v, "ai-branch-unconstrained", Some("c"));
    // "Only" outside a constraining phrase limits nothing.
    fires_on(
        &branch_after(
            vec![ai(
                "a",
                json!({"prompt": "Write only a short summary of the lead."}),
            )],
            on_ai_answer("hot"),
        ),
        "ai-branch-unconstrained",
        Some("c"),
    );
}

#[test]
fn ai_branch_unconstrained_is_silent_when_the_prompt_fixes_the_answers() {
    silent(
        &branch_after(
            vec![ai(
                "a",
                json!({"prompt": "Is the lead ready? Respond only with YES or NO."}),
            )],
            on_ai_answer("YES"),
        ),
        "ai-branch-unconstrained",
    );
    silent(
        &branch_after(
            vec![ai(
                "a",
                json!({"prompt": "Is the lead ready to buy? Answer with exactly one word: YES or NO"}),
            )],
            on_ai_answer("YES"),
        ),
        "ai-branch-unconstrained",
    );
    silent(
        &branch_after(
            vec![ai(
                "a",
                json!({"prompt": "Classify the intent.", "options": ["hot", "cold"]}),
            )],
            on_ai_answer("hot"),
        ),
        "ai-branch-unconstrained",
    );
    // A constrained AI step after the free one replaces its output.
    silent(
        &branch_after(
            vec![
                ai("a", json!({"prompt": "Summarise the lead."})),
                ai(
                    "b",
                    json!({"prompt": "Reply with one of: hot, warm, cold."}),
                ),
            ],
            on_ai_answer("hot"),
        ),
        "ai-branch-unconstrained",
    );
    // A tag value that merely starts with "ai_" is not AI output.
    silent(
        &branch_after(
            vec![ai("a", json!({"prompt": "Summarise the lead."}))],
            json!({"branches": [{"conditions": [{"field": "contact.tags", "operator": "contains", "value": "ai_lead"}]}]}),
        ),
        "ai-branch-unconstrained",
    );
}

#[test]
fn ai_without_failure_path_fires_once_on_the_ai_step_whose_output_is_sent_bare() {
    let v = body(chain(vec![
        ai("a", json!({"prompt": "Write a short follow-up."})),
        sms("m", "This is Acme: {{chatgpt.response}} Reply STOP"),
        sms("m2", "And also: {{chatgpt.response}} Reply STOP"),
    ]));
    let r = fires_on(&v, "ai-without-failure-path", Some("a"));
    assert_eq!(hits(&r, "ai-without-failure-path"), vec![Some("a".into())]);
    // ai-text-sent-unguarded judges the messages, not the AI step.
    assert!(hits(&r, "ai-text-sent-unguarded").contains(&Some("m".into())));
    // An empty default is no fallback.
    fires_on(
        &body(chain(vec![
            ai("a", json!({"prompt": "Write a short follow-up."})),
            sms("m", "{{chatgpt.response | default: \"\"}} Reply STOP"),
        ])),
        "ai-without-failure-path",
        Some("a"),
    );
}

#[test]
fn ai_without_failure_path_is_silent_with_a_fallback_or_a_failure_path() {
    let prompt = json!({"prompt": "Write a short follow-up."});
    silent(
        &body(chain(vec![
            ai("a", prompt.clone()),
            sms(
                "m",
                "{{chatgpt.response | default: \"Thanks, we will be in touch.\"}} Reply STOP",
            ),
        ])),
        "ai-without-failure-path",
    );
    silent(
        &body(chain(vec![
            ai(
                "a",
                json!({"prompt": "Write a short follow-up.", "fallback": "Thanks, we will be in touch."}),
            ),
            sms("m", "{{chatgpt.response}} Reply STOP"),
        ])),
        "ai-without-failure-path",
    );
    // An if/else between the AI step and the message checks the output.
    silent(
        &branch_after(
            vec![ai("a", prompt.clone())],
            json!({"conditions": [{"field": "{{chatgpt.response}}", "operator": "is_not_empty"}]}),
        ),
        "ai-without-failure-path",
    );
    // A multi-path AI step with an error transition.
    let steps = vec![
        json!({"id": "a", "type": "chatgpt", "name": "AI", "cat": "multi-path", "next": ["ok", "err"],
               "attributes": {"prompt": "Write a short follow-up.",
                              "transitions": [{"id": "ok", "name": "Success"}, {"id": "err", "name": "Error"}]}}),
        json!({"id": "ok", "type": "transition", "name": "Success", "next": "m", "parent": "a", "attributes": {}}),
        json!({"id": "err", "type": "transition", "name": "Error", "next": "t", "parent": "a", "attributes": {}}),
        json!({"id": "m", "type": "sms", "name": "AI SMS", "parentKey": "ok", "attributes": {"body": "{{chatgpt.response}} Reply STOP"}}),
        json!({"id": "t", "type": "internal_notification", "name": "Tell staff", "parentKey": "err",
               "attributes": {"body": "AI failed", "userType": "all"}}),
    ];
    silent(&body(steps), "ai-without-failure-path");
}

#[test]
fn conversation_ai_without_human_fires_on_a_bot_with_no_way_to_a_person() {
    let v = body(chain(vec![
        s(
            "b",
            "conversation_ai",
            json!({"instructions": "Answer questions about opening hours."}),
        ),
        sms("m", "Thanks for chatting with us! Reply STOP to opt out."),
    ]));
    fires_on(&v, "conversation-ai-without-human", Some("b"));
    // An ai_agent in conversation mode is a bot; handoff switched off does not count.
    let v = body(chain(vec![s(
        "b",
        "ai_agent",
        json!({"mode": "conversation_bot", "humanHandoff": false}),
    )]));
    fires_on(&v, "conversation-ai-without-human", Some("b"));
    // A bot type is a known type.
    silent(&v, "unknown-step-type");
}

#[test]
fn conversation_ai_without_human_is_silent_with_a_handoff_or_a_person_after_it() {
    silent(
        &body(chain(vec![s(
            "b",
            "conversation_ai_bot",
            json!({"humanHandoff": true}),
        )])),
        "conversation-ai-without-human",
    );
    silent(
        &body(chain(vec![
            s("b", "ai_bot", json!({})),
            wait_day("w"),
            s("u", "assign_user", json!({"userId": "user_1"})),
        ])),
        "conversation-ai-without-human",
    );
    silent(
        &body(chain(vec![
            s("b", "conversation_ai", json!({})),
            notify("t", json!({"body": "Bot finished", "userType": "all"})),
        ])),
        "conversation-ai-without-human",
    );
    // An ai_agent that is not a bot is not judged.
    silent(
        &body(chain(vec![s(
            "b",
            "ai_agent",
            json!({"prompt": "Summarise."}),
        )])),
        "conversation-ai-without-human",
    );
}

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

#[test]
fn failure_alert_to_nobody_leaves_keyless_notifications_off_failure_paths_alone() {
    // No recipient key (the builder may fill a default) and no failure path.
    silent(
        &body(chain(vec![notify("t", keyless())])),
        "failure-alert-to-nobody",
    );
    // After a webhook, but on the yes branch of its check / after a plain webhook.
    let v = checked_call("None", sms("o", "Sorry! Reply STOP to opt out."));
    let mut v2 = v.clone();
    if let Some(steps) = v2["workflow"]["workflowData"]["templates"].as_array_mut() {
        steps[4] = json!({"id": "m", "type": "internal_notification", "name": "Tell staff",
                          "parentKey": "y", "attributes": keyless()});
    }
    silent(&v2, "failure-alert-to-nobody");
    silent(
        &body(chain(vec![
            lookup("h", "{{custom_values.crm_url}}"),
            notify("t", keyless()),
        ])),
        "failure-alert-to-nobody",
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
    silent(&v, "failure-alert-to-nobody");
    // ...which fires once the tag step is a second call.
    let mut v = v;
    v["workflow"]["workflowData"]["templates"][1] = json!({"id": "u", "type": "custom_webhook", "name": "Notify ERP",
        "parentKey": "h", "next": "c", "attributes": {"method": "POST", "url": "https://erp.acme.example/x"}});
    fires_on(&v, "failure-alert-to-nobody", Some("t"));
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
    silent(&v, "failure-alert-to-nobody");
    // A recipient type the reader does not know is not "nobody".
    silent(
        &checked_call("None", notify("t", json!({"userType": "custom"}))),
        "failure-alert-to-nobody",
    );
}

#[test]
fn alerts_to_one_user_reads_recipients_like_failure_alert_to_nobody() {
    // Three alerts to u1 in a bundle with two active users: fires; an `assignedTo` another user
    // on one of them, or an assigned-user type, makes it someone else.
    let bundle = |third: Value| {
        let wf = |id: &str, steps: Vec<Value>| {
            json!({"_id": id, "name": format!("Workflow {id}"), "status": "published", "stopOnResponse": true,
                   "workflowData": {"templates": chain(steps)}, "triggers": super::form_trigger()})
        };
        json!({"workflows": [
            wf("w1", vec![notify("n1", json!({"userIds": ["u1"], "body": "x"}))]),
            wf("w2", vec![notify("n2", json!({"userId": "u1", "body": "x"})), notify("n3", third)]),
        ], "users": [{"id": "u1", "active": true}, {"id": "u2", "active": true}]})
    };
    fires_on(
        &bundle(json!({"assignedUser": "U1", "body": "x"})),
        "alerts-to-one-user",
        Some("n1"),
    );
    for third in [
        json!({"userId": "u1", "assignedTo": "u2", "body": "x"}),
        json!({"userId": "u1", "assignedUser": "assigned_user", "body": "x"}),
        json!({"userId": "u1", "assignedTo": "{{contact.assigned_to}}", "body": "x"}),
    ] {
        silent(&bundle(third), "alerts-to-one-user");
    }
}

fn lookup(id: &str, url: &str) -> Value {
    hook(
        id,
        json!({"method": "GET", "url": url, "saveResponse": true, "body": {"email": "{{contact.email}}"}}),
    )
}

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

#[test]
fn ai_branch_unconstrained_reads_a_shared_branch_node_once() {
    // 4,000 if/else steps after a free-form AI step all list the same branch node, whose
    // conditions are long: each step's conditions are read once, not once per if/else.
    let k = 4_000;
    let conditions: Vec<Value> = (0..k)
        .map(|j| json!({"field": format!("contact.f{j}"), "operator": "==", "value": "x"}))
        .collect();
    let mut steps = vec![
        json!({"id": "a", "type": "chatgpt", "name": "AI", "next": "c0",
               "attributes": {"prompt": "Describe the lead."}}),
        json!({"id": "b", "type": "if_else", "name": "Shared", "nodeType": "branch-yes",
               "attributes": {"conditions": conditions}}),
    ];
    for i in 0..k {
        steps.push(
            json!({"id": format!("c{i}"), "type": "if_else", "name": format!("Check {i}"),
            "cat": "conditions", "nodeType": "condition-node", "next": ["b", format!("d{i}")],
            "attributes": {}}),
        );
        let mut d = json!({"id": format!("d{i}"), "type": "if_else", "name": "None",
            "nodeType": "branch-no", "parent": format!("c{i}"), "attributes": {}});
        if i + 1 < k {
            d["next"] = json!(format!("c{}", i + 1));
        }
        steps.push(d);
    }
    // The last if/else compares the AI output: found through the memo too.
    steps[2 * k]["attributes"] = on_ai_answer("hot");
    let r = run(&body(steps));
    assert_eq!(
        hits(&r, "ai-branch-unconstrained"),
        vec![Some(format!("c{}", k - 1))]
    );
}

#[test]
fn ai_without_failure_path_reads_a_shared_transition_name_once() {
    // 10,000 AI steps all point at one transition with a 3 MB name (no failure word) and at a
    // message using their output bare: the name is read once per workflow.
    let k = 10_000;
    let mut steps = vec![
        json!({"id": "t", "type": "transition", "name": "x".repeat(3 << 20), "attributes": {}}),
        json!({"id": "m", "type": "sms", "name": "AI SMS",
               "attributes": {"body": "{{chatgpt.response}} Reply STOP"}}),
    ];
    for i in 0..k {
        steps.push(
            json!({"id": format!("a{i}"), "type": "chatgpt", "name": format!("AI {i}"),
            "cat": "multi-path", "next": ["t", "m"], "attributes": {"prompt": "Write."}}),
        );
    }
    let r = run(&body(steps));
    assert_eq!(hits(&r, "ai-without-failure-path").len(), k);
}
