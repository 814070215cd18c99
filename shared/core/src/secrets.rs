//! Secrets: one Secrets Manager secret (JSON), fetched lazily on first use and cached with a TTL.
//!
//! Values live in `secrecy` wrappers whose `Debug` prints `[REDACTED]`, so a stray `{:?}` in a log
//! line cannot leak them. Parse errors name the field, never the value.

use std::sync::Arc;
use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretBox, SecretString};
use tokio::sync::Mutex;

/// How long a fetched secret is trusted before the next use re-reads it (picks up rotations).
pub const SECRET_TTL: Duration = Duration::from_secs(300);

/// The AES-256 key that encrypts OAuth tokens at rest.
pub struct EncryptionKey(SecretBox<[u8; 32]>);

impl EncryptionKey {
    /// Parses 64 hex characters.
    pub fn from_hex(hex_key: &str) -> Option<Self> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(hex_key.trim(), &mut bytes).ok()?;
        Some(Self(SecretBox::new(Box::new(bytes))))
    }

    pub fn bytes(&self) -> &[u8; 32] {
        self.0.expose_secret()
    }
}

impl std::fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EncryptionKey([REDACTED])")
    }
}

/// The application's secrets, as stored in the secret's JSON.
#[derive(Debug)]
pub struct Secrets {
    pub ghl_client_secret: SecretString,
    pub stripe_secret_key: SecretString,
    pub stripe_webhook_secret: SecretString,
    pub token_encryption_key: EncryptionKey,
}

impl Secrets {
    /// Parses the secret's JSON text. The error lists field names only.
    pub fn parse(json: &str) -> Result<Self, SecretsError> {
        let value: serde_json::Value = serde_json::from_str(json)
            .map_err(|_| SecretsError::Malformed("the secret is not a JSON object".into()))?;
        let text = |field: &str| {
            value
                .get(field)
                .and_then(|v| v.as_str())
                .filter(|s| !s.is_empty())
                .map(|s| SecretString::from(s.to_owned()))
        };
        // Placeholders (the template seeds REPLACE_ME) and values of the wrong kind count as
        // missing: a webhook secret anyone can guess would let anyone forge Stripe events.
        let real = |s: &SecretString, prefixes: &[&str]| {
            let v = s.expose_secret();
            !v.contains("REPLACE_ME")
                && (prefixes.is_empty() || prefixes.iter().any(|p| v.starts_with(p)))
        };
        let ghl = text("ghlClientSecret").filter(|s| real(s, &[]));
        let stripe_key = text("stripeSecretKey").filter(|s| real(s, &["sk_", "rk_"]));
        let webhook = text("stripeWebhookSecret").filter(|s| real(s, &["whsec_"]));
        let key = value
            .get("tokenEncryptionKey")
            .and_then(|v| v.as_str())
            .and_then(EncryptionKey::from_hex);
        match (ghl, stripe_key, webhook, key) {
            (Some(ghl), Some(stripe_key), Some(webhook), Some(key)) => Ok(Secrets {
                ghl_client_secret: ghl,
                stripe_secret_key: stripe_key,
                stripe_webhook_secret: webhook,
                token_encryption_key: key,
            }),
            (ghl, stripe_key, webhook, key) => {
                let mut missing = Vec::new();
                if ghl.is_none() {
                    missing.push("ghlClientSecret");
                }
                if stripe_key.is_none() {
                    missing.push("stripeSecretKey (sk_... or rk_...)");
                }
                if webhook.is_none() {
                    missing.push("stripeWebhookSecret (whsec_...)");
                }
                if key.is_none() {
                    missing.push("tokenEncryptionKey (64 hex characters)");
                }
                Err(SecretsError::Malformed(format!(
                    "the secret lacks or has an invalid {}",
                    missing.join(", ")
                )))
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    /// Secrets Manager could not be reached or refused the read.
    #[error("secret unavailable: {0}")]
    Unavailable(String),
    /// The secret exists but its content is unusable: an operator must fix it.
    #[error("secret malformed: {0}")]
    Malformed(String),
}

/// Fetches the secret on first use and keeps it for [`SECRET_TTL`].
pub struct SecretStore {
    client: aws_sdk_secretsmanager::Client,
    secret_id: String,
    cached: Mutex<Option<(Instant, Arc<Secrets>)>>,
}

impl SecretStore {
    pub fn new(client: aws_sdk_secretsmanager::Client, secret_id: impl Into<String>) -> Self {
        Self {
            client,
            secret_id: secret_id.into(),
            cached: Mutex::new(None),
        }
    }

    /// The current secrets, from the cache while fresh. Concurrent callers share one fetch.
    pub async fn get(&self) -> Result<Arc<Secrets>, SecretsError> {
        let mut cached = self.cached.lock().await;
        if let Some((at, secrets)) = cached.as_ref() {
            if at.elapsed() < SECRET_TTL {
                return Ok(secrets.clone());
            }
        }
        let secrets = Arc::new(self.fetch().await?);
        *cached = Some((Instant::now(), secrets.clone()));
        Ok(secrets)
    }

    /// Proves the secret exists and is reachable without reading its value (`DescribeSecret`):
    /// the health checks use it, so the public health function holds no secret value and
    /// needs no `secretsmanager:GetSecretValue`.
    pub async fn check_access(&self) -> Result<(), SecretsError> {
        self.client
            .describe_secret()
            .secret_id(&self.secret_id)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                SecretsError::Unavailable(
                    aws_sdk_secretsmanager::error::DisplayErrorContext(e).to_string(),
                )
            })
    }

    /// Reads the secret now, bypassing the cache.
    pub async fn fetch(&self) -> Result<Secrets, SecretsError> {
        let output = self
            .client
            .get_secret_value()
            .secret_id(&self.secret_id)
            .send()
            .await
            .map_err(|e| {
                SecretsError::Unavailable(
                    aws_sdk_secretsmanager::error::DisplayErrorContext(e).to_string(),
                )
            })?;
        let text = output
            .secret_string()
            .ok_or_else(|| SecretsError::Malformed("the secret has no string value".into()))?;
        Secrets::parse(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    #[test]
    fn parses_a_complete_secret_and_never_prints_it() {
        let json = format!(
            r#"{{"ghlClientSecret":"ghl-s3cret","stripeSecretKey":"sk_test_x","stripeWebhookSecret":"whsec_y","tokenEncryptionKey":"{KEY}"}}"#
        );
        let secrets = Secrets::parse(&json).expect("valid");
        assert_eq!(secrets.token_encryption_key.bytes()[1], 1);
        let printed = format!("{secrets:?}");
        assert!(!printed.contains("ghl-s3cret") && !printed.contains("whsec_y"));
    }

    #[test]
    fn placeholders_and_wrong_kinds_of_keys_are_refused() {
        let json = format!(
            r#"{{"ghlClientSecret":"REPLACE_ME","stripeSecretKey":"pk_live_x","stripeWebhookSecret":"REPLACE_ME","tokenEncryptionKey":"{KEY}"}}"#
        );
        let err = Secrets::parse(&json).unwrap_err().to_string();
        for field in ["ghlClientSecret", "stripeSecretKey", "stripeWebhookSecret"] {
            assert!(err.contains(field), "{err}");
        }
    }

    #[test]
    fn names_every_missing_field_without_values() {
        let err = Secrets::parse(r#"{"ghlClientSecret":"leak-me","tokenEncryptionKey":"abc"}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("stripeSecretKey") && err.contains("tokenEncryptionKey"));
        assert!(!err.contains("leak-me"));
    }
}
