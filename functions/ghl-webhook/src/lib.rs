//! ghl-webhook: HighLevel's app lifecycle deliveries (`INSTALL`, `UNINSTALL`, ...) at
//! `POST /webhooks/ghl` (docs/GHL_WEBHOOK.md), through the core's one webhook receiver
//! (`backend_core::http::webhook`).
//!
//! The Ed25519 signature (`X-GHL-Signature`) over the raw body is the authentication: a missing,
//! malformed or wrong one answers 401 and writes nothing, as does a delivery older or newer than
//! the freshness window. Each `webhookId` then runs at most once through the idempotency records
//! the Stripe webhook uses (keys `ghl:<webhookId>`): a completed one answers 200 with its recorded
//! outcome; one in progress elsewhere, and a failure worth retrying (which releases the claim),
//! answer 429, the only status HighLevel retries.
//!
//! An `UNINSTALL` is marked on each account at once (sessions and tokens stop working) and
//! turned into one erasure job per location on the erasure queue; the erasure worker
//! (`functions/erasure`) does the erasing, so the answer does not depend on how much a location
//! holds.

use backend_core::clock::now_epoch;
use backend_core::http::webhook::{self, Disposition, Outcome, Webhook};
use backend_core::http::{ApiError, Reply, Route};
use backend_core::install::signature::{self, LEGACY_RSA_HEADER, SIGNATURE_HEADER};
use backend_core::install::{self, Delivery, Event, Installed, Queued, UninstallScope};
use backend_core::telemetry::metrics::{self, Unit};
use backend_core::App;
use lambda_http::Request;
use serde::{Deserialize, Serialize};

/// The function's one route: the signature is the authentication, so no per-IP limit.
pub fn routes() -> Vec<Route> {
    vec![Route::post("/webhooks/ghl", receive).unthrottled()]
}

async fn receive(app: &App, req: &Request) -> Result<Reply, ApiError> {
    webhook::receive(&HighLevelWebhook, app, req).await
}

/// HighLevel's own fields of a delivery's outcome.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryDetail {
    pub webhook_id: String,
    pub event_type: String,
    /// How many locations the delivery concerned. Their ids are not kept: an uninstall must
    /// leave no trace of a location, and the records of its earlier installs would be one.
    pub locations: usize,
    /// For an uninstall: the erasure jobs queued (the worker erases later).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queued: Option<Queued>,
}

/// Refuses a delivery: a warning without the body, a metric, and 401 in the envelope.
fn reject(reason: &'static str, detail: &str) -> ApiError {
    tracing::warn!(reason, detail, "HighLevel webhook refused");
    metrics::count("GhlWebhookRejected", &[("Reason", reason)]);
    ApiError::Unauthenticated
}

/// What is HighLevel's own in receiving a webhook.
struct HighLevelWebhook;

impl Webhook for HighLevelWebhook {
    type Delivery = Delivery;
    type Detail = DeliveryDetail;
    const KEY_PREFIX: &'static str = "ghl:";
    const METRIC_PREFIX: &'static str = "GhlWebhook";

    async fn accept(&self, app: &App, req: &Request, now_ms: i64) -> Result<Delivery, ApiError> {
        let config = &app.config.ghl_webhook;
        let header = match req.headers().get(SIGNATURE_HEADER) {
            None => None,
            Some(value) => Some(
                value
                    .to_str()
                    .map_err(|_| reject("malformed", "the signature header is not ASCII"))?,
            ),
        };
        let legacy = req.headers().contains_key(LEGACY_RSA_HEADER);
        let body: &[u8] = req.body().as_ref();
        signature::verify(&config.public_key, header, legacy, body)
            .map_err(|err| reject(err.reason(), &err.to_string()))?;

        let delivery = Delivery::parse(body)?;
        if !delivery.is_fresh(now_ms, config.tolerance_secs) {
            let skew_secs = (now_ms - delivery.timestamp_ms) / 1000;
            tracing::warn!(
                webhook_id = %delivery.webhook_id,
                skew_secs,
                "HighLevel webhook refused: outside the freshness window"
            );
            metrics::count("GhlWebhookRejected", &[("Reason", "stale")]);
            return Err(ApiError::Unauthenticated);
        }
        Ok(delivery)
    }

    fn key(delivery: &Delivery) -> &str {
        &delivery.webhook_id
    }

    fn dimensions(delivery: &Delivery) -> Vec<(&'static str, &'static str)> {
        vec![("EventType", metric_type(&delivery.kind))]
    }

    async fn apply(
        &self,
        app: &App,
        delivery: &Delivery,
    ) -> Result<Outcome<DeliveryDetail>, ApiError> {
        apply(app, delivery).await
    }

    fn in_progress(&self) -> ApiError {
        retry_later()
    }

    fn failed(&self, err: ApiError) -> ApiError {
        for_highlevel(err)
    }
}

/// HighLevel retries a delivery only when it answers 429 (every 10 minutes, up to 6 times):
/// anything worth retrying must say 429, or the erasure it carries would be lost.
fn retry_later() -> ApiError {
    ApiError::RateLimited {
        retry_after_secs: 600,
        limit: 1,
    }
}

fn for_highlevel(err: ApiError) -> ApiError {
    if let ApiError::Internal(detail) = &err {
        tracing::error!(error = %detail, "HighLevel webhook failed; asking for a retry");
    }
    match err {
        ApiError::ServiceUnavailable { .. }
        | ApiError::UpstreamUnavailable { .. }
        | ApiError::Internal(_)
        | ApiError::Conflict(_) => retry_later(),
        other => other,
    }
}

/// A bounded metric dimension: the types we act on by name, everything else as `other`.
fn metric_type(kind: &str) -> &'static str {
    match kind {
        "INSTALL" => "INSTALL",
        "UNINSTALL" => "UNINSTALL",
        "LocationUpdate" => "LocationUpdate",
        _ => "other",
    }
}

/// Applies one delivery. Errors release the idempotency claim (HighLevel retries).
async fn apply(app: &App, delivery: &Delivery) -> Result<Outcome<DeliveryDetail>, ApiError> {
    let outcome = |result, locations: usize, queued, reason: Option<&str>| {
        let detail = DeliveryDetail {
            webhook_id: delivery.webhook_id.clone(),
            event_type: delivery.kind.clone(),
            locations,
            queued,
        };
        Outcome::new(detail, result, reason)
    };
    let now = now_epoch();
    let sent_at = delivery.timestamp_ms.div_euclid(1000);
    if matches!(delivery.event, Event::Install { .. } | Event::Uninstall(_))
        && !delivery.is_for_app(&app.config.ghl_webhook.app_id)
    {
        // Signed by HighLevel, but for another marketplace app (or none): that app's
        // installs and uninstalls are not ours to apply (issue 16).
        tracing::warn!(
            webhook_id = %delivery.webhook_id,
            event_type = %delivery.kind,
            app_id = delivery.app_id.as_deref().unwrap_or("(none)"),
            "HighLevel webhook ignored: the event is for another app"
        );
        metrics::count(
            "GhlWebhookForeignApp",
            &[("EventType", metric_type(&delivery.kind))],
        );
        return Ok(outcome(
            Disposition::Ignored,
            0,
            None,
            Some("the event is for another app"),
        ));
    }
    match &delivery.event {
        Event::Install {
            locations,
            installation,
        } => {
            let installed =
                install::record_install(&app.accounts(), locations, installation, now).await?;
            Ok(match installed {
                Installed::Recorded => outcome(Disposition::Applied, locations.len(), None, None),
                Installed::UninstalledSince => outcome(
                    Disposition::Stale,
                    locations.len(),
                    None,
                    Some("uninstalled after this install was sent"),
                ),
                Installed::NobodyNamed => outcome(
                    Disposition::Ignored,
                    0,
                    None,
                    Some("the install names no location"),
                ),
            })
        }
        Event::Uninstall(UninstallScope::Nobody) => Ok(outcome(
            Disposition::Ignored,
            0,
            None,
            Some("the uninstall names no location or company"),
        )),
        Event::Uninstall(scope) => {
            let queued = queue_uninstall(app, scope, sent_at, &delivery.webhook_id, now).await?;
            let locations = (queued.jobs + queued.installed_since) as usize;
            tracing::info!(
                locations,
                jobs = queued.jobs,
                installed_since = queued.installed_since,
                "uninstall marked and queued for erasure"
            );
            metrics::emit(
                &[("ErasureJobsQueued", f64::from(queued.jobs), Unit::Count)],
                &[],
            );
            if queued.jobs == 0 && queued.installed_since > 0 {
                return Ok(outcome(
                    Disposition::Stale,
                    locations,
                    Some(queued),
                    Some("installed again after this uninstall was sent"),
                ));
            }
            Ok(outcome(Disposition::Applied, locations, Some(queued), None))
        }
        Event::Other => Ok(outcome(
            Disposition::Ignored,
            0,
            None,
            Some("event type not acted on"),
        )),
    }
}

/// Marks and queues an uninstall's locations: the one named, or the company's, a page of the
/// `byCompany` index at a time (each page marked, then sent in batches of ten).
async fn queue_uninstall(
    app: &App,
    scope: &UninstallScope,
    sent_at: i64,
    event_id: &str,
    now: i64,
) -> Result<Queued, ApiError> {
    let queue = app.erasure_queue().ok_or_else(|| {
        ApiError::Internal("ERASURE_QUEUE_URL is not set: uninstalls cannot be queued".into())
    })?;
    let accounts = app.accounts();
    match scope {
        UninstallScope::Location(location) => Ok(install::queue_erasure(
            &accounts,
            &queue,
            std::slice::from_ref(location),
            sent_at,
            event_id,
            now,
        )
        .await?),
        UninstallScope::Company(company) => {
            let mut queued = Queued::default();
            let mut start = None;
            loop {
                let (page, next) = accounts.company_locations_page(company, start).await?;
                queued.add(
                    install::queue_erasure(&accounts, &queue, &page, sent_at, event_id, now)
                        .await?,
                );
                match next {
                    Some(position) => start = Some(position),
                    None => return Ok(queued),
                }
            }
        }
        UninstallScope::Nobody => Ok(Queued::default()),
    }
}
