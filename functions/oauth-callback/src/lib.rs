//! oauth-callback: not implemented yet (issue #4); every route answers 501 NOT_IMPLEMENTED in the envelope.

use std::sync::Arc;

use analyzer_core::http::{ApiError, Reply, Route, RouteMatch};
use analyzer_core::App;
use lambda_http::Request;

pub const ROUTES: &[Route] = &[
    Route::new("GET", "/auth/login"),
    Route::new("GET", "/auth/callback"),
    Route::new("GET", "/auth/status"),
    Route::new("POST", "/auth/logout"),
    Route::new("POST", "/auth/refresh"),
];

pub async fn handle(_app: Arc<App>, _req: Request, _route: RouteMatch) -> Result<Reply, ApiError> {
    Err(ApiError::NotImplemented("oauth-callback"))
}
