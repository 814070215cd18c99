//! erasure: the erasure worker (issue 19). An SQS event source delivers batches of erasure jobs
//! (one uninstalled location each, queued by the install webhook); each job is erased by
//! `backend_core::erasure::erase`, and the answer lists only the messages that failed
//! (`ReportBatchItemFailures`): SQS deletes the others and delivers the failed ones again after
//! the visibility timeout, up to the redrive policy's count, then moves them to the dead-letter
//! queue, whose depth raises an alarm (docs/RUNBOOK.md).
//!
//! A body that is not a job is reported failed too, so it ends in the dead-letter queue where an
//! operator sees it, rather than vanishing with an erasure nobody did.

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use backend_core::clock::{now_epoch, now_epoch_ms};
use backend_core::erasure::{self, Erased, ErasureJob};
use backend_core::store::accounts::install::AccountErasure;
use backend_core::telemetry::metrics::{self, Unit};
use backend_core::App;

/// A job is not started with less time than this left before the invocation's deadline: it is
/// reported failed instead and runs again later, rather than being cut off mid-way (harmless
/// too, the erasure is idempotent, but it would wait out the whole visibility timeout).
pub const MIN_TIME_LEFT_MS: i64 = 20_000;

/// Erases each job of the batch in turn; returns the message ids that failed.
/// `deadline_ms`: the invocation's deadline, epoch milliseconds (`None`, or one already past:
/// no deadline known).
pub async fn handle(app: &App, event: SqsEvent, deadline_ms: Option<i64>) -> SqsBatchResponse {
    // Built for the first job: a batch of refused messages builds no AWS client (the DynamoDB
    // client costs 1 to 2 ms of CPU to build, a cold start's first response at 128 MB).
    let mut stores = None;
    let mut response = SqsBatchResponse::default();
    for message in event.records {
        let Some(id) = message.message_id.clone() else {
            tracing::error!("SQS record without a messageId: cannot be acknowledged or retried");
            continue;
        };
        // A deadline already past is not one Lambda sent (it would have ended us): `cargo lambda
        // watch` sends a duration there. Unknown, then.
        let time_left_ms = deadline_ms
            .map(|deadline| deadline - now_epoch_ms())
            .filter(|left| *left > 0);
        if time_left_ms.is_some_and(|left| left < MIN_TIME_LEFT_MS) {
            tracing::warn!(message_id = %id, ?time_left_ms, "erasure job left for a later delivery: too little time left");
            response.batch_item_failures.push(failure(id));
            continue;
        }
        if !run(app, &mut stores, &message, &id).await {
            response.batch_item_failures.push(failure(id));
        }
    }
    response
}

fn failure(id: String) -> BatchItemFailure {
    let mut failure = BatchItemFailure::default();
    failure.item_identifier = id;
    failure
}

/// One message: true when its job is done (the message may be deleted).
async fn run(
    app: &App,
    stores: &mut Option<erasure::Erasure>,
    message: &SqsMessage,
    id: &str,
) -> bool {
    let job = match ErasureJob::parse(message.body.as_deref().unwrap_or("")) {
        Ok(job) => job,
        Err(err) => {
            tracing::error!(message_id = %id, error = %err, "erasure message refused; it goes to the dead-letter queue after its retries");
            metrics::count("ErasureJobRejected", &[]);
            return false;
        }
    };
    let stores = stores.get_or_insert_with(|| app.erasure());
    match erasure::erase(stores, &job, now_epoch()).await {
        Ok(erased) => {
            report(&job, id, &erased);
            true
        }
        Err(err) => {
            tracing::warn!(
                message_id = %id,
                location = %job.location_id,
                event_id = %job.event_id,
                error = %err,
                "erasure job failed; SQS delivers it again"
            );
            metrics::count("ErasureJobFailed", &[]);
            false
        }
    }
}

/// What a job erased: one log line and one metric set (counts per kind).
fn report(job: &ErasureJob, id: &str, erased: &Erased) {
    tracing::info!(
        message_id = %id,
        location = %job.location_id,
        event_id = %job.event_id,
        account = account_kind(erased.account),
        sessions = erased.sessions,
        analyses_deleted = erased.analyses_deleted,
        analyses_expiring = erased.analyses_expiring,
        rate_limit_windows = erased.rate_limit_windows,
        "location erased"
    );
    metrics::emit(
        &[
            ("ErasureJobs", 1.0, Unit::Count),
            ("ErasedSessions", f64::from(erased.sessions), Unit::Count),
            (
                "ErasedAnalyses",
                f64::from(erased.analyses_deleted),
                Unit::Count,
            ),
            (
                "ExpiringAnalyses",
                f64::from(erased.analyses_expiring),
                Unit::Count,
            ),
            (
                "ErasedRateLimitWindows",
                f64::from(erased.rate_limit_windows),
                Unit::Count,
            ),
        ],
        &[("Account", account_kind(erased.account))],
    );
}

/// A bounded metric dimension for what became of the account.
fn account_kind(account: AccountErasure) -> &'static str {
    match account {
        AccountErasure::Absent => "absent",
        AccountErasure::Deleted => "deleted",
        AccountErasure::BillingKept => "billingKept",
        AccountErasure::UsageKept => "usageKept",
        AccountErasure::InstalledSince => "installedSince",
    }
}
