//! Appointments: times without a timezone, reminders timed from the booking, no-show
//! follow-ups that check nothing.

use super::waits::{wait_kind, WaitKind};
use super::{merge_names, quoted, Ctx, Finding, Rule};
use crate::analysis::model::{contains_ci, Kind, Role};

const REMINDER: &[&str] = &[
    "reminder",
    "your appointment is",
    "appointment tomorrow",
    "see you tomorrow",
    "appointment today",
];
const NO_SHOW: &[&str] = &[
    "no-show",
    "no show",
    "missed your appointment",
    "missed our appointment",
    "we missed you",
];
const NO_SHOW_STATUS: &[&str] = &["noshow", "no_show", "no-show", "no show", "missed"];

pub(super) fn run(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let g = ctx.g;
    let steps = &ctx.w.steps;
    let n = g.len();
    let outbound = |i: usize| g.kinds[i].is_outbound() && !g.disabled[i];
    let says = |i: usize, list: &[&str]| g.texts(i).any(|t| list.iter().any(|p| contains_ci(t, p)));

    for i in (0..n).filter(|&i| outbound(i)) {
        let s = &steps[i];
        let time_field = g.texts(i).find_map(|t| {
            merge_names(t).find(|name| {
                let l = name.to_ascii_lowercase();
                l.starts_with("appointment.") && l.contains("time") && !l.contains("timezone")
            })
        });
        let Some(f) = time_field else { continue };
        let zoned = g
            .texts(i)
            .any(|t| contains_ci(t, "timezone") || contains_ci(t, "time zone"));
        if !zoned {
            ctx.emit(
                out,
                Rule::AppointmentTimeWithoutTimezone,
                Some(i),
                format!("{} gives {{{{{f}}}}} with no timezone.", quoted(s.label())),
            );
        }
    }

    let Some(triggers) = &ctx.w.triggers else {
        return;
    };
    let active = || triggers.iter().filter(|t| t.active);
    // reminder-timed-from-booking
    if active().any(|t| t.kind.contains("appointment")) {
        let is_wait = |i: usize, event: bool| {
            g.live(i, Kind::Wait)
                && (matches!(wait_kind(&steps[i]), WaitKind::EventRelative) == event)
                && (event || matches!(wait_kind(&steps[i]), WaitKind::Time(_)))
        };
        let after_time = g.after((0..n).filter(|&i| is_wait(i, false)), |_| false);
        let after_event = g.after((0..n).filter(|&i| is_wait(i, true)), |_| false);
        for i in (0..n).filter(|&i| outbound(i) && after_time[i] && !after_event[i]) {
            if says(i, REMINDER) {
                ctx.emit(
                    out,
                    Rule::ReminderTimedFromBooking,
                    Some(i),
                    format!(
                        "Reminder {} follows a fixed wait from the booking, not a wait relative to the appointment.",
                        quoted(steps[i].label())
                    ),
                );
            }
        }
    }
    // no-show-without-status-check
    let status_checked = active().any(|t| {
        NO_SHOW_STATUS.iter().any(|p| contains_ci(&t.kind, p))
            || t.conditions.iter().any(|c| {
                c.value_strings()
                    .iter()
                    .any(|v| NO_SHOW_STATUS.iter().any(|p| contains_ci(v, p)))
            })
    });
    if status_checked {
        return;
    }
    let Some(entry) = g.entry else { return };
    let mut open = g.after([entry], |v| g.roles[v] == Role::IfElse);
    open[entry] = true;
    for i in (0..n).filter(|&i| outbound(i) && open[i] && says(i, NO_SHOW)) {
        ctx.emit(
            out,
            Rule::NoShowWithoutStatusCheck,
            Some(i),
            format!(
                "No-show message {} goes out with no trigger status or if/else checking the appointment.",
                quoted(steps[i].label())
            ),
        );
    }
}
