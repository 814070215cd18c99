//! Revenue lifecycle: first touch held behind a wait, purchase confirmations on pre-payment
//! triggers, selling cadences with no purchase exit.

use super::waits::WaitKind;
use super::{exits_workflow, quoted, words, Ctx, Finding, Rule};
use crate::model::{contains_any_ci, contains_ci, Kind, Role};

/// Trigger types of a new lead.
const NEW_LEAD: &[&str] = &[
    "form_submission",
    "form_submitted",
    "survey_submission",
    "survey_submitted",
    "contact_created",
    "facebook_lead_form",
    "fb_lead_form",
    "lead_form",
    "tiktok_form",
    "linkedin_lead_form",
];
/// Trigger type fragments that fire before any payment.
const PRE_PAYMENT: &[&str] = &[
    "abandon",
    "checkout_start",
    "invoice_sent",
    "invoice_created",
    "estimate",
];
const CONFIRMS: &[&str] = &[
    "thank you for your purchase",
    "thanks for your purchase",
    "payment received",
    "order confirmed",
    "order confirmation",
    "your receipt",
    "thank you for your order",
    "thanks for your order",
];
/// Selling words (whole words).
const SELLING: &[&str] = &[
    "buy", "offer", "discount", "checkout", "purchase", "sale", "deal", "coupon", "promo", "off",
];
/// Waits shorter than this before the first touch are fine (a natural pause).
const FIRST_TOUCH_MINUTES: f64 = 60.0;

/// Words before "purchase" that make it the contact's own, already made ("thank you for your
/// purchase", "your recent purchase"): a receipt's wording, not a pitch ("complete the purchase"
/// is one).
const OWN: &[&str] = &["your", "recent"];

/// Whether a text uses a selling word ([`SELLING`], whole words; "off" only as "N off"; "purchase"
/// not after [`OWN`]).
pub(super) fn sells(text: &str) -> bool {
    let mut prev: &[u8] = b"";
    words(text).any(|w| {
        let first = w[0].to_ascii_lowercase();
        let hit = if !matches!(first, b'b' | b'o' | b'd' | b'c' | b'p' | b's') {
            false
        } else if w.eq_ignore_ascii_case(b"off") {
            !prev.is_empty() && prev.iter().all(|c| c.is_ascii_digit())
        } else if w.eq_ignore_ascii_case(b"purchase") {
            !OWN.iter().any(|o| o.as_bytes().eq_ignore_ascii_case(prev))
        } else {
            SELLING.iter().any(|s| s.as_bytes().eq_ignore_ascii_case(w))
        };
        prev = w;
        hit
    })
}

pub(super) fn run(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let g = ctx.g;
    let steps = &ctx.w.steps;
    let n = g.len();
    let outbound = |i: usize| g.kinds[i].is_outbound() && !g.disabled[i];
    let touch = |i: usize| {
        outbound(i) || (g.kinds[i] == Kind::OtherKnown && !g.disabled[i] && steps[i].kind == "call")
    };

    // cadence-without-purchase-exit. A workflow started by an abandoned cart or checkout sells
    // with every message ("your cart is still saved" asks for the purchase as much as "10% off"),
    // when its messages come at two moments or more (an email and a text sent together are one).
    let recovers_cart = ctx.w.triggers.iter().flatten().any(|t| {
        t.active
            && contains_ci(&t.kind, "abandon")
            && (contains_ci(&t.kind, "cart") || contains_ci(&t.kind, "checkout"))
    }) && super::messaging::touches(ctx) >= 2;
    let selling: Vec<usize> = (0..n)
        .filter(|&i| outbound(i) && (recovers_cart || ctx.wording(i).sells))
        .collect();
    if selling.len() >= 2 {
        let exits =
            (0..n).any(|i| exits_workflow(g, i) || (!g.disabled[i] && g.roles[i] == Role::IfElse));
        if !exits {
            ctx.emit(
                out,
                Rule::CadenceWithoutPurchaseExit,
                Some(selling[0]),
                || format!(
                    "{} selling messages, starting with {}, and no goal, exit or branch stops them after a purchase.",
                    selling.len(),
                    quoted(steps[selling[0]].label())
                ),
            );
        }
    }

    let Some(triggers) = &ctx.w.triggers else {
        return;
    };
    let active: Vec<_> = triggers.iter().filter(|t| t.active).collect();
    // purchase-confirmation-pre-payment: every active trigger fires before payment.
    if !active.is_empty() && active.iter().all(|t| contains_any_ci(&t.kind, PRE_PAYMENT)) {
        for i in (0..n).filter(|&i| outbound(i)) {
            if g.says_any(i, CONFIRMS) {
                ctx.emit(out, Rule::PurchaseConfirmationPrePayment, Some(i), || {
                    format!(
                        "{} confirms a purchase on trigger {}, which fires before payment.",
                        quoted(steps[i].label()),
                        quoted(active[0].label())
                    )
                });
            }
        }
    }
    // first-touch-behind-wait: from the entry, nothing touches the lead before a long wait.
    let Some(entry) = g.entry else { return };
    if !active.iter().any(|t| NEW_LEAD.contains(&t.kind.as_str())) || !(0..n).any(touch) {
        return;
    }
    let is_wait = |i: usize| g.live(i, Kind::Wait);
    let mut seen = vec![false; n];
    let mut stack = vec![entry];
    seen[entry] = true;
    let mut blocking: Option<usize> = None;
    while let Some(v) = stack.pop() {
        if touch(v) {
            return;
        }
        if is_wait(v) {
            let long = match ctx.wait_kind(v) {
                WaitKind::Time(Some(m)) => m >= FIRST_TOUCH_MINUTES,
                WaitKind::Time(None) => false,
                _ => true,
            };
            if long {
                if blocking.is_none_or(|b| (g.depth[v], v) < (g.depth[b], b)) {
                    blocking = Some(v);
                }
                continue;
            }
        }
        for e in g.out(v) {
            let w = e.to as usize;
            if !seen[w] {
                seen[w] = true;
                stack.push(w);
            }
        }
    }
    if let Some(b) = blocking {
        ctx.emit(out, Rule::FirstTouchBehindWait, Some(b), || {
            format!(
                "A new lead waits at {} before the first message or call.",
                quoted(steps[b].label())
            )
        });
    }
}
