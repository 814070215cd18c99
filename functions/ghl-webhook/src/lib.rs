//! ghl-webhook: HighLevel's app lifecycle deliveries (`INSTALL`, `UNINSTALL`, ...) at
//! `POST /webhooks/ghl` (docs/GHL_WEBHOOK.md).
//!
//! The Ed25519 signature (`X-GHL-Signature`) over the raw body is the authentication: a missing,
//! malformed or wrong one answers 401 and writes nothing, as does a delivery older or newer than
//! the freshness window. Each `webhookId` then runs at most once through the idempotency records
//! the Stripe webhook uses (keys `ghl:<webhookId>`): a completed one answers 200 with its recorded
//! outcome, one in progress elsewhere 409, and a failure releases the claim and answers an error
//! so HighLevel's retry does the work.

use backend_core::auth::LocationId;
use backend_core::http::{ApiError, Reply, Route};
use backend_core::idempotency::{self, Idempotency, IdempotencyError};
use backend_core::lifecycle::signature::{self, LEGACY_RSA_HEADER, SIGNATURE_HEADER};
use backend_core::lifecycle::{self, Delivery, Erased, Event, UninstallScope};
use backend_core::store::now_epoch;
use backend_core::telemetry::metrics;
use backend_core::App;
use lambda_http::Request;
use serde::{Deserialize, Serialize};

/// The function's one route: the signature is the authentication, so no per-IP limit.
pub fn routes() -> Vec<Route> {
    vec![Route::post("/webhooks/ghl", receive).unthrottled()]
}

/// Idempotency keys of this webhook, beside Stripe's `stripe:` in the same table.
const KEY_PREFIX: &str = "ghl:";

/// What happened to a delivery: stored in its idempotency record and replayed to duplicates.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryOutcome {
    pub webhook_id: String,
    pub event_type: String,
    pub result: DeliveryResult,
    /// How many locations the delivery concerned. Their ids are not kept: an uninstall must
    /// leave no trace of a location, and the records of its earlier installs would be one.
    pub locations: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub erased: Option<Erased>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryResult {
    /// The accounts now reflect the delivery.
    Applied,
    /// Recorded but not applied: the location was uninstalled after this install was sent.
    Stale,
    /// Recorded, nothing to do (unknown type, `LocationUpdate`, nobody named).
    Ignored,
}

/// The answer HighLevel receives.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Receipt {
    received: bool,
    duplicate: bool,
    #[serde(flatten)]
    outcome: DeliveryOutcome,
}

/// Refuses a delivery: a warning without the body, a metric, and 401 in the envelope.
fn reject(reason: &'static str, detail: &str) -> ApiError {
    tracing::warn!(reason, detail, "HighLevel webhook refused");
    metrics::count("GhlWebhookRejected", &[("Reason", reason)]);
    ApiError::Unauthenticated
}

async fn receive(app: &App, req: &Request) -> Result<Reply, ApiError> {
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
    let now_ms = idempotency::now_epoch_ms();
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

    let records = Idempotency::new(app.aws.dynamodb.clone(), &app.config.tables.idempotency);
    let until = idempotency::in_progress_until(req, now_ms);
    let key = format!("{KEY_PREFIX}{}", delivery.webhook_id);
    match records.run(&key, until, || apply(app, &delivery)).await {
        Ok(outcome) => {
            let duplicate = outcome.is_replay();
            let outcome = outcome.into_inner();
            tracing::info!(
                webhook_id = %delivery.webhook_id,
                event_type = %delivery.kind,
                result = ?outcome.result,
                locations = outcome.locations,
                duplicate,
                "HighLevel webhook processed"
            );
            let metric = if duplicate {
                "GhlWebhookDuplicate"
            } else {
                "GhlWebhookProcessed"
            };
            metrics::count(metric, &[("EventType", metric_type(&delivery.kind))]);
            Reply::ok(&Receipt {
                received: true,
                duplicate,
                outcome,
            })
        }
        Err(IdempotencyError::InProgress) => {
            metrics::count(
                "GhlWebhookDuplicate",
                &[("EventType", metric_type(&delivery.kind))],
            );
            Err(retry_later())
        }
        Err(IdempotencyError::Store(err)) => Err(for_highlevel(err.into())),
        Err(IdempotencyError::Handler(err)) => {
            tracing::warn!(
                webhook_id = %delivery.webhook_id,
                event_type = %delivery.kind,
                error = %err,
                "HighLevel webhook handling failed; claim released for the retry"
            );
            Err(for_highlevel(err))
        }
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
async fn apply(app: &App, delivery: &Delivery) -> Result<DeliveryOutcome, ApiError> {
    let outcome =
        |result, locations: &[LocationId], erased, reason: Option<&str>| DeliveryOutcome {
            webhook_id: delivery.webhook_id.clone(),
            event_type: delivery.kind.clone(),
            result,
            locations: locations.len(),
            erased,
            reason: reason.map(str::to_owned),
        };
    let now = now_epoch();
    let sent_at = delivery.timestamp_ms.div_euclid(1000);
    match &delivery.event {
        Event::Install {
            locations,
            installation,
        } => {
            if locations.is_empty() {
                return Ok(outcome(
                    DeliveryResult::Ignored,
                    locations,
                    None,
                    Some("the install names no location"),
                ));
            }
            let accounts = app.accounts();
            let mut stale = 0;
            for location in locations {
                if !accounts
                    .record_installation(location, installation, now)
                    .await?
                {
                    stale += 1;
                }
            }
            Ok(if stale == locations.len() {
                outcome(
                    DeliveryResult::Stale,
                    locations,
                    None,
                    Some("uninstalled after this install was sent"),
                )
            } else {
                outcome(DeliveryResult::Applied, locations, None, None)
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
                        DeliveryResult::Ignored,
                        &[],
                        None,
                        Some("the uninstall names no location or company"),
                    ))
                }
            };
            let erased = lifecycle::erase_locations(app, &locations, sent_at, now).await?;
            tracing::info!(
                locations = locations.len(),
                accounts = erased.accounts,
                sessions = erased.sessions,
                analyses_deleted = erased.analyses_deleted,
                analyses_expiring = erased.analyses_expiring,
                "uninstall erased"
            );
            Ok(outcome(
                DeliveryResult::Applied,
                &locations,
                Some(erased),
                None,
            ))
        }
        Event::Other => Ok(outcome(
            DeliveryResult::Ignored,
            &[],
            None,
            Some("event type not acted on"),
        )),
    }
}
