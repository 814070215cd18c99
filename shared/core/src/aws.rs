//! AWS clients, built once per container and shared by every invocation.
//!
//! `aws-config` honours `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_DYNAMODB`, which is how the local
//! stack and the tests point the real SDK at a moto server.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::BehaviorVersion;

#[derive(Clone, Debug)]
pub struct AwsClients {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
}

impl AwsClients {
    /// Loads credentials, region and endpoints from the environment. Retries use the SDK's
    /// standard mode; timeouts stay well inside the Lambda timeout so a stuck call ends as a
    /// clean 503 instead of a killed invocation.
    pub async fn from_env() -> Self {
        let shared = aws_config::defaults(BehaviorVersion::latest())
            .retry_config(RetryConfig::standard().with_max_attempts(3))
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(2))
                    .operation_attempt_timeout(Duration::from_secs(3))
                    .operation_timeout(Duration::from_secs(6))
                    .build(),
            )
            .load()
            .await;
        Self {
            dynamodb: aws_sdk_dynamodb::Client::new(&shared),
            secrets: aws_sdk_secretsmanager::Client::new(&shared),
        }
    }
}
