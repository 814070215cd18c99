//! Data hygiene: a field set twice in a row, tags built from merge fields, unresolved
//! placeholders in live copy, contacts created without a lookup.

use super::{field_writes, merge_names, quoted, Ctx, Finding, Rule};
use crate::graph::EdgeKind;
use crate::model::{Json, Kind, Step};

/// The fields and values a field update writes (every entry of its list; nothing for another
/// step).
fn writes<'s, 'a>(s: &'s Step<'a>) -> impl Iterator<Item = (&'s str, Option<&'s Json<'a>>)> + 's {
    (s.kind == "update_contact_field")
        .then(|| field_writes(s))
        .into_iter()
        .flatten()
}

/// The first field `later` writes that `first` wrote too (case ignored). Linear in both lists:
/// `first`'s fields go into a set when it writes more than one.
fn rewritten<'s>(first: &Step<'_>, later: &'s Step<'_>) -> Option<&'s str> {
    if later.kind != "update_contact_field" {
        return None;
    }
    let mut mine = writes(first).map(|(f, _)| f);
    let one = mine.next()?;
    let mut theirs = writes(later).map(|(f, _)| f);
    match mine.next() {
        None => theirs.find(|f| f.eq_ignore_ascii_case(one)),
        Some(two) => {
            let set: std::collections::HashSet<String> = [one, two]
                .into_iter()
                .chain(mine)
                .map(str::to_ascii_lowercase)
                .collect();
            theirs.find(|f| set.contains(&f.to_ascii_lowercase()))
        }
    }
}

/// The first phone number written without the +country code (a literal of 7+ digits on a field
/// whose name says phone): the field and the value.
fn phone_not_e164<'s>(s: &'s Step<'_>) -> Option<(&'s str, &'s str)> {
    writes(s).find_map(|(field, value)| {
        let value = value.and_then(Json::as_str)?.trim();
        let digits = value.bytes().filter(u8::is_ascii_digit).count();
        (crate::model::contains_ci(field, "phone")
            && !value.contains("{{")
            && digits >= 7
            && !is_e164(value))
        .then_some((field, value))
    })
}

/// A literal placeholder of a text: `[INSERT`, `[YOUR ` or lorem ipsum (case ignored), or the
/// whole words TODO, TBD, FIXME in capitals. One pass over the words plus a `[` pre-check.
fn placeholder_in(text: &str) -> Option<&'static str> {
    use crate::model::contains_ci;
    if text.contains('[') {
        if contains_ci(text, "[insert") {
            return Some("[INSERT");
        }
        if contains_ci(text, "[your ") {
            return Some("[YOUR");
        }
    }
    // A byte scan: only positions starting T, F or l/L can start a placeholder word.
    let b = text.as_bytes();
    let word_at = |at: usize, w: &[u8]| {
        b[at..].starts_with(w)
            && (at == 0 || !b[at - 1].is_ascii_alphanumeric())
            && b.get(at + w.len())
                .is_none_or(|c| !c.is_ascii_alphanumeric())
    };
    for (at, &c) in b.iter().enumerate() {
        let hit = match c {
            b'T' if word_at(at, b"TODO") => "TODO",
            b'T' if word_at(at, b"TBD") => "TBD",
            b'F' if word_at(at, b"FIXME") => "FIXME",
            b'l' | b'L'
                if b.get(at..at + 11)
                    .is_some_and(|w| w.eq_ignore_ascii_case(b"lorem ipsum")) =>
            {
                "lorem ipsum"
            }
            _ => continue,
        };
        return Some(hit);
    }
    None
}

/// Whether a literal phone value is E.164 (`+` then 7 to 15 digits, the first not 0).
fn is_e164(v: &str) -> bool {
    let Some(d) = v.strip_prefix('+') else {
        return false;
    };
    (7..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()) && !d.starts_with('0')
}

/// A string value built from a merge field.
fn templated<'v>(v: &'v Json) -> Option<&'v str> {
    v.as_str().filter(|t| t.contains("{{"))
}

pub(super) fn run(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let g = ctx.g;
    let steps = &ctx.w.steps;
    let n = g.len();
    let custom_values = ctx.account.and_then(|a| a.custom_values.as_ref());
    let mut after_find: Option<Vec<bool>> = None;
    for i in 0..n {
        let kind = g.kinds[i];
        if g.disabled[i]
            || !(kind.is_outbound()
                || matches!(kind, Kind::UpdateField | Kind::AddTag | Kind::CreateContact))
        {
            continue;
        }
        let s = &steps[i];
        // field-set-twice: i's only follower, reached only from i, sets a field i set (each
        // step is a follower of one step at most, so every list is read twice at most).
        if let (Kind::UpdateField, [e]) = (kind, g.out(i)) {
            let w = e.to as usize;
            if e.kind == EdgeKind::Next && !g.disabled[w] && g.preds(w).len() == 1 {
                if let Some(field) = rewritten(s, &steps[w]) {
                    ctx.emit(out, Rule::FieldSetTwice, Some(w), || {
                        format!(
                            "{} sets {field} again right after {} set it.",
                            quoted(steps[w].label()),
                            quoted(s.label())
                        )
                    });
                }
            }
        }
        if let Some((field, value)) = phone_not_e164(s) {
            ctx.emit(
                out,
                Rule::PhoneNotE164,
                Some(i),
                || format!(
                    "{} writes the phone number \"{value}\" to {field} without the +country code format.",
                    quoted(s.label())
                ),
            );
        }
        match g.kinds[i] {
            Kind::AddTag => {
                let tag = ["tags", "tag"]
                    .iter()
                    .filter_map(|k| s.attr(k))
                    .find_map(|v| match v {
                        Json::Array(a) => a.iter().find_map(templated),
                        other => templated(other),
                    });
                if let Some(t) = tag {
                    ctx.emit(out, Rule::TagFromMergeField, Some(i), || {
                        format!(
                            "{} adds the tag \"{t}\", built from a merge field.",
                            quoted(s.label())
                        )
                    });
                }
            }
            Kind::CreateContact => {
                let after = after_find.get_or_insert_with(|| {
                    g.after((0..n).filter(|&j| g.live(j, Kind::FindContact)), |_| false)
                });
                if !after[i] {
                    ctx.emit(out, Rule::CreateContactWithoutFind, Some(i), || {
                        format!(
                            "{} creates a contact without finding it first.",
                            quoted(s.label())
                        )
                    });
                }
            }
            k if k.is_outbound() => {
                let problem = g.texts(i).find_map(|t| {
                    if let Some(p) = placeholder_in(t) {
                        return Some(format!("the placeholder \"{p}\""));
                    }
                    let values = custom_values?;
                    merge_names(t).find_map(|name| {
                        let key = name.to_ascii_lowercase();
                        let key = key.strip_prefix("custom_values.")?;
                        (!values.contains(key)).then(|| {
                            format!("{{{{{name}}}}}, a custom value the account does not have")
                        })
                    })
                });
                if let Some(p) = problem {
                    ctx.emit(out, Rule::UnresolvedPlaceholder, Some(i), || {
                        format!("{} still contains {p}.", quoted(s.label()))
                    });
                }
            }
            _ => {}
        }
    }
}

/// The duration a step name states, in minutes: the first "N unit" in it ("Wait 24 hours",
/// "2 days later", "1hr before"). `None` when the name states none.
fn stated_minutes(name: &str) -> Option<f64> {
    let lower = name.to_ascii_lowercase();
    let bytes = lower.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        let value: f64 = lower[start..i].parse().ok()?;
        let unit = lower[i..].trim_start();
        let unit: String = unit.chars().take_while(char::is_ascii_alphabetic).collect();
        let per = match unit.as_str() {
            "m" | "min" | "mins" | "minute" | "minutes" => 1.0,
            "h" | "hr" | "hrs" | "hour" | "hours" => 60.0,
            "d" | "day" | "days" => 1_440.0,
            "w" | "wk" | "wks" | "week" | "weeks" => 10_080.0,
            _ => continue,
        };
        return Some(value * per);
    }
    None
}

/// Whether `name` names `word` (a channel) as a whole word, ASCII case ignored, other than right
/// after "no", "not", "non" or "without": "Email (no SMS consent)" is an email step. `e-mail`
/// counts as `email` (two words once split).
fn says_channel(name: &str, word: &str) -> bool {
    let words: Vec<&str> = name
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let negated = |at: usize| {
        at > 0
            && ["no", "not", "non", "without"]
                .iter()
                .any(|n| words[at - 1].eq_ignore_ascii_case(n))
    };
    (0..words.len()).any(|at| {
        let hit = words[at].eq_ignore_ascii_case(word)
            || (word == "email"
                && words[at].eq_ignore_ascii_case("e")
                && words
                    .get(at + 1)
                    .is_some_and(|m| m.eq_ignore_ascii_case("mail")));
        hit && !negated(at)
    })
}

/// Whether `name` has `word` as a whole word (ASCII case ignored).
fn has_word(name: &str, word: &str) -> bool {
    name.split(|c: char| !c.is_ascii_alphanumeric())
        .any(|w| w.eq_ignore_ascii_case(word))
}

/// A tag name as compared with the tag a step name states: lower-cased, with spaces, `-` and `_`
/// the same (runs of them one separator), trimmed.
fn tag_words(tag: &str) -> String {
    let mut out = String::with_capacity(tag.len());
    for part in tag
        .split(|c: char| c.is_whitespace() || c == '-' || c == '_')
        .filter(|p| !p.is_empty())
    {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&part.to_lowercase());
    }
    out
}

/// Whether the tag a step name states is the real tag, or its trailing word(s) ("Tag: detractor"
/// for `review-detractor`), both read by [`tag_words`].
fn names_tag(named: &str, tag: &str) -> bool {
    tag == named
        || tag
            .strip_suffix(named)
            .is_some_and(|head| head.ends_with(' '))
}

/// name-contradicts-step: a wait whose name states another duration than it waits, a message
/// step named for another channel, a tag step named for a tag it does not add. Names that state
/// nothing checkable are left alone.
pub(super) fn name_contradicts(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let g = ctx.g;
    for (i, s) in ctx.w.steps.iter().enumerate() {
        if g.disabled[i] || s.name.trim().is_empty() {
            continue;
        }
        let name = &*s.name;
        let problem = match g.kinds[i] {
            Kind::Wait => {
                let configured = s
                    .attr("appointmentStartAfter")
                    .or_else(|| s.attr("startAfter"))
                    .and_then(super::waits::duration);
                match (stated_minutes(name), configured) {
                    (Some(said), Some(real)) if (said - real).abs() > 0.5 => Some(format!(
                        "Wait {} is configured for {}.",
                        quoted(name),
                        minutes_text(real)
                    )),
                    _ => None,
                }
            }
            Kind::Email
                if says_channel(name, "sms")
                    || (says_channel(name, "text") && !says_channel(name, "email")) =>
            {
                Some(format!("Step {} sends an email.", quoted(name)))
            }
            Kind::Sms
                if says_channel(name, "email")
                    && !says_channel(name, "sms")
                    && !says_channel(name, "text") =>
            {
                Some(format!("Step {} sends an SMS.", quoted(name)))
            }
            Kind::AddTag | Kind::RemoveTag => {
                let named = name
                    .split_once(':')
                    .filter(|(head, _)| has_word(head, "tag"))
                    .map(|(_, tag)| tag_words(tag.trim().trim_matches(['"', '\''])))
                    .filter(|t| !t.is_empty());
                let tags: Vec<&str> = match s.attr("tags").or_else(|| s.attr("tag")) {
                    Some(Json::Array(a)) => a.iter().filter_map(Json::as_str).collect(),
                    Some(Json::String(t)) => vec![t.as_ref()],
                    _ => Vec::new(),
                };
                match named {
                    Some(n)
                        if !tags.is_empty()
                            && !tags.iter().any(|t| names_tag(&n, &tag_words(t))) =>
                    {
                        Some(format!(
                            "Step {} changes the tag(s) {} instead.",
                            quoted(name),
                            tags.iter()
                                .map(|t| quoted(t).to_string())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ))
                    }
                    _ => None,
                }
            }
            _ => None,
        };
        if let Some(p) = problem {
            ctx.emit(out, Rule::NameContradictsStep, Some(i), || p);
        }
    }
}

/// "60 minutes", "2 hours", "1.5 days": the largest whole unit that fits.
fn minutes_text(m: f64) -> String {
    let (value, unit) = if m >= 1_440.0 && m % 1_440.0 == 0.0 {
        (m / 1_440.0, "day")
    } else if m >= 60.0 && m % 60.0 == 0.0 {
        (m / 60.0, "hour")
    } else {
        (m, "minute")
    };
    let plural = if value == 1.0 { "" } else { "s" };
    format!("{value} {unit}{plural}")
}
