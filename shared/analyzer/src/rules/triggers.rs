//! Trigger and settings rules of one workflow: no trigger, triggers without their filter,
//! yearly triggers with re-entry off, re-entry that duplicates records.

use super::{quoted, Ctx, Finding, Rule, Severity};
use crate::model::Trigger;

/// Whether a trigger type fires on phone calls: HighLevel's `call_status` / `call_details`, or a
/// type with the word `call` (`inbound_call`, `missed_call`...).
fn is_call_trigger(kind: &str) -> bool {
    kind.split(|c: char| !c.is_ascii_alphanumeric())
        .any(|w| w.eq_ignore_ascii_case("call"))
}

/// Whether a call trigger's type already narrows it to calls nobody answered (a missed-call or
/// voicemail trigger).
fn call_type_narrowed(kind: &str) -> bool {
    ["missed", "voicemail", "no_answer", "noanswer", "unanswered"]
        .iter()
        .any(|w| crate::model::contains_ci(kind, w))
}

/// The filter a trigger type needs, as field-name fragments (any one satisfies it).
fn required_filter(kind: &str) -> Option<(&'static [&'static str], &'static str)> {
    Some(match kind {
        "appointment" | "customer_booked_appointment" | "appointment_status" => {
            (&["status"], "an appointment status")
        }
        "contact_changed" => (&[""], "the field that changed"),
        "form_submission" | "form_submitted" => (&["form"], "a form"),
        "contact_tag" => (&["tag"], "a tag"),
        "pipeline_stage_updated" | "pipeline_stage_changed" | "opportunity_stage_changed" => {
            (&["pipeline", "stage"], "a pipeline or stage")
        }
        // Fire on every status change (or, for `opportunity_changed`, every edit) of every
        // opportunity in every pipeline unless narrowed to a pipeline, a stage or a status (a
        // lost reason narrows to lost ones). The builder's filters: `opportunity.pipelineId`,
        // `opportunity.status`, `opportunity.oldStatus`, `opportunity.lostReasonId`.
        "opportunity_status_changed" | "opportunity_changed" => (
            &["pipeline", "stage", "status", "lostreason"],
            "a pipeline, stage or status",
        ),
        _ => return None,
    })
}

/// A trigger that comes back every year for the same contact: HighLevel's Birthday Reminder
/// (`birthday_reminder`) always, a Custom Date Reminder (`custom_date_reminder`) when its date
/// recurs. `Some(true)` when the date surely comes back every year.
fn yearly_trigger(kind: &str) -> Option<bool> {
    let k = kind.to_ascii_lowercase();
    if k.contains("birthday") || k.contains("anniversary") {
        Some(true)
    } else if k.contains("custom_date") {
        Some(false)
    } else {
        None
    }
}

/// Words of a name saying a date comes back every year ("renewal" is not one: renewals are
/// monthly as often as yearly).
const YEARLY_WORDS: &[&str] = &["anniversary", "annual", "yearly", "birthday"];

fn has_filter(t: &Trigger, fragments: &[&str]) -> bool {
    t.conditions.iter().any(|c| {
        let f = c.field.to_ascii_lowercase();
        !f.is_empty() && c.has_value() && fragments.iter().any(|frag| f.contains(frag))
    })
}

/// Whether an unfiltered trigger of this type can be the design: "every opportunity" is how a
/// sync to a sheet or CRM, or a workflow that branches on the status itself, is built.
fn by_design(kind: &str) -> bool {
    matches!(kind, "opportunity_status_changed" | "opportunity_changed")
}

/// Whether the workflow treats every opportunity on purpose: it messages no contact (a sync, a
/// notification to the team), or it branches on the pipeline, stage or status itself.
fn opportunity_sync(ctx: &Ctx<'_>) -> bool {
    let g = ctx.g;
    let messages = (0..g.len()).any(|i| g.kinds[i].is_outbound() && !g.disabled[i]);
    !messages
        || super::if_else_checks(g, &["pipeline", "stage", "status"])
            .into_iter()
            .any(|b| b)
}

/// Whether `trigger-without-filter` reports this trigger for its type's missing filter (before
/// the exemption of workflows that treat every opportunity on purpose).
pub(super) fn misses_required_filter(t: &Trigger) -> bool {
    required_filter(&t.kind).is_some_and(|(fragments, _)| !has_filter(t, fragments))
}

pub(super) fn run(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    if let Some(triggers) = &ctx.w.triggers {
        if !triggers.iter().any(|t| t.active) {
            ctx.emit(out, Rule::NoTrigger, None, || {
                format!("Workflow {} has no active trigger.", quoted(&ctx.w.name))
            });
        }
        let sync = std::cell::OnceCell::new();
        for t in triggers.iter().filter(|t| t.active) {
            if is_call_trigger(&t.kind)
                && !call_type_narrowed(&t.kind)
                && !has_filter(t, &["status", "direction"])
            {
                ctx.emit_sev(
                    out,
                    Rule::TriggerWithoutFilter,
                    Severity::High,
                    None,
                    || format!(
                        "Trigger {} (type {}) has no call status or direction filter: every call, answered and outbound included, starts this workflow.",
                        quoted(t.label()),
                        quoted(&t.kind)
                    ),
                );
            }
            if let Some((fragments, what)) = required_filter(&t.kind) {
                // Read the steps once, however many triggers ask.
                let on_purpose =
                    || by_design(&t.kind) && *sync.get_or_init(|| opportunity_sync(ctx));
                if !(has_filter(t, fragments) || on_purpose()) {
                    ctx.emit(out, Rule::TriggerWithoutFilter, None, || {
                        format!(
                            "Trigger {} ({}) has no filter for {what}.",
                            quoted(t.label()),
                            t.kind
                        )
                    });
                }
            }
        }
    }
    yearly_without_reentry(ctx, out);
    if ctx.w.settings.allow_multiple {
        // HighLevel's create-opportunity step updates the contact's open opportunity in the
        // pipeline unless duplicate opportunities are allowed (off by default: the workflow's
        // `allowMultipleOpportunity`, or the location's setting in a bundle): only then does each
        // entry add one.
        let new_opportunities = ctx.w.settings.allow_multiple_opportunity
            || ctx.account.and_then(|a| a.duplicate_opportunities) == Some(true);
        for (i, s) in ctx.w.steps.iter().enumerate() {
            let creates = match &*s.kind {
                "create_opportunity" | "internal_create_opportunity" => new_opportunities,
                "create_contact" => true,
                _ => false,
            };
            if creates && !s.disabled {
                ctx.emit(out, Rule::ReentryDuplicates, Some(i), || {
                    format!(
                        "Re-entry is allowed and step {} creates a new record on every entry.",
                        quoted(s.label())
                    )
                });
            }
        }
    }
}

/// `yearly-trigger-without-reentry`: once per yearly trigger of a workflow that says re-entry is
/// off (with re-entry off HighLevel never enrolls a contact who went through the workflow again).
fn yearly_without_reentry(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let settings = &ctx.w.settings;
    if settings.allow_multiple || !settings.allow_multiple_stated {
        return;
    }
    for t in ctx.w.triggers.iter().flatten().filter(|t| t.active) {
        let Some(surely) = yearly_trigger(&t.kind) else {
            continue;
        };
        let named_yearly = || {
            crate::model::contains_any_ci(&t.name, YEARLY_WORDS)
                || crate::model::contains_any_ci(&ctx.w.name, YEARLY_WORDS)
        };
        // A custom date is often a one-off (a trial end, a contract end, an event), for which
        // entering once is right: judged only when a name says the date comes back.
        if !surely && !named_yearly() {
            continue;
        }
        ctx.emit(out, Rule::YearlyTriggerWithoutReentry, None, || {
            format!(
                "Trigger {} ({}) comes back every year, but re-entry is off: each contact goes through this workflow once, and from the second year on nobody who already had it is enrolled again.",
                quoted(t.label()),
                t.kind
            )
        });
    }
}
