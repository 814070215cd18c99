//! Wait rules: missing timeouts, very long waits, misconfigured durations, event waits without
//! an event to anchor them.

use serde_json::Value;

use super::{quoted, Ctx, Finding, Rule, Severity};
use crate::analysis::model::{Role, Step};

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
fn number(v: Option<&Value>) -> Option<f64> {
    match v? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The minutes of a duration object `{type|unit: days|hours|minutes|weeks|months, value}`.
fn duration(v: &Value) -> Option<f64> {
    let unit = v
        .get("type")
        .or_else(|| v.get("unit"))
        .and_then(Value::as_str)?
        .to_ascii_lowercase();
    let value = number(v.get("value"))?;
    let per = match unit.trim_end_matches('s') {
        "minute" => 1.0,
        "hour" => 60.0,
        "day" => 1440.0,
        "week" => 10080.0,
        "month" => 43200.0,
        "year" => 525_600.0,
        _ => return None,
    };
    (value > 0.0 && value.is_finite()).then_some(value * per)
}

/// Classify a wait step.
pub(crate) fn wait_kind(s: &Step) -> WaitKind {
    let kind = s
        .attr_str("type")
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let when = s
        .attr("startAfter")
        .and_then(|a| a.get("when"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_ascii_lowercase();
    if s.kind == "event_start_date_wait"
        || matches!(kind.as_str(), "appointment" | "event_time" | "event_date" | "appointment_time")
        || when.contains("appointment")
        || when.contains("event")
    {
        return WaitKind::EventRelative;
    }
    if kind.is_empty() || kind == "time" || kind == "duration" || kind == "delay" {
        return WaitKind::Time(s.attr("startAfter").and_then(duration));
    }
    WaitKind::Until
}

/// Whether a wait has a timeout path or setting.
fn has_timeout(s: &Step) -> bool {
    let setting = match s.attr("timeout") {
        Some(Value::Object(o)) => !o.is_empty() && o.get("enabled") != Some(&Value::Bool(false)),
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(_)) | Some(Value::String(_)) => true,
        _ => false,
    } || s.attr("timeoutEnabled") == Some(&Value::Bool(true));
    let path = s
        .attr("transitions")
        .and_then(Value::as_array)
        .is_some_and(|ts| {
            ts.iter().any(|t| {
                t.get("name")
                    .and_then(Value::as_str)
                    .map(|n| n.to_ascii_lowercase().replace([' ', '-', '_'], ""))
                    .is_some_and(|n| n.contains("timeout") || n.contains("timedout"))
            })
        });
    setting || path
}

pub(super) fn run(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let g = ctx.g;
    let steps = &ctx.w.steps;
    let anchor_kinds = ["set_event_start_date", "book_appointment", "update_appointment_status"];
    let mut anchored_after: Option<Vec<bool>> = None;
    for (i, s) in steps.iter().enumerate() {
        if !s.is_wait() || s.disabled {
            continue;
        }
        match wait_kind(s) {
            WaitKind::Until => {
                if !has_timeout(s) {
                    let follows = !g.out(i).is_empty() || g.roles[i] == Role::MultiPath;
                    let severity = if follows { Severity::Critical } else { Severity::Low };
                    ctx.emit_sev(
                        out,
                        Rule::WaitWithoutTimeout,
                        severity,
                        Some(i),
                        format!("Wait {} waits for a reply, condition or event with no timeout.", quoted(s.label())),
                    );
                }
            }
            WaitKind::Time(None) => ctx.emit(
                out,
                Rule::WaitMisconfigured,
                Some(i),
                format!("Wait {} has a missing or partial duration, so it fires at once.", quoted(s.label())),
            ),
            WaitKind::Time(Some(minutes)) => {
                if minutes >= YEAR_MINUTES {
                    ctx.emit(
                        out,
                        Rule::WaitTooLong,
                        Some(i),
                        format!(
                            "Wait {} lasts {:.0} days.",
                            quoted(s.label()),
                            (minutes / 1440.0).floor()
                        ),
                    );
                }
            }
            WaitKind::EventRelative => {
                if ctx.w.triggers.is_none() || ctx.has_trigger_like("appointment") {
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
                        (0..g.len()).filter(|&j| anchor_kinds.contains(&steps[j].kind.as_str())),
                        |_| false,
                    )
                });
                if !after[i] {
                    ctx.emit(
                        out,
                        Rule::EventWaitWithoutAnchor,
                        Some(i),
                        format!(
                            "Wait {} is relative to an appointment or event, but no appointment trigger or event date comes before it.",
                            quoted(s.label())
                        ),
                    );
                }
            }
        }
    }
}
