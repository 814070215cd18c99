//! Telemetry: JSON logs in Lambda's JSON log format, the cold-start flag, container uptime.
//!
//! Log lines carry ids, routes, statuses and durations; never tokens, cookies, secrets or bodies.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

static COLD: AtomicBool = AtomicBool::new(true);
static STARTED: OnceLock<Instant> = OnceLock::new();

/// Installs the JSON subscriber at `level` (from `LOG_LEVEL`, read before the full config so that
/// a configuration error is itself logged as JSON). Call once, first thing in `main`.
pub fn init() {
    container_started();
    let level = std::env::var("LOG_LEVEL").unwrap_or_else(|_| "info".into());
    tracing_subscriber::fmt()
        .json()
        .with_current_span(false)
        .with_span_list(false)
        .flatten_event(true)
        .with_target(true)
        .with_ansi(false)
        .finish()
        .with(filter(&level))
        .init();
}

/// The log filter: `level` for everything, warnings only from the SDK, hyper and rustls. A
/// per-target filter (`Targets`), not `EnvFilter`: the same `target=level` directives without
/// the regex engine `EnvFilter` links in (~220 KB of code and ~470 start-up relocations per
/// binary, docs/PERFORMANCE.md, issue 20). `level` is a level (`trace` .. `error`, `off`) or
/// directives (`info,backend_core::store=debug`); anything else logs at `info` (a bare word
/// would otherwise be read as a target name and silence every other target).
pub fn filter(level: &str) -> Targets {
    let level = level.trim();
    let directives =
        if level.contains('=') || (!level.is_empty() && level.parse::<LevelFilter>().is_ok()) {
            level
        } else {
            "info"
        };
    format!("{directives},aws_smithy_runtime=warn,aws_config=warn,hyper=warn,rustls=warn")
        .parse()
        .unwrap_or_else(|_| Targets::new().with_default(tracing::Level::INFO))
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

/// CloudWatch Embedded Metric Format: one JSON line per metric set, which CloudWatch turns into
/// metrics without an API call (no latency, no IAM). The namespace comes from
/// `METRICS_NAMESPACE` (default `GhlWorkflowAnalyzer`); the function name is the dimension.
pub mod metrics {
    use std::io::Write;
    use std::sync::{Mutex, OnceLock};

    use serde_json::{json, Map, Value};

    /// A metric's unit, as CloudWatch names it.
    #[derive(Debug, Clone, Copy)]
    pub enum Unit {
        Count,
        Milliseconds,
        None,
    }

    impl Unit {
        fn as_str(self) -> &'static str {
            match self {
                Unit::Count => "Count",
                Unit::Milliseconds => "Milliseconds",
                Unit::None => "None",
            }
        }
    }

    type Sink = Box<dyn Fn(&str) + Send + Sync>;

    fn sink() -> &'static Mutex<Option<Sink>> {
        static SINK: OnceLock<Mutex<Option<Sink>>> = OnceLock::new();
        SINK.get_or_init(|| Mutex::new(None))
    }

    /// Sends metric lines somewhere other than stdout (tests capture them).
    pub fn set_sink(f: impl Fn(&str) + Send + Sync + 'static) {
        *sink().lock().unwrap_or_else(|p| p.into_inner()) = Some(Box::new(f));
    }

    fn namespace() -> String {
        std::env::var("METRICS_NAMESPACE")
            .ok()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| "GhlWorkflowAnalyzer".to_owned())
    }

    fn function_name() -> String {
        std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| "local".to_owned())
    }

    /// The EMF line for `values` (name, value, unit) under the function dimension plus `extra`.
    pub fn line(values: &[(&str, f64, Unit)], extra: &[(&str, &str)]) -> String {
        let mut root = Map::new();
        let mut dimension_names = vec!["FunctionName".to_owned()];
        root.insert("FunctionName".into(), Value::String(function_name()));
        for (key, value) in extra {
            dimension_names.push((*key).to_owned());
            root.insert((*key).to_owned(), Value::String((*value).to_owned()));
        }
        let definitions: Vec<Value> = values
            .iter()
            .map(|(name, _, unit)| json!({ "Name": name, "Unit": unit.as_str() }))
            .collect();
        for (name, value, _) in values {
            root.insert((*name).to_owned(), json!(value));
        }
        let millis = time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
        root.insert(
            "_aws".into(),
            json!({
                "Timestamp": millis as i64,
                "CloudWatchMetrics": [{
                    "Namespace": namespace(),
                    "Dimensions": [dimension_names],
                    "Metrics": definitions,
                }],
            }),
        );
        Value::Object(root).to_string()
    }

    /// Emits one metric set (stdout in Lambda, where CloudWatch reads EMF from the log stream).
    pub fn emit(values: &[(&str, f64, Unit)], extra: &[(&str, &str)]) {
        let text = line(values, extra);
        if let Some(f) = sink().lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            f(&text);
            return;
        }
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{text}");
    }

    pub fn count(name: &str, extra: &[(&str, &str)]) {
        emit(&[(name, 1.0, Unit::Count)], extra);
    }
}

#[cfg(test)]
mod tests {
    use tracing::Level;

    use super::filter;

    #[test]
    fn the_filter_takes_the_level_and_quiets_the_sdk() {
        let f = filter("debug");
        assert!(f.would_enable("backend_core::store", &Level::DEBUG));
        assert!(!f.would_enable("backend_core::store", &Level::TRACE));
        assert!(!f.would_enable("aws_smithy_runtime::client::orchestrator", &Level::INFO));
        assert!(f.would_enable("aws_smithy_runtime::client::orchestrator", &Level::WARN));
        assert!(!f.would_enable("hyper::proto", &Level::INFO));
        assert!(!f.would_enable("rustls::client", &Level::DEBUG));

        let f = filter("WARN");
        assert!(!f.would_enable("analyze", &Level::INFO));
        assert!(f.would_enable("analyze", &Level::WARN));

        let f = filter("info,backend_core::store=debug");
        assert!(f.would_enable("backend_core::store", &Level::DEBUG));
        assert!(!f.would_enable("backend_core::http", &Level::DEBUG));
        assert!(f.would_enable("backend_core::http", &Level::INFO));
    }

    #[test]
    fn a_level_that_does_not_parse_logs_at_info() {
        for bad in ["loud", "", "a=b=c", "info,x=loud"] {
            let f = filter(bad);
            assert!(f.would_enable("backend_core", &Level::INFO), "{bad}");
            assert!(!f.would_enable("backend_core", &Level::DEBUG), "{bad}");
        }
    }
}
