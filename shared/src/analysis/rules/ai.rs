//! AI steps (`chatgpt`, `ai_agent`): output sent unguarded, contact text in prompts, unbounded
//! AI text in SMS. AI output is recognised by its merge fields (`{{chatgpt.*}}`, `{{openai.*}}`,
//! `{{gpt.*}}`, `{{ai.*}}`, `{{ai_*}}`); a message using one with no AI step before it is left
//! alone (nothing to judge).

use super::{is_ai_field, merge_names, quoted, Ctx, Finding, Rule};
use crate::analysis::model::{contains_ci, Json, Kind, Role, Step};

/// Hosts of third-party model APIs.
const MODEL_HOSTS: &[&str] = &[
    "api.openai.com",
    "api.anthropic.com",
    "generativelanguage.googleapis.com",
    "api.cohere.ai",
    "api.cohere.com",
    "api.mistral.ai",
    "api.groq.com",
    "api.together.xyz",
    "api.perplexity.ai",
    "openai.azure.com",
];
/// Merge-field prefixes of a contact's personal data.
const PERSONAL: &[&str] = &[
    "contact.",
    "message.",
    "inbound_message",
    "form.",
    "survey.",
];

/// Whether any string under a value has a personal-data merge field (iterative walk).
fn personal_in(v: &Json) -> Option<String> {
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        match v {
            Json::String(s) => {
                if let Some(n) = merge_names(s).find(|n| {
                    let l = n.to_ascii_lowercase();
                    PERSONAL.iter().any(|p| l.starts_with(p)) && l != "contact.id"
                }) {
                    return Some(n.to_owned());
                }
            }
            Json::Array(a) => stack.extend(a.iter()),
            Json::Object(o) => stack.extend(o.iter().map(|(_, v)| v)),
            _ => {}
        }
    }
    None
}

/// contact-data-to-model-endpoint: runs without AI steps (a plain webhook to a model API).
fn model_endpoints(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let g = ctx.g;
    for (i, s) in ctx.w.steps.iter().enumerate() {
        if g.disabled[i] || g.kinds[i] != Kind::Webhook {
            continue;
        }
        let Some(url) = s.attr_any(&["url", "webhookUrl", "endpoint"]) else {
            continue;
        };
        let Some(host) = MODEL_HOSTS.iter().find(|h| contains_ci(url, h)) else {
            continue;
        };
        let field = ["body", "data", "payload", "customData", "params", "query"]
            .iter()
            .filter_map(|k| s.attr(k))
            .find_map(personal_in);
        if let Some(f) = field {
            ctx.emit(
                out,
                Rule::ContactDataToModelEndpoint,
                Some(i),
                format!(
                    "Webhook {} sends {{{{{f}}}}} to the model API {host}.",
                    quoted(s.label())
                ),
            );
        }
    }
}

/// Merge-field prefixes of text the contact wrote.
const CONTACT_TEXT: &[&str] = &[
    "message.",
    "inbound_message",
    "contact.last_message",
    "last_message",
    "form.",
    "survey.",
    "conversation.",
    "trigger.message",
    "reply",
];

fn prompt_texts<'s>(s: &'s Step<'_>) -> impl Iterator<Item = &'s str> {
    [
        "prompt",
        "instructions",
        "message",
        "content",
        "body",
        "text",
    ]
    .into_iter()
    .filter_map(|k| s.attr_str(k))
}

fn bounded(s: &Step) -> bool {
    ["maxTokens", "max_tokens", "maxLength", "max_length"]
        .iter()
        .any(|k| s.attr(k).and_then(|v| v.as_f64()).is_some_and(|n| n > 0.0))
        || prompt_texts(s).any(|t| contains_ci(t, "characters") || contains_ci(t, "160"))
}

pub(super) fn run(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let g = ctx.g;
    let steps = &ctx.w.steps;
    let n = g.len();
    model_endpoints(ctx, out);
    let ai = |i: usize| g.live(i, Kind::Ai);
    if !(0..n).any(ai) {
        return;
    }
    // ai-prompt-contact-text
    for i in (0..n).filter(|&i| ai(i)) {
        let s = &steps[i];
        let delimited = prompt_texts(s)
            .any(|t| t.contains("\"\"\"") || t.contains("```") || contains_ci(t, "<user_input>"));
        let field = prompt_texts(s).find_map(|t| {
            merge_names(t).find(|name| {
                let l = name.to_ascii_lowercase();
                CONTACT_TEXT.iter().any(|p| l.starts_with(p))
            })
        });
        if let (Some(f), false) = (field, delimited) {
            ctx.emit(
                out,
                Rule::AiPromptContactText,
                Some(i),
                format!(
                    "AI step {} puts {{{{{f}}}}}, text the contact wrote, into its prompt without delimiting it.",
                    quoted(s.label())
                ),
            );
        }
    }
    let outbound_ai = |i: usize| {
        g.kinds[i].is_outbound()
            && !g.disabled[i]
            && g.texts(i).any(|t| merge_names(t).any(is_ai_field))
    };
    let field_ai = |i: usize| {
        g.live(i, Kind::UpdateField)
            && steps[i]
                .attr("value")
                .and_then(Json::as_str)
                .is_some_and(|v| merge_names(v).any(is_ai_field))
    };
    if !(0..n).any(|i| outbound_ai(i) || field_ai(i)) {
        return;
    }
    // ai-text-sent-unguarded: reached from an AI step without passing an if/else.
    let unguarded = g.after((0..n).filter(|&i| ai(i)), |v| g.roles[v] == Role::IfElse);
    for i in (0..n).filter(|&i| field_ai(i) && unguarded[i]) {
        ctx.emit(
            out,
            Rule::AiOutputToFieldUnvalidated,
            Some(i),
            format!(
                "{} writes AI output to a field with no check between the AI step and it.",
                quoted(steps[i].label())
            ),
        );
    }
    // ai-sms-unbounded: reached from an AI step without a length bound.
    let unbounded = g.after((0..n).filter(|&i| ai(i) && !bounded(&steps[i])), |_| false);
    for i in (0..n).filter(|&i| outbound_ai(i)) {
        let s = &steps[i];
        if unguarded[i] {
            ctx.emit(
                out,
                Rule::AiTextSentUnguarded,
                Some(i),
                format!(
                    "{} sends AI output to the contact with no check between the AI step and it.",
                    quoted(s.label())
                ),
            );
        }
        if g.kinds[i] == Kind::Sms && unbounded[i] {
            ctx.emit(
                out,
                Rule::AiSmsUnbounded,
                Some(i),
                format!(
                    "SMS {} carries AI text from a step with no length bound.",
                    quoted(s.label())
                ),
            );
        }
    }
}
