//! AI steps (`chatgpt`, `ai_agent`, conversation AI bots): output sent unguarded or branched on
//! unconstrained, no failure path, contact text in prompts, unbounded AI text in SMS, bots with no
//! route to a human. AI output is recognised by its merge fields (`{{chatgpt.*}}`, `{{openai.*}}`,
//! `{{gpt.*}}`, `{{ai.*}}`, `{{ai_*}}`); a message using one with no AI step before it is left
//! alone (nothing to judge).

use std::collections::HashSet;

use super::integrations::FAILURE_WORDS;
use super::{
    field_key, field_writes, filled, is_ai_field, merge_names, quoted, Ctx, Finding, Rule,
};
use crate::graph::Graph;
use crate::model::{contains_any_ci, contains_ci, find_any_ci, Json, Kind, Role, Step};

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
        let Some(host) = find_any_ci(url, MODEL_HOSTS) else {
            continue;
        };
        let field = ["body", "data", "payload", "customData", "params", "query"]
            .iter()
            .filter_map(|k| s.attr(k))
            .find_map(personal_in);
        if let Some(f) = field {
            ctx.emit(out, Rule::ContactDataToModelEndpoint, Some(i), || {
                format!(
                    "Webhook {} sends {{{{{f}}}}} to the model API {host}.",
                    quoted(s.label())
                )
            });
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

/// Phrases of a prompt that limit the answer to a fixed set. "Only" counts only in such a phrase
/// ("respond only with", "only YES or NO"): "write only a short summary" limits nothing.
const CONSTRAINING: &[&str] = &[
    "one of",
    "respond only",
    "answer only",
    "reply only",
    "output only",
    "return only",
    "only with",
    "only the word",
    "only yes",
    "only true",
    "exactly",
    "yes or no",
    "true or false",
    "respond with",
    "answer with",
    "reply with",
];

/// Whether an AI step limits its output to a fixed set of answers: a prompt with a
/// [`CONSTRAINING`] phrase ("one of", "exactly", "yes or no", "respond only with"...), or a
/// non-empty `options`/`enum`/`choices`.
fn constrained(s: &Step) -> bool {
    ["options", "enum", "choices"]
        .iter()
        .any(|k| s.attr(k).is_some_and(filled))
        || prompt_texts(s).any(|t| contains_any_ci(t, CONSTRAINING))
}

/// The fields a field update writes AI output to (every entry of its list).
fn ai_writes<'s>(s: &'s Step<'_>) -> impl Iterator<Item = &'s str> + 's {
    field_writes(s).filter_map(|(field, value)| {
        value
            .and_then(Json::as_str)
            .is_some_and(|v| merge_names(v).any(is_ai_field))
            .then_some(field)
    })
}

/// Whether step `i` is a live field update writing AI output to any field.
fn writes_ai(g: &Graph<'_>, steps: &[Step<'_>], i: usize) -> bool {
    g.live(i, Kind::UpdateField) && ai_writes(&steps[i]).next().is_some()
}

/// Keys under which a condition names the field it compares: a plain string there is a field
/// name; anywhere else (e.g. `value`) only merge fields count, so a tag value "ai_lead" is not
/// taken for AI output.
const CONDITION_FIELD_KEYS: &[&str] = &[
    "field",
    "fieldKey",
    "fieldId",
    "key",
    "customField",
    "left",
    "lhs",
    "property",
    "variable",
];

/// The fields a condition tree compares: its merge fields, and plain strings under field keys
/// (iterative walk).
fn condition_fields<'v>(v: &'v Json<'_>, found: &mut Vec<&'v str>) {
    let mut stack: Vec<(Option<&str>, &Json)> = vec![(None, v)];
    while let Some((key, v)) = stack.pop() {
        match v {
            Json::String(s) => {
                let before = found.len();
                found.extend(merge_names(s));
                let plain = s.trim();
                if found.len() == before
                    && !plain.is_empty()
                    && key.is_some_and(|k| CONDITION_FIELD_KEYS.contains(&k))
                {
                    found.push(plain);
                }
            }
            Json::Array(a) => stack.extend(a.iter().map(|x| (key, x))),
            Json::Object(o) => stack.extend(o.iter().map(|(k, x)| (Some(k.as_ref()), x))),
            _ => {}
        }
    }
}

/// The attribute keys holding an if/else's conditions: the container's `branches[].conditions`
/// (native), `conditions` or `condition`; a branch node's own `conditions`.
const CONDITION_ATTRS: &[&str] = &["branches", "conditions", "condition"];

/// ai-branch-unconstrained: an if/else comparing AI output (an AI merge field, or a field an
/// update wrote from one) that an unconstrained AI step reaches with no constrained AI step in
/// between (a later AI step's output replaces the earlier one). Two multi-source searches; each
/// step's conditions are read at most once (memoised: a branch node shared by many if/else
/// steps is not walked again for each), so linear.
fn branches_on_free_text(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let g = ctx.g;
    let steps = &ctx.w.steps;
    let n = g.len();
    if !(0..n).any(|i| g.roles[i] == Role::IfElse && !g.disabled[i]) {
        return;
    }
    let tight: Vec<bool> = (0..n)
        .map(|i| g.live(i, Kind::Ai) && constrained(&steps[i]))
        .collect();
    let loose = (0..n).filter(|&i| g.live(i, Kind::Ai) && !tight[i]);
    let from_loose = g.after(loose, |v| tight[v]);
    let writers: Vec<usize> = (0..n)
        .filter(|&i| from_loose[i] && writes_ai(g, steps, i))
        .collect();
    let written: HashSet<String> = writers
        .iter()
        .flat_map(|&i| ai_writes(&steps[i]))
        .map(field_key)
        .collect();
    let after_writers = g.after(writers.iter().copied(), |_| false);
    // Per step, once: the first AI field its conditions compare, and the first field they compare
    // that an update wrote from AI output.
    type Compared<'a> = (Option<&'a str>, Option<&'a str>);
    let mut memo: Vec<Option<Compared<'_>>> = vec![None; n];
    let mut fields = Vec::new();
    let mut compared = |v: usize| -> Compared<'_> {
        *memo[v].get_or_insert_with(|| {
            fields.clear();
            for c in CONDITION_ATTRS.iter().filter_map(|k| steps[v].attr(k)) {
                condition_fields(c, &mut fields);
            }
            (
                fields.iter().copied().find(|f| is_ai_field(f)),
                fields
                    .iter()
                    .copied()
                    .find(|f| written.contains(&field_key(f))),
            )
        })
    };
    for i in (0..n).filter(|&i| g.roles[i] == Role::IfElse && !g.disabled[i]) {
        if !from_loose[i] && !after_writers[i] {
            continue;
        }
        let branch_nodes = g
            .out(i)
            .iter()
            .map(|e| e.to as usize)
            .filter(|&b| matches!(g.roles[b], Role::Branch { .. }));
        let (mut direct, mut stored) = (None, None);
        for v in std::iter::once(i).chain(branch_nodes) {
            let (d, s) = compared(v);
            direct = direct.or(d);
            stored = stored.or(s);
        }
        let direct = direct.filter(|_| from_loose[i]);
        let stored = stored.filter(|_| after_writers[i]);
        let message = match (direct, stored) {
            (Some(f), _) => format!(
                "If/else {} compares {{{{{}}}}}, output of an AI step whose prompt does not limit the answer to fixed values.",
                quoted(steps[i].label()),
                f.trim_start_matches("{{").trim_end_matches("}}").trim()
            ),
            (None, Some(f)) => format!(
                "If/else {} compares the field {}, written from an AI step whose prompt does not limit the answer to fixed values.",
                quoted(steps[i].label()),
                quoted(f)
            ),
            (None, None) => continue,
        };
        ctx.emit(out, Rule::AiBranchUnconstrained, Some(i), || message);
    }
}

/// Whether a transition's name mentions fail/error/timeout.
fn failure_name(name: &str) -> bool {
    contains_any_ci(name, FAILURE_WORDS)
}

/// Whether an AI step has a failure path: a `fallback`/`onError`/`errorPath` setting, or a
/// transition named like fail/error/timeout (declared in its own `transitions`, or connected:
/// `failure_transition`, computed once per workflow, so that a transition many AI steps point at
/// is not read again for each).
fn has_failure_path(
    g: &Graph<'_>,
    steps: &[Step<'_>],
    failure_transition: &[bool],
    i: usize,
) -> bool {
    let s = &steps[i];
    ["fallback", "onError", "errorPath"]
        .iter()
        .any(|k| s.attr(k).is_some_and(filled))
        || s.attr("transitions")
            .and_then(Json::as_array)
            .is_some_and(|t| {
                t.iter().any(|t| {
                    t.get("name")
                        .and_then(Json::as_str)
                        .is_some_and(failure_name)
                })
            })
        || g.out(i).iter().any(|e| failure_transition[e.to as usize])
}

/// The first AI merge field of a text with no non-empty `| default:` fallback.
fn ai_field_without_default(text: &str) -> Option<&str> {
    text.split("{{").skip(1).find_map(|rest| {
        let inner = rest.split("}}").next().unwrap_or(rest);
        let mut parts = inner.split('|');
        let name = parts.next().unwrap_or("").trim();
        let fallback = parts.any(|f| {
            f.trim_start().strip_prefix("default").is_some_and(|v| {
                !v.trim_start_matches([':', ' '])
                    .trim()
                    .trim_matches(['"', '\''])
                    .trim()
                    .is_empty()
            })
        });
        (is_ai_field(name) && !fallback).then_some(name)
    })
}

/// ai-without-failure-path, on the AI step (once): it has no failure path and reaches, with no
/// if/else and no other AI step in between, an outbound message whose AI merge field has no
/// `| default:`. `ai-text-sent-unguarded` judges the message (any AI text with no if/else before
/// it); this one judges the AI step, and a fallback on the field or a failure path on the step
/// clears it. One reverse multi-source search, linear.
fn failure_paths(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let g = ctx.g;
    let steps = &ctx.w.steps;
    let n = g.len();
    let blank: Vec<usize> = (0..n)
        .filter(|&i| {
            g.kinds[i].is_outbound()
                && !g.disabled[i]
                && g.texts(i).any(|t| ai_field_without_default(t).is_some())
        })
        .collect();
    if blank.is_empty() {
        return;
    }
    let feeds = g.reaching(blank, |p| {
        g.roles[p] == Role::IfElse || g.kinds[p] == Kind::Ai
    });
    let failure_transition: Vec<bool> = (0..n)
        .map(|v| g.roles[v] == Role::Transition && failure_name(&steps[v].name))
        .collect();
    for i in (0..n).filter(|&i| g.live(i, Kind::Ai)) {
        if g.out(i).iter().any(|e| feeds[e.to as usize])
            && !has_failure_path(g, steps, &failure_transition, i)
        {
            ctx.emit(
                out,
                Rule::AiWithoutFailurePath,
                Some(i),
                || format!(
                    "AI step {} has no failure path, and a message after it uses its output with no fallback.",
                    quoted(steps[i].label())
                ),
            );
        }
    }
}

/// Step types of conversation AI bots.
const BOT_KINDS: &[&str] = &["conversation_ai", "conversation_ai_bot", "ai_bot"];

/// Whether a step is a conversation AI bot: a bot type, or an `ai_agent` whose
/// `mode`/`agentType`/`type` mentions a conversation or a bot.
fn is_bot(s: &Step) -> bool {
    BOT_KINDS.contains(&&*s.kind)
        || (s.kind == "ai_agent"
            && ["mode", "agentType", "type"].iter().any(|k| {
                s.attr_str(k)
                    .is_some_and(|m| contains_ci(m, "conversation") || contains_ci(m, "bot"))
            }))
}

/// Whether a setting is switched on: `true`, a positive number, a non-empty object not
/// `enabled: false`, or a string other than false/off/no/none/disabled.
fn on(v: Option<&Json>) -> bool {
    match v {
        Some(Json::Bool(b)) => *b,
        Some(Json::Number(n)) => *n > 0.0,
        Some(o @ Json::Object(m)) => !m.is_empty() && o.get("enabled") != Some(&Json::Bool(false)),
        Some(Json::String(s)) => {
            let t = s.trim();
            !t.is_empty()
                && !["false", "off", "no", "none", "disabled", "0"]
                    .iter()
                    .any(|f| t.eq_ignore_ascii_case(f))
        }
        _ => false,
    }
}

/// conversation-ai-without-human, on each live bot with no handoff setting
/// (`humanHandoff`/`handoff`/`transferToHuman`/`escalate` on) and no live assign-user or internal
/// notification after it. One reverse multi-source search, linear.
fn bots_without_human(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let g = ctx.g;
    let steps = &ctx.w.steps;
    let n = g.len();
    let bots: Vec<usize> = (0..n)
        .filter(|&i| g.live(i, Kind::Ai) && is_bot(&steps[i]))
        .filter(|&i| {
            !["humanHandoff", "handoff", "transferToHuman", "escalate"]
                .iter()
                .any(|k| on(steps[i].attr(k)))
        })
        .collect();
    if bots.is_empty() {
        return;
    }
    let human = g.reaching(
        (0..n).filter(|&i| {
            !g.disabled[i]
                && (g.kinds[i] == Kind::InternalNotification || steps[i].kind == "assign_user")
        }),
        |_| false,
    );
    for i in bots {
        if !g.out(i).iter().any(|e| human[e.to as usize]) {
            ctx.emit(
                out,
                Rule::ConversationAiWithoutHuman,
                Some(i),
                || format!(
                    "Conversation AI {} has no human handoff and no assign-user or internal notification after it.",
                    quoted(steps[i].label())
                ),
            );
        }
    }
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
    branches_on_free_text(ctx, out);
    failure_paths(ctx, out);
    bots_without_human(ctx, out);
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
                || format!(
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
    let field_ai = |i: usize| writes_ai(g, steps, i);
    if !(0..n).any(|i| outbound_ai(i) || field_ai(i)) {
        return;
    }
    // ai-text-sent-unguarded: reached from an AI step without passing an if/else.
    let unguarded = g.after((0..n).filter(|&i| ai(i)), |v| g.roles[v] == Role::IfElse);
    for i in (0..n).filter(|&i| field_ai(i) && unguarded[i]) {
        ctx.emit(out, Rule::AiOutputToFieldUnvalidated, Some(i), || {
            format!(
                "{} writes AI output to a field with no check between the AI step and it.",
                quoted(steps[i].label())
            )
        });
    }
    // ai-sms-unbounded: reached from an AI step without a length bound.
    let unbounded = g.after((0..n).filter(|&i| ai(i) && !bounded(&steps[i])), |_| false);
    for i in (0..n).filter(|&i| outbound_ai(i)) {
        let s = &steps[i];
        if unguarded[i] {
            ctx.emit(out, Rule::AiTextSentUnguarded, Some(i), || {
                format!(
                    "{} sends AI output to the contact with no check between the AI step and it.",
                    quoted(s.label())
                )
            });
        }
        if g.kinds[i] == Kind::Sms && unbounded[i] {
            ctx.emit(out, Rule::AiSmsUnbounded, Some(i), || {
                format!(
                    "SMS {} carries AI text from a step with no length bound.",
                    quoted(s.label())
                )
            });
        }
    }
}
