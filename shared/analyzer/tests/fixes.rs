//! Every fix proven: applied to each fixture that raises it (the repo's sample exports, the
//! calibration workflows and targeted ones), the finding is gone, no other finding appears, and
//! the patched document parses as the same format.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::{json, Value};
use workflow_analyzer::{
    analyze, apply_fixes, apply_patch, attach_fixes, parse, AnalysisResult, AnalyzeOptions, Input,
    SourceFormat,
};

const NOW: i64 = 1_795_392_000;

/// The rules that carry a fix; each must be proven on at least one fixture.
const FIXABLE: &[&str] = &[
    "sms-without-opt-out",
    "risky-merge-field",
    "no-stop-on-response",
    "send-without-window",
    "wait-without-timeout",
    "wait-misconfigured",
];

fn fixtures() -> Vec<(String, Value)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    for dir in [
        root.join("../../events/workflows"),
        root.join("tests/calibration"),
    ] {
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        for f in files {
            let v: Value = serde_json::from_slice(&std::fs::read(&f).unwrap()).unwrap();
            out.push((f.file_name().unwrap().to_string_lossy().into_owned(), v));
        }
    }
    out.extend(targeted());
    out
}

fn step(id: &str, kind: &str, name: &str, attrs: Value) -> Value {
    json!({"id": id, "type": kind, "name": name, "attributes": attrs})
}

fn native(id: &str, steps: Vec<Value>, extra: Value) -> Value {
    let mut steps = steps;
    for i in 0..steps.len() {
        if i + 1 < steps.len() {
            let next = steps[i + 1]["id"].clone();
            steps[i]["next"] = next;
        }
        if i > 0 {
            let parent = steps[i - 1]["id"].clone();
            steps[i]["parentKey"] = parent;
        }
        steps[i]["order"] = json!(i);
    }
    let mut w = json!({"_id": id, "name": "Targeted", "status": "published",
        "workflowData": {"templates": steps}});
    for (k, v) in extra.as_object().unwrap() {
        w[k] = v.clone();
    }
    json!({"workflow": w, "triggers": [{"type": "form_submission",
        "conditions": [{"field": "formId", "value": "f1"}]}]})
}

/// Workflows that raise what the samples do not, in both formats.
fn targeted() -> Vec<(String, Value)> {
    let sms = |id: &str, body: &str| step(id, "sms", "Text", json!({"body": body}));
    let wait = |id: &str, name: &str, start: Value| {
        step(
            id,
            "wait",
            name,
            json!({"type": "time", "startAfter": start}),
        )
    };
    vec![
        (
            "unit-missing".into(),
            native(
                "t1",
                vec![
                    sms(
                        "a",
                        "This is Acme: thanks for signing up. Reply STOP to opt out",
                    ),
                    wait("w", "Wait 2 days", json!({"value": 2})),
                    sms(
                        "b",
                        "This is Acme: your guide is ready. Reply STOP to opt out",
                    ),
                ],
                json!({"stopOnResponse": true, "sendingWindow": {"start": "09:00", "end": "18:00"}}),
            ),
        ),
        (
            "no-stop-three-messages".into(),
            native(
                "t2",
                vec![
                    sms(
                        "a",
                        "Hi {{contact.first_name}}, this is Acme. Reply STOP to opt out",
                    ),
                    wait("w1", "Wait 1 day", json!({"value": 1, "type": "days"})),
                    sms(
                        "b",
                        "This is Acme again with 10% off. Reply STOP to opt out",
                    ),
                    wait("w2", "Wait 2 days", json!({"value": 2, "type": "days"})),
                    sms(
                        "c",
                        "This is Acme: last chance for 10% off. Reply STOP to opt out",
                    ),
                ],
                json!({}),
            ),
        ),
        (
            "export-format".into(),
            json!({"name": "Export", "id": "t3", "status": "published", "steps": [
                {"id": "a", "type": "sms", "name": "Promo", "meta": {"body": "Hey {{contact.first_name}}, 20% off today at Acme!"}},
                {"id": "w", "type": "wait", "name": "Wait 1 day", "meta": {"type": "time", "startAfter": {"value": 1, "type": "days"}}},
                {"id": "b", "type": "sms", "name": "Promo 2", "meta": {"body": "Acme: the sale ends tonight"}}
            ]}),
        ),
        (
            // The timeout fix is the export's own key; native JSON gets none (a builder timeout is
            // a multi-path wait with its own transition step, which a patch cannot draw).
            "export-reply-wait".into(),
            json!({"name": "Export reply", "id": "t4", "status": "published", "stopOnResponse": true,
                "sendingWindow": {"start": "09:00", "end": "18:00"}, "steps": [
                {"id": "a", "type": "sms", "name": "Ask", "meta": {"body": "This is Acme: still interested? Reply YES. Reply STOP to opt out"}},
                {"id": "r", "type": "wait", "name": "Wait for reply", "meta": {"type": "reply"}},
                {"id": "b", "type": "add_contact_tag", "name": "Tag", "meta": {"tags": ["replied"]}}
            ]}),
        ),
    ]
}

fn result_of(doc: &Value) -> AnalysisResult {
    let bytes = serde_json::to_vec(doc).unwrap();
    let mut r = analyze(&bytes, &AnalyzeOptions::at(NOW)).unwrap();
    attach_fixes(&mut r, doc);
    r
}

/// (rule, workflow, step) of every finding.
fn places(r: &AnalysisResult) -> BTreeSet<(String, String, String)> {
    let mut out = BTreeSet::new();
    for i in &r.issues {
        let w = i.workflow_id.clone().unwrap_or_default();
        let steps: Vec<&str> = i.step_ids().collect();
        if steps.is_empty() {
            out.insert((i.rule_id.to_string(), w.clone(), String::new()));
        }
        for s in steps {
            out.insert((i.rule_id.to_string(), w.clone(), s.to_owned()));
        }
    }
    out
}

/// The shape of an input: single or bundle, and each workflow's source format.
fn shape(doc: &Value) -> (bool, Vec<SourceFormat>) {
    let bytes = serde_json::to_vec(doc).unwrap();
    let input = parse(&bytes).expect("the patched document parses");
    let formats = input.workflows().iter().map(|w| w.format).collect();
    (matches!(input, Input::Bundle(_)), formats)
}

#[test]
fn every_fix_removes_its_finding_and_adds_none() {
    let mut proven: BTreeMap<String, usize> = BTreeMap::new();
    for (name, doc) in fixtures() {
        let before = result_of(&doc);
        let places_before = places(&before);
        for issue in before.issues.iter() {
            for fix in &issue.fixes {
                let mut patched = doc.clone();
                apply_patch(&mut patched, &fix.patch).unwrap_or_else(|e| {
                    panic!("{name}: {} fix does not apply: {e}", issue.rule_id)
                });
                assert_eq!(shape(&patched), shape(&doc), "{name}: {}", issue.rule_id);
                let after = result_of(&patched);
                let places_after = places(&after);
                let w = issue.workflow_id.clone().unwrap_or_default();
                let steps: Vec<&str> = issue.step_ids().collect();
                let still: Vec<_> = places_after
                    .iter()
                    .filter(|(r, pw, s)| {
                        *r == *issue.rule_id
                            && *pw == w
                            && (steps.is_empty() || steps.contains(&s.as_str()))
                    })
                    .collect();
                assert!(
                    still.is_empty(),
                    "{name}: {} still found: {still:?}",
                    issue.rule_id
                );
                let appeared: Vec<_> = places_after.difference(&places_before).collect();
                assert!(
                    appeared.is_empty(),
                    "{name}: the {} fix ({}) brought {appeared:?}",
                    issue.rule_id,
                    fix.description
                );
                *proven.entry(issue.rule_id.to_string()).or_default() += 1;
            }
        }
    }
    for rule in FIXABLE {
        assert!(
            proven.contains_key(*rule),
            "no fixture proves the {rule} fix: {proven:?}"
        );
    }
    for rule in proven.keys() {
        assert!(
            FIXABLE.contains(&rule.as_str()),
            "{rule} has a fix FIXABLE does not list"
        );
    }
    eprintln!("fixes proven per rule: {proven:?}");
}

#[test]
fn all_fixes_together_leave_none_of_their_findings() {
    for (name, doc) in fixtures() {
        let mut patched = doc.clone();
        let applied = apply_fixes(&mut patched, workflow_analyzer::FixConfidence::Low, |d| {
            Some(result_of(d))
        });
        let after = result_of(&patched);
        for (rule, _) in &applied {
            assert!(
                after
                    .issues
                    .iter()
                    .all(|i| i.rule_id != *rule || i.fixes.is_empty()),
                "{name}: {rule} is still fixable after --fix"
            );
        }
        assert_eq!(shape(&patched), shape(&doc), "{name}");
        assert!(
            places(&after).is_subset(&places(&result_of(&doc))),
            "{name}"
        );
    }
}

/// `workflow-audit FILE --fix`: the JSON output carries the fixes, `--dry-run` writes nothing,
/// `--fix` writes FILE.fixed.json without the fixed findings.
#[test]
fn the_cli_applies_fixes_beside_the_input() {
    use std::process::Command;
    let bin = env!("CARGO_BIN_EXE_workflow-audit");
    let dir = std::env::temp_dir().join(format!("workflow-audit-fix-{}", std::process::id()));
    std::fs::create_dir_all(dir.join(".git")).unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events/workflows/critical.json");
    let file = dir.join("critical.json");
    std::fs::copy(&src, &file).unwrap();
    let fixed = dir.join("critical.fixed.json");
    let _ = std::fs::remove_file(&fixed);
    let run = |args: &[&str]| Command::new(bin).args(args).output().unwrap();

    let o = run(&[file.to_str().unwrap(), "--format", "json"]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let opt_out = v["issues"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["ruleId"] == "sms-without-opt-out")
        .unwrap();
    assert_eq!(opt_out["fixes"][0]["confidence"], "high");
    assert_eq!(opt_out["fixes"][0]["patch"][1]["op"], "replace");

    let o = run(&[file.to_str().unwrap(), "--fix", "--dry-run"]);
    assert_eq!(o.status.code(), Some(0));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("\"op\":\"replace\""), "{out}");
    assert!(!fixed.exists(), "--dry-run writes nothing");

    let o = run(&[file.to_str().unwrap(), "--fix=low"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(fixed.exists());
    let o = run(&[fixed.to_str().unwrap(), "--format", "json"]);
    let after: Value = serde_json::from_slice(&o.stdout).unwrap();
    let rules: Vec<&str> = after["issues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["ruleId"].as_str().unwrap())
        .collect();
    for gone in ["sms-without-opt-out", "send-without-window"] {
        assert!(!rules.contains(&gone), "{gone} still in {rules:?}");
    }
    // No fix draws a native timeout: the finding stays for the builder.
    assert!(rules.contains(&"wait-without-timeout"), "{rules:?}");
    // The window is written where and as the builder keeps it.
    let patched: Value = serde_json::from_slice(&std::fs::read(&fixed).unwrap()).unwrap();
    assert_eq!(patched["workflow"]["window"]["condition"], "when");
    assert_eq!(
        patched["workflow"]["window"]["days"],
        json!([0, 1, 2, 3, 4, 5, 6])
    );
    assert!(patched["workflow"].get("sendingWindow").is_none());
    assert!(rules.contains(&"dangling-reference"), "other findings stay");
    // --fix refuses standard input and output formats.
    assert_eq!(run(&["-", "--fix"]).status.code(), Some(2));
    assert_eq!(
        run(&[file.to_str().unwrap(), "--dry-run"]).status.code(),
        Some(2)
    );
    assert_eq!(
        run(&[file.to_str().unwrap(), "--fix=maybe"]).status.code(),
        Some(2)
    );
}
