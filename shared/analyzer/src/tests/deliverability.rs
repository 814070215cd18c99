//! The deliverability and consent rules (shorteners, restricted content, sender identity,
//! image-only email, spam subjects, no-reply senders, DND, sending numbers and domains, postal
//! address, bulk SMS consent): each fires on the right step, has a near miss where it must not, and
//! a rule that needs more than the definition is skipped with its reason when the input lacks it.

use serde_json::{json, Value};

use super::{
    body, body_with, bundle, chain, email, enrollment_trigger, fires_on, form_trigger, hits,
    if_else_branches, linked, no_triggers, run, s, silent, skipped_reason, sms, wait_days, wf,
};

fn newsletter(id: &str, html: &str) -> Value {
    s(
        id,
        "email",
        json!({"subject": "News from Acme", "html": html}),
    )
}

const UNSUB: &str =
    "<p>We opened a second clinic downtown.</p><a href=\"{{unsubscribe_link}}\">Unsubscribe</a>";

// ---------------------------------------------------------------- sms-link-shortener

#[test]
fn sms_link_shortener_fires_on_a_public_shortener_only() {
    fires_on(
        &body(chain(vec![sms(
            "a",
            "This is Acme: book at https://bit.ly/x1 Reply STOP",
        )])),
        "sms-link-shortener",
        Some("a"),
    );
    silent(
        &body(chain(vec![sms(
            "a",
            "This is Acme: book at https://acme.com/book or habit.ly/x. Reply STOP",
        )])),
        "sms-link-shortener",
    );
}

// ---------------------------------------------------------------- sms-restricted-content

#[test]
fn sms_restricted_content_matches_whole_words() {
    fires_on(
        &body(chain(vec![sms(
            "a",
            "This is Acme Bar: 2-for-1 beer tonight! Reply STOP",
        )])),
        "sms-restricted-content",
        Some("a"),
    );
    silent(
        &body(chain(vec![sms(
            "a",
            "This is Acme: our winery tour and gunsmith class. Reply STOP",
        )])),
        "sms-restricted-content",
    );
}

// ---------------------------------------------------------------- first-sms-no-sender

#[test]
fn first_sms_no_sender_fires_on_the_first_text_only() {
    fires_on(
        &body(chain(vec![
            sms("a", "Hi there, your quote is ready. Reply STOP to opt out"),
            wait_days("w", 1),
            sms("b", "This is Acme: any questions?"),
        ])),
        "first-sms-no-sender",
        Some("a"),
    );
    silent(
        &body(chain(vec![
            sms(
                "a",
                "Hi, this is Acme Roofing: your quote is ready. Reply STOP",
            ),
            wait_days("w", 1),
            sms("b", "Any questions?"),
        ])),
        "first-sms-no-sender",
    );
}

// ---------------------------------------------------------------- email-image-or-link-only

#[test]
fn email_image_or_link_only_needs_almost_no_text() {
    let unsub = "<a href=\"{{unsubscribe_link}}\">Unsubscribe</a>";
    fires_on(
        &body(chain(vec![email(
            "e",
            json!({"subject": "Our offer", "html": format!("<a href=\"https://acme.com\"><img src=\"https://acme.com/a.png\"></a>{unsub}")}),
        )])),
        "email-image-or-link-only",
        Some("e"),
    );
    silent(
        &body(chain(vec![email(
            "e",
            json!({"subject": "Our offer", "html": format!("<p>We opened a second clinic downtown and would love to see you.</p><img src=\"https://acme.com/a.png\">{unsub}")}),
        )])),
        "email-image-or-link-only",
    );
}

// ---------------------------------------------------------------- spam-trigger-subject

#[test]
fn spam_trigger_subject_fires_on_capitals_and_phrases_not_on_free() {
    for subject in ["FREE GIFT FOR YOU", "Act now: 50% off", "Big news!!!"] {
        fires_on(
            &body(chain(vec![email(
                "e",
                json!({"subject": subject, "html": "<p>Hello and welcome to our newsletter.</p> unsubscribe"}),
            )])),
            "spam-trigger-subject",
            Some("e"),
        );
    }
    silent(
        &body(chain(vec![email(
            "e",
            json!({"subject": "Your free consultation, {{CONTACT.FIRST_NAME}}", "html": "<p>Hello and welcome.</p> unsubscribe"}),
        )])),
        "spam-trigger-subject",
    );
}

// ---------------------------------------------------------------- reply-to-no-reply

#[test]
fn reply_to_no_reply_needs_a_no_reply_sender_an_ask_and_no_reply_to() {
    let mail = |from: &str, reply_to: Option<&str>| {
        let mut a = json!({"from_email": from, "subject": "Quick question",
                           "html": "<p>Just reply to this email with a good time.</p> unsubscribe"});
        if let Some(r) = reply_to {
            a["replyTo"] = json!(r);
        }
        body(chain(vec![email("e", a)]))
    };
    fires_on(
        &mail("noreply@acme.com", None),
        "reply-to-no-reply",
        Some("e"),
    );
    silent(
        &mail("noreply@acme.com", Some("team@acme.com")),
        "reply-to-no-reply",
    );
    silent(&mail("hello@acme.com", None), "reply-to-no-reply");
}

// ---------------------------------------------------------------- dnd-turned-off

#[test]
fn dnd_turned_off_fires_on_an_explicit_off_only() {
    fires_on(
        &body(chain(vec![s("d", "dnd", json!({"action": "disable"}))])),
        "dnd-turned-off",
        Some("d"),
    );
    fires_on(
        &body(chain(vec![s(
            "f",
            "update_contact_field",
            json!({"field": "dnd", "value": false}),
        )])),
        "dnd-turned-off",
        Some("f"),
    );
    silent(
        &body(chain(vec![s("d", "dnd", json!({"action": "enable"}))])),
        "dnd-turned-off",
    );
    silent(
        &body(chain(vec![s("d", "dnd", json!({}))])),
        "dnd-turned-off",
    );
}

#[test]
fn dnd_turned_off_reads_the_builder_s_list_of_field_writes() {
    // HighLevel's update-field step lists its writes: `fields: [{field, value, title, type}]`.
    let update = |fields: Value| {
        body(chain(vec![s(
            "f",
            "update_contact_field",
            json!({"type": "update_contact_field", "actionType": "update_field_data", "fields": fields}),
        )]))
    };
    for fields in [
        json!([{"field": "dnd", "value": false, "title": "DND", "type": "boolean"}]),
        json!([{"field": "source", "value": "fb", "title": "Source", "type": "string"},
               {"field": "contact.dnd", "value": "off", "title": "DND", "type": "string"}]),
    ] {
        fires_on(&update(fields), "dnd-turned-off", Some("f"));
    }
    for fields in [
        json!([{"field": "dnd", "value": true, "title": "DND", "type": "boolean"}]),
        json!([{"field": "source", "value": false, "title": "Source", "type": "string"}]),
        json!([]),
    ] {
        silent(&update(fields), "dnd-turned-off");
    }
}

#[test]
fn dnd_turned_off_reads_highlevels_own_dnd_contact_step() {
    // HighLevel's builder writes the DND action as `type: dnd_contact` with
    // `attributes.dnd_contact: "disable" | "enable"` (docs/ANALYZER.md, "Formats").
    let off = |kind: &str, attrs| {
        body(chain(vec![
            s("d", kind, attrs),
            sms(
                "m",
                "This is Acme: sorry we missed your call. Reply STOP to opt out.",
            ),
        ]))
    };
    let r = fires_on(
        &off(
            "dnd_contact",
            json!({"type": "dnd_contact", "dnd_contact": "disable"}),
        ),
        "dnd-turned-off",
        Some("d"),
    );
    let issue = r
        .issues
        .iter()
        .find(|i| i.rule_id == "dnd-turned-off")
        .expect("the issue");
    assert_eq!(issue.severity, crate::Severity::High);
    assert_eq!(
        issue.message,
        "Step \"dnd_contact d\" turns the contact's DND off."
    );
    // Not an unknown type any more.
    silent(
        &off(
            "dnd_contact",
            json!({"type": "dnd_contact", "dnd_contact": "disable"}),
        ),
        "unknown-step-type",
    );
    // The same key on a `dnd` step.
    fires_on(
        &off("dnd", json!({"dnd_contact": "disable"})),
        "dnd-turned-off",
        Some("d"),
    );
    // Near misses: turning DND on, and a step that does not say which way it goes.
    silent(
        &off(
            "dnd_contact",
            json!({"type": "dnd_contact", "dnd_contact": "enable", "dnd_direction": "outbound"}),
        ),
        "dnd-turned-off",
    );
    silent(
        &off("dnd_contact", json!({"type": "dnd_contact"})),
        "dnd-turned-off",
    );
}

// ---------------------------------------------------------------- sms-without-sending-number

#[test]
fn sms_without_sending_number_reads_the_bundles_phone_numbers() {
    let w = wf(
        "w1",
        chain(vec![sms("a", "This is Acme. Reply STOP")]),
        form_trigger(),
    );
    let r = fires_on(
        &bundle(
            vec![w.clone()],
            json!({"phoneNumbers": [{"number": "+15550100", "capabilities": {"sms": false}},
                                    {"number": "+15550101", "status": "released"}]}),
        ),
        "sms-without-sending-number",
        Some("a"),
    );
    assert_eq!(
        r.issues
            .iter()
            .filter(|i| i.rule_id == "sms-without-sending-number")
            .count(),
        1
    );
    silent(
        &bundle(vec![w.clone()], json!({"phoneNumbers": ["+15550100"]})),
        "sms-without-sending-number",
    );
    let reason = skipped_reason(
        &bundle(vec![w], json!({"tags": ["x"]})),
        "sms-without-sending-number",
    );
    assert!(reason.is_some_and(|r| r.contains("phoneNumbers")));
    assert!(skipped_reason(
        &body(chain(vec![sms("a", "Reply STOP")])),
        "sms-without-sending-number"
    )
    .is_some());
}

// ---------------------------------------------------------------- email-domain-unauthenticated

#[test]
fn email_domain_unauthenticated_reads_the_bundles_domains() {
    let w = |from: &str| {
        wf(
            "w1",
            chain(vec![email(
                "e",
                json!({"from_email": from, "subject": "Hello", "html": "<p>Welcome to Acme, glad you are here.</p> unsubscribe"}),
            )]),
            form_trigger(),
        )
    };
    let lists = json!({"emailDomains": [{"domain": "acme.com", "spf": true, "dkim": "failed", "dmarc": true},
                                        {"domain": "mail.acme.io", "spf": "verified", "dkim": "verified", "dmarc": "verified"}]});
    fires_on(
        &bundle(vec![w("hello@acme.com")], lists.clone()),
        "email-domain-unauthenticated",
        Some("e"),
    );
    fires_on(
        &bundle(vec![w("hello@other.com")], lists.clone()),
        "email-domain-unauthenticated",
        Some("e"),
    );
    silent(
        &bundle(vec![w("hello@mail.acme.io")], lists),
        "email-domain-unauthenticated",
    );
    let reason = skipped_reason(
        &bundle(vec![w("hello@acme.com")], json!({"tags": []})),
        "email-domain-unauthenticated",
    );
    assert!(reason.is_some_and(|r| r.contains("emailDomains")));
}

// ---------------------------------------------------------------- email-without-postal-address

#[test]
fn email_without_postal_address_fires_on_a_marketing_email_with_no_address() {
    fires_on(
        &body(chain(vec![newsletter("e", UNSUB)])),
        "email-without-postal-address",
        Some("e"),
    );
    // Half an address, or an email address, is not a postal address.
    for footer in [
        "<p>{{location.city}}</p>",
        "<p>{{custom_values.support_email_address}}</p>",
        "<p>Call 555 1234 today</p>",
    ] {
        fires_on(
            &body(chain(vec![newsletter("e", &format!("{UNSUB}{footer}"))])),
            "email-without-postal-address",
            Some("e"),
        );
    }
}

#[test]
fn a_consent_line_in_a_footer_does_not_make_a_nurture_transactional() {
    // "...because you requested information" says why the email comes, it delivers nothing.
    let nurture = |footer: &str| {
        body(chain(vec![
            email(
                "e1",
                json!({"subject": "3 ways to whiten", "html": format!("<p>Tips for you.</p>{UNSUB}<p>{footer}</p>")}),
            ),
            wait_days("w", 2),
            email(
                "e2",
                json!({"subject": "Our spring offer", "html": format!("<p>More tips.</p>{UNSUB}<p>{footer}</p>")}),
            ),
        ]))
    };
    for footer in [
        "You are receiving this email because you requested information from Bright Smile.",
        "You received this because you asked for our newsletter!",
    ] {
        fires_on(&nurture(footer), "email-without-postal-address", Some("e1"));
    }
    // Transactional wording after a "because" that is not a consent line still counts.
    let reminder = body(chain(vec![email(
        "e1",
        json!({"subject": "Tomorrow", "html": "<p>Hi, we are writing because your appointment is tomorrow at 3pm.</p>"}),
    )]));
    silent(&reminder, "email-without-postal-address");
    // A delivery of what was asked for stays transactional (no marketing-only finding).
    let delivery = body(chain(vec![email(
        "e1",
        json!({"subject": "Your guide", "html": "<p>Here is the guide you requested: {{custom_values.guide_link}}</p>"}),
    )]));
    silent(&delivery, "email-without-postal-address");
}

#[test]
fn email_without_postal_address_accepts_merge_fields_and_written_addresses() {
    for footer in [
        "<p>{{location.full_address}}</p>",
        "<p>{{ location.address }}</p>",
        "<p>{{location.city}}, {{location.postal_code}}</p>",
        "<p>{{business.address}}</p>",
        "<p>{{custom_values.mailing_address}}</p>",
        "<p>Acme Dental, 123 Main Street, Springfield</p>",
        "<p>500 North Oak Ave.</p>",
        "<p>Acme, P.O. Box 42</p>",
        "<p>Austin, TX 78701</p>",
        "<p>10 Downing, London SW1A 2AA</p>",
    ] {
        silent(
            &body(chain(vec![newsletter("e", &format!("{UNSUB}{footer}"))])),
            "email-without-postal-address",
        );
    }
    // Transactional email is not judged (as for the unsubscribe link).
    silent(
        &body(chain(vec![s(
            "e",
            "email",
            json!({"subject": "Your receipt", "html": "<p>Thanks for your payment.</p>", "transactional": true}),
        )])),
        "email-without-postal-address",
    );
}

#[test]
fn transactional_wording_exempts_an_email_from_both_footer_rules_unless_it_sells() {
    let reminder = newsletter(
        "e",
        "<p>Reminder: your visit is tomorrow at {{appointment.start_time}}.</p>",
    );
    for rule in ["email-without-postal-address", "email-without-unsubscribe"] {
        silent(&body(chain(vec![reminder.clone()])), rule);
        // The same reminder pushing a discount is marketing again.
        // (In a location whose default unsubscribe footer is off, so both rules judge it.)
        let selling = body(chain(vec![newsletter(
            "e",
            "<p>Your appointment is tomorrow. Book a second one today: 20% off!</p>",
        )]));
        fires_on(
            &json!({"workflows": [selling], "locationSettings": {"defaultUnsubscribeLink": false}}),
            rule,
            Some("e"),
        );
    }
}

#[test]
fn a_receipt_thanking_for_the_purchase_does_not_sell() {
    // "Thank you for your purchase" confirms what was bought; "purchase" alone still sells.
    let off = json!({"defaultUnsubscribeLink": false});
    for rule in ["email-without-postal-address", "email-without-unsubscribe"] {
        let receipt = body(chain(vec![newsletter(
            "e",
            "<p>Thank you for your purchase! Here is your receipt for {{payment.amount}}.</p>",
        )]));
        silent(
            &json!({"workflows": [receipt], "locationSettings": off}),
            rule,
        );
        let pitch = body(chain(vec![newsletter(
            "e",
            "<p>Here is your receipt. Purchase the premium plan today!</p>",
        )]));
        fires_on(
            &json!({"workflows": [pitch], "locationSettings": off}),
            rule,
            Some("e"),
        );
    }
}

// ---------------------------------------------------------------- bulk-sms-without-consent

#[test]
fn bulk_sms_without_consent_fires_on_the_first_unchecked_sms_of_each_path() {
    let r = fires_on(
        &body_with(
            chain(vec![
                s("t", "add_contact_tag", json!({"tags": ["blast"]})),
                sms("a", "This is Acme: 20% off this week. Reply STOP"),
                s(
                    "w",
                    "wait",
                    json!({"type": "time", "startAfter": {"type": "days", "value": 2}, "window": {"start": "09:00", "end": "18:00"}}),
                ),
                sms("b", "This is Acme: last day! Reply STOP"),
            ]),
            enrollment_trigger("smart_list", json!([])),
            json!({}),
        ),
        "bulk-sms-without-consent",
        Some("a"),
    );
    assert_eq!(
        hits(&r, "bulk-sms-without-consent"),
        vec![Some("a".to_owned())]
    );
    // An if/else on something else checks nothing: both branches' texts fire.
    let mut steps = vec![linked(
        s("t", "add_contact_tag", json!({"tags": ["blast"]})),
        json!("k"),
        "",
    )];
    steps.extend(if_else_branches(
        "k",
        "VIP?",
        json!([{"field": "contact.tags", "operator": "contains", "value": "vip"}]),
        "t",
        "a",
        "b",
    ));
    steps.push(linked(
        sms("a", "This is Acme: VIP offer. Reply STOP"),
        Value::Null,
        "k_yes",
    ));
    steps.push(linked(
        sms("b", "This is Acme: offer. Reply STOP"),
        Value::Null,
        "k_no",
    ));
    let r = run(&body_with(
        steps,
        enrollment_trigger("scheduler", json!([])),
        json!({}),
    ));
    let mut h = hits(&r, "bulk-sms-without-consent");
    h.sort();
    assert_eq!(h, vec![Some("a".to_owned()), Some("b".to_owned())]);
}

#[test]
fn bulk_sms_without_consent_is_silent_after_a_consent_check_or_a_consent_filter() {
    let mut steps = vec![linked(
        s("t", "add_contact_tag", json!({"tags": ["blast"]})),
        json!("k"),
        "",
    )];
    steps.extend(if_else_branches(
        "k",
        "Can we text?",
        json!([{"field": "contact.sms_consent", "operator": "==", "value": "true"}]),
        "t",
        "a",
        "x",
    ));
    steps.push(linked(
        sms("a", "This is Acme: offer. Reply STOP"),
        Value::Null,
        "k_yes",
    ));
    steps.push(linked(
        s("x", "add_contact_tag", json!({"tags": ["no-consent"]})),
        Value::Null,
        "k_no",
    ));
    silent(
        &body_with(
            steps,
            enrollment_trigger("bulk_action", json!([])),
            json!({}),
        ),
        "bulk-sms-without-consent",
    );
    let texts = || chain(vec![sms("a", "This is Acme: offer. Reply STOP")]);
    silent(
        &body_with(
            texts(),
            enrollment_trigger(
                "scheduler",
                json!([{"field": "dnd", "operator": "==", "value": "false"}]),
            ),
            json!({}),
        ),
        "bulk-sms-without-consent",
    );
    // A form trigger is not a bulk enrollment.
    silent(&body(texts()), "bulk-sms-without-consent");
}

#[test]
fn bulk_sms_without_consent_is_skipped_without_triggers() {
    let reason = skipped_reason(
        &no_triggers(chain(vec![sms("a", "This is Acme: offer. Reply STOP")])),
        "bulk-sms-without-consent",
    );
    assert!(reason.is_some_and(|r| r.contains("triggers")));
}

#[test]
fn first_sms_no_sender_is_silent_when_the_location_appends_the_sender() {
    let w = body(chain(vec![sms("m", "Your documents are ready.")]));
    fires_on(&w, "first-sms-no-sender", Some("m"));
    silent(
        &json!({"workflows": [w.clone()], "locationSettings": {"smsSenderInfo": true}}),
        "first-sms-no-sender",
    );
    fires_on(
        &json!({"workflows": [w], "locationSettings": {"smsSenderInfo": false}}),
        "first-sms-no-sender",
        Some("m"),
    );
}

#[test]
fn completing_the_purchase_is_a_pitch() {
    let cart = body(chain(vec![newsletter(
        "e",
        "<p>Here is your cart: complete the purchase today.</p>",
    )]));
    fires_on(&cart, "email-without-postal-address", Some("e"));
}
