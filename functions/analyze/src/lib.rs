//! Workflows and analyses: `GET /api/workflows` (the account's workflows from HighLevel),
//! `POST /api/analyze` and `GET /api/workflows/{id}/structure` (not implemented yet: issue #5).

use std::sync::Arc;

use analyzer_core::auth::require_session;
use analyzer_core::highlevel;
use analyzer_core::http::{ApiError, Reply, Route, RouteMatch};
use analyzer_core::App;
use lambda_http::Request;
use serde_json::json;

pub const ROUTES: &[Route] = &[
    Route::new("POST", "/api/analyze"),
    Route::new("GET", "/api/workflows"),
    Route::new("GET", "/api/workflows/{id}/structure"),
];

pub async fn handle(app: Arc<App>, req: Request, route: RouteMatch) -> Result<Reply, ApiError> {
    match route.route.path {
        "/api/workflows" => workflows(&app, &req).await,
        "/api/analyze" => Err(ApiError::NotImplemented("POST /api/analyze")),
        "/api/workflows/{id}/structure" => Err(ApiError::NotImplemented(
            "GET /api/workflows/{id}/structure",
        )),
        _ => Err(ApiError::NotFound("no such route".into())),
    }
}

async fn workflows(app: &App, req: &Request) -> Result<Reply, ApiError> {
    let session = require_session(app, req).await?;
    let list = highlevel::list_workflows(app, &session.location_id).await?;
    Reply::ok(&json!({ "workflows": list, "count": list.len() }))
}
