//! Messaging and compliance rules: opt-out wording, sending windows, unsubscribe links, stopping
//! on reply, merge fields and SMS bursts.

use std::collections::VecDeque;

use super::waits::WaitKind;
use super::{quoted, Ctx, Finding, Rule, Severity};
use crate::model::{contains_ci, starts_with_ci, Json, Kind, SourceFormat, Text};

/// Window hours considered sensible (TCPA quiet hours: before 8am, after 9pm).
const EARLIEST_MINUTE: u32 = 8 * 60;
const LATEST_MINUTE: u32 = 21 * 60;
/// Contact fields every account has (merge fields on them need no account list).
const STANDARD_FIELDS: &[&str] = &[
    "id",
    "first_name",
    "last_name",
    "name",
    "full_name",
    "email",
    "phone",
    "company_name",
    "address1",
    "city",
    "state",
    "country",
    "postal_code",
    "website",
    "timezone",
    "date_of_birth",
    "source",
    "tags",
    "first_name_raw",
    "last_name_raw",
];

/// Wording that tells a contact how to stop texts or emails.
const OPT_OUT_WORDS: &[&str] = &["stop", "opt out", "opt-out", "unsubscribe"];
/// Wording of an email's own unsubscribe link.
const UNSUBSCRIBE_WORDS: &[&str] = &["unsubscribe", "opt out", "opt-out"];

/// Wording of a transactional email: an appointment, a booking, an order, a receipt, an account
/// action. CAN-SPAM exempts such messages from the unsubscribe and address requirements.
pub(super) const TRANSACTIONAL: &[&str] = &[
    "{{appointment.",
    "you asked for",
    "you requested",
    "as requested",
    "your request",
    "here is your",
    "here's your",
    "your download",
    "your appointment",
    "your visit",
    "your booking",
    "your reservation",
    "your order",
    "your receipt",
    "your invoice",
    "payment received",
    "reset your password",
    "password reset",
    "verification code",
];

/// Whether a text uses transactional wording ([`TRANSACTIONAL`]) other than in a consent line:
/// "You are receiving this because you requested information" says why a marketing email comes,
/// it does not deliver what was asked for, so a phrase after "receiv..." and "because" in the
/// same sentence does not count ("we are writing because your appointment is tomorrow" still
/// does). The look back is bounded ([`CONSENT_LOOKBACK`] bytes), so the check stays linear
/// however often a phrase repeats.
pub(super) fn says_transactional(text: Text<'_>) -> bool {
    let b = text.text.as_bytes();
    TRANSACTIONAL.iter().any(|p| {
        text.pairs.may_contain(p)
            && crate::model::matches_ci(b, p.as_bytes()).any(|at| {
                let floor = at.saturating_sub(CONSENT_LOOKBACK);
                let start = b[floor..at]
                    .iter()
                    .rposition(|c| matches!(c, b'.' | b'!' | b'?' | b'\n' | b'>'))
                    .map_or(floor, |s| floor + s + 1);
                // Bytes, not a str slice: `floor` may fall inside a multi-byte character.
                let before = &b[start..at];
                let has = |w: &[u8]| before.windows(w.len()).any(|x| x.eq_ignore_ascii_case(w));
                !(has(b"because") && has(b"receiv"))
            })
    })
}

/// How far back a consent line is looked for before transactional wording (a sentence's length).
const CONSENT_LOOKBACK: usize = 200;

/// What `email-without-unsubscribe` assumes when the input does not carry the location's setting.
pub(crate) const UNSUBSCRIBE_DEFAULT: &str = "Marketing emails without their own unsubscribe link were judged with LC Email's default unsubscribe footer on (HighLevel adds it to every email unless the location switched it off); send an account bundle with locationSettings.defaultUnsubscribeLink to check the real setting.";

/// Whether step `i` is a switched-on marketing email: the emails the compliance rules
/// (`email-without-unsubscribe`, `email-without-postal-address`) judge, so both always judge the
/// same emails. Not marketing: `transactional: true`, or transactional wording ([`TRANSACTIONAL`])
/// with no selling word (a "your appointment" email that also pushes a discount is marketing).
pub(super) fn is_marketing_email(ctx: &Ctx<'_>, i: usize) -> bool {
    if ctx.transactional()
        || !ctx.g.live(i, Kind::Email)
        || ctx.w.steps[i].attr("transactional") == Some(&Json::Bool(true))
    {
        return false;
    }
    let said = ctx.wording(i);
    !said.transactional || said.sells
}

/// "HH:MM" or an hour number to minutes after midnight.
fn minute_of(v: Option<&Json>) -> Option<u32> {
    match v? {
        Json::Number(n) if n.is_finite() && *n >= 0.0 => Some((*n as u32).saturating_mul(60)),
        Json::String(s) => {
            let mut it = s.trim().splitn(2, ':');
            let h: u32 = it.next()?.trim().parse().ok()?;
            let m: u32 = it
                .next()
                .map_or(Some(0), |m| m.trim().get(..2).unwrap_or(m).parse().ok())?;
            Some(h.saturating_mul(60).saturating_add(m))
        }
        _ => None,
    }
}

/// A window value: `Some(true)` sensible, `Some(false)` outside sensible hours, `None` absent.
fn window_ok(v: Option<&Json>) -> Option<bool> {
    let v = v?;
    match v {
        Json::Object(_) if v.get("enabled") == Some(&Json::Bool(false)) => None,
        Json::Object(o) if o.is_empty() => None,
        Json::Object(_) => {
            let start = minute_of(
                v.get("start")
                    .or_else(|| v.get("startTime"))
                    .or_else(|| v.get("from")),
            );
            let end = minute_of(
                v.get("end")
                    .or_else(|| v.get("endTime"))
                    .or_else(|| v.get("to")),
            );
            Some(match (start, end) {
                (Some(s), Some(e)) => s >= EARLIEST_MINUTE && e <= LATEST_MINUTE && s < e,
                _ => true,
            })
        }
        Json::Bool(true) => Some(true),
        _ => None,
    }
}

fn step_window(s: &crate::model::Step) -> Option<bool> {
    window_ok(
        s.attr("window")
            .or_else(|| s.attr("sendingWindow"))
            .or_else(|| s.attr("advanceWindow")),
    )
}

/// Minutes in a day (whole-day waits keep the time of day they started at).
const MINUTES_PER_DAY: f64 = 1_440.0;

/// Triggers a team member fires while working rather than the contact: an opportunity's stage or
/// status moved, a user assigned to the contact, a manual add (HighLevel's `pipeline_stage_updated`,
/// `opportunity_status_changed`, `user_assigned_to_contact`, `manual`...). A new opportunity is
/// not one: forms create them at any hour.
fn staff_trigger(kind: &str) -> bool {
    matches!(
        kind.to_ascii_lowercase().as_str(),
        "pipeline_stage_updated"
            | "pipeline_stage_changed"
            | "opportunity_stage_changed"
            | "opportunity_status_changed"
            | "user_assigned_to_contact"
            | "manual"
            | "manual_trigger"
    )
}

/// An appointment trigger narrowed to statuses the team sets (no-show, showed): the calendar's
/// owner marks them while working, not the contact.
fn staff_marked_appointment(t: &crate::model::Trigger) -> bool {
    let status = |c: &&crate::model::Condition| c.field.to_ascii_lowercase().contains("status");
    // Only "is" conditions narrow the trigger ("status != noshow" is every other status).
    let is = |c: &crate::model::Condition| {
        matches!(
            c.operator.trim().to_ascii_lowercase().as_str(),
            "" | "==" | "=" | "eq" | "is" | "in" | "equals" | "index-of-true"
        )
    };
    let statuses: Vec<String> = t
        .conditions
        .iter()
        .filter(status)
        .flat_map(|c| c.value_strings())
        .map(|v| v.to_ascii_lowercase().replace(['-', '_', ' '], ""))
        .collect();
    crate::model::contains_ci(&t.kind, "appointment")
        && t.conditions.iter().filter(status).all(is)
        && !statuses.is_empty()
        && statuses.iter().all(|s| s == "noshow" || s == "showed")
}

pub(super) fn run(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let g = ctx.g;
    let steps = &ctx.w.steps;
    let n = g.len();
    let outbound = |i: usize| g.kinds[i].is_outbound() && !g.disabled[i];

    // sms-without-opt-out: once per workflow, on the first SMS.
    // (Not on transactional workflows: HighLevel puts a contact who answers STOP on DND by
    // itself, a reminder of a booked appointment is not a marketing program, and a text-back to
    // the contact's own call is a conversation they started. Not when the location's SMS
    // compliance settings append the opt-out line.)
    let sms: Vec<usize> = (0..n).filter(|&i| g.live(i, Kind::Sms)).collect();
    let appended = ctx.account.and_then(|a| a.sms_opt_out_appended) == Some(true);
    if let (Some(&first), false, false) = (sms.first(), ctx.transactional(), appended) {
        let says_stop = sms.iter().any(|&i| ctx.g.says_any(i, OPT_OUT_WORDS));
        let sells = sms.iter().any(|&i| ctx.wording(i).sells);
        if !says_stop {
            // A program that sells is what carriers filter first; service texts at medium.
            let severity = if sells {
                Severity::High
            } else {
                Severity::Medium
            };
            ctx.emit_sev(out, Rule::SmsWithoutOptOut, severity, Some(first), || {
                const FIX: &str = "add a STOP line, or switch on the location's SMS compliance setting that appends one";
                match sms.len() {
                    1 => format!(
                        "SMS {} never tells the contact how to stop; {FIX}.",
                        quoted(steps[first].label())
                    ),
                    n => format!(
                        "None of the {n} SMS steps, starting with {}, tells the contact how to stop; {FIX}.",
                        quoted(steps[first].label())
                    ),
                }
            });
        }
    }

    // send-without-window: on each wait (without a window) that messages follow.
    let global = window_ok(ctx.w.settings.sending_window.as_ref());
    if global == Some(false) {
        ctx.emit(out, Rule::SendWithoutWindow, None, || {
            "The workflow's sending window allows messages outside 8:00-21:00.".to_owned()
        });
    }
    // Per step: None for anything but a live timed wait, else its window verdict.
    let mut window: Vec<Option<Option<bool>>> = vec![None; n];
    for (i, w) in window.iter_mut().enumerate() {
        // Only time waits: a wait relative to an appointment goes at the time the reminder is
        // for, which is the point of it.
        if g.live(i, Kind::Wait) && matches!(ctx.wait_kind(i), WaitKind::Time(_)) {
            *w = Some(step_window(&steps[i]));
        }
    }
    // What a wait releases: the messages after it before the next wait (which times them).
    let is_wait = |i: usize| g.live(i, Kind::Wait);
    let leads_to_message = g.reaching((0..n).filter(|&i| outbound(i)), is_wait);
    // Texts buzz a phone at night; an email waits in the inbox: medium when only emails follow.
    let leads_to_text = g.reaching(
        (0..n).filter(|&i| outbound(i) && g.kinds[i] != Kind::Email),
        is_wait,
    );
    // A pause of under an hour before any other wait follows the contact's own action (the
    // trigger): what it sends goes out when they acted, which RULES.md accepts.
    let mut before_any_wait = g
        .entry
        .map_or_else(|| vec![false; n], |e| g.after([e], is_wait));
    if let Some(e) = g.entry.filter(|&e| !is_wait(e)) {
        before_any_wait[e] = true;
    }
    let first_short_pause = |i: usize| {
        matches!(ctx.wait_kind(i), WaitKind::Time(Some(m)) if m < FIRST_PAUSE_MINUTES)
            && (g.entry == Some(i) || g.preds(i).iter().any(|&p| before_any_wait[p as usize]))
    };
    // Whole-day waits after a team member's action: a wait of whole days ends at the time of day
    // the contact entered, and a staff trigger (a stage or status moved, a user assigned, a
    // manual add) fires when a team member works. Texts after such a wait are medium, not high:
    // still reported, since a move after hours or by another workflow's automation would send at
    // night. Only when every active trigger is a staff action, and no wait before this one (on
    // any path) ends at another time of day: an hour or minute wait, a wait for a reply or an
    // event, a wait relative to an appointment, or a drip step (it releases contacts in batches
    // over the hours).
    let staff_started = ctx.w.triggers.as_deref().is_some_and(|ts| {
        let mut active = ts.iter().filter(|t| t.active).peekable();
        active.peek().is_some()
            && active.all(|t| staff_trigger(&t.kind) || staff_marked_appointment(t))
    });
    let whole_days = |i: usize| matches!(ctx.wait_kind(i), WaitKind::Time(Some(m)) if m > 0.0 && m % MINUTES_PER_DAY == 0.0);
    let after_other_time = if staff_started {
        let drip = |i: usize| {
            matches!(
                g.kinds[i],
                Kind::OtherOutbound | Kind::OtherKnown | Kind::Unknown
            ) && !g.disabled[i]
                && steps[i].kind == "drip"
        };
        let shifts = (0..n).filter(|&i| {
            (is_wait(i) && !whole_days(i) && window[i] != Some(Some(true))) || drip(i)
        });
        g.after(shifts, |_| false)
    } else {
        Vec::new()
    };
    let keeps_staff_hours = |i: usize| {
        staff_started && whole_days(i) && !after_other_time.get(i).copied().unwrap_or(true)
    };
    for (i, verdict) in window.iter().enumerate() {
        match verdict {
            None | Some(Some(true)) => {}
            Some(Some(false)) => ctx.emit(out, Rule::SendWithoutWindow, Some(i), || {
                format!(
                    "Wait {} has a sending window outside 8:00-21:00.",
                    quoted(steps[i].label())
                )
            }),
            Some(None)
                if global.is_none()
                    && !first_short_pause(i)
                    && g.out(i).iter().any(|e| leads_to_message[e.to as usize]) =>
            {
                let texts = g.out(i).iter().any(|e| leads_to_text[e.to as usize]);
                let staff = texts && keeps_staff_hours(i);
                let (severity, what) = match (texts, staff) {
                    (true, false) => (Severity::High, "Texts"),
                    (true, true) => (Severity::Medium, "Texts"),
                    (false, _) => (Severity::Medium, "Emails (only)"),
                };
                ctx.emit_sev(out, Rule::SendWithoutWindow, severity, Some(i), || {
                    if staff {
                        format!(
                            "Texts follow wait {} with no sending window: its whole days keep the time of day a team member's action started the workflow, usually working hours, but a move after hours or by automation sends them at night.",
                            quoted(steps[i].label())
                        )
                    } else {
                        format!(
                            "{what} follow wait {} with no sending window, so they can go out at night.",
                            quoted(steps[i].label())
                        )
                    }
                })
            }
            Some(None) => {}
        }
    }

    // email-without-unsubscribe: per marketing email, only when the location switched LC Email's
    // default unsubscribe footer off; otherwise the verdict rests on that default, and says so.
    let footer = ctx.account.and_then(|a| a.unsubscribe_footer);
    for i in (0..n).filter(|&i| is_marketing_email(ctx, i)) {
        let s = &steps[i];
        if ctx.g.says_any(i, UNSUBSCRIBE_WORDS) {
            continue;
        }
        match footer {
            Some(false) => ctx.emit(
                out,
                Rule::EmailWithoutUnsubscribe,
                Some(i),
                || format!(
                    "Email {} has no unsubscribe link, and the location's default unsubscribe footer is off.",
                    quoted(s.label())
                ),
            ),
            Some(true) => {}
            None => ctx.assume(Rule::EmailWithoutUnsubscribe, UNSUBSCRIBE_DEFAULT),
        }
    }

    // no-stop-on-response: workflow-level, counting touches (an SMS and an email sent together
    // are one moment of the contact's day). Transactional workflows are exempt (a reminder is
    // wanted even after the contact replied), and so is a newsletter or a course (emails only,
    // each released by a wait of a week or more: stopping it on a "thanks!" would unsubscribe the
    // reader).
    let count = touches(ctx);
    if count >= 3
        && !ctx.transactional()
        && ctx.w.settings.stop_on_response != Some(true)
        && !newsletter(ctx)
    {
        let handles_reply = (0..n).any(|i| match g.kinds[i] {
            Kind::Wait => steps[i]
                .attr_str("type")
                .is_some_and(|t| contains_ci(t, "reply")),
            Kind::Unknown => contains_ci(&steps[i].kind, "reply"),
            _ => false,
        }) || ctx.has_trigger_like("reply");
        if !handles_reply {
            ctx.emit(
                out,
                Rule::NoStopOnResponse,
                None,
                || format!("{count} separate touches message the contact, stop-on-response is off and no step handles replies."),
            );
        }
    }

    // risky-merge-field: one finding per step, the first problem found.
    for (i, kind) in g.kinds.iter().enumerate() {
        if !kind.is_outbound() && *kind != Kind::InternalNotification {
            continue;
        }
        let s = &steps[i];
        if let Some(problem) = g.texts(i).find_map(|t| merge_problem(t, ctx)) {
            ctx.emit(out, Rule::RiskyMergeField, Some(i), || {
                format!("Step {}: {problem}.", quoted(s.label()))
            });
        }
    }

    if !ctx.transactional() {
        // Frequency is a marketing concern: a confirmation and two reminders are wanted.
        message_burst(ctx, out);
    }
    empty_message(ctx, out);
}

/// How many separate moments message the contact: the start and each live wait count once when
/// a message follows them before the next wait (linear: one reverse search from the messages).
pub(super) fn touches(ctx: &Ctx<'_>) -> usize {
    let g = ctx.g;
    let n = g.len();
    let wait = |i: usize| g.live(i, Kind::Wait);
    let messages = (0..n).filter(|&i| g.kinds[i].is_outbound() && !g.disabled[i]);
    let leads_to_message = g.reaching(messages, wait);
    let at_start = g.entry.is_some_and(|e| leads_to_message[e]);
    let after_waits = (0..n)
        .filter(|&w| wait(w) && g.out(w).iter().any(|e| leads_to_message[e.to as usize]))
        .count();
    usize::from(at_start) + after_waits
}

/// A first pause shorter than this after the trigger is not judged by `send-without-window`.
const FIRST_PAUSE_MINUTES: f64 = 60.0;

/// A week, in minutes.
const WEEK_MINUTES: f64 = 7.0 * 24.0 * 60.0;

/// Whether the workflow is a newsletter or a course: every message an email, and every wait that
/// releases one a fixed wait of a week or more.
fn newsletter(ctx: &Ctx<'_>) -> bool {
    let g = ctx.g;
    let n = g.len();
    let messages = || (0..n).filter(|&i| g.kinds[i].is_outbound() && !g.disabled[i]);
    if !messages().all(|i| g.kinds[i] == Kind::Email) {
        return false;
    }
    // The waits that release an email (before any other wait) set the cadence; a shorter wait
    // that only leads to another wait ("opened it? wait 3 days, branch, wait 27 more") does not.
    let wait = |i: usize| g.live(i, Kind::Wait);
    let leads_to_message = g.reaching(messages(), wait);
    (0..n)
        .filter(|&i| wait(i) && g.out(i).iter().any(|e| leads_to_message[e.to as usize]))
        .all(|i| matches!(ctx.wait_kind(i), WaitKind::Time(Some(m)) if m >= WEEK_MINUTES))
}

/// Position of the first `a b` byte pair (a byte scan: `str::find(&str)` builds a searcher per
/// call, which cost more than the search on short message texts).
fn find_pair(h: &str, a: u8, b: u8) -> Option<usize> {
    let bytes = h.as_bytes();
    memchr::memchr_iter(a, bytes).find(|&at| bytes.get(at + 1) == Some(&b))
}

/// The first merge-field problem of a text, if any.
/// Bytes of markup before a text's first visible character: whitespace, HTML tags and `&nbsp;`.
fn leading_markup(text: &str) -> usize {
    let mut at = 0;
    loop {
        let rest = &text[at..];
        let trimmed = rest.trim_start();
        at += rest.len() - trimmed.len();
        if trimmed.starts_with('<') {
            match memchr::memchr(b'>', trimmed.as_bytes()) {
                Some(end) => at += end + 1,
                None => return at,
            }
        } else if starts_with_ci(trimmed, "&nbsp;") {
            at += "&nbsp;".len();
        } else {
            return at;
        }
    }
}

fn merge_problem(text: &str, ctx: &Ctx<'_>) -> Option<String> {
    // The greeting is judged on the visible text: an email body starts with `<p>` or `<div>`.
    let lead = leading_markup(text);
    let mut rest = text;
    let mut offset = 0usize;
    while let Some(open) = find_pair(rest, b'{', b'{') {
        let after = &rest[open + 2..];
        let close = find_pair(after, b'}', b'}');
        let reopen = find_pair(after, b'{', b'{');
        let Some(close) = close.filter(|c| reopen.is_none_or(|r| r > *c)) else {
            return Some("a merge field is not closed with }}".to_owned());
        };
        let inner = after[..close].trim();
        let name = inner.split('|').next().unwrap_or("").trim();
        if name.is_empty() || name.contains(char::is_whitespace) {
            return Some(format!("the merge field {{{{{inner}}}}} is malformed"));
        }
        let start = offset + open;
        let lead = lead.min(start);
        if !inner.contains('|') && start - lead < 40 {
            let head = text[lead..start].trim_start();
            let greeting = [
                "hi",
                "hello",
                "hey",
                "dear",
                "good morning",
                "good afternoon",
                "good evening",
            ]
            .iter()
            .any(|g| starts_with_ci(head, g));
            if greeting && (name.starts_with("contact.") || name.starts_with("contact_")) {
                return Some(format!("the greeting uses {{{{{name}}}}} with no fallback"));
            }
        }
        if let Some(acc) = ctx.account {
            let lname = name.to_ascii_lowercase();
            if let (Some(key), Some(fields)) =
                (lname.strip_prefix("contact."), acc.custom_fields.as_ref())
            {
                if !STANDARD_FIELDS.contains(&key) && !fields.contains(key) {
                    return Some(format!(
                        "the merge field {{{{{name}}}}} is not a field of this account"
                    ));
                }
            }
            // An undefined custom value is `unresolved-placeholder`'s (high).
        }
        let consumed = open + 2 + close + 2;
        offset += consumed;
        rest = &rest[consumed..];
    }
    // A single-brace field such as {contact.first_name}.
    let bytes = text.as_bytes();
    let single = bytes.iter().enumerate().any(|(at, &c)| {
        c == b'{' && bytes[at + 1..].starts_with(b"contact.") && (at == 0 || bytes[at - 1] != b'{')
    });
    single.then(|| "a merge field uses single braces".to_owned())
}

/// What a text can say alone without saying anything (after merge fields and punctuation go).
const GREETINGS: &[&str] = &[
    "hi",
    "hello",
    "hey",
    "hi there",
    "hello there",
    "welcome",
    "thanks",
    "thank you",
    "test",
    "testing",
    "test message",
    "message",
    "text",
];

/// Visible characters of a text: HTML tags, entities and whitespace do not count. Linear.
fn visible_chars(text: &str) -> usize {
    let mut in_tag = false;
    let mut in_entity = false;
    let mut count = 0;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            '&' if !in_tag => in_entity = true,
            ';' if in_entity => in_entity = false,
            _ if in_tag || in_entity || c.is_whitespace() => {}
            _ => count += 1,
        }
        if in_entity && c.is_whitespace() {
            in_entity = false;
        }
    }
    count
}

/// The words of a text outside its merge fields (`{{...}}`; an unclosed one runs to the end):
/// runs of letters and digits.
fn bare_words(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let piece = match rest.find("{{") {
            Some(open) => {
                let piece = &rest[..open];
                rest = rest[open..]
                    .find("}}")
                    .map_or("", |close| &rest[open + close + 2..]);
                piece
            }
            None => std::mem::take(&mut rest),
        };
        Some(piece)
    })
    .flat_map(|piece| piece.split(|c: char| !c.is_alphanumeric()))
    .filter(|w| !w.is_empty())
}

/// empty-message: an email with no body (or only markup) and no template, a text that is empty
/// or says only a greeting, an internal notification with no subject and no body.
fn empty_message(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    for i in 0..ctx.g.len() {
        if let Some((severity, message)) = empty_message_of(ctx, i) {
            ctx.emit_sev(out, Rule::EmptyMessage, severity, Some(i), || message);
        }
    }
}

/// What `empty-message` says of step `i`, if anything, and how seriously: an email with no body,
/// a native email whose text is only in `body` (high: the builder's email action sends `html`),
/// an empty or greeting-only SMS, a notification with nothing in it (switched-off steps say
/// nothing).
pub(super) fn empty_message_of(ctx: &Ctx<'_>, i: usize) -> Option<(Severity, String)> {
    let g = ctx.g;
    let s = &ctx.w.steps[i];
    if g.disabled[i] {
        return None;
    }
    let body_chars = || {
        g.text_kv(i)
            .iter()
            .filter(|(k, _)| *k != "subject")
            .map(|(_, t)| visible_chars(t))
            .sum::<usize>()
    };
    match g.kinds[i] {
        // An email built from a template (an id, the builder's `template` object or its
        // `templatesource`) keeps its text there.
        Kind::Email
            if s.attr_any(&["templateId", "template_id", "templatesource"]).is_none()
                && s.attr("template").is_none() =>
        {
            // HighLevel's email action sends `html` and ignores a `body` key (public builder
            // captures: the action's keys are subject, html, from_name, from_email, attachments;
            // "plain text in body is ignored"), so in native JSON text only under `body` is not
            // sent. Exports keep an email's text in `meta.body`: only native JSON is judged so.
            let chars = |key: &str| {
                g.text_kv(i)
                    .iter()
                    .filter(|(k, _)| *k == key)
                    .map(|(_, t)| visible_chars(t))
                    .sum::<usize>()
            };
            let all = body_chars();
            if all == 0 {
                Some((
                    Severity::Critical,
                    format!(
                        "Email {} has an empty body: contacts receive a blank email.",
                        quoted(s.label())
                    ),
                ))
            } else if ctx.w.format == SourceFormat::Native
                && s.attr_str("html").is_none()
                && chars("body") == all
            {
                Some((
                    Severity::High,
                    format!(
                        "Email {} has its text under `body` and no `html`: HighLevel's email action sends `html`, so contacts receive a blank email.",
                        quoted(s.label())
                    ),
                ))
            } else {
                None
            }
        }
        Kind::Sms => {
            let attached = s
                .attr("attachments")
                .and_then(Json::as_array)
                .is_some_and(|a| !a.is_empty());
            let said = || {
                g.text_kv(i)
                    .iter()
                    .filter(|(k, _)| *k == "body" || *k == "message" || *k == "text")
                    .map(|(_, t)| *t)
            };
            // The first words, one more than the longest greeting has (no copy of the text).
            let mut first = [""; 4];
            let mut n = 0;
            for w in said().flat_map(bare_words).take(first.len()) {
                first[n] = w;
                n += 1;
            }
            let words = &first[..n];
            let greeting = || {
                GREETINGS.iter().any(|g| {
                    g.split(' ').count() == n
                        && g.split(' ').zip(words).all(|(g, w)| w.eq_ignore_ascii_case(g))
                })
            };
            if attached {
                None
            } else if n == 0 && said().all(|t| t.trim().is_empty()) {
                Some((
                    Severity::Critical,
                    format!("SMS {} is empty.", quoted(s.label())),
                ))
            } else if n > 0 && greeting() {
                let text: Vec<&str> = said().collect();
                Some((
                    Severity::Critical,
                    format!(
                        "SMS {} says only {}: the contact learns nothing from it.",
                        quoted(s.label()),
                        quoted(text.join(" ").trim())
                    ),
                ))
            } else {
                None
            }
        }
        Kind::InternalNotification if s.attr_any(&["templateId", "template_id"]).is_none() => (g
            .text_kv(i)
            .iter()
            .all(|(_, t)| visible_chars(t) == 0))
            .then(|| {
                (
                    Severity::Critical,
                    format!(
                        "Internal notification {} has no subject and no body: the team is alerted to nothing.",
                        quoted(s.label())
                    ),
                )
            }),
        _ => None,
    }
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
    let hours = ctx.options.message_burst.window_hours;
    let burst_minutes = f64::from(hours) * 60.0;
    while let Some(v) = queue.pop_front() {
        let Some([last, before]) = state[v] else {
            continue;
        };
        let leaving = if g.live(v, Kind::Sms) {
            let s = &steps[v];
            if before < burst_minutes && !flagged[v] {
                flagged[v] = true;
                ctx.emit(out, Rule::MessageBurst, Some(v), || {
                    format!(
                        "SMS {} is the third SMS within {hours} hours on this path.",
                        quoted(s.label())
                    )
                });
            }
            [0.0, last]
        } else if g.live(v, Kind::Wait) {
            match ctx.wait_kind(v) {
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
