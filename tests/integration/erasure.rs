//! The erasure queue and its worker against moto with the real SDK (issue 19): the webhook's
//! fan-out to one job per location, the worker's partial batch answers, duplicates, a
//! reinstall while a job waits, and jobs under injected DynamoDB faults.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;
use backend_core::auth::LocationId;
use backend_core::clock::{now_epoch, now_epoch_ms};
use backend_core::erasure::ErasureJob;
use backend_core::highlevel::WorkflowId;
use backend_core::install::signature::WebhookKey;
use backend_core::install::{InstallWrites, Installation};
use backend_core::store::results::{AnalysisId, NewAnalysis};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ed25519_dalek::{Signer, SigningKey};
use integration_tests::fault_proxy::{FaultProxy, Faults};
use integration_tests::{request, scan_all, Answer, TestApp};
use serde_json::{json, Value};

type Item = HashMap<String, AttributeValue>;

struct World {
    t: TestApp,
    key: SigningKey,
}

async fn world() -> World {
    world_with(&[]).await
}

async fn world_with(extra: &[(&str, Option<&str>)]) -> World {
    let key = SigningKey::from_bytes(&rand::random::<[u8; 32]>());
    let spki = WebhookKey::from_verifying_key(key.verifying_key()).to_spki_base64();
    let mut env = vec![
        ("GHL_WEBHOOK_PUBLIC_KEY", Some(spki.as_str())),
        ("GHL_APP_ID", Some("app_test_1")),
    ];
    env.extend_from_slice(extra);
    World {
        t: TestApp::with_env(&env).await,
        key,
    }
}

fn iso(epoch_ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(epoch_ms) * 1_000_000)
        .expect("time")
        .format(&time::format_description::well_known::Rfc3339)
        .expect("format")
}

fn payload(kind: &str, fields: Value) -> Value {
    let mut body = json!({
        "type": kind,
        "appId": "app_test_1",
        "webhookId": format!("wh-{}", hex::encode(rand::random::<[u8; 8]>())),
        "timestamp": iso(now_epoch_ms()),
    });
    if let (Some(body), Value::Object(fields)) = (body.as_object_mut(), fields) {
        body.extend(fields);
    }
    body
}

fn location(id: &str) -> LocationId {
    LocationId::parse(id).expect("location id")
}

impl World {
    async fn deliver(&self, body: &Value) -> Answer {
        let text = body.to_string();
        let signature = STANDARD.encode(self.key.sign(text.as_bytes()).to_bytes());
        let req = request("POST", "/webhooks/ghl")
            .header("content-type", "application/json")
            .header("x-ghl-signature", &signature)
            .body(&text)
            .build();
        let answer = self.t.call(&ghl_webhook::routes(), req).await;
        answer.assert_envelope();
        answer
    }

    /// A connected location with a session, `analyses` analyses and, when `company` is given,
    /// an installation recorded for that company.
    async fn populated(&self, id: &str, company: Option<&str>, analyses: i64) -> String {
        let cookie = self.t.connected_session(id).await;
        if let Some(company) = company {
            let installation = Installation {
                installed_at: now_epoch() - 60,
                company_id: Some(company.to_owned()),
                ..Installation::default()
            };
            let recorded = self
                .t
                .app
                .accounts()
                .record_installation(&location(id), &installation, now_epoch())
                .await;
            assert_eq!(recorded.ok(), Some(true));
        }
        for n in 0..analyses {
            self.analysis(id, now_epoch_ms() - 1000 + n).await;
        }
        cookie
    }

    async fn analysis(&self, id: &str, created_ms: i64) -> AnalysisId {
        let analysis = AnalysisId::generate(created_ms);
        let summary = json!({"issues": 1});
        let workflow = WorkflowId::parse("wf-1").expect("workflow id");
        self.t
            .app
            .results()
            .put(&NewAnalysis {
                location: &location(id),
                id: &analysis,
                workflow_id: Some(&workflow),
                workflow_name: Some("Welcome"),
                health_score: 80,
                grade: "B",
                confidence: "high",
                summary: &summary,
                created_at_ms: created_ms,
                expires_at: None,
                result: &summary,
                definition: None,
                compared: None,
            })
            .await
            .expect("put analysis");
        analysis
    }

    /// Every item of every table mentioning `id` (idempotency records aside), comparable: each
    /// attribute printed, items sorted.
    async fn items_of(&self, id: &str) -> Vec<(&'static str, BTreeMap<String, String>)> {
        let mut all = Vec::new();
        for (name, table) in self.t.tables().named() {
            for item in scan_all(&self.t.aws, table).await {
                let mentions = item
                    .values()
                    .any(|v| matches!(v, AttributeValue::S(s) if s.contains(id)));
                if mentions && name != "idempotency" {
                    let printed = item.iter().map(|(k, v)| (k.clone(), format!("{v:?}")));
                    all.push((name, printed.collect()));
                }
            }
        }
        all.sort();
        all
    }

    async fn send_raw(&self, body: &str) -> String {
        self.t
            .aws
            .sqs()
            .send_message()
            .queue_url(self.t.erasure_queue_url())
            .message_body(body)
            .send()
            .await
            .expect("send")
            .message_id
            .expect("message id")
    }

    async fn queue_counts(&self) -> (i64, i64) {
        let attributes = self
            .t
            .aws
            .sqs()
            .get_queue_attributes()
            .queue_url(self.t.erasure_queue_url())
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
            .send()
            .await
            .expect("attributes")
            .attributes
            .unwrap_or_default();
        let count = |name: aws_sdk_sqs::types::QueueAttributeName| {
            attributes
                .get(&name)
                .and_then(|v| v.parse().ok())
                .unwrap_or(-1)
        };
        (
            count(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages),
            count(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
        )
    }
}

#[tokio::test]
async fn a_company_uninstall_queues_one_job_per_location_in_batches() {
    let w = world().await;
    let ids: Vec<String> = (0..23).map(|n| format!("locFan{n:02}")).collect();
    for id in &ids {
        w.populated(id, Some("compFan"), 0).await;
    }
    w.populated("locOtherCo", Some("compOther"), 0).await;
    let body = payload("UNINSTALL", json!({"companyId": "compFan"}));

    let answer = w.deliver(&body).await;

    assert_eq!(answer.status, 200, "{}", answer.json);
    assert_eq!(answer.json["data"]["locations"], 23, "{}", answer.json);
    assert_eq!(answer.json["data"]["queued"]["jobs"], 23);
    let mut jobs = Vec::new();
    loop {
        let messages = w.t.receive_erasures().await;
        if messages.is_empty() {
            break;
        }
        for message in messages {
            jobs.push(ErasureJob::parse(message.body().unwrap_or_default()).expect("a job"));
        }
    }
    let queued: BTreeSet<_> = jobs
        .iter()
        .map(|j| j.location_id.as_str().to_owned())
        .collect();
    assert_eq!(jobs.len(), 23, "one message per location");
    assert_eq!(queued, ids.iter().cloned().collect::<BTreeSet<_>>());
    let sent_at = iso_secs(body["timestamp"].as_str().expect("timestamp"));
    for job in &jobs {
        assert_eq!(job.uninstalled_at, sent_at);
        assert_eq!(Some(job.event_id.as_str()), body["webhookId"].as_str());
    }
    // Marked at once, erased only by the worker.
    let marked =
        w.t.app
            .accounts()
            .install_state(&location("locFan07"))
            .await;
    assert!(
        matches!(marked, Ok(backend_core::install::InstallState::UninstalledAt(at)) if at == sent_at)
    );
    let other =
        w.t.app
            .accounts()
            .install_state(&location("locOtherCo"))
            .await;
    assert_eq!(
        other.ok(),
        Some(backend_core::install::InstallState::Installed)
    );
}

fn iso_secs(text: &str) -> i64 {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .expect("iso")
        .unix_timestamp()
}

#[tokio::test]
async fn a_duplicate_job_is_harmless() {
    let w = world().await;
    w.populated("locDup1", None, 4).await;
    w.populated("locDup2", None, 2).await;
    let kept_before = w.items_of("locDup2").await;
    let answer = w
        .deliver(&payload("UNINSTALL", json!({"locationId": "locDup1"})))
        .await;
    assert_eq!(answer.json["data"]["queued"]["jobs"], 1, "{}", answer.json);
    let job = w.t.receive_erasures().await;
    assert_eq!(job.len(), 1);
    // The same job delivered again (SQS delivers at least once), in the same batch and later.
    w.send_raw(job[0].body().unwrap_or_default()).await;
    let again = w.t.receive_erasures().await;
    let batch = [job, again].concat();

    let first = w.t.deliver_erasures(&batch).await;
    w.send_raw(batch[0].body().unwrap_or_default()).await;
    let later = w.t.drain_erasures().await;

    assert_eq!(first.messages, 2);
    assert!(first.failed.is_empty(), "{first:?}");
    assert_eq!(later.len(), 1);
    assert!(later[0].failed.is_empty(), "{later:?}");
    assert!(w.items_of("locDup1").await.is_empty());
    assert_eq!(
        w.items_of("locDup2").await,
        kept_before,
        "another location changed"
    );
    assert_eq!(w.queue_counts().await, (0, 0));
}

/// A reinstall (INSTALL, then a new OAuth connection and new analyses) while the job waits: the
/// worker erases what predates the uninstall and keeps what the new installation created.
#[tokio::test]
async fn a_job_for_a_location_reinstalled_since_keeps_the_new_installation() {
    let w = world().await;
    let old_cookie = w.populated("locAgain1", Some("compAgain"), 3).await;
    let uninstall = payload("UNINSTALL", json!({"locationId": "locAgain1"}));
    assert_eq!(
        w.deliver(&uninstall).await.json["data"]["queued"]["jobs"],
        1
    );
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let reinstall = payload(
        "INSTALL",
        json!({"locationId": "locAgain1", "companyId": "compAgain"}),
    );
    assert_eq!(
        w.deliver(&reinstall).await.json["data"]["result"],
        "applied"
    );
    let new_cookie = w.t.connected_session("locAgain1").await;
    let new_analysis = w.analysis("locAgain1", now_epoch_ms()).await;

    let deliveries = w.t.drain_erasures().await;

    assert_eq!(deliveries.len(), 1);
    assert!(deliveries[0].failed.is_empty(), "{deliveries:?}");
    let account =
        w.t.app
            .accounts()
            .get(&location("locAgain1"))
            .await
            .expect("read")
            .expect("the new installation's account stays");
    assert!(account.access_token.is_some(), "the new tokens stay");
    assert!(account.installed_at.is_some());
    let results = scan_all(&w.t.aws, &w.t.tables().results).await;
    let ids: Vec<_> = results
        .iter()
        .filter_map(|r| r["analysisId"].as_s().ok().cloned())
        .collect();
    assert_eq!(
        ids,
        [new_analysis.as_str().to_owned()],
        "only the new analysis stays"
    );
    let history = |cookie: &str| request("GET", "/api/history").cookie(cookie).build();
    assert_eq!(
        w.t.call(&history::routes(), history(&new_cookie))
            .await
            .status,
        200
    );
    assert_eq!(
        w.t.call(&history::routes(), history(&old_cookie))
            .await
            .status,
        401
    );
    let sessions = scan_all(&w.t.aws, &w.t.tables().sessions).await;
    assert_eq!(
        sessions.len(),
        1,
        "the old sessions are erased, the new one stays"
    );
}

#[tokio::test]
async fn a_partial_batch_failure_reports_only_the_failed_message() {
    let w = world().await;
    w.populated("locBatch1", None, 2).await;
    let answer = w
        .deliver(&payload("UNINSTALL", json!({"locationId": "locBatch1"})))
        .await;
    assert_eq!(answer.json["data"]["queued"]["jobs"], 1);
    let hostile = w
        .send_raw(r#"{"locationId":"../../etc","uninstalledAt":1,"eventId":"x"}"#)
        .await;
    let garbage = w.send_raw("not json at all").await;
    let mut batch = Vec::new();
    while batch.len() < 3 {
        let received = w.t.receive_erasures().await;
        assert!(
            !received.is_empty(),
            "three messages expected, got {}",
            batch.len()
        );
        batch.extend(received);
    }

    let delivered = w.t.deliver_erasures(&batch).await;

    let failed: BTreeSet<_> = delivered.failed.iter().cloned().collect();
    assert_eq!(failed, BTreeSet::from([hostile, garbage]), "{delivered:?}");
    assert!(w.items_of("locBatch1").await.is_empty(), "the good job ran");
    assert_eq!(
        w.queue_counts().await,
        (0, 2),
        "the failed two stay, in flight"
    );
    assert!(integration_tests::captured_logs().contains("erasure message refused"));
}

/// The issue's evidence under the fault proxy: throttled, failed and lost DynamoDB calls make
/// jobs fail and come back; every location ends fully erased and the untouched one unchanged.
#[tokio::test]
async fn jobs_under_dynamodb_faults_end_fully_erased_after_retries() {
    let w = world().await;
    let gone = ["locFault1", "locFault2", "locFault3"];
    for id in gone {
        w.populated(id, Some("compFault"), 30).await;
    }
    w.populated("locFaultKeep", Some("compKeep"), 5).await;
    let kept_before = w.items_of("locFaultKeep").await;
    let answer = w
        .deliver(&payload("UNINSTALL", json!({"companyId": "compFault"})))
        .await;
    assert_eq!(answer.json["data"]["queued"]["jobs"], 3, "{}", answer.json);
    let proxy = FaultProxy::start().await;
    let app = proxy.app_for(&w.t);
    proxy.set_faults(Faults {
        throttle: 0.15,
        error_500: 0.1,
        lost_reply: 0.1,
        ..Faults::NONE
    });

    let mut failures = 0;
    for _ in 0..40 {
        let messages = w.t.receive_erasures().await;
        if messages.is_empty() {
            break;
        }
        let delivered = w.t.deliver_erasures_via(&app, &messages).await;
        failures += delivered.failed.len();
        // Failed messages come back after their visibility timeout; here, at once.
        for message in &messages {
            if delivered
                .failed
                .iter()
                .any(|f| Some(f.as_str()) == message.message_id())
            {
                w.t.aws
                    .sqs()
                    .change_message_visibility()
                    .queue_url(w.t.erasure_queue_url())
                    .receipt_handle(message.receipt_handle().unwrap_or_default())
                    .visibility_timeout(0)
                    .send()
                    .await
                    .expect("make visible");
            }
        }
    }

    let injected = proxy
        .take_calls()
        .iter()
        .filter(|c| c.injected != integration_tests::fault_proxy::Injected::None)
        .count();
    assert!(injected > 0, "no fault was injected");
    assert!(failures > 0, "no job failed: the faults proved nothing");
    assert_eq!(w.queue_counts().await, (0, 0), "the queue drained");
    for id in gone {
        assert!(w.items_of(id).await.is_empty(), "{id} is not fully erased");
    }
    assert_eq!(w.items_of("locFaultKeep").await, kept_before);
}

#[tokio::test]
async fn with_a_retention_period_a_duplicate_job_keeps_the_first_expiry() {
    let w = world_with(&[("UNINSTALL_RESULTS_RETENTION_DAYS", Some("7"))]).await;
    w.populated("locKeep7", None, 3).await;
    w.deliver(&payload("UNINSTALL", json!({"locationId": "locKeep7"})))
        .await;
    let job = w.t.receive_erasures().await;
    assert_eq!(job.len(), 1);
    let body = job[0].body().unwrap_or_default().to_owned();
    w.t.deliver_erasures(&job).await;
    let expiries = |items: Vec<Item>| -> Vec<String> {
        items
            .iter()
            .map(|i| i["expiresAt"].as_n().expect("expiresAt").clone())
            .collect()
    };
    let first = expiries(scan_all(&w.t.aws, &w.t.tables().results).await);
    assert_eq!(first.len(), 3);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;

    w.send_raw(&body).await;
    w.t.drain_erasures().await;

    let second = expiries(scan_all(&w.t.aws, &w.t.tables().results).await);
    assert_eq!(second, first, "a rerun does not push the expiry later");
    assert!(scan_all(&w.t.aws, &w.t.tables().sessions).await.is_empty());
}

/// A worker killed in the middle of a job (Lambda's timeout, a crash): the job runs again from
/// the start and ends in the same state as one uninterrupted run.
#[tokio::test]
async fn a_job_cut_off_half_way_finishes_when_it_runs_again() {
    let w = world().await;
    w.populated("locCut1", None, 0).await;
    for n in 0..150 {
        w.analysis("locCut1", now_epoch_ms() - 5000 + n).await;
    }
    w.populated("locCutKeep", None, 3).await;
    let kept_before = w.items_of("locCutKeep").await;
    let answer = w
        .deliver(&payload("UNINSTALL", json!({"locationId": "locCut1"})))
        .await;
    assert_eq!(answer.json["data"]["queued"]["jobs"], 1);
    let messages = w.t.receive_erasures().await;
    let job = ErasureJob::parse(messages[0].body().unwrap_or_default()).expect("job");
    let stores = w.t.app.erasure();
    let remaining = || async {
        scan_all(&w.t.aws, &w.t.tables().results)
            .await
            .iter()
            .filter(|r| r["locationId"].as_s().ok().map(String::as_str) == Some("locCut1"))
            .count()
    };

    let mut cut_half_way = false;
    for budget_ms in (5..200).step_by(5) {
        let run = backend_core::erasure::erase(&stores, &job, now_epoch());
        let cut = tokio::time::timeout(std::time::Duration::from_millis(budget_ms), run).await;
        if cut.is_ok() {
            break;
        }
        let left = remaining().await;
        if left > 0 && left < 150 {
            cut_half_way = true;
            break;
        }
    }
    assert!(
        cut_half_way,
        "no run was cut off half-way through the analyses"
    );
    let delivered = w.t.deliver_erasures(&messages).await;

    assert!(delivered.failed.is_empty(), "{delivered:?}");
    assert_eq!(remaining().await, 0);
    assert!(w.items_of("locCut1").await.is_empty());
    assert_eq!(w.items_of("locCutKeep").await, kept_before);
}

/// The issue's scale run (ignored by default; minutes of seeding): a company of `SCALE_LOCATIONS`
/// (200) locations with `SCALE_ANALYSES` (50) analyses each, uninstalled at once. Prints the
/// webhook's answer time, the time to drain the queue with 5 workers (the event source's
/// `MaximumConcurrency`) and the DynamoDB requests per erased location, counted by the fault
/// proxy. `cargo test -p integration-tests --test integration -- --ignored --nocapture scale_run`
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "the scale run: minutes of seeding; run it by name with --ignored"]
async fn scale_run_company_uninstall() {
    use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
    let number = |name: &str, default: usize| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let (locations, analyses) = (number("SCALE_LOCATIONS", 200), number("SCALE_ANALYSES", 50));
    let w = world().await;
    let seeding = std::time::Instant::now();
    let base_ms = now_epoch_ms() - 60_000;
    for n in 0..locations {
        let id = format!("locScale{n:04}");
        w.populated(&id, Some("compScale"), 0).await;
        let mut writes = Vec::new();
        for a in 0..analyses {
            let created = base_ms + a as i64;
            let item = HashMap::from([
                ("locationId".to_owned(), AttributeValue::S(id.clone())),
                (
                    "analysisId".to_owned(),
                    AttributeValue::S(AnalysisId::generate(created).as_str().to_owned()),
                ),
                (
                    "createdAt".to_owned(),
                    AttributeValue::N(created.to_string()),
                ),
                ("grade".to_owned(), AttributeValue::S("B".into())),
                (
                    "result".to_owned(),
                    AttributeValue::B(aws_sdk_dynamodb::primitives::Blob::new(vec![7u8; 2048])),
                ),
            ]);
            let put = PutRequest::builder()
                .set_item(Some(item))
                .build()
                .expect("put");
            writes.push(WriteRequest::builder().put_request(put).build());
        }
        for chunk in writes.chunks(25) {
            w.t.aws
                .dynamodb()
                .batch_write_item()
                .request_items(&w.t.tables().results, chunk.to_vec())
                .send()
                .await
                .expect("seed analyses");
        }
    }
    let seeded = seeding.elapsed();

    let webhook = std::time::Instant::now();
    let answer = w
        .deliver(&payload("UNINSTALL", json!({"companyId": "compScale"})))
        .await;
    let webhook = webhook.elapsed();
    assert_eq!(answer.status, 200, "{}", answer.json);
    assert_eq!(
        answer.json["data"]["queued"]["jobs"], locations,
        "{}",
        answer.json
    );

    let proxy = FaultProxy::start().await;
    let app = proxy.app_for(&w.t);
    let drain = std::time::Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..5 {
        let (app, sqs) = (app.clone(), w.t.aws.sqs().clone());
        let url = w.t.erasure_queue_url().to_owned();
        workers.spawn(async move {
            let mut failed = 0;
            loop {
                let messages = sqs
                    .receive_message()
                    .queue_url(&url)
                    .max_number_of_messages(10)
                    .visibility_timeout(300)
                    .send()
                    .await
                    .expect("receive")
                    .messages
                    .unwrap_or_default();
                if messages.is_empty() {
                    return failed;
                }
                let event = integration_tests::sqs_event(&messages);
                let response = erasure::handle(&app, event, None).await;
                failed += response.batch_item_failures.len();
                for message in &messages {
                    let id = message.message_id().unwrap_or_default();
                    if response
                        .batch_item_failures
                        .iter()
                        .any(|f| f.item_identifier == id)
                    {
                        continue;
                    }
                    sqs.delete_message()
                        .queue_url(&url)
                        .receipt_handle(message.receipt_handle().unwrap_or_default())
                        .send()
                        .await
                        .expect("delete");
                }
            }
        });
    }
    let mut failed = 0;
    while let Some(done) = workers.join_next().await {
        failed += done.expect("worker");
    }
    let drained = drain.elapsed();
    assert_eq!(failed, 0);
    assert_eq!(w.queue_counts().await, (0, 0));
    assert!(scan_all(&w.t.aws, &w.t.tables().results).await.is_empty());

    let calls = proxy.take_calls();
    let mut by_op: BTreeMap<String, usize> = BTreeMap::new();
    for call in &calls {
        *by_op
            .entry(format!("{} {}", call.op, call.table))
            .or_default() += 1;
    }
    let per_location = calls.len() as f64 / locations as f64;
    println!(
        "scale run: {locations} locations x {analyses} analyses (seeded in {:.1} s)\n\
         webhook (mark + queue, company fan-out): {} ms\n\
         drain with 5 workers: {:.2} s ({:.1} ms per location)\n\
         DynamoDB requests by the worker: {} ({per_location:.1} per location)",
        seeded.as_secs_f64(),
        webhook.as_millis(),
        drained.as_secs_f64(),
        drained.as_secs_f64() * 1000.0 / locations as f64,
        calls.len(),
    );
    for (op, count) in by_op {
        println!("    {op}: {count}");
    }
}

/// events/erasure-sqs.json, the SQS event Lambda delivers (also `make invoke FN=erasure
/// EVENT=events/erasure-sqs.json`): its job runs, its second body is no job and is the only
/// failure reported.
#[tokio::test]
async fn the_sample_sqs_event_runs_its_job_and_reports_only_the_bad_body() {
    let w = world().await;
    let text =
        std::fs::read_to_string(integration_tests::repo_root().join("events/erasure-sqs.json"))
            .expect("read the sample");
    let event: aws_lambda_events::event::sqs::SqsEvent =
        serde_json::from_str(&text).expect("the sample is an SQS event");
    assert_eq!(event.records.len(), 2);

    let response = erasure::handle(&w.t.app, event, None).await;

    let failed: Vec<_> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(failed, ["2e1424d4-f796-459a-8184-9c92662be6da"]);
    let answer = serde_json::to_value(&response).expect("serializes");
    assert_eq!(
        answer,
        json!({"batchItemFailures": [{"itemIdentifier": "2e1424d4-f796-459a-8184-9c92662be6da"}]}),
        "the shape Lambda reads"
    );
}

/// With less than `MIN_TIME_LEFT_MS` before the invocation's deadline, a job is not started: it
/// is reported failed and runs in a later delivery.
#[tokio::test]
async fn a_job_is_not_started_too_close_to_the_deadline() {
    let w = world().await;
    w.populated("locLate1", None, 2).await;
    w.deliver(&payload("UNINSTALL", json!({"locationId": "locLate1"})))
        .await;
    let messages = w.t.receive_erasures().await;
    assert_eq!(messages.len(), 1);
    let soon = now_epoch_ms() + erasure::MIN_TIME_LEFT_MS / 2;

    let response = erasure::handle(
        &w.t.app,
        integration_tests::sqs_event(&messages),
        Some(soon),
    )
    .await;

    assert_eq!(response.batch_item_failures.len(), 1);
    assert_eq!(
        Some(response.batch_item_failures[0].item_identifier.as_str()),
        messages[0].message_id()
    );
    let results = scan_all(&w.t.aws, &w.t.tables().results).await;
    assert_eq!(results.len(), 2, "nothing erased yet");
    let later = now_epoch_ms() + 10 * erasure::MIN_TIME_LEFT_MS;
    let response = erasure::handle(
        &w.t.app,
        integration_tests::sqs_event(&messages),
        Some(later),
    )
    .await;
    assert!(response.batch_item_failures.is_empty());
    assert!(w.items_of("locLate1").await.is_empty());
}

/// Without `ERASURE_QUEUE_URL` an uninstall cannot be queued: 429 (HighLevel retries), an error
/// in the log, nothing marked and the delivery's claim released.
#[tokio::test]
async fn without_the_queue_url_an_uninstall_answers_429_and_marks_nothing() {
    let mut w = world().await;
    w.t =
        w.t.reconfigured(|config| config.ghl_webhook.erasure_queue_url = None);
    w.populated("locNoQueue1", None, 1).await;
    let body = payload("UNINSTALL", json!({"locationId": "locNoQueue1"}));

    let answer = w.deliver(&body).await;

    assert_eq!(answer.status, 429, "{}", answer.json);
    assert_eq!(answer.header("retry-after"), Some("600"));
    let state =
        w.t.app
            .accounts()
            .install_state(&location("locNoQueue1"))
            .await;
    assert_eq!(
        state.ok(),
        Some(backend_core::install::InstallState::Installed)
    );
    assert!(integration_tests::captured_logs().contains("ERASURE_QUEUE_URL is not set"));
    let idempotency = scan_all(&w.t.aws, &w.t.tables().idempotency).await;
    assert!(
        idempotency.is_empty(),
        "the claim is released: {idempotency:?}"
    );
}

/// SQS refusing the jobs (here: the queue is gone) answers 429 after the mark; HighLevel's retry
/// of the same delivery marks again (no change) and queues the job.
#[tokio::test]
async fn a_failed_send_answers_429_and_the_retry_queues_the_job() {
    let w = world().await;
    w.populated("locSendFail1", None, 1).await;
    let body = payload("UNINSTALL", json!({"locationId": "locSendFail1"}));
    let url = w.t.erasure_queue_url().to_owned();
    let name = url.rsplit('/').next().expect("queue name").to_owned();
    w.t.aws
        .sqs()
        .delete_queue()
        .queue_url(&url)
        .send()
        .await
        .expect("delete queue");

    let refused = w.deliver(&body).await;

    assert_eq!(refused.status, 429, "{}", refused.json);
    let state =
        w.t.app
            .accounts()
            .install_state(&location("locSendFail1"))
            .await;
    assert!(
        matches!(
            state,
            Ok(backend_core::install::InstallState::UninstalledAt(_))
        ),
        "the mark is durable before the send: {state:?}"
    );
    assert_eq!(integration_tests::create_queue(&w.t.aws, &name).await, url);
    let retried = w.deliver(&body).await;
    assert_eq!(retried.status, 200, "{}", retried.json);
    assert_eq!(retried.json["data"]["duplicate"], false);
    assert_eq!(retried.json["data"]["queued"]["jobs"], 1);
    let deliveries = w.t.drain_erasures().await;
    assert_eq!(deliveries.len(), 1);
    assert!(w.items_of("locSendFail1").await.is_empty());
}
