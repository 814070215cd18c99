//! The HTTP edge every function runs requests through: routing against the function's table,
//! CORS (preflight included), the Origin check on cookie-authenticated state changes, the body
//! cap, the response envelope (or an HTML page under its own CSP), security headers, the
//! request id and one summary log line.

use std::future::Future;
use std::time::Instant;

use lambda_http::http::header::{
    HeaderName, HeaderValue, ALLOW, CACHE_CONTROL, CONTENT_TYPE, ORIGIN, RETRY_AFTER, VARY,
};
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use serde_json::json;

use super::request::request_id;
use super::routes::{lookup, Lookup, Route, RouteMatch};
use super::{ApiError, Reply, ReplyBody};
use crate::sentry::Sentry;
use crate::telemetry;

/// Largest body the edge accepts at all; handlers apply tighter per-route limits.
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024 + 64 * 1024;

const SECURITY_HEADERS: &[(&str, &str)] = &[
    (
        "strict-transport-security",
        "max-age=63072000; includeSubDomains; preload",
    ),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "no-referrer"),
    (
        "content-security-policy",
        "default-src 'none'; frame-ancestors 'none'; base-uri 'none'",
    ),
    ("cache-control", "no-store"),
];

/// The Content-Security-Policy of an HTML page the API serves (the analysis report): its own
/// inline `<style>` and `data:` images, nothing else (no script, no request, no framing, no
/// form). Replaces the JSON routes' policy, which would leave the page unstyled.
pub const HTML_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const CORS_ALLOW_HEADERS: &str = "content-type, x-request-id";
const CORS_EXPOSE_HEADERS: &str =
    "x-request-id, retry-after, ratelimit-limit, ratelimit-remaining, ratelimit-reset";

/// Edge settings, derived from configuration at cold start.
#[derive(Debug, Clone)]
pub struct Edge {
    /// The one origin allowed to call with credentials (the front end).
    pub allowed_origin: String,
    /// Where internal errors are reported, when `SENTRY_DSN` is set.
    pub sentry: Option<Sentry>,
}

impl Edge {
    pub fn new(allowed_origin: impl Into<String>) -> Self {
        Self {
            allowed_origin: allowed_origin.into(),
            sentry: None,
        }
    }

    /// Runs one request through `handler` and always produces a response (never an `Err`,
    /// never a panic from here): the envelope for data and errors, headers on everything.
    pub async fn serve<'r, F, Fut>(
        &self,
        routes: &'r [Route],
        req: Request,
        handler: F,
    ) -> Response<Body>
    where
        F: FnOnce(Request, RouteMatch<'r>) -> Fut,
        Fut: Future<Output = Result<Reply, ApiError>>,
    {
        let started = Instant::now();
        let cold_start = telemetry::take_cold_start();
        if cold_start {
            telemetry::metrics::count("ColdStart", &[]);
        }
        let request_id = request_id(&req);
        let method = req.method().clone();
        let path = req.uri().path().to_owned();
        let origin = req
            .headers()
            .get(ORIGIN)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let origin_allowed = origin.as_deref() == Some(self.allowed_origin.as_str());

        let (route_key, outcome) = match lookup(routes, method.as_str(), &path) {
            Lookup::Found(matched) => {
                let key = matched.key();
                let outcome = match self.guard(&req, origin.as_deref()) {
                    Ok(()) => handler(req, matched).await,
                    Err(err) => Err(err),
                };
                (key, outcome)
            }
            Lookup::WrongMethod(methods) if method == Method::OPTIONS => (
                format!("OPTIONS {path}"),
                self.preflight(origin_allowed, &methods),
            ),
            Lookup::WrongMethod(methods) => (
                format!("{method} (unrouted)"),
                Err(ApiError::MethodNotAllowed {
                    method: method.to_string(),
                    allow: methods.join(", "),
                }),
            ),
            Lookup::Missing => (
                format!("{method} (unrouted)"),
                Err(ApiError::NotFound("no such route".into())),
            ),
        };

        if let (Err(ApiError::Internal(detail)), Some(sentry)) = (&outcome, &self.sentry) {
            sentry.report(detail, &route_key, &request_id).await;
        }
        let mut response = match outcome {
            Ok(reply) => render_reply(reply, &request_id),
            Err(err) => render_error(&err, &request_id),
        };
        let is_html = response
            .headers()
            .get(CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
        let headers = response.headers_mut();
        for (name, value) in SECURITY_HEADERS {
            headers.insert(*name, HeaderValue::from_static(value));
        }
        if is_html {
            headers.insert(
                "content-security-policy",
                HeaderValue::from_static(HTML_CSP),
            );
        }
        if let Ok(value) = HeaderValue::from_str(&request_id) {
            headers.insert("x-request-id", value);
        }
        headers.insert(VARY, HeaderValue::from_static("Origin"));
        if origin_allowed {
            if let Ok(value) = HeaderValue::from_str(&self.allowed_origin) {
                headers.insert("access-control-allow-origin", value);
                headers.insert(
                    "access-control-allow-credentials",
                    HeaderValue::from_static("true"),
                );
                headers.insert(
                    "access-control-expose-headers",
                    HeaderValue::from_static(CORS_EXPOSE_HEADERS),
                );
            }
        }

        let status = response.status().as_u16();
        tracing::info!(
            target: "request",
            request_id = %request_id,
            method = %method,
            route = %route_key,
            status,
            duration_ms = started.elapsed().as_secs_f64() * 1000.0,
            cold_start,
            "request"
        );
        response
    }

    /// Checks that apply before any handler: the body cap, and the Origin of cookie-carrying
    /// state changes (a cross-site form post must not ride on the session cookie).
    fn guard(&self, req: &Request, origin: Option<&str>) -> Result<(), ApiError> {
        let body: &[u8] = req.body().as_ref();
        if body.len() > MAX_BODY_BYTES {
            return Err(ApiError::PayloadTooLarge {
                limit: MAX_BODY_BYTES,
            });
        }
        let changes_state = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
        let has_cookie = req.headers().contains_key("cookie");
        if changes_state && has_cookie && origin != Some(self.allowed_origin.as_str()) {
            return Err(ApiError::Forbidden(
                "the Origin header must name the allowed front end for cookie-authenticated changes"
                    .into(),
            ));
        }
        Ok(())
    }

    fn preflight(&self, origin_allowed: bool, methods: &[&str]) -> Result<Reply, ApiError> {
        if !origin_allowed {
            return Err(ApiError::Forbidden("origin not allowed".into()));
        }
        let mut allow = methods.join(", ");
        allow.push_str(", OPTIONS");
        Reply::no_content()
            .header(
                HeaderName::from_static("access-control-allow-methods"),
                &allow,
            )?
            .header(
                HeaderName::from_static("access-control-allow-headers"),
                CORS_ALLOW_HEADERS,
            )?
            .header(HeaderName::from_static("access-control-max-age"), "600")
    }
}

fn meta(request_id: &str) -> serde_json::Value {
    json!({ "requestId": request_id, "timestamp": crate::clock::now_rfc3339() })
}

fn json_response(status: StatusCode, body: &serde_json::Value) -> Response<Body> {
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}

fn render_reply(reply: Reply, request_id: &str) -> Response<Body> {
    let mut response = match reply.body {
        ReplyBody::Data(data) => json_response(
            reply.status,
            &json!({ "success": true, "data": data, "meta": meta(request_id) }),
        ),
        ReplyBody::Html(page) => {
            let mut response = Response::new(Body::from(page));
            *response.status_mut() = reply.status;
            response.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            response
        }
        ReplyBody::Empty => {
            let mut response = Response::new(Body::Empty);
            *response.status_mut() = reply.status;
            response
        }
    };
    for (name, value) in reply.headers {
        response.headers_mut().append(name, value);
    }
    response
}

/// Renders an error in the envelope. Internal details go to the log, never to the client.
pub fn render_error(err: &ApiError, request_id: &str) -> Response<Body> {
    let message = match err {
        ApiError::Internal(detail) => {
            tracing::error!(request_id = %request_id, error = %detail, "internal error");
            format!("internal error (request id {request_id})")
        }
        other => other.to_string(),
    };
    let mut error = json!({ "code": err.code(), "message": message });
    let details = err.details();
    if !details.is_empty() {
        error["details"] = serde_json::Value::Array(details);
    }
    let mut response = json_response(
        err.status(),
        &json!({ "success": false, "error": error, "meta": meta(request_id) }),
    );
    let headers = response.headers_mut();
    if let Some(secs) = err.retry_after_secs() {
        headers.insert(RETRY_AFTER, HeaderValue::from(secs));
    }
    if let ApiError::RateLimited {
        retry_after_secs,
        limit,
    } = err
    {
        headers.insert("ratelimit-limit", HeaderValue::from(*limit));
        headers.insert("ratelimit-remaining", HeaderValue::from(0u32));
        headers.insert("ratelimit-reset", HeaderValue::from(*retry_after_secs));
    }
    if let ApiError::MethodNotAllowed { allow, .. } = err {
        if let Ok(value) = HeaderValue::from_str(allow) {
            headers.insert(ALLOW, value);
        }
    }
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
