//! The wait rules (timeouts, very long waits, missing durations, event waits without an event):
//! each fires on the right step, has a near miss where it must not, and a rule that needs more than
//! the definition is skipped with its reason when the input lacks it.

use serde_json::json;

use super::{body, body_with, chain, fires_on, s, silent, tag, wait_days};
use crate::Severity;

// ---------------------------------------------------------------- wait-without-timeout

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

// ---------------------------------------------------------------- wait-too-long

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

// ---------------------------------------------------------------- wait-misconfigured

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

// ---------------------------------------------------------------- event-wait-without-anchor

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
    // HighLevel's own names of the set-event-start-date action and of the conversation AI's
    // booking step anchor the wait too.
    for kind in ["event_start_date", "conversationai_book_appointment"] {
        let anchor = s(
            "a",
            kind,
            json!({"type": kind, "event_start_type": "custom_field", "value": "{{contact.event_date}}"}),
        );
        silent(
            &body(chain(vec![anchor, ev(), tag("b")])),
            "event-wait-without-anchor",
        );
    }
    // Near miss: the same action after the wait anchors nothing.
    let late = s(
        "a",
        "event_start_date",
        json!({"type": "event_start_date", "event_start_type": "custom_field"}),
    );
    let r = fires_on(
        &body(chain(vec![tag("t"), ev(), late])),
        "event-wait-without-anchor",
        Some("w"),
    );
    // The reminders go out at the wrong time or never: critical, like a wait with no duration.
    assert!(r.issues.iter().any(
        |i| i.rule_id == "event-wait-without-anchor" && i.severity == crate::Severity::Critical
    ));
    // The builder's older workflow-level event start date anchors every event wait; an empty
    // one anchors nothing.
    silent(
        &body_with(
            chain(vec![tag("a"), ev(), tag("b")]),
            super::form_trigger(),
            json!({"eventStartDate": "2026-12-10T17:00:00.000Z"}),
        ),
        "event-wait-without-anchor",
    );
    fires_on(
        &body_with(
            chain(vec![tag("a"), ev(), tag("b")]),
            super::form_trigger(),
            json!({"eventStartDate": ""}),
        ),
        "event-wait-without-anchor",
        Some("w"),
    );
    fires_on(
        &body_with(
            chain(vec![tag("a"), ev(), tag("b")]),
            super::form_trigger(),
            json!({"eventStartDate": {}}),
        ),
        "event-wait-without-anchor",
        Some("w"),
    );
    // A workflow with no active trigger is entered from another (add to workflow), which may
    // pass the appointment along: not judged.
    silent(
        &body_with(chain(vec![tag("a"), ev(), tag("b")]), json!([]), json!({})),
        "event-wait-without-anchor",
    );
}
