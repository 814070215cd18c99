//! The workflow-audit GitHub Action (.github/actions/workflow-audit) runs exactly these commands
//! against the repo's own sample exports (events/workflows) with the binary cargo built for this
//! test: its build command, its audit script with the committed baselines (nothing new: exit 0,
//! one merged SARIF run), without baselines (every high is new: exit 1, the files named), and
//! with a baseline that lacks a file's findings (only that file fails).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_workflow-audit");
const BUILD: &str = "cargo build --release -p workflow-analyzer --bin workflow-audit";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir()
        .join(format!("workflow-audit-action-{}", std::process::id()))
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The Action's audit step: `audit.sh` with the environment action.yml gives it.
fn audit(env: &[(&str, &Path)], mode: Option<&str>) -> Output {
    let mut c = Command::new("bash");
    c.arg(repo().join(".github/actions/workflow-audit/audit.sh"))
        .current_dir(repo())
        .env("WORKFLOW_AUDIT", BIN)
        .env("AUDIT_PATH", "events/workflows")
        .env("FAIL_ON", "new:high")
        .env_remove("BASELINE_DIR")
        .env_remove("CONFIG");
    if let Some(m) = mode {
        c.env("MODE", m);
    }
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("bash runs audit.sh")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn the_action_builds_the_cli_and_runs_the_audit_script() {
    let action =
        std::fs::read_to_string(repo().join(".github/actions/workflow-audit/action.yml")).unwrap();
    assert!(action.contains("using: composite"));
    assert!(
        action.contains(&format!("run: {BUILD}")),
        "the build command"
    );
    assert!(action.contains("\"${{ github.action_path }}/audit.sh\""));
    assert!(action.contains("github/codeql-action/upload-sarif@"));
    assert!(action.contains(
        "WORKFLOW_AUDIT: ${{ runner.temp }}/workflow-audit-target/release/workflow-audit"
    ));
    let example =
        std::fs::read_to_string(repo().join(".github/workflow-templates/workflow-audit.yml"))
            .unwrap();
    assert!(example.contains("uses: ./.github/actions/workflow-audit"));
    assert!(example.contains("fail-on: new:high"));
    assert!(example.contains("security-events: write"));
    // The README shows the Action beside the CLI's other uses.
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    assert!(readme.contains(".github/actions/workflow-audit"));
}

#[test]
fn committed_baselines_mean_nothing_new_and_one_sarif_run() {
    let out = scratch("committed").join("audit.sarif");
    let baselines = repo().join(".github/workflow-audit/baseline");
    let o = audit(&[("BASELINE_DIR", &baselines), ("SARIF_FILE", &out)], None);
    assert_eq!(
        o.status.code(),
        Some(0),
        "a new high or critical finding in the samples; if a rule change meant it, regenerate the baselines:\n  MODE=baseline WORKFLOW_AUDIT=target/debug/workflow-audit AUDIT_PATH=events/workflows BASELINE_DIR=.github/workflow-audit/baseline .github/actions/workflow-audit/audit.sh\n{}",
        text(&o)
    );
    let log: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(log["version"], "2.1.0");
    let runs = log["runs"].as_array().unwrap();
    assert_eq!(
        runs.len(),
        1,
        "one run: code scanning takes one upload per category"
    );
    let run = &runs[0];
    let uris: Vec<&str> = run["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["location"]["uri"].as_str().unwrap())
        .collect();
    assert_eq!(
        uris,
        [
            "events/workflows/bundle.json",
            "events/workflows/critical.json",
            "events/workflows/healthy.json",
            "events/workflows/medium.json"
        ]
    );
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let results = run["results"].as_array().unwrap();
    assert!(!results.is_empty());
    for r in results {
        let i = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[i]["id"], r["ruleId"]);
        assert!(r["partialFingerprints"]["workflowAudit/v1"].is_string());
        let state = r["baselineState"].as_str().unwrap();
        let high = matches!(r["level"].as_str(), Some("error"));
        assert!(!(state == "new" && high), "a new error-level result: {r}");
    }
}

#[test]
fn without_a_baseline_every_high_fails_and_a_baseline_fails_only_what_is_new() {
    let dir = scratch("fresh");
    let out = dir.join("audit.sarif");
    let o = audit(&[("SARIF_FILE", &out)], None);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let t = text(&o);
    assert!(
        t.contains("::error file=events/workflows/critical.json::"),
        "{t}"
    );
    assert!(t.contains("ok events/workflows/healthy.json"), "{t}");
    assert!(out.exists(), "the SARIF is written before failing");

    // Baselines written by the same script, then critical.json's replaced by healthy.json's: only
    // critical.json has new findings, and only it fails.
    let baselines = dir.join("baseline");
    let o = audit(&[("BASELINE_DIR", &baselines)], Some("baseline"));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    std::fs::copy(
        baselines.join("healthy.json"),
        baselines.join("critical.json"),
    )
    .unwrap();
    let o = audit(&[("BASELINE_DIR", &baselines), ("SARIF_FILE", &out)], None);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let t = text(&o);
    assert!(
        t.contains("::error file=events/workflows/critical.json::"),
        "{t}"
    );
    assert!(t.contains("ok events/workflows/bundle.json"), "{t}");
    let log: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let new = log["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["baselineState"] == "new")
        .count();
    assert!(new > 0);
}
