//! Session tokens and the session cookie. The token is 256 random bits given to the browser in
//! an HttpOnly cookie; the table stores only its SHA-256, so a leaked table opens no session.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use lambda_http::Request;
use sha2::{Digest, Sha256};

use crate::clock::now_epoch;
use crate::http::request::cookies;
use crate::store::sessions::Session;
use crate::store::StoreError;
use crate::App;

/// The session cookie's name. The `__Host-` prefix makes browsers accept it only when set with
/// `Secure`, `Path=/` and no `Domain`, so a sibling subdomain cannot plant or shadow it.
pub const SESSION_COOKIE: &str = "__Host-gwa_session";
/// How long a session lasts after login.
pub const SESSION_TTL_SECS: i64 = 7 * 24 * 3600;

/// A session token as the browser holds it.
pub struct SessionToken(String);

impl SessionToken {
    pub fn generate() -> Self {
        Self(URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>()))
    }

    /// Accepts only the shape we issue (43 base64url characters).
    pub fn parse(raw: &str) -> Option<Self> {
        let ok = raw.len() == 43
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        ok.then(|| Self(raw.to_owned()))
    }

    /// The request's session token. A request carrying the session cookie more than once has
    /// none (a planted cookie beside the real one must not choose the session): 401.
    pub fn from_request(req: &Request) -> Option<Self> {
        match cookies(req, SESSION_COOKIE)[..] {
            [] => None,
            [one] => Self::parse(one),
            _ => {
                tracing::warn!("request refused: the session cookie appears more than once");
                None
            }
        }
    }

    /// The value the sessions table is keyed by.
    pub fn hash(&self) -> String {
        hex::encode(Sha256::digest(self.0.as_bytes()))
    }

    /// The `Set-Cookie` value that hands this token to the browser.
    pub fn cookie(&self, max_age_secs: i64) -> String {
        format!(
            "{SESSION_COOKIE}={}; HttpOnly; Secure; SameSite=Lax; Path=/; Max-Age={max_age_secs}",
            self.0
        )
    }

    /// The `Set-Cookie` value that removes the session cookie.
    pub fn clearing_cookie() -> String {
        format!("{SESSION_COOKIE}=; HttpOnly; Secure; SameSite=Lax; Path=/; Max-Age=0")
    }
}

impl std::fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionToken([REDACTED])")
    }
}

/// Why a request has no session.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// No cookie, an unknown token, or an expired session (401).
    #[error("authentication required")]
    Missing,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The caller's live session. Expiry is checked here: DynamoDB's TTL deletes late. A session
/// whose account is gone, or was marked uninstalled at or after the session's creation, is over
/// too, whether or not the uninstall's erasure has found and deleted it yet (issue 16).
pub async fn require_session(app: &App, req: &Request) -> Result<Session, SessionError> {
    let token = SessionToken::from_request(req).ok_or(SessionError::Missing)?;
    let session = app
        .sessions()
        .find(&token, now_epoch())
        .await?
        .ok_or(SessionError::Missing)?;
    let state = app.accounts().install_state(&session.location_id).await?;
    if state.ends_session_created_at(session.created_at) {
        tracing::info!(
            location = %session.location_id,
            "session refused: its account is gone or was uninstalled since it was opened"
        );
        return Err(SessionError::Missing);
    }
    Ok(session)
}
