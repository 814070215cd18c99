//! Integration rules: unchecked webhooks, test endpoints, hard-coded secrets and URLs.

use super::{quoted, Ctx, Finding, Rule};
use crate::analysis::model::{Json, Kind, Role, Step};

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

pub(super) fn run(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let g = ctx.g;
    let steps = &ctx.w.steps;
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
