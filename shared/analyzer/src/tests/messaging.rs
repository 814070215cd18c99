//! The messaging rules (empty messages, SMS opt-out, sending windows, unsubscribe links, stop on
//! response, merge fields, SMS bursts): each fires on the right step, has a near miss where it must
//! not, and a rule that needs more than the definition is skipped with its reason when the input
//! lacks it.

use serde_json::{json, Value};

use super::{
    body, body_with, chain, fires_on, form_trigger, hits, run, s, silent, sms, tag, wait_days,
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
fn empty_message_fires_on_a_reminder_that_never_mentions_the_appointment() {
    let reminder = |text: &str| {
        chain(vec![
            json!({"id": "w", "type": "wait", "name": "1 hour before", "attributes": {"type": "appointment",
                   "appointmentStartAfter": {"when": "before", "type": "minutes", "value": 60}}}),
            sms("e", text),
        ])
    };
    let appointment = || json!([{"type": "appointment", "active": true, "conditions": [{"field": "appointment.status", "value": "confirmed"}]}]);
    let r = fires_on(
        &body_with(
            reminder("Thanks for choosing us, we love our customers!"),
            appointment(),
            json!({}),
        ),
        "empty-message",
        Some("e"),
    );
    assert!(r
        .issues
        .iter()
        .any(|i| i.rule_id == "empty-message" && i.severity == crate::Severity::High));
    for near_miss in [
        "See you tomorrow at {{appointment.start_time}}!",
        "Your visit with Dr. Lee starts in an hour.",
    ] {
        silent(
            &body_with(reminder(near_miss), appointment(), json!({})),
            "empty-message",
        );
    }
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
