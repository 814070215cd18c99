//! The state every function builds once at cold start: configuration, clients, secrets.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use crate::aws::AwsClients;
use crate::billing::stripe::Stripe;
use crate::config::{Config, ConfigError};
use crate::erasure::{Erasure, SqsErasureQueue};
use crate::highlevel::{HighLevel, WorkflowCache};
use crate::http::Edge;
use crate::idempotency::Idempotency;
use crate::secrets::{SecretStore, SecretsError};
use crate::sentry::Sentry;
use crate::store::accounts::Accounts;
use crate::store::rate_limits::RateLimits;
use crate::store::results::Results;
use crate::store::sessions::Sessions;
use crate::upstream::{self, Breaker};

/// Shared by every invocation of a warm container.
pub struct App {
    pub config: Config,
    pub aws: AwsClients,
    pub secrets: SecretStore,
    pub edge: Edge,
    /// One HTTP client for HighLevel and Stripe, built on first use (loading the trust roots at
    /// every cold start would slow the functions that never call out) and then reused.
    http: OnceLock<reqwest::Client>,
    /// Circuit breakers, one per upstream, living as long as the container.
    pub highlevel_breaker: Breaker,
    pub stripe_breaker: Breaker,
    /// Workflow lists per location, reused for a few seconds by this container.
    pub workflow_cache: WorkflowCache,
}

impl App {
    /// Validates the environment (all problems at once) and builds the clients; no network call.
    pub async fn from_env() -> Result<Arc<Self>, ConfigError> {
        let config = Config::from_env()?;
        let aws = AwsClients::from_env().await;
        Ok(Arc::new(Self::new(config, aws)))
    }

    /// The shared outbound HTTP client.
    pub fn http(&self) -> &reqwest::Client {
        self.http.get_or_init(upstream::http_client)
    }

    /// A Stripe client from its parts, with the API key (cached by the secret store).
    pub async fn stripe(&self) -> Result<Stripe<'_>, SecretsError> {
        let api_key = self.secrets.stripe_api_key().await?;
        Ok(Stripe::new(
            self.http(),
            &self.stripe_breaker,
            &self.config.stripe.api_base_url,
            api_key,
        ))
    }

    /// A HighLevel client from its parts.
    pub fn highlevel(&self) -> HighLevel<'_> {
        HighLevel::new(
            self.http(),
            &self.highlevel_breaker,
            &self.config.ghl,
            &self.secrets,
            self.accounts(),
            &self.workflow_cache,
        )
    }

    /// The erasure queue of `ERASURE_QUEUE_URL`; `None` when the variable is unset (only the
    /// install webhook sends to it, and answers 429 without it, so HighLevel retries).
    pub fn erasure_queue(&self) -> Option<SqsErasureQueue> {
        let url = self.config.ghl_webhook.erasure_queue_url.as_deref()?;
        Some(SqsErasureQueue::new(self.aws.sqs().clone(), url))
    }

    /// What the erasure worker erases from, and how, from the configuration.
    pub fn erasure(&self) -> Erasure {
        Erasure {
            sessions: self.sessions(),
            accounts: self.accounts(),
            rate_limits: self.rate_limits(),
            results: self.results(),
            rate_limit: self.config.rate_limits.analyze,
            results_retention_days: self.config.ghl_webhook.uninstall_results_retention_days,
        }
    }

    /// The sessions table, through its port.
    pub fn sessions(&self) -> Sessions {
        Sessions::new(self.aws.dynamodb().clone(), &self.config.tables.sessions)
    }

    /// The accounts table, through its port.
    pub fn accounts(&self) -> Accounts {
        Accounts::new(self.aws.dynamodb().clone(), &self.config.tables.accounts)
    }

    /// The webhooks' idempotency records, through their port.
    pub fn idempotency(&self) -> Idempotency {
        Idempotency::new(self.aws.dynamodb().clone(), &self.config.tables.idempotency)
    }

    /// The rate-limit windows table, through its port.
    pub fn rate_limits(&self) -> RateLimits {
        RateLimits::new(self.aws.dynamodb().clone(), &self.config.tables.rate_limits)
    }

    /// The results table, through its port.
    pub fn results(&self) -> Results {
        Results::new(self.aws.dynamodb().clone(), &self.config.tables.results)
    }

    pub fn new(config: Config, aws: AwsClients) -> Self {
        let secrets = SecretStore::new(aws.clone(), config.secrets.clone());
        let mut edge = Edge::new(config.frontend_origin());
        // The DSN was checked with the rest of the configuration.
        edge.sentry = Sentry::from_dsn(config.sentry_dsn.as_deref(), config.stage.as_str())
            .ok()
            .flatten();
        Self {
            config,
            aws,
            secrets,
            edge,
            http: OnceLock::new(),
            highlevel_breaker: Breaker::new("HighLevel", 5, Duration::from_secs(30)),
            stripe_breaker: Breaker::new("Stripe", 5, Duration::from_secs(30)),
            workflow_cache: WorkflowCache::default(),
        }
    }
}
