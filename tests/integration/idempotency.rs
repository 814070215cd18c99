//! The idempotency records on their own, against moto: a claim is released and completed only by
//! its owner, a claim put repeated by the SDK is still ours, and a previous version's records
//! (without `owner`) keep their meaning.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use backend_core::clock::now_epoch_ms;
use backend_core::idempotency::{Claim, Idempotency, IdempotencyStore, Outcome};
use integration_tests::TestApp;
use serde_json::{json, Value};

fn records(t: &TestApp) -> Idempotency {
    Idempotency::new(t.aws.dynamodb().clone(), &t.tables().idempotency)
}

async fn record(t: &TestApp, key: &str) -> Option<HashMap<String, AttributeValue>> {
    t.aws
        .dynamodb()
        .get_item()
        .table_name(&t.tables().idempotency)
        .key("id", AttributeValue::S(key.to_owned()))
        .consistent_read(true)
        .send()
        .await
        .expect("get record")
        .item
}

fn text<'a>(item: &'a HashMap<String, AttributeValue>, name: &str) -> &'a str {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map_or("", String::as_str)
}

fn data(item: &HashMap<String, AttributeValue>) -> Value {
    serde_json::from_str(text(item, "data")).expect("data is JSON")
}

/// A claim made at `now_ms` whose in-progress window has already run out.
async fn expired_claim(records: &Idempotency, key: &str, now_ms: i64) -> Claim {
    records
        .claim(key, now_ms - 120_000, now_ms - 60_000)
        .await
        .expect("claim")
}

#[tokio::test]
async fn an_idempotency_claim_taken_over_is_neither_released_nor_overwritten_by_its_first_holder() {
    let t = TestApp::new().await;
    let records = records(&t);
    let key = "stripe:evt_taken_over";
    let now_ms = now_epoch_ms();
    let Claim::Acquired(a) = expired_claim(&records, key, now_ms).await else {
        panic!("A's claim")
    };
    let Claim::Acquired(b) = records
        .claim(key, now_ms, now_ms + 60_000)
        .await
        .expect("claim")
    else {
        panic!("B takes the expired claim over")
    };
    assert_ne!(a, b);

    records.release(key, &a).await.expect("A's release");

    let held = record(&t, key).await.expect("B's claim is kept");
    assert_eq!(text(&held, "status"), "INPROGRESS");
    assert_eq!(
        records
            .claim(key, now_ms, now_ms + 60_000)
            .await
            .expect("claim"),
        Claim::InProgress
    );

    records
        .complete(key, &b, &json!("B"), now_ms / 1000)
        .await
        .expect("B's completion");
    records
        .complete(key, &a, &json!("A"), now_ms / 1000)
        .await
        .expect("A's completion is not an error");
    records.release(key, &a).await.expect("A's release");

    let done = record(&t, key).await.expect("B's record is kept");
    assert_eq!(text(&done, "status"), "COMPLETED");
    assert_eq!(data(&done), json!("B"));
}

#[tokio::test]
async fn a_failed_run_whose_idempotency_window_ran_out_keeps_the_new_holders_claim() {
    let t = TestApp::new().await;
    let records = records(&t);
    let key = "ghl:slow_failure";
    let taken_over = std::sync::Mutex::new(None);

    let result = records
        .run::<Value, &str, _, _>(key, now_epoch_ms() - 1, || async {
            let now_ms = now_epoch_ms();
            let claim = records.claim(key, now_ms, now_ms + 60_000).await;
            *taken_over.lock().expect("lock") = Some(claim.expect("claim"));
            Err("upstream failed")
        })
        .await;

    assert!(result.is_err());
    let Some(Claim::Acquired(b)) = taken_over.lock().expect("lock").take() else {
        panic!("B takes the expired claim over")
    };
    let held = record(&t, key).await.expect("B's claim is kept");
    assert_eq!(text(&held, "status"), "INPROGRESS");
    records.release(key, &b).await.expect("B's release");
    assert!(record(&t, key).await.is_none(), "B still owned its claim");
}

#[tokio::test]
async fn a_run_whose_idempotency_window_ran_out_answers_its_outcome_and_keeps_the_new_holders() {
    let t = TestApp::new().await;
    let records = records(&t);
    let key = "ghl:slow_success";

    let outcome = records
        .run::<Value, (), _, _>(key, now_epoch_ms() - 1, || async {
            let now_ms = now_epoch_ms();
            let Ok(Claim::Acquired(b)) = records.claim(key, now_ms, now_ms + 60_000).await else {
                panic!("B takes the expired claim over")
            };
            records
                .complete(key, &b, &json!("B"), now_ms / 1000)
                .await
                .expect("B's completion");
            Ok(json!("A"))
        })
        .await
        .expect("A's outcome");

    assert_eq!(outcome, Outcome::Fresh(json!("A")));
    let done = record(&t, key).await.expect("record");
    assert_eq!(text(&done, "status"), "COMPLETED");
    assert_eq!(data(&done), json!("B"));
}

#[tokio::test]
async fn an_idempotency_claim_put_repeated_with_the_same_owner_is_still_acquired() {
    let t = TestApp::new().await;
    let records = records(&t);
    let key = "stripe:evt_lost_answer";
    let now_ms = now_epoch_ms();
    let until = now_ms + 60_000;
    let Claim::Acquired(owner) = records.claim(key, now_ms, until).await.expect("claim") else {
        panic!("first claim")
    };

    // The SDK's retry of the same request, after the first answer was lost.
    let retried = records
        .claim_as(key, &owner, now_ms, until)
        .await
        .expect("claim");

    assert_eq!(retried, Claim::Acquired(owner.clone()));
    assert_eq!(
        records.claim(key, now_ms, until).await.expect("claim"),
        Claim::InProgress,
        "anyone else still finds it in progress"
    );
    // Completion, repeated the same way, stays ours.
    for _ in 0..2 {
        records
            .complete(key, &owner, &json!({"result": "applied"}), now_ms / 1000)
            .await
            .expect("complete");
    }
    assert_eq!(
        records.claim(key, now_ms, until).await.expect("claim"),
        Claim::Completed(json!({"result": "applied"}))
    );
}

#[tokio::test]
async fn idempotency_records_without_owner_from_the_previous_version_keep_their_meaning() {
    let t = TestApp::new().await;
    let records = records(&t);
    let now_ms = now_epoch_ms();
    let expiration = (now_ms / 1000 + 3600).to_string();
    let put = |key: &str, status: &str, in_progress_until: i64| {
        t.aws
            .dynamodb()
            .put_item()
            .table_name(&t.tables().idempotency)
            .item("id", AttributeValue::S(key.to_owned()))
            .item("status", AttributeValue::S(status.to_owned()))
            .item("expiration", AttributeValue::N(expiration.clone()))
            .item(
                "in_progress_expiration",
                AttributeValue::N(in_progress_until.to_string()),
            )
            .item("data", AttributeValue::S(r#"{"result":"applied"}"#.into()))
            .send()
    };
    put("stripe:evt_old_busy", "INPROGRESS", now_ms + 60_000)
        .await
        .expect("put");
    put("stripe:evt_old_dead", "INPROGRESS", now_ms - 60_000)
        .await
        .expect("put");
    put("stripe:evt_old_done", "COMPLETED", 0)
        .await
        .expect("put");

    let busy = records
        .claim("stripe:evt_old_busy", now_ms, now_ms + 60_000)
        .await
        .expect("claim");
    let dead = records
        .claim("stripe:evt_old_dead", now_ms, now_ms + 60_000)
        .await
        .expect("claim");
    let done = records
        .claim("stripe:evt_old_done", now_ms, now_ms + 60_000)
        .await
        .expect("claim");

    assert_eq!(busy, Claim::InProgress);
    assert!(matches!(dead, Claim::Acquired(_)), "{dead:?}");
    assert_eq!(done, Claim::Completed(json!({"result": "applied"})));
    let Claim::Acquired(mine) = dead else {
        unreachable!()
    };
    records
        .release("stripe:evt_old_busy", &mine)
        .await
        .expect("release");
    records
        .complete("stripe:evt_old_busy", &mine, &json!("mine"), now_ms / 1000)
        .await
        .expect("complete");
    let kept = record(&t, "stripe:evt_old_busy").await.expect("kept");
    assert_eq!(text(&kept, "status"), "INPROGRESS", "not ours to touch");
}
