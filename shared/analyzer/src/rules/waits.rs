//! Wait rules: missing timeouts, very long waits, misconfigured durations, event waits without
//! an event to anchor them.

use super::{quoted, Ctx, Finding, Rule, Severity};
use crate::model::{contains_ci, Json, Kind, Role, Step};

/// Minutes in a year: the `wait-too-long` threshold.
const YEAR_MINUTES: f64 = 365.0 * 24.0 * 60.0;

/// What a wait step waits for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum WaitKind {
    /// A fixed duration, in minutes; `None` when missing or partial.
    Time(Option<f64>),
    /// Relative to an appointment or event date.
    EventRelative,
    /// For a reply, a condition or an event to happen.
    Until,
}

/// A number or a numeric string.
fn number(v: Option<&Json>) -> Option<f64> {
    match v? {
        Json::Number(n) => Some(*n),
        Json::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The minutes of a duration object `{type|unit: days|hours|minutes|weeks|months, value}`.
pub(super) fn duration(v: &Json) -> Option<f64> {
    let unit = v
        .get("type")
        .or_else(|| v.get("unit"))
        .and_then(Json::as_str)?
        .trim();
    let unit = unit.strip_suffix(['s', 'S']).unwrap_or(unit);
    let value = number(v.get("value"))?;
    let per = [
        ("minute", 1.0),
        ("hour", 60.0),
        ("day", 1440.0),
        ("week", 10080.0),
        ("month", 43200.0),
        ("year", 525_600.0),
    ]
    .iter()
    .find(|(name, _)| unit.eq_ignore_ascii_case(name))?
    .1;
    (value > 0.0 && value.is_finite()).then_some(value * per)
}

/// Classify a wait step.
pub(crate) fn wait_kind(s: &Step) -> WaitKind {
    let kind = s.attr_str("type").unwrap_or("");
    let when = s
        .attr("startAfter")
        .and_then(|a| a.get("when"))
        .and_then(Json::as_str)
        .unwrap_or("");
    let is = |names: &[&str]| names.iter().any(|n| kind.eq_ignore_ascii_case(n));
    if s.kind == "event_start_date_wait"
        || is(&[
            "appointment",
            "event_time",
            "event_date",
            "appointment_time",
        ])
        || contains_ci(when, "appointment")
        || contains_ci(when, "event")
    {
        return WaitKind::EventRelative;
    }
    if kind.is_empty() || is(&["time", "duration", "delay"]) {
        return WaitKind::Time(s.attr("startAfter").and_then(duration));
    }
    WaitKind::Until
}

/// Minutes before the appointment or event at which an event-relative wait resolves (negative:
/// after it), from `startAfter {value, type|unit, when}`; `None` when the amount, the unit or the
/// side (`when` naming before or after) is missing, so a ladder is never judged on a guess.
pub(crate) fn event_offset(s: &Step) -> Option<f64> {
    // The builder writes `appointmentStartAfter` on appointment waits; older exports `startAfter`.
    let start = s
        .attr("appointmentStartAfter")
        .or_else(|| s.attr("startAfter"))?;
    let when = start.get("when").and_then(Json::as_str)?;
    let minutes = duration(start)?;
    if contains_ci(when, "before") {
        Some(minutes)
    } else if contains_ci(when, "after") {
        Some(-minutes)
    } else {
        None
    }
}

/// Whether a wait has a timeout path or setting.
fn has_timeout(s: &Step) -> bool {
    let setting = match s.attr("timeout") {
        Some(v @ Json::Object(o)) => !o.is_empty() && v.get("enabled") != Some(&Json::Bool(false)),
        Some(Json::Bool(b)) => *b,
        Some(Json::Number(_)) | Some(Json::String(_)) => true,
        _ => false,
    } || s.attr("timeoutEnabled") == Some(&Json::Bool(true));
    let path = s
        .attr("transitions")
        .and_then(Json::as_array)
        .is_some_and(|ts| {
            ts.iter().any(|t| {
                t.get("name").and_then(Json::as_str).is_some_and(|n| {
                    ["timeout", "time out", "time-out", "timed out", "time_out"]
                        .iter()
                        .any(|t| contains_ci(n, t))
                })
            })
        });
    setting || path
}

pub(super) fn run(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let g = ctx.g;
    let steps = &ctx.w.steps;
    let mut anchored_after: Option<Vec<bool>> = None;
    for i in (0..g.len()).filter(|&i| g.live(i, Kind::Wait)) {
        let s = &steps[i];
        match ctx.wait_kind(i) {
            WaitKind::Until => {
                if !has_timeout(s) {
                    let follows = !g.out(i).is_empty() || g.roles[i] == Role::MultiPath;
                    let severity = if follows {
                        Severity::Critical
                    } else {
                        Severity::Low
                    };
                    ctx.emit_sev(out, Rule::WaitWithoutTimeout, severity, Some(i), || {
                        format!(
                            "Wait {} waits for a reply, condition or event with no timeout.",
                            quoted(s.label())
                        )
                    });
                }
            }
            WaitKind::Time(None) => ctx.emit(out, Rule::WaitMisconfigured, Some(i), || {
                format!(
                    "Wait {} has a missing or partial duration, so it fires at once.",
                    quoted(s.label())
                )
            }),
            WaitKind::Time(Some(minutes)) => {
                let limit = if ctx.options.wait_too_long.max_days == 365 {
                    YEAR_MINUTES
                } else {
                    f64::from(ctx.options.wait_too_long.max_days) * 1440.0
                };
                if minutes >= limit {
                    ctx.emit(out, Rule::WaitTooLong, Some(i), || {
                        format!(
                            "Wait {} lasts {:.0} days.",
                            quoted(s.label()),
                            (minutes / 1440.0).floor()
                        )
                    });
                }
            }
            WaitKind::EventRelative => {
                // A workflow with no active trigger is entered from another one (add to
                // workflow), which may pass the appointment or event along.
                if ctx.w.triggers.is_none()
                    || !ctx.w.triggers.iter().flatten().any(|t| t.active)
                    || ctx.has_trigger_like("appointment")
                    || ctx.w.settings.event_start_date
                {
                    continue;
                }
                let own = ["dateField", "eventField", "customField", "eventDate"]
                    .iter()
                    .any(|k| s.attr_str(k).is_some());
                if own {
                    continue;
                }
                let after = anchored_after.get_or_insert_with(|| {
                    g.after(
                        (0..g.len()).filter(|&j| g.kinds[j] == Kind::EventAnchor),
                        |_| false,
                    )
                });
                if !after[i] {
                    ctx.emit(
                        out,
                        Rule::EventWaitWithoutAnchor,
                        Some(i),
                        || format!(
                            "Wait {} is relative to an appointment or event, but no appointment trigger or event date comes before it.",
                            quoted(s.label())
                        ),
                    );
                }
            }
        }
    }
}
