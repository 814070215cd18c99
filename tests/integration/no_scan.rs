//! No code path scans a table (issue 19): a Scan costs in proportion to every tenant's data, so
//! every per-location record is found by key or by an index, or left to TTL. Two checks: the
//! source of the core and the functions never builds a Scan, and a whole uninstall (company
//! fan-out, the mark, the queued jobs and the erasure worker's run of each) sends none, counted through the fault
//! proxy. (Test support, `tests/`, may scan: it reads whole test tables.)

use std::path::{Path, PathBuf};

use backend_core::auth::LocationId;
use backend_core::clock::now_epoch;
use backend_core::install::{self, InstallWrites};
use integration_tests::fault_proxy::FaultProxy;
use integration_tests::TestApp;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_source_outside_the_tests_builds_a_scan() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for dir in ["shared/core/src", "shared/analyzer/src", "functions"] {
        rust_files(&root.join(dir), &mut files);
    }
    assert!(files.len() > 20, "found only {} files", files.len());
    let mut found = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("read");
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            if code.contains(".scan()") || code.contains("ScanInput") || code.contains("scan_all") {
                found.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "Scan on a request or job path:\n{}",
        found.join("\n")
    );
}

#[tokio::test]
async fn a_company_uninstall_and_its_erasure_by_the_worker_send_no_scan() {
    let t = TestApp::new().await;
    let company = "compNoScan";
    let mut locations = Vec::new();
    for n in 0..3 {
        let id = format!("locNoScan{n}");
        t.connected_session(&id).await;
        let location = LocationId::parse(&id).expect("location");
        let installation = install::Installation {
            installed_at: now_epoch() - 5,
            company_id: Some(company.to_owned()),
            ..install::Installation::default()
        };
        let recorded = t
            .app
            .accounts()
            .record_installation(&location, &installation, now_epoch())
            .await;
        assert_eq!(recorded.ok(), Some(true));
        locations.push(location);
    }
    let proxy = FaultProxy::start().await;
    let app = proxy.app_for(&t);
    let now = now_epoch();
    // What the webhook does: page the company's locations, mark each, queue one job each.
    let queue = app.erasure_queue().expect("ERASURE_QUEUE_URL");
    let (page, next) = app
        .accounts()
        .company_locations_page(company, None)
        .await
        .expect("company");
    assert!(next.is_none());
    let mut found = page.clone();
    found.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    assert_eq!(found, locations);
    let queued = install::queue_erasure(&app.accounts(), &queue, &page, now, "wh-noscan", now)
        .await
        .expect("queue");
    assert_eq!(queued.jobs, 3);
    // What the worker does, through the same proxy.
    let messages = t.receive_erasures().await;
    assert_eq!(messages.len(), 3);
    let delivered = t.deliver_erasures_via(&app, &messages).await;
    assert!(delivered.failed.is_empty(), "{delivered:?}");
    for location in &locations {
        assert!(t
            .app
            .accounts()
            .get(location)
            .await
            .expect("read")
            .is_none());
    }
    let calls = proxy.take_calls();
    let ops: std::collections::BTreeSet<_> = calls.iter().map(|c| c.op.as_str()).collect();
    for expected in ["Query", "UpdateItem", "GetItem", "DeleteItem"] {
        assert!(ops.contains(expected), "{expected} not seen: {ops:?}");
    }
    let scans: Vec<_> = calls.iter().filter(|c| c.op == "Scan").collect();
    assert!(scans.is_empty(), "{} Scan(s) sent", scans.len());
}
