//! The trigger rules (no trigger, triggers without their filter): each fires on the right step, has
//! a near miss where it must not, and a rule that needs more than the definition is skipped with
//! its reason when the input lacks it.

use serde_json::json;

use super::{body, body_with, chain, fires_on, run, s, silent, sms, tag};

// ---------------------------------------------------------------- no-trigger

#[test]
fn no_trigger_fires_on_an_empty_trigger_list_and_is_skipped_without_one() {
    fires_on(
        &body_with(chain(vec![tag("a")]), json!([]), json!({})),
        "no-trigger",
        None,
    );
    silent(&body(chain(vec![tag("a")])), "no-trigger");
    let r = run(
        &json!({"workflow": {"name": "x", "workflowData": {"templates": chain(vec![tag("a")])}}}),
    );
    assert!(r.skipped_rules.iter().any(|k| k.rule_id == "no-trigger"));
    assert!(r
        .skipped_rules
        .iter()
        .any(|k| k.rule_id == "trigger-without-filter"));
    assert_eq!(r.confidence, crate::Confidence::Medium);
}

// ---------------------------------------------------------------- trigger-without-filter

#[test]
fn trigger_without_filter_fires_on_a_form_trigger_with_no_form() {
    let bare = json!([{"type": "form_submission", "name": "Any form", "conditions": []}]);
    fires_on(
        &body_with(chain(vec![tag("a")]), bare, json!({})),
        "trigger-without-filter",
        None,
    );
    let bare = json!([{"type": "appointment", "name": "Any appointment", "conditions": [{"field": "calendarId", "value": "c1"}]}]);
    fires_on(
        &body_with(chain(vec![tag("a")]), bare, json!({})),
        "trigger-without-filter",
        None,
    );
    silent(&body(chain(vec![tag("a")])), "trigger-without-filter");
}

#[test]
fn trigger_without_filter_fires_at_high_on_a_call_trigger_with_no_status_or_direction() {
    let call = |kind: &str, conditions| {
        body_with(
            chain(vec![tag("a")]),
            json!([{"id": "t1", "type": kind, "name": "Calls", "active": true, "conditions": conditions}]),
            json!({}),
        )
    };
    for kind in ["call_status", "call_details", "inbound_call"] {
        let r = fires_on(&call(kind, json!([])), "trigger-without-filter", None);
        let issue = r
            .issues
            .iter()
            .find(|i| i.rule_id == "trigger-without-filter")
            .expect("the issue");
        assert_eq!(issue.severity, crate::Severity::High);
        assert!(issue
            .message
            .contains("every call, answered and outbound included"));
    }
    // A filter on something else does not narrow the calls.
    fires_on(
        &call(
            "call_status",
            json!([{"field": "phone_number", "operator": "==", "value": "+15125550100"}]),
        ),
        "trigger-without-filter",
        None,
    );
    // Near misses: filtered to missed calls (status, or status and direction), to a direction,
    // and a trigger whose type is itself the missed-call filter.
    for conditions in [
        json!([{"field": "call.status", "operator": "is-any-of", "value": ["no-answer", "busy", "voicemail"]},
               {"field": "call.direction", "operator": "==", "value": "inbound"}]),
        json!([{"field": "callStatus", "operator": "==", "value": "missed"}]),
        json!([{"field": "call.direction", "operator": "==", "value": "inbound"}]),
    ] {
        silent(&call("call_status", conditions), "trigger-without-filter");
    }
    silent(&call("missed_call", json!([])), "trigger-without-filter");
    // An empty status value is no filter.
    fires_on(
        &call(
            "call_status",
            json!([{"field": "call.status", "operator": "is-any-of", "value": []}]),
        ),
        "trigger-without-filter",
        None,
    );
}

#[test]
fn trigger_filters_are_read_from_the_data_form_too() {
    // `{"data": {"tagName", "tagEvent", "formId", "appointmentStatus"}}`, as tooling records
    // HighLevel's trigger documents beside the `conditions` list.
    let with = |kind: &str, data: serde_json::Value| {
        body_with(
            chain(vec![tag("a")]),
            json!([{"id": "t1", "type": kind, "name": "Start", "data": data}]),
            json!({}),
        )
    };
    for (kind, data) in [
        (
            "contact_tag",
            json!({"type": "contact_tag", "targetActionId": "a", "tagName": "vip", "tagEvent": "added"}),
        ),
        ("form_submission", json!({"formId": "f1"})),
        ("appointment", json!({"appointmentStatus": "confirmed"})),
    ] {
        silent(&with(kind, data), "trigger-without-filter");
    }
    // A data object that filters nothing is no filter.
    for data in [
        json!({"type": "contact_tag", "targetActionId": "a", "tagEvent": "added"}),
        json!({"type": "contact_tag", "tagName": " "}),
    ] {
        fires_on(&with("contact_tag", data), "trigger-without-filter", None);
    }
    // A document's bookkeeping (the location, the trigger's own id or name) is not a filter,
    // even for a trigger that accepts a filter on any field.
    for (kind, data) in [
        (
            "contact_changed",
            json!({"type": "contact_changed", "targetActionId": "a", "locationId": "loc1",
                   "id": "t1", "name": "Contact changed"}),
        ),
        (
            "form_submission",
            json!({"locationId": "loc1", "workflowId": "wf1"}),
        ),
    ] {
        fires_on(&with(kind, data), "trigger-without-filter", None);
    }
    // Any other filled key is one: the changed field of a contact-changed trigger, an
    // opportunity's status.
    for (kind, data) in [
        (
            "contact_changed",
            json!({"type": "contact_changed", "targetActionId": "a", "field": "email"}),
        ),
        (
            "opportunity_status_changed",
            json!({"type": "opportunity_status_changed", "targetActionId": "a", "status": "won"}),
        ),
    ] {
        silent(&with(kind, data), "trigger-without-filter");
    }
    // A stray key beside a filter is left out of the conditions.
    let bytes = serde_json::to_vec(&with(
        "form_submission",
        json!({"formId": "f1", "locationId": "loc1", "id": "x", "name": "Form"}),
    ))
    .unwrap();
    let input = crate::parse(&bytes).unwrap();
    let trigger = &input.workflows()[0].triggers.as_ref().unwrap()[0];
    assert_eq!(trigger.conditions.len(), 1);
    assert_eq!(trigger.conditions[0].field, "formId");
    // The tag event decides which tag field the filter is on.
    let bytes = serde_json::to_vec(&with(
        "contact_tag",
        json!({"tagName": "vip", "tagEvent": "removed"}),
    ))
    .unwrap();
    let input = crate::parse(&bytes).unwrap();
    let trigger = &input.workflows()[0].triggers.as_ref().unwrap()[0];
    assert_eq!(trigger.conditions.len(), 1);
    assert_eq!(trigger.conditions[0].field, "tagsRemoved");
    assert_eq!(trigger.conditions[0].value, json!("vip"));
}

#[test]
fn a_draft_s_inactive_triggers_count_as_switched_on() {
    // HighLevel keeps a draft's triggers inactive until it is published.
    let with = |status: &str| {
        body_with(
            chain(vec![tag("a")]),
            json!([{"type": "form_submission", "name": "Form", "active": false,
                    "conditions": [{"field": "form.id", "operator": "==", "value": "f1"}]}]),
            json!({"status": status}),
        )
    };
    silent(&with("draft"), "no-trigger");
    fires_on(&with("published"), "no-trigger", None);
}

// ---------------------------------------------------------------- yearly-trigger-without-reentry

/// A birthday offer as the builder saves it: HighLevel's Birthday Reminder trigger on the day,
/// a text and an email, with the given settings.
fn yearly(kind: &str, name: &str, settings: serde_json::Value) -> serde_json::Value {
    body_with(
        chain(vec![
            super::sms(
                "m",
                "Happy birthday from Acme! Here is 20% off this week: acme.com/bday Reply STOP to opt out",
            ),
            super::email(
                "e",
                json!({"subject": "A birthday gift", "html": "<p>Happy birthday! 20% off all week.</p>"}),
            ),
        ]),
        json!([{"id": "t1", "type": kind, "name": name, "masterType": "highlevel",
                "status": "published", "active": true, "targetActionId": "m",
                "conditions": [{"field": "contact.dateOfBirth", "operator": "==", "value": "0",
                                "title": "Before no. of days", "type": "number"}]}]),
        settings,
    )
}

fn yearly_severity(v: &serde_json::Value) -> crate::Severity {
    let r = fires_on(v, "yearly-trigger-without-reentry", None);
    r.issues
        .iter()
        .find(|i| i.rule_id == "yearly-trigger-without-reentry")
        .map(|i| i.severity)
        .expect("the issue")
}

#[test]
fn yearly_trigger_without_reentry_fires_on_a_birthday_workflow_with_re_entry_off() {
    let off = json!({"allowMultiple": false, "name": "Birthday offer"});
    assert_eq!(
        yearly_severity(&yearly(
            "birthday_reminder",
            "Birthday Reminder",
            off.clone()
        )),
        crate::Severity::High
    );
    // A custom date reminder is often a one-off date (a trial end), where entering once is right:
    // judged only when a name says the date comes back (a renewal may be monthly).
    for (trigger, workflow) in [
        ("Custom date", "Date follow-up"),
        ("Trial ends", "Trial ending reminder"),
        ("Renewal date", "Renewal reminder"),
    ] {
        silent(
            &yearly(
                "custom_date_reminder",
                trigger,
                json!({"allowMultiple": false, "name": workflow}),
            ),
            "yearly-trigger-without-reentry",
        );
    }
    let anniversary = yearly(
        "custom_date_reminder",
        "Membership anniversary",
        json!({"allowMultiple": false, "name": "Date follow-up"}),
    );
    assert_eq!(yearly_severity(&anniversary), crate::Severity::High);
    // The message says what happens.
    let r = run(&yearly("birthday_reminder", "Birthday Reminder", off));
    let issue = r
        .issues
        .iter()
        .find(|i| i.rule_id == "yearly-trigger-without-reentry")
        .unwrap();
    assert!(
        issue.message.contains("re-entry is off"),
        "{}",
        issue.message
    );
}

#[test]
fn yearly_trigger_without_reentry_is_silent_with_re_entry_on_unsaid_or_another_trigger() {
    // Re-entry on, and a workflow that does not say (the builder's default is on).
    silent(
        &yearly(
            "birthday_reminder",
            "Birthday",
            json!({"allowMultiple": true}),
        ),
        "yearly-trigger-without-reentry",
    );
    silent(
        &yearly("birthday_reminder", "Birthday", json!({})),
        "yearly-trigger-without-reentry",
    );
    // Other date triggers: a task due date and an appointment happen once.
    for kind in ["task_due_date_reminder", "appointment", "contact_tag"] {
        silent(
            &yearly(kind, "Birthday", json!({"allowMultiple": false})),
            "yearly-trigger-without-reentry",
        );
    }
    // An inactive birthday trigger on a published workflow enrolls nobody.
    let mut v = yearly(
        "birthday_reminder",
        "Birthday",
        json!({"allowMultiple": false}),
    );
    v["triggers"][0]["active"] = json!(false);
    silent(&v, "yearly-trigger-without-reentry");
    // Without triggers the rule is skipped, not guessed.
    assert!(super::skipped_reason(
        &json!({"workflow": {"name": "Birthday", "allowMultiple": false,
                             "workflowData": {"templates": chain(vec![tag("a")])}}}),
        "yearly-trigger-without-reentry"
    )
    .is_some());
}

#[test]
fn trigger_without_filter_fires_on_an_opportunity_trigger_with_no_pipeline_stage_or_status() {
    let opp = |kind: &str, conditions: serde_json::Value| {
        body_with(
            chain(vec![sms(
                "a",
                "Thanks for your business! Reply STOP to opt out.",
            )]),
            json!([{"id": "t1", "type": kind, "name": "Opportunity moved", "masterType": "highlevel",
                    "active": true, "conditions": conditions}]),
            json!({}),
        )
    };
    for kind in [
        "opportunity_status_changed",
        "opportunity_changed",
        "pipeline_stage_changed",
    ] {
        let r = fires_on(&opp(kind, json!([])), "trigger-without-filter", None);
        assert!(r
            .issues
            .iter()
            .any(|i| i.rule_id == "trigger-without-filter" && i.message.contains(kind)));
        // A tag or owner filter still lets every pipeline in.
        fires_on(
            &opp(
                kind,
                json!([{"field": "contact.tags", "operator": "index-of-true", "value": "vip", "title": "Tag", "type": "select"},
                       {"field": "opportunity.assignedTo", "operator": "==", "value": "u1"}]),
            ),
            "trigger-without-filter",
            None,
        );
    }
    // Near misses: the builder's pipeline, status (new or old), stage and lost-reason filters.
    for (kind, field, value) in [
        ("opportunity_status_changed", "opportunity.status", "won"),
        (
            "opportunity_status_changed",
            "opportunity.oldStatus",
            "open",
        ),
        ("opportunity_status_changed", "opportunity.pipelineId", "p1"),
        ("opportunity_changed", "opportunity.pipelineId", "p1"),
        ("opportunity_changed", "opportunity.lostReasonId", "lr1"),
        ("pipeline_stage_changed", "pipeline_stage.id", "s1"),
    ] {
        silent(
            &opp(
                kind,
                json!([{"field": field, "operator": "==", "value": value, "type": "select"}]),
            ),
            "trigger-without-filter",
        );
    }
    // A new opportunity is not judged: a notification on every new deal is common.
    silent(
        &opp("opportunity_created", json!([])),
        "trigger-without-filter",
    );
    // Every opportunity on purpose: a sync that messages no contact, and a workflow that
    // branches on the status itself. (The stage trigger keeps its filter: it names the stage.)
    let unfiltered = |steps: Vec<serde_json::Value>| {
        body_with(
            chain(steps),
            json!([{"id": "t1", "type": "opportunity_status_changed", "name": "Any status", "active": true, "conditions": []}]),
            json!({}),
        )
    };
    silent(
        &unfiltered(vec![s(
            "h",
            "custom_webhook",
            json!({"method": "POST", "url": "{{custom_values.sheet_hook}}"}),
        )]),
        "trigger-without-filter",
    );
    silent(
        &unfiltered(vec![
            s(
                "c",
                "if_else",
                json!({"branches": [{"name": "Won", "segments": [{"conditions": [
                    {"conditionType": "opportunities", "conditionSubType": "status", "conditionOperator": "==", "conditionValue": "won"}]}]}]}),
            ),
            sms("a", "Thanks for your business! Reply STOP to opt out."),
        ]),
        "trigger-without-filter",
    );
}

/// Two workflows whose `data`-form triggers differ only in the opportunity status they filter on
/// are not duplicates, and neither trigger is unfiltered.
#[test]
fn data_form_triggers_that_differ_in_a_filter_are_not_duplicates() {
    let workflow = |id: &str, name: &str, status: &str| {
        json!({"id": id, "name": name, "status": "published",
               "workflowData": {"templates": [{"id": "s1", "type": "sms", "attributes": {"body": "Thanks! Reply STOP to opt out."}}]},
               "triggers": [{"type": "opportunity_status_changed", "active": true,
                             "data": {"type": "opportunity_status_changed", "targetActionId": "s1", "status": status}}]})
    };
    let bundle = json!({"workflows": [
        workflow("a", "Won follow-up", "won"),
        workflow("b", "Lost follow-up", "lost"),
    ]});
    silent(&bundle, "duplicate-trigger");
    silent(&bundle, "trigger-without-filter");
}
