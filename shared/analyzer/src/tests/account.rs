//! The account rules, across the workflows and lists of a bundle (duplicate triggers, enrollment
//! cycles, missing account objects, tag triggers nothing adds, alerts to one user, refunds,
//! pipeline-stage loops, tag chains): each fires on the right step, has a near miss where it must
//! not, and a rule that needs more than the definition is skipped with its reason when the input
//! lacks it.

use serde_json::{json, Value};

use super::{
    a_single_workflow, body_with, bundle, chain, fires_on, form_trigger, hits, notify, place,
    places, plain_wf, run, s, silent, skipped_reason, sms, tag, wf, MISMATCH,
};

fn trigger(kind: &str, conditions: Value) -> Value {
    json!([{"id": "t", "name": kind, "type": kind, "active": true, "conditions": conditions}])
}

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
            plain_wf(
                "w1",
                chain(vec![
                    sms("m", "This is Acme. Reply STOP"),
                    alert("n1", json!(["u1"])),
                ]),
                form_trigger(),
            ),
            plain_wf(
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

const REFUND: &str = "refund-removes-nothing";

fn purchase_workflow() -> Value {
    plain_wf(
        "buy",
        chain(vec![sms(
            "m",
            "This is Acme: thanks for your order! Reply STOP",
        )]),
        trigger("payment_received", json!([])),
    )
}

fn refund_workflow(kind: &str, steps: Vec<Value>) -> Value {
    plain_wf("refund", chain(steps), trigger(kind, json!([])))
}

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
            plain_wf("a", chain(steps), form_trigger()),
            plain_wf(
                "b",
                chain(vec![sms("b1", "This is Acme: welcome, VIP! Reply STOP")]),
                tag_trigger("VIP"),
            ),
        ],
        json!({}),
    )
}

fn wf_with(id: &str, status: &str, steps: Vec<Value>, triggers: Value, extra: Value) -> Value {
    let mut w = json!({"_id": id, "name": format!("Workflow {id} nurture"), "status": status, "stopOnResponse": true,
                       "workflowData": {"templates": steps}, "triggers": triggers});
    if let (Some(w), Some(extra)) = (w.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            w.insert(k.clone(), v.clone());
        }
    }
    w
}

// ---------------------------------------------------------------- duplicate-trigger

#[test]
fn duplicate_trigger_fires_on_the_second_published_workflow() {
    let a = wf_with(
        "w1",
        "published",
        chain(vec![tag("a")]),
        form_trigger(),
        json!({}),
    );
    let b = wf_with(
        "w2",
        "published",
        chain(vec![tag("b")]),
        form_trigger(),
        json!({}),
    );
    let r = run(&bundle(json!([a.clone(), b]), json!({})));
    let dup: Vec<_> = r
        .issues
        .iter()
        .filter(|i| i.rule_id == "duplicate-trigger")
        .collect();
    assert_eq!(dup.len(), 1);
    assert_eq!(dup[0].workflow_id.as_deref(), Some("w2"));
    let draft = wf_with(
        "w2",
        "draft",
        chain(vec![tag("b")]),
        form_trigger(),
        json!({}),
    );
    silent(&bundle(json!([a, draft]), json!({})), "duplicate-trigger");
}

// ---------------------------------------------------------------- enrollment-cycle

#[test]
fn enrollment_cycle_fires_on_workflows_that_enroll_each_other() {
    let tag_trigger = |t: &str| json!([{"type": "contact_tag", "conditions": [{"field": "tag", "operator": "added", "value": t}]}]);
    let a = wf_with(
        "w1",
        "published",
        chain(vec![s("x", "add_contact_tag", json!({"tags": ["hot"]}))]),
        tag_trigger("warm"),
        json!({}),
    );
    let b = wf_with(
        "w2",
        "published",
        chain(vec![s("y", "add_to_workflow", json!({"workflowId": "w1"}))]),
        tag_trigger("hot"),
        json!({}),
    );
    let r = run(&bundle(json!([a.clone(), b]), json!({})));
    let cyc: Vec<_> = r
        .issues
        .iter()
        .filter(|i| i.rule_id == "enrollment-cycle")
        .map(|i| i.step_id.clone())
        .collect();
    assert_eq!(cyc, vec![Some("x".to_owned()), Some("y".to_owned())]);
    let c = wf_with(
        "w2",
        "published",
        chain(vec![tag("y")]),
        tag_trigger("hot"),
        json!({}),
    );
    silent(
        &bundle(json!([a.clone(), c]), json!({})),
        "enrollment-cycle",
    );
    // A draft starts nothing yet (its triggers, inactive until published, count only for its own
    // rules), and a trigger on a tag's removal is not started by adding the tag.
    let draft = wf_with(
        "w2",
        "draft",
        chain(vec![s("y", "add_to_workflow", json!({"workflowId": "w1"}))]),
        json!([{"type": "contact_tag", "active": false, "conditions": [{"field": "tagsAdded", "value": "hot"}]}]),
        json!({}),
    );
    silent(
        &bundle(json!([a.clone(), draft]), json!({})),
        "enrollment-cycle",
    );
    let on_removal = wf_with(
        "w2",
        "published",
        chain(vec![s("y", "add_to_workflow", json!({"workflowId": "w1"}))]),
        json!([{"type": "contact_tag", "conditions": [{"field": "tagsRemoved", "value": "hot"}]}]),
        json!({}),
    );
    silent(
        &bundle(json!([a, on_removal]), json!({})),
        "enrollment-cycle",
    );
}

// ---------------------------------------------------------------- dangling-account-reference

#[test]
fn dangling_account_reference_fires_on_a_missing_or_inactive_user() {
    let assign = |u: &str| {
        wf_with(
            "w1",
            "published",
            chain(vec![s("u", "assign_user", json!({"userId": u}))]),
            form_trigger(),
            json!({}),
        )
    };
    let lists = json!({"users": [{"id": "anna"}, {"id": "bob", "active": false}], "forms": [{"id": "form_1"}]});
    fires_on(
        &bundle(json!([assign("zed")]), lists.clone()),
        "dangling-account-reference",
        Some("u"),
    );
    fires_on(
        &bundle(json!([assign("bob")]), lists.clone()),
        "dangling-account-reference",
        Some("u"),
    );
    silent(
        &bundle(json!([assign("anna")]), lists),
        "dangling-account-reference",
    );
    let r = run(&bundle(json!([assign("zed")]), json!({})));
    assert!(r
        .skipped_rules
        .iter()
        .any(|k| k.rule_id == "dangling-account-reference"));
}

/// HighLevel's field update names a custom field by its id in `fields[].field` (a standard field
/// by its key): a deleted custom field's id is reported, a standard key and a listed id are not.
#[test]
fn dangling_account_reference_reads_the_builders_field_list() {
    let update = |fields: Value| {
        wf_with(
            "w1",
            "published",
            chain(vec![s(
                "f",
                "update_contact_field",
                json!({"type": "update_contact_field", "actionType": "update_field_data", "fields": fields}),
            )]),
            form_trigger(),
            json!({}),
        )
    };
    let lists = json!({"customFields": [{"id": "hQ2wuHh1TFh4zL5nCUlp", "name": "Lead score",
                                         "fieldKey": "contact.lead_score", "dataType": "NUMERICAL"}]});
    let r = fires_on(
        &bundle(
            json!([update(json!([
                {"field": "first_name", "value": "Ann", "title": "First Name", "type": "string"},
                {"field": "Zz9GoneFieldId000001", "value": "5", "title": "Old field", "type": "string"}
            ]))]),
            lists.clone(),
        ),
        "dangling-account-reference",
        Some("f"),
    );
    let issue = r
        .issues
        .iter()
        .find(|i| i.rule_id == "dangling-account-reference")
        .unwrap();
    assert!(
        issue.message.contains("Zz9GoneFieldId000001"),
        "{}",
        issue.message
    );
    for fields in [
        json!([{"field": "hQ2wuHh1TFh4zL5nCUlp", "value": "5"}]),
        json!([{"field": "date_of_birth", "value": "1990-01-01"}, {"field": "email", "value": "a@b.co"}]),
        json!([{"field": "companyName", "value": "Acme"}]),
    ] {
        silent(
            &bundle(json!([update(fields)]), lists.clone()),
            "dangling-account-reference",
        );
    }
}

// ---------------------------------------------------------------- tag-trigger-never-added

#[test]
fn tag_trigger_never_added_needs_the_whole_bundle() {
    let tag_trig = json!([{"id": "t2", "type": "contact_tag", "active": true,
                           "conditions": [{"field": "tag", "operator": "==", "value": "vip"}]}]);
    let adder = |tag: &str| {
        wf(
            "w1",
            chain(vec![s("a", "add_contact_tag", json!({"tags": [tag]}))]),
            form_trigger(),
        )
    };
    let waiter = wf(
        "w2",
        chain(vec![sms("m", "This is Acme: welcome, VIP. Reply STOP")]),
        tag_trig.clone(),
    );
    let r = run(&bundle(vec![adder("customer"), waiter.clone()], json!({})));
    assert_eq!(hits(&r, "tag-trigger-never-added"), vec![None]);
    assert!(r
        .issues
        .iter()
        .any(|i| i.rule_id == "tag-trigger-never-added" && i.workflow_id.as_deref() == Some("w2")));
    silent(
        &bundle(vec![adder("VIP"), waiter], json!({})),
        "tag-trigger-never-added",
    );
    let single = body_with(
        chain(vec![sms("m", "This is Acme. Reply STOP")]),
        tag_trig,
        json!({}),
    );
    assert!(skipped_reason(&single, "tag-trigger-never-added")
        .is_some_and(|r| r.contains("several workflows")));
}

// ---------------------------------------------------------------- alerts-to-one-user

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

#[test]
fn alerts_to_one_user_reads_recipients_like_failure_alert_to_nobody() {
    // Three alerts to u1 in a bundle with two active users: fires; an `assignedTo` another user
    // on one of them, or an assigned-user type, makes it someone else.
    let bundle = |third: Value| {
        let wf = |id: &str, steps: Vec<Value>| {
            json!({"_id": id, "name": format!("Workflow {id}"), "status": "published", "stopOnResponse": true,
                   "workflowData": {"templates": chain(steps)}, "triggers": super::form_trigger()})
        };
        json!({"workflows": [
            wf("w1", vec![notify("n1", json!({"userIds": ["u1"], "body": "x"}))]),
            wf("w2", vec![notify("n2", json!({"userId": "u1", "body": "x"})), notify("n3", third)]),
        ], "users": [{"id": "u1", "active": true}, {"id": "u2", "active": true}]})
    };
    fires_on(
        &bundle(json!({"assignedUser": "U1", "body": "x"})),
        "alerts-to-one-user",
        Some("n1"),
    );
    for third in [
        json!({"userId": "u1", "assignedTo": "u2", "body": "x"}),
        json!({"userId": "u1", "assignedUser": "assigned_user", "body": "x"}),
        json!({"userId": "u1", "assignedTo": "{{contact.assigned_to}}", "body": "x"}),
    ] {
        silent(&bundle(third), "alerts-to-one-user");
    }
}

// ---------------------------------------------------------------- refund-removes-nothing

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
    let lead = plain_wf(
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
        plain_wf(id, chain(steps), trigger("payment_received", json!([])))
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

#[test]
fn pipeline_stage_loop_fires_once_on_a_stage_setting_step() {
    let v = bundle(
        vec![
            plain_wf(
                "a",
                chain(vec![move_to("a1", "won")]),
                stage_trigger(Some("new")),
            ),
            plain_wf(
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
            plain_wf("a", chain(vec![move_to("a1", "won")]), stage_trigger(None)),
            plain_wf(
                "b",
                chain(vec![move_to("b1", "new")]),
                stage_trigger(Some("won")),
            ),
            plain_wf(
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
            plain_wf(
                "a",
                chain(vec![move_to("a1", "won")]),
                stage_trigger(Some("new")),
            ),
            plain_wf(
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
        let mut w = plain_wf(
            "a",
            chain(vec![move_to("a1", "won")]),
            stage_trigger(Some("won")),
        );
        if let (Some(w), Some(extra)) = (w.as_object_mut(), extra.as_object()) {
            w.extend(extra.clone());
        }
        let other = plain_wf("z", chain(vec![sms("m", "Hi. Reply STOP")]), form_trigger());
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
            plain_wf("a", chain(vec![move_to("a1", "new")]), status_trigger),
            plain_wf("b", chain(vec![win]), stage_trigger(Some("new"))),
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
            plain_wf(
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

// ---------------------------------------------------------------- tag-chain-double-conversation

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
            plain_wf(
                "a",
                chain(vec![
                    s("tag", "add_contact_tag", json!({"tags": ["vip"]})),
                    sms("a1", "This is Acme: hi! Reply STOP"),
                ]),
                tag_trigger("vip"),
            ),
            plain_wf("z", chain(vec![sms("m", "Hi. Reply STOP")]), form_trigger()),
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
