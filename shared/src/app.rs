//! The state every function builds once at cold start: configuration, clients, secrets.

use std::sync::Arc;

use crate::aws::AwsClients;
use crate::config::{Config, ConfigError};
use crate::http::Edge;
use crate::secrets::SecretStore;

/// Shared by every invocation of a warm container.
pub struct App {
    pub config: Config,
    pub aws: AwsClients,
    pub secrets: SecretStore,
    pub edge: Edge,
}

impl App {
    /// Validates the environment (all problems at once) and builds the clients; no network call.
    pub async fn from_env() -> Result<Arc<Self>, ConfigError> {
        let config = Config::from_env()?;
        let aws = AwsClients::from_env().await;
        Ok(Arc::new(Self::new(config, aws)))
    }

    pub fn new(config: Config, aws: AwsClients) -> Self {
        let secrets = SecretStore::new(aws.secrets.clone(), config.secret_id.clone());
        let edge = Edge::new(config.frontend_origin());
        Self {
            config,
            aws,
            secrets,
            edge,
        }
    }
}
