//! Issue 11, appointment and consent rules of the third batch: reminder ladders, reminders after cancellation, deprecated appointment types, postal addresses, bulk SMS consent: each fires on the right step, has a near miss, and needs-data rules are
//! skipped with their reason when the data is absent.

use serde_json::{json, Value};

use super::{body, body_with, chain, fires_on, hits, run, s, silent};

fn sms(id: &str, text: &str) -> Value {
    s(id, "sms", json!({"body": text}))
}
fn email(id: &str, html: &str) -> Value {
    s(
        id,
        "email",
        json!({"subject": "News from Acme", "html": html}),
    )
}
/// A wait relative to the appointment, e.g. `event_wait("w", 24, "hours", "before")`.
fn event_wait(id: &str, value: u32, unit: &str, when: &str) -> Value {
    s(
        id,
        "wait",
        json!({"type": "appointment", "startAfter": {"type": unit, "value": value, "when": when},
               "window": {"start": "09:00", "end": "18:00"}}),
    )
}
fn reminder(id: &str) -> Value {
    sms(
        id,
        "This is Acme: reminder, your appointment is coming up. Reply STOP to opt out",
    )
}
fn appointment_trigger(conditions: Value) -> Value {
    json!([{"id": "t1", "name": "Appointment", "type": "appointment", "active": true,
            "conditions": conditions}])
}
fn trigger(kind: &str, conditions: Value) -> Value {
    json!([{"id": "t1", "name": "Enrollment", "type": kind, "active": true, "conditions": conditions}])
}
/// A step with an explicit `next` (omitted when null) and `parentKey`.
fn linked(mut step: Value, next: Value, parent_key: &str) -> Value {
    if let Some(o) = step.as_object_mut() {
        if !next.is_null() {
            o.insert("next".into(), next);
        }
        if !parent_key.is_empty() {
            o.insert("parentKey".into(), json!(parent_key));
        }
    }
    step
}
/// An if/else container `id` (conditions on its first branch) with a `yes` branch leading to
/// `yes_next` and a None branch leading to `no_next`.
fn if_else(
    id: &str,
    name: &str,
    conditions: Value,
    parent: &str,
    yes_next: &str,
    no_next: &str,
) -> Vec<Value> {
    let branch = |bid: String, bname: &str, node: &str, next: &str| {
        json!({"id": bid, "type": "if_else", "name": bname, "nodeType": node, "parent": id,
               "parentKey": id, "next": next, "attributes": {}})
    };
    vec![
        json!({"id": id, "type": "if_else", "name": name, "cat": "conditions", "nodeType": "condition-node",
               "parentKey": parent, "next": [format!("{id}_yes"), format!("{id}_no")],
               "attributes": {"branches": [{"name": "Yes", "conditions": conditions}]}}),
        branch(format!("{id}_yes"), "Yes", "branch-yes", yes_next),
        branch(format!("{id}_no"), "None", "branch-no", no_next),
    ]
}
fn skipped_reason(v: &Value, rule: &str) -> Option<String> {
    run(v)
        .skipped_rules
        .into_iter()
        .find(|k| k.rule_id == rule)
        .map(|k| k.reason)
}
fn no_triggers(steps: Vec<Value>) -> Value {
    json!({"workflow": {"_id": "wf1", "name": "Lead follow-up", "status": "published",
                        "workflowData": {"templates": steps}}})
}

// ---------------------------------------------------------------- reminder-ladder-backwards

#[test]
fn reminder_ladder_backwards_fires_on_the_wait_further_out_than_the_one_before() {
    let r = fires_on(
        &body(chain(vec![
            event_wait("w1", 2, "hours", "before_appointment"),
            reminder("r1"),
            event_wait("w2", 1, "days", "before_appointment"),
            reminder("r2"),
        ])),
        "reminder-ladder-backwards",
        Some("w2"),
    );
    assert_eq!(
        hits(&r, "reminder-ladder-backwards"),
        vec![Some("w2".to_owned())]
    );
    // An "after" wait followed by a "before" wait has passed too.
    fires_on(
        &body(chain(vec![
            event_wait("w1", 1, "hours", "after"),
            sms("t", "This is Acme: thanks for coming! Reply STOP"),
            event_wait("w2", 3, "hours", "before"),
            reminder("r2"),
        ])),
        "reminder-ladder-backwards",
        Some("w2"),
    );
}

#[test]
fn reminder_ladder_backwards_fires_when_the_first_reminder_leaves_no_time_to_reschedule() {
    let r = fires_on(
        &body(chain(vec![
            event_wait("w", 30, "minutes", "before_appointment"),
            reminder("r"),
            event_wait("w2", 1, "hours", "after_appointment"),
            sms("t", "This is Acme: how was your visit? Reply STOP"),
        ])),
        "reminder-ladder-backwards",
        Some("w"),
    );
    // A lone late reminder is no ladder: a choice, not judged.
    silent(
        &body(chain(vec![
            event_wait("w", 30, "minutes", "before_appointment"),
            reminder("r"),
        ])),
        "reminder-ladder-backwards",
    );
    let issue = r
        .issues
        .iter()
        .find(|i| i.rule_id == "reminder-ladder-backwards")
        .unwrap();
    assert!(
        issue.message.contains("no time to reschedule"),
        "{}",
        issue.message
    );
}

#[test]
fn reminder_ladder_counting_down_is_silent() {
    silent(
        &body(chain(vec![
            event_wait("w1", 1, "days", "before_appointment"),
            reminder("r1"),
            event_wait("w2", 1, "hours", "before_appointment"),
            reminder("r2"),
            event_wait("w3", 2, "hours", "after_appointment"),
            sms("t", "This is Acme: how was your visit? Reply STOP"),
        ])),
        "reminder-ladder-backwards",
    );
    // A late wait with no message after it times no reminder; an unreadable side is not judged.
    silent(
        &body(chain(vec![
            event_wait("w1", 15, "minutes", "before"),
            s("t", "add_contact_tag", json!({"tags": ["soon"]})),
        ])),
        "reminder-ladder-backwards",
    );
    silent(
        &body(chain(vec![
            s(
                "w1",
                "wait",
                json!({"type": "appointment", "startAfter": {"type": "hours", "value": 1}}),
            ),
            reminder("r1"),
        ])),
        "reminder-ladder-backwards",
    );
}

// ---------------------------------------------------------------- reminder-after-cancellation

fn reminder_flow() -> Vec<Value> {
    chain(vec![
        sms("c", "This is Acme: your booking is confirmed. Reply STOP"),
        event_wait("w", 1, "days", "before_appointment"),
        reminder("r"),
    ])
}

#[test]
fn reminder_after_cancellation_fires_when_nothing_stops_a_cancelled_contact() {
    // No status filter (trigger-without-filter reports the trigger; this rule the reminder).
    fires_on(
        &body_with(
            reminder_flow(),
            appointment_trigger(
                json!([{"field": "calendarId", "operator": "==", "value": "cal_1"}]),
            ),
            json!({}),
        ),
        "reminder-after-cancellation",
        Some("r"),
    );
    // A status filter that lets cancelled appointments in.
    let r = fires_on(
        &body_with(
            reminder_flow(),
            appointment_trigger(
                json!([{"field": "appointmentStatus", "operator": "in", "value": ["confirmed", "cancelled"]}]),
            ),
            json!({}),
        ),
        "reminder-after-cancellation",
        Some("r"),
    );
    // The confirmation before the wait is not a reminder after a wait.
    assert_eq!(
        hits(&r, "reminder-after-cancellation"),
        vec![Some("r".to_owned())]
    );
}

#[test]
fn reminder_after_cancellation_is_silent_with_a_goal_a_status_check_or_a_status_filter() {
    let unfiltered = || appointment_trigger(json!([]));
    let mut with_goal = reminder_flow();
    with_goal.push(s("g", "workflow_goal", json!({})));
    silent(
        &body_with(chain(with_goal), unfiltered(), json!({})),
        "reminder-after-cancellation",
    );
    let mut checked = vec![
        linked(sms("c", "This is Acme: booked! Reply STOP"), json!("w"), ""),
        linked(
            event_wait("w", 1, "days", "before_appointment"),
            json!("k"),
            "c",
        ),
    ];
    checked.extend(if_else(
        "k",
        "Still on?",
        json!([{"field": "appointment.status", "operator": "!=", "value": "cancelled"}]),
        "w",
        "r",
        "x",
    ));
    checked.push(linked(reminder("r"), Value::Null, "k_yes"));
    checked.push(linked(
        s("x", "add_contact_tag", json!({"tags": ["cancelled"]})),
        Value::Null,
        "k_no",
    ));
    silent(
        &body_with(checked, unfiltered(), json!({})),
        "reminder-after-cancellation",
    );
    for status in ["confirmed", "booked"] {
        silent(
            &body_with(
                reminder_flow(),
                appointment_trigger(
                    json!([{"field": "appointmentStatus", "operator": "==", "value": status}]),
                ),
                json!({}),
            ),
            "reminder-after-cancellation",
        );
    }
    silent(
        &body_with(
            reminder_flow(),
            appointment_trigger(
                json!([{"field": "status", "operator": "not_in", "value": ["cancelled"]}]),
            ),
            json!({}),
        ),
        "reminder-after-cancellation",
    );
}

#[test]
fn reminder_after_cancellation_is_skipped_without_triggers() {
    let reason = skipped_reason(&no_triggers(reminder_flow()), "reminder-after-cancellation");
    assert!(reason.is_some_and(|r| r.contains("triggers")));
}

// ---------------------------------------------------------------- deprecated-appointment-type

#[test]
fn deprecated_appointment_type_fires_on_legacy_steps_and_triggers() {
    let steps = || {
        chain(vec![
            s("old", "book_appointment_v1", json!({})),
            s("listed", "legacy_calendar_event", json!({})),
            reminder("r"),
        ])
    };
    let r = fires_on(
        &body_with(
            steps(),
            trigger(
                "appointment_deprecated",
                json!([{"field": "status", "value": "confirmed"}]),
            ),
            json!({}),
        ),
        "deprecated-appointment-type",
        Some("old"),
    );
    let h = hits(&r, "deprecated-appointment-type");
    assert!(
        h.contains(&Some("listed".to_owned())) && h.contains(&None),
        "{h:?}"
    );
    // Reported as legacy, not as unknown.
    assert!(hits(&r, "unknown-step-type").is_empty());
    // Steps are judged without triggers too.
    let r = run(&no_triggers(steps()));
    assert_eq!(hits(&r, "deprecated-appointment-type").len(), 2);
}

#[test]
fn deprecated_appointment_type_leaves_current_types_alone() {
    silent(
        &body_with(
            chain(vec![
                s("a", "update_appointment_status", json!({})),
                s("b", "book_appointment", json!({})),
                s("c", "appointment_v10", json!({})),
                s("d", "fb_lead_sync_v1", json!({})),
                reminder("r"),
            ]),
            trigger(
                "customer_booked_appointment",
                json!([{"field": "status", "value": "booked"}]),
            ),
            json!({}),
        ),
        "deprecated-appointment-type",
    );
}

// ---------------------------------------------------------------- email-without-postal-address

const UNSUB: &str =
    "<p>We opened a second clinic downtown.</p><a href=\"{{unsubscribe_link}}\">Unsubscribe</a>";

#[test]
fn email_without_postal_address_fires_on_a_marketing_email_with_no_address() {
    fires_on(
        &body(chain(vec![email("e", UNSUB)])),
        "email-without-postal-address",
        Some("e"),
    );
    // Half an address, or an email address, is not a postal address.
    for footer in [
        "<p>{{location.city}}</p>",
        "<p>{{custom_values.support_email_address}}</p>",
        "<p>Call 555 1234 today</p>",
    ] {
        fires_on(
            &body(chain(vec![email("e", &format!("{UNSUB}{footer}"))])),
            "email-without-postal-address",
            Some("e"),
        );
    }
}

#[test]
fn email_without_postal_address_accepts_merge_fields_and_written_addresses() {
    for footer in [
        "<p>{{location.full_address}}</p>",
        "<p>{{ location.address }}</p>",
        "<p>{{location.city}}, {{location.postal_code}}</p>",
        "<p>{{business.address}}</p>",
        "<p>{{custom_values.mailing_address}}</p>",
        "<p>Acme Dental, 123 Main Street, Springfield</p>",
        "<p>500 North Oak Ave.</p>",
        "<p>Acme, P.O. Box 42</p>",
        "<p>Austin, TX 78701</p>",
        "<p>10 Downing, London SW1A 2AA</p>",
    ] {
        silent(
            &body(chain(vec![email("e", &format!("{UNSUB}{footer}"))])),
            "email-without-postal-address",
        );
    }
    // Transactional email is not judged (as for the unsubscribe link).
    silent(
        &body(chain(vec![s(
            "e",
            "email",
            json!({"subject": "Your receipt", "html": "<p>Thanks for your payment.</p>", "transactional": true}),
        )])),
        "email-without-postal-address",
    );
}

#[test]
fn transactional_wording_exempts_an_email_from_both_footer_rules_unless_it_sells() {
    let reminder = email(
        "e",
        "<p>Reminder: your visit is tomorrow at {{appointment.start_time}}.</p>",
    );
    for rule in ["email-without-postal-address", "email-without-unsubscribe"] {
        silent(&body(chain(vec![reminder.clone()])), rule);
        // The same reminder pushing a discount is marketing again.
        // (In a location whose default unsubscribe footer is off, so both rules judge it.)
        let selling = body(chain(vec![email(
            "e",
            "<p>Your appointment is tomorrow. Book a second one today: 20% off!</p>",
        )]));
        fires_on(
            &json!({"workflows": [selling], "locationSettings": {"defaultUnsubscribeLink": false}}),
            rule,
            Some("e"),
        );
    }
}

// ---------------------------------------------------------------- bulk-sms-without-consent

#[test]
fn bulk_sms_without_consent_fires_on_the_first_unchecked_sms_of_each_path() {
    let r = fires_on(
        &body_with(
            chain(vec![
                s("t", "add_contact_tag", json!({"tags": ["blast"]})),
                sms("a", "This is Acme: 20% off this week. Reply STOP"),
                s(
                    "w",
                    "wait",
                    json!({"type": "time", "startAfter": {"type": "days", "value": 2}, "window": {"start": "09:00", "end": "18:00"}}),
                ),
                sms("b", "This is Acme: last day! Reply STOP"),
            ]),
            trigger("smart_list", json!([])),
            json!({}),
        ),
        "bulk-sms-without-consent",
        Some("a"),
    );
    assert_eq!(
        hits(&r, "bulk-sms-without-consent"),
        vec![Some("a".to_owned())]
    );
    // An if/else on something else checks nothing: both branches' texts fire.
    let mut steps = vec![linked(
        s("t", "add_contact_tag", json!({"tags": ["blast"]})),
        json!("k"),
        "",
    )];
    steps.extend(if_else(
        "k",
        "VIP?",
        json!([{"field": "contact.tags", "operator": "contains", "value": "vip"}]),
        "t",
        "a",
        "b",
    ));
    steps.push(linked(
        sms("a", "This is Acme: VIP offer. Reply STOP"),
        Value::Null,
        "k_yes",
    ));
    steps.push(linked(
        sms("b", "This is Acme: offer. Reply STOP"),
        Value::Null,
        "k_no",
    ));
    let r = run(&body_with(
        steps,
        trigger("scheduler", json!([])),
        json!({}),
    ));
    let mut h = hits(&r, "bulk-sms-without-consent");
    h.sort();
    assert_eq!(h, vec![Some("a".to_owned()), Some("b".to_owned())]);
}

#[test]
fn bulk_sms_without_consent_is_silent_after_a_consent_check_or_a_consent_filter() {
    let mut steps = vec![linked(
        s("t", "add_contact_tag", json!({"tags": ["blast"]})),
        json!("k"),
        "",
    )];
    steps.extend(if_else(
        "k",
        "Can we text?",
        json!([{"field": "contact.sms_consent", "operator": "==", "value": "true"}]),
        "t",
        "a",
        "x",
    ));
    steps.push(linked(
        sms("a", "This is Acme: offer. Reply STOP"),
        Value::Null,
        "k_yes",
    ));
    steps.push(linked(
        s("x", "add_contact_tag", json!({"tags": ["no-consent"]})),
        Value::Null,
        "k_no",
    ));
    silent(
        &body_with(steps, trigger("bulk_action", json!([])), json!({})),
        "bulk-sms-without-consent",
    );
    let texts = || chain(vec![sms("a", "This is Acme: offer. Reply STOP")]);
    silent(
        &body_with(
            texts(),
            trigger(
                "scheduler",
                json!([{"field": "dnd", "operator": "==", "value": "false"}]),
            ),
            json!({}),
        ),
        "bulk-sms-without-consent",
    );
    // A form trigger is not a bulk enrollment.
    silent(&body(texts()), "bulk-sms-without-consent");
}

#[test]
fn bulk_sms_without_consent_is_skipped_without_triggers() {
    let reason = skipped_reason(
        &no_triggers(chain(vec![sms("a", "This is Acme: offer. Reply STOP")])),
        "bulk-sms-without-consent",
    );
    assert!(reason.is_some_and(|r| r.contains("triggers")));
}
