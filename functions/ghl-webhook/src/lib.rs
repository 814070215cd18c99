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

use backend_core::auth::LocationId;
use backend_core::clock::now_epoch;
use backend_core::http::webhook::{self, Disposition, Outcome, Webhook};
use backend_core::http::{ApiError, Reply, Route};
use backend_core::install::signature::{self, LEGACY_RSA_HEADER, SIGNATURE_HEADER};
use backend_core::install::{self, Delivery, Erased, Event, Installed, Marked, UninstallScope};
use backend_core::telemetry::metrics;
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub erased: Option<Erased>,
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
    let outcome = |result, locations: &[LocationId], erased, reason: Option<&str>| {
        let detail = DeliveryDetail {
            webhook_id: delivery.webhook_id.clone(),
            event_type: delivery.kind.clone(),
            locations: locations.len(),
            erased,
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
            &[],
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
                Installed::Recorded => outcome(Disposition::Applied, locations, None, None),
                Installed::UninstalledSince => outcome(
                    Disposition::Stale,
                    locations,
                    None,
                    Some("uninstalled after this install was sent"),
                ),
                Installed::NobodyNamed => outcome(
                    Disposition::Ignored,
                    locations,
                    None,
                    Some("the install names no location"),
                ),
            })
        }
        Event::Uninstall(scope) => {
            let locations = match scope {
                UninstallScope::Location(location) => vec![location.clone()],
                UninstallScope::Company(company) => {
                    app.accounts().locations_of_company(company).await?
                }
                UninstallScope::Nobody => {
                    return Ok(outcome(
                        Disposition::Ignored,
                        &[],
                        None,
                        Some("the uninstall names no location or company"),
                    ))
                }
            };
            // Marked first, durably, before anything is erased: every session and token of the
            // location stops working now. A location installed again since this event was sent
            // keeps its new installation.
            let accounts = app.accounts();
            let mut to_erase = Vec::with_capacity(locations.len());
            for location in &locations {
                match accounts.mark_uninstalled(location, sent_at, now).await? {
                    Marked::InstalledSince => {
                        tracing::info!(location = %location, "uninstall older than the location's last install: left alone");
                    }
                    Marked::Marked | Marked::Absent => to_erase.push(location.clone()),
                }
            }
            if to_erase.is_empty() && !locations.is_empty() {
                return Ok(outcome(
                    Disposition::Stale,
                    &locations,
                    None,
                    Some("installed again after this uninstall was sent"),
                ));
            }
            let erased =
                install::erase_locations(&app.uninstall(), &to_erase, sent_at, now).await?;
            tracing::info!(
                locations = locations.len(),
                accounts = erased.accounts,
                sessions = erased.sessions,
                analyses_deleted = erased.analyses_deleted,
                analyses_expiring = erased.analyses_expiring,
                "uninstall erased"
            );
            Ok(outcome(
                Disposition::Applied,
                &locations,
                Some(erased),
                None,
            ))
        }
        Event::Other => Ok(outcome(
            Disposition::Ignored,
            &[],
            None,
            Some("event type not acted on"),
        )),
    }
}
