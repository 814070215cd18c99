//! Secrets: one Secrets Manager secret per purpose, each read only by the functions that use it,
//! fetched lazily on first use and cached with a TTL.
//!
//! | purpose | JSON field | id variable | read by |
//! |---|---|---|---|
//! | HighLevel OAuth client secret | `ghlClientSecret` | `GHL_CLIENT_SECRET_ID` | oauth-callback, analyze |
//! | token encryption key | `tokenEncryptionKey` | `TOKEN_KEY_SECRET_ID` | oauth-callback, analyze, history |
//! | Stripe API key | `stripeSecretKey` | `STRIPE_API_KEY_SECRET_ID` | checkout, stripe-webhook |
//! | Stripe webhook signing secret | `stripeWebhookSecret` | `STRIPE_WEBHOOK_SECRET_ID` | stripe-webhook |
//!
//! A function is given the id variable of a secret only when its IAM role may read that secret
//! (template.yaml; a test holds the two together), so a function asking for a secret it was not
//! given fails with [`SecretsError::NotGranted`] instead of an AWS access error.
//!
//! Each secret is a JSON object with its field (other fields are ignored: the token key's secret
//! is the former all-in-one `AppSecret`, kept so that stored tokens stay readable). Values live in
//! `secrecy` wrappers whose `Debug` prints `[REDACTED]`, so a stray `{:?}` in a log line cannot
//! leak them. Parse errors name the field, never the value.

use std::sync::Arc;
use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretBox, SecretString};
use tokio::sync::Mutex;

use crate::aws::AwsClients;

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

/// What a secret is for; each is its own Secrets Manager secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    HighLevelClient,
    TokenKey,
    StripeApiKey,
    StripeWebhook,
}

impl Purpose {
    pub const ALL: [Purpose; 4] = [
        Purpose::HighLevelClient,
        Purpose::TokenKey,
        Purpose::StripeApiKey,
        Purpose::StripeWebhook,
    ];

    /// The environment variable that names the secret (set only where it may be read).
    pub const fn id_var(self) -> &'static str {
        match self {
            Purpose::HighLevelClient => "GHL_CLIENT_SECRET_ID",
            Purpose::TokenKey => "TOKEN_KEY_SECRET_ID",
            Purpose::StripeApiKey => "STRIPE_API_KEY_SECRET_ID",
            Purpose::StripeWebhook => "STRIPE_WEBHOOK_SECRET_ID",
        }
    }

    /// The field of the secret's JSON that holds the value.
    pub const fn field(self) -> &'static str {
        match self {
            Purpose::HighLevelClient => "ghlClientSecret",
            Purpose::TokenKey => "tokenEncryptionKey",
            Purpose::StripeApiKey => "stripeSecretKey",
            Purpose::StripeWebhook => "stripeWebhookSecret",
        }
    }

    /// What a valid value looks like, for the error that names a bad one.
    const fn expected(self) -> &'static str {
        match self {
            Purpose::HighLevelClient => "a non-empty string",
            Purpose::TokenKey => "64 hex characters",
            Purpose::StripeApiKey => "sk_... or rk_...",
            Purpose::StripeWebhook => "whsec_...",
        }
    }
}

/// The secret ids this function was given (`None`: not granted), from the environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecretIds {
    pub highlevel_client: Option<String>,
    pub token_key: Option<String>,
    pub stripe_api_key: Option<String>,
    pub stripe_webhook: Option<String>,
}

impl SecretIds {
    pub fn get(&self, purpose: Purpose) -> Option<&str> {
        match purpose {
            Purpose::HighLevelClient => self.highlevel_client.as_deref(),
            Purpose::TokenKey => self.token_key.as_deref(),
            Purpose::StripeApiKey => self.stripe_api_key.as_deref(),
            Purpose::StripeWebhook => self.stripe_webhook.as_deref(),
        }
    }

    /// Reads the four id variables through `lookup` (blank counts as unset).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let id = |purpose: Purpose| {
            lookup(purpose.id_var())
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        Self {
            highlevel_client: id(Purpose::HighLevelClient),
            token_key: id(Purpose::TokenKey),
            stripe_api_key: id(Purpose::StripeApiKey),
            stripe_webhook: id(Purpose::StripeWebhook),
        }
    }
}

/// The value of `purpose`'s field in a secret's JSON text, checked for its kind. Placeholders (the
/// template seeds REPLACE_ME) and values of the wrong kind are refused: a webhook secret anyone can
/// guess would let anyone forge Stripe events. The error names the field, never the value.
fn field(json: &str, purpose: Purpose) -> Result<SecretString, SecretsError> {
    let value: serde_json::Value = serde_json::from_str(json)
        .map_err(|_| SecretsError::Malformed("the secret is not a JSON object".into()))?;
    let text = value
        .get(purpose.field())
        .and_then(|v| v.as_str())
        .filter(|s| !s.is_empty() && !s.contains("REPLACE_ME"));
    let valid = match (purpose, text) {
        (_, None) => false,
        (Purpose::HighLevelClient | Purpose::TokenKey, Some(_)) => true,
        (Purpose::StripeApiKey, Some(v)) => v.starts_with("sk_") || v.starts_with("rk_"),
        (Purpose::StripeWebhook, Some(v)) => v.starts_with("whsec_"),
    };
    match text {
        Some(v) if valid => Ok(SecretString::from(v.to_owned())),
        _ => Err(SecretsError::Malformed(format!(
            "the secret lacks or has an invalid {} ({})",
            purpose.field(),
            purpose.expected()
        ))),
    }
}

/// Parses the HighLevel client secret's JSON.
pub fn parse_highlevel_client(json: &str) -> Result<SecretString, SecretsError> {
    field(json, Purpose::HighLevelClient)
}

/// Parses the token key's JSON.
pub fn parse_token_key(json: &str) -> Result<EncryptionKey, SecretsError> {
    EncryptionKey::from_hex(field(json, Purpose::TokenKey)?.expose_secret()).ok_or_else(|| {
        SecretsError::Malformed(format!(
            "the secret lacks or has an invalid {} ({})",
            Purpose::TokenKey.field(),
            Purpose::TokenKey.expected()
        ))
    })
}

/// Parses the Stripe API key's JSON.
pub fn parse_stripe_api_key(json: &str) -> Result<SecretString, SecretsError> {
    field(json, Purpose::StripeApiKey)
}

/// Parses the Stripe webhook signing secret's JSON.
pub fn parse_stripe_webhook(json: &str) -> Result<SecretString, SecretsError> {
    field(json, Purpose::StripeWebhook)
}

#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    /// Secrets Manager could not be reached or refused the read.
    #[error("secret unavailable: {0}")]
    Unavailable(String),
    /// The secret exists but its content is unusable: an operator must fix it.
    #[error("secret malformed: {0}")]
    Malformed(String),
    /// This function was not given the secret (its id variable is unset): a deployment mistake,
    /// or code reaching for a secret outside its function's purpose.
    #[error("secret not granted: {0} is not set for this function")]
    NotGranted(&'static str),
}

/// One secret's cache.
struct Slot<T> {
    purpose: Purpose,
    cached: Mutex<Option<(Instant, Arc<T>)>>,
}

impl<T> Slot<T> {
    fn new(purpose: Purpose) -> Self {
        Self {
            purpose,
            cached: Mutex::new(None),
        }
    }
}

/// Fetches each secret on its first use and keeps it for [`SECRET_TTL`].
pub struct SecretStore {
    /// The process's AWS clients: the Secrets Manager one is built on the first read.
    aws: AwsClients,
    ids: SecretIds,
    highlevel_client: Slot<SecretString>,
    token_key: Slot<EncryptionKey>,
    stripe_api_key: Slot<SecretString>,
    stripe_webhook: Slot<SecretString>,
}

impl SecretStore {
    pub fn new(aws: AwsClients, ids: SecretIds) -> Self {
        Self {
            aws,
            ids,
            highlevel_client: Slot::new(Purpose::HighLevelClient),
            token_key: Slot::new(Purpose::TokenKey),
            stripe_api_key: Slot::new(Purpose::StripeApiKey),
            stripe_webhook: Slot::new(Purpose::StripeWebhook),
        }
    }

    /// The HighLevel OAuth client secret.
    pub async fn highlevel_client(&self) -> Result<Arc<SecretString>, SecretsError> {
        self.get(&self.highlevel_client, parse_highlevel_client)
            .await
    }

    /// The key that encrypts OAuth tokens, OAuth states and list cursors.
    pub async fn token_key(&self) -> Result<Arc<EncryptionKey>, SecretsError> {
        self.get(&self.token_key, parse_token_key).await
    }

    /// The Stripe API key.
    pub async fn stripe_api_key(&self) -> Result<Arc<SecretString>, SecretsError> {
        self.get(&self.stripe_api_key, parse_stripe_api_key).await
    }

    /// The Stripe webhook signing secret.
    pub async fn stripe_webhook(&self) -> Result<Arc<SecretString>, SecretsError> {
        self.get(&self.stripe_webhook, parse_stripe_webhook).await
    }

    /// The cached value while fresh, else a fetch. Concurrent callers share one fetch.
    async fn get<T>(
        &self,
        slot: &Slot<T>,
        parse: fn(&str) -> Result<T, SecretsError>,
    ) -> Result<Arc<T>, SecretsError> {
        let mut cached = slot.cached.lock().await;
        if let Some((at, value)) = cached.as_ref() {
            if at.elapsed() < SECRET_TTL {
                return Ok(value.clone());
            }
        }
        let value = Arc::new(parse(&self.fetch(slot.purpose).await?)?);
        *cached = Some((Instant::now(), value.clone()));
        Ok(value)
    }

    fn id(&self, purpose: Purpose) -> Result<&str, SecretsError> {
        self.ids
            .get(purpose)
            .ok_or(SecretsError::NotGranted(purpose.id_var()))
    }

    /// Proves every secret this function was given exists and is reachable, without reading a
    /// value (`DescribeSecret`): the health checks use it, so the public health function holds no
    /// secret value and needs no `secretsmanager:GetSecretValue`. `Ok(0)`: none was given.
    pub async fn check_access(&self) -> Result<usize, SecretsError> {
        let [a, b, c, d] = Purpose::ALL.map(|purpose| self.describe(self.ids.get(purpose)));
        let (a, b, c, d) = tokio::join!(a, b, c, d);
        Ok([a?, b?, c?, d?].into_iter().filter(|given| *given).count())
    }

    /// `DescribeSecret` on `id` when given; `Ok(false)` when not.
    async fn describe(&self, id: Option<&str>) -> Result<bool, SecretsError> {
        let Some(id) = id else { return Ok(false) };
        self.aws
            .secrets()
            .describe_secret()
            .secret_id(id)
            .send()
            .await
            .map(|_| true)
            .map_err(|e| {
                SecretsError::Unavailable(
                    aws_sdk_secretsmanager::error::DisplayErrorContext(e).to_string(),
                )
            })
    }

    /// Reads a secret's text now, bypassing the cache.
    async fn fetch(&self, purpose: Purpose) -> Result<String, SecretsError> {
        let output = self
            .aws
            .secrets()
            .get_secret_value()
            .secret_id(self.id(purpose)?)
            .send()
            .await
            .map_err(|e| {
                SecretsError::Unavailable(
                    aws_sdk_secretsmanager::error::DisplayErrorContext(e).to_string(),
                )
            })?;
        output
            .secret_string()
            .map(str::to_owned)
            .ok_or_else(|| SecretsError::Malformed("the secret has no string value".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    #[test]
    fn parses_each_purpose_from_its_field_and_never_prints_it() {
        let json = format!(
            r#"{{"ghlClientSecret":"ghl-s3cret","stripeSecretKey":"sk_test_x","stripeWebhookSecret":"whsec_y","tokenEncryptionKey":"{KEY}"}}"#
        );
        assert_eq!(parse_token_key(&json).unwrap().bytes()[1], 1);
        assert_eq!(
            parse_highlevel_client(&json).unwrap().expose_secret(),
            "ghl-s3cret"
        );
        assert_eq!(
            parse_stripe_api_key(&json).unwrap().expose_secret(),
            "sk_test_x"
        );
        let webhook = parse_stripe_webhook(&json).unwrap();
        assert_eq!(webhook.expose_secret(), "whsec_y");
        assert!(!format!("{webhook:?}").contains("whsec_y"));
        // A secret of one purpose holds only its field.
        assert!(parse_stripe_api_key(r#"{"stripeSecretKey":"rk_live_z"}"#).is_ok());
    }

    #[test]
    fn placeholders_and_wrong_kinds_of_keys_are_refused() {
        let json = r#"{"ghlClientSecret":"REPLACE_ME","stripeSecretKey":"pk_live_x","stripeWebhookSecret":"REPLACE_ME","tokenEncryptionKey":"abc"}"#;
        for (purpose, err) in [
            (Purpose::HighLevelClient, parse_highlevel_client(json).err()),
            (Purpose::StripeApiKey, parse_stripe_api_key(json).err()),
            (Purpose::StripeWebhook, parse_stripe_webhook(json).err()),
            (
                Purpose::TokenKey,
                parse_token_key(json)
                    .err()
                    .map(|e| SecretsError::Malformed(e.to_string())),
            ),
        ] {
            let err = err.expect("refused").to_string();
            assert!(err.contains(purpose.field()), "{err}");
            assert!(!err.contains("pk_live_x"), "{err}");
        }
        assert!(parse_token_key("not json").is_err());
    }

    #[test]
    fn ids_come_from_their_variables_and_blank_is_not_granted() {
        let ids = SecretIds::from_lookup(|name| match name {
            "TOKEN_KEY_SECRET_ID" => Some("arn:token".into()),
            "STRIPE_API_KEY_SECRET_ID" => Some("  ".into()),
            _ => None,
        });
        assert_eq!(ids.get(Purpose::TokenKey), Some("arn:token"));
        assert_eq!(ids.get(Purpose::StripeApiKey), None);
        assert_eq!(ids.get(Purpose::HighLevelClient), None);
    }

    #[tokio::test]
    async fn a_secret_not_given_to_the_function_is_not_granted_without_a_call() {
        // No endpoint is reachable: a call would fail as Unavailable, not NotGranted.
        let config = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .endpoint_url("http://127.0.0.1:9")
            .build();
        let store = SecretStore::new(AwsClients::new(config), SecretIds::default());
        let err = store.stripe_webhook().await.unwrap_err();
        assert!(
            matches!(err, SecretsError::NotGranted("STRIPE_WEBHOOK_SECRET_ID")),
            "{err}"
        );
        assert_eq!(store.check_access().await.unwrap(), 0);
    }
}
