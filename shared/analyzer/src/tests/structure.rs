//! The structure rules (graph shape: reachability, references, duplicate ids, loops, branches,
//! paths, size, step types, and names that contradict their step): each fires on the right step,
//! has a near miss where it must not, and a rule that needs more than the definition is skipped
//! with its reason when the input lacks it.

use serde_json::{json, Value};

use super::{body, branch, chain, fires_on, hits, run, s, silent, tag, wait_days};
use crate::Severity;

fn goto(id: &str, target: &str) -> Value {
    s(id, "goto", json!({"targetNodeId": target}))
}

fn if_else(id: &str, yes: &str, no: &str) -> Value {
    json!({"id": id, "type": "if_else", "name": format!("if {id}"), "cat": "conditions",
           "nodeType": "condition-node", "next": [yes, no], "attributes": {}})
}

// ---------------------------------------------------------------- unreachable-step

#[test]
fn unreachable_step_fires_on_an_orphan_left_behind() {
    let mut steps = chain(vec![tag("a"), tag("b")]);
    steps.push(json!({"id": "c", "type": "add_contact_tag", "name": "orphan", "parentKey": "a", "attributes": {}}));
    fires_on(&body(steps), "unreachable-step", Some("c"));
    silent(
        &body(chain(vec![tag("a"), tag("b"), tag("c")])),
        "unreachable-step",
    );
}

// ---------------------------------------------------------------- dangling-reference

#[test]
fn dangling_reference_fires_on_a_next_or_goto_to_nothing() {
    let mut steps = chain(vec![tag("a"), tag("b")]);
    steps[1]["next"] = json!("deleted");
    fires_on(&body(steps), "dangling-reference", Some("b"));
    fires_on(
        &body(chain(vec![tag("a"), goto("g", "nowhere")])),
        "dangling-reference",
        Some("g"),
    );
    silent(
        &body(chain(vec![tag("a"), wait_days("w", 1), goto("g", "a")])),
        "dangling-reference",
    );
    // The first step may hang from its trigger.
    let mut steps = chain(vec![tag("a"), tag("b")]);
    steps[0]["parentKey"] = json!("t1");
    silent(&body(steps), "dangling-reference");
}

// ---------------------------------------------------------------- duplicate-step-id

#[test]
fn duplicate_step_id_fires_on_the_second_copy() {
    let r = fires_on(
        &body(chain(vec![tag("a"), tag("b"), tag("b")])),
        "duplicate-step-id",
        Some("b"),
    );
    assert_eq!(hits(&r, "duplicate-step-id").len(), 1);
    silent(&body(chain(vec![tag("a"), tag("b")])), "duplicate-step-id");
}

// ---------------------------------------------------------------- loop-without-wait

#[test]
fn loop_without_wait_fires_on_the_goto_of_a_tight_loop() {
    fires_on(
        &body(chain(vec![tag("a"), tag("b"), goto("g", "a")])),
        "loop-without-wait",
        Some("g"),
    );
    silent(
        &body(chain(vec![tag("a"), wait_days("w", 1), goto("g", "a")])),
        "loop-without-wait",
    );
}

// ---------------------------------------------------------------- loop-without-exit

#[test]
fn loop_without_exit_fires_when_no_condition_leaves_the_cycle() {
    fires_on(
        &body(chain(vec![wait_days("w", 1), tag("b"), goto("g", "w")])),
        "loop-without-exit",
        Some("g"),
    );
    let steps = vec![
        json!({"id": "w", "type": "wait", "name": "wait", "next": "c", "order": 0,
               "attributes": {"type": "time", "startAfter": {"type": "days", "value": 1}, "window": {"start": "09:00", "end": "17:00"}}}),
        if_else("c", "y", "n"),
        branch("y", false, Some("g")),
        branch("n", true, Some("t")),
        goto("g", "w"),
        tag("t"),
    ];
    silent(&body(steps), "loop-without-exit");
}

/// An evergreen monthly newsletter (only emails, each released by a wait of a week or more) runs
/// until the reader unsubscribes: low. A text in the loop, or emails two days apart, keep it high.
#[test]
fn loop_without_exit_is_low_for_an_evergreen_newsletter() {
    let letter = || {
        s(
            "e",
            "email",
            json!({"subject": "This month", "html": "<p>This month's tips.</p>"}),
        )
    };
    let severity = |steps: Vec<Value>| {
        let r = fires_on(&body(chain(steps)), "loop-without-exit", Some("g"));
        r.issues
            .iter()
            .filter(|i| i.rule_id == "loop-without-exit")
            .map(|i| i.severity)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        severity(vec![letter(), wait_days("w", 30), goto("g", "e")]),
        vec![Severity::Low]
    );
    assert_eq!(
        severity(vec![
            letter(),
            wait_days("w", 30),
            s(
                "m",
                "sms",
                json!({"body": "This is Acme: tips inside. Reply STOP to opt out."})
            ),
            wait_days("w2", 30),
            goto("g", "e"),
        ]),
        vec![Severity::High]
    );
    assert_eq!(
        severity(vec![letter(), wait_days("w", 2), goto("g", "e")]),
        vec![Severity::High]
    );
    // A loop of emails with no wait at all is not "weeks apart".
    let second = s(
        "e2",
        "email",
        json!({"subject": "And more", "html": "<p>More tips.</p>"}),
    );
    assert_eq!(
        severity(vec![letter(), second, goto("g", "e")]),
        vec![Severity::High]
    );
}

// ---------------------------------------------------------------- empty-branch

#[test]
fn empty_branch_is_silent_for_a_filter_either_way_and_high_when_every_branch_is_empty() {
    let steps = |yes: Option<&str>, no: Option<&str>| {
        vec![
            json!({"id": "c", "type": "if_else", "name": "Qualified?", "cat": "conditions", "nodeType": "condition-node", "next": ["y", "n"], "attributes": {}}),
            branch("y", false, yes),
            branch("n", true, no),
            tag("t1"),
            tag("t2"),
        ]
    };
    // An empty branch beside a branch with steps is a filter, the None branch or the
    // conditioned one ("already has the tag: stop here", steps on None): not reported.
    silent(&body(steps(Some("t1"), None)), "empty-branch");
    silent(&body(steps(None, Some("t2"))), "empty-branch");
    silent(&body(steps(Some("t1"), Some("t2"))), "empty-branch");
    // Both empty: the condition decides nothing, each branch is reported, at high.
    let r = run(&body(steps(None, None)));
    assert_eq!(
        hits(&r, "empty-branch"),
        vec![Some("y".to_owned()), Some("n".to_owned())]
    );
    assert!(r
        .issues
        .iter()
        .filter(|i| i.rule_id == "empty-branch")
        .all(|i| i.severity == Severity::High));
    assert_eq!(
        hits(&r, "empty-branch"),
        vec![Some("y".to_owned()), Some("n".to_owned())]
    );
}

// ---------------------------------------------------------------- unrouted-path

#[test]
fn unrouted_path_fires_on_a_declared_transition_missing_from_next() {
    let steps = |next: Value| {
        vec![
            json!({"id": "w", "type": "wait", "name": "Wait for reply", "cat": "multi-path", "next": next,
                   "attributes": {"type": "reply", "timeout": {"value": 2, "type": "days"},
                                  "transitions": [{"id": "t1", "name": "Replied"}, {"id": "t2", "name": "Timeout"}]}}),
            json!({"id": "t1", "type": "transition", "name": "Replied", "next": "x", "attributes": {}}),
            json!({"id": "t2", "type": "transition", "name": "Timeout", "next": "y", "attributes": {}}),
            tag("x"),
            tag("y"),
        ]
    };
    fires_on(&body(steps(json!(["t1"]))), "unrouted-path", Some("w"));
    silent(&body(steps(json!(["t1", "t2"]))), "unrouted-path");
}

/// The parser derives a step's role while reading it; a key lifted later from a notification's
/// channel object (here `transitions`) must count as if it had been the step's own, on the fast
/// path as on the `Value` path.
#[test]
fn a_role_follows_keys_lifted_from_a_notification_channel() {
    let v = body(vec![
        json!({"id": "n", "type": "internal_notification", "name": "Alert", "next": "s",
               "attributes": {"type": "email", "email": {"subject": "New lead", "html": "<p>x</p>",
                              "userType": "all", "transitions": [{"id": "x1", "name": "p"}]}}}),
        json!({"id": "s", "type": "sms", "name": "Text", "attributes": {"body": "Hi. Reply STOP to opt out."}}),
    ]);
    fires_on(&v, "unrouted-path", Some("n"));
    let bytes = serde_json::to_vec(&v).unwrap();
    let fast = crate::parse(&bytes).unwrap();
    let tree = crate::parse_value(v).unwrap();
    assert_eq!(fast.workflows()[0].steps, tree.workflows()[0].steps);
}

// ---------------------------------------------------------------- empty-or-disabled

#[test]
fn empty_or_disabled_fires_for_no_steps_and_for_a_disabled_step() {
    fires_on(&body(vec![]), "empty-or-disabled", None);
    let mut steps = chain(vec![tag("a"), tag("b")]);
    steps[1]["advanceCanvasMeta"] = json!({"isDisabled": true});
    fires_on(&body(steps), "empty-or-disabled", Some("b"));
    silent(&body(chain(vec![tag("a"), tag("b")])), "empty-or-disabled");
}

// ---------------------------------------------------------------- too-complex

#[test]
fn too_complex_fires_on_many_branches_only() {
    let mut steps = Vec::new();
    for k in 0..12 {
        let next = if k + 1 < 12 {
            Some(format!("c{}", k + 1))
        } else {
            None
        };
        steps.push(if_else(
            &format!("c{k}"),
            &format!("y{k}"),
            &format!("n{k}"),
        ));
        steps.push(branch(&format!("y{k}"), false, next.as_deref()));
        steps.push(branch(&format!("n{k}"), true, Some(&format!("t{k}"))));
        steps.push(tag(&format!("t{k}")));
    }
    let r = fires_on(&body(steps), "too-complex", None);
    assert!(r.stats.branches >= 24);
    let steps = vec![
        if_else("c", "y", "n"),
        branch("y", false, Some("a")),
        branch("n", true, Some("b")),
        tag("a"),
        tag("b"),
    ];
    silent(&body(steps), "too-complex");
}

// ---------------------------------------------------------------- unknown-step-type

#[test]
fn unknown_step_type_fires_on_the_unknown_step() {
    fires_on(
        &body(chain(vec![tag("a"), s("b", "teleport_contact", json!({}))])),
        "unknown-step-type",
        Some("b"),
    );
    silent(
        &body(chain(vec![tag("a"), s("b", "math_operation", json!({}))])),
        "unknown-step-type",
    );
}

#[test]
fn unknown_step_type_knows_highlevels_own_split_ai_and_date_steps() {
    // Type names HighLevel's builder writes (docs/ANALYZER.md, "Formats").
    for kind in [
        "workflow_split",
        "workflow_ai_decision_maker",
        "conversationai_ai_splitter",
        "conversationai_book_appointment",
        "event_start_date",
        "dnd_contact",
        "task-notification",
    ] {
        silent(
            &body(chain(vec![tag("a"), s("b", kind, json!({"type": kind}))])),
            "unknown-step-type",
        );
    }
    // Near miss: a look-alike of one of them is still unknown.
    fires_on(
        &body(chain(vec![
            tag("a"),
            s("b", "workflow_ai_splitter", json!({})),
        ])),
        "unknown-step-type",
        Some("b"),
    );
}

// ---------------------------------------------------------------- name-contradicts-step

#[test]
fn name_contradicts_step_fires_when_the_name_states_another_duration_channel_or_tag() {
    let wait = |name: &str, minutes: u32| {
        json!({"id": "e", "type": "wait", "name": name, "attributes": {"type": "time",
               "startAfter": {"type": "minutes", "value": minutes, "when": "after"}, "window": {"start": "09:00", "end": "18:00"}}})
    };
    let named = |name: &str, kind: &str, attrs: Value| json!({"id": "e", "type": kind, "name": name, "attributes": attrs});
    for (step, near_miss) in [
        (wait("Wait 24 hours", 60), wait("Wait 24 hours", 1_440)),
        (wait("2 days later", 2_880 + 60), wait("Wait a bit", 5)),
        (
            named(
                "Send SMS",
                "email",
                json!({"subject": "Hi", "html": "<p>Your order shipped.</p>"}),
            ),
            named(
                "Send email",
                "email",
                json!({"subject": "Hi", "html": "<p>Your order shipped.</p>"}),
            ),
        ),
        (
            named(
                "Email follow-up",
                "sms",
                json!({"body": "Your order shipped."}),
            ),
            named(
                "Text follow-up",
                "sms",
                json!({"body": "Your order shipped."}),
            ),
        ),
        (
            named(
                "Add tag: hot-lead",
                "add_contact_tag",
                json!({"tags": ["warm-lead"]}),
            ),
            named(
                "Add tag: hot-lead",
                "add_contact_tag",
                json!({"tags": ["Hot-Lead"]}),
            ),
        ),
    ] {
        fires_on(&body(chain(vec![step])), "name-contradicts-step", Some("e"));
        silent(&body(chain(vec![near_miss])), "name-contradicts-step");
    }
}

#[test]
fn name_contradicts_step_reads_tag_names_loosely_and_negated_channels_as_not_named() {
    let named = |name: &str, kind: &str, attrs: Value| json!({"id": "e", "type": kind, "name": name, "attributes": attrs});
    let tag = |name: &str, tags: Value| named(name, "add_contact_tag", json!({ "tags": tags }));
    let mail = |name: &str| {
        named(
            name,
            "email",
            json!({"subject": "Hi", "html": "<p>Your order shipped.</p>"}),
        )
    };
    // Space, `-` and `_` are the same, case is ignored, and a name may state the tag's last
    // word(s); "no SMS", "not email", "non-SMS", "without SMS" name no channel.
    for near_miss in [
        tag("Tag: fb lead", json!(["fb-lead"])),
        tag("Tag: FB_Lead", json!(["fb lead"])),
        tag("Tag: detractor", json!(["review-detractor"])),
        tag(
            "Tag: reactivation no response",
            json!(["reactivation-no-response"]),
        ),
        mail("Reactivation email (no SMS consent)"),
        mail("Newsletter (non-SMS list)"),
        mail("Follow-up without SMS"),
        named(
            "Text them (not email)",
            "sms",
            json!({"body": "Your order shipped."}),
        ),
    ] {
        silent(&body(chain(vec![near_miss])), "name-contradicts-step");
    }
    // Still contradictions: another tag, a tag whose leading word only is named, a word inside
    // another word, and a channel named without a negation.
    for step in [
        tag("Tag: detractor", json!(["review-promoter"])),
        tag("Tag: review", json!(["review-detractor"])),
        tag("Tag: lead", json!(["fblead"])),
        mail("SMS reminder (no email reply)"),
        named(
            "E-mail the receipt",
            "sms",
            json!({"body": "Your order shipped."}),
        ),
    ] {
        fires_on(&body(chain(vec![step])), "name-contradicts-step", Some("e"));
    }
}
