//! The revenue rules (first touch behind a wait, purchase confirmations before payment, selling
//! cadences without a purchase exit): each fires on the right step, has a near miss where it must
//! not, and a rule that needs more than the definition is skipped with its reason when the input
//! lacks it.

use serde_json::json;

use super::{body, body_with, chain, fires_on, s, silent, sms, wait_days, wait_minutes};

// ---------------------------------------------------------------- first-touch-behind-wait

#[test]
fn first_touch_behind_wait_fires_on_the_long_wait_before_any_message() {
    fires_on(
        &body(chain(vec![
            s("t", "add_contact_tag", json!({"tags": ["lead"]})),
            wait_days("w", 1),
            sms("a", "This is Acme: thanks for reaching out. Reply STOP"),
        ])),
        "first-touch-behind-wait",
        Some("w"),
    );
    silent(
        &body(chain(vec![
            sms("a", "This is Acme: thanks for reaching out. Reply STOP"),
            wait_days("w", 1),
            sms("b", "This is Acme again. Reply STOP"),
        ])),
        "first-touch-behind-wait",
    );
    silent(
        &body(chain(vec![
            wait_minutes("w", 5),
            sms("a", "This is Acme: thanks! Reply STOP"),
        ])),
        "first-touch-behind-wait",
    );
}

// ---------------------------------------------------------------- purchase-confirmation-pre-payment

#[test]
fn purchase_confirmation_pre_payment_fires_on_pre_payment_triggers_only() {
    let msg = || {
        chain(vec![sms(
            "a",
            "This is Acme: thank you for your purchase! Reply STOP",
        )])
    };
    let trig = |t: &str| json!([{"id": "t1", "type": t, "active": true, "conditions": [{"field": "x", "value": "y"}]}]);
    fires_on(
        &body_with(msg(), trig("invoice_sent"), json!({})),
        "purchase-confirmation-pre-payment",
        Some("a"),
    );
    silent(
        &body_with(msg(), trig("payment_received"), json!({})),
        "purchase-confirmation-pre-payment",
    );
}

// ---------------------------------------------------------------- cadence-without-purchase-exit

#[test]
fn cadence_without_purchase_exit_fires_on_the_first_pitch() {
    let pitches = |exit: bool| {
        let mut v = vec![
            sms("a", "This is Acme: buy one, get one this week. Reply STOP"),
            wait_days("w", 2),
            sms("b", "This is Acme: 20% off ends Friday. Reply STOP"),
        ];
        if exit {
            v.push(s("g", "workflow_goal", json!({})));
        }
        chain(v)
    };
    fires_on(
        &body(pitches(false)),
        "cadence-without-purchase-exit",
        Some("a"),
    );
    silent(&body(pitches(true)), "cadence-without-purchase-exit");
}

/// An abandoned-cart recovery sells with every message, even those without a selling word.
#[test]
fn cadence_without_purchase_exit_counts_every_message_of_a_cart_recovery() {
    let recovery = |goal: bool| {
        let mut v = vec![
            s(
                "a",
                "email",
                json!({"subject": "You left something behind", "html": "<p>Return to your cart whenever you are ready.</p>"}),
            ),
            wait_days("w", 1),
            sms(
                "b",
                "This is Acme: your cart is still saved. Reply STOP to opt out.",
            ),
        ];
        if goal {
            v.push(s("g", "workflow_goal", json!({})));
        }
        chain(v)
    };
    let cart =
        json!([{"id": "t1", "type": "abandoned_checkout", "active": true, "conditions": []}]);
    fires_on(
        &body_with(recovery(false), cart.clone(), json!({})),
        "cadence-without-purchase-exit",
        Some("a"),
    );
    silent(
        &body_with(recovery(true), cart, json!({})),
        "cadence-without-purchase-exit",
    );
    // The same two messages after a form are not a selling cadence.
    silent(&body(recovery(false)), "cadence-without-purchase-exit");
    // The trigger type in any case; Shopify's cart trigger too.
    for kind in ["Abandoned_Checkout", "shopify_abandoned_cart"] {
        fires_on(
            &body_with(
                recovery(false),
                json!([{"id": "t1", "type": kind, "active": true, "conditions": []}]),
                json!({}),
            ),
            "cadence-without-purchase-exit",
            Some("a"),
        );
    }
    // One moment (an email and a text sent together) is no cadence; nor is another trigger
    // that merely says "abandon".
    let together = chain(vec![
        s(
            "a",
            "email",
            json!({"subject": "You left something behind", "html": "<p>Return to your cart.</p>"}),
        ),
        sms(
            "b",
            "This is Acme: your cart is still saved. Reply STOP to opt out.",
        ),
    ]);
    silent(
        &body_with(
            together,
            json!([{"id": "t1", "type": "abandoned_checkout", "active": true, "conditions": []}]),
            json!({}),
        ),
        "cadence-without-purchase-exit",
    );
    silent(
        &body_with(
            recovery(false),
            json!([{"id": "t1", "type": "call_abandoned", "active": true, "conditions": []}]),
            json!({}),
        ),
        "cadence-without-purchase-exit",
    );
}
