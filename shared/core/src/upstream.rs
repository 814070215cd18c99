//! Calling HighLevel and Stripe: one HTTP client per container, timeouts, retries with
//! exponential backoff and full jitter on 429/5xx/timeouts only (honouring `Retry-After`), and a
//! circuit breaker per dependency so a dead upstream fails fast with 503.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use reqwest::{RequestBuilder, Response, StatusCode};

use crate::telemetry::metrics::{self, Unit};

/// The longest we wait before one retry; a `Retry-After` beyond it ends the attempts instead.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(3);

/// Builds the shared client: connect and total timeouts well inside the Lambda timeout. It trusts
/// the compiled-in roots and the private CA of [`crate::aws::EXTRA_CA_FILE_ENV`] only (no system
/// store scan, no platform verifier: [`crate::aws`]); built once per process by `App::http`.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .tls_certs_only(crate::aws::reqwest_roots())
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(5))
        .pool_idle_timeout(Duration::from_secs(50))
        .user_agent(concat!("ghl-workflow-analyzer/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_default()
}

#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// Down, overloaded, timing out, or the breaker is open: worth retrying later.
    #[error("{service} unavailable: {detail}")]
    Unavailable {
        service: &'static str,
        detail: String,
        retry_after_secs: Option<u64>,
    },
    /// The upstream answered with a final 4xx. `body` is kept for logs at debug level only.
    #[error("{service} refused the request with status {status}")]
    Rejected {
        service: &'static str,
        status: u16,
        body: String,
    },
}

/// Opens after `threshold` consecutive failures, for `cooldown`; then lets one call probe.
pub struct Breaker {
    service: &'static str,
    threshold: u32,
    cooldown: Duration,
    failures: AtomicU32,
    open_until: Mutex<Option<Instant>>,
}

impl Breaker {
    pub fn new(service: &'static str, threshold: u32, cooldown: Duration) -> Self {
        Self {
            service,
            threshold,
            cooldown,
            failures: AtomicU32::new(0),
            open_until: Mutex::new(None),
        }
    }

    fn check(&self) -> Result<(), UpstreamError> {
        let mut open = self.open_until.lock().unwrap_or_else(|p| p.into_inner());
        match *open {
            Some(until) if Instant::now() < until => Err(UpstreamError::Unavailable {
                service: self.service,
                detail: "circuit open after repeated failures".into(),
                retry_after_secs: Some(
                    until
                        .saturating_duration_since(Instant::now())
                        .as_secs()
                        .max(1),
                ),
            }),
            Some(_) => {
                *open = None; // half-open: this call probes
                Ok(())
            }
            None => Ok(()),
        }
    }

    fn success(&self) {
        self.failures.store(0, Ordering::Relaxed);
    }

    fn failure(&self) {
        let failures = self.failures.fetch_add(1, Ordering::Relaxed) + 1;
        if failures >= self.threshold {
            *self.open_until.lock().unwrap_or_else(|p| p.into_inner()) =
                Some(Instant::now() + self.cooldown);
            self.failures.store(0, Ordering::Relaxed);
        }
    }
}

/// How many times to try and how long to back off.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub base: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 3,
            base: Duration::from_millis(100),
        }
    }
}

/// What a response says about retrying, beyond its status (e.g. `Stripe-Should-Retry`).
pub type RetryHint = fn(&Response) -> Option<bool>;

/// Sends the request built by `build` (called once per attempt), retrying transient failures.
/// Returns the first final response: success, or a 4xx other than 429 as `Rejected`.
pub async fn send(
    breaker: &Breaker,
    policy: RetryPolicy,
    hint: Option<RetryHint>,
    build: impl Fn() -> RequestBuilder,
) -> Result<Response, UpstreamError> {
    breaker.check()?;
    let service = breaker.service;
    let started = Instant::now();
    let outcome = attempts(breaker, policy, hint, build).await;
    metrics::emit(
        &[
            (
                "UpstreamLatency",
                started.elapsed().as_secs_f64() * 1000.0,
                Unit::Milliseconds,
            ),
            (
                "UpstreamFailure",
                if outcome.is_err() { 1.0 } else { 0.0 },
                Unit::Count,
            ),
        ],
        &[("Service", service)],
    );
    outcome
}

async fn attempts(
    breaker: &Breaker,
    policy: RetryPolicy,
    hint: Option<RetryHint>,
    build: impl Fn() -> RequestBuilder,
) -> Result<Response, UpstreamError> {
    let service = breaker.service;
    let mut last: Option<UpstreamError> = None;
    for attempt in 0..policy.attempts.max(1) {
        let (wait, failure) = match build().send().await {
            Ok(response) => {
                let status = response.status();
                let retry = hint
                    .and_then(|h| h(&response))
                    .unwrap_or(status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error());
                if status.is_success() {
                    breaker.success();
                    return Ok(response);
                }
                if !retry {
                    if status.is_server_error() {
                        breaker.failure();
                        return Err(UpstreamError::Unavailable {
                            service,
                            detail: format!("status {status}"),
                            retry_after_secs: retry_after(&response),
                        });
                    }
                    breaker.success(); // a 4xx proves the upstream is alive
                    let status = status.as_u16();
                    let body = response.text().await.unwrap_or_default();
                    return Err(UpstreamError::Rejected {
                        service,
                        status,
                        body,
                    });
                }
                let after = retry_after(&response);
                (
                    after.map(Duration::from_secs),
                    UpstreamError::Unavailable {
                        service,
                        detail: format!("status {status}"),
                        retry_after_secs: after,
                    },
                )
            }
            Err(err) if err.is_timeout() || err.is_connect() || err.is_request() => (
                None,
                UpstreamError::Unavailable {
                    service,
                    detail: if err.is_timeout() {
                        "timed out".into()
                    } else {
                        "connection failed".into()
                    },
                    retry_after_secs: None,
                },
            ),
            Err(err) => {
                breaker.failure();
                return Err(UpstreamError::Unavailable {
                    service,
                    detail: format!("request failed: {}", err.without_url()),
                    retry_after_secs: None,
                });
            }
        };
        last = Some(failure);
        if attempt + 1 == policy.attempts {
            break;
        }
        let backoff = policy.base * 2u32.saturating_pow(attempt);
        let jittered = backoff.mul_f64(rand::random::<f64>());
        let wait = wait.unwrap_or(jittered);
        if wait > MAX_RETRY_WAIT {
            break; // the upstream asks for more time than this invocation can spend
        }
        tracing::debug!(
            service,
            attempt,
            wait_ms = wait.as_millis() as u64,
            "retrying upstream call"
        );
        tokio::time::sleep(wait).await;
    }
    breaker.failure();
    Err(last.unwrap_or(UpstreamError::Unavailable {
        service,
        detail: "no attempt made".into(),
        retry_after_secs: None,
    }))
}

/// `Retry-After` in seconds, or HighLevel's `X-RateLimit-Interval-Milliseconds` when out of quota.
fn retry_after(response: &Response) -> Option<u64> {
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
    };
    header("retry-after").or_else(|| {
        (header("x-ratelimit-remaining") == Some(0))
            .then(|| header("x-ratelimit-interval-milliseconds").map(|ms| ms.div_ceil(1000)))
            .flatten()
    })
}
