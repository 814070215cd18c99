//! The data rules (re-entry duplicates, opportunities, fields set twice, tags from merge fields,
//! placeholders, contacts created without a find, phone formats, custom-field types): each fires on
//! the right step, has a near miss where it must not, and a rule that needs more than the
//! definition is skipped with its reason when the input lacks it.

use serde_json::{json, Value};

use super::{
    a_single_workflow, body, body_with, bundle, chain, fires_on, form_trigger, hits, place, places,
    plain_wf, run, s, silent, skipped_reason, sms, tag, wait_days, wf, MISMATCH,
};
use crate::{parse, Input};

fn typed_fields() -> Value {
    json!({"customFields": [
        {"id": "cf_age", "fieldKey": "contact.age", "name": "Age", "dataType": "NUMERICAL"},
        {"id": "cf_budget", "fieldKey": "contact.budget", "dataType": "MONETORY"},
        {"id": "cf_due", "fieldKey": "contact.due_date", "dataType": "date"},
        {"id": "cf_optin", "fieldKey": "contact.opt_in", "dataType": "CHECKBOX"},
        {"id": "cf_channels", "fieldKey": "contact.channels", "dataType": "CHECKBOX",
         "picklistOptions": ["Email", "SMS"]},
        {"id": "cf_tier", "fieldKey": "contact.tier", "dataType": "SINGLE_OPTIONS",
         "picklistOptions": ["Gold", "Silver"]},
        {"id": "cf_size", "fieldKey": "contact.size", "dataType": "RADIO",
         "options": [{"key": "s", "label": "Small"}, {"key": "l", "label": "Large"}]},
        {"id": "cf_color", "fieldKey": "contact.color", "dataType": "SINGLE_OPTIONS"},
        {"id": "cf_note", "fieldKey": "contact.note", "dataType": "TEXT"}
    ]})
}

/// A bundle of one workflow writing `value` to `field`, with the typed custom fields.
fn write(field: &str, value: Value) -> Value {
    bundle(
        vec![plain_wf(
            "w1",
            chain(vec![s(
                "u",
                "update_contact_field",
                json!({"fieldId": field, "value": value}),
            )]),
            form_trigger(),
        )],
        typed_fields(),
    )
}

// ---------------------------------------------------------------- reentry-duplicates

#[test]
fn reentry_duplicates_fires_on_a_create_step_when_reentry_is_allowed() {
    let create = || {
        s(
            "o",
            "create_opportunity",
            json!({"pipelineId": "p", "pipelineStageId": "s"}),
        )
    };
    // Re-entry on and duplicate opportunities allowed: each entry adds one.
    fires_on(
        &body_with(
            chain(vec![tag("a"), create()]),
            form_trigger(),
            json!({"allowMultiple": true, "allowMultipleOpportunity": true}),
        ),
        "reentry-duplicates",
        Some("o"),
    );
    // A contact created on every entry.
    fires_on(
        &body_with(
            chain(vec![
                tag("a"),
                s("c", "create_contact", json!({"email": "{{contact.email}}"})),
            ]),
            form_trigger(),
            json!({"allowMultiple": true}),
        ),
        "reentry-duplicates",
        Some("c"),
    );
    // Or the location allows duplicate opportunities (a bundle's location settings).
    let in_bundle = |allowed: bool| {
        json!({"workflows": [{"_id": "w1", "name": "Inquiry", "status": "published", "allowMultiple": true,
            "workflowData": {"templates": [
                {"id": "a", "type": "add_contact_tag", "next": "o", "attributes": {"tags": ["x"]}},
                {"id": "o", "type": "create_opportunity", "attributes": {"pipelineId": "p", "pipelineStageId": "s"}}]},
            "triggers": [{"type": "form_submission", "conditions": [{"field": "formId", "value": "f"}]}]}],
            "locationSettings": {"allowDuplicateOpportunity": allowed}})
    };
    fires_on(&in_bundle(true), "reentry-duplicates", Some("o"));
    silent(&in_bundle(false), "reentry-duplicates");
    // Near misses: re-entry off; and duplicate opportunities not allowed (HighLevel's default,
    // said or not), where the step updates the contact's open opportunity in the pipeline.
    silent(&body(chain(vec![tag("a"), create()])), "reentry-duplicates");
    for settings in [
        json!({"allowMultiple": true}),
        json!({"allowMultiple": true, "allowMultipleOpportunity": false}),
    ] {
        silent(
            &body_with(chain(vec![tag("a"), create()]), form_trigger(), settings),
            "reentry-duplicates",
        );
    }
}

// ---------------------------------------------------------------- opportunity-misconfigured

#[test]
fn opportunity_misconfigured_fires_without_stage_or_identified_record() {
    fires_on(
        &body(chain(vec![
            tag("a"),
            s("o", "create_opportunity", json!({"pipelineId": "p"})),
        ])),
        "opportunity-misconfigured",
        Some("o"),
    );
    fires_on(
        &body(chain(vec![
            tag("a"),
            s(
                "u",
                "internal_update_opportunity",
                json!({"pipelineId": "p", "stageId": "s"}),
            ),
        ])),
        "opportunity-misconfigured",
        Some("u"),
    );
    silent(
        &body(chain(vec![
            s("f", "find_opportunity", json!({})),
            s(
                "u",
                "internal_update_opportunity",
                json!({"pipelineId": "p", "stageId": "s"}),
            ),
        ])),
        "opportunity-misconfigured",
    );
    silent(
        &body(chain(vec![s(
            "o",
            "create_opportunity",
            json!({"pipelineId": "p", "pipelineStageId": "s"}),
        )])),
        "opportunity-misconfigured",
    );
}

#[test]
fn opportunity_misconfigured_reads_the_builder_s_input_list() {
    // The builder's internal opportunity actions keep pipeline and stage in
    // `__customInputFields__` (the find step writes the operator in `value`, the id in
    // `secondValue`).
    let create = |inputs: Value| {
        body(chain(vec![s(
            "o",
            "internal_create_opportunity",
            json!({"__customInputFields__": inputs}),
        )]))
    };
    silent(
        &create(json!([
            {"filterField": "pipeline_id", "value": "eq", "secondValue": "p1"},
            {"filterField": "pipelineStageId", "value": "st1"}
        ])),
        "opportunity-misconfigured",
    );
    fires_on(
        &create(
            json!([{"filterField": "pipeline_id", "value": "eq", "secondValue": "p1"},
                       {"filterField": "pipelineStageId", "value": " "}]),
        ),
        "opportunity-misconfigured",
        Some("o"),
    );
}

// ---------------------------------------------------------------- field-set-twice

#[test]
fn field_set_twice_fires_on_the_second_write_of_the_same_field() {
    let set = |id: &str, f: &str| {
        s(
            id,
            "update_contact_field",
            json!({"fieldId": f, "value": "x"}),
        )
    };
    fires_on(
        &body(chain(vec![set("a", "cf_stage"), set("b", "cf_stage")])),
        "field-set-twice",
        Some("b"),
    );
    silent(
        &body(chain(vec![set("a", "cf_stage"), set("b", "cf_source")])),
        "field-set-twice",
    );
    silent(
        &body(chain(vec![
            set("a", "cf_stage"),
            wait_days("w", 1),
            set("b", "cf_stage"),
        ])),
        "field-set-twice",
    );
}

// ---------------------------------------------------------------- tag-from-merge-field

#[test]
fn tag_from_merge_field_fires_on_a_templated_tag() {
    fires_on(
        &body(chain(vec![s(
            "t",
            "add_contact_tag",
            json!({"tags": ["src-{{contact.source}}"]}),
        )])),
        "tag-from-merge-field",
        Some("t"),
    );
    silent(
        &body(chain(vec![s(
            "t",
            "add_contact_tag",
            json!({"tags": ["website-lead"]}),
        )])),
        "tag-from-merge-field",
    );
}

// ---------------------------------------------------------------- unresolved-placeholder

#[test]
fn unresolved_placeholder_fires_on_literal_placeholders_and_undefined_values() {
    for text in [
        "Hi [INSERT NAME], this is Acme. Reply STOP",
        "This is Acme: TODO add offer. Reply STOP",
    ] {
        fires_on(
            &body(chain(vec![sms("a", text)])),
            "unresolved-placeholder",
            Some("a"),
        );
    }
    silent(
        &body(chain(vec![sms(
            "a",
            "This is Acme: your to-do list is ready. Reply STOP",
        )])),
        "unresolved-placeholder",
    );
    let w = |v: &str| {
        wf(
            "w1",
            chain(vec![sms(
                "a",
                &format!("This is Acme: {{{{custom_values.{v}}}}} Reply STOP"),
            )]),
            form_trigger(),
        )
    };
    let lists = json!({"customValues": [{"key": "booking_link"}]});
    fires_on(
        &bundle(vec![w("promo_code")], lists.clone()),
        "unresolved-placeholder",
        Some("a"),
    );
    silent(
        &bundle(vec![w("booking_link")], lists),
        "unresolved-placeholder",
    );
    // Without the account's list an unknown custom value is not guessed at.
    silent(
        &bundle(vec![w("promo_code")], json!({"tags": []})),
        "unresolved-placeholder",
    );
}

// ---------------------------------------------------------------- create-contact-without-find

#[test]
fn create_contact_without_find_fires_unless_a_find_comes_first() {
    fires_on(
        &body(chain(vec![s("c", "create_contact", json!({}))])),
        "create-contact-without-find",
        Some("c"),
    );
    silent(
        &body(chain(vec![
            s("f", "find_contact", json!({})),
            s("c", "create_contact", json!({})),
        ])),
        "create-contact-without-find",
    );
}

// ---------------------------------------------------------------- phone-not-e164

#[test]
fn phone_not_e164_fires_on_a_literal_local_number() {
    let set = |v: &str| {
        body(chain(vec![s(
            "p",
            "update_contact_field",
            json!({"fieldId": "phone", "value": v}),
        )]))
    };
    fires_on(&set("(555) 123-4567"), "phone-not-e164", Some("p"));
    silent(&set("+15551234567"), "phone-not-e164");
    silent(&set("{{contact.phone}}"), "phone-not-e164");
}

// ---------------------------------------------------------------- custom-field-type-mismatch

#[test]
fn custom_field_type_mismatch_fires_on_text_written_to_a_number_field() {
    assert_eq!(
        places(&write("cf_age", json!("forty")), MISMATCH),
        vec![place("w1", Some("u"))]
    );
    // By its key, with or without the contact. prefix.
    assert_eq!(
        hits(&run(&write("contact.age", json!("n/a"))), MISMATCH).len(),
        1
    );
    assert_eq!(hits(&run(&write("AGE", json!("n/a"))), MISMATCH).len(), 1);
}

#[test]
fn custom_field_type_mismatch_reads_a_padded_merge_field_name_as_the_fields_key() {
    for field in [
        " cf_age ",
        "{{ contact.age }}",
        "{{cf_age}}",
        " {{ Contact.AGE }} ",
    ] {
        assert_eq!(
            places(&write(field, json!("forty")), MISMATCH),
            vec![place("w1", Some("u"))],
            "{field:?}"
        );
    }
}

#[test]
fn custom_field_type_mismatch_accepts_values_of_the_fields_type() {
    for (field, value) in [
        ("cf_age", json!("42")),
        ("cf_age", json!(" -3.5 ")),
        ("cf_age", json!(42)),
        ("cf_age", json!("")),
        ("cf_age", json!("{{contact.score}}")),
        ("cf_budget", json!("$1,250.00")),
        ("cf_budget", json!("USD 99")),
        ("cf_due", json!("2026-12-31")),
        ("cf_due", json!("2026-12-31T09:00:00Z")),
        ("cf_due", json!("12/31/2026")),
        ("cf_due", json!("31.12.26")),
        ("cf_due", json!("Dec 31, 2026")),
        ("cf_due", json!("{{right_now.date}}")),
        ("cf_optin", json!("Yes")),
        ("cf_optin", json!(true)),
        ("cf_optin", json!("Newsletter")),
        ("cf_channels", json!("email, SMS")),
        ("cf_channels", json!(["Email"])),
        ("cf_tier", json!("gold")),
        ("cf_size", json!("Large")),
        ("cf_color", json!("Teal")),
        ("cf_note", json!("anything")),
        ("cf_unknown", json!("anything")),
    ] {
        silent(&write(field, value), MISMATCH);
    }
}

#[test]
fn custom_field_type_mismatch_fires_on_each_type_it_can_judge() {
    for (field, value) in [
        ("cf_age", json!("1,000")),
        ("cf_age", json!(true)),
        ("cf_budget", json!("about a grand")),
        ("cf_due", json!("next week")),
        ("cf_due", json!("31/12")),
        ("cf_channels", json!("Fax")),
        ("cf_channels", json!(["Email", "Fax"])),
        ("cf_tier", json!("Platinum")),
        ("cf_size", json!("Medium")),
        ("cf_age", json!("{{contact.email}}")),
        ("cf_due", json!("{{ contact.first_name | default: \"x\" }}")),
    ] {
        let r = run(&write(field, value.clone()));
        assert_eq!(
            hits(&r, MISMATCH),
            vec![Some("u".to_owned())],
            "{field} = {value}"
        );
    }
}

#[test]
fn custom_field_type_mismatch_ignores_disabled_steps_and_mixed_merge_text() {
    silent(&write("cf_age", json!("{{contact.email}} 5")), MISMATCH);
    let mut v = write("cf_age", json!("forty"));
    v["workflows"][0]["workflowData"]["templates"][0]["advanceCanvasMeta"] =
        json!({"isDisabled": true});
    silent(&v, MISMATCH);
}

#[test]
fn custom_field_types_are_read_from_the_bundles_custom_fields() {
    let bytes = serde_json::to_vec(&write("cf_age", json!("1"))).unwrap();
    let Ok(Input::Bundle(b)) = parse(&bytes) else {
        panic!("a bundle")
    };
    let types = b.account.custom_field_types.expect("types");
    let type_of = |k: &str| types.get(k).map(|t| t.data_type.as_str());
    assert_eq!(type_of("cf_age"), Some("NUMERICAL"));
    assert_eq!(type_of("age"), Some("NUMERICAL"));
    assert_eq!(type_of("due_date"), Some("DATE"));
    let tier = &types["tier"].options;
    assert!(tier.contains("gold") && tier.contains("silver"));
    assert!(types["color"].options.is_empty());
    assert!(types["size"].options.contains("large"));
}

#[test]
fn custom_field_type_mismatch_is_skipped_without_field_types() {
    let untyped = bundle(
        vec![plain_wf(
            "w1",
            chain(vec![s(
                "u",
                "update_contact_field",
                json!({"fieldId": "cf_age", "value": "forty"}),
            )]),
            form_trigger(),
        )],
        json!({"customFields": [{"id": "cf_age", "fieldKey": "contact.age"}]}),
    );
    assert!(skipped_reason(&untyped, MISMATCH).is_some_and(|r| r.contains("dataType")));
    assert!(hits(&run(&untyped), MISMATCH).is_empty());
    assert!(skipped_reason(&a_single_workflow(), MISMATCH).is_some());
}

// ---------------------------------------------------------------- branch-on-unknown-field

/// A workflow whose if/else `c` compares `field` (HighLevel's contact_detail condition), with
/// `before` ahead of it.
fn branches_on(field: &str, before: Vec<Value>) -> Value {
    let mut steps = before;
    let parent = steps
        .last()
        .and_then(|s| s["id"].as_str())
        .unwrap_or_default()
        .to_owned();
    steps.extend(super::if_else_branches(
        "c",
        "Qualified?",
        json!([{"conditionType": "contact_detail", "conditionSubType": field,
                "conditionOperator": ">=", "conditionValue": "70"}]),
        &parent,
        "y1",
        "",
    ));
    steps.push(
        json!({"id": "y1", "type": "add_contact_tag", "name": "Tag hot", "parentKey": "c_yes",
                      "attributes": {"tags": ["hot"]}}),
    );
    wf("w1", chain(steps), form_trigger())
}

#[test]
fn branch_on_unknown_field_fires_on_a_field_the_account_lacks_and_nothing_sets() {
    let fields = json!({"customFields": [{"id": "cf_budget", "fieldKey": "contact.budget"}]});
    let v = bundle(
        vec![branches_on("contact.lead_score", vec![tag("a")])],
        fields.clone(),
    );
    assert_eq!(
        places(&v, "branch-on-unknown-field"),
        vec![place("w1", Some("c"))]
    );
    let r = run(&v);
    let issue = r
        .issues
        .iter()
        .find(|i| i.rule_id == "branch-on-unknown-field")
        .expect("the issue");
    assert_eq!(issue.severity, crate::Severity::Medium);
    assert!(issue.message.contains("None branch"), "{}", issue.message);
    // Near misses: a listed field (by key or id), a standard field, a field a step sets.
    for v in [
        bundle(
            vec![branches_on("contact.budget", vec![tag("a")])],
            fields.clone(),
        ),
        bundle(
            vec![branches_on("cf_budget", vec![tag("a")])],
            fields.clone(),
        ),
        bundle(
            vec![branches_on("contact.email", vec![tag("a")])],
            fields.clone(),
        ),
        bundle(
            vec![branches_on(
                "contact.lead_score",
                vec![s(
                    "u",
                    "update_contact_field",
                    json!({"fields": [{"field": "contact.lead_score", "value": "80"}]}),
                )],
            )],
            fields.clone(),
        ),
    ] {
        silent(&v, "branch-on-unknown-field");
    }
    // Without a bundle it is skipped, and a bundle without customFields says nothing.
    assert!(skipped_reason(
        &branches_on("contact.lead_score", vec![tag("a")]),
        "branch-on-unknown-field"
    )
    .is_some());
    silent(
        &bundle(
            vec![branches_on("contact.lead_score", vec![tag("a")])],
            json!({"tags": [{"name": "hot"}]}),
        ),
        "branch-on-unknown-field",
    );
}

#[test]
fn branch_on_unknown_field_reads_field_names_as_builders_spell_them() {
    let fields = json!({"customFields": [{"id": "cf_score", "fieldKey": "contact.Lead Score"}]});
    // Standard fields in any spelling, the DND flags, and a listed field spelled otherwise.
    for field in [
        "firstName",
        "contact.dateOfBirth",
        "assignedTo",
        "Postal Code",
        "dnd_sms",
        "email_dnd",
        "contact.phone_number",
        "contact.lead_score",
    ] {
        silent(
            &bundle(vec![branches_on(field, vec![tag("a")])], fields.clone()),
            "branch-on-unknown-field",
        );
    }
    // A step writing a longer field of the same stem does not set this one (whole names).
    fires_on(
        &bundle(
            vec![branches_on(
                "contact.score",
                vec![s(
                    "u",
                    "update_contact_field",
                    json!({"fields": [{"field": "contact.score_v2", "value": "80"}]}),
                )],
            )],
            fields,
        ),
        "branch-on-unknown-field",
        Some("c"),
    );
}

// ---------------------------------------------------------------- field updates listing several fields

/// HighLevel's update-field step as the builder saves it: `fields: [{field, value, title, type}]`.
fn update_fields(id: &str, writes: &[(&str, Value)]) -> Value {
    let fields: Vec<Value> = writes
        .iter()
        .map(|(f, v)| json!({"field": f, "value": v, "title": f, "type": "string", "date": ""}))
        .collect();
    json!({"id": id, "type": "update_contact_field", "name": format!("Update fields {id}"),
           "attributes": {"type": "update_contact_field", "actionType": "update_field_data",
                          "fields": fields}})
}

#[test]
fn field_set_twice_reads_every_entry_of_both_updates() {
    let first = update_fields(
        "a",
        &[("source", json!("Webinar")), ("cf_stage", json!("lead"))],
    );
    // The second update writes the stage again among other fields.
    fires_on(
        &body(chain(vec![
            first.clone(),
            update_fields(
                "b",
                &[("city", json!("Austin")), ("cf_stage", json!("mql"))],
            ),
        ])),
        "field-set-twice",
        Some("b"),
    );
    // One entry after several, and several after one.
    fires_on(
        &body(chain(vec![
            first.clone(),
            update_fields("b", &[("CF_STAGE", json!("mql"))]),
        ])),
        "field-set-twice",
        Some("b"),
    );
    fires_on(
        &body(chain(vec![
            update_fields("a", &[("cf_stage", json!("lead"))]),
            update_fields("b", &[("city", json!("Austin")), ("cf_stage", json!("x"))]),
        ])),
        "field-set-twice",
        Some("b"),
    );
    // Near misses: other fields, a wait between, one step writing several fields once each.
    silent(
        &body(chain(vec![
            first.clone(),
            update_fields("b", &[("city", json!("Austin")), ("state", json!("TX"))]),
        ])),
        "field-set-twice",
    );
    silent(
        &body(chain(vec![
            first.clone(),
            super::wait_days("w", 1),
            update_fields("b", &[("cf_stage", json!("mql"))]),
        ])),
        "field-set-twice",
    );
    silent(&body(chain(vec![first])), "field-set-twice");
}

#[test]
fn phone_not_e164_reads_every_entry_of_an_update() {
    let with = |phone: &str| {
        body(chain(vec![update_fields(
            "p",
            &[
                ("first_name", json!("Dana")),
                ("phone", json!(phone)),
                ("cf_notes", json!("Called 555 123 4567 twice")),
            ],
        )]))
    };
    let r = fires_on(&with("(512) 555-0100"), "phone-not-e164", Some("p"));
    let issue = r
        .issues
        .iter()
        .find(|i| i.rule_id == "phone-not-e164")
        .unwrap();
    assert!(
        issue.message.contains("(512) 555-0100"),
        "{}",
        issue.message
    );
    silent(&with("+15125550100"), "phone-not-e164");
    silent(&with("{{contact.phone}}"), "phone-not-e164");
}

#[test]
fn custom_field_type_mismatch_reads_every_entry_of_an_update() {
    let with = |age: Value, due: Value| {
        bundle(
            vec![plain_wf(
                "w1",
                chain(vec![update_fields(
                    "u",
                    &[
                        ("first_name", json!("Dana")),
                        ("cf_age", age),
                        ("cf_due", due),
                    ],
                )]),
                form_trigger(),
            )],
            typed_fields(),
        )
    };
    assert_eq!(
        places(&with(json!("42"), json!("soon")), MISMATCH),
        vec![place("w1", Some("u"))]
    );
    // Two misfits in one step: one finding, saying there is another.
    let r = run(&with(json!("forty"), json!("soon")));
    let issue = r.issues.iter().find(|i| i.rule_id == MISMATCH).unwrap();
    assert_eq!(issue.count, 1);
    assert!(
        issue.message.contains("and 1 more field"),
        "{}",
        issue.message
    );
    silent(&with(json!("42"), json!("2026-12-31")), MISMATCH);
}

#[test]
fn an_update_writing_ai_output_among_other_fields_is_judged_by_the_ai_rules() {
    let write = update_fields(
        "f",
        &[
            ("cf_last_touch", json!("{{right_now.date}}")),
            ("cf_intent", json!("{{chatgpt.response}}")),
        ],
    );
    fires_on(
        &body(chain(vec![
            super::ai("a", json!({"prompt": "Classify."})),
            write,
        ])),
        "ai-output-to-field-unvalidated",
        Some("f"),
    );
    silent(
        &body(chain(vec![
            super::ai("a", json!({"prompt": "Classify."})),
            update_fields("f", &[("cf_last_touch", json!("{{right_now.date}}"))]),
        ])),
        "ai-output-to-field-unvalidated",
    );
}

#[test]
fn a_retry_counter_among_other_fields_counts_attempts() {
    let steps = |counter: Value| {
        chain(vec![
            s("t", "add_contact_tag", json!({"tags": ["x"]})),
            super::hook("h", super::crm(json!({}))),
            counter,
            super::wait_days("w", 1),
            s("g", "goto", json!({"targetNodeId": "h"})),
        ])
    };
    silent(
        &body(steps(update_fields(
            "c",
            &[
                ("cf_status", json!("retrying")),
                ("cf_sync_attempts", json!("{{contact.cf_sync_attempts}}")),
            ],
        ))),
        "retry-loop-without-counter",
    );
    fires_on(
        &body(steps(update_fields(
            "c",
            &[("cf_status", json!("retrying")), ("cf_note", json!("x"))],
        ))),
        "retry-loop-without-counter",
        Some("h"),
    );
}
