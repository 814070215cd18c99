//! Integration reliability: retry loops without a counter, HTTP calls without a timeout, retried
//! POSTs without an idempotency key, inbound webhooks without a dedupe.

use super::{field_writes, json_mentions, quoted, Ctx, Finding, Rule};
use crate::model::{contains_any_ci, contains_ci, Json, Kind, Role, Step};

fn is_call(ctx: &Ctx<'_>, i: usize) -> bool {
    !ctx.g.disabled[i] && matches!(ctx.g.kinds[i], Kind::Webhook | Kind::CustomCode)
}

/// A step that counts attempts: a math operation, or a field update of an attempt/retry/count
/// field.
fn counts(s: &Step) -> bool {
    s.kind == "math_operation"
        || (s.kind == "update_contact_field"
            && field_writes(s).any(|(f, _)| {
                ["attempt", "retry", "retries", "count", "tries"]
                    .iter()
                    .any(|w| contains_ci(f, w))
            }))
}

fn truthy(v: Option<&Json>) -> bool {
    match v {
        Some(Json::Bool(b)) => *b,
        Some(Json::Number(n)) => *n > 0.0,
        Some(Json::Object(o)) => {
            !o.is_empty() && v.and_then(|v| v.get("enabled")) != Some(&Json::Bool(false))
        }
        _ => false,
    }
}

/// Fragments of custom code that call an HTTP API.
pub(super) const HTTP_CALLS: &[&str] = &[
    "fetch(",
    "axios",
    "http.request",
    "https.request",
    "got(",
    "request(",
];
const TIMEOUTS: &[&str] = &["timeout", "abortcontroller", "abortsignal", "signal:"];

/// How a request header names an idempotency key.
const IDEMPOTENCY: &[&str] = &["idempotency"];

pub(super) fn run(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let g = ctx.g;
    let steps = &ctx.w.steps;
    let n = g.len();
    let mut in_cycle = vec![false; n];
    for cycle in &g.cycles {
        for &v in cycle {
            in_cycle[v] = true;
        }
        let Some(&call) = cycle.iter().find(|&&v| is_call(ctx, v)) else {
            continue;
        };
        if !cycle.iter().any(|&v| !g.disabled[v] && counts(&steps[v])) {
            ctx.emit(out, Rule::RetryLoopWithoutCounter, Some(call), || {
                format!(
                    "{} is retried in a loop of {} steps with nothing counting the attempts.",
                    quoted(steps[call].label()),
                    cycle.len()
                )
            });
        }
    }
    for i in (0..n).filter(|&i| is_call(ctx, i)) {
        let s = &steps[i];
        if g.kinds[i] == Kind::CustomCode {
            if let Some(code) = s.attr_any(&["code", "script"]) {
                let calls = contains_any_ci(code, HTTP_CALLS);
                if calls && !contains_any_ci(code, TIMEOUTS) {
                    ctx.emit(out, Rule::HttpWithoutTimeout, Some(i), || {
                        format!(
                            "Custom code {} calls an API with no timeout.",
                            quoted(s.label())
                        )
                    });
                }
            }
            continue;
        }
        let post = s
            .attr_str("method")
            .is_some_and(|m| m.eq_ignore_ascii_case("post"));
        let retried = [
            "retry",
            "retries",
            "retryCount",
            "maxRetries",
            "retryOnFailure",
        ]
        .iter()
        .any(|k| truthy(s.attr(k)))
            || in_cycle[i];
        if post
            && retried
            && !s
                .attr("headers")
                .is_some_and(|h| json_mentions(h, IDEMPOTENCY))
        {
            ctx.emit(out, Rule::RetriedPostWithoutIdempotency, Some(i), || {
                format!(
                    "Webhook {} POSTs {} with no idempotency key.",
                    quoted(s.label()),
                    if in_cycle[i] {
                        "inside a loop"
                    } else {
                        "with retries on"
                    }
                )
            });
        }
    }
    // inbound-webhook-no-dedupe
    let Some(triggers) = &ctx.w.triggers else {
        return;
    };
    let inbound = triggers
        .iter()
        .find(|t| t.active && t.kind.contains("inbound_webhook"));
    if let (Some(t), true) = (inbound, ctx.w.settings.allow_multiple) {
        let checks = (0..n).any(|i| {
            !g.disabled[i]
                && (matches!(g.kinds[i], Kind::FindContact | Kind::FindOpportunity)
                    || g.roles[i] == Role::IfElse)
        });
        let acts = (0..n).any(|i| {
            !g.disabled[i]
                && (g.kinds[i].is_outbound()
                    || matches!(
                        g.kinds[i],
                        Kind::CreateContact | Kind::CreateOpportunity | Kind::Webhook
                    ))
        });
        if !checks && acts {
            ctx.emit(
                out,
                Rule::InboundWebhookNoDedupe,
                None,
                || format!(
                    "Trigger {} starts the workflow on every delivery, re-entry is allowed and no step checks for a repeat.",
                    quoted(t.label())
                ),
            );
        }
    }
}
