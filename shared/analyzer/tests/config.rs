//! `.workflow-audit.toml` and inline `audit-ignore:` notes through the `workflow-audit` binary:
//! discovery (upward, stopping at the repository root), rules switched off and re-levelled,
//! thresholds, exceptions by workflow and step, suppressed findings reported with their reason
//! (JSON `suppressed`, SARIF `suppressions`) and not counted; a bad file is refused.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_workflow-audit");
const OPT_OUT_STEP: &str = "027eb444-bfc5-5f85-9f34-eb09aaaad16d";
const WEBHOOK_STEP: &str = "085c94e5-8819-5975-bb10-a99ffc629570";

fn critical() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events/workflows/critical.json");
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// A fresh scratch directory (a `.git` in it so discovery never climbs into /tmp).
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir()
        .join(format!("workflow-audit-config-{}", std::process::id()))
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join(".git")).unwrap();
    dir
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().expect("runs")
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&o.stderr)))
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|i| i["ruleId"].as_str().unwrap().to_owned())
        .collect()
}

fn step_mut<'a>(doc: &'a mut Value, id: &str) -> &'a mut Value {
    doc["workflow"]["workflowData"]["templates"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|s| s["id"] == id)
        .unwrap()
}

const CONFIG: &str = r#"
disabled = ["unknown-step-type"]

[severity]
message-burst = "low"

[options.wait-too-long]
max-days = 36500

[[exceptions]]
rule = "hardcoded-url"
workflow = "wf_crit_001"
step = "085c94e5-8819-5975-bb10-a99ffc629570"
reason = "the staging URL is the client's own relay"
"#;

#[test]
fn config_and_inline_notes_suppress_relevel_and_tune() {
    let dir = scratch("full");
    let mut doc = critical();
    let wf_id = doc["workflow"]["_id"].as_str().unwrap().to_owned();
    step_mut(&mut doc, OPT_OUT_STEP)["comments"] = serde_json::json!([
        {"text": "Reviewed.\naudit-ignore: sms-without-opt-out the contact opted in by keyword with STOP instructions"}
    ]);
    let sub = dir.join("exports/client-a");
    std::fs::create_dir_all(&sub).unwrap();
    let file = sub.join("critical.json");
    std::fs::write(&file, serde_json::to_vec(&doc).unwrap()).unwrap();
    std::fs::write(
        dir.join(".workflow-audit.toml"),
        CONFIG.replace("wf_crit_001", &wf_id),
    )
    .unwrap();

    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events/workflows/critical.json");
    let plain = json(&run(&[sample.to_str().unwrap(), "--no-config"]));
    let noted = json(&run(&[file.to_str().unwrap(), "--no-config"]));
    let o = run(&[file.to_str().unwrap()]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v = json(&o);
    let open = ids(&v["issues"]);
    // Switched off: listed as skipped, not reported.
    assert!(!open.contains(&"unknown-step-type".to_owned()));
    assert!(v["skippedRules"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["ruleId"] == "unknown-step-type"));
    // Re-levelled.
    let burst = v["issues"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["ruleId"] == "message-burst");
    assert_eq!(burst.unwrap()["severity"], "low");
    // A threshold: a 400-day wait is no longer too long; the partial config kept every other rule.
    assert!(!open.contains(&"wait-too-long".to_owned()));
    assert!(open.contains(&"dangling-reference".to_owned()));
    assert!(open.contains(&"send-without-window".to_owned()));
    // Suppressed: reported with their reason, not counted.
    let suppressed = v["suppressed"].as_array().expect("suppressed list");
    let by_rule = |r: &str| suppressed.iter().find(|i| i["ruleId"] == r).unwrap();
    assert_eq!(
        by_rule("sms-without-opt-out")["suppression"]["kind"],
        "inSource"
    );
    assert_eq!(
        by_rule("sms-without-opt-out")["suppression"]["justification"],
        "the contact opted in by keyword with STOP instructions"
    );
    assert_eq!(by_rule("hardcoded-url")["suppression"]["kind"], "external");
    assert_eq!(by_rule("hardcoded-url")["stepId"], WEBHOOK_STEP);
    assert!(!open.contains(&"sms-without-opt-out".to_owned()));
    assert!(!open.contains(&"hardcoded-url".to_owned()));
    assert_eq!(
        v["summary"]["high"].as_u64().unwrap() + 1,
        plain["summary"]["high"].as_u64().unwrap()
    );

    // SARIF: the same findings with `suppressions`.
    let sarif = json(&run(&[file.to_str().unwrap(), "--format", "sarif"]));
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let sup: Vec<&Value> = results
        .iter()
        .filter(|r| r.get("suppressions").is_some())
        .collect();
    assert_eq!(sup.len(), 2);
    assert!(sup.iter().any(
        |r| r["suppressions"][0]["kind"] == "inSource" && r["ruleId"] == "sms-without-opt-out"
    ));
    assert!(sup
        .iter()
        .any(|r| r["suppressions"][0]["kind"] == "external"
            && r["suppressions"][0]["justification"]
                == "the staging URL is the client's own relay"));

    // Text: listed under "suppressed".
    let text = run(&[file.to_str().unwrap(), "--format", "text"]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("suppressed (not counted):"), "{text}");

    // HTML: an "Accepted findings" section with the reasons.
    let html = run(&[file.to_str().unwrap(), "--format", "html"]);
    let html = String::from_utf8_lossy(&html.stdout);
    assert!(html.contains("Accepted findings (2)"), "{html}");
    assert!(
        html.contains("the staging URL is the client&#39;s own relay")
            || html.contains("the staging URL is the client&#x27;s own relay")
    );

    // --config FILE names it explicitly; --no-config ignores the discovered one.
    let explicit = json(&run(&[
        file.to_str().unwrap(),
        "--config",
        dir.join(".workflow-audit.toml").to_str().unwrap(),
    ]));
    assert_eq!(explicit["suppressed"], v["suppressed"]);
    // The step note needs no configuration.
    assert!(plain.get("suppressed").is_none());
    assert_eq!(ids(&noted["suppressed"]), ["sms-without-opt-out"]);
}

#[test]
fn discovery_stops_at_the_repository_root() {
    let outer = scratch("outer");
    std::fs::write(
        outer.join(".workflow-audit.toml"),
        "disabled = [\"message-burst\"]\n",
    )
    .unwrap();
    // An inner repository: the outer file is above its root, so it is not read.
    let inner = outer.join("inner");
    std::fs::create_dir_all(inner.join(".git")).unwrap();
    let file = inner.join("wf.json");
    std::fs::write(&file, serde_json::to_vec(&critical()).unwrap()).unwrap();
    let v = json(&run(&[file.to_str().unwrap()]));
    assert!(ids(&v["issues"]).contains(&"message-burst".to_owned()));
    // Beside the outer file it is read.
    let near = outer.join("wf.json");
    std::fs::write(&near, serde_json::to_vec(&critical()).unwrap()).unwrap();
    let v = json(&run(&[near.to_str().unwrap()]));
    assert!(!ids(&v["issues"]).contains(&"message-burst".to_owned()));
}

#[test]
fn a_bad_config_is_refused_with_the_reason() {
    let dir = scratch("bad");
    let file = dir.join("wf.json");
    std::fs::write(&file, serde_json::to_vec(&critical()).unwrap()).unwrap();
    for (toml, says) in [
        ("disable = [\"message-burst\"]\n", "unknown key"),
        ("disabled = [\"no-such-rule\"]\n", "no-such-rule"),
        (
            "[[exceptions]]\nrule = \"hardcoded-url\"\nreason = \" \"\n",
            "reason is required",
        ),
        (
            "[options.message-burst]\nwindow-hours = 0\n",
            "window-hours",
        ),
        ("[options.message-burst]\nwindow = 3\n", "unknown field"),
        ("severity = 3\n", "severity"),
    ] {
        std::fs::write(dir.join(".workflow-audit.toml"), toml).unwrap();
        let o = run(&[file.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{toml}: {err}");
        assert!(err.contains(says), "{toml}: {err}");
        assert!(err.contains(".workflow-audit.toml"), "{err}");
    }
    let missing = run(&[file.to_str().unwrap(), "--config", "/nonexistent/x.toml"]);
    assert_eq!(missing.status.code(), Some(2));
}
