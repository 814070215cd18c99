//! The API's HTML report in a real browser: `GET /api/analysis/{id}/report` answered by the
//! history function, served as it was answered (status, body and every header, the report's
//! Content-Security-Policy included) from a one-page local HTTP server, and loaded by Debian's
//! headless `chromium` with `--dump-dom`. The rendered DOM must hold every issue of the plan's
//! view and one graph node per step, nothing from the hostile workflow may become an element,
//! the browser must log no console message (a request or script the policy blocked would be one)
//! and ask the server for nothing but the page.
//!
//! Without chromium the test prints a loud `SKIPPED: chromium not installed` line to the
//! terminal (libtest captures only `print!`) and passes, as the analyzer's own browser test does;
//! `CHROMIUM=/path/to/chromium` names another binary.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};

use integration_tests::{Answer, TestApp};
use serde_json::{json, Value};

use crate::analyze::{make_pro, sample_as};
use crate::toolkit::{analyzed, get, id_of};

#[path = "../../shared/analyzer/tests/support/browser.rs"]
mod browser;
use browser::{chromium, dump_dom, loud};

/// Serves `answer` (status, headers, body) to every request on a local port; returns the
/// page's URL and the request lines the server saw.
fn serve(answer: &Answer) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a local port");
    let url = format!("http://{}/report", listener.local_addr().unwrap());
    let mut head = format!("HTTP/1.1 {} OK\r\n", answer.status);
    for (name, value) in &answer.headers {
        head.push_str(&format!("{name}: {}\r\n", value.to_str().unwrap()));
    }
    head.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n",
        answer.html.len()
    ));
    let response = [head.into_bytes(), answer.html.clone().into_bytes()].concat();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut line = String::new();
            let _ = BufReader::new(&stream).read_line(&mut line);
            // A connection opened ahead of need and closed unused sends nothing: not a request.
            if !line.trim().is_empty() {
                log.lock().unwrap().push(line.trim().to_owned());
            }
            let _ = stream.write_all(&response);
        }
    });
    (url, seen)
}

/// What the browser made of the report answer: its DOM, after checking the page loaded, logged
/// nothing and requested nothing but itself.
fn rendered(browser: &Path, answer: &Answer, name: &str, dir: &Path) -> String {
    assert_eq!(answer.status, 200, "{name}: {}", answer.json);
    let (url, seen) = serve(answer);
    let (dom, log) = dump_dom(browser, &url, &dir.join(format!("profile-{name}")));
    assert!(dom.contains("<main>"), "{name}: no DOM; log:\n{log}");
    let console: Vec<&str> = log.lines().filter(|l| l.contains(":CONSOLE")).collect();
    assert!(
        console.is_empty(),
        "{name}: console:\n{}",
        console.join("\n")
    );
    let requests = seen.lock().unwrap().clone();
    assert!(
        !requests.is_empty() && requests.iter().all(|r| r.starts_with("GET /report ")),
        "{name}: the page asked for more than itself: {requests:?}"
    );
    for tag in ["<script", "<img", "<iframe", "<link", "<object", "<embed"] {
        assert!(!dom.contains(tag), "{name}: {tag} in the DOM");
    }
    assert_eq!(dom.matches("<style>").count(), 1, "{name}: one style block");
    dom
}

fn steps_of(body: &Value) -> usize {
    body["workflow"]["workflowData"]["templates"]
        .as_array()
        .map_or(0, Vec::len)
}

#[tokio::test]
async fn the_api_report_renders_in_chromium_in_each_plans_view() {
    let Some(browser) = chromium() else {
        loud("SKIPPED: chromium not installed: the API report's browser test did not run (apt-get install chromium, or set CHROMIUM=/path/to/chromium)");
        return;
    };
    let dir = std::env::temp_dir().join(format!("api-report-browser-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let t = TestApp::new().await;
    let cookie = t.connected_session("LocBrowser1").await;

    let mut hostile = sample_as("critical", "wf-browser");
    hostile["workflow"]["name"] = json!("<script>document.title='pwned'</script> & 'co'");
    hostile["workflow"]["workflowData"]["templates"][0]["name"] =
        json!("<img src=http://127.0.0.1:9/y onerror=alert(1)>");
    let steps = steps_of(&hostile);
    assert!(steps > 3);
    let id = id_of(&analyzed(&t, &cookie, &hostile).await);
    let path = format!("/api/analysis/{id}/report");

    // Free: the top 3 issues, every step drawn.
    let dom = rendered(&browser, &get(&t, &cookie, &path).await, "free", &dir);
    assert_eq!(dom.matches("<article class=\"issue ").count(), 3);
    assert_eq!(dom.matches("<g class=\"node ").count(), steps);
    assert!(dom.contains("id=\"top-only\""));

    // Pro, after a second analysis of the workflow: every issue, marked against the first.
    make_pro(&t, "LocBrowser1").await;
    let second = analyzed(&t, &cookie, &hostile).await;
    let path = format!("/api/analysis/{}/report", id_of(&second));
    let dom = rendered(&browser, &get(&t, &cookie, &path).await, "pro", &dir);
    let issues = second["result"]["issues"].as_array().unwrap();
    assert!(issues.len() > 3);
    assert_eq!(dom.matches("<article class=\"issue ").count(), issues.len());
    for issue in issues {
        let fp = issue["fingerprint"].as_str().unwrap();
        assert!(dom.contains(&format!("data-fingerprint=\"{fp}\"")), "{fp}");
    }
    assert_eq!(
        dom.matches("data-baseline=\"unchanged\"").count(),
        issues.len()
    );
    assert_eq!(dom.matches("<g class=\"node ").count(), steps);
    let score = format!(
        "<div class=\"score\" id=\"score\">{}<small>",
        second["result"]["healthScore"]
    );
    assert!(dom.contains(&score), "{score}");
    let _ = std::fs::remove_dir_all(&dir);
}
