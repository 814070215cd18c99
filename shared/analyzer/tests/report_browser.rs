//! The HTML report in a real browser: `workflow-audit FILE --format html` for the repo's samples
//! (and a hostile workflow), loaded by Debian's headless `chromium` with `--dump-dom`; the
//! rendered DOM must hold every issue and one graph node per step, and the browser must log no
//! console message (a blocked request or script would be one: the report's Content-Security-Policy
//! allows nothing but its own style block).
//!
//! Without chromium the test passes after printing a loud `SKIPPED: chromium not installed` line
//! to the terminal (not to the captured test output, so `cargo test` shows it). `.ci/run`
//! installs chromium when it runs as root with apt-get; set `CHROMIUM=/path/to/chromium` to use
//! another binary.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

mod support {
    pub mod browser;
}
use support::browser::{chromium, dump_dom, loud};

const BIN: &str = env!("CARGO_BIN_EXE_workflow-audit");

fn scratch_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("workflow-audit-browser-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn report(input: &Path, out: &Path) -> Value {
    let o = Command::new(BIN)
        .arg(input)
        .args(["--format", "html"])
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    std::fs::write(out, &o.stdout).unwrap();
    let j = Command::new(BIN)
        .arg(input)
        .args(["--format", "json"])
        .output()
        .unwrap();
    serde_json::from_slice(&j.stdout).unwrap()
}

#[test]
fn the_report_renders_in_chromium_with_every_issue_and_step() {
    let Some(browser) = chromium() else {
        loud("SKIPPED: chromium not installed: the HTML report's browser test did not run (apt-get install chromium, or set CHROMIUM=/path/to/chromium)");
        return;
    };
    let dir = scratch_dir();
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events/workflows");
    let hostile = dir.join("hostile.json");
    std::fs::write(
        &hostile,
        json!({
            "workflow": {"id": "wf\"><script>alert(1)</script>", "name": "<script>document.title='pwned'</script> & 'co'",
              "workflowData": {"templates": [
                {"id": "a\"><img src=http://127.0.0.1:9/x>", "type": "sms", "name": "<img src=http://127.0.0.1:9/y onerror=alert(1)>",
                 "attributes": {"body": "Buy now <b>{{contact.first_name}}</b>"}, "next": "b"},
                {"id": "b", "type": "webhook", "name": "<style>body{display:none}</style>", "attributes": {"url": "https://webhook.site/x"}}
            ]}},
            "triggers": [{"type": "contact_tag", "conditions": []}]
        })
        .to_string(),
    )
    .unwrap();
    let mut inputs: Vec<PathBuf> = [
        "healthy.json",
        "medium.json",
        "critical.json",
        "bundle.json",
    ]
    .iter()
    .map(|n| samples.join(n))
    .collect();
    inputs.push(hostile);

    for input in &inputs {
        let name = input.file_stem().unwrap().to_string_lossy().into_owned();
        let page = dir.join(format!("{name}.html"));
        let result = report(input, &page);
        let (dom, log) = dump_dom(
            &browser,
            &format!("file://{}", page.display()),
            &dir.join(format!("profile-{name}")),
        );
        assert!(
            dom.contains("<main>"),
            "{name}: no DOM from chromium; log:\n{log}"
        );

        // Every issue, by its fingerprint, and nothing else.
        let issues = result["issues"].as_array().unwrap();
        assert_eq!(
            dom.matches("<article class=\"issue ").count(),
            issues.len(),
            "{name}"
        );
        for i in issues {
            let fp = i["fingerprint"].as_str().unwrap();
            assert!(
                dom.contains(&format!("data-fingerprint=\"{fp}\"")),
                "{name}: issue {} ({fp}) not rendered",
                i["ruleId"]
            );
        }
        // One node element per step, in the drawn SVG.
        let bytes = std::fs::read(input).unwrap();
        let parsed = workflow_analyzer::parse(&bytes).unwrap();
        let steps: usize = parsed.workflows().iter().map(|w| w.steps.len()).sum();
        assert_eq!(dom.matches("<g class=\"node ").count(), steps, "{name}");
        assert_eq!(
            dom.matches("<svg class=\"graph\"").count(),
            parsed
                .workflows()
                .iter()
                .filter(|w| !w.steps.is_empty())
                .count(),
            "{name}"
        );
        // The score card.
        let score = format!(
            "<div class=\"score\" id=\"score\">{}<small>",
            result["healthScore"]
        );
        assert!(dom.contains(&score), "{name}: {score}");
        // Nothing from the input became an element, and nothing was loaded or logged.
        for tag in ["<script", "<img", "<iframe", "<link", "<object", "<embed"] {
            assert!(!dom.contains(tag), "{name}: {tag} in the DOM");
        }
        assert_eq!(dom.matches("<style>").count(), 1, "{name}: one style block");
        let console: Vec<&str> = log.lines().filter(|l| l.contains(":CONSOLE")).collect();
        assert!(
            console.is_empty(),
            "{name}: console messages:\n{}",
            console.join("\n")
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
