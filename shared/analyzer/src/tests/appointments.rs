//! The appointment rules (timezones, reminders timed from the booking, no-show checks, reminder
//! ladders, reminders after a cancellation, deprecated appointment types): each fires on the right
//! step, has a near miss where it must not, and a rule that needs more than the definition is
//! skipped with its reason when the input lacks it.

use serde_json::{json, Value};

use super::{
    body, body_with, chain, enrollment_trigger, fires_on, hits, if_else_branches, linked,
    no_triggers, run, s, silent, skipped_reason, sms, wait_days,
};

fn appointment_trigger(status: &str) -> Value {
    json!([{"id": "t1", "type": "appointment", "active": true,
            "conditions": [{"field": "status", "operator": "==", "value": status}]}])
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

fn appointment_trigger_when(conditions: Value) -> Value {
    json!([{"id": "t1", "name": "Appointment", "type": "appointment", "active": true,
            "conditions": conditions}])
}

fn reminder_flow() -> Vec<Value> {
    chain(vec![
        sms("c", "This is Acme: your booking is confirmed. Reply STOP"),
        event_wait("w", 1, "days", "before_appointment"),
        reminder("r"),
    ])
}

// ---------------------------------------------------------------- appointment-time-without-timezone

#[test]
fn appointment_time_without_timezone_fires_on_the_message() {
    fires_on(
        &body(chain(vec![sms(
            "a",
            "This is Acme: see you at {{appointment.start_time}}. Reply STOP",
        )])),
        "appointment-time-without-timezone",
        Some("a"),
    );
    silent(
        &body(chain(vec![sms(
            "a",
            "This is Acme: see you at {{appointment.start_time}} {{appointment.timezone}}. Reply STOP",
        )])),
        "appointment-time-without-timezone",
    );
}

// ---------------------------------------------------------------- reminder-timed-from-booking

#[test]
fn reminder_timed_from_booking_fires_after_a_fixed_wait_only() {
    let reminder = sms(
        "r",
        "This is Acme: reminder, your appointment is tomorrow. Reply STOP",
    );
    fires_on(
        &body_with(
            chain(vec![wait_days("w", 2), reminder.clone()]),
            appointment_trigger("confirmed"),
            json!({}),
        ),
        "reminder-timed-from-booking",
        Some("r"),
    );
    let event_wait = s(
        "w",
        "wait",
        json!({"type": "appointment", "startAfter": {"type": "days", "value": 1, "when": "before"}, "window": {"start": "09:00", "end": "18:00"}}),
    );
    silent(
        &body_with(
            chain(vec![event_wait, reminder.clone()]),
            appointment_trigger("confirmed"),
            json!({}),
        ),
        "reminder-timed-from-booking",
    );
    let bare = json!({"name": "x", "workflowData": {"templates": chain(vec![wait_days("w", 2), reminder])}});
    assert!(skipped_reason(&bare, "reminder-timed-from-booking").is_some());
}

// ---------------------------------------------------------------- no-show-without-status-check

#[test]
fn no_show_without_status_check_fires_unless_the_status_is_checked() {
    let msg = || {
        chain(vec![sms(
            "m",
            "This is Acme: we missed you today! Rebook here. Reply STOP",
        )])
    };
    fires_on(
        &body_with(msg(), appointment_trigger("confirmed"), json!({})),
        "no-show-without-status-check",
        Some("m"),
    );
    silent(
        &body_with(msg(), appointment_trigger("noshow"), json!({})),
        "no-show-without-status-check",
    );
    // An appointment trigger with no status filter at all is trigger-without-filter's (critical):
    // the same missing filter is not counted twice.
    let unfiltered = json!([{"id": "t1", "type": "appointment", "active": true,
        "conditions": [{"field": "calendar.id", "operator": "==", "value": "cal1"}]}]);
    let r = fires_on(
        &body_with(msg(), unfiltered, json!({})),
        "trigger-without-filter",
        None,
    );
    assert!(!r
        .issues
        .iter()
        .any(|i| i.rule_id == "no-show-without-status-check"));
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

#[test]
fn reminder_after_cancellation_fires_when_nothing_stops_a_cancelled_contact() {
    // No status filter (trigger-without-filter reports the trigger; this rule the reminder).
    fires_on(
        &body_with(
            reminder_flow(),
            appointment_trigger_when(
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
            appointment_trigger_when(
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
    let unfiltered = || appointment_trigger_when(json!([]));
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
    checked.extend(if_else_branches(
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
                appointment_trigger_when(
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
            appointment_trigger_when(
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
            enrollment_trigger(
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
            enrollment_trigger(
                "customer_booked_appointment",
                json!([{"field": "status", "value": "booked"}]),
            ),
            json!({}),
        ),
        "deprecated-appointment-type",
    );
}

// ---------------------------------------------------------------- reminder-without-context

#[test]
fn reminder_without_context_fires_on_a_reminder_that_never_says_what_for() {
    let reminder = |when: &str, text: &str| {
        chain(vec![
            json!({"id": "w", "type": "wait", "name": "1 hour", "attributes": {"type": "appointment",
                   "appointmentStartAfter": {"when": when, "type": "minutes", "value": 60}}}),
            sms("e", text),
        ])
    };
    let appointment = || json!([{"type": "appointment", "active": true, "conditions": [{"field": "appointment.status", "value": "confirmed"}]}]);
    fires_on(
        &body_with(
            reminder("before", "Thanks for choosing us, we love our customers!"),
            appointment(),
            json!({}),
        ),
        "reminder-without-context",
        Some("e"),
    );
    for near_miss in [
        "See you tomorrow at {{appointment.start_time}}!",
        "Your visit with Dr. Lee starts in an hour.",
        "We go live in 1 hour (12 PM ET): grab a coffee!",
        "Doors open at 6:30, bring a friend.",
        "Hi Sam, your dental cleaning with Dr. Lee is on Monday, March 3. Reply C to confirm.",
        "Hola {{contact.first_name}}, le recordamos su cita con el Dr. Lee mañana a las 3.",
        "Rappel : votre RDV demain à 14h30 chez Dr. Lee.",
        "Hi Sam, your cleaning with Dr. Lee is in 2 hrs. Reply C to confirm.",
        "Quick heads-up: your property showing at 12 Oak St is Saturday. Reply C to confirm.",
        "Your cleaning is on 3/12, reply C to confirm.",
    ] {
        silent(
            &body_with(reminder("before", near_miss), appointment(), json!({})),
            "reminder-without-context",
        );
    }
    // Multi-byte text right before a number (a str slice of the two bytes before it would split
    // the euro sign): read, not a panic; no context word in it, so it fires.
    fires_on(
        &body_with(
            reminder("before", "Prix: 5€ 5 minutes avant, à 5 heures."),
            appointment(),
            json!({}),
        ),
        "reminder-without-context",
        Some("e"),
    );
    // A reminder that says only "Welcome!" is one finding, empty-message's, not two.
    let welcome = body_with(reminder("before", "Welcome!"), appointment(), json!({}));
    fires_on(&welcome, "empty-message", Some("e"));
    silent(&welcome, "reminder-without-context");
    // Words inside other words are no context: "deliver", "prevent", "recall".
    fires_on(
        &body_with(
            reminder(
                "before",
                "We deliver great care and prevent problems. Recall our motto!",
            ),
            appointment(),
            json!({}),
        ),
        "reminder-without-context",
        Some("e"),
    );
    // Behind the usual "still confirmed?" if/else, the message is still the reminder.
    let mut steps = vec![
        json!({"id": "w", "type": "wait", "name": "1 hour", "attributes": {"type": "appointment",
        "appointmentStartAfter": {"when": "before", "type": "minutes", "value": 60}}, "next": "c"}),
    ];
    steps.extend(if_else_branches(
        "c",
        "Still confirmed?",
        json!([{"field": "appointment.status", "operator": "==", "value": "confirmed"}]),
        "w",
        "e",
        "",
    ));
    steps.push(
        json!({"id": "e", "type": "sms", "name": "Reminder", "parentKey": "c_yes",
        "attributes": {"body": "Thanks for choosing us, we love our customers!"}}),
    );
    fires_on(
        &body_with(steps, appointment(), json!({})),
        "reminder-without-context",
        Some("e"),
    );
    // After the appointment it is a follow-up (a thank-you, a replay), not a reminder.
    silent(
        &body_with(
            reminder("after", "Thanks for choosing us, we love our customers!"),
            appointment(),
            json!({}),
        ),
        "reminder-without-context",
    );
}

// ---------------------------------------------------------------- review of realistic workflows

#[test]
fn no_show_wording_is_matched_as_whole_phrases_about_an_appointment() {
    let call = json!([{"id": "t1", "type": "call_status", "active": true,
        "conditions": [{"field": "call.status", "operator": "==", "value": "no-answer"}]}]);
    // "we missed your call" is not "we missed you".
    silent(
        &body_with(
            chain(vec![sms(
                "m",
                "Sorry we missed your call! How can we help?",
            )]),
            call.clone(),
            json!({}),
        ),
        "no-show-without-status-check",
    );
    // "We missed you" with no appointment anywhere (a call trigger, no appointment word).
    silent(
        &body_with(
            chain(vec![sms("m", "We missed you! Call us back any time.")]),
            call,
            json!({}),
        ),
        "no-show-without-status-check",
    );
    // About an appointment, with nothing checking its status: fires.
    fires_on(
        &body(chain(vec![sms(
            "m",
            "We missed you at your appointment today. Book again here.",
        )])),
        "no-show-without-status-check",
        Some("m"),
    );
}

#[test]
fn reminder_timed_from_booking_reads_post_appointment_triggers_and_see_you_in() {
    let steps = |text: &str| chain(vec![wait_days("w", 1), sms("m", text)]);
    // A no-show trigger's waits count from the no-show, and its message is not a reminder.
    silent(
        &body_with(
            steps("We missed you at your appointment today."),
            appointment_trigger("noshow"),
            json!({}),
        ),
        "reminder-timed-from-booking",
    );
    // On a booking trigger, "see you in 1 hour" after a fixed wait is a mistimed reminder.
    fires_on(
        &body_with(
            steps("See you in 1 hour!"),
            appointment_trigger("confirmed"),
            json!({}),
        ),
        "reminder-timed-from-booking",
        Some("m"),
    );
}
