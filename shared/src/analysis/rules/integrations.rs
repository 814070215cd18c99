//! Integration rules: unchecked webhooks, test endpoints, hard-coded secrets and URLs, alerts
//! that reach nobody, the same external lookup repeated.

use std::hash::{Hash, Hasher};

use super::reliability::HTTP_CALLS;
use super::{quoted, Ctx, Finding, Rule};
use crate::analysis::graph::{FastMap, Fnv, Graph};
use crate::analysis::model::{contains_ci, Json, Kind, Role, Step};

/// Hosts and fragments of test set-ups.
const TEST_HOSTS: &[&str] = &[
    "localhost",
    "127.0.0.1",
    "0.0.0.0",
    "[::1]",
    "ngrok",
    "loca.lt",
    "localtunnel",
    "trycloudflare.com",
    "requestbin",
    "webhook.site",
    "pipedream.net",
    "beeceptor",
    "mockbin",
    "hookbin",
    "requestcatcher",
    "serveo.net",
    "localhost.run",
];
/// Prefixes of well-known secret formats.
const SECRET_PREFIXES: &[&str] = &[
    "sk_live_",
    "sk_test_",
    "rk_live_",
    "whsec_",
    "ghp_",
    "github_pat_",
    "xoxb-",
    "xoxp-",
    "sg.",
    "pat-na1-",
    "eyjhbgci",
];
/// Header names whose literal value is a credential.
const SECRET_HEADERS: &[&str] = &[
    "authorization",
    "x-api-key",
    "api-key",
    "apikey",
    "x-auth-token",
    "token",
    "x-access-token",
    "access-token",
    "x-secret",
    "secret",
];
/// Query parameters whose literal value is a credential.
const SECRET_PARAMS: &[&str] = &[
    "api_key=",
    "apikey=",
    "access_token=",
    "token=",
    "secret=",
    "key=",
];

fn url_of<'s>(s: &'s Step<'_>) -> Option<&'s str> {
    s.attr_any(&["url", "webhookUrl", "endpoint"])
}

/// Every string inside a value, with the key it sits under (iterative walk).
fn strings<'a>(key: &'a str, v: &'a Json) -> Vec<(Option<&'a str>, &'a str)> {
    let mut out = Vec::new();
    let mut stack: Vec<(Option<&str>, &Json)> = vec![(Some(key), v)];
    while let Some((key, v)) = stack.pop() {
        match v {
            Json::String(s) => out.push((key, &**s)),
            Json::Array(a) => {
                // A header list of {key|name, value}: pair the name with the value.
                for item in a {
                    if let (Some(k), Some(val)) = (
                        item.get("key")
                            .or_else(|| item.get("name"))
                            .and_then(Json::as_str),
                        item.get("value"),
                    ) {
                        stack.push((Some(k), val));
                    } else {
                        stack.push((key, item));
                    }
                }
            }
            Json::Object(o) => {
                for (k, val) in o {
                    stack.push((Some(k.as_ref()), val));
                }
            }
            _ => {}
        }
    }
    out
}

/// Whether a string (under an optional key) looks like a literal credential.
fn secret_in(key: Option<&str>, s: &str) -> bool {
    let t = s.trim();
    if t.is_empty() || t.contains("{{") {
        return false;
    }
    let lower = t.to_ascii_lowercase();
    if let Some(k) = key {
        let k = k.to_ascii_lowercase();
        if SECRET_HEADERS.contains(&k.as_str())
            || k.contains("secret")
            || k.contains("password")
            || k.ends_with("api_key")
        {
            let value = lower
                .strip_prefix("bearer ")
                .or_else(|| lower.strip_prefix("basic "))
                .unwrap_or(&lower);
            if value.trim().len() >= 8 {
                return true;
            }
        }
    }
    if let Some(rest) = lower.strip_prefix("bearer ") {
        if rest.trim().len() >= 16 {
            return true;
        }
    }
    let tokens =
        lower.split(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == '&' || c == '?');
    for tok in tokens {
        if SECRET_PREFIXES
            .iter()
            .any(|p| tok.starts_with(p) && tok.len() >= p.len() + 8)
        {
            return true;
        }
        if tok.starts_with("akia")
            && tok.len() == 20
            && tok.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return true;
        }
        for p in SECRET_PARAMS {
            if let Some(v) = tok.strip_prefix(p) {
                if v.len() >= 8 {
                    return true;
                }
            }
        }
    }
    false
}

/// Whether a value holds something: a non-blank string, `true`, a number, a non-empty object, or
/// a list with such an item (iterative walk). `""` and `[]` (or `[""]`) hold nothing.
pub(super) fn filled(v: &Json) -> bool {
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        match v {
            Json::String(s) if !s.trim().is_empty() => return true,
            Json::Bool(true) | Json::Number(_) => return true,
            Json::Object(o) if !o.is_empty() => return true,
            Json::Array(a) => stack.extend(a.iter()),
            _ => {}
        }
    }
    false
}

/// The attribute keys that say whom an internal notification reaches: user ids and lists,
/// addresses and numbers, and recipient types (all users, the assigned user).
const RECIPIENT_KEYS: &[&str] = &[
    "userId",
    "user_id",
    "userIds",
    "users",
    "assignedUser",
    "assignedTo",
    "to",
    "toEmail",
    "emails",
    "email",
    "phone",
    "recipients",
    "recipientType",
    "sendTo",
    "userType",
];

/// failure-alert-to-nobody, on each live internal notification with no recipient key filled.
fn alerts_to_nobody(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let g = ctx.g;
    for (i, s) in ctx.w.steps.iter().enumerate() {
        if g.live(i, Kind::InternalNotification)
            && !RECIPIENT_KEYS.iter().any(|k| s.attr(k).is_some_and(filled))
        {
            ctx.emit(
                out,
                Rule::FailureAlertToNobody,
                Some(i),
                format!(
                    "Internal notification {} names no recipient (no user, address, number or recipient type).",
                    quoted(s.label())
                ),
            );
        }
    }
}

/// The body keys of a webhook whose content makes two calls the same lookup.
const BODY_KEYS: &[&str] = &["body", "data", "payload", "customData", "params", "query"];

/// Feed a JSON value to a hasher as a pre-order token stream (type tags, lengths, keys in input
/// order): equal values hash equal. Iterative.
fn hash_json(v: &Json, h: &mut Fnv) {
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        match v {
            Json::Null => h.write_u8(0),
            Json::Bool(b) => h.write_u8(1 + u8::from(*b)),
            Json::Number(n) => {
                h.write_u8(3);
                n.to_bits().hash(h);
            }
            Json::String(s) => {
                h.write_u8(4);
                s.hash(h);
            }
            Json::Array(a) => {
                h.write_u8(5);
                h.write_usize(a.len());
                stack.extend(a.iter().rev());
            }
            Json::Object(o) => {
                h.write_u8(6);
                h.write_usize(o.len());
                for (k, v) in o.iter().rev() {
                    stack.push(v);
                    // Keys are hashed as they are met; a key and its value stay adjacent.
                    k.hash(h);
                }
            }
        }
    }
}

/// What makes two calls the same lookup: for a webhook its URL with a hash of the lower-cased
/// method and the body keys; for custom code that calls an HTTP API, its code. `None` for a call
/// with nothing to compare (no URL, or code that calls nothing).
fn lookup_key<'s>(s: &'s Step<'_>, kind: Kind) -> Option<(&'s str, u64)> {
    let mut h = Fnv::default();
    match kind {
        Kind::Webhook => {
            let url = url_of(s)?;
            h.write_u8(0);
            for b in s.attr_str("method").unwrap_or("").bytes() {
                h.write_u8(b.to_ascii_lowercase());
            }
            for k in BODY_KEYS {
                if let Some(v) = s.attr(k) {
                    k.hash(&mut h);
                    hash_json(v, &mut h);
                }
            }
            Some((url, h.finish()))
        }
        Kind::CustomCode => {
            let code = s.attr_any(&["code", "script"])?;
            if !HTTP_CALLS.iter().any(|c| contains_ci(code, c)) {
                return None;
            }
            h.write_u8(1);
            Some((code, h.finish()))
        }
        _ => None,
    }
}

/// How many duplicated lookups get a reachability search. Each search is O(V + E); the cap keeps
/// the rule O(16·(V + E)) however many copies of a call a (generated) workflow holds. The first
/// duplicated keys in step order are the ones a reader meets first.
const LOOKUP_SEARCHES: usize = 16;

const NO_LABEL: u32 = u32::MAX;

/// For each member, another member that reaches it by at least one edge, if any. Each member
/// starts with its own label and every node keeps at most two distinct labels, so a node is
/// queued at most twice: linear. A node left with fewer than two labels has every label that
/// reaches it, so a member reached by another member always keeps one.
fn reached_from_another(g: &Graph<'_>, members: &[usize]) -> Vec<(usize, usize)> {
    let n = g.len();
    let mut labels = vec![[NO_LABEL; 2]; n];
    let mut queue: Vec<(usize, u32)> = Vec::with_capacity(members.len());
    for &m in members {
        labels[m][0] = m as u32;
        queue.push((m, m as u32));
    }
    while let Some((v, l)) = queue.pop() {
        for e in g.out(v) {
            let w = e.to as usize;
            let slot = &mut labels[w];
            if slot[0] == l || slot[1] == l {
                continue;
            }
            if slot[0] == NO_LABEL {
                slot[0] = l;
            } else if slot[1] == NO_LABEL {
                slot[1] = l;
            } else {
                continue;
            }
            queue.push((w, l));
        }
    }
    members
        .iter()
        .filter_map(|&m| {
            labels[m]
                .iter()
                .find(|&&l| l != NO_LABEL && l as usize != m)
                .map(|&l| (m, l as usize))
        })
        .collect()
}

/// repeated-external-lookup, on a live webhook or custom-code step that another one with the same
/// key reaches. Grouping is one hash pass; only keys with 2+ members are searched, at most
/// [`LOOKUP_SEARCHES`] of them.
fn repeated_lookups(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let g = ctx.g;
    let steps = &ctx.w.steps;
    let mut groups: FastMap<(&str, u64), Vec<usize>> = FastMap::default();
    for (i, s) in steps.iter().enumerate() {
        if g.disabled[i] {
            continue;
        }
        if let Some(key) = lookup_key(s, g.kinds[i]) {
            groups.entry(key).or_default().push(i);
        }
    }
    let mut repeated: Vec<&Vec<usize>> = groups.values().filter(|m| m.len() > 1).collect();
    repeated.sort_unstable_by_key(|m| m[0]);
    for members in repeated.into_iter().take(LOOKUP_SEARCHES) {
        for (later, earlier) in reached_from_another(g, members) {
            let what = if g.kinds[later] == Kind::Webhook {
                let method = steps[later].attr_str("method").unwrap_or("the");
                format!(
                    "Webhook {} repeats {} call to {}",
                    quoted(steps[later].label()),
                    method.to_ascii_uppercase(),
                    quoted(url_of(&steps[later]).unwrap_or_default())
                )
            } else {
                format!(
                    "Custom code {} repeats the same HTTP lookup",
                    quoted(steps[later].label())
                )
            };
            ctx.emit(
                out,
                Rule::RepeatedExternalLookup,
                Some(later),
                format!(
                    "{what} that {} already made on the same path.",
                    quoted(steps[earlier].label())
                ),
            );
        }
    }
}

pub(super) fn run(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let g = ctx.g;
    let steps = &ctx.w.steps;
    alerts_to_nobody(ctx, out);
    repeated_lookups(ctx, out);
    for (i, s) in steps.iter().enumerate() {
        if g.disabled[i] || !matches!(g.kinds[i], Kind::Webhook | Kind::CustomCode) {
            continue;
        }
        if g.kinds[i] == Kind::Webhook {
            let saved = ["saveResponse", "save_response", "storeResponse"]
                .iter()
                .any(|k| s.attr(k) == Some(&Json::Bool(true)))
                || ["responseMapping", "customDataMapping", "responseFields"]
                    .iter()
                    .any(|k| {
                        s.attr(k)
                            .is_some_and(|v| v.as_array().is_none_or(|a| !a.is_empty()))
                    });
            let branched = g.roles[i] == Role::MultiPath
                || g.out(i)
                    .iter()
                    .any(|e| g.roles[e.to as usize] == Role::IfElse);
            if !saved && !branched {
                ctx.emit(
                    out,
                    Rule::WebhookUnchecked,
                    Some(i),
                    format!(
                        "Webhook {} neither saves its response nor branches on it.",
                        quoted(s.label())
                    ),
                );
            }
            if let Some(url) = url_of(s) {
                let lower = url.to_ascii_lowercase();
                if !lower.contains("{{") {
                    let host = lower
                        .split("://")
                        .nth(1)
                        .unwrap_or(&lower)
                        .split(['/', '?', '#'])
                        .next()
                        .unwrap_or("");
                    let test =
                        TEST_HOSTS.iter().any(|h| host.contains(h)) || lower.starts_with("http://");
                    if test {
                        ctx.emit(
                            out,
                            Rule::WebhookTestEndpoint,
                            Some(i),
                            format!(
                                "Webhook {} calls {} (a test endpoint or plain http).",
                                quoted(s.label()),
                                quoted(url)
                            ),
                        );
                    }
                    if lower.starts_with("http") {
                        ctx.emit(
                            out,
                            Rule::HardcodedUrl,
                            Some(i),
                            format!(
                                "Webhook {} uses the literal URL {}.",
                                quoted(s.label()),
                                quoted(url)
                            ),
                        );
                    }
                }
            }
        }
        {
            let found = s
                .attributes
                .iter()
                .flat_map(|(key, v)| strings(key, v))
                .any(|(k, v)| secret_in(k, v));
            if found {
                ctx.emit(
                    out,
                    Rule::HardcodedSecret,
                    Some(i),
                    format!(
                        "Step {} contains what looks like a literal token or key.",
                        quoted(s.label())
                    ),
                );
            }
        }
    }
}
