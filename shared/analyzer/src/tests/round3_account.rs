//! Issue 11, account-level (A)/(X) rules of the third batch: custom-field types, alerts to one user, refunds, pipeline-stage loops, tag chains: each fires on the right step, has a near miss, and needs-data rules are
//! skipped with their reason when the data is absent.

use serde_json::{json, Value};

use super::{body_with, chain, form_trigger, hits, run, s, silent};
use crate::{parse, Input};

fn sms(id: &str, text: &str) -> Value {
    s(id, "sms", json!({"body": text}))
}
fn bundle(workflows: Vec<Value>, lists: Value) -> Value {
    let mut b = json!({"workflows": workflows});
    if let (Some(b), Some(l)) = (b.as_object_mut(), lists.as_object()) {
        for (k, v) in l {
            b.insert(k.clone(), v.clone());
        }
    }
    b
}
fn wf(id: &str, steps: Vec<Value>, triggers: Value) -> Value {
    json!({"_id": id, "name": format!("Workflow {id}"), "status": "published", "stopOnResponse": true,
           "workflowData": {"templates": steps}, "triggers": triggers})
}
fn trigger(kind: &str, conditions: Value) -> Value {
    json!([{"id": "t", "name": kind, "type": kind, "active": true, "conditions": conditions}])
}
fn skipped_reason(v: &Value, rule: &str) -> Option<String> {
    run(v)
        .skipped_rules
        .into_iter()
        .find(|k| k.rule_id == rule)
        .map(|k| k.reason)
}
/// The (workflow id, step id) of a rule's findings.
fn places(v: &Value, rule: &str) -> Vec<(Option<String>, Option<String>)> {
    run(v)
        .issues
        .into_iter()
        .filter(|i| i.rule_id == rule)
        .map(|i| (i.workflow_id, i.step_id))
        .collect()
}
fn place(w: &str, step: Option<&str>) -> (Option<String>, Option<String>) {
    (Some(w.to_owned()), step.map(str::to_owned))
}
fn a_single_workflow() -> Value {
    body_with(
        chain(vec![sms("m", "This is Acme. Reply STOP")]),
        form_trigger(),
        json!({}),
    )
}

// ---------------------------------------------------------------- custom-field-type-mismatch

const MISMATCH: &str = "custom-field-type-mismatch";

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
        vec![wf(
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
        vec![wf(
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

// ---------------------------------------------------------------- alerts-to-one-user

const ONE_USER: &str = "alerts-to-one-user";

fn alert(id: &str, users: Value) -> Value {
    s(
        id,
        "internal_notification",
        json!({"userIds": users, "subject": "Failure", "body": "A webhook failed"}),
    )
}
fn two_active_users() -> Value {
    json!({"users": [{"id": "u1", "active": true}, {"id": "u2", "active": true},
                     {"id": "u3", "active": false}]})
}
fn alerting(third: Value, users: Value) -> Value {
    bundle(
        vec![
            wf(
                "w1",
                chain(vec![
                    sms("m", "This is Acme. Reply STOP"),
                    alert("n1", json!(["u1"])),
                ]),
                form_trigger(),
            ),
            wf(
                "w2",
                chain(vec![
                    s(
                        "n2",
                        "internal_notification",
                        json!({"userId": "U1", "body": "x"}),
                    ),
                    third,
                ]),
                form_trigger(),
            ),
        ],
        users,
    )
}

#[test]
fn alerts_to_one_user_fires_once_on_the_first_alert() {
    assert_eq!(
        places(
            &alerting(alert("n3", json!(["u1"])), two_active_users()),
            ONE_USER
        ),
        vec![place("w1", Some("n1"))]
    );
}

#[test]
fn alerts_to_one_user_stays_silent_when_another_user_or_inbox_is_alerted() {
    silent(
        &alerting(alert("n3", json!(["u2"])), two_active_users()),
        ONE_USER,
    );
    silent(
        &alerting(alert("n3", json!(["u1", "u2"])), two_active_users()),
        ONE_USER,
    );
    silent(
        &alerting(
            s(
                "n3",
                "internal_notification",
                json!({"userId": "u1", "emails": "ops@acme.com"}),
            ),
            two_active_users(),
        ),
        ONE_USER,
    );
    // Only two alerts name someone.
    silent(
        &alerting(sms("n3", "This is Acme. Reply STOP"), two_active_users()),
        ONE_USER,
    );
}

#[test]
fn alerts_to_one_user_stays_silent_with_one_active_user() {
    let one = json!({"users": [{"id": "u1", "active": true}, {"id": "u2", "active": false}]});
    silent(&alerting(alert("n3", json!(["u1"])), one), ONE_USER);
}

#[test]
fn alerts_to_one_user_is_skipped_without_a_users_list() {
    let v = alerting(alert("n3", json!(["u1"])), json!({"tags": []}));
    assert!(skipped_reason(&v, ONE_USER).is_some_and(|r| r.contains("users")));
    assert!(hits(&run(&v), ONE_USER).is_empty());
    assert!(skipped_reason(&a_single_workflow(), ONE_USER).is_some());
}

// ---------------------------------------------------------------- refund-removes-nothing

const REFUND: &str = "refund-removes-nothing";

fn purchase_workflow() -> Value {
    wf(
        "buy",
        chain(vec![sms(
            "m",
            "This is Acme: thanks for your order! Reply STOP",
        )]),
        trigger("payment_received", json!([])),
    )
}
fn refund_workflow(kind: &str, steps: Vec<Value>) -> Value {
    wf("refund", chain(steps), trigger(kind, json!([])))
}

#[test]
fn refund_removes_nothing_fires_on_the_refund_workflow() {
    for kind in [
        "refund",
        "payment_refunded",
        "subscription_cancelled",
        "order_cancelled",
    ] {
        let v = bundle(
            vec![
                purchase_workflow(),
                refund_workflow(
                    kind,
                    vec![sms("r", "This is Acme: your refund is on its way.")],
                ),
            ],
            json!({}),
        );
        assert_eq!(places(&v, REFUND), vec![place("refund", None)], "{kind}");
    }
}

#[test]
fn refund_removes_nothing_stays_silent_when_the_refund_removes_the_contact() {
    for remover in [
        s("x", "remove_from_workflow", json!({"workflowId": "buy"})),
        s("x", "remove_contact_tag", json!({"tags": ["customer"]})),
        s("x", "remove_from_all_workflows", json!({})),
    ] {
        let v = bundle(
            vec![
                purchase_workflow(),
                refund_workflow("refund", vec![remover]),
            ],
            json!({}),
        );
        silent(&v, REFUND);
    }
    // No purchase workflow in the bundle: nothing to leave.
    let lead = wf(
        "lead",
        chain(vec![sms("m", "This is Acme. Reply STOP")]),
        form_trigger(),
    );
    let v = bundle(
        vec![lead, refund_workflow("refund", vec![sms("r", "Refunded.")])],
        json!({}),
    );
    silent(&v, REFUND);
}

#[test]
fn refund_removes_nothing_ignores_a_draft_refund_workflow() {
    let mut refund = refund_workflow("refund", vec![sms("r", "Refunded.")]);
    refund["status"] = json!("draft");
    silent(
        &bundle(vec![purchase_workflow(), refund], json!({})),
        REFUND,
    );
}

#[test]
fn refund_removes_nothing_counts_a_tag_another_workflow_exits_on() {
    let refund = |extra: Vec<Value>| {
        let mut steps = vec![
            s("t", "add_contact_tag", json!({"tags": ["Refunded"]})),
            sms("r", "This is Acme: your refund is on its way."),
        ];
        steps.extend(extra);
        refund_workflow("refund", steps)
    };
    let buying = |id: &str, exit: Option<Value>| {
        let mut steps = vec![sms("m", "This is Acme: thanks for your order! Reply STOP")];
        steps.extend(exit);
        wf(id, chain(steps), trigger("payment_received", json!([])))
    };
    let goal = |tag: &str| {
        s(
            "g",
            "workflow_goal",
            json!({"goal": "tag_added", "tags": [tag]}),
        )
    };
    // No workflow exits on the tag: adding it removes the contact from nothing.
    let v = bundle(vec![buying("buy", None), refund(vec![])], json!({}));
    assert_eq!(places(&v, REFUND), vec![place("refund", None)]);
    // A goal on the tag (in either form), or an if/else checking it, ends the purchase workflow.
    for exit in [
        goal("refunded"),
        s(
            "g",
            "workflow_goal",
            json!({"goal": {"type": "contact_tag", "tag": " REFUNDED "}}),
        ),
        s(
            "g",
            "if_else",
            json!({"conditions": [{"field": "tags", "operator": "includes", "value": ["refunded"]}]}),
        ),
    ] {
        let v = bundle(
            vec![buying("buy", Some(exit.clone())), refund(vec![])],
            json!({}),
        );
        silent(&v, REFUND);
    }
    // Near misses: a goal on another tag, a switched-off goal, a goal of a draft workflow, and the
    // refund workflow checking its own tag.
    let mut off = goal("refunded");
    off["disabled"] = json!(true);
    let mut draft = buying("old", Some(goal("refunded")));
    draft["status"] = json!("draft");
    for v in [
        bundle(
            vec![buying("buy", Some(goal("vip"))), refund(vec![])],
            json!({}),
        ),
        bundle(vec![buying("buy", Some(off)), refund(vec![])], json!({})),
        bundle(vec![buying("buy", None), draft, refund(vec![])], json!({})),
        bundle(
            vec![
                buying("buy", None),
                refund(vec![s(
                    "c",
                    "if_else",
                    json!({"conditions": [{"field": "tags", "value": "refunded"}]}),
                )]),
            ],
            json!({}),
        ),
    ] {
        assert_eq!(places(&v, REFUND), vec![place("refund", None)]);
    }
}

#[test]
fn refund_removes_nothing_is_skipped_for_a_single_workflow() {
    let single = body_with(
        chain(vec![sms("r", "Refunded.")]),
        trigger("refund", json!([])),
        json!({}),
    );
    assert!(skipped_reason(&single, REFUND).is_some_and(|r| r.contains("several workflows")));
}

// ---------------------------------------------------------------- pipeline-stage-loop

const STAGE_LOOP: &str = "pipeline-stage-loop";

fn stage_trigger(stage: Option<&str>) -> Value {
    match stage {
        Some(st) => trigger(
            "pipeline_stage_updated",
            json!([{"field": "pipelineStageId", "operator": "==", "value": st}]),
        ),
        None => trigger(
            "pipeline_stage_updated",
            json!([{"field": "pipelineId", "operator": "==", "value": "p1"}]),
        ),
    }
}
fn move_to(id: &str, stage: &str) -> Value {
    s(
        id,
        "internal_update_opportunity",
        json!({"pipelineId": "p1", "pipelineStageId": stage}),
    )
}

#[test]
fn pipeline_stage_loop_fires_once_on_a_stage_setting_step() {
    let v = bundle(
        vec![
            wf(
                "a",
                chain(vec![move_to("a1", "won")]),
                stage_trigger(Some("new")),
            ),
            wf(
                "b",
                chain(vec![move_to("b1", "NEW")]),
                stage_trigger(Some("won")),
            ),
        ],
        json!({}),
    );
    assert_eq!(places(&v, STAGE_LOOP), vec![place("a", Some("a1"))]);
}

#[test]
fn pipeline_stage_loop_counts_a_trigger_without_a_stage_filter() {
    let v = bundle(
        vec![
            wf("a", chain(vec![move_to("a1", "won")]), stage_trigger(None)),
            wf(
                "b",
                chain(vec![move_to("b1", "new")]),
                stage_trigger(Some("won")),
            ),
            wf(
                "c",
                chain(vec![sms("m", "This is Acme. Reply STOP")]),
                form_trigger(),
            ),
        ],
        json!({}),
    );
    assert_eq!(places(&v, STAGE_LOOP), vec![place("a", Some("a1"))]);
}

#[test]
fn pipeline_stage_loop_stays_silent_when_the_chain_ends() {
    let v = bundle(
        vec![
            wf(
                "a",
                chain(vec![move_to("a1", "won")]),
                stage_trigger(Some("new")),
            ),
            wf(
                "b",
                chain(vec![move_to("b1", "lost")]),
                stage_trigger(Some("won")),
            ),
        ],
        json!({}),
    );
    silent(&v, STAGE_LOOP);
    // A workflow moving into its own stage loops only when re-entry is allowed.
    let own = |extra: Value| {
        let mut w = wf(
            "a",
            chain(vec![move_to("a1", "won")]),
            stage_trigger(Some("won")),
        );
        if let (Some(w), Some(extra)) = (w.as_object_mut(), extra.as_object()) {
            w.extend(extra.clone());
        }
        let other = wf("z", chain(vec![sms("m", "Hi. Reply STOP")]), form_trigger());
        bundle(vec![w, other], json!({}))
    };
    silent(&own(json!({})), STAGE_LOOP);
    assert_eq!(
        places(&own(json!({"allowMultiple": true})), STAGE_LOOP),
        vec![place("a", Some("a1"))]
    );
}

#[test]
fn pipeline_stage_loop_stays_linear_on_a_status_trigger_with_many_stages() {
    // 500 statuses x 500 stages: one key per pair would be 250,000 keys from one trigger. Past
    // the cap the trigger starts on its statuses in any stage, and the loop is still found.
    let statuses: Vec<String> = (0..500)
        .map(|i| format!("s{i}"))
        .chain(["won".into()])
        .collect();
    let stages: Vec<String> = (0..500).map(|i| format!("st{i}")).collect();
    let status_trigger = trigger(
        "opportunity_status_changed",
        json!([{"field": "status", "operator": "in", "value": statuses},
               {"field": "pipelineStageId", "operator": "in", "value": stages}]),
    );
    let mut win = move_to("b1", "st0");
    win["attributes"]["status"] = json!("won");
    let v = bundle(
        vec![
            wf("a", chain(vec![move_to("a1", "new")]), status_trigger),
            wf("b", chain(vec![win]), stage_trigger(Some("new"))),
        ],
        json!({}),
    );
    assert_eq!(places(&v, STAGE_LOOP), vec![place("a", Some("a1"))]);
}

#[test]
fn pipeline_stage_loop_is_skipped_for_a_single_workflow() {
    let single = body_with(
        chain(vec![move_to("a1", "won")]),
        stage_trigger(Some("won")),
        json!({"allowMultiple": true}),
    );
    assert!(skipped_reason(&single, STAGE_LOOP).is_some_and(|r| r.contains("several workflows")));
}

// ---------------------------------------------------------------- tag-chain-double-conversation

const TAG_CHAIN: &str = "tag-chain-double-conversation";

fn tag_trigger(tag: &str) -> Value {
    trigger(
        "contact_tag",
        json!([{"field": "tag", "operator": "added", "value": tag}]),
    )
}
fn tagging(steps: Vec<Value>) -> Value {
    bundle(
        vec![
            wf("a", chain(steps), form_trigger()),
            wf(
                "b",
                chain(vec![sms("b1", "This is Acme: welcome, VIP! Reply STOP")]),
                tag_trigger("VIP"),
            ),
        ],
        json!({}),
    )
}

#[test]
fn tag_chain_double_conversation_fires_on_the_tag_added_before_messages() {
    let v = tagging(vec![
        sms("a1", "This is Acme: hi! Reply STOP"),
        s("tag", "add_contact_tag", json!({"tags": ["vip"]})),
        s(
            "w",
            "wait",
            json!({"type": "time", "startAfter": {"type": "days", "value": 1}}),
        ),
        sms("a2", "This is Acme: still there?"),
    ]);
    assert_eq!(places(&v, TAG_CHAIN), vec![place("a", Some("tag"))]);
}

#[test]
fn tag_chain_double_conversation_stays_silent_for_a_hand_off() {
    // The tag is the last step: workflow A hands the contact over.
    silent(
        &tagging(vec![
            sms("a1", "This is Acme: hi! Reply STOP"),
            s("tag", "add_contact_tag", json!({"tags": ["vip"]})),
        ]),
        TAG_CHAIN,
    );
    // Another tag, or a tag whose workflow sends nothing.
    silent(
        &tagging(vec![
            s("tag", "add_contact_tag", json!({"tags": ["gold"]})),
            sms("a1", "This is Acme: hi! Reply STOP"),
        ]),
        TAG_CHAIN,
    );
    let mut v = tagging(vec![
        s("tag", "add_contact_tag", json!({"tags": ["vip"]})),
        sms("a1", "This is Acme: hi! Reply STOP"),
    ]);
    v["workflows"][1]["status"] = json!("draft");
    silent(&v, TAG_CHAIN);
}

#[test]
fn tag_chain_double_conversation_ignores_tag_removals_and_draft_taggers() {
    let steps = || {
        vec![
            s("tag", "add_contact_tag", json!({"tags": ["vip"]})),
            sms("a1", "This is Acme: hi! Reply STOP"),
        ]
    };
    // B starts when the tag is removed, by its field or by its operator: adding it starts nothing.
    for condition in [
        json!({"field": "tagsRemoved", "operator": "==", "value": "vip"}),
        json!({"field": "tag", "operator": "removed", "value": "vip"}),
    ] {
        let mut v = tagging(steps());
        v["workflows"][1]["triggers"][0]["conditions"] = json!([condition]);
        silent(&v, TAG_CHAIN);
    }
    // A is a draft: it adds no tag.
    let mut v = tagging(steps());
    v["workflows"][0]["status"] = json!("draft");
    silent(&v, TAG_CHAIN);
    // Published, on an added tag: fires.
    assert_eq!(
        places(&tagging(steps()), TAG_CHAIN),
        vec![place("a", Some("tag"))]
    );
}

#[test]
fn tag_chain_double_conversation_ignores_a_workflow_tagging_itself() {
    let v = bundle(
        vec![
            wf(
                "a",
                chain(vec![
                    s("tag", "add_contact_tag", json!({"tags": ["vip"]})),
                    sms("a1", "This is Acme: hi! Reply STOP"),
                ]),
                tag_trigger("vip"),
            ),
            wf("z", chain(vec![sms("m", "Hi. Reply STOP")]), form_trigger()),
        ],
        json!({}),
    );
    silent(&v, TAG_CHAIN);
}

#[test]
fn tag_chain_double_conversation_is_skipped_for_a_single_workflow() {
    let single = body_with(
        chain(vec![
            s("tag", "add_contact_tag", json!({"tags": ["vip"]})),
            sms("a1", "This is Acme: hi! Reply STOP"),
        ]),
        form_trigger(),
        json!({}),
    );
    assert!(skipped_reason(&single, TAG_CHAIN).is_some_and(|r| r.contains("several workflows")));
}

// ---------------------------------------------------------------- scale

#[test]
fn account_rules_stay_fast_on_a_thousand_workflows_sharing_a_stage_and_a_tag() {
    // Every workflow starts on stage "s" and moves into it, and tags "t" before a message while
    // every workflow starts on "t": quadratic edges without the key nodes.
    let workflows: Vec<Value> = (0..1000)
        .map(|i| {
            let mut t = stage_trigger(Some("s"));
            t.as_array_mut()
                .unwrap()
                .extend(tag_trigger("t").as_array().unwrap().clone());
            wf(
                &format!("w{i}"),
                chain(vec![
                    move_to("o", "s"),
                    s("tag", "add_contact_tag", json!({"tags": ["t"]})),
                    sms("m", "This is Acme. Reply STOP"),
                ]),
                t,
            )
        })
        .collect();
    let r = run(&bundle(workflows, json!({})));
    assert_eq!(hits(&r, STAGE_LOOP).len(), 1);
    assert_eq!(hits(&r, TAG_CHAIN).len(), 1000);
}

#[test]
fn the_bundle_sample_fires_none_of_these_rules_and_skips_only_the_field_types() {
    let bytes = include_bytes!("../../../../events/workflows/bundle.json");
    let r =
        crate::analyze(bytes, &crate::AnalyzeOptions::at(super::NOW)).expect("the sample parses");
    for rule in [MISMATCH, ONE_USER, REFUND, STAGE_LOOP, TAG_CHAIN] {
        assert!(r.issues.iter().all(|i| i.rule_id != rule), "{rule}");
        let skipped = r.skipped_rules.iter().any(|k| k.rule_id == rule);
        assert_eq!(skipped, rule == MISMATCH, "{rule}");
    }
}
