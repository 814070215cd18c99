//! Messaging and compliance rules: opt-out wording, sending windows, unsubscribe links, stopping
//! on reply, merge fields and SMS bursts.

use std::collections::VecDeque;

use serde_json::Value;

use super::waits::{wait_kind, WaitKind};
use super::{quoted, Ctx, Finding, Rule};

/// Window hours considered sensible (TCPA quiet hours: before 8am, after 9pm).
const EARLIEST_MINUTE: u32 = 8 * 60;
const LATEST_MINUTE: u32 = 21 * 60;
/// SMS count and time span of `message-burst`.
const BURST_COUNT: usize = 3;
const BURST_MINUTES: f64 = 24.0 * 60.0;

/// Contact fields every account has (merge fields on them need no account list).
const STANDARD_FIELDS: &[&str] = &[
    "id", "first_name", "last_name", "name", "full_name", "email", "phone", "company_name",
    "address1", "city", "state", "country", "postal_code", "website", "timezone",
    "date_of_birth", "source", "tags", "first_name_raw", "last_name_raw",
];

fn lower_texts(s: &crate::analysis::model::Step) -> String {
    let mut t = String::new();
    for part in s.texts() {
        t.push_str(&part.to_ascii_lowercase());
        t.push('\n');
    }
    t
}

/// "HH:MM" or an hour number to minutes after midnight.
fn minute_of(v: Option<&Value>) -> Option<u32> {
    match v? {
        Value::Number(n) => n.as_u64().map(|h| (h as u32).saturating_mul(60)),
        Value::String(s) => {
            let mut it = s.trim().splitn(2, ':');
            let h: u32 = it.next()?.trim().parse().ok()?;
            let m: u32 = it.next().map_or(Some(0), |m| m.trim().get(..2).unwrap_or(m).parse().ok())?;
            Some(h.saturating_mul(60).saturating_add(m))
        }
        _ => None,
    }
}

/// A window value: `Some(true)` sensible, `Some(false)` outside sensible hours, `None` absent.
fn window_ok(v: Option<&Value>) -> Option<bool> {
    let v = v?;
    match v {
        Value::Object(o) if o.get("enabled") == Some(&Value::Bool(false)) => None,
        Value::Object(o) if o.is_empty() => None,
        Value::Object(o) => {
            let start = minute_of(o.get("start").or_else(|| o.get("startTime")).or_else(|| o.get("from")));
            let end = minute_of(o.get("end").or_else(|| o.get("endTime")).or_else(|| o.get("to")));
            Some(match (start, end) {
                (Some(s), Some(e)) => s >= EARLIEST_MINUTE && e <= LATEST_MINUTE && s < e,
                _ => true,
            })
        }
        Value::Bool(true) => Some(true),
        _ => None,
    }
}

fn step_window(s: &crate::analysis::model::Step) -> Option<bool> {
    window_ok(s.attr("window").or_else(|| s.attr("sendingWindow")).or_else(|| s.attr("advanceWindow")))
}

pub(super) fn run(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let g = ctx.g;
    let steps = &ctx.w.steps;
    let live = |i: usize| !steps[i].disabled;

    // sms-without-opt-out: once per workflow, on the first SMS.
    let sms: Vec<usize> = (0..g.len()).filter(|&i| steps[i].kind == "sms" && live(i)).collect();
    if let Some(&first) = sms.first() {
        let says_stop = sms.iter().any(|&i| {
            let t = lower_texts(&steps[i]);
            t.contains("stop") || t.contains("opt out") || t.contains("opt-out") || t.contains("unsubscribe")
        });
        if !says_stop {
            ctx.emit(
                out,
                Rule::SmsWithoutOptOut,
                Some(first),
                format!(
                    "None of the {} SMS step(s) tells the contact how to stop, starting with {}.",
                    sms.len(),
                    quoted(steps[first].label())
                ),
            );
        }
    }

    // send-without-window: on each wait (without a window) that messages follow.
    let global = window_ok(ctx.w.settings.sending_window.as_ref());
    if global == Some(false) {
        ctx.emit(
            out,
            Rule::SendWithoutWindow,
            None,
            "The workflow's sending window allows messages outside 8:00-21:00.".to_owned(),
        );
    }
    let timed = |i: usize| {
        steps[i].is_wait() && matches!(wait_kind(&steps[i]), WaitKind::Time(_) | WaitKind::EventRelative)
    };
    let windowed = |i: usize| timed(i) && step_window(&steps[i]).is_some();
    let messages = (0..g.len()).filter(|&i| steps[i].is_outbound_message() && live(i));
    let leads_to_message = g.reaching(messages, windowed);
    for (i, step) in steps.iter().enumerate() {
        if !timed(i) || step.disabled {
            continue;
        }
        match step_window(step) {
            Some(false) => ctx.emit(
                out,
                Rule::SendWithoutWindow,
                Some(i),
                format!("Wait {} has a sending window outside 8:00-21:00.", quoted(step.label())),
            ),
            Some(true) => {}
            None if global.is_none() && g.out(i).iter().any(|e| leads_to_message[e.to as usize]) => ctx.emit(
                out,
                Rule::SendWithoutWindow,
                Some(i),
                format!(
                    "Messages follow wait {} with no sending window, so they can go out at night.",
                    quoted(step.label())
                ),
            ),
            None => {}
        }
    }

    // email-without-unsubscribe: per marketing email.
    for (i, s) in steps.iter().enumerate() {
        if s.kind != "email" || s.disabled {
            continue;
        }
        if s.attr("transactional") == Some(&Value::Bool(true)) {
            continue;
        }
        let t = lower_texts(s);
        if !t.contains("unsubscribe") && !t.contains("opt out") && !t.contains("opt-out") {
            ctx.emit(
                out,
                Rule::EmailWithoutUnsubscribe,
                Some(i),
                format!("Email {} has no unsubscribe link.", quoted(s.label())),
            );
        }
    }

    // no-stop-on-response: workflow-level.
    let outbound = (0..g.len()).filter(|&i| steps[i].is_outbound_message() && live(i)).count();
    if outbound >= 3 && ctx.w.settings.stop_on_response != Some(true) {
        let handles_reply = steps.iter().any(|s| {
            (s.is_wait() && s.attr_str("type").is_some_and(|t| t.contains("reply"))) || s.kind.contains("reply")
        }) || ctx.has_trigger_like("reply");
        if !handles_reply {
            ctx.emit(
                out,
                Rule::NoStopOnResponse,
                None,
                format!("{outbound} outbound messages, stop-on-response is off and no step handles replies."),
            );
        }
    }

    // risky-merge-field: one finding per step, the first problem found.
    for (i, s) in steps.iter().enumerate() {
        if !s.is_outbound_message() && s.kind != "internal_notification" {
            continue;
        }
        if let Some(problem) = s.texts().find_map(|t| merge_problem(t, ctx)) {
            ctx.emit(out, Rule::RiskyMergeField, Some(i), format!("Step {}: {problem}.", quoted(s.label())));
        }
    }

    message_burst(ctx, out);
}

/// The first merge-field problem of a text, if any.
fn merge_problem(text: &str, ctx: &Ctx<'_>) -> Option<String> {
    let mut rest = text;
    let mut offset = 0usize;
    while let Some(open) = rest.find("{{") {
        let after = &rest[open + 2..];
        let close = after.find("}}");
        let reopen = after.find("{{");
        let Some(close) = close.filter(|c| reopen.is_none_or(|r| r > *c)) else {
            return Some("a merge field is not closed with }}".to_owned());
        };
        let inner = after[..close].trim();
        let name = inner.split('|').next().unwrap_or("").trim();
        if name.is_empty() || name.contains(char::is_whitespace) {
            return Some(format!("the merge field {{{{{inner}}}}} is malformed"));
        }
        let start = offset + open;
        if !inner.contains('|') && start < 40 {
            let head = text[..start].trim_start().to_ascii_lowercase();
            let greeting = ["hi", "hello", "hey", "dear", "good morning", "good afternoon", "good evening"]
                .iter()
                .any(|g| head.starts_with(g));
            if greeting && (name.starts_with("contact.") || name.starts_with("contact_")) {
                return Some(format!("the greeting uses {{{{{name}}}}} with no fallback"));
            }
        }
        if let Some(acc) = ctx.account {
            let lname = name.to_ascii_lowercase();
            if let (Some(key), Some(fields)) = (lname.strip_prefix("contact."), acc.custom_fields.as_ref()) {
                if !STANDARD_FIELDS.contains(&key) && !fields.contains(key) {
                    return Some(format!("the merge field {{{{{name}}}}} is not a field of this account"));
                }
            }
            if let (Some(key), Some(values)) = (lname.strip_prefix("custom_values."), acc.custom_values.as_ref()) {
                if !values.contains(key) {
                    return Some(format!("the custom value {{{{{name}}}}} does not exist in this account"));
                }
            }
        }
        let consumed = open + 2 + close + 2;
        offset += consumed;
        rest = &rest[consumed..];
    }
    // A single-brace field such as {contact.first_name}.
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(p) = text[from..].find("{contact.") {
        let at = from + p;
        if at == 0 || bytes[at - 1] != b'{' {
            return Some("a merge field uses single braces".to_owned());
        }
        from = at + 1;
    }
    None
}

/// Three or more SMS within 24 hours on one path. Linear: a BFS carrying, per step, the minutes
/// elapsed since the last two SMS on the first path that reached it.
fn message_burst(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let g = ctx.g;
    let steps = &ctx.w.steps;
    let Some(entry) = g.entry else { return };
    const FAR: f64 = f64::INFINITY;
    // state[v] = minutes since the previous SMS and the one before it, on arrival at v.
    let mut state: Vec<Option<[f64; 2]>> = vec![None; g.len()];
    state[entry] = Some([FAR, FAR]);
    let mut queue = VecDeque::from([entry]);
    let mut flagged = vec![false; g.len()];
    while let Some(v) = queue.pop_front() {
        let Some([last, before]) = state[v] else { continue };
        let s = &steps[v];
        let leaving = if s.kind == "sms" && !s.disabled {
            if before < BURST_MINUTES && BURST_COUNT == 3 && !flagged[v] {
                flagged[v] = true;
                ctx.emit(
                    out,
                    Rule::MessageBurst,
                    Some(v),
                    format!("SMS {} is the third SMS within 24 hours on this path.", quoted(s.label())),
                );
            }
            [0.0, last]
        } else if s.is_wait() && !s.disabled {
            match wait_kind(s) {
                WaitKind::Time(Some(m)) => [last + m, before + m],
                WaitKind::Time(None) => [last, before],
                _ => [FAR, FAR],
            }
        } else {
            [last, before]
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
