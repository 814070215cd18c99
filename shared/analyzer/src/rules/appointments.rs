//! Appointments: times without a timezone, reminders timed from the booking, no-show
//! follow-ups that check nothing, reminder ladders out of order, reminders that outlive a
//! cancellation, and deprecated appointment types.

use std::collections::VecDeque;

use super::waits::{event_offset, WaitKind};
use super::{exits_workflow, if_else_checks, merge_names, quoted, Ctx, Finding, Rule};
use crate::model::{
    contains_any_ci, contains_any_phrase_ci, contains_ci, starts_with_ci, Kind, Role, Trigger,
};

const REMINDER: &[&str] = &[
    "reminder",
    "your appointment is",
    "appointment tomorrow",
    "see you tomorrow",
    "see you in",
    "appointment today",
    "starts in",
    "starting in",
];
const NO_SHOW: &[&str] = &[
    "no-show",
    "no show",
    "no-shows",
    "no shows",
    "missed your appointment",
    "missed our appointment",
    "we missed you",
];
const NO_SHOW_STATUS: &[&str] = &["noshow", "no_show", "no-show", "no show", "missed"];
/// Appointment statuses after the appointment's time (or instead of it): a workflow started by one
/// of them follows up on what happened, it does not remind.
const AFTER_STATUS: &[&str] = &[
    "noshow",
    "no_show",
    "no-show",
    "no show",
    "missed",
    "showed",
    "completed",
    "cancel",
    "invalid",
];
/// Words that put a message about a no-show in the context of an appointment.
const APPOINTMENT_WORDS: &[&str] = &[
    "appointment",
    "consultation",
    "session",
    "booking",
    "visit",
    "meeting",
];
/// Words of an if/else that checks the appointment's status (`reminder-after-cancellation`).
const STATUS_CHECK: &[&str] = &["status", "cancel"];
/// A first reminder closer to the start than this leaves no time to reschedule.
const RESCHEDULE_MINUTES: f64 = 120.0;

/// Step and trigger types known or believed to be legacy appointment types. HighLevel publishes no
/// list of retired keys we could verify, so this is a maintained starting point: add a key here
/// when HighLevel retires one. Types named like a legacy appointment type are caught without
/// being listed (see [`is_deprecated_appointment_type`]).
pub(crate) const DEPRECATED_APPOINTMENT_TYPES: &[&str] = &[
    "appointment_v1",
    "legacy_appointment",
    "appointment_legacy",
    "calendar_v1",
    "legacy_calendar",
    "legacy_calendar_event",
    "booking_v1",
    "legacy_booking",
];

/// Whether a step or trigger type is a legacy appointment type: listed in
/// [`DEPRECATED_APPOINTMENT_TYPES`], or naming an appointment, calendar or booking together with a
/// `legacy`, `deprecated`, `old` or `v1` word (words split on `_`, `-`, `.` and spaces, so
/// `appointment_v10` and `bold_calendar` are not caught).
pub(crate) fn is_deprecated_appointment_type(kind: &str) -> bool {
    // Every listed type names one of these too: the cheap test first.
    if !contains_any_ci(kind, &["appointment", "calendar", "booking"]) {
        return false;
    }
    let kind = kind.trim();
    DEPRECATED_APPOINTMENT_TYPES
        .iter()
        .any(|d| d.eq_ignore_ascii_case(kind))
        || kind.split(|c: char| !c.is_ascii_alphanumeric()).any(|w| {
            ["legacy", "deprecated", "old", "v1"]
                .iter()
                .any(|m| w.eq_ignore_ascii_case(m))
        })
}

pub(super) fn run(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let g = ctx.g;
    let steps = &ctx.w.steps;
    let n = g.len();
    let outbound = |i: usize| g.kinds[i].is_outbound() && !g.disabled[i];
    let says = |i: usize, list: &[&str]| g.says_any(i, list);

    reminder_ladder(ctx, out);
    reminder_without_context(ctx, out);
    deprecated_types(ctx, out);
    if let Some(triggers) = &ctx.w.triggers {
        reminder_after_cancellation(ctx, triggers, out);
    }

    for i in (0..n).filter(|&i| outbound(i)) {
        let s = &steps[i];
        let time_field = g.texts(i).find_map(|t| {
            merge_names(t).find(|name| {
                starts_with_ci(name, "appointment.")
                    && contains_ci(name, "time")
                    && !contains_ci(name, "timezone")
            })
        });
        let Some(f) = time_field else { continue };
        let zoned = g.says_any(i, &["timezone", "time zone"]);
        if !zoned {
            ctx.emit(out, Rule::AppointmentTimeWithoutTimezone, Some(i), || {
                format!("{} gives {{{{{f}}}}} with no timezone.", quoted(s.label()))
            });
        }
    }

    let Some(triggers) = &ctx.w.triggers else {
        return;
    };
    let active = || triggers.iter().filter(|t| t.active);
    // reminder-timed-from-booking (not when every appointment trigger starts from a status after
    // the appointment, a no-show or a cancellation: its fixed waits count from that status)
    if active().any(|t| t.kind.contains("appointment") && !after_appointment(t)) {
        let is_wait = |i: usize, event: bool| {
            g.live(i, Kind::Wait)
                && (matches!(ctx.wait_kind(i), WaitKind::EventRelative) == event)
                && (event || matches!(ctx.wait_kind(i), WaitKind::Time(_)))
        };
        let after_time = g.after((0..n).filter(|&i| is_wait(i, false)), |_| false);
        let after_event = g.after((0..n).filter(|&i| is_wait(i, true)), |_| false);
        for i in (0..n).filter(|&i| outbound(i) && after_time[i] && !after_event[i]) {
            if says(i, REMINDER) {
                ctx.emit(
                    out,
                    Rule::ReminderTimedFromBooking,
                    Some(i),
                    || format!(
                        "Reminder {} follows a fixed wait from the booking, not a wait relative to the appointment.",
                        quoted(steps[i].label())
                    ),
                );
            }
        }
    }
    // no-show-without-status-check
    let status_checked = active().any(|t| {
        contains_any_ci(&t.kind, NO_SHOW_STATUS)
            || t.conditions.iter().any(|c| {
                c.value_strings()
                    .iter()
                    .any(|v| contains_any_ci(v, NO_SHOW_STATUS))
            })
    });
    // An appointment trigger with no status filter at all is `trigger-without-filter`'s
    // (critical): the same missing filter is not counted twice.
    let unfiltered = active()
        .any(|t| contains_ci(&t.kind, "appointment") && super::triggers::misses_required_filter(t));
    if status_checked || unfiltered {
        return;
    }
    let Some(entry) = g.entry else { return };
    let mut open = g.after([entry], |v| g.roles[v] == Role::IfElse);
    open[entry] = true;
    // A no-show message is about an appointment: the workflow starts from one, or the text says
    // so ("sorry we missed your call" after a missed call is not a no-show message).
    let about_appointments = active().any(|t| contains_ci(&t.kind, "appointment"));
    let no_show =
        |i: usize| g.says_phrase(i, NO_SHOW) && (about_appointments || says(i, APPOINTMENT_WORDS));
    for i in (0..n).filter(|&i| outbound(i) && open[i] && no_show(i)) {
        ctx.emit(
            out,
            Rule::NoShowWithoutStatusCheck,
            Some(i),
            || format!(
                "No-show message {} goes out with no trigger status or if/else checking the appointment.",
                quoted(steps[i].label())
            ),
        );
    }
}

/// Whether an appointment trigger starts from a status after the appointment (a no-show, a
/// showed or completed visit, a cancellation): by its type, or by a status filter naming only
/// such statuses.
fn after_appointment(t: &Trigger) -> bool {
    let after = |s: &str| contains_any_ci(s, AFTER_STATUS);
    if after(&t.kind) {
        return true;
    }
    let statuses: Vec<&str> = t
        .conditions
        .iter()
        .filter(|c| contains_ci(&c.field, "status"))
        .flat_map(|c| c.value_strings())
        .collect();
    !statuses.is_empty() && statuses.iter().all(|s| after(s))
}

/// "24 hours before" / "1 day after" for an event offset in minutes (negative: after).
fn offset_words(minutes: f64) -> String {
    let side = if minutes < 0.0 { "after" } else { "before" };
    let m = minutes.abs();
    let (n, unit) = if m >= 1440.0 && m % 1440.0 == 0.0 {
        (m / 1440.0, "day")
    } else if m >= 60.0 && m % 60.0 == 0.0 {
        (m / 60.0, "hour")
    } else {
        (m, "minute")
    };
    let plural = if n == 1.0 { "" } else { "s" };
    format!("{n} {unit}{plural} {side}")
}

/// What the path so far says about the appointment's time (`reminder-ladder-backwards`).
#[derive(Clone, Copy, PartialEq)]
enum Upstream {
    /// No event-relative wait yet.
    Nothing,
    /// The path is at most this many minutes before the event (negative: after it).
    At(f64),
    /// An event-relative wait whose offset could not be read: nothing is judged after it.
    Unknown,
}

/// `reminder-ladder-backwards`, on the wait. One BFS from the entry carries the offset of the
/// nearest earlier event-relative wait (first visit wins); a wait further before the event than
/// that has already passed. The first event-relative wait of a path closer than two hours before
/// the start leaves no time to reschedule. Only waits a message follows (before the next
/// event-relative wait) are judged: they time a reminder. Workflows with fewer than two
/// event-relative waits have no ladder and are not judged.
fn reminder_ladder(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let g = ctx.g;
    let steps = &ctx.w.steps;
    let n = g.len();
    let Some(entry) = g.entry else { return };
    let event_wait =
        |i: usize| g.live(i, Kind::Wait) && ctx.wait_kind(i) == WaitKind::EventRelative;
    // A ladder needs two rungs: a lone "1 hour before" reminder is a choice, not a mistake.
    if (0..n).filter(|&i| event_wait(i)).nth(1).is_none() {
        return;
    }
    let message = |i: usize| g.kinds[i].is_outbound() && !g.disabled[i];
    let to_message = g.reaching((0..n).filter(|&i| message(i)), event_wait);
    let times_reminder = |i: usize| g.out(i).iter().any(|e| to_message[e.to as usize]);
    let mut state: Vec<Option<Upstream>> = vec![None; n];
    state[entry] = Some(Upstream::Nothing);
    let mut queue = VecDeque::from([entry]);
    while let Some(v) = queue.pop_front() {
        let Some(here) = state[v] else { continue };
        let leaving = if event_wait(v) {
            match (here, event_offset(&steps[v])) {
                (_, None) => Upstream::Unknown,
                (Upstream::At(prev), Some(o)) => {
                    if o > prev && times_reminder(v) {
                        ctx.emit(
                            out,
                            Rule::ReminderLadderBackwards,
                            Some(v),
                            || format!(
                                "Wait {} waits until {} the appointment after an earlier wait until {}: that moment has passed, so the reminder after it goes out late or at once.",
                                quoted(steps[v].label()),
                                offset_words(o),
                                offset_words(prev)
                            ),
                        );
                    }
                    // Time only moves forward: a wait that has passed resolves at once.
                    Upstream::At(prev.min(o))
                }
                (Upstream::Nothing, Some(o)) => {
                    if (0.0..RESCHEDULE_MINUTES).contains(&o) && times_reminder(v) {
                        ctx.emit(
                            out,
                            Rule::ReminderLadderBackwards,
                            Some(v),
                            || format!(
                                "Wait {} times the first reminder only {} the appointment, which leaves no time to reschedule.",
                                quoted(steps[v].label()),
                                offset_words(o)
                            ),
                        );
                    }
                    Upstream::At(o)
                }
                (Upstream::Unknown, Some(_)) => Upstream::Unknown,
            }
        } else {
            here
        };
        for e in g.out(v) {
            let w = e.to as usize;
            if state[w].is_none() {
                state[w] = Some(leaving);
                queue.push_back(w);
            }
        }
    }
}

/// `deprecated-appointment-type`: each switched-on step and each active trigger whose type is a
/// legacy appointment type (triggers only when the input has them; steps always).
fn deprecated_types(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    for (i, s) in ctx.w.steps.iter().enumerate() {
        // The types the model names (SMS, wait, book_appointment...) are current ones (a test
        // holds every legacy type to the other kinds), so only those are read.
        let named = !matches!(
            ctx.g.kinds[i],
            Kind::OtherOutbound | Kind::OtherKnown | Kind::Unknown
        );
        if !s.disabled && !named && is_deprecated_appointment_type(&s.kind) {
            ctx.emit(out, Rule::DeprecatedAppointmentType, Some(i), || {
                format!(
                    "Step {} uses the legacy appointment type {}.",
                    quoted(s.label()),
                    quoted(&s.kind)
                )
            });
        }
    }
    for t in ctx.w.triggers.iter().flatten() {
        if t.active && is_deprecated_appointment_type(&t.kind) {
            ctx.emit(out, Rule::DeprecatedAppointmentType, None, || {
                format!(
                    "Trigger {} uses the legacy appointment type {}.",
                    quoted(t.label()),
                    quoted(&t.kind)
                )
            });
        }
    }
}

/// Whether an appointment trigger can enroll (or keep) a cancelled appointment: a cancellation
/// type, no status filter, or a status filter that lets cancelled in. A filter on booked,
/// confirmed or any other status that does not mention cancellation (or a "not cancelled" one)
/// restricts it.
fn admits_cancelled(t: &Trigger) -> bool {
    if contains_ci(&t.kind, "cancel") {
        return true;
    }
    let mut status = t
        .conditions
        .iter()
        .filter(|c| contains_ci(&c.field, "status") && c.has_value())
        .peekable();
    if status.peek().is_none() {
        return true;
    }
    status.any(|c| {
        let op = c.operator.to_ascii_lowercase();
        let negated =
            op.contains("not") || op.contains("!=") || op.contains("neq") || op.contains("exclude");
        !negated && c.value_strings().iter().any(|v| contains_ci(v, "cancel"))
    })
}

/// `reminder-after-cancellation`, on each reminder after a wait that a contact who cancelled
/// still receives: an active appointment trigger admits cancelled appointments, the workflow
/// has no goal or remove-from-workflow step, and no if/else on the appointment status (or
/// cancellation) lies between the entry and the reminder. One sweep from every wait and one from
/// the entry blocked at status checks: linear.
fn reminder_after_cancellation(ctx: &Ctx<'_>, triggers: &[Trigger], out: &mut Vec<Finding>) {
    let g = ctx.g;
    let steps = &ctx.w.steps;
    let n = g.len();
    let Some(trigger) = triggers
        .iter()
        .find(|t| t.active && contains_ci(&t.kind, "appointment") && admits_cancelled(t))
    else {
        return;
    };
    let Some(entry) = g.entry else { return };
    if (0..n).any(|i| exits_workflow(g, i)) {
        return;
    }
    let reminder = |i: usize| g.kinds[i].is_outbound() && !g.disabled[i] && g.says_any(i, REMINDER);
    if !(0..n).any(reminder) {
        return;
    }
    let status_check = if_else_checks(g, STATUS_CHECK);
    let after_wait = g.after((0..n).filter(|&i| g.live(i, Kind::Wait)), |_| false);
    let mut unchecked = g.after([entry], |v| status_check[v]);
    unchecked[entry] = !status_check[entry];
    for i in (0..n).filter(|&i| after_wait[i] && unchecked[i] && reminder(i)) {
        ctx.emit(
            out,
            Rule::ReminderAfterCancellation,
            Some(i),
            || format!(
                "Reminder {} still goes out after a cancellation: trigger {} does not keep cancelled appointments out, and no goal, exit or appointment-status if/else comes before it.",
                quoted(steps[i].label()),
                quoted(trigger.label())
            ),
        );
    }
}

/// Merge fields that name what a reminder is for (any of these, case ignored).
const REMINDER_FIELDS: &[&str] = &["{{appointment.", "{{calendar.", "{{event."];

/// Words that say what a reminder is for or when (whole words, case ignored; English, Spanish,
/// French and German, the languages of the agencies' templates seen so far), besides the month
/// names ([`super::data::MONTHS`]).
const REMINDER_WORDS: &[&str] = &[
    "appointment",
    "appointments",
    "booking",
    "booked",
    "visit",
    "session",
    "meeting",
    "consult",
    "consultation",
    "call",
    "class",
    "webinar",
    "workshop",
    "seminar",
    "training",
    "event",
    "live",
    "starting",
    "starts",
    "doors open",
    "tomorrow",
    "today",
    "tonight",
    "in an hour",
    "see you",
    "reschedule",
    "o'clock",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "mon",
    "tue",
    "tues",
    "wed",
    "thu",
    "thurs",
    "fri",
    "sat",
    "sun",
    "cita",
    "mañana",
    "hoy",
    "rendez-vous",
    "rdv",
    "demain",
    "aujourd'hui",
    "termin",
    "morgen",
    "heute",
];

/// Whether a text gives a reminder its context: a [`REMINDER_FIELDS`] field, a [`REMINDER_WORDS`]
/// word, a clock time ("3 PM", "10:30am", "14:00", "14h30"), a date ("3/12", "12.03") or "in N
/// minutes/hours/hrs".
fn gives_context(t: &str) -> bool {
    if contains_any_ci(t, REMINDER_FIELDS)
        || contains_any_phrase_ci(t, REMINDER_WORDS)
        || contains_any_phrase_ci(t, super::data::MONTHS)
    {
        return true;
    }
    let b = t.as_bytes();
    // A digit run, then ":MM", "/D" or ".D" (a clock or a date), "h" (14h30), or after optional
    // spaces am/pm, or a unit when "in" comes before the number.
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let joined = |c: u8| b.get(i) == Some(&c) && b.get(i + 1).is_some_and(u8::is_ascii_digit);
        if joined(b':') || joined(b'/') || joined(b'.') {
            return true;
        }
        if matches!(b.get(i), Some(b'h' | b'H'))
            && !b.get(i + 1).is_some_and(u8::is_ascii_alphabetic)
        {
            return true;
        }
        let mut j = i;
        while j < b.len() && b[j] == b' ' {
            j += 1;
        }
        let rest = &t[j..];
        // Bytes, not a str slice: the two bytes before may split a multi-byte character.
        let before = t[..start].trim_end().as_bytes();
        let after_in = before.len() >= 2 && before[before.len() - 2..].eq_ignore_ascii_case(b"in");
        if starts_with_ci(rest, "am")
            || starts_with_ci(rest, "pm")
            || starts_with_ci(rest, "a.m")
            || starts_with_ci(rest, "p.m")
            || (after_in
                && ["min", "hour", "hr", "day"]
                    .iter()
                    .any(|u| starts_with_ci(rest, u)))
        {
            return true;
        }
        i = j.max(i);
    }
    false
}

/// `reminder-without-context`: a message that a wait before the appointment leads to, directly or
/// through if/else and branch nodes only (a reminder; "is the appointment still confirmed?" is the
/// usual check in between), and that never says what it reminds of or when. Messages after a wait
/// after the appointment (a thank-you, a replay) are follow-ups, not reminders.
fn reminder_without_context(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let g = ctx.g;
    let steps = &ctx.w.steps;
    let before_event = |p: usize| {
        g.live(p, Kind::Wait)
            && ctx.wait_kind(p) == WaitKind::EventRelative
            && event_offset(&steps[p]).is_none_or(|m| m >= 0.0)
    };
    let message = |i: usize| g.kinds[i].is_outbound() && !g.disabled[i];
    // From each such wait, through structural nodes and the messages of that moment (an SMS and
    // an email sent together), stopping at anything else. One search for all waits: linear.
    let reminded = g.after((0..g.len()).filter(|&p| before_event(p)), |v| {
        !(g.roles[v].is_structural() || g.roles[v] == Role::IfElse || message(v))
    });
    for i in (0..g.len()).filter(|&i| reminded[i] && message(i)) {
        // A blank or greeting-only message is `empty-message`'s: one finding per step.
        if super::messaging::empty_message_of(ctx, i).is_none() && !g.texts(i).any(gives_context) {
            ctx.emit(out, Rule::ReminderWithoutContext, Some(i), || {
                format!(
                    "Reminder {} never says what it is for or when (no time, day or {{{{appointment.*}}}} field).",
                    quoted(steps[i].label())
                )
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_deprecated_type_is_recognised() {
        // The cheap appointment/calendar/booking test runs first: each listed type must pass it.
        for t in DEPRECATED_APPOINTMENT_TYPES {
            assert!(is_deprecated_appointment_type(t), "{t}");
            assert!(
                is_deprecated_appointment_type(&t.to_ascii_uppercase()),
                "{t}"
            );
        }
        assert!(!is_deprecated_appointment_type("book_appointment"));
        // `deprecated_types` reads only steps of the kinds the model does not name.
        for t in DEPRECATED_APPOINTMENT_TYPES {
            assert!(
                matches!(
                    Kind::of(t),
                    Kind::OtherOutbound | Kind::OtherKnown | Kind::Unknown
                ),
                "{t}"
            );
        }
    }
}
