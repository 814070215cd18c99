//! The `workflow-audit` binary end to end on the repo's sample events: stable fingerprints, the
//! baseline comparison in every format, `--fail-on new:SEVERITY`, and the HTML report.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_workflow-audit");

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../events/workflows")
        .join(name)
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("workflow-audit runs")
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exited")
}

fn stdout_json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

/// A scratch file for this test process.
fn scratch(name: &str, content: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("workflow-audit-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path
}

fn json_of(file: &Path) -> Value {
    let o = run(&[file.to_str().unwrap(), "--format", "json"]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    stdout_json(&o)
}

fn fingerprints(v: &Value) -> Vec<String> {
    v["issues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["fingerprint"].as_str().expect("fingerprint").to_owned())
        .collect()
}

#[test]
fn every_issue_has_a_fingerprint_that_is_the_same_on_every_run() {
    for name in ["critical.json", "medium.json", "bundle.json"] {
        let a = json_of(&sample(name));
        let b = json_of(&sample(name));
        let fa = fingerprints(&a);
        assert!(!fa.is_empty(), "{name} has issues");
        assert_eq!(fa, fingerprints(&b), "{name}");
        for f in &fa {
            assert_eq!(f.len(), 16, "{f}");
            assert!(f.bytes().all(|c| c.is_ascii_hexdigit()), "{f}");
        }
        let mut distinct = fa.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(
            distinct.len(),
            fa.len(),
            "{name}: fingerprints are distinct"
        );
        // The summary view carries them too, so it can be a baseline.
        let top = run(&[sample(name).to_str().unwrap(), "--top", "2"]);
        assert_eq!(fingerprints(&stdout_json(&top)), fa[..2.min(fa.len())]);
    }
}

#[test]
fn sarif_results_carry_the_fingerprint() {
    let file = sample("critical.json");
    let issues = fingerprints(&json_of(&file));
    let o = run(&[file.to_str().unwrap(), "--format", "sarif"]);
    let log = stdout_json(&o);
    let results = log["runs"][0]["results"].as_array().unwrap();
    let sarif: Vec<&str> = results
        .iter()
        .map(|r| {
            r["partialFingerprints"]["workflowAudit/v1"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(sarif, issues);
    assert!(results.iter().all(|r| r.get("baselineState").is_none()));
}

#[test]
fn a_result_compared_with_itself_has_nothing_new_and_nothing_fixed() {
    let file = sample("critical.json");
    let old = json_of(&file);
    let n = old["issues"].as_array().unwrap().len();
    let baseline = scratch("self.json", old.to_string().as_bytes());
    let (f, b) = (file.to_str().unwrap(), baseline.to_str().unwrap());

    let o = run(&[f, "--baseline", b, "--fail-on", "new:low"]);
    assert_eq!(
        code(&o),
        0,
        "nothing new: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v = stdout_json(&o);
    assert_eq!(v["baseline"]["new"], json!([]));
    assert_eq!(v["baseline"]["fixed"], json!([]));
    assert_eq!(v["baseline"]["unchanged"], n);
    assert_eq!(v["baseline"]["scoreDelta"], 0);
    assert!(v["issues"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["baselineState"] == "unchanged"));
    // Plain --fail-on keeps its meaning: critical.json has critical findings.
    assert_eq!(code(&run(&[f, "--baseline", b, "--fail-on", "high"])), 1);

    // A baseline written before fingerprints existed matches all the same.
    let mut legacy = old.clone();
    for i in legacy["issues"].as_array_mut().unwrap() {
        i.as_object_mut().unwrap().remove("fingerprint");
    }
    let legacy = scratch("legacy.json", legacy.to_string().as_bytes());
    let v = stdout_json(&run(&[f, "--baseline", legacy.to_str().unwrap()]));
    assert_eq!(v["baseline"]["unchanged"], n);
    assert_eq!(v["baseline"]["new"], json!([]));
}

#[test]
fn new_and_fixed_issues_are_reported_in_every_format() {
    let file = sample("critical.json");
    let f = file.to_str().unwrap();
    let now = json_of(&file);
    // The baseline lacks the first (critical) issue and has one that is gone since.
    let mut old = now.clone();
    let issues = old["issues"].as_array_mut().unwrap();
    let first = issues.remove(0);
    assert_eq!(first["severity"], "critical");
    issues.push(json!({
        "ruleId": "webhook-test-endpoint", "severity": "high", "title": "Webhook to a test endpoint",
        "message": "Step \"Old hook\" posts to webhook.site.", "stepId": "gone-step",
        "fingerprint": "0123456789abcdef", "count": 1, "recommendation": "x"
    }));
    let n = issues.len() - 1;
    let b = scratch("edited.json", old.to_string().as_bytes());
    let b = b.to_str().unwrap();

    let o = run(&[f, "--baseline", b]);
    assert_eq!(code(&o), 0);
    let v = stdout_json(&o);
    assert_eq!(v["baseline"]["new"].as_array().unwrap().len(), 1);
    assert_eq!(v["baseline"]["new"][0]["fingerprint"], first["fingerprint"]);
    assert_eq!(v["baseline"]["unchanged"], n);
    assert_eq!(v["baseline"]["fixed"][0]["fingerprint"], "0123456789abcdef");
    assert_eq!(v["issues"][0]["baselineState"], "new");
    assert_eq!(v["issues"][1]["baselineState"], "unchanged");

    // --fail-on new:SEVERITY looks at the new issue only (it is critical).
    assert_eq!(
        code(&run(&[f, "--baseline", b, "--fail-on", "new:critical"])),
        1
    );
    assert_eq!(
        code(&run(&[f, "--baseline", b, "--fail-on", "new:high"])),
        1
    );
    let fail = |threshold: &str, old: &Value| {
        let p = scratch(
            &format!("only-{threshold}.json"),
            old.to_string().as_bytes(),
        );
        code(&run(&[
            f,
            "--baseline",
            p.to_str().unwrap(),
            "--fail-on",
            threshold,
        ]))
    };
    // With the low issue as the only new one, new:medium passes and new:low fails.
    let mut only_low = now.clone();
    let arr = only_low["issues"].as_array_mut().unwrap();
    let low = arr
        .iter()
        .position(|i| i["severity"] == "low")
        .expect("critical.json has a low issue");
    arr.remove(low);
    assert_eq!(fail("new:medium", &only_low), 0);
    assert_eq!(fail("new:low", &only_low), 1);

    let text = run(&[f, "--baseline", b, "--format", "text"]);
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(
        text.contains(&format!("baseline: 1 new, {n} unchanged, 1 fixed")),
        "{text}"
    );
    assert!(text.contains("[CRITICAL] NEW "), "{text}");
    assert!(text.contains("fixed since the baseline:\n  [HIGH] Webhook to a test endpoint"));

    let sarif = stdout_json(&run(&[f, "--baseline", b, "--format", "sarif"]));
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let states: Vec<&str> = results
        .iter()
        .map(|r| r["baselineState"].as_str().unwrap())
        .collect();
    assert_eq!(states.iter().filter(|s| **s == "new").count(), 1);
    assert_eq!(states.iter().filter(|s| **s == "unchanged").count(), n);
    assert_eq!(states.last(), Some(&"absent"));
    assert_eq!(
        results.last().unwrap()["partialFingerprints"]["workflowAudit/v1"],
        "0123456789abcdef"
    );

    let html = run(&[f, "--baseline", b, "--format", "html"]);
    let html = String::from_utf8(html.stdout).unwrap();
    assert_eq!(html.matches("data-baseline=\"new\"").count(), 1);
    assert_eq!(html.matches("data-baseline=\"unchanged\"").count(), n);
    assert!(html.contains("data-fingerprint=\"0123456789abcdef\""));
}

#[test]
fn bad_baselines_and_flags_exit_2() {
    let f = sample("critical.json");
    let f = f.to_str().unwrap();
    let not_json = scratch("not.json", b"{ nope");
    let not_result = scratch("array.json", b"[1, 2]");
    for b in [&not_json, &not_result] {
        let o = run(&[f, "--baseline", b.to_str().unwrap()]);
        assert_eq!(code(&o), 2);
        assert!(String::from_utf8_lossy(&o.stderr).contains("baseline"));
    }
    assert_eq!(code(&run(&[f, "--baseline", "/nonexistent/old.json"])), 2);
    // What is new needs a baseline.
    assert_eq!(code(&run(&[f, "--fail-on", "new:high"])), 2);
    assert_eq!(code(&run(&[f, "--fail-on", "later:high"])), 2);
}

#[test]
fn the_html_report_is_one_self_contained_page() {
    for name in ["healthy.json", "critical.json", "bundle.json"] {
        let file = sample(name);
        let o = run(&[file.to_str().unwrap(), "--format", "html"]);
        assert_eq!(code(&o), 0);
        let html = String::from_utf8(o.stdout).unwrap();
        assert!(html.starts_with("<!DOCTYPE html>"), "{name}");
        assert!(html.contains("<style>") && html.contains("@media print"));
        assert!(!html.contains("<script") && !html.contains("<link"));
        assert!(
            !html.contains("style=\""),
            "{name}: no inline style attributes"
        );
        let input = std::fs::read(&file).unwrap();
        let parsed = workflow_analyzer::parse(&input).unwrap();
        let want: usize = parsed.workflows().iter().map(|w| w.steps.len()).sum();
        assert_eq!(html.matches("<g class=\"node ").count(), want, "{name}");
        let issues = json_of(&file)["issues"].as_array().unwrap().len();
        assert_eq!(html.matches("<article class=\"issue ").count(), issues);
        if name == "bundle.json" {
            assert!(html.contains("Account overview"));
            assert!(html.contains("Ordered by score, lowest first"));
        }
    }
}
