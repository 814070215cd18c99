//! Dev-only routes (absent from a prod stack by a template condition, refused here too):
//! `GET /test/workflows` lists the bundled samples, `POST /test/analyze {"sample": ...}` analyzes
//! one without a HighLevel connection, `POST /test/login {"locationId": ...}` opens a session for
//! a local demo account so every endpoint can be tried after `make dev`.

use std::time::Instant;

use backend_core::auth::session::SESSION_TTL_SECS;
use backend_core::auth::LocationId;
use backend_core::clock::{format_epoch, now_epoch};
use backend_core::config::Stage;
use backend_core::highlevel::TokenResponse;
use backend_core::http::request::json_body;
use backend_core::http::{ApiError, Reply, Route};
use backend_core::plans::{self, Plan};
use backend_core::App;
use lambda_http::Request;
use serde::Deserialize;
use serde_json::json;
use workflow_analyzer::{self as analysis, AnalyzeOptions};

/// The bundled samples (events/workflows/), compiled in so the dev routes need no files.
pub const SAMPLES: &[(&str, &[u8])] = &[
    (
        "critical",
        include_bytes!("../../../events/workflows/critical.json"),
    ),
    (
        "medium",
        include_bytes!("../../../events/workflows/medium.json"),
    ),
    (
        "healthy",
        include_bytes!("../../../events/workflows/healthy.json"),
    ),
];

/// The dev-only routes, bound to their handlers (the template declares them in dev stacks only).
pub fn routes() -> [Route; 3] {
    [
        Route::get("/test/workflows", list),
        Route::post("/test/analyze", analyze),
        Route::post("/test/login", login),
    ]
}

/// The code's guard behind the template's condition: the dev stage and the explicit switch
/// (`ENABLE_TEST_ROUTES=true`), else the routes do not exist (404).
fn dev_only(app: &App) -> Result<(), ApiError> {
    match app.config.stage {
        Stage::Dev if app.config.test_routes => Ok(()),
        _ => Err(ApiError::NotFound("no such route".into())),
    }
}

async fn list(app: &App, _req: &Request) -> Result<Reply, ApiError> {
    dev_only(app)?;
    let samples: Vec<_> = SAMPLES
        .iter()
        .map(|(name, bytes)| {
            let workflow = serde_json::from_slice::<serde_json::Value>(bytes)
                .ok()
                .and_then(|v| v["workflow"]["name"].as_str().map(str::to_owned));
            json!({ "sample": name, "workflowName": workflow })
        })
        .collect();
    Reply::ok(&json!({ "samples": samples }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SampleRequest {
    sample: String,
}

/// The full (pro) view of a sample's analysis; nothing is stored.
async fn analyze(app: &App, req: &Request) -> Result<Reply, ApiError> {
    dev_only(app)?;
    let body: SampleRequest = json_body(req, 4096)?;
    let bytes = SAMPLES
        .iter()
        .find(|(name, _)| *name == body.sample)
        .map(|(_, bytes)| *bytes)
        .ok_or_else(|| ApiError::validation("sample must be one of critical, medium, healthy"))?;
    let started = Instant::now();
    let mut result = analysis::analyze(bytes, &AnalyzeOptions::at(now_epoch()))
        .map_err(|e| ApiError::Internal(format!("bundled sample does not parse: {e}")))?;
    result.analysis_time_ms = started.elapsed().as_millis() as u64;
    Reply::ok(
        &json!({ "sample": body.sample, "saved": false, "result": plans::view(&result, Plan::Pro) }),
    )
}

/// The prefix of every demo location id the dev login accepts.
pub const DEMO_PREFIX: &str = "demo-";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct LoginRequest {
    location_id: String,
}

/// A session for a demo account (created on first use, plan Free, placeholder tokens that
/// HighLevel would refuse: listing workflows needs a real connection).
async fn login(app: &App, req: &Request) -> Result<Reply, ApiError> {
    dev_only(app)?;
    let body: LoginRequest = json_body(req, 4096)?;
    // Only demo accounts: a dev stack wired to the real HighLevel app holds real locations
    // (HighLevel's ids never contain '-'), and this route must never open a session for one.
    if !body.location_id.starts_with(DEMO_PREFIX) {
        return Err(ApiError::validation(format!(
            "locationId must start with {DEMO_PREFIX:?}: the dev login opens sessions for demo accounts only"
        )));
    }
    let location = LocationId::parse(&body.location_id)?;
    let now = now_epoch();
    if app.accounts().get(&location).await?.is_none() {
        let tokens: TokenResponse = serde_json::from_value(json!({
            "access_token": "demo-access-token",
            "refresh_token": "demo-refresh-token",
            "expires_in": 86_400,
            "scope": "workflows.readonly",
        }))
        .map_err(ApiError::internal)?;
        let grant = app.highlevel().seal(&location, &tokens).await?;
        app.accounts()
            .save_authorization(&location, &grant, now)
            .await?;
    }
    let (token, session) = app
        .sessions()
        .create(&location, now, SESSION_TTL_SECS)
        .await?;
    Reply::ok(
        &json!({ "locationId": location, "sessionExpiresAt": format_epoch(session.expires_at) }),
    )?
    .cookie(&token.cookie(SESSION_TTL_SECS))
}
