//! Liveness, readiness and dependency checks: `GET /health`, `/live`, `/ready`, `/health/detailed`.

use std::time::Instant;

use aws_sdk_dynamodb::error::SdkError;
use backend_core::http::{ApiError, Reply, Route};
use backend_core::{telemetry, App};
use lambda_http::Request;
use serde::Serialize;
use serde_json::json;

/// The function's routes, each bound to its handler. Probes are never rate limited; the
/// detailed check (five control-plane calls and a secret read per request, public) is, like
/// every other public route, under the per-IP limit.
pub fn routes() -> Vec<Route> {
    vec![
        Route::get("/health", health).unthrottled(),
        Route::get("/health/detailed", detailed),
        Route::get("/ready", ready).unthrottled(),
        Route::get("/live", live).unthrottled(),
    ]
}

async fn health(app: &App, _req: &Request) -> Result<Reply, ApiError> {
    Reply::ok(&json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "stage": app.config.stage.as_str(),
    }))
}

async fn live(_app: &App, _req: &Request) -> Result<Reply, ApiError> {
    Reply::ok(&json!({ "status": "alive" }))
}

async fn ready(app: &App, _req: &Request) -> Result<Reply, ApiError> {
    let checks = run_checks(app).await;
    unhealthy(&checks)?;
    Reply::ok(&json!({ "status": "ready" }))
}

/// One dependency's state. `reason` is a category, never an upstream message (which can name
/// internal hosts).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Check {
    pub name: String,
    pub status: &'static str,
    pub latency_ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
}

/// Dependencies and their latencies. Stage, version and memory are for operators: they go to
/// the log line, not to the anonymous caller.
async fn detailed(app: &App, _req: &Request) -> Result<Reply, ApiError> {
    let checks = run_checks(app).await;
    tracing::info!(
        stage = app.config.stage.as_str(),
        version = env!("CARGO_PKG_VERSION"),
        resident_bytes = telemetry::resident_memory_bytes(),
        healthy = checks.iter().all(|c| c.status == "ok"),
        "detailed health"
    );
    unhealthy(&checks)?;
    Reply::ok(&json!({
        "status": "healthy",
        "checks": checks,
        "uptimeSeconds": telemetry::uptime_secs(),
        "coldStart": is_first_minute(),
    }))
}

/// The container is "cold" for this report while it is younger than a minute.
fn is_first_minute() -> bool {
    telemetry::uptime_secs() < 60.0
}

/// 503 naming every failed dependency (categories only; the detail is in the log).
fn unhealthy(checks: &[Check]) -> Result<(), ApiError> {
    let failed: Vec<&str> = checks
        .iter()
        .filter(|c| c.status != "ok")
        .map(|c| c.name.as_str())
        .collect();
    if failed.is_empty() {
        return Ok(());
    }
    Err(ApiError::ServiceUnavailable {
        message: format!("unhealthy dependencies: {}", failed.join(", ")),
        retry_after_secs: Some(30),
    })
}

/// Every table and the secret, checked concurrently.
pub async fn run_checks(app: &App) -> Vec<Check> {
    let tables = app.config.tables.named().map(|(name, table)| {
        let client = app.aws.dynamodb().clone();
        let table = table.to_owned();
        async move {
            let started = Instant::now();
            let result = client.describe_table().table_name(&table).send().await;
            let reason = match result {
                Ok(_) => None,
                Err(err) => {
                    tracing::warn!(check = name, error = %aws_sdk_dynamodb::error::DisplayErrorContext(&err), "table check failed");
                    Some(match &err {
                        SdkError::ServiceError(e) if e.err().is_resource_not_found_exception() => {
                            "table not found"
                        }
                        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => "unreachable",
                        _ => "error",
                    })
                }
            };
            finish(format!("{name}Table"), started, reason)
        }
    });
    let secret = async {
        let started = Instant::now();
        // Access, not content: DescribeSecret reads no value.
        let reason = match app.secrets.check_access().await {
            Ok(_) => None,
            Err(err) => {
                tracing::warn!(check = "secret", error = %err, "secret check failed");
                Some(match err {
                    backend_core::secrets::SecretsError::Unavailable(_) => "unreadable",
                    backend_core::secrets::SecretsError::Malformed(_) => "malformed",
                    backend_core::secrets::SecretsError::NotGranted(_) => "not granted",
                })
            }
        };
        finish("secret".into(), started, reason)
    };
    let [a, b, c, d, e] = tables;
    let (a, b, c, d, e, s) = tokio::join!(a, b, c, d, e, secret);
    vec![a, b, c, d, e, s]
}

fn finish(name: String, started: Instant, reason: Option<&'static str>) -> Check {
    Check {
        name,
        status: if reason.is_none() { "ok" } else { "error" },
        latency_ms: (started.elapsed().as_secs_f64() * 1000.0 * 10.0).round() / 10.0,
        reason,
    }
}
