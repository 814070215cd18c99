//! Running a function: the cold-start sequence every `main.rs` shares, and the per-request
//! dispatch through the edge that tests call directly.

use std::convert::Infallible;
use std::sync::Arc;

use lambda_http::{service_fn, Body, Request, Response};

use lambda_http::http::header::HeaderName;

use crate::clock::now_epoch;
use crate::http::request::client_ip;
use crate::http::Route;
use crate::{telemetry, App};

/// Logs as JSON, validates configuration (the init fails with every problem listed), builds the
/// clients once, then serves requests through `routes` until the container stops.
///
/// The two long-lived futures (the configuration and the runtime's loop, which holds a request's
/// whole handler future) are boxed: inline they made `main`'s stack frame 64 KB (920 bytes
/// boxed), and probing that frame cost 13 page faults before `main` did anything; on the heap only
/// the pages a future writes are touched (docs/PERFORMANCE.md, issue 20).
pub async fn run(routes: Vec<Route>) -> Result<(), lambda_http::Error> {
    telemetry::init();
    let app = Box::pin(App::from_env()).await.inspect_err(|err| {
        tracing::error!(error = %err, "cold start failed: configuration is invalid");
    })?;
    let routes: Arc<[Route]> = routes.into();
    Box::pin(lambda_http::run(service_fn(move |req: Request| {
        let app = app.clone();
        let routes = routes.clone();
        async move { Ok::<_, Infallible>(dispatch(&app, &routes, req).await) }
    })))
    .await
}

/// One request through the edge into the handler its route names; always a response, never an
/// error.
pub async fn dispatch(app: &Arc<App>, routes: &[Route], req: Request) -> Response<Body> {
    app.edge
        .serve(routes, req, |mut req, matched| async move {
            let allowance = if matched.route.throttled {
                let limit = app.config.rate_limits.general;
                let ip = client_ip(&req);
                Some(app.rate_limits().hit(limit, &ip, now_epoch()).await?)
            } else {
                None
            };
            req.extensions_mut().insert(matched.params);
            let reply = matched.route.call(app, &req).await?;
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
