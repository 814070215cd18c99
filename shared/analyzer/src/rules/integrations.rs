//! Integration rules: unchecked webhooks, test endpoints, hard-coded secrets and URLs, alerts
//! that reach nobody, the same external lookup repeated.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hash, Hasher};

use super::reliability::HTTP_CALLS;
use super::{filled, quoted, Ctx, Finding, Rule, Severity};
use crate::graph::{FastMap, Graph};
use crate::model::{contains_any_ci, contains_ci, Json, Kind, Role, Step};

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
/// Public API hosts a vendor documents as the same for every customer, which do not move: the
/// account is named by the credential (in a header), not by the URL, so a literal URL to one
/// needs no custom value (`hardcoded-url` protects against endpoints that move or are the
/// account's own). Hosts of per-integration webhook URLs carrying their secret in the path
/// (`hooks.slack.com`, `hooks.zapier.com`, `hook.*.make.com`, `discord.com/api/webhooks`,
/// `api.telegram.org/bot<token>`), account-specific hosts (`*.myshopify.com`,
/// `*.openai.azure.com`, Mailchimp's data centres), hosts whose paths name the account's own
/// resource (a Google sheet, bucket or project on `*.googleapis.com`, an Airtable base) and
/// HighLevel's retiring v1 API (`rest.gohighlevel.com`) are deliberately not here; nor are
/// HighLevel's inbound-webhook URLs (`services.leadconnectorhq.com/hooks/...`, see
/// [`VENDOR_API_PRIVATE_PATHS`]).
const VENDOR_API_HOSTS: &[&str] = &[
    "api.stripe.com",
    "api.openai.com",
    "api.anthropic.com",
    "api.mistral.ai",
    "api.cohere.ai",
    "api.cohere.com",
    "api.groq.com",
    "api.perplexity.ai",
    "api.twilio.com",
    "api.sendgrid.com",
    "api.mailgun.net",
    "api.postmarkapp.com",
    "api.brevo.com",
    "a.klaviyo.com",
    "api.hubapi.com",
    "api.hubspot.com",
    "api.pipedrive.com",
    "api.notion.com",
    "slack.com",
    "api.calendly.com",
    "api.trello.com",
    "api.clickup.com",
    "api.monday.com",
    "api.github.com",
    "api.intercom.io",
    "api.zoom.us",
    "api.typeform.com",
    "api.pandadoc.com",
    "api.xero.com",
    "quickbooks.api.intuit.com",
    "api.squareup.com",
    "api-m.paypal.com",
    "graph.facebook.com",
    "graph.microsoft.com",
    "services.leadconnectorhq.com",
];
/// Paths on a listed host that belong to one account and move: HighLevel's inbound-webhook
/// trigger URL (`/hooks/<locationId>/webhook-trigger/<id>`) is tied to one trigger and changes
/// when the trigger is recreated.
const VENDOR_API_PRIVATE_PATHS: &[(&str, &str)] = &[("services.leadconnectorhq.com", "/hooks/")];
/// Query words of a credential carried in a URL.
const URL_CREDENTIALS: &[&str] = &[
    "key=",
    "token",
    "secret",
    "sig=",
    "signature",
    "auth",
    "password",
    "apikey",
];

/// Whether a literal URL (lower-cased) is a vendor's documented public API endpoint: https, a
/// host of [`VENDOR_API_HOSTS`] (no port, no user) outside its [`VENDOR_API_PRIVATE_PATHS`], and
/// no credential in its query. Such a URL does not move, so a custom value buys nothing.
fn vendor_api(lower: &str, host: &str) -> bool {
    let path = lower
        .strip_prefix("https://")
        .and_then(|rest| rest.find('/').map(|at| &rest[at..]))
        .unwrap_or("");
    let private = VENDOR_API_PRIVATE_PATHS
        .iter()
        .any(|(h, p)| *h == host && path.starts_with(p));
    let query = lower.split_once('?').map_or("", |(_, q)| q);
    lower.starts_with("https://")
        && VENDOR_API_HOSTS.contains(&host)
        && !private
        && !host.contains(['@', ':'])
        && !URL_CREDENTIALS.iter().any(|w| query.contains(w))
}

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

/// Whether `f` holds for some string inside the values, given with the key it sits under
/// (iterative walk; one stack for all the values, allocated only for nested ones).
fn any_string<'a, 'k: 'a, 'j: 'a>(
    values: impl Iterator<Item = (&'k str, &'a Json<'j>)>,
    mut f: impl FnMut(Option<&'a str>, &'a str) -> bool,
) -> bool {
    let mut stack: Vec<(Option<&'a str>, &'a Json<'j>)> = Vec::new();
    for (key, v) in values {
        stack.push((Some(key), v));
        if walk_strings(&mut stack, &mut f) {
            return true;
        }
    }
    false
}

fn walk_strings<'a, 'j: 'a>(
    stack: &mut Vec<(Option<&'a str>, &'a Json<'j>)>,
    f: &mut impl FnMut(Option<&'a str>, &'a str) -> bool,
) -> bool {
    while let Some((key, v)) = stack.pop() {
        match v {
            Json::String(s) if f(key, s) => {
                stack.clear();
                return true;
            }
            Json::String(_) => {}
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
    false
}

/// Whether a string (under an optional key) looks like a literal credential.
fn secret_in(key: Option<&str>, s: &str) -> bool {
    let t = s.trim();
    // Every credential shape below has at least 8 characters.
    if t.len() < 8 || t.contains("{{") {
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

/// Keys naming users by id (a string, a list of strings, or of `{id}` objects).
/// `selectedUser` is the builder's own: a list of user ids (email, SMS, WhatsApp) or one id
/// (in-app notification) beside `userType: "user"`.
const USER_KEYS: &[&str] = &[
    "userId",
    "user_id",
    "userIds",
    "users",
    "recipients",
    "selectedUser",
];
/// Keys naming addresses or numbers: anyone there is someone other than a user id.
const ADDRESS_KEYS: &[&str] = &["to", "toEmail", "emails", "email", "phone"];
/// Keys naming a recipient type: all users, the assigned user, the owner reach someone else.
const TYPE_KEYS: &[&str] = &["sendTo", "userType", "recipientType"];
/// Keys naming the contact's assigned user: `true`, or a user id (or an all/assigned/owner type).
const ASSIGNED_KEYS: &[&str] = &["assignedUser", "assignedTo"];

/// Whom an internal notification reaches, as read from its recipient keys ([`USER_KEYS`],
/// [`ADDRESS_KEYS`], [`TYPE_KEYS`], [`ASSIGNED_KEYS`]). The one reader of recipients, for
/// `failure-alert-to-nobody` and `alerts-to-one-user`.
#[derive(Debug, Default)]
pub(super) struct Recipients<'s> {
    /// User ids named (trimmed, as written).
    pub users: Vec<&'s str>,
    /// Someone other than named user ids: an address or number, a templated or `@` id, a
    /// recipient object without an id, a numeric id, all users / the assigned user / the owner
    /// (a recipient type mentioning all/assign/owner, `assignedUser: true`, an
    /// `assignedUser`/`assignedTo` value starting with all/assign/owner).
    pub others: bool,
    /// A recipient key holds an explicitly empty value: a blank string, `[]`, `[""]`, `{}`.
    pub explicitly_empty: bool,
    /// Some recipient key is present (not `null`, not `false`).
    pub keyed: bool,
}

impl Recipients<'_> {
    /// Whether the notification names anyone at all.
    pub fn anyone(&self) -> bool {
        !self.users.is_empty() || self.others
    }
}

/// Whether a recipient-type value means all users, the assigned user or the owner.
fn broad_type(v: &str) -> bool {
    contains_ci(v, "all") || contains_ci(v, "assign") || contains_ci(v, "owner")
}

/// Whether an assigned-user value is a type (all, assigned, owner) rather than a user id: it
/// starts with one of those words (an id merely containing "all" stays an id).
fn assigned_type(v: &str) -> bool {
    let t = v.trim().as_bytes();
    [&b"all"[..], b"assign", b"owner"]
        .iter()
        .any(|w| t.len() >= w.len() && t[..w.len()].eq_ignore_ascii_case(w))
}

/// Read an internal notification's recipients (see [`Recipients`]). Linear in its recipient
/// values (iterative: lists are read one level deep, objects by their `id`).
pub(super) fn recipients<'s>(s: &'s Step<'_>) -> Recipients<'s> {
    fn user<'s>(r: &mut Recipients<'s>, id: &'s str) {
        let id = id.trim();
        if id.is_empty() {
            r.explicitly_empty = true;
        } else if id.contains('@') || id.contains("{{") {
            r.others = true;
        } else {
            r.users.push(id);
        }
    }
    let mut r = Recipients::default();
    let present = |k: &str| s.attr(k).filter(|v| **v != Json::Bool(false));
    for v in USER_KEYS.iter().filter_map(|k| present(k)) {
        r.keyed = true;
        let items = match v {
            Json::Array(a) => a.as_slice(),
            one => std::slice::from_ref(one),
        };
        if items.is_empty() {
            r.explicitly_empty = true;
        }
        for item in items {
            match item {
                Json::String(id) => user(&mut r, id),
                Json::Null => r.explicitly_empty = true,
                Json::Object(o) if o.is_empty() => r.explicitly_empty = true,
                // A recipient object without a user id (an email, a phone, a team).
                Json::Object(_) => match item.get("id").and_then(Json::as_str) {
                    Some(id) => user(&mut r, id),
                    None => r.others = true,
                },
                _ if filled(item) => r.others = true,
                _ => r.explicitly_empty = true,
            }
        }
    }
    for v in ADDRESS_KEYS.iter().filter_map(|k| present(k)) {
        r.keyed = true;
        if filled(v) {
            r.others = true;
        } else {
            r.explicitly_empty = true;
        }
    }
    for (k, v) in TYPE_KEYS
        .iter()
        .chain(ASSIGNED_KEYS)
        .filter_map(|k| present(k).map(|v| (k, v)))
    {
        r.keyed = true;
        match v {
            Json::String(t) if t.trim().is_empty() => r.explicitly_empty = true,
            // A recipient type without all/assign/owner names nobody by itself.
            Json::String(t) if TYPE_KEYS.contains(k) => r.others |= broad_type(t),
            Json::String(t) if assigned_type(t) => r.others = true,
            Json::String(t) => user(&mut r, t),
            _ if filled(v) => r.others = true,
            _ => r.explicitly_empty = true,
        }
    }
    r
}

/// failure-alert-to-nobody, on a live internal notification that names nobody (no user id,
/// address, number, or all/assigned/owner recipient type; see [`recipients`]) when
/// (a) a recipient key is present but explicitly empty (`""`, `[]`, `[""]`), or
/// (b) no recipient key is present at all (no `userType`, user, address or number: the builder
/// always writes a `userType`, so the notification reaches nobody) — at low anywhere, at the
/// rule's medium when the notification sits on a failure path: after a *failure gate* with no
/// live webhook/custom-code step in between (a new call starts a new attempt, which keeps a
/// retry loop from putting the whole workflow on the failure path). A failure gate is
/// - a transition of a live webhook/custom-code step whose name mentions fail/error/timeout,
/// - a branch of an if/else that such a step leads to directly (the check of its response) when
///   the branch is the else ("None") branch or its name mentions fail/error/timeout,
/// - any if/else branch after such a step whose name mentions fail/error/timeout.
///
/// A notification whose recipient keys hold only something unrecognised (e.g. `userType:
/// "custom"`) fires neither.
/// One pass over the steps for the gates (each name read once) and two multi-source searches
/// (`Graph::after`): linear in steps + edges.
fn alerts_to_nobody(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let g = ctx.g;
    let steps = &ctx.w.steps;
    let n = g.len();
    let nobody: Vec<(usize, Recipients<'_>)> = (0..n)
        .filter(|&i| g.live(i, Kind::InternalNotification))
        .map(|i| (i, recipients(&steps[i])))
        .filter(|(_, r)| !r.anyone() && (r.explicitly_empty || !r.keyed))
        .collect();
    if nobody.is_empty() {
        return;
    }
    let call = |i: usize| !g.disabled[i] && matches!(g.kinds[i], Kind::Webhook | Kind::CustomCode);
    let on_failure_path = if nobody.iter().any(|(_, r)| !r.keyed) {
        let failure = |v: usize| contains_any_ci(&steps[v].name, FAILURE_WORDS);
        // What a call leads to directly: its transitions, the if/else checking its response.
        let mut direct = vec![false; n];
        for c in (0..n).filter(|&c| call(c)) {
            for e in g.out(c) {
                direct[e.to as usize] = true;
            }
        }
        let after_call = g.after((0..n).filter(|&c| call(c)), |_| false);
        let gate: Vec<bool> = (0..n)
            .map(|v| match g.roles[v] {
                Role::Transition => direct[v] && failure(v),
                Role::Branch { none } => {
                    after_call[v]
                        && ((none
                            && g.preds(v).iter().any(|&p| {
                                direct[p as usize] && g.roles[p as usize] == Role::IfElse
                            }))
                            || failure(v))
                }
                _ => false,
            })
            .collect();
        g.after((0..n).filter(|&v| gate[v]), call)
    } else {
        Vec::new()
    };
    let rule = Rule::FailureAlertToNobody.default_severity();
    for (i, r) in nobody {
        let (severity, message) = if r.explicitly_empty {
            (
                rule,
                "has its recipients set to nothing (an empty user, address or recipient list)",
            )
        } else if on_failure_path[i] {
            (
                rule,
                "sits on a failure path and names no recipient (no user, address, number or recipient type)",
            )
        } else {
            (
                Severity::Low,
                "names no recipient (no user type, user, address or number): nobody on the team receives it",
            )
        };
        ctx.emit_sev(out, Rule::FailureAlertToNobody, severity, Some(i), || {
            format!(
                "Internal notification {} {message}.",
                quoted(steps[i].label())
            )
        });
    }
}

/// Words in a transition's or branch's name that make it a failure path.
pub(super) const FAILURE_WORDS: &[&str] = &["fail", "error", "timeout", "timed out"];

/// The body keys of a webhook whose content makes two calls the same lookup.
const BODY_KEYS: &[&str] = &["body", "data", "payload", "customData", "params", "query"];

/// Feed a JSON value to a hasher as a token stream: type tags and lengths; for an object, all its
/// keys (in reverse input order) before any of its values, then each value's stream in input
/// order. Equal values written alike hash equal; the same keys in another order hash differently.
/// Iterative.
fn hash_json(v: &Json, h: &mut impl Hasher) {
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
                    // All keys are hashed here, last first; the values are pushed so that they
                    // pop (and are hashed) afterwards, first first.
                    k.hash(h);
                }
            }
        }
    }
}

/// What makes two calls the same lookup: for a webhook its URL with a hash of the lower-cased
/// method and the body keys; for custom code that calls an HTTP API, its code. `None` for a call
/// with nothing to compare (no URL, or code that calls nothing).
fn lookup_key<'s>(s: &'s Step<'_>, kind: Kind, keyed: &RandomState) -> Option<(&'s str, u64)> {
    // Keyed: the input cannot choose bodies whose hashes collide and merge unrelated calls.
    let mut h = keyed.build_hasher();
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
            if !contains_any_ci(code, HTTP_CALLS) {
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

/// For each member, another member that reaches it by at least one edge without passing a live
/// wait, if any: a wait between two identical calls makes the second a poll (check again later),
/// not a repeat, so labels do not pass through (or onto) live Wait steps. Each member starts
/// with its own label and every node keeps at most two distinct labels, so a node is queued at
/// most twice: linear. A node left with fewer than two labels has every label that reaches it
/// (without a wait), so a member reached by another member always keeps one.
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
            if g.live(w, Kind::Wait) {
                continue;
            }
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
/// key reaches with no live wait in between (a wait makes it polling). Grouping is one hash pass; only keys with 2+ members are searched, at most
/// [`LOOKUP_SEARCHES`] of them.
fn repeated_lookups(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let g = ctx.g;
    let steps = &ctx.w.steps;
    let mut groups: FastMap<(&str, u64), Vec<usize>> = FastMap::default();
    let keyed = RandomState::new();
    for (i, s) in steps.iter().enumerate() {
        if g.disabled[i] {
            continue;
        }
        if let Some(key) = lookup_key(s, g.kinds[i], &keyed) {
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
            ctx.emit(out, Rule::RepeatedExternalLookup, Some(later), || {
                format!(
                    "{what} that {} already made on the same path.",
                    quoted(steps[earlier].label())
                )
            });
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
                ctx.emit(out, Rule::WebhookUnchecked, Some(i), || {
                    format!(
                        "Webhook {} neither saves its response nor branches on it.",
                        quoted(s.label())
                    )
                });
            }
            if let Some(url) = url_of(s) {
                // A URL built from a custom value is judged where the value is set, not here.
                if !url.contains("{{") {
                    let lower = url.to_ascii_lowercase();
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
                        ctx.emit(out, Rule::WebhookTestEndpoint, Some(i), || {
                            format!(
                                "Webhook {} calls {} (a test endpoint or plain http).",
                                quoted(s.label()),
                                quoted(url)
                            )
                        });
                    }
                    if lower.starts_with("http") && !vendor_api(&lower, host) {
                        ctx.emit(out, Rule::HardcodedUrl, Some(i), || {
                            format!(
                                "Webhook {} uses the literal URL {}.",
                                quoted(s.label()),
                                quoted(url)
                            )
                        });
                    }
                }
            }
        }
        {
            let found = any_string(s.attributes.iter(), secret_in);
            if found {
                ctx.emit(out, Rule::HardcodedSecret, Some(i), || {
                    format!(
                        "Step {} contains what looks like a literal token or key.",
                        quoted(s.label())
                    )
                });
            }
        }
    }
}
