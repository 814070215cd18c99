//! Input formats, input errors and limits, plan views, the structure, metadata-only analysis
//! and deep inputs.

use serde_json::{json, Value};

use super::{run, NOW};
use crate::{
    analyze, analyze_input, metadata, structure, AnalyzeOptions, Confidence, Detail, Grade, Input,
    InputError, Limit, Next, Step, Workflow, WorkflowMeta, MAX_INPUT_BYTES, MAX_STEPS,
};

/// One workflow: SMS without opt-out, a reply wait without timeout, an if/else with an empty
/// yes branch and a None path with a webhook to a tunnel.
fn native() -> Value {
    json!({"workflow": {"_id": "wf", "name": "Reactivation", "status": "published", "stopOnResponse": false,
        "workflowData": {"templates": [
            {"id": "a", "type": "sms", "name": "Hello", "next": "b", "attributes": {"body": "Hi {{contact.first_name}}!"}},
            {"id": "b", "type": "wait", "name": "Wait for reply", "next": "c", "parentKey": "a", "attributes": {"type": "reply"}},
            {"id": "c", "type": "if_else", "name": "Interested?", "cat": "conditions", "nodeType": "condition-node",
             "next": ["y", "n"], "parentKey": "b", "attributes": {}},
            {"id": "y", "type": "if_else", "name": "Yes", "nodeType": "branch-yes", "parentKey": "c", "attributes": {}},
            {"id": "n", "type": "if_else", "name": "None", "nodeType": "branch-no", "next": "h", "parentKey": "c", "attributes": {}},
            {"id": "h", "type": "webhook", "name": "Notify CRM", "parentKey": "n", "attributes": {"url": "https://x.ngrok.io/h"}}
        ]}},
        "triggers": [{"type": "contact_tag", "name": "Tag", "conditions": [{"field": "tag", "value": "cold"}]}]})
}

fn export() -> Value {
    json!({"_id": "wf", "name": "Reactivation", "status": "published", "settings": {"stopOnResponse": false},
    "triggers": [{"type": "contact_tag", "name": "Tag", "filters": [{"field": "tag", "value": "cold"}]}],
    "steps": [
        {"id": "a", "type": "sms", "name": "Hello", "meta": {"body": "Hi {{contact.first_name}}!"}},
        {"id": "b", "type": "wait", "name": "Wait for reply", "meta": {"type": "reply"}},
        {"id": "c", "type": "if_else", "name": "Interested?", "meta": {"branches": [
            {"id": "y", "name": "Yes", "actions": []},
            {"id": "n", "name": "None", "actions": [
                {"id": "h", "type": "webhook", "name": "Notify CRM", "meta": {"url": "https://x.ngrok.io/h"}}
            ]}
        ]}}
    ]})
}

fn findings(v: &Value) -> Vec<(String, String, Option<String>)> {
    let r = run(v);
    let mut f: Vec<_> = r
        .issues
        .iter()
        .map(|i| {
            (
                i.rule_id.to_string(),
                i.severity.as_str().to_owned(),
                i.step_id.clone(),
            )
        })
        .collect();
    f.sort();
    f
}

#[test]
fn every_format_parses_the_same_workflow_to_the_same_findings() {
    let a = findings(&native());
    let b = findings(&export());
    let c = findings(&json!({"workflows": [native()]}));
    let c_bare = findings(&json!({"bundle": {"workflows": [export()]}}));
    assert!(a.len() >= 5, "{a:?}");
    assert_eq!(a, b);
    assert_eq!(a, c);
    assert_eq!(a, c_bare);
}

#[test]
fn a_bundle_result_names_the_workflow_of_each_issue() {
    let r = run(&json!({"workflows": [native(), export()]}));
    assert!(r.workflow.is_none());
    assert_eq!(r.workflows.len(), 2);
    assert!(r
        .issues
        .iter()
        .all(|i| i.workflow_id.as_deref() == Some("wf")));
    assert_eq!(r.stats.steps, 8);
}

fn error_of(bytes: &[u8]) -> InputError {
    match analyze(bytes, &AnalyzeOptions::at(NOW)) {
        Err(e) => e,
        Ok(r) => panic!(
            "expected an error, got a result with score {}",
            r.health_score
        ),
    }
}

#[test]
fn input_that_is_not_json_says_where() {
    match error_of(b"{\"workflow\": \n {\"name\": }") {
        InputError::NotJson { line, column, .. } => assert_eq!((line, column), (2, 11)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn input_that_is_not_a_workflow_gives_a_json_pointer() {
    let cases: Vec<(Value, &str)> = vec![
        (json!([1, 2]), ""),
        (json!({"hello": "world"}), ""),
        (
            json!({"workflow": {"workflowData": {"templates": {"a": 1}}}}),
            "/workflow/workflowData/templates",
        ),
        (
            json!({"workflow": {"workflowData": {"templates": [{"id": "a"}, 7]}}}),
            "/workflow/workflowData/templates/1",
        ),
        (
            json!({"workflow": {"workflowData": {"templates": [{"id": "a", "next": {"x": 1}}]}}}),
            "/workflow/workflowData/templates/0/next",
        ),
        (
            json!({"workflow": {"steps": []}, "triggers": "form"}),
            "/triggers",
        ),
        (
            json!({"workflows": [{"steps": [{"meta": {"branches": [{"actions": [3]}]}}]}]}),
            "/workflows/0/steps/0/meta/branches/0/actions/0",
        ),
        (json!({"bundle": {"workflows": "all"}}), "/bundle/workflows"),
    ];
    for (v, pointer) in cases {
        match error_of(&serde_json::to_vec(&v).unwrap()) {
            InputError::NotAWorkflow { pointer: p, what } => {
                assert_eq!(p, pointer, "{v}: {what}");
                assert!(!what.is_empty());
            }
            other => panic!("{v}: {other:?}"),
        }
    }
}

#[test]
fn oversized_input_is_refused_before_analysis() {
    let big = vec![b' '; MAX_INPUT_BYTES + 1];
    assert!(matches!(
        error_of(&big),
        InputError::TooLarge {
            what: Limit::Bytes,
            ..
        }
    ));
    let steps: Vec<Value> = (0..=MAX_STEPS).map(|i| json!({"id": i})).collect();
    let body =
        serde_json::to_vec(&json!({"workflow": {"workflowData": {"templates": steps}}})).unwrap();
    let e = error_of(&body);
    assert!(
        matches!(
            e,
            InputError::TooLarge {
                what: Limit::Steps,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(e.code(), "too_large");
}

#[test]
fn the_summary_view_shows_the_top_issues_without_recommendations() {
    let r = run(&native());
    let free = serde_json::to_value(r.view(Detail::Top(3))).unwrap();
    assert_eq!(free["truncated"], true);
    let issues = free["issues"].as_array().unwrap();
    assert_eq!(issues.len(), 3);
    assert!(issues.iter().all(|i| i.get("recommendation").is_none()));
    assert_eq!(issues[0]["severity"], "critical");
    for key in [
        "healthScore",
        "grade",
        "confidence",
        "scoringVersion",
        "summary",
    ] {
        assert!(free.get(key).is_some(), "{key}");
    }
    assert!(free.get("skippedRules").is_none());
    let pro = serde_json::to_value(r.view(Detail::Full)).unwrap();
    assert!(pro.get("truncated").is_none());
    assert!(pro["issues"][0]["recommendation"].is_string());
    for key in ["skippedRules", "stats", "analysisTimeMs", "workflow"] {
        assert!(pro.get(key).is_some(), "{key}");
    }
    assert!(pro["stats"].get("maxDepth").is_some() && pro["stats"].get("unknownTypes").is_some());
}

#[test]
fn issues_are_sorted_by_severity_then_step_then_rule() {
    let r = run(&native());
    let keys: Vec<_> = r
        .issues
        .iter()
        .map(|i| std::cmp::Reverse(i.severity))
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
}

#[test]
fn the_structure_has_laid_out_nodes_and_labelled_edges() {
    let bytes = serde_json::to_vec(&native()).unwrap();
    let s = structure(&bytes, None, &AnalyzeOptions::at(NOW)).unwrap();
    assert_eq!(s.nodes.len(), 6);
    assert_eq!(s.edges.len(), 5);
    let v = serde_json::to_value(&s).unwrap();
    let a = &v["nodes"][0];
    assert_eq!(a["id"], "a");
    assert_eq!(a["position"]["y"], 0);
    assert_eq!(a["data"]["severity"], "critical"); // empty-message: "Hi {{contact.first_name}}!" says nothing
    assert!(a["data"]["issues"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i == "sms-without-opt-out"));
    let labels: Vec<_> = s.edges.iter().filter_map(|e| e.label.clone()).collect();
    assert_eq!(labels, vec!["Yes".to_owned(), "None".to_owned()]);
    let yes = s.nodes.iter().find(|n| n.id == "y").unwrap();
    let no = s.nodes.iter().find(|n| n.id == "n").unwrap();
    assert_eq!(yes.position.y, no.position.y);
    assert!(yes.position.x < no.position.x);
    assert_eq!(
        s,
        structure(&bytes, None, &AnalyzeOptions::at(NOW)).unwrap()
    );
    assert!(structure(&bytes, Some("other"), &AnalyzeOptions::at(NOW)).is_err());
}

#[test]
fn metadata_only_analysis_has_low_confidence_and_lists_skipped_rules() {
    let meta: WorkflowMeta = serde_json::from_value(json!({"id": "w", "name": "New Workflow", "status": "draft",
        "version": 2, "createdAt": "2025-01-01T00:00:00Z", "updatedAt": "2025-02-01T00:00:00Z", "locationId": "loc"})).unwrap();
    let r = metadata(&meta, &AnalyzeOptions::at(NOW));
    assert_eq!(r.confidence, Confidence::Low);
    let rules: Vec<_> = r.issues.iter().map(|i| &*i.rule_id).collect();
    assert_eq!(rules, vec!["stale-draft", "generic-name"]);
    assert_eq!(r.skipped_rules.len(), crate::Rule::ALL.len() - 3);
    assert!(!r.skipped_rules.iter().any(|s| s.rule_id == "stale-draft"));
    assert_eq!(r.grade, Grade::Excellent);
}

fn long_chain(n: usize, goto_back: bool) -> Workflow<'static> {
    let mut steps: Vec<Step> = (0..n)
        .map(|i| Step {
            id: format!("s{i}").into(),
            kind: "add_contact_tag".into(),
            next: if i + 1 < n {
                Next::One(format!("s{}", i + 1).into())
            } else {
                Next::None
            },
            parent_key: (i > 0).then(|| format!("s{}", i - 1).into()),
            ..Step::default()
        })
        .collect();
    if goto_back {
        if let Some(last) = steps.last_mut() {
            last.kind = "goto".into();
            last.attributes = json!({"targetNodeId": "s0"}).into();
        }
    }
    Workflow {
        name: "Deep".into(),
        steps,
        triggers: Some(vec![]),
        ..Workflow::default()
    }
}

#[test]
fn a_hundred_thousand_step_chain_does_not_overflow_the_stack() {
    for goto_back in [false, true] {
        let input = Input::Single(long_chain(100_000, goto_back));
        let r = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(move || analyze_input(&input, &AnalyzeOptions::at(NOW)))
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(r.stats.steps, 100_000);
        assert_eq!(r.stats.max_depth, 100_000);
        assert_eq!(r.stats.cycles, u32::from(goto_back));
        let w = long_chain(100_000, goto_back);
        let s = crate::structure_of(&w, &r);
        assert_eq!(s.nodes.len(), 100_000);
    }
}

#[test]
fn the_typed_fast_path_and_the_value_path_read_the_same_model() {
    use crate::{parse, parse_value};
    let samples: Vec<Vec<u8>> = vec![
        include_bytes!("../../../../events/workflows/healthy.json").to_vec(),
        include_bytes!("../../../../events/workflows/medium.json").to_vec(),
        include_bytes!("../../../../events/workflows/critical.json").to_vec(),
        serde_json::to_vec(&native()).unwrap(),
        serde_json::to_vec(&json!({"workflow": {"id": 7, "name": "Escapes \"quoted\"", "allowMultiple": "true",
            "settings": {"stopOnResponse": true, "sendingWindow": {"start": "09:00", "end": "17:00"}},
            "workflowData": {"templates": [
                {"id": 1, "type": "sms", "next": [2, "x\u{e9}"], "order": 3, "attributes": {"body": "Line\nbreak", "junk": [1, {"a": null}]}},
                {"_id": "x\u{e9}", "type": null, "name": 5, "parentKey": "", "advanceCanvasMeta": {"isDisabled": "true"}, "attributes": null},
                {"type": "wait", "next": 2.5}
            ]}}, "triggers": null})).unwrap(),
        // Canvas metadata: positions skipped, the flag read, a non-object ignored.
        serde_json::to_vec(&json!({"workflow": {"id": "c", "workflowData": {"templates": [
                {"id": "a", "type": "sms", "next": "b", "advanceCanvasMeta": {"position": {"x": 1, "y": [2]}, "isDisabled": true, "size": null}},
                {"id": "b", "type": "email", "next": "c", "advanceCanvasMeta": "legacy"},
                {"id": "c", "type": "wait", "advanceCanvasMeta": [1, 2]}
            ]}}})).unwrap(),
    ];
    for bytes in samples {
        let value: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(
            parse(&bytes),
            parse_value(value),
            "{}",
            String::from_utf8_lossy(&bytes)
        );
    }
    for bad in [
        json!({"workflow": {"workflowData": {"templates": [{"id": "a", "next": [true]}]}}}),
        json!({"workflow": {"workflowData": {"templates": [{"id": "a", "next": {"b": 1}}]}}}),
        json!({"workflow": {"workflowData": {"templates": [{"id": "a"}]}}, "triggers": 3}),
    ] {
        let bytes = serde_json::to_vec(&bad).unwrap();
        assert_eq!(parse(&bytes).err(), parse_value(bad).err());
    }
}

#[test]
fn canvas_metadata_is_read_for_its_disabled_flag_only() {
    let v = json!({"workflow": {"_id": "c", "name": "Canvas", "workflowData": {"templates": [
        {"id": "a", "type": "sms", "name": "Off", "next": "b",
         "advanceCanvasMeta": {"position": {"x": 1, "y": 2}, "isDisabled": true}},
        {"id": "b", "type": "add_contact_tag", "name": "On", "advanceCanvasMeta": "legacy",
         "attributes": {"tags": ["x"]}}
    ]}}});
    let r = run(&v);
    let disabled: Vec<_> = r
        .issues
        .iter()
        .filter(|i| i.rule_id == "empty-or-disabled")
        .map(|i| i.step_id.clone())
        .collect();
    assert_eq!(disabled, vec![Some("a".to_owned())], "{:#?}", r.issues);
}

#[test]
fn export_branch_conditions_reach_the_rules() {
    // A bulk send whose if/else checks consent in its branch conditions (export format).
    let with = |conditions: Value| {
        json!({"_id": "wf", "name": "Monthly promo", "status": "published", "settings": {"stopOnResponse": true},
        "triggers": [{"type": "scheduler_trigger", "name": "Monthly", "filters": [{"field": "day", "value": "1"}]}],
        "steps": [
            {"id": "c", "type": "if_else", "name": "Check", "meta": {"branches": [
                {"id": "y", "name": "Yes", "conditions": conditions, "actions": [
                    {"id": "s", "type": "sms", "name": "Promo", "meta": {"body": "This is Acme: 10% off this week. Reply STOP to opt out"}}
                ]},
                {"id": "n", "name": "None", "actions": []}
            ]}}
        ]})
    };
    let hits = |v: &Value| {
        run(v)
            .issues
            .into_iter()
            .filter(|i| i.rule_id == "bulk-sms-without-consent")
            .count()
    };
    assert_eq!(
        hits(&with(
            json!([{"field": "contact.sms_consent", "operator": "is", "value": "true"}])
        )),
        0
    );
    assert_eq!(
        hits(&with(
            json!([{"field": "contact.city", "operator": "is", "value": "Austin"}])
        )),
        1
    );
}
