//! One test where each rule fires on the right step and one near miss where it must not.

use serde_json::{json, Value};

use super::{body, body_with, chain, fires_on, form_trigger, hits, run, s, silent};
use crate::Severity;

fn tag(id: &str) -> Value {
    s(id, "add_contact_tag", json!({"tags": ["lead"]}))
}
fn sms(id: &str, text: &str) -> Value {
    s(id, "sms", json!({"body": text}))
}
fn wait_days(id: &str, days: u32) -> Value {
    s(
        id,
        "wait",
        json!({"type": "time", "startAfter": {"type": "days", "value": days}, "window": {"start": "09:00", "end": "18:00"}}),
    )
}
fn goto(id: &str, target: &str) -> Value {
    s(id, "goto", json!({"targetNodeId": target}))
}
fn if_else(id: &str, yes: &str, no: &str) -> Value {
    json!({"id": id, "type": "if_else", "name": format!("if {id}"), "cat": "conditions",
           "nodeType": "condition-node", "next": [yes, no], "attributes": {}})
}
fn branch(id: &str, none: bool, next: Option<&str>) -> Value {
    let mut b = json!({"id": id, "type": "if_else", "name": if none { "None" } else { "Yes" },
                       "nodeType": if none { "branch-no" } else { "branch-yes" }, "attributes": {}});
    if let Some(n) = next {
        b["next"] = json!(n);
    }
    b
}

// ---------------------------------------------------------------- structure

#[test]
fn unreachable_step_fires_on_an_orphan_left_behind() {
    let mut steps = chain(vec![tag("a"), tag("b")]);
    steps.push(json!({"id": "c", "type": "add_contact_tag", "name": "orphan", "parentKey": "a", "attributes": {}}));
    fires_on(&body(steps), "unreachable-step", Some("c"));
    silent(
        &body(chain(vec![tag("a"), tag("b"), tag("c")])),
        "unreachable-step",
    );
}

#[test]
fn dangling_reference_fires_on_a_next_or_goto_to_nothing() {
    let mut steps = chain(vec![tag("a"), tag("b")]);
    steps[1]["next"] = json!("deleted");
    fires_on(&body(steps), "dangling-reference", Some("b"));
    fires_on(
        &body(chain(vec![tag("a"), goto("g", "nowhere")])),
        "dangling-reference",
        Some("g"),
    );
    silent(
        &body(chain(vec![tag("a"), wait_days("w", 1), goto("g", "a")])),
        "dangling-reference",
    );
    // The first step may hang from its trigger.
    let mut steps = chain(vec![tag("a"), tag("b")]);
    steps[0]["parentKey"] = json!("t1");
    silent(&body(steps), "dangling-reference");
}

#[test]
fn duplicate_step_id_fires_on_the_second_copy() {
    let r = fires_on(
        &body(chain(vec![tag("a"), tag("b"), tag("b")])),
        "duplicate-step-id",
        Some("b"),
    );
    assert_eq!(hits(&r, "duplicate-step-id").len(), 1);
    silent(&body(chain(vec![tag("a"), tag("b")])), "duplicate-step-id");
}

#[test]
fn loop_without_wait_fires_on_the_goto_of_a_tight_loop() {
    fires_on(
        &body(chain(vec![tag("a"), tag("b"), goto("g", "a")])),
        "loop-without-wait",
        Some("g"),
    );
    silent(
        &body(chain(vec![tag("a"), wait_days("w", 1), goto("g", "a")])),
        "loop-without-wait",
    );
}

#[test]
fn loop_without_exit_fires_when_no_condition_leaves_the_cycle() {
    fires_on(
        &body(chain(vec![wait_days("w", 1), tag("b"), goto("g", "w")])),
        "loop-without-exit",
        Some("g"),
    );
    let steps = vec![
        json!({"id": "w", "type": "wait", "name": "wait", "next": "c", "order": 0,
               "attributes": {"type": "time", "startAfter": {"type": "days", "value": 1}, "window": {"start": "09:00", "end": "17:00"}}}),
        if_else("c", "y", "n"),
        branch("y", false, Some("g")),
        branch("n", true, Some("t")),
        goto("g", "w"),
        tag("t"),
    ];
    silent(&body(steps), "loop-without-exit");
}

#[test]
fn empty_branch_is_high_for_a_condition_and_low_for_a_none_filter() {
    let steps = |yes: Option<&str>, no: Option<&str>| {
        vec![
            json!({"id": "c", "type": "if_else", "name": "Qualified?", "cat": "conditions", "nodeType": "condition-node", "next": ["y", "n"], "attributes": {}}),
            branch("y", false, yes),
            branch("n", true, no),
            tag("t1"),
            tag("t2"),
        ]
    };
    let r = fires_on(&body(steps(None, Some("t2"))), "empty-branch", Some("y"));
    assert_eq!(
        r.issues
            .iter()
            .find(|i| i.rule_id == "empty-branch")
            .map(|i| i.severity),
        Some(Severity::High)
    );
    let r = fires_on(&body(steps(Some("t1"), None)), "empty-branch", Some("n"));
    assert_eq!(
        r.issues
            .iter()
            .find(|i| i.rule_id == "empty-branch")
            .map(|i| i.severity),
        Some(Severity::Low)
    );
    silent(&body(steps(Some("t1"), Some("t2"))), "empty-branch");
}

#[test]
fn unrouted_path_fires_on_a_declared_transition_missing_from_next() {
    let steps = |next: Value| {
        vec![
            json!({"id": "w", "type": "wait", "name": "Wait for reply", "cat": "multi-path", "next": next,
                   "attributes": {"type": "reply", "timeout": {"value": 2, "type": "days"},
                                  "transitions": [{"id": "t1", "name": "Replied"}, {"id": "t2", "name": "Timeout"}]}}),
            json!({"id": "t1", "type": "transition", "name": "Replied", "next": "x", "attributes": {}}),
            json!({"id": "t2", "type": "transition", "name": "Timeout", "next": "y", "attributes": {}}),
            tag("x"),
            tag("y"),
        ]
    };
    fires_on(&body(steps(json!(["t1"]))), "unrouted-path", Some("w"));
    silent(&body(steps(json!(["t1", "t2"]))), "unrouted-path");
}

#[test]
fn empty_or_disabled_fires_for_no_steps_and_for_a_disabled_step() {
    fires_on(&body(vec![]), "empty-or-disabled", None);
    let mut steps = chain(vec![tag("a"), tag("b")]);
    steps[1]["advanceCanvasMeta"] = json!({"isDisabled": true});
    fires_on(&body(steps), "empty-or-disabled", Some("b"));
    silent(&body(chain(vec![tag("a"), tag("b")])), "empty-or-disabled");
}

#[test]
fn too_complex_fires_on_many_branches_only() {
    let mut steps = Vec::new();
    for k in 0..12 {
        let next = if k + 1 < 12 {
            Some(format!("c{}", k + 1))
        } else {
            None
        };
        steps.push(if_else(
            &format!("c{k}"),
            &format!("y{k}"),
            &format!("n{k}"),
        ));
        steps.push(branch(&format!("y{k}"), false, next.as_deref()));
        steps.push(branch(&format!("n{k}"), true, Some(&format!("t{k}"))));
        steps.push(tag(&format!("t{k}")));
    }
    let r = fires_on(&body(steps), "too-complex", None);
    assert!(r.stats.branches >= 24);
    let steps = vec![
        if_else("c", "y", "n"),
        branch("y", false, Some("a")),
        branch("n", true, Some("b")),
        tag("a"),
        tag("b"),
    ];
    silent(&body(steps), "too-complex");
}

#[test]
fn unknown_step_type_fires_on_the_unknown_step() {
    fires_on(
        &body(chain(vec![tag("a"), s("b", "teleport_contact", json!({}))])),
        "unknown-step-type",
        Some("b"),
    );
    silent(
        &body(chain(vec![tag("a"), s("b", "math_operation", json!({}))])),
        "unknown-step-type",
    );
}

// ---------------------------------------------------------------- waits

#[test]
fn wait_without_timeout_is_critical_when_steps_follow_and_low_at_the_end() {
    let reply = |id: &str| s(id, "wait", json!({"type": "reply"}));
    let r = fires_on(
        &body(chain(vec![reply("w"), tag("b")])),
        "wait-without-timeout",
        Some("w"),
    );
    assert_eq!(r.issues[0].severity, Severity::Critical);
    let r = fires_on(
        &body(chain(vec![tag("a"), reply("w")])),
        "wait-without-timeout",
        Some("w"),
    );
    assert_eq!(
        r.issues
            .iter()
            .find(|i| i.rule_id == "wait-without-timeout")
            .map(|i| i.severity),
        Some(Severity::Low)
    );
    let with_timeout = s(
        "w",
        "wait",
        json!({"type": "reply", "timeout": {"type": "days", "value": 3}}),
    );
    silent(
        &body(chain(vec![with_timeout, tag("b")])),
        "wait-without-timeout",
    );
}

#[test]
fn wait_too_long_fires_on_a_year_long_wait() {
    fires_on(
        &body(chain(vec![tag("a"), wait_days("w", 400), tag("b")])),
        "wait-too-long",
        Some("w"),
    );
    silent(
        &body(chain(vec![tag("a"), wait_days("w", 300), tag("b")])),
        "wait-too-long",
    );
}

#[test]
fn wait_misconfigured_fires_on_a_partial_duration() {
    let partial = s(
        "w",
        "wait",
        json!({"type": "time", "startAfter": {"type": "days"}}),
    );
    fires_on(
        &body(chain(vec![tag("a"), partial, tag("b")])),
        "wait-misconfigured",
        Some("w"),
    );
    let zero = s(
        "w",
        "wait",
        json!({"type": "time", "startAfter": {"type": "hours", "value": 0}}),
    );
    fires_on(
        &body(chain(vec![tag("a"), zero, tag("b")])),
        "wait-misconfigured",
        Some("w"),
    );
    silent(
        &body(chain(vec![tag("a"), wait_days("w", 2), tag("b")])),
        "wait-misconfigured",
    );
}

#[test]
fn event_wait_without_anchor_fires_without_an_appointment_trigger() {
    let ev = || {
        s(
            "w",
            "wait",
            json!({"type": "appointment", "startAfter": {"type": "hours", "value": 2, "when": "before_appointment"}}),
        )
    };
    fires_on(
        &body(chain(vec![tag("a"), ev(), tag("b")])),
        "event-wait-without-anchor",
        Some("w"),
    );
    let appt = json!([{"type": "appointment", "name": "Booked", "conditions": [{"field": "appointmentStatus", "value": "confirmed"}]}]);
    silent(
        &body_with(chain(vec![tag("a"), ev(), tag("b")]), appt, json!({})),
        "event-wait-without-anchor",
    );
    let anchor = s(
        "a",
        "set_event_start_date",
        json!({"date": "{{contact.event_date}}"}),
    );
    silent(
        &body(chain(vec![anchor, ev(), tag("b")])),
        "event-wait-without-anchor",
    );
}

// ---------------------------------------------------------------- messaging

#[test]
fn sms_without_opt_out_fires_on_the_first_sms() {
    fires_on(
        &body(chain(vec![
            tag("a"),
            sms("m1", "Thanks!"),
            wait_days("w", 1),
            sms("m2", "Hey"),
        ])),
        "sms-without-opt-out",
        Some("m1"),
    );
    silent(
        &body(chain(vec![
            sms("m1", "Thanks! Reply STOP to opt out"),
            wait_days("w", 1),
            sms("m2", "Hey"),
        ])),
        "sms-without-opt-out",
    );
}

#[test]
fn send_without_window_fires_on_a_wait_without_window_before_messages() {
    let bare = s(
        "w",
        "wait",
        json!({"type": "time", "startAfter": {"type": "days", "value": 1}}),
    );
    fires_on(
        &body(chain(vec![
            tag("a"),
            bare,
            sms("m", "Hi. Reply STOP to opt out"),
        ])),
        "send-without-window",
        Some("w"),
    );
    let night = s(
        "w",
        "wait",
        json!({"type": "time", "startAfter": {"type": "days", "value": 1}, "window": {"start": "06:00", "end": "23:30"}}),
    );
    fires_on(
        &body(chain(vec![tag("a"), night, sms("m", "Reply STOP")])),
        "send-without-window",
        Some("w"),
    );
    silent(
        &body(chain(vec![
            tag("a"),
            wait_days("w", 1),
            sms("m", "Reply STOP"),
        ])),
        "send-without-window",
    );
    let bare = s(
        "w",
        "wait",
        json!({"type": "time", "startAfter": {"type": "days", "value": 1}}),
    );
    silent(
        &body(chain(vec![sms("m", "Reply STOP"), bare, tag("b")])),
        "send-without-window",
    );
}

/// A bundle of one workflow whose location says whether LC Email's default unsubscribe footer is on.
fn with_footer(workflow: Value, footer: bool) -> Value {
    json!({"workflows": [workflow], "tags": ["a"],
           "locationSettings": {"defaultUnsubscribeLink": footer}})
}

#[test]
fn email_without_unsubscribe_fires_only_when_the_default_footer_is_off() {
    let sale = || {
        body(chain(vec![
            tag("a"),
            s(
                "e",
                "email",
                json!({"subject": "Sale", "html": "<p>Buy</p>"}),
            ),
        ]))
    };
    fires_on(
        &with_footer(sale(), false),
        "email-without-unsubscribe",
        Some("e"),
    );
    silent(&with_footer(sale(), true), "email-without-unsubscribe");
    // Not said: HighLevel's default (on) decides, and the result says so.
    let r = run(&sale());
    assert!(hits(&r, "email-without-unsubscribe").is_empty());
    assert_eq!(r.assumed_defaults.len(), 1, "{:?}", r.assumed_defaults);
    assert_eq!(r.assumed_defaults[0].rule_id, "email-without-unsubscribe");
    silent(
        &body(chain(vec![
            tag("a"),
            s(
                "e",
                "email",
                json!({"subject": "Sale", "html": "<a href='{{unsubscribe_link}}'>Unsubscribe</a>"}),
            ),
        ])),
        "email-without-unsubscribe",
    );
}

#[test]
fn no_stop_on_response_fires_for_three_messages_without_reply_handling() {
    let steps = || {
        chain(vec![
            sms("m1", "Reply STOP to opt out"),
            wait_days("w1", 1),
            sms("m2", "Hi"),
            wait_days("w2", 1),
            sms("m3", "Hi"),
        ])
    };
    fires_on(
        &body_with(steps(), form_trigger(), json!({"stopOnResponse": false})),
        "no-stop-on-response",
        None,
    );
    silent(&body(steps()), "no-stop-on-response");
}

#[test]
fn risky_merge_field_fires_on_a_bare_greeting_and_a_malformed_field() {
    fires_on(
        &body(chain(vec![sms(
            "m",
            "Hi {{contact.first_name}}, reply STOP to opt out",
        )])),
        "risky-merge-field",
        Some("m"),
    );
    fires_on(
        &body(chain(vec![sms(
            "m",
            "Your code is {{contact.code. Reply STOP",
        )])),
        "risky-merge-field",
        Some("m"),
    );
    silent(
        &body(chain(vec![sms(
            "m",
            "Hi {{contact.first_name | default: \"there\"}}, reply STOP to opt out",
        )])),
        "risky-merge-field",
    );
}

#[test]
fn message_burst_fires_on_the_third_sms_within_a_day() {
    fires_on(
        &body(chain(vec![
            sms("m1", "Reply STOP"),
            sms("m2", "a"),
            s(
                "w",
                "wait",
                json!({"type": "time", "startAfter": {"type": "hours", "value": 2}, "window": {"start": "9:00", "end": "17:00"}}),
            ),
            sms("m3", "b"),
        ])),
        "message-burst",
        Some("m3"),
    );
    silent(
        &body(chain(vec![
            sms("m1", "Reply STOP"),
            wait_days("w1", 1),
            sms("m2", "a"),
            wait_days("w2", 1),
            sms("m3", "b"),
        ])),
        "message-burst",
    );
}

// ---------------------------------------------------------------- integrations

fn hook(id: &str, attrs: Value) -> Value {
    s(id, "custom_webhook", attrs)
}

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

// ---------------------------------------------------------------- triggers and settings

#[test]
fn no_trigger_fires_on_an_empty_trigger_list_and_is_skipped_without_one() {
    fires_on(
        &body_with(chain(vec![tag("a")]), json!([]), json!({})),
        "no-trigger",
        None,
    );
    silent(&body(chain(vec![tag("a")])), "no-trigger");
    let r = run(
        &json!({"workflow": {"name": "x", "workflowData": {"templates": chain(vec![tag("a")])}}}),
    );
    assert!(r.skipped_rules.iter().any(|k| k.rule_id == "no-trigger"));
    assert!(r
        .skipped_rules
        .iter()
        .any(|k| k.rule_id == "trigger-without-filter"));
    assert_eq!(r.confidence, crate::Confidence::Medium);
}

#[test]
fn trigger_without_filter_fires_on_a_form_trigger_with_no_form() {
    let bare = json!([{"type": "form_submission", "name": "Any form", "conditions": []}]);
    fires_on(
        &body_with(chain(vec![tag("a")]), bare, json!({})),
        "trigger-without-filter",
        None,
    );
    let bare = json!([{"type": "appointment", "name": "Any appointment", "conditions": [{"field": "calendarId", "value": "c1"}]}]);
    fires_on(
        &body_with(chain(vec![tag("a")]), bare, json!({})),
        "trigger-without-filter",
        None,
    );
    silent(&body(chain(vec![tag("a")])), "trigger-without-filter");
}

#[test]
fn reentry_duplicates_fires_on_a_create_step_when_reentry_is_allowed() {
    let create = || {
        s(
            "o",
            "create_opportunity",
            json!({"pipelineId": "p", "pipelineStageId": "s"}),
        )
    };
    fires_on(
        &body_with(
            chain(vec![tag("a"), create()]),
            form_trigger(),
            json!({"allowMultiple": true}),
        ),
        "reentry-duplicates",
        Some("o"),
    );
    silent(&body(chain(vec![tag("a"), create()])), "reentry-duplicates");
}

// ---------------------------------------------------------------- data

#[test]
fn opportunity_misconfigured_fires_without_stage_or_identified_record() {
    fires_on(
        &body(chain(vec![
            tag("a"),
            s("o", "create_opportunity", json!({"pipelineId": "p"})),
        ])),
        "opportunity-misconfigured",
        Some("o"),
    );
    fires_on(
        &body(chain(vec![
            tag("a"),
            s(
                "u",
                "internal_update_opportunity",
                json!({"pipelineId": "p", "stageId": "s"}),
            ),
        ])),
        "opportunity-misconfigured",
        Some("u"),
    );
    silent(
        &body(chain(vec![
            s("f", "find_opportunity", json!({})),
            s(
                "u",
                "internal_update_opportunity",
                json!({"pipelineId": "p", "stageId": "s"}),
            ),
        ])),
        "opportunity-misconfigured",
    );
    silent(
        &body(chain(vec![s(
            "o",
            "create_opportunity",
            json!({"pipelineId": "p", "pipelineStageId": "s"}),
        )])),
        "opportunity-misconfigured",
    );
}

// ---------------------------------------------------------------- metadata

#[test]
fn stale_draft_fires_on_an_old_draft() {
    let extra = |status: &str, updated: &str| json!({"status": status, "updatedAt": updated});
    fires_on(
        &body_with(
            chain(vec![tag("a")]),
            form_trigger(),
            extra("draft", "2026-01-05T10:00:00Z"),
        ),
        "stale-draft",
        None,
    );
    silent(
        &body_with(
            chain(vec![tag("a")]),
            form_trigger(),
            extra("draft", "2026-11-01T10:00:00Z"),
        ),
        "stale-draft",
    );
    silent(
        &body_with(
            chain(vec![tag("a")]),
            form_trigger(),
            extra("published", "2025-01-01T10:00:00Z"),
        ),
        "stale-draft",
    );
}

#[test]
fn test_name_published_fires_on_a_published_copy() {
    fires_on(
        &body_with(
            chain(vec![tag("a")]),
            form_trigger(),
            json!({"name": "Lead follow-up (Copy)"}),
        ),
        "test-name-published",
        None,
    );
    silent(
        &body_with(
            chain(vec![tag("a")]),
            form_trigger(),
            json!({"name": "Lead follow-up (Copy)", "status": "draft"}),
        ),
        "test-name-published",
    );
}

#[test]
fn generic_name_fires_on_new_workflow() {
    let r = fires_on(
        &body_with(
            chain(vec![tag("a")]),
            form_trigger(),
            json!({"name": "New Workflow : 1732000000"}),
        ),
        "generic-name",
        None,
    );
    assert_eq!(r.health_score, 100, "info findings cost nothing");
    silent(&body(chain(vec![tag("a")])), "generic-name");
}

// ---------------------------------------------------------------- account (bundle) rules

fn bundle(workflows: Value, lists: Value) -> Value {
    let mut b = json!({"workflows": workflows});
    if let (Some(b), Some(l)) = (b.as_object_mut(), lists.as_object()) {
        for (k, v) in l {
            b.insert(k.clone(), v.clone());
        }
    }
    b
}

fn wf(id: &str, status: &str, steps: Vec<Value>, triggers: Value, extra: Value) -> Value {
    let mut w = json!({"_id": id, "name": format!("Workflow {id} nurture"), "status": status, "stopOnResponse": true,
                       "workflowData": {"templates": steps}, "triggers": triggers});
    if let (Some(w), Some(extra)) = (w.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            w.insert(k.clone(), v.clone());
        }
    }
    w
}

#[test]
fn duplicate_trigger_fires_on_the_second_published_workflow() {
    let a = wf(
        "w1",
        "published",
        chain(vec![tag("a")]),
        form_trigger(),
        json!({}),
    );
    let b = wf(
        "w2",
        "published",
        chain(vec![tag("b")]),
        form_trigger(),
        json!({}),
    );
    let r = run(&bundle(json!([a.clone(), b]), json!({})));
    let dup: Vec<_> = r
        .issues
        .iter()
        .filter(|i| i.rule_id == "duplicate-trigger")
        .collect();
    assert_eq!(dup.len(), 1);
    assert_eq!(dup[0].workflow_id.as_deref(), Some("w2"));
    let draft = wf(
        "w2",
        "draft",
        chain(vec![tag("b")]),
        form_trigger(),
        json!({}),
    );
    silent(&bundle(json!([a, draft]), json!({})), "duplicate-trigger");
}

#[test]
fn enrollment_cycle_fires_on_workflows_that_enroll_each_other() {
    let tag_trigger = |t: &str| json!([{"type": "contact_tag", "conditions": [{"field": "tag", "operator": "added", "value": t}]}]);
    let a = wf(
        "w1",
        "published",
        chain(vec![s("x", "add_contact_tag", json!({"tags": ["hot"]}))]),
        tag_trigger("warm"),
        json!({}),
    );
    let b = wf(
        "w2",
        "published",
        chain(vec![s("y", "add_to_workflow", json!({"workflowId": "w1"}))]),
        tag_trigger("hot"),
        json!({}),
    );
    let r = run(&bundle(json!([a.clone(), b]), json!({})));
    let cyc: Vec<_> = r
        .issues
        .iter()
        .filter(|i| i.rule_id == "enrollment-cycle")
        .map(|i| i.step_id.clone())
        .collect();
    assert_eq!(cyc, vec![Some("x".to_owned()), Some("y".to_owned())]);
    let c = wf(
        "w2",
        "published",
        chain(vec![tag("y")]),
        tag_trigger("hot"),
        json!({}),
    );
    silent(&bundle(json!([a, c]), json!({})), "enrollment-cycle");
}

#[test]
fn dangling_account_reference_fires_on_a_missing_or_inactive_user() {
    let assign = |u: &str| {
        wf(
            "w1",
            "published",
            chain(vec![s("u", "assign_user", json!({"userId": u}))]),
            form_trigger(),
            json!({}),
        )
    };
    let lists = json!({"users": [{"id": "anna"}, {"id": "bob", "active": false}], "forms": [{"id": "form_1"}]});
    fires_on(
        &bundle(json!([assign("zed")]), lists.clone()),
        "dangling-account-reference",
        Some("u"),
    );
    fires_on(
        &bundle(json!([assign("bob")]), lists.clone()),
        "dangling-account-reference",
        Some("u"),
    );
    silent(
        &bundle(json!([assign("anna")]), lists),
        "dangling-account-reference",
    );
    let r = run(&bundle(json!([assign("zed")]), json!({})));
    assert!(r
        .skipped_rules
        .iter()
        .any(|k| k.rule_id == "dangling-account-reference"));
}

// ---------------------------------------------------------------- configuration

#[test]
fn configuration_disables_rules_and_changes_severities() {
    use crate::{analyze, AnalyzeOptions, RuleConfig};
    let v = body_with(
        chain(vec![tag("a"), wait_days("w", 400), tag("b")]),
        form_trigger(),
        json!({"name": "New Workflow"}),
    );
    let bytes = serde_json::to_vec(&v).unwrap();
    let config: RuleConfig = serde_json::from_str(
        r#"{"disabled": ["generic-name"], "severity": {"wait-too-long": "low"}}"#,
    )
    .unwrap();
    assert!(config.unknown_rule_ids().is_empty());
    let r = analyze(
        &bytes,
        &AnalyzeOptions {
            now_unix: super::NOW,
            rules: config,
        },
    )
    .unwrap();
    assert!(hits(&r, "generic-name").is_empty());
    assert!(r
        .skipped_rules
        .iter()
        .any(|k| k.rule_id == "generic-name" && k.reason.contains("disabled")));
    let long = r
        .issues
        .iter()
        .find(|i| i.rule_id == "wait-too-long")
        .unwrap();
    assert_eq!(long.severity, Severity::Low);
    assert_eq!(r.health_score, 99); // one low issue: 100 - 1.5, rounded
    let typo: RuleConfig = serde_json::from_str(r#"{"disabled": ["generic-nme"]}"#).unwrap();
    assert_eq!(typo.unknown_rule_ids(), vec!["generic-nme".to_owned()]);
}

#[test]
fn every_catalogue_rule_has_a_test_in_this_file() {
    let source = [
        include_str!("rules.rs"),
        include_str!("round2.rs"),
        include_str!("round3_account.rs"),
        include_str!("round3_ai_integrations.rs"),
        include_str!("round3_appointments_consent.rs"),
    ]
    .concat();
    for rule in crate::Rule::ALL {
        assert!(
            source.contains(&format!("\"{}\"", rule.id())),
            "no test names {}",
            rule.id()
        );
    }
}

#[test]
fn every_catalogue_rule_is_documented() {
    let doc = include_str!("../../../../docs/ANALYZER.md");
    for rule in crate::Rule::ALL {
        assert!(
            doc.contains(&format!("`{}`", rule.id())),
            "docs/ANALYZER.md does not describe {}",
            rule.id()
        );
    }
    assert!(doc.contains(crate::SCORING_VERSION));
}

// ---------------------------------------------------------------- messages with nothing to say

#[test]
fn empty_message_fires_on_blank_emails_greeting_only_texts_and_empty_notifications() {
    for (step, near_miss) in [
        (
            s(
                "e",
                "email",
                json!({"subject": "Reminder", "html": "<p>&nbsp;</p>"}),
            ),
            s(
                "e",
                "email",
                json!({"subject": "Reminder", "templateId": "tpl_123"}),
            ),
        ),
        (sms("e", "Welcome"), sms("e", "Thanks! See you soon.")),
        (
            sms("e", "Hi {{contact.first_name}}!"),
            sms("e", "Hi {{contact.first_name}}, your order shipped."),
        ),
        (
            s("e", "sms", json!({"body": ""})),
            s(
                "e",
                "sms",
                json!({"body": "", "attachments": ["https://img.example/coupon.png"]}),
            ),
        ),
        (
            s(
                "e",
                "internal_notification",
                json!({"type": "email", "subject": " ", "body": "<p></p>"}),
            ),
            s(
                "e",
                "internal_notification",
                json!({"type": "sms", "body": "New lead: {{contact.name}}"}),
            ),
        ),
    ] {
        fires_on(&body(chain(vec![step])), "empty-message", Some("e"));
        silent(&body(chain(vec![near_miss])), "empty-message");
    }
}

// ---------------------------------------------------------------- names that say something else

#[test]
fn name_contradicts_step_fires_when_the_name_states_another_duration_channel_or_tag() {
    let wait = |name: &str, minutes: u32| {
        json!({"id": "e", "type": "wait", "name": name, "attributes": {"type": "time",
               "startAfter": {"type": "minutes", "value": minutes, "when": "after"}, "window": {"start": "09:00", "end": "18:00"}}})
    };
    let named = |name: &str, kind: &str, attrs: Value| json!({"id": "e", "type": kind, "name": name, "attributes": attrs});
    for (step, near_miss) in [
        (wait("Wait 24 hours", 60), wait("Wait 24 hours", 1_440)),
        (wait("2 days later", 2_880 + 60), wait("Wait a bit", 5)),
        (
            named(
                "Send SMS",
                "email",
                json!({"subject": "Hi", "html": "<p>Your order shipped.</p>"}),
            ),
            named(
                "Send email",
                "email",
                json!({"subject": "Hi", "html": "<p>Your order shipped.</p>"}),
            ),
        ),
        (
            named(
                "Email follow-up",
                "sms",
                json!({"body": "Your order shipped."}),
            ),
            named(
                "Text follow-up",
                "sms",
                json!({"body": "Your order shipped."}),
            ),
        ),
        (
            named(
                "Add tag: hot-lead",
                "add_contact_tag",
                json!({"tags": ["warm-lead"]}),
            ),
            named(
                "Add tag: hot-lead",
                "add_contact_tag",
                json!({"tags": ["Hot-Lead"]}),
            ),
        ),
    ] {
        fires_on(&body(chain(vec![step])), "name-contradicts-step", Some("e"));
        silent(&body(chain(vec![near_miss])), "name-contradicts-step");
    }
}
