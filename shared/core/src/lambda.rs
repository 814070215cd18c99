//! Running a function: the cold-start sequence every `main.rs` shares, and the per-request
//! dispatch through the edge that tests call directly.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;

use lambda_http::{service_fn, Body, Request, Response};

use lambda_http::http::header::HeaderName;

use crate::http::request::client_ip;
use crate::http::{ApiError, Reply, Route, RouteMatch};
use crate::store::now_epoch;
use crate::{telemetry, App};

/// Logs as JSON, validates configuration (the init fails with every problem listed), builds the
/// clients once, then serves requests until the container stops.
pub async fn run<H, Fut>(routes: &'static [Route], handler: H) -> Result<(), lambda_http::Error>
where
    H: Fn(Arc<App>, Request, RouteMatch) -> Fut + Send + Sync + Clone + 'static,
    Fut: Future<Output = Result<Reply, ApiError>> + Send,
{
    telemetry::init();
    let app = App::from_env().await.inspect_err(|err| {
        tracing::error!(error = %err, "cold start failed: configuration is invalid");
    })?;
    lambda_http::run(service_fn(move |req: Request| {
        let app = app.clone();
        let handler = handler.clone();
        async move { Ok::<_, Infallible>(dispatch(&app, routes, req, handler).await) }
    }))
    .await
}

/// One request through the edge into `handler`; always a response, never an error.
pub async fn dispatch<H, Fut>(
    app: &Arc<App>,
    routes: &[Route],
    req: Request,
    handler: H,
) -> Response<Body>
where
    H: FnOnce(Arc<App>, Request, RouteMatch) -> Fut,
    Fut: Future<Output = Result<Reply, ApiError>>,
{
    let for_handler = app.clone();
    app.edge
        .serve(routes, req, move |req, matched| async move {
            let allowance = if matched.route.throttled {
                let limit = for_handler.config.rate_limits.general;
                let ip = client_ip(&req);
                Some(
                    for_handler
                        .rate_limits()
                        .hit(limit, &ip, now_epoch())
                        .await?,
                )
            } else {
                None
            };
            let reply = handler(for_handler, req, matched).await?;
            match allowance {
                Some(a) => reply
                    .header(
                        HeaderName::from_static("ratelimit-limit"),
                        &a.limit.to_string(),
                    )?
                    .header(
                        HeaderName::from_static("ratelimit-remaining"),
                        &a.remaining.to_string(),
                    )?
                    .header(
                        HeaderName::from_static("ratelimit-reset"),
                        &a.reset_secs.to_string(),
                    ),
                None => Ok(reply),
            }
        })
        .await
}
