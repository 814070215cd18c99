//! The messaging rules (empty messages, SMS opt-out, sending windows, unsubscribe links, stop on
//! response, merge fields, SMS bursts): each fires on the right step, has a near miss where it must
//! not, and a rule that needs more than the definition is skipped with its reason when the input
//! lacks it.

use serde_json::{json, Value};

use super::{
    body, body_with, chain, email, fires_on, form_trigger, hits, run, s, silent, sms, tag,
    wait_days,
};

/// A bundle of one workflow whose location says whether LC Email's default unsubscribe footer is on.
fn with_footer(workflow: Value, footer: bool) -> Value {
    json!({"workflows": [workflow], "tags": ["a"],
           "locationSettings": {"defaultUnsubscribeLink": footer}})
}

// ---------------------------------------------------------------- empty-message

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

#[test]
fn empty_message_reads_a_notification_s_channel_object_as_highlevel_writes_it() {
    // The builder's own shape: the message under the channel it sends on.
    let nested = |channel: &str, message: Value| {
        s(
            "e",
            "internal_notification",
            json!({"type": channel, channel: message}),
        )
    };
    for full in [
        nested(
            "email",
            json!({"subject": "New lead: {{contact.name}}", "html": "<p>Call them.</p>", "userType": "assign"}),
        ),
        nested(
            "sms",
            json!({"body": "New lead {{contact.phone}}", "userType": "all", "attachments": []}),
        ),
        nested(
            "notification",
            json!({"type": "send_notification", "title": "New lead", "body": "{{contact.name}} is new",
                   "userType": "user", "selectedUser": "u1"}),
        ),
        nested(
            "email",
            json!({"subject": "", "template_id": "tpl_9", "userType": "assign"}),
        ),
    ] {
        silent(&body(chain(vec![full])), "empty-message");
    }
    for empty in [
        nested(
            "email",
            json!({"subject": " ", "html": "<p></p>", "userType": "assign"}),
        ),
        nested("sms", json!({"body": "", "userType": "all"})),
    ] {
        fires_on(&body(chain(vec![empty])), "empty-message", Some("e"));
    }
}

#[test]
fn empty_message_fires_at_high_on_a_native_email_with_body_and_no_html() {
    // HighLevel's email action sends `html`; text only under `body` is not sent.
    let text = "<p>Hi {{contact.first_name | default: \"there\"}}, your guide is attached.</p>";
    let r = fires_on(
        &body(chain(vec![email(
            "e",
            json!({"subject": "Your guide", "body": text, "from_email": "team@acme.com"}),
        )])),
        "empty-message",
        Some("e"),
    );
    let issue = r
        .issues
        .iter()
        .find(|i| i.rule_id == "empty-message")
        .unwrap();
    assert_eq!(issue.severity, crate::Severity::High);
    assert!(issue.message.contains("`html`"), "{}", issue.message);
    // Near misses: the text in `html` (with or without a stray `body`), an `html` that is only an
    // image beside a `body` (the contact sees the image), a template (by id, the builder's
    // `template` object or its `templatesource`), and the simple export (whose emails keep their
    // text in `meta.body`).
    for attrs in [
        json!({"subject": "Your guide", "html": text}),
        json!({"subject": "Your guide", "html": text, "body": text}),
        json!({"subject": "Your guide", "html": "<img src='https://cdn.acme.com/banner.png'>", "body": "Thanks for joining"}),
        json!({"subject": "Your guide", "body": text, "template_id": "tpl_1"}),
        json!({"subject": "Your guide", "body": text, "templatesource": "email-builder", "template": {"id": "t9"}}),
        json!({"subject": "Your guide", "templatesource": "email-builder"}),
    ] {
        silent(&body(chain(vec![email("e", attrs)])), "empty-message");
    }
    let export = json!({"_id": "x1", "name": "Guide", "status": "published",
        "triggers": [{"type": "form_submission", "filters": [{"field": "formId", "value": "f"}]}],
        "steps": [{"type": "email", "name": "Guide", "meta": {"subject": "Your guide", "body": text}}]});
    silent(&export, "empty-message");
}

// ---------------------------------------------------------------- sms-without-opt-out

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

// ---------------------------------------------------------------- send-without-window

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

// ---------------------------------------------------------------- email-without-unsubscribe

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

// ---------------------------------------------------------------- no-stop-on-response

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

// ---------------------------------------------------------------- risky-merge-field

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
fn risky_merge_field_reads_the_greeting_of_an_html_email() {
    let mail = |html: &str| {
        body(chain(vec![email(
            "e",
            json!({"subject": "Tips", "html": html}),
        )]))
    };
    fires_on(
        &mail("<div>&nbsp;<p>Hi {{contact.first_name}},</p><p>This month's tips.</p></div>"),
        "risky-merge-field",
        Some("e"),
    );
    silent(
        &mail("<p>Hi {{contact.first_name | default: \"there\"}},</p><p>Tips.</p>"),
        "risky-merge-field",
    );
    // Not a greeting: the field 40 visible characters in.
    silent(
        &mail("<p>This month we have three tips for you, {{contact.first_name}}.</p>"),
        "risky-merge-field",
    );
}

// ---------------------------------------------------------------- message-burst

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

// ---------------------------------------------------------------- review of realistic workflows

/// A plain wait of `m` minutes with no sending window.
fn bare_wait(id: &str, minutes: u32) -> Value {
    s(
        id,
        "wait",
        json!({"type": "time", "startAfter": {"type": "minutes", "value": minutes}}),
    )
}

fn severity_of(r: &crate::AnalysisResult, rule: &str) -> Vec<crate::Severity> {
    r.issues
        .iter()
        .filter(|i| i.rule_id == rule)
        .map(|i| i.severity)
        .collect()
}

#[test]
fn sms_without_opt_out_reads_who_started_the_exchange_and_what_is_sold() {
    let missed_call = json!([{"id": "t1", "type": "call_status", "active": true,
        "conditions": [{"field": "call.status", "operator": "is-any-of", "value": ["no-answer"]}]}]);
    // A text-back to the contact's own call is a conversation they started.
    silent(
        &body_with(
            chain(vec![sms(
                "m",
                "Sorry we missed your call! How can we help?",
            )]),
            missed_call.clone(),
            json!({}),
        ),
        "sms-without-opt-out",
    );
    // The same trigger used to push an offer is a program again, at high.
    let r = fires_on(
        &body_with(
            chain(vec![sms("m", "Missed you! Book today for 20% off.")]),
            missed_call,
            json!({}),
        ),
        "sms-without-opt-out",
        Some("m"),
    );
    assert_eq!(
        severity_of(&r, "sms-without-opt-out"),
        [crate::Severity::High]
    );
    // A service text on a form trigger: still judged, at medium.
    let service = body(chain(vec![
        tag("a"),
        sms("m", "Please upload your documents to the portal."),
    ]));
    let r = fires_on(&service, "sms-without-opt-out", Some("m"));
    assert_eq!(
        severity_of(&r, "sms-without-opt-out"),
        [crate::Severity::Medium]
    );
    // The location's SMS compliance setting appends the line itself.
    silent(
        &json!({"workflows": [service], "locationSettings": {"smsOptOutMessage": true}}),
        "sms-without-opt-out",
    );
}

#[test]
fn no_stop_on_response_counts_touches_and_spares_newsletters() {
    // Three messages, but the SMS and the email of each moment go out together: two touches.
    let together = body_with(
        chain(vec![
            sms("a", "This is Acme: your quote is ready."),
            email(
                "b",
                json!({"subject": "Your quote", "html": "<p>Your quote is attached.</p>"}),
            ),
            wait_days("w", 2),
            sms("c", "This is Acme: any questions about the quote?"),
        ]),
        form_trigger(),
        json!({"stopOnResponse": false}),
    );
    silent(&together, "no-stop-on-response");
    // A third moment makes it a cadence.
    let mut steps = together["workflow"]["workflowData"]["templates"]
        .as_array()
        .unwrap()
        .clone();
    steps.iter_mut().for_each(|v| {
        v.as_object_mut().unwrap().remove("next");
        v.as_object_mut().unwrap().remove("parentKey");
    });
    steps.push(wait_days("w2", 2));
    steps.push(sms(
        "d",
        "This is Acme: last chance to ask about the quote.",
    ));
    fires_on(
        &body_with(
            chain(steps),
            form_trigger(),
            json!({"stopOnResponse": false}),
        ),
        "no-stop-on-response",
        None,
    );
    // A monthly newsletter: emails only, weeks apart.
    let issue = |id: &str| {
        email(
            id,
            json!({"subject": "News", "html": "<p>This month's tips.</p>"}),
        )
    };
    let newsletter = body_with(
        chain(vec![
            issue("n1"),
            wait_days("w1", 30),
            issue("n2"),
            wait_days("w2", 30),
            issue("n3"),
        ]),
        form_trigger(),
        json!({"stopOnResponse": false}),
    );
    silent(&newsletter, "no-stop-on-response");
    // The same emails two days apart are a cadence.
    fires_on(
        &body_with(
            chain(vec![
                issue("n1"),
                wait_days("w1", 2),
                issue("n2"),
                wait_days("w2", 2),
                issue("n3"),
            ]),
            form_trigger(),
            json!({"stopOnResponse": false}),
        ),
        "no-stop-on-response",
        None,
    );
}

/// A monthly newsletter that loops: the email, three days to see whether it was opened, a tag
/// when it was, then 27 days and back to the email. The three-day wait releases no email, so the
/// cadence is monthly: no `no-stop-on-response` (it counted the one email once per wait).
#[test]
fn no_stop_on_response_spares_a_looped_newsletter_with_a_short_check_wait() {
    let next = |mut v: Value, to: &str| {
        v["next"] = json!(to);
        v
    };
    let goto = |id: &str| {
        json!({"id": id, "type": "goto", "name": "Back to the newsletter",
               "attributes": {"targetNodeId": "n1"}})
    };
    let mut steps = vec![
        next(
            email(
                "n1",
                json!({"subject": "This month", "html": "<p>This month's tips.</p>"}),
            ),
            "w1",
        ),
        next(wait_days("w1", 3), "c"),
    ];
    steps.extend(super::if_else_branches(
        "c",
        "Opened?",
        json!([{"field": "email.opened", "operator": "==", "value": true}]),
        "w1",
        "t",
        "wn",
    ));
    steps.extend([
        next(tag("t"), "wy"),
        next(wait_days("wy", 27), "gy"),
        goto("gy"),
        next(wait_days("wn", 27), "gn"),
        goto("gn"),
    ]);
    silent(
        &body_with(steps, form_trigger(), json!({"stopOnResponse": false})),
        "no-stop-on-response",
    );
}

#[test]
fn send_without_window_spares_a_short_first_pause_and_weighs_emails_lower() {
    // Fifteen minutes after the contact's own action: sent when they acted.
    silent(
        &body(chain(vec![
            bare_wait("w", 15),
            sms("m", "This is Acme: thanks for your request!"),
        ])),
        "send-without-window",
    );
    // The same pause after an earlier wait can land anywhere in the day.
    fires_on(
        &body(chain(vec![
            sms("a", "This is Acme: thanks for your request!"),
            bare_wait("w1", 1440),
            bare_wait("w", 15),
            sms("m", "This is Acme: any questions?"),
        ])),
        "send-without-window",
        Some("w"),
    );
    // Only an email follows: medium, not high.
    let r = fires_on(
        &body(chain(vec![
            sms("a", "This is Acme: thanks for your request!"),
            bare_wait("w", 1440),
            email(
                "e",
                json!({"subject": "Following up", "html": "<p>Any questions?</p>"}),
            ),
        ])),
        "send-without-window",
        Some("w"),
    );
    assert_eq!(
        severity_of(&r, "send-without-window"),
        [crate::Severity::Medium]
    );
}

#[test]
fn a_drip_started_by_a_reply_is_a_campaign_not_a_conversation() {
    let replied = json!([{"id": "t1", "type": "customer_replied", "active": true,
        "conditions": [{"field": "channel", "operator": "==", "value": "sms"}]}]);
    // One answer to the contact's reply: a conversation.
    silent(
        &body_with(
            chain(vec![sms("a", "Thanks! Someone will text you shortly.")]),
            replied.clone(),
            json!({}),
        ),
        "sms-without-opt-out",
    );
    // Three texts days apart after it: a campaign, judged like any other.
    fires_on(
        &body_with(
            chain(vec![
                sms("a", "Thanks for your reply!"),
                wait_days("w1", 2),
                sms("b", "Here are our services."),
                wait_days("w2", 2),
                sms("c", "Any questions about our services?"),
            ]),
            replied,
            json!({}),
        ),
        "sms-without-opt-out",
        Some("a"),
    );
}

#[test]
fn send_without_window_is_medium_after_whole_days_from_a_staff_action_only() {
    // A proposal follow-up started when a salesperson moves the deal to "Proposal sent": texts
    // two and five days later keep the time of day the deal was moved.
    let stage = json!([{"id": "t1", "type": "pipeline_stage_updated", "name": "Proposal sent",
        "masterType": "highlevel", "active": true,
        "conditions": [{"field": "opportunity.pipelineId", "operator": "==", "value": "p1"},
                       {"field": "opportunity.pipelineStageId", "operator": "==", "value": "s3"}]}]);
    let follow_up = |waits: Vec<Value>| {
        let mut steps = vec![sms(
            "a",
            "This is Acme: your proposal is in your inbox. Reply STOP to opt out",
        )];
        for (k, w) in waits.into_iter().enumerate() {
            steps.push(w);
            steps.push(sms(
                &format!("m{k}"),
                "This is Acme: any questions on the proposal?",
            ));
        }
        chain(steps)
    };
    let at = |steps: Vec<Value>, triggers: Value| {
        let r = fires_on(
            &body_with(steps, triggers, json!({})),
            "send-without-window",
            Some("w2"),
        );
        severity_of(&r, "send-without-window")
    };
    let days = |id: &str, d: u32| bare_wait(id, d * 1440);
    assert_eq!(
        at(follow_up(vec![days("w1", 2), days("w2", 3)]), stage.clone()),
        [crate::Severity::Medium]
    );
    // The other staff triggers: an opportunity's status, a user assigned, a manual add.
    for kind in [
        "opportunity_status_changed",
        "user_assigned_to_contact",
        "manual",
    ] {
        let t = json!([{"id": "t1", "type": kind, "active": true,
            "conditions": [{"field": "opportunity.status", "operator": "==", "value": "won"}]}]);
        assert_eq!(
            at(follow_up(vec![days("w1", 2), days("w2", 3)]), t),
            [crate::Severity::Medium],
            "{kind}"
        );
    }
    // An appointment marked a no-show (or showed) by the team.
    for status in ["noshow", "no_show", "showed"] {
        let t = json!([{"id": "t1", "type": "appointment", "active": true,
            "conditions": [{"field": "appointment.status", "operator": "==", "value": status}]}]);
        assert_eq!(
            at(follow_up(vec![days("w1", 2), days("w2", 3)]), t),
            [crate::Severity::Medium],
            "{status}"
        );
    }
    // "Any status but no-show" is every booking: still high.
    let not_noshow = json!([{"id": "t1", "type": "appointment", "active": true,
        "conditions": [{"field": "appointment.status", "operator": "!=", "value": "noshow"}]}]);
    assert_eq!(
        at(follow_up(vec![days("w1", 2), days("w2", 3)]), not_noshow),
        [crate::Severity::High]
    );
    // A booking is the contact's action: still high.
    let booked = json!([{"id": "t1", "type": "appointment", "active": true,
        "conditions": [{"field": "appointment.status", "operator": "==", "value": "confirmed"}]}]);
    assert_eq!(
        at(follow_up(vec![days("w1", 2), days("w2", 3)]), booked),
        [crate::Severity::High]
    );
    // Near misses, still high: a contact's own action (a form at 11 pm), a staff trigger beside
    // a contact trigger, a wait that is not whole days (26 hours) on the way, a reply wait before
    // the day wait, and no triggers at all.
    let high = [crate::Severity::High];
    assert_eq!(
        at(
            follow_up(vec![days("w1", 2), days("w2", 3)]),
            super::form_trigger()
        ),
        high
    );
    let mut both = stage.clone();
    both.as_array_mut()
        .unwrap()
        .push(super::form_trigger()[0].clone());
    assert_eq!(
        at(follow_up(vec![days("w1", 2), days("w2", 3)]), both),
        high
    );
    assert_eq!(
        at(
            follow_up(vec![bare_wait("w1", 26 * 60), days("w2", 3)]),
            stage.clone()
        ),
        high
    );
    let reply = s(
        "w1",
        "wait",
        json!({"type": "reply", "startAfter": {"type": "days", "value": 1}, "timeout": true}),
    );
    assert_eq!(
        at(follow_up(vec![reply, days("w2", 3)]), stage.clone()),
        high
    );
    // A drip step before the day waits releases contacts in batches over the hours.
    let drip = s(
        "w1",
        "drip",
        json!({"batchSize": 10, "interval": {"value": 30, "type": "minutes"}}),
    );
    assert_eq!(
        at(follow_up(vec![drip, days("w2", 3)]), stage.clone()),
        high
    );
    // A window on an earlier wait brings the time of day into hours: the later whole days keep it.
    assert_eq!(
        at(
            follow_up(vec![
                bare_wait("w1", 26 * 60)
                    .as_object()
                    .cloned()
                    .map(|mut o| {
                        o["attributes"]["window"] = json!({"start": "09:00", "end": "17:00"});
                        Value::Object(o)
                    })
                    .unwrap(),
                days("w2", 3)
            ]),
            stage
        ),
        [crate::Severity::Medium]
    );
}
