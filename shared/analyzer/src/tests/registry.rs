//! The rule registry and its documentation (every rule has a test and a description), rule and
//! family configuration, and SARIF output.

use crate::StepPointers;
use serde_json::{json, Value};

use super::{
    body, body_with, bundle, chain, form_trigger, hits, run, s, sms, tag, wait_days, wf, NOW,
};
use crate::{analyze, AnalyzeOptions, RuleConfig, Severity};

/// The SARIF 2.1.0 schema's required properties and enums, checked by hand (the schema cannot be
/// fetched here): version and $schema, runs[].tool.driver.name, rules with ids and levels,
/// results with message.text, a level from the enum and a ruleId the driver declares.
/// The SARIF log of a result on a document, as the JSON a reader sees.
fn sarif_value(r: &crate::AnalysisResult, uri: &str, doc: &Value) -> Value {
    serde_json::to_value(crate::sarif(r, uri, Some(&StepPointers::from_value(doc))))
        .expect("a SARIF log serializes")
}

fn assert_valid_sarif(log: &Value) {
    assert_eq!(log["version"], "2.1.0");
    assert!(log["$schema"]
        .as_str()
        .is_some_and(|s| s.contains("sarif-2.1.0")));
    let runs = log["runs"].as_array().expect("runs is an array");
    assert!(!runs.is_empty());
    for run in runs {
        let driver = &run["tool"]["driver"];
        assert!(driver["name"].as_str().is_some_and(|n| !n.is_empty()));
        let rules = driver["rules"].as_array().expect("driver.rules");
        let ids: Vec<&str> = rules
            .iter()
            .map(|r| r["id"].as_str().expect("rule id"))
            .collect();
        for r in rules {
            assert!(r["shortDescription"]["text"].is_string());
            assert!(r["fullDescription"]["text"].is_string());
            assert!(r["help"]["text"].is_string());
            assert!(matches!(
                r["defaultConfiguration"]["level"].as_str(),
                Some("none" | "note" | "warning" | "error")
            ));
        }
        for res in run["results"].as_array().expect("results") {
            assert!(res["message"]["text"]
                .as_str()
                .is_some_and(|t| !t.is_empty()));
            assert!(matches!(
                res["level"].as_str(),
                Some("none" | "note" | "warning" | "error")
            ));
            let id = res["ruleId"].as_str().expect("ruleId");
            assert!(ids.contains(&id), "{id} not in driver.rules");
            let idx = res["ruleIndex"].as_u64().expect("ruleIndex") as usize;
            assert_eq!(ids[idx], id);
            for loc in res["locations"].as_array().expect("locations") {
                assert!(loc["physicalLocation"]["artifactLocation"]["uri"].is_string());
                let ptr = loc["logicalLocations"][0]["fullyQualifiedName"]
                    .as_str()
                    .unwrap();
                assert!(ptr.is_empty() || ptr.starts_with('/'));
            }
        }
    }
}

#[test]
fn a_disabled_family_skips_every_rule_of_it_with_the_reason() {
    let v = body(chain(vec![
        s("a", "chatgpt", json!({"prompt": "Answer {{message.body}}"})),
        sms("m", "This is Acme: {{chatgpt.response}} Reply STOP"),
    ]));
    let bytes = serde_json::to_vec(&v).unwrap();
    let opts = AnalyzeOptions {
        now_unix: NOW,
        rules: RuleConfig {
            disabled_families: vec!["ai".into()],
            ..RuleConfig::default()
        },
    };
    let r = analyze(&bytes, &opts).unwrap();
    assert!(!r.issues.iter().any(|i| i.rule_id.starts_with("ai-")));
    for id in [
        "ai-text-sent-unguarded",
        "ai-prompt-contact-text",
        "ai-sms-unbounded",
    ] {
        let k = r.skipped_rules.iter().find(|k| k.rule_id == id).expect(id);
        assert!(k.reason.contains("family \"ai\""), "{}", k.reason);
    }
    let cfg: RuleConfig = serde_json::from_value(
        json!({"disabledFamilies": ["ai", "nope"], "severity": {"ai-sms-unbounded": "low"}}),
    )
    .unwrap();
    assert_eq!(cfg.unknown_rule_ids(), vec!["nope".to_owned()]);
    // Severity overrides apply to new rules too.
    let opts = AnalyzeOptions {
        now_unix: NOW,
        rules: serde_json::from_value(json!({"severity": {"ai-sms-unbounded": "low"}})).unwrap(),
    };
    let r = analyze(&bytes, &opts).unwrap();
    let i = r
        .issues
        .iter()
        .find(|i| i.rule_id == "ai-sms-unbounded")
        .unwrap();
    assert_eq!(i.severity, crate::Severity::Low);
}

#[test]
fn sarif_output_is_valid_and_points_at_the_step() {
    let v = body(chain(vec![
        s("t", "add_contact_tag", json!({"tags": ["lead"]})),
        sms("a", "Hi, your code: https://bit.ly/x Reply STOP"),
    ]));
    let r = run(&v);
    let log = sarif_value(&r, "flows/lead.json", &v);
    assert_valid_sarif(&log);
    let results = log["runs"][0]["results"].as_array().unwrap();
    let short = results
        .iter()
        .find(|x| x["ruleId"] == "sms-link-shortener")
        .unwrap();
    assert_eq!(short["level"], "error");
    assert_eq!(
        short["properties"]["jsonPointer"],
        "/workflow/workflowData/templates/1"
    );
    assert_eq!(
        short["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "flows/lead.json"
    );
    let sender = results
        .iter()
        .find(|x| x["ruleId"] == "first-sms-no-sender")
        .unwrap();
    assert_eq!(sender["level"], "warning");
    // The pointer resolves to the step in the input.
    assert_eq!(
        v.pointer("/workflow/workflowData/templates/1/id").unwrap(),
        "a"
    );

    // Bundles: pointers into /workflows/k.
    let b = bundle(
        vec![
            wf(
                "w1",
                chain(vec![s("x", "add_contact_tag", json!({"tags": ["a"]}))]),
                form_trigger(),
            ),
            wf(
                "w2",
                chain(vec![
                    s("t", "add_contact_tag", json!({"tags": ["a"]})),
                    sms("a", "bit.ly/x Reply STOP"),
                ]),
                form_trigger(),
            ),
        ],
        json!({}),
    );
    let log = sarif_value(&run(&b), "bundle.json", &b);
    assert_valid_sarif(&log);
    let short = log["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["ruleId"] == "sms-link-shortener")
        .unwrap()
        .clone();
    assert_eq!(
        short["properties"]["jsonPointer"],
        "/workflows/1/workflowData/templates/1"
    );

    // The samples all render valid SARIF.
    for sample in [
        &include_bytes!("../../../../events/workflows/critical.json")[..],
        &include_bytes!("../../../../events/workflows/bundle.json")[..],
    ] {
        let doc: Value = serde_json::from_slice(sample).unwrap();
        let r = analyze(sample, &AnalyzeOptions::at(NOW)).unwrap();
        let log = sarif_value(&r, "sample.json", &doc);
        assert_valid_sarif(&log);
        assert_eq!(
            log["runs"][0]["results"].as_array().unwrap().len(),
            r.issues.len()
        );
    }
}

#[test]
fn configuration_disables_rules_and_changes_severities() {
    use crate::{analyze, AnalyzeOptions, RuleConfig};
    let v = body_with(
        chain(vec![tag("a"), wait_days("w", 400), tag("b")]),
        form_trigger(),
        json!({"name": "New Workflow"}),
    );
    let bytes = serde_json::to_vec(&v).unwrap();
    let config: RuleConfig = serde_json::from_str(
        r#"{"disabled": ["generic-name"], "severity": {"wait-too-long": "low"}}"#,
    )
    .unwrap();
    assert!(config.unknown_rule_ids().is_empty());
    let r = analyze(
        &bytes,
        &AnalyzeOptions {
            now_unix: super::NOW,
            rules: config,
        },
    )
    .unwrap();
    assert!(hits(&r, "generic-name").is_empty());
    assert!(r
        .skipped_rules
        .iter()
        .any(|k| k.rule_id == "generic-name" && k.reason.contains("disabled")));
    let long = r
        .issues
        .iter()
        .find(|i| i.rule_id == "wait-too-long")
        .unwrap();
    assert_eq!(long.severity, Severity::Low);
    assert_eq!(r.health_score, 99); // one low issue: 100 - 1.5, rounded
    let typo: RuleConfig = serde_json::from_str(r#"{"disabled": ["generic-nme"]}"#).unwrap();
    assert_eq!(typo.unknown_rule_ids(), vec!["generic-nme".to_owned()]);
}

#[test]
fn every_catalogue_rule_has_a_test_in_this_file() {
    let source = [
        include_str!("mod.rs"),
        include_str!("structure.rs"),
        include_str!("waits.rs"),
        include_str!("messaging.rs"),
        include_str!("deliverability.rs"),
        include_str!("ai.rs"),
        include_str!("integrations.rs"),
        include_str!("data.rs"),
        include_str!("appointments.rs"),
        include_str!("revenue.rs"),
        include_str!("triggers.rs"),
        include_str!("account.rs"),
        include_str!("metadata.rs"),
    ]
    .concat();
    for rule in crate::Rule::ALL {
        assert!(
            source.contains(&format!("\"{}\"", rule.id())),
            "no test names {}",
            rule.id()
        );
    }
}

#[test]
fn every_catalogue_rule_is_documented() {
    let doc = include_str!("../../../../docs/ANALYZER.md");
    for rule in crate::Rule::ALL {
        assert!(
            doc.contains(&format!("`{}`", rule.id())),
            "docs/ANALYZER.md does not describe {}",
            rule.id()
        );
    }
    assert!(doc.contains(crate::SCORING_VERSION));
}

#[test]
fn thresholds_are_configurable_and_a_partial_set_keeps_the_defaults() {
    // Three SMS one after another: a burst within 24 hours, and within one hour too.
    let v = body(chain(vec![
        sms("a", "This is Acme. Reply STOP to opt out"),
        wait_days("w", 1),
        sms("b", "This is Acme again. Reply STOP to opt out"),
        sms("c", "This is Acme, last one. Reply STOP to opt out"),
    ]));
    let bytes = serde_json::to_vec(&v).unwrap();
    let at = |rules: Value| {
        let opts = AnalyzeOptions {
            now_unix: NOW,
            rules: serde_json::from_value(rules).unwrap(),
        };
        analyze(&bytes, &opts).unwrap()
    };
    let default = at(json!({}));
    assert_eq!(
        hits(&default, "message-burst"),
        Vec::<Option<String>>::new()
    );
    let wide = at(json!({"options": {"messageBurst": {"windowHours": 48}}}));
    assert_eq!(hits(&wide, "message-burst"), [Some("c".to_owned())]);
    assert!(wide.issues[0].message.contains("within 48 hours"));
    // The TOML spelling is accepted too; what is left out keeps its default.
    let cfg: RuleConfig =
        serde_json::from_value(json!({"options": {"wait-too-long": {"max-days": 30}}})).unwrap();
    assert_eq!(cfg.options.wait_too_long.max_days, 30);
    assert_eq!(cfg.options.message_burst.window_hours, 24);
    assert_eq!(cfg.options.stale_draft.days, 90);
    assert!(cfg.problems().is_empty());
    let long = body(chain(vec![wait_days("w", 45), tag("t")]));
    let r = analyze(
        &serde_json::to_vec(&long).unwrap(),
        &AnalyzeOptions {
            now_unix: NOW,
            rules: cfg,
        },
    )
    .unwrap();
    assert_eq!(hits(&r, "wait-too-long"), [Some("w".to_owned())]);
    assert!(run(&long)
        .issues
        .iter()
        .all(|i| i.rule_id != "wait-too-long"));
    // Defaults serialize to nothing (stored settings stay as they were).
    assert_eq!(
        serde_json::to_value(RuleConfig::default()).unwrap()["options"],
        Value::Null
    );
}

#[test]
fn audit_ignore_notes_and_exceptions_suppress_without_counting() {
    let mut step = sms("m", "Big sale today only");
    step["comments"] =
        json!(["audit-ignore: sms-without-opt-out keyword opt-in, STOP in the welcome"]);
    let v = body(chain(vec![step]));
    let r = run(&v);
    assert!(hits(&r, "sms-without-opt-out").is_empty());
    let s = r
        .suppressed
        .iter()
        .find(|i| i.rule_id == "sms-without-opt-out")
        .expect("reported as suppressed");
    assert_eq!(s.step_id.as_deref(), Some("m"));
    let sup = s.suppression.as_ref().unwrap();
    assert_eq!(sup.kind, crate::SuppressionKind::InSource);
    assert_eq!(sup.justification, "keyword opt-in, STOP in the welcome");
    // Not counted: the same score as with the rule switched off.
    let off = analyze(
        &serde_json::to_vec(&v).unwrap(),
        &AnalyzeOptions {
            now_unix: NOW,
            rules: RuleConfig {
                disabled: vec!["sms-without-opt-out".into()],
                ..RuleConfig::default()
            },
        },
    )
    .unwrap();
    assert_eq!(r.health_score, off.health_score);
    assert_eq!(r.summary, off.summary);

    // An exception by workflow and step covers that step only.
    let v = body(chain(vec![
        sms("a", "Sale!"),
        wait_days("w", 2),
        sms("b", "Sale again!"),
    ]));
    let with = |step: &str| {
        let rules: RuleConfig = serde_json::from_value(json!({"exceptions": [
            {"rule": "sms-without-opt-out", "workflow": "wf1", "step": step, "reason": "tested"}
        ]}))
        .unwrap();
        analyze(
            &serde_json::to_vec(&v).unwrap(),
            &AnalyzeOptions {
                now_unix: NOW,
                rules,
            },
        )
        .unwrap()
    };
    let r = with("a");
    assert!(hits(&r, "sms-without-opt-out").is_empty());
    let s = &r.suppressed[0];
    assert_eq!(s.step_id.as_deref(), Some("a"));
    assert_eq!(
        s.suppression.as_ref().unwrap().kind,
        crate::SuppressionKind::External
    );
    let r = with("b");
    assert_eq!(hits(&r, "sms-without-opt-out"), [Some("a".to_owned())]);
    assert!(r.suppressed.is_empty());

    // Bad exceptions are named.
    let bad: RuleConfig =
        serde_json::from_value(json!({"exceptions": [{"rule": "nope", "reason": ""}]})).unwrap();
    assert_eq!(bad.problems().len(), 2);
}
