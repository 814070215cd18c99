//! The HighLevel API client: OAuth code exchange and refresh, access tokens that refresh
//! themselves (once, guarded so concurrent refreshes never spend one refresh token twice), and
//! the workflow listing. Every call goes through `upstream::send` (timeouts, retries, breaker).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

use crate::auth::{crypto, LocationId};
use crate::clock::now_epoch;
use crate::config::GhlConfig;
use crate::secrets::{SecretStore, SecretsError};
use crate::store::accounts::{Account, Accounts, TokenGrant};
use crate::store::StoreError;
use crate::upstream::{self, Breaker, RetryPolicy, UpstreamError};

/// The API version header HighLevel requires on every call.
pub const API_VERSION: &str = "2021-07-28";
/// Scopes the app asks for (space-separated in the authorize URL).
pub const SCOPES: &str = "workflows.readonly locations.readonly";
/// Refresh this long before the access token's expiry, so a call never races it.
const EXPIRY_MARGIN_SECS: i64 = 120;
/// How long a refresh may hold the account's refresh lock.
const REFRESH_HOLD_SECS: i64 = 15;

/// A HighLevel workflow id (uuids, Mongo ids): the one check for every place an id arrives, a
/// path, a query or a body, so no route accepts what another refuses.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct WorkflowId(String);

/// The shape of every id HighLevel issues (locations, workflows): 1..=64 ASCII letters, digits,
/// `-` or `_` (they are 20-character alphanumerics today). One check for every id type.
pub(crate) fn is_highlevel_id(raw: &str) -> bool {
    (1..=64).contains(&raw.len())
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Why a workflow id was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be 1-64 letters, digits, '-' or '_'")]
pub struct InvalidWorkflowId;

impl WorkflowId {
    /// 1..=64 ASCII letters, digits, `-` or `_`: what HighLevel issues, nothing else.
    pub fn parse(raw: &str) -> Result<Self, InvalidWorkflowId> {
        if is_highlevel_id(raw) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(InvalidWorkflowId)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for WorkflowId {
    type Error = InvalidWorkflowId;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        WorkflowId::parse(&value)
    }
}

impl From<WorkflowId> for String {
    fn from(value: WorkflowId) -> Self {
        value.0
    }
}

impl std::fmt::Display for WorkflowId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a HighLevel call gave no answer.
#[derive(Debug, thiserror::Error)]
pub enum HighLevelError {
    /// No usable connection: never connected, tokens that no longer decrypt, or a refresh token
    /// HighLevel refused. The user must connect again.
    #[error("the HighLevel connection is missing or no longer valid")]
    NotConnected,
    /// Another request is refreshing the tokens, or they changed meanwhile: retry shortly.
    #[error("{message}")]
    Busy {
        message: &'static str,
        retry_after_secs: u64,
    },
    /// HighLevel answered 2xx with something we cannot read.
    #[error("unexpected HighLevel response")]
    BadResponse,
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
    #[error(transparent)]
    Secrets(#[from] SecretsError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// HighLevel's token endpoint response (both grant types). `Debug` is redacted: it holds tokens.
#[derive(Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: i64,
    #[serde(default)]
    pub scope: Option<String>,
    #[serde(default, rename = "userType")]
    pub user_type: Option<String>,
    #[serde(default, rename = "locationId")]
    pub location_id: Option<String>,
    #[serde(default, rename = "companyId")]
    pub company_id: Option<String>,
    #[serde(default, rename = "userId")]
    pub user_id: Option<String>,
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TokenResponse([REDACTED])")
    }
}

/// One workflow as the public API describes it (metadata only; no steps).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowSummary {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub version: Option<i64>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub updated_at: Option<String>,
    #[serde(default)]
    pub location_id: Option<String>,
}

#[derive(Deserialize)]
struct WorkflowList {
    #[serde(default)]
    workflows: Vec<WorkflowSummary>,
}

/// A HighLevel client, built from its parts (`App::highlevel` assembles them): the container's
/// HTTP client and HighLevel breaker, the app's OAuth settings, the secret store (read only when
/// a call needs the client secret or the token key), the accounts table and the workflow cache.
pub struct HighLevel<'a> {
    http: &'a reqwest::Client,
    breaker: &'a Breaker,
    config: &'a GhlConfig,
    secrets: &'a SecretStore,
    accounts: Accounts,
    cache: &'a WorkflowCache,
}

/// How long a warm container reuses a location's workflow list (HighLevel allows 100 calls/10 s).
const WORKFLOW_CACHE_TTL: Duration = Duration::from_secs(30);

/// Workflow lists per location, kept by the container's `App`.
#[derive(Default)]
pub struct WorkflowCache(Mutex<HashMap<LocationId, (Instant, Vec<WorkflowSummary>)>>);

impl<'a> HighLevel<'a> {
    pub fn new(
        http: &'a reqwest::Client,
        breaker: &'a Breaker,
        config: &'a GhlConfig,
        secrets: &'a SecretStore,
        accounts: Accounts,
        cache: &'a WorkflowCache,
    ) -> Self {
        Self {
            http,
            breaker,
            config,
            secrets,
            accounts,
            cache,
        }
    }

    fn endpoint(&self, path: &str) -> String {
        format!(
            "{}/{}",
            self.config.api_base_url.as_str().trim_end_matches('/'),
            path.trim_start_matches('/')
        )
    }

    async fn token_request(
        &self,
        form: &[(&str, &str)],
        policy: RetryPolicy,
    ) -> Result<TokenResponse, UpstreamError> {
        let url = self.endpoint("/oauth/token");
        let response = upstream::send(self.breaker, policy, None, || {
            self.http
                .post(&url)
                .header("accept", "application/json")
                .form(form)
        })
        .await?;
        response
            .json::<TokenResponse>()
            .await
            .map_err(|_| UpstreamError::Unavailable {
                service: "HighLevel",
                detail: "token response was not the expected JSON".into(),
                retry_after_secs: None,
            })
    }

    /// Exchanges an authorization code (the OAuth callback).
    pub async fn exchange_code(&self, code: &str) -> Result<TokenResponse, HighLevelError> {
        let client_secret = self.secrets.highlevel_client().await?;
        let client_secret = client_secret.expose_secret();
        let redirect = self.config.redirect_uri.as_str();
        Ok(self
            .token_request(
                &[
                    ("client_id", self.config.client_id.as_str()),
                    ("client_secret", client_secret),
                    ("grant_type", "authorization_code"),
                    ("code", code),
                    ("user_type", "Location"),
                    ("redirect_uri", redirect),
                ],
                RetryPolicy::default(),
            )
            .await?)
    }

    /// Encrypts a token response into the fields the accounts table stores.
    pub async fn seal(
        &self,
        location: &LocationId,
        tokens: &TokenResponse,
    ) -> Result<TokenGrant, SecretsError> {
        let key = self.secrets.token_key().await?;
        let key = &*key;
        Ok(TokenGrant {
            access_token: crypto::encrypt(key, location, &tokens.access_token),
            refresh_token: crypto::encrypt(key, location, &tokens.refresh_token),
            expires_at: now_epoch() + tokens.expires_in.max(0),
            scopes: tokens.scope.clone().unwrap_or_default(),
            company_id: tokens.company_id.clone(),
            user_id: tokens.user_id.clone(),
        })
    }

    async fn open(&self, location: &LocationId, sealed: &str) -> Result<String, HighLevelError> {
        let key = self.secrets.token_key().await?;
        crypto::decrypt(&key, location, sealed).map_err(|err| {
            // A rotated key or a damaged item: the connection is unusable, the user must reconnect.
            tracing::error!(location = %location, error = %err, "stored HighLevel token does not decrypt");
            HighLevelError::NotConnected
        })
    }

    async fn connected_account(&self, location: &LocationId) -> Result<Account, HighLevelError> {
        match self.accounts.get(location).await? {
            Some(account) if account.access_token.is_some() && account.refresh_token.is_some() => {
                Ok(account)
            }
            _ => Err(HighLevelError::NotConnected),
        }
    }

    /// A usable access token for `location`: the stored one while fresh, else a refreshed one.
    /// `force` refreshes even a fresh token (after HighLevel answered 401, or `/auth/refresh`).
    pub async fn access_token(
        &self,
        location: &LocationId,
        force: bool,
    ) -> Result<String, HighLevelError> {
        let account = self.connected_account(location).await?;
        let fresh = account.token_expires_at.unwrap_or(0) > now_epoch() + EXPIRY_MARGIN_SECS;
        if fresh && !force {
            return self
                .open(
                    location,
                    account.access_token.as_deref().unwrap_or_default(),
                )
                .await;
        }
        self.refresh(location, account).await
    }

    /// Spends the refresh token once. The caller that wins the account's refresh lock calls
    /// HighLevel; the others wait for its new token instead of spending the same refresh token.
    async fn refresh(
        &self,
        location: &LocationId,
        account: Account,
    ) -> Result<String, HighLevelError> {
        let accounts = &self.accounts;
        let version = account.token_version;
        if !accounts
            .claim_refresh(location, version, now_epoch(), REFRESH_HOLD_SECS)
            .await?
        {
            return self.wait_for_refresh(location, version).await;
        }
        let tokens = match self.spend_refresh_token(location, &account).await {
            Ok(tokens) => tokens,
            Err(err) => {
                // Let the next caller try at once instead of waiting out the hold.
                if let Err(release) = accounts.release_refresh(location, version).await {
                    tracing::warn!(error = %release, "could not release the refresh claim");
                }
                return Err(err);
            }
        };
        let grant = self.seal(location, &tokens).await?;
        if !accounts
            .replace_tokens(location, version, &grant, now_epoch())
            .await?
        {
            return Err(HighLevelError::Busy {
                message: "tokens changed during refresh, please retry",
                retry_after_secs: 1,
            });
        }
        tracing::info!(location = %location, "HighLevel tokens refreshed");
        Ok(tokens.access_token)
    }

    /// Calls HighLevel's token endpoint with the account's refresh token.
    async fn spend_refresh_token(
        &self,
        location: &LocationId,
        account: &Account,
    ) -> Result<TokenResponse, HighLevelError> {
        let refresh_token = self
            .open(
                location,
                account.refresh_token.as_deref().unwrap_or_default(),
            )
            .await?;
        let client_secret = self.secrets.highlevel_client().await?;
        self.token_request(
            &[
                ("client_id", self.config.client_id.as_str()),
                ("client_secret", client_secret.expose_secret()),
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token.as_str()),
                ("user_type", "Location"),
                ("redirect_uri", self.config.redirect_uri.as_str()),
            ],
            // One attempt: if HighLevel rotated the token but its answer was lost, a retry would
            // spend the old refresh token and lose the connection. A failure here is retried by the
            // next request instead, which re-reads the account first.
            RetryPolicy {
                attempts: 1,
                ..RetryPolicy::default()
            },
        )
        .await
        .map_err(|err| match err {
            // A refused refresh token means the connection is gone: the user must log in again.
            UpstreamError::Rejected {
                status: 400 | 401, ..
            } => HighLevelError::NotConnected,
            other => other.into(),
        })
    }

    async fn wait_for_refresh(
        &self,
        location: &LocationId,
        version: i64,
    ) -> Result<String, HighLevelError> {
        for _ in 0..40 {
            tokio::time::sleep(Duration::from_millis(150)).await;
            let account = self.connected_account(location).await?;
            if account.token_version > version {
                return self
                    .open(
                        location,
                        account.access_token.as_deref().unwrap_or_default(),
                    )
                    .await;
            }
        }
        Err(HighLevelError::Busy {
            message: "a token refresh is in progress, please retry",
            retry_after_secs: 2,
        })
    }

    /// `GET` a HighLevel API path for `location`, refreshing once on a 401.
    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        location: &LocationId,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<T, HighLevelError> {
        let url = self.endpoint(path);
        let mut token = self.access_token(location, false).await?;
        for attempt in 0..2 {
            let result = upstream::send(self.breaker, RetryPolicy::default(), None, || {
                self.http
                    .get(&url)
                    .query(query)
                    .bearer_auth(&token)
                    .header("Version", API_VERSION)
                    .header("accept", "application/json")
            })
            .await;
            match result {
                Ok(response) => {
                    return response
                        .json::<T>()
                        .await
                        .map_err(|_| HighLevelError::BadResponse)
                }
                Err(UpstreamError::Rejected { status: 401, .. }) if attempt == 0 => {
                    token = self.access_token(location, true).await?;
                }
                Err(UpstreamError::Rejected {
                    status: 401 | 403, ..
                }) => return Err(HighLevelError::NotConnected),
                Err(err) => return Err(err.into()),
            }
        }
        Err(HighLevelError::NotConnected)
    }

    /// The location's workflows (metadata from the public API), cached briefly per container.
    pub async fn list_workflows(
        &self,
        location: &LocationId,
    ) -> Result<Vec<WorkflowSummary>, HighLevelError> {
        let cache = &self.cache.0;
        let cached = cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(location)
            .filter(|(at, _)| at.elapsed() < WORKFLOW_CACHE_TTL)
            .map(|(_, list)| list.clone());
        if let Some(list) = cached {
            return Ok(list);
        }
        let list: WorkflowList = self
            .get_json(
                location,
                "/workflows/",
                &[("locationId", location.as_str())],
            )
            .await?;
        let mut cache = cache.lock().unwrap_or_else(|p| p.into_inner());
        cache.retain(|_, (at, _)| at.elapsed() < WORKFLOW_CACHE_TTL);
        cache.insert(location.clone(), (Instant::now(), list.workflows.clone()));
        Ok(list.workflows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_workflow_id_is_one_to_sixty_four_letters_digits_dashes_or_underscores() {
        for good in ["a", "wf-1", "65a1b2c3d4e5f6a7b8c9d0e1", &"x".repeat(64)] {
            assert_eq!(
                WorkflowId::parse(good).map(String::from).as_deref(),
                Ok(good)
            );
        }
        for bad in ["", &"x".repeat(65), "wf.1", "wf 1", "wf/1", "ü"] {
            assert_eq!(WorkflowId::parse(bad), Err(InvalidWorkflowId), "{bad:?}");
        }
    }

    #[test]
    fn a_workflow_id_deserializes_only_through_the_same_check() {
        assert!(serde_json::from_str::<WorkflowId>("\"wf-1\"").is_ok());
        assert!(serde_json::from_str::<WorkflowId>("\"\"").is_err());
    }
}
