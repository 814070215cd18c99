//! Telemetry: JSON logs in Lambda's JSON log format, the cold-start flag, container uptime.
//!
//! Log lines carry ids, routes, statuses and durations; never tokens, cookies, secrets or bodies.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tracing_subscriber::EnvFilter;

static COLD: AtomicBool = AtomicBool::new(true);
static STARTED: OnceLock<Instant> = OnceLock::new();

/// Installs the JSON subscriber at `level` (from `LOG_LEVEL`, read before the full config so that
/// a configuration error is itself logged as JSON). Call once, first thing in `main`.
pub fn init() {
    container_started();
    let level = std::env::var("LOG_LEVEL").unwrap_or_else(|_| "info".into());
    let filter = EnvFilter::try_new(format!(
        "{level},aws_smithy_runtime=warn,aws_config=warn,hyper=warn,rustls=warn"
    ))
    .unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .with_span_list(false)
        .flatten_event(true)
        .with_target(true)
        .with_ansi(false)
        .init();
}

/// True exactly once per container: for the first request it serves.
pub fn take_cold_start() -> bool {
    COLD.swap(false, Ordering::Relaxed)
}

/// Records the container's start (idempotent); uptime is measured from here.
pub fn container_started() -> Instant {
    *STARTED.get_or_init(Instant::now)
}

pub fn uptime_secs() -> f64 {
    container_started().elapsed().as_secs_f64()
}

/// Resident memory of this process in bytes (Linux), for the detailed health check.
pub fn resident_memory_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

pub fn now_rfc3339() -> String {
    format_rfc3339(OffsetDateTime::now_utc())
}

pub fn format_rfc3339(at: OffsetDateTime) -> String {
    at.replace_nanosecond(0)
        .unwrap_or(at)
        .format(&Rfc3339)
        .unwrap_or_default()
}
