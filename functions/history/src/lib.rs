//! history: not implemented yet (issue #5); every route answers 501 NOT_IMPLEMENTED in the envelope.

use std::sync::Arc;

use analyzer_core::http::{ApiError, Reply, Route, RouteMatch};
use analyzer_core::App;
use lambda_http::Request;

pub const ROUTES: &[Route] = &[
    Route::new("GET", "/api/history"),
    Route::new("GET", "/api/analysis/{id}"),
    Route::new("DELETE", "/api/analysis/{id}"),
];

pub async fn handle(_app: Arc<App>, _req: Request, _route: RouteMatch) -> Result<Reply, ApiError> {
    Err(ApiError::NotImplemented("history"))
}
