//! Deliverability and consent: carrier-filtered SMS content, sender identity, spam signals in
//! email, postal addresses in marketing email, DND switched back off, SMS to bulk enrollments
//! without a consent check, and (A) the account's numbers and sending domains.

use super::messaging::is_marketing_email;
use super::{field_writes, if_else_checks, merge_names, quoted, words, Ctx, Finding, Rule};
use crate::model::{
    contains_any_ci, contains_ci, find_any_ci, starts_with_ci, Condition, Json, Kind, Step,
};

/// Public link shorteners carriers filter (matched as `domain/` after a non-alphanumeric).
const SHORTENERS: &[&str] = &[
    "bit.ly/",
    "tinyurl.com/",
    "goo.gl/",
    "t.co/",
    "ow.ly/",
    "is.gd/",
    "buff.ly/",
    "rebrand.ly/",
    "cutt.ly/",
    "shorturl.at/",
    "tiny.cc/",
    "rb.gy/",
    "t.ly/",
];

/// Carrier-restricted (SHAFT and gambling) words, matched as whole lower-cased words, to their
/// category (a `match`, which compiles to a length switch: no per-word list scan).
fn restricted_category(lower: &[u8]) -> Option<&'static str> {
    Some(match lower {
        b"sex" | b"sexy" | b"xxx" | b"porn" | b"nude" | b"nudes" | b"escort" => "sexual content",
        b"alcohol" | b"beer" | b"wine" | b"liquor" | b"vodka" | b"whiskey" | b"tequila" => {
            "alcohol"
        }
        b"firearm" | b"firearms" | b"gun" | b"guns" | b"ammo" | b"ammunition" => "firearms",
        b"tobacco" | b"cigarette" | b"cigarettes" | b"cigar" | b"cigars" | b"vape" | b"vapes"
        | b"vaping" => "tobacco",
        b"cannabis" | b"marijuana" | b"cbd" | b"thc" | b"kratom" => "cannabis",
        b"casino" | b"gambling" => "gambling",
        _ => return None,
    })
}

/// Whether a body has an image, a link or a URL (`<img`, `href`, `http`, case ignored): one
/// pass over the bytes.
fn has_media(text: &str) -> bool {
    let b = text.as_bytes();
    (0..b.len()).any(|i| match b[i] {
        b'<' => b
            .get(i + 1..i + 4)
            .is_some_and(|w| w.eq_ignore_ascii_case(b"img")),
        b'h' | b'H' => b
            .get(i + 1..i + 4)
            .is_some_and(|w| w.eq_ignore_ascii_case(b"ttp") || w.eq_ignore_ascii_case(b"ref")),
        _ => false,
    })
}

/// Fewer visible letters than this make an email image- or link-only.
const MIN_LETTERS: usize = 20;

/// Signs that a text names who is writing.
const SENDER_SIGNS: &[&str] = &[
    "{{location.",
    "{{user.",
    "{{business",
    "{{company",
    "{{custom_values.business",
    "{{custom_values.company",
    "this is ",
    " from ",
    "contacting ",
    "choosing ",
    "welcome to ",
    " team",
    "here at ",
];

/// Spam phrases in a subject.
const SPAM_PHRASES: &[&str] = &[
    "act now",
    "100% free",
    "risk-free",
    "risk free",
    "you have won",
    "you've won",
    "winner",
    "cash bonus",
    "free money",
    "guaranteed",
    "click here",
    "limited time only",
    "no cost",
    "earn $",
    "make money",
    "urgent",
    "double your",
];

/// Phrases asking the reader to reply.
const REPLY_ASKS: &[&str] = &[
    "reply to this email",
    "just reply",
    "simply reply",
    "hit reply",
    "reply back",
    "reply and let",
    "reply with",
    "reply to let",
];

const NO_REPLY: &[&str] = &[
    "noreply",
    "no-reply",
    "no_reply",
    "donotreply",
    "do-not-reply",
];

/// Trigger type fragments that enroll a list or a batch of contacts at once: scheduled and
/// recurring runs, smart lists, bulk actions, imports, manual adds and list additions.
const BULK_TRIGGERS: &[&str] = &[
    "scheduler",
    "smart_list",
    "bulk",
    "import",
    "manual",
    "recurring",
    "added_to_list",
];

/// Words of a consent check (an if/else or a trigger filter): SMS consent, opt-in, DND,
/// subscription status. `sms_consent` and `opted_in` are covered by `consent` and `opted`.
const CONSENT: &[&str] = &[
    "consent",
    "opt-in",
    "opt_in",
    "opt in",
    "optin",
    "opted",
    "dnd",
    "subscribed",
];

/// Written postal-address markers for a PO box.
const PO_BOX: &[&str] = &[
    "po box",
    "p.o. box",
    "p. o. box",
    "p.o box",
    "post office box",
];

/// Street suffixes after a house number and a street name (matched as whole words).
const STREET_SUFFIXES: &[&str] = &[
    "st",
    "street",
    "ave",
    "avenue",
    "rd",
    "road",
    "blvd",
    "boulevard",
    "lane",
    "ln",
    "dr",
    "drive",
    "way",
    "suite",
    "ct",
    "court",
    "pl",
    "place",
    "hwy",
    "highway",
    "pkwy",
    "parkway",
];

/// US state and territory codes (a 5-digit ZIP right after one is an address).
const US_STATES: &[&str] = &[
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN", "IA",
    "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM",
    "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA",
    "WV", "WI", "WY", "PR", "GU", "VI",
];

/// Whether a merge field prints the business's postal address: a `location.`, `business.`,
/// `company.` or `custom_values.` name with `address` in it (not an email address), or
/// `location.city` together with `location.postal_code`.
fn has_address_field<'t>(texts: impl Iterator<Item = &'t str>) -> bool {
    let (mut city, mut postal) = (false, false);
    for t in texts {
        for name in merge_names(t) {
            let scoped = ["location.", "business.", "company.", "custom_values."]
                .iter()
                .any(|p| starts_with_ci(name, p));
            if scoped && contains_ci(name, "address") && !contains_ci(name, "email") {
                return true;
            }
            city |= name.eq_ignore_ascii_case("location.city");
            postal |= name.eq_ignore_ascii_case("location.postal_code");
        }
    }
    city && postal
}

/// Whether a text writes a postal address out: a PO box; a house number, one to three words and
/// a street suffix (`12 Main St`, `500 North Oak Avenue`); a 5-digit ZIP right after a US state
/// code (`TX 75201`); or a UK-style postcode (`SW1A 1AA`). Byte-based over the text's words; a
/// false match only keeps the rule quiet.
fn has_written_address(text: &str) -> bool {
    if contains_any_ci(text, PO_BOX) {
        return true;
    }
    let digits = |w: &[u8]| w.iter().all(u8::is_ascii_digit);
    let upper = |w: &[u8]| w.iter().all(u8::is_ascii_uppercase);
    let uk_outward = |w: &[u8]| {
        let letters = w.iter().take_while(|c| c.is_ascii_uppercase()).count();
        (2..=4).contains(&w.len())
            && (1..=2).contains(&letters)
            && letters < w.len()
            && w[letters].is_ascii_digit()
            && w[letters..]
                .iter()
                .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
    };
    let uk_inward = |w: &[u8]| w.len() == 3 && w[0].is_ascii_digit() && upper(&w[1..]);
    // One pass keeping the previous four words (`back[0]` the one before): each pattern is
    // recognised at its last word, so nothing is collected.
    let mut back: [&[u8]; 4] = [b""; 4];
    words(text).any(|w| {
        // The house number first: most words have none before them, and the suffix list is long.
        let street = back[1..]
            .iter()
            .any(|n| (1..=6).contains(&n.len()) && digits(n))
            && STREET_SUFFIXES
                .iter()
                .any(|s| s.as_bytes().eq_ignore_ascii_case(w));
        let zip = w.len() == 5 && digits(w) && US_STATES.iter().any(|s| s.as_bytes() == back[0]);
        let postcode = uk_inward(w) && uk_outward(back[0]);
        back.rotate_right(1);
        back[0] = w;
        street || zip || postcode
    })
}

/// Whether a trigger filter mentions consent (its field or its values).
fn filters_on_consent(c: &Condition) -> bool {
    let says = |t: &str| contains_any_ci(t, CONSENT);
    says(&c.field) || c.value_strings().into_iter().any(says)
}

/// Whether `text` links through a public shortener: one pass over the `/` positions, comparing
/// the host-like token before each with the list.
fn shortener_in(text: &str) -> Option<&'static str> {
    let b = text.as_bytes();
    let mut from = 0;
    while let Some(p) = b[from..].iter().position(|&c| c == b'/').map(|p| p + from) {
        from = p + 1;
        let start = b[..p]
            .iter()
            .rposition(|c| !(c.is_ascii_alphanumeric() || *c == b'.' || *c == b'-'))
            .map_or(0, |s| s + 1);
        let host = &text[start..p];
        if host.is_empty() {
            continue;
        }
        if let Some(d) = SHORTENERS.iter().find(|d| {
            let d = &d[..d.len() - 1];
            d.eq_ignore_ascii_case(host)
        }) {
            return Some(d);
        }
    }
    None
}

/// The restricted word and category, if `w` is one (ASCII case ignored, no allocation).
fn restricted(w: &[u8]) -> Option<(String, &'static str)> {
    let len = w.len();
    if !(3..=10).contains(&len) {
        return None;
    }
    let mut buf = [0u8; 10];
    for (d, s) in buf.iter_mut().zip(w) {
        *d = s.to_ascii_lowercase();
    }
    let lower = &buf[..len];
    restricted_category(lower).map(|c| (String::from_utf8_lossy(lower).into_owned(), c))
}

/// The from address of an email step.
pub(super) fn from_address<'s>(s: &'s Step<'_>) -> Option<&'s str> {
    s.attr_any(&["from_email", "fromEmail", "fromAddress", "from"])
        .filter(|a| a.contains('@') && !a.contains("{{"))
}

fn is_off(v: &Json) -> bool {
    match v {
        Json::Bool(b) => !b,
        Json::Number(n) => *n == 0.0,
        Json::String(s) => matches!(
            s.trim().to_ascii_lowercase().as_str(),
            "false" | "off" | "0" | "no" | "inactive" | "disable" | "disabled"
        ),
        _ => false,
    }
}

/// Whether a step switches DND off (an explicit value only, never inferred): a `dnd` step, or
/// HighLevel's own `dnd_contact` step (`attributes.dnd_contact: "disable"`, docs/ANALYZER.md,
/// "Formats"), whose action says disable/off/remove; a field update writing an off value to a
/// `dnd` field.
fn turns_dnd_off(s: &Step) -> bool {
    if s.kind == "dnd" || s.kind == "dnd_contact" {
        let action = s.attr_any(&["dnd_contact", "action", "dndAction", "status"]);
        return action.is_some_and(|a| {
            matches!(
                a.to_ascii_lowercase().replace([' ', '-'], "_").as_str(),
                "disable"
                    | "disabled"
                    | "off"
                    | "remove"
                    | "turn_off"
                    | "disable_dnd"
                    | "unset"
                    | "inactive"
            )
        }) || s.attr("dnd").is_some_and(is_off);
    }
    if s.kind == "update_contact_field" {
        let dnd = |f: &str| {
            f.eq_ignore_ascii_case("dnd")
                || f.len() >= 4 && f.as_bytes()[f.len() - 4..].eq_ignore_ascii_case(b".dnd")
        };
        // Every write of the step: its own field, or each entry of the builder's list.
        return field_writes(s).any(|(f, value)| dnd(f) && value.is_some_and(is_off));
    }
    false
}

/// Visible letters of an email body: tags, merge fields, URLs and "unsubscribe" removed. One
/// pass, no allocation; stops counting at `cap`.
fn visible_letters(html: &str, cap: usize) -> usize {
    let mut letters = 0;
    let mut in_tag = false;
    // The current word's byte range outside tags.
    let mut word_start: Option<usize> = None;
    let count = |w: &str| -> usize {
        let skip = w.contains("{{")
            || w.contains("}}")
            || w.contains("://")
            || w.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("www."))
            || w.get(..11)
                .is_some_and(|p| p.eq_ignore_ascii_case("unsubscribe"));
        if skip {
            0
        } else {
            w.chars().filter(|c| c.is_alphabetic()).count()
        }
    };
    for (i, c) in html.char_indices() {
        if letters >= cap {
            return letters;
        }
        let boundary = c == '<' || (c == '>' && in_tag) || c.is_whitespace();
        if boundary || in_tag {
            if let Some(s) = word_start.take() {
                letters += count(&html[s..i]);
            }
        }
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if !in_tag && !c.is_whitespace() && word_start.is_none() => word_start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = word_start {
        letters += count(&html[s..]);
    }
    letters
}

pub(super) fn run(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let g = ctx.g;
    let steps = &ctx.w.steps;
    let n = g.len();
    let mut first_sms: Option<usize> = None;
    let mut any_sms = None;
    for (i, s) in steps.iter().enumerate() {
        if g.live(i, Kind::Sms) {
            any_sms.get_or_insert(i);
            if g.reachable(i) && first_sms.is_none_or(|f| (g.depth[i], i) < (g.depth[f], f)) {
                first_sms = Some(i);
            }
            if let Some(d) = g.texts(i).find_map(shortener_in) {
                ctx.emit(out, Rule::SmsLinkShortener, Some(i), || {
                    format!(
                        "SMS {} links through the public shortener {}.",
                        quoted(s.label()),
                        d.trim_end_matches('/')
                    )
                });
            }
            let hit = g.texts(i).find_map(|t| words(t).find_map(restricted));
            if let Some((word, category)) = hit {
                ctx.emit(out, Rule::SmsRestrictedContent, Some(i), || {
                    format!(
                        "SMS {} contains \"{word}\" ({category}), content carriers restrict.",
                        quoted(s.label())
                    )
                });
            }
        }
        if g.live(i, Kind::Email) {
            let body = || {
                g.text_kv(i)
                    .iter()
                    .filter(|(k, _)| *k != "subject")
                    .map(|(_, t)| *t)
            };
            if body().next().is_some() {
                let media = body().any(has_media);
                let letters = if media {
                    body().try_fold(0, |sum, b| {
                        let sum = sum + visible_letters(b, MIN_LETTERS);
                        if sum >= MIN_LETTERS {
                            Err(sum)
                        } else {
                            Ok(sum)
                        }
                    })
                } else {
                    Err(usize::MAX)
                };
                if let Ok(letters) = letters {
                    ctx.emit(out, Rule::EmailImageOrLinkOnly, Some(i), || {
                        format!(
                            "Email {} is an image or a link with {letters} letters of text.",
                            quoted(s.label())
                        )
                    });
                }
            }
            if let Some(subject) = s.attr_str("subject") {
                if let Some(why) = spam_subject(subject) {
                    ctx.emit(out, Rule::SpamTriggerSubject, Some(i), || {
                        format!("Email {} has a subject {why}.", quoted(s.label()))
                    });
                }
            }
            if let Some(from) = from_address(s) {
                let local = from.split('@').next().unwrap_or("").to_ascii_lowercase();
                let no_reply = NO_REPLY.iter().any(|p| local.contains(p));
                let reply_to = s.attr_any(&["replyTo", "reply_to"]).is_some();
                let asks = g.says_any(i, REPLY_ASKS);
                if no_reply && !reply_to && asks {
                    ctx.emit(out, Rule::ReplyToNoReply, Some(i), || {
                        format!(
                            "Email {} asks for a reply but is sent from {from} with no reply-to.",
                            quoted(s.label())
                        )
                    });
                }
            }
        }
        if !g.disabled[i] && matches!(g.kinds[i], Kind::Dnd | Kind::UpdateField) && turns_dnd_off(s)
        {
            ctx.emit(out, Rule::DndTurnedOff, Some(i), || {
                let channels: Vec<&str> = match s.attr("specific_channels") {
                    Some(Json::Array(a)) => a.iter().filter_map(Json::as_str).collect(),
                    Some(Json::String(c)) => vec![c.as_ref()],
                    _ => Vec::new(),
                };
                if channels.is_empty() {
                    format!("Step {} turns the contact's DND off.", quoted(s.label()))
                } else {
                    format!(
                        "Step {} turns the contact's DND off ({}).",
                        quoted(s.label()),
                        channels.join(", ")
                    )
                }
            });
        }
    }
    // email-without-postal-address: per marketing email (as `email-without-unsubscribe` judges).
    for i in (0..n).filter(|&i| is_marketing_email(ctx, i)) {
        if !has_address_field(g.texts(i)) && !g.texts(i).any(has_written_address) {
            ctx.emit(
                out,
                Rule::EmailWithoutPostalAddress,
                Some(i),
                || format!(
                    "Marketing email {} has no postal address; add the business address to the footer, e.g. {{{{location.full_address}}}}.",
                    quoted(steps[i].label())
                ),
            );
        }
    }
    bulk_sms_without_consent(ctx, out);
    // first-sms-no-sender (not when the location's SMS compliance settings append the sender)
    let appended = ctx.account.and_then(|a| a.sms_sender_appended) == Some(true);
    if let (Some(f), false) = (first_sms, appended) {
        let s = &steps[f];
        let names = g.says_any(f, SENDER_SIGNS);
        if !names && g.texts(f).next().is_some() {
            ctx.emit(out, Rule::FirstSmsNoSender, Some(f), || {
                format!(
                    "The first SMS, {}, never says who is writing.",
                    quoted(s.label())
                )
            });
        }
    }
    if let (Some(first), Some(numbers)) =
        (any_sms, ctx.account.and_then(|a| a.phone_numbers.as_ref()))
    {
        if !numbers.iter().any(|p| p.can_sms) {
            ctx.emit(
                out,
                Rule::SmsWithoutSendingNumber,
                Some(first),
                || format!(
                    "The workflow sends SMS (first: {}) but none of the account's {} phone number(s) can send SMS.",
                    quoted(steps[first].label()),
                    numbers.len()
                ),
            );
        }
    }
    if let Some(domains) = ctx.account.and_then(|a| a.email_domains.as_ref()) {
        for i in (0..n).filter(|&i| g.live(i, Kind::Email)) {
            let Some(from) = from_address(&steps[i]) else {
                continue;
            };
            let domain = from
                .rsplit('@')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            let entry = domains.get(&domain).or_else(|| {
                domains
                    .iter()
                    .find(|(d, _)| domain.ends_with(&format!(".{d}")))
                    .map(|(_, a)| a)
            });
            let problem = match entry {
                None => Some(format!("{domain} is not a sending domain of the account")),
                Some(auth) => {
                    let failing = auth.failing();
                    (!failing.is_empty()).then(|| format!("{domain} fails {}", failing.join(", ")))
                }
            };
            if let Some(p) = problem {
                ctx.emit(out, Rule::EmailDomainUnauthenticated, Some(i), || {
                    format!(
                        "Email {} is sent from {from}: {p}.",
                        quoted(steps[i].label())
                    )
                });
            }
        }
    }
}

/// `bulk-sms-without-consent`, on each SMS that is the first SMS of some path from the entry
/// with no consent check before it, when an active list or bulk trigger (see [`BULK_TRIGGERS`])
/// has no consent filter of its own. A consent check is an if/else whose conditions (or names)
/// mention [`CONSENT`]. One sweep from the entry, blocked at consent checks and at SMS steps,
/// then one look at each SMS's predecessors: linear.
fn bulk_sms_without_consent(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let g = ctx.g;
    let steps = &ctx.w.steps;
    let Some(triggers) = &ctx.w.triggers else {
        return;
    };
    let Some(trigger) = triggers.iter().find(|t| {
        t.active
            && contains_any_ci(&t.kind, BULK_TRIGGERS)
            && !t.conditions.iter().any(filters_on_consent)
    }) else {
        return;
    };
    let Some(entry) = g.entry else { return };
    let consent_check = if_else_checks(g, CONSENT);
    let sms = |v: usize| g.live(v, Kind::Sms);
    if consent_check[entry] {
        return;
    }
    let first: Vec<usize> = if sms(entry) {
        vec![entry]
    } else {
        let open = g.after([entry], |v| consent_check[v] || sms(v));
        (0..g.len())
            .filter(|&i| {
                sms(i)
                    && g.preds(i).iter().any(|&p| {
                        let p = p as usize;
                        p == entry || open[p]
                    })
            })
            .collect()
    };
    for i in first {
        ctx.emit(
            out,
            Rule::BulkSmsWithoutConsent,
            Some(i),
            || format!(
                "SMS {} goes to contacts enrolled in bulk by trigger {} with no consent, opt-in or DND check before it.",
                quoted(steps[i].label()),
                quoted(trigger.label())
            ),
        );
    }
}

/// Why a subject looks like spam, if it does.
fn spam_subject(subject: &str) -> Option<String> {
    if subject.contains("!!!") {
        return Some("with \"!!!\"".to_owned());
    }
    if subject.contains("$$$") {
        return Some("with \"$$$\"".to_owned());
    }
    if let Some(p) = find_any_ci(subject, SPAM_PHRASES) {
        return Some(format!("with the spam phrase \"{p}\""));
    }
    // Capitals, ignoring merge fields.
    let mut letters = 0usize;
    let mut upper = 0usize;
    let mut depth = 0i32;
    let b = subject.as_bytes();
    let mut k = 0;
    while k < b.len() {
        if b[k..].starts_with(b"{{") {
            depth += 1;
            k += 2;
            continue;
        }
        if b[k..].starts_with(b"}}") {
            depth -= 1;
            k += 2;
            continue;
        }
        if depth <= 0 && b[k].is_ascii_alphabetic() {
            letters += 1;
            upper += usize::from(b[k].is_ascii_uppercase());
        }
        k += 1;
    }
    (letters >= 8 && upper * 10 >= letters * 8).then(|| "mostly in capitals".to_owned())
}
