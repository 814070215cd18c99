//! Configuration: read once at cold start from the environment, validated as a whole.
//!
//! Every problem is collected before failing, so an operator fixes a broken deployment in one
//! round instead of one variable per redeploy.

use std::fmt;

use url::Url;

use crate::install::signature::{WebhookKey, HIGHLEVEL_PUBLIC_KEY};
use crate::secrets::SecretIds;
use crate::store::rate_limits::{Limit, RateLimitConfig};

/// Where a deployment runs. Production forbids anything that only makes sense on a laptop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Dev,
    Prod,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Dev => "dev",
            Stage::Prod => "prod",
        }
    }
}

/// The DynamoDB table names, one variable each so a stack can rename them freely.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tables {
    pub sessions: String,
    pub accounts: String,
    pub results: String,
    pub idempotency: String,
    pub rate_limits: String,
}

impl Tables {
    /// Each table with the logical name operators see in health checks (never the physical name).
    pub fn named(&self) -> [(&'static str, &str); 5] {
        [
            ("sessions", &self.sessions),
            ("accounts", &self.accounts),
            ("results", &self.results),
            ("idempotency", &self.idempotency),
            ("rateLimits", &self.rate_limits),
        ]
    }
}

/// HighLevel OAuth client settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GhlConfig {
    pub client_id: String,
    pub redirect_uri: Url,
    pub api_base_url: Url,
    pub auth_url: Url,
}

/// The HighLevel app install webhook (`ghl-webhook`, module `install`, docs/GHL_WEBHOOK.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GhlWebhookConfig {
    /// HighLevel's Ed25519 public key (`GHL_WEBHOOK_PUBLIC_KEY`, base64 SPKI; HighLevel's
    /// published key by default, a local key pair's for tests and `make dev`).
    pub public_key: WebhookKey,
    /// Our marketplace app's id (`GHL_APP_ID`): HighLevel signs every app's lifecycle events with
    /// the same platform key, so an event naming another app (or none) is ignored, never applied.
    /// Required in prod; dev falls back to [`DEV_GHL_APP_ID`].
    pub app_id: String,
    /// How far a delivery's `timestamp` may be from now, either way (`GHL_WEBHOOK_TOLERANCE_SECS`).
    pub tolerance_secs: i64,
    /// Days an uninstalled location's analyses are kept (`UNINSTALL_RESULTS_RETENTION_DAYS`;
    /// 0 erases them with the uninstall).
    pub uninstall_results_retention_days: u32,
    /// The SQS queue the install webhook sends erasure jobs to (`ERASURE_QUEUE_URL`; only the
    /// webhook needs it, so it is optional here and the webhook refuses to go on without it).
    pub erasure_queue_url: Option<String>,
}

/// Default freshness window of HighLevel deliveries: 65 minutes, because HighLevel retries a
/// delivery we answered 429 every 10 minutes, up to 6 times, with its original `timestamp`
/// (a shorter window would refuse the retries our own 429s ask for). Replays inside the window
/// are answered from the `webhookId` records, kept 7 days (`idempotency::RECORD_TTL_SECS`).
pub const DEFAULT_GHL_WEBHOOK_TOLERANCE_SECS: i64 = 3900;

/// The app id of the sample deliveries in `events/ghl/`, which `make dev` also sets: the fallback
/// of `GHL_APP_ID` in the dev stage only.
pub const DEV_GHL_APP_ID: &str = "6650f2c1a9d3e4b5c6d7e8f9";

/// Stripe settings that are not secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StripeConfig {
    pub api_base_url: Url,
    pub price_id: String,
}

/// The whole validated configuration of a function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub stage: Stage,
    /// The browser front end: redirect target after login and the only CORS origin.
    pub frontend_url: Url,
    pub ghl: GhlConfig,
    pub stripe: StripeConfig,
    pub ghl_webhook: GhlWebhookConfig,
    /// The Secrets Manager secrets this function may read, one per purpose (each optional: a
    /// function is given only what it uses; `secrets::Purpose` lists the variables).
    pub secrets: SecretIds,
    pub tables: Tables,
    pub log_level: String,
    /// Application rate limits (API Gateway throttles in front of them too).
    pub rate_limits: RateLimitConfig,
    /// Sentry DSN for internal-error reports (`SENTRY_DSN`, optional; checked for shape).
    pub sentry_dsn: Option<String>,
    /// The dev-only `/test/*` routes answer (`ENABLE_TEST_ROUTES=true`, dev stage only; the
    /// template sets it on the dev samples function when `EnableTestRoutes` is true, `make dev`
    /// sets it on). Off unless asked: a deployed dev stack hands out no demo sessions.
    pub test_routes: bool,
}

/// Every problem found in the environment, listed together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub problems: Vec<String>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid configuration ({} problem{}): {}",
            self.problems.len(),
            if self.problems.len() == 1 { "" } else { "s" },
            self.problems.join("; ")
        )
    }
}

impl std::error::Error for ConfigError {}

pub const DEFAULT_GHL_API_BASE_URL: &str = "https://services.leadconnectorhq.com";
pub const DEFAULT_GHL_AUTH_URL: &str = "https://marketplace.gohighlevel.com/oauth/chooselocation";
pub const DEFAULT_STRIPE_API_BASE_URL: &str = "https://api.stripe.com";
/// Fallbacks a `dev` stage may use when the variable is unset; `prod` never does.
const DEV_FRONTEND_URL: &str = "http://localhost:5173";
const DEV_REDIRECT_URI: &str = "http://localhost:9000/auth/callback";

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads variables through `lookup`, so tests can pass a map instead of mutating the process.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut reader = Reader {
            lookup: &lookup,
            problems: Vec::new(),
        };
        let stage = reader.stage();
        let dev = stage == Some(Stage::Dev);

        let frontend_url = reader.url("FRONTEND_URL", dev.then_some(DEV_FRONTEND_URL), stage);
        let redirect_uri = reader.url("GHL_REDIRECT_URI", dev.then_some(DEV_REDIRECT_URI), stage);
        let api_base_url = reader.url("GHL_API_BASE_URL", Some(DEFAULT_GHL_API_BASE_URL), stage);
        let auth_url = reader.url("GHL_AUTH_URL", Some(DEFAULT_GHL_AUTH_URL), stage);
        let stripe_base = reader.url(
            "STRIPE_API_BASE_URL",
            Some(DEFAULT_STRIPE_API_BASE_URL),
            stage,
        );
        let client_id = reader.required("GHL_CLIENT_ID");
        let price_id = reader.required("STRIPE_PRICE_ID");
        let secrets = SecretIds::from_lookup(|name| reader.value(name));
        let tables = (
            reader.required("SESSIONS_TABLE"),
            reader.required("ACCOUNTS_TABLE"),
            reader.required("RESULTS_TABLE"),
            reader.required("IDEMPOTENCY_TABLE"),
            reader.required("RATE_LIMITS_TABLE"),
        );
        let log_level = reader.log_level();
        let ghl_webhook = reader.ghl_webhook(dev);
        let sentry_dsn = reader.value("SENTRY_DSN");
        if let Err(problem) = crate::sentry::Sentry::from_dsn(sentry_dsn.as_deref(), "check") {
            reader.problem(problem);
        }
        let test_routes = reader.test_routes(stage);
        let defaults = RateLimitConfig::default();
        let limits = RateLimitConfig {
            login: reader.limit("RATE_LIMIT_LOGIN", defaults.login),
            analyze: reader.limit("RATE_LIMIT_ANALYZE", defaults.analyze),
            general: reader.limit("RATE_LIMIT_DEFAULT", defaults.general),
        };

        if let Some(frontend) = &frontend_url {
            if frontend.path() != "/" || frontend.query().is_some() {
                reader.problem("FRONTEND_URL must be an origin (scheme, host and port only)");
            }
        }

        let problems = reader.problems;
        match (
            stage,
            frontend_url,
            redirect_uri,
            api_base_url,
            auth_url,
            stripe_base,
            client_id,
            price_id,
            tables,
        ) {
            (
                Some(stage),
                Some(frontend_url),
                Some(redirect_uri),
                Some(api_base_url),
                Some(auth_url),
                Some(stripe_base),
                Some(client_id),
                Some(price_id),
                (
                    Some(sessions),
                    Some(accounts),
                    Some(results),
                    Some(idempotency),
                    Some(rate_limits),
                ),
            ) if problems.is_empty() => Ok(Config {
                stage,
                frontend_url,
                ghl: GhlConfig {
                    client_id,
                    redirect_uri,
                    api_base_url,
                    auth_url,
                },
                stripe: StripeConfig {
                    api_base_url: stripe_base,
                    price_id,
                },
                ghl_webhook,
                secrets,
                tables: Tables {
                    sessions,
                    accounts,
                    results,
                    idempotency,
                    rate_limits,
                },
                log_level,
                rate_limits: limits,
                sentry_dsn,
                test_routes,
            }),
            _ => Err(ConfigError { problems }),
        }
    }

    /// The front end's origin as browsers send it in `Origin` (no trailing slash).
    pub fn frontend_origin(&self) -> String {
        self.frontend_url.origin().ascii_serialization()
    }
}

struct Reader<'a, F: Fn(&str) -> Option<String>> {
    lookup: &'a F,
    problems: Vec<String>,
}

impl<F: Fn(&str) -> Option<String>> Reader<'_, F> {
    fn problem(&mut self, text: impl Into<String>) {
        self.problems.push(text.into());
    }

    fn value(&self, name: &str) -> Option<String> {
        (self.lookup)(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    fn required(&mut self, name: &str) -> Option<String> {
        let value = self.value(name);
        if value.is_none() {
            self.problem(format!("{name} is required"));
        }
        value
    }

    fn stage(&mut self) -> Option<Stage> {
        match self.value("STAGE").as_deref() {
            Some("dev") => Some(Stage::Dev),
            Some("prod") => Some(Stage::Prod),
            Some(other) => {
                self.problem(format!("STAGE must be dev or prod, not {other:?}"));
                None
            }
            None => {
                self.problem("STAGE is required (dev or prod)");
                None
            }
        }
    }

    /// `ENABLE_TEST_ROUTES`: `true` or `false` (default), and never `true` in prod.
    fn test_routes(&mut self, stage: Option<Stage>) -> bool {
        match self.value("ENABLE_TEST_ROUTES").as_deref() {
            None | Some("false") => false,
            Some("true") if stage == Some(Stage::Prod) => {
                self.problem("ENABLE_TEST_ROUTES must not be true in prod");
                false
            }
            Some("true") => true,
            Some(other) => {
                self.problem(format!(
                    "ENABLE_TEST_ROUTES must be true or false, not {other:?}"
                ));
                false
            }
        }
    }

    /// An `N/SECONDS` limit, or the default when unset.
    fn limit(&mut self, name: &str, default: Limit) -> Limit {
        match self.value(name) {
            None => default,
            Some(raw) => Limit::parse(default.scope, &raw).unwrap_or_else(|| {
                self.problem(format!(
                    "{name} must look like N/SECONDS (e.g. 100/60), not {raw:?}"
                ));
                default
            }),
        }
    }

    /// The install webhook's key, app id, freshness window and uninstall retention.
    fn ghl_webhook(&mut self, dev: bool) -> GhlWebhookConfig {
        let fallback = WebhookKey::from_spki_base64(HIGHLEVEL_PUBLIC_KEY);
        let raw_key = self
            .value("GHL_WEBHOOK_PUBLIC_KEY")
            .unwrap_or_else(|| HIGHLEVEL_PUBLIC_KEY.to_owned());
        let public_key = match (WebhookKey::from_spki_base64(&raw_key), fallback) {
            (Ok(key), _) => key,
            (Err(why), Ok(fallback)) => {
                self.problem(format!(
                    "GHL_WEBHOOK_PUBLIC_KEY {why} (expected the base64 of an Ed25519 SPKI, 44 characters)"
                ));
                fallback
            }
            (Err(why), Err(_)) => {
                self.problem(format!("GHL_WEBHOOK_PUBLIC_KEY {why}"));
                WebhookKey::from_verifying_key(ed25519_dalek::VerifyingKey::default())
            }
        };
        let tolerance_secs = self.bounded(
            "GHL_WEBHOOK_TOLERANCE_SECS",
            DEFAULT_GHL_WEBHOOK_TOLERANCE_SECS,
            1..=7200,
        );
        let retention = self.bounded("UNINSTALL_RESULTS_RETENTION_DAYS", 0, 0..=3650);
        let erasure_queue_url = self.value("ERASURE_QUEUE_URL");
        if let Some(url) = &erasure_queue_url {
            if !Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https")) {
                self.problem("ERASURE_QUEUE_URL must be an http(s) URL (the SQS queue's URL)");
            }
        }
        let app_id = match self.value("GHL_APP_ID") {
            Some(id) => id,
            None if dev => DEV_GHL_APP_ID.to_owned(),
            None => {
                self.problem("GHL_APP_ID is required when STAGE=prod (our HighLevel app's id)");
                String::new()
            }
        };
        GhlWebhookConfig {
            public_key,
            app_id,
            tolerance_secs,
            uninstall_results_retention_days: u32::try_from(retention).unwrap_or(0),
            erasure_queue_url,
        }
    }

    /// A whole number within `range`, or `default` when unset.
    fn bounded(&mut self, name: &str, default: i64, range: std::ops::RangeInclusive<i64>) -> i64 {
        match self.value(name) {
            None => default,
            Some(raw) => match raw.parse::<i64>() {
                Ok(n) if range.contains(&n) => n,
                _ => {
                    self.problem(format!(
                        "{name} must be a whole number from {} to {}, not {raw:?}",
                        range.start(),
                        range.end()
                    ));
                    default
                }
            },
        }
    }

    fn log_level(&mut self) -> String {
        let level = self
            .value("LOG_LEVEL")
            .unwrap_or_else(|| "info".to_owned())
            .to_ascii_lowercase();
        if !["trace", "debug", "info", "warn", "error"].contains(&level.as_str()) {
            self.problem(format!(
                "LOG_LEVEL must be one of trace, debug, info, warn, error, not {level:?}"
            ));
        }
        level
    }

    /// A URL; in prod it must be https and not point at this machine.
    fn url(&mut self, name: &str, default: Option<&str>, stage: Option<Stage>) -> Option<Url> {
        let raw = match self.value(name).or_else(|| default.map(str::to_owned)) {
            Some(raw) => raw,
            None => {
                self.problem(format!("{name} is required"));
                return None;
            }
        };
        let url = match Url::parse(&raw) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => url,
            _ => {
                self.problem(format!("{name} must be an absolute http(s) URL"));
                return None;
            }
        };
        if stage == Some(Stage::Prod) {
            if url.scheme() != "https" {
                self.problem(format!("{name} must use https when STAGE=prod"));
            }
            if is_local_host(&url) {
                self.problem(format!(
                    "{name} must not point at localhost when STAGE=prod"
                ));
            }
        }
        Some(url)
    }
}

fn is_local_host(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => {
            let d = d.to_ascii_lowercase();
            d == "localhost" || d.ends_with(".localhost")
        }
        Some(url::Host::Ipv4(ip)) => ip.is_loopback() || ip.is_unspecified(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback() || ip.is_unspecified(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn base() -> HashMap<&'static str, &'static str> {
        HashMap::from([
            ("STAGE", "prod"),
            ("FRONTEND_URL", "https://app.example.com"),
            ("GHL_CLIENT_ID", "client"),
            ("GHL_REDIRECT_URI", "https://api.example.com/auth/callback"),
            ("STRIPE_PRICE_ID", "price_1"),
            ("TOKEN_KEY_SECRET_ID", "secret"),
            ("SESSIONS_TABLE", "s"),
            ("ACCOUNTS_TABLE", "a"),
            ("RESULTS_TABLE", "r"),
            ("IDEMPOTENCY_TABLE", "i"),
            ("RATE_LIMITS_TABLE", "l"),
            ("GHL_APP_ID", "app_ours"),
        ])
    }

    fn load(vars: &HashMap<&str, &str>) -> Result<Config, ConfigError> {
        Config::from_lookup(|k| vars.get(k).map(|v| v.to_string()))
    }

    #[test]
    fn complete_prod_environment_loads_with_defaults() {
        let config = load(&base()).expect("valid");
        assert_eq!(config.stage, Stage::Prod);
        assert_eq!(
            config.ghl.api_base_url.as_str(),
            "https://services.leadconnectorhq.com/"
        );
        assert_eq!(config.frontend_origin(), "https://app.example.com");
        assert_eq!(config.log_level, "info");
    }

    #[test]
    fn prod_refuses_plain_http_and_localhost() {
        let mut vars = base();
        vars.insert("FRONTEND_URL", "http://localhost:5173");
        let err = load(&vars).unwrap_err();
        assert!(err
            .problems
            .iter()
            .any(|p| p.contains("FRONTEND_URL must use https")));
        assert!(err
            .problems
            .iter()
            .any(|p| p.contains("FRONTEND_URL must not point at localhost")));
    }

    #[test]
    fn dev_falls_back_to_localhost() {
        let mut vars = base();
        vars.insert("STAGE", "dev");
        vars.remove("FRONTEND_URL");
        vars.remove("GHL_REDIRECT_URI");
        let config = load(&vars).expect("dev fallbacks");
        assert_eq!(config.frontend_origin(), "http://localhost:5173");
    }

    #[test]
    fn the_ghl_webhook_defaults_to_highlevels_key_and_65_minutes() {
        let config = load(&base()).expect("valid");
        assert_eq!(
            config.ghl_webhook.public_key.to_spki_base64(),
            HIGHLEVEL_PUBLIC_KEY
        );
        assert_eq!(
            config.ghl_webhook.tolerance_secs,
            DEFAULT_GHL_WEBHOOK_TOLERANCE_SECS
        );
        assert_eq!(config.ghl_webhook.uninstall_results_retention_days, 0);
    }

    #[test]
    fn a_bad_ghl_webhook_key_or_window_is_listed_with_the_others() {
        let mut vars = base();
        vars.insert("GHL_WEBHOOK_PUBLIC_KEY", "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8A");
        vars.insert("GHL_WEBHOOK_TOLERANCE_SECS", "0");
        vars.insert("UNINSTALL_RESULTS_RETENTION_DAYS", "-1");
        let err = load(&vars).unwrap_err().to_string();
        for needle in [
            "GHL_WEBHOOK_PUBLIC_KEY",
            "GHL_WEBHOOK_TOLERANCE_SECS",
            "UNINSTALL_RESULTS_RETENTION_DAYS",
        ] {
            assert!(err.contains(needle), "{needle} missing from {err}");
        }
    }

    #[test]
    fn the_erasure_queue_url_is_optional_but_must_be_an_http_url() {
        assert_eq!(load(&base()).unwrap().ghl_webhook.erasure_queue_url, None);
        let mut vars = base();
        let url = "https://sqs.us-east-1.amazonaws.com/123456789012/stack-ErasureQueue-AbC";
        vars.insert("ERASURE_QUEUE_URL", url);
        let config = load(&vars).expect("a queue URL");
        assert_eq!(config.ghl_webhook.erasure_queue_url.as_deref(), Some(url));
        for bad in ["ErasureQueue", "ftp://queue", "arn:aws:sqs:us-east-1:1:q"] {
            vars.insert("ERASURE_QUEUE_URL", bad);
            let err = load(&vars).unwrap_err().to_string();
            assert!(err.contains("ERASURE_QUEUE_URL"), "{bad}: {err}");
        }
    }

    #[test]
    fn the_ghl_app_id_is_required_in_prod_and_has_a_dev_fallback() {
        let mut vars = base();
        vars.remove("GHL_APP_ID");
        let err = load(&vars).unwrap_err().to_string();
        assert!(err.contains("GHL_APP_ID is required"), "{err}");
        vars.insert("STAGE", "dev");
        let config = load(&vars).expect("dev falls back");
        assert_eq!(config.ghl_webhook.app_id, DEV_GHL_APP_ID);
        assert_eq!(load(&base()).unwrap().ghl_webhook.app_id, "app_ours");
    }

    #[test]
    fn every_problem_is_listed_at_once() {
        let vars = HashMap::from([("STAGE", "staging"), ("LOG_LEVEL", "loud")]);
        let err = load(&vars).unwrap_err();
        for needle in ["STAGE", "GHL_CLIENT_ID", "RESULTS_TABLE", "LOG_LEVEL"] {
            assert!(
                err.to_string().contains(needle),
                "{needle} missing from {err}"
            );
        }
    }
}
