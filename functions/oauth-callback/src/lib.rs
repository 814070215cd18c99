//! The HighLevel connection: `GET /auth/login` starts OAuth, `GET /auth/callback` finishes it
//! (tokens encrypted into the account, a session cookie for the browser), `GET /auth/status`,
//! `POST /auth/logout` and `POST /auth/refresh`.

use backend_core::auth::oauth_state::{self, StateError, STATE_COOKIE};
use backend_core::auth::session::{SessionError, SESSION_TTL_SECS};
use backend_core::auth::{require_session, LocationId, SessionToken};
use backend_core::clock::{format_epoch, format_rfc3339, now_epoch};
use backend_core::highlevel::{HighLevelError, SCOPES};
use backend_core::http::request::{client_ip, cookie, query};
use backend_core::http::{ApiError, Reply, Route};
use backend_core::upstream::UpstreamError;
use backend_core::App;
use lambda_http::Request;
use serde_json::json;

/// The function's routes, each bound to its handler.
pub fn routes() -> Vec<Route> {
    vec![
        Route::get("/auth/login", login),
        Route::get("/auth/callback", callback),
        Route::get("/auth/status", status),
        Route::post("/auth/logout", logout),
        Route::post("/auth/refresh", refresh),
    ]
}

/// 302 to HighLevel's location chooser with a state bound to this browser by a cookie.
#[tracing::instrument(skip_all)]
async fn login(app: &App, req: &Request) -> Result<Reply, ApiError> {
    let now = now_epoch();
    app.rate_limits()
        .hit(app.config.rate_limits.login, &client_ip(req), now)
        .await?;
    let key = app.secrets.token_key().await?;
    let issued = oauth_state::issue(&key, now);
    let mut url = app.config.ghl.auth_url.clone();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &app.config.ghl.client_id)
        .append_pair("redirect_uri", app.config.ghl.redirect_uri.as_str())
        .append_pair("scope", SCOPES)
        .append_pair("state", &issued.state);
    Reply::redirect(url.as_str())?.cookie(&oauth_state::cookie(&issued.nonce))
}

/// Why a callback failed, as the front end sees it in `?error=`.
fn front_end(app: &App, error: Option<&str>) -> String {
    let mut url = app.config.frontend_url.clone();
    if let Some(code) = error {
        url.query_pairs_mut().append_pair("error", code);
    } else {
        url.query_pairs_mut().append_pair("connected", "1");
    }
    url.to_string()
}

/// Always a redirect to the front end: with a session on success, with an error code otherwise
/// (never an error answer: the browser is mid-navigation).
#[tracing::instrument(skip_all)]
async fn callback(app: &App, req: &Request) -> Result<Reply, ApiError> {
    let outcome = complete_login(app, req).await;
    let (location, session_cookie) = match outcome {
        Ok((token, max_age)) => (front_end(app, None), Some(token.cookie(max_age))),
        Err(code) => (front_end(app, Some(code)), None),
    };
    let reply = Reply::redirect(&location)
        .and_then(|r| r.cookie(&oauth_state::clearing_cookie()))
        .and_then(|r| match &session_cookie {
            Some(c) => r.cookie(c),
            None => Ok(r),
        });
    Ok(reply.unwrap_or_else(|_| Reply::no_content()))
}

async fn complete_login(app: &App, req: &Request) -> Result<(SessionToken, i64), &'static str> {
    if query(req, "error").is_some() {
        return Err("access_denied");
    }
    let now = now_epoch();
    let key = app.secrets.token_key().await.map_err(|err| {
        tracing::error!(error = %err, "secret unavailable during OAuth callback");
        "server_error"
    })?;
    let state = query(req, "state");
    let (nonce, expires_at) =
        oauth_state::verify(&key, state.as_deref(), cookie(req, STATE_COOKIE), now).map_err(
            |err| {
                tracing::warn!(reason = %err, "OAuth state rejected");
                match err {
                    StateError::Expired => "state_expired",
                    _ => "invalid_state",
                }
            },
        )?;
    let code = query(req, "code").ok_or("missing_code")?;
    let spent_key = format!("oauth-state#{nonce}");
    if !app
        .sessions()
        .claim_once(&spent_key, expires_at)
        .await
        .map_err(|_| "server_error")?
    {
        tracing::warn!("OAuth state replayed");
        return Err("invalid_state");
    }
    let tokens = app.highlevel().exchange_code(&code).await.map_err(|err| {
        tracing::warn!(error = %err, "token exchange failed");
        match err {
            HighLevelError::Upstream(UpstreamError::Unavailable { .. }) => "upstream_unavailable",
            HighLevelError::Upstream(UpstreamError::Rejected { .. })
            | HighLevelError::BadResponse => "exchange_failed",
            _ => "server_error",
        }
    })?;
    let location = tokens
        .location_id
        .as_deref()
        .and_then(|id| LocationId::parse(id).ok())
        .ok_or("not_a_location")?;
    let grant = app
        .highlevel()
        .seal(&location, &tokens)
        .await
        .map_err(|_| "server_error")?;
    app.accounts()
        .save_authorization(&location, &grant, now)
        .await
        .map_err(|err| {
            tracing::error!(error = %err, "saving the account failed");
            "server_error"
        })?;
    let (token, _) = app
        .sessions()
        .create(&location, now, SESSION_TTL_SECS)
        .await
        .map_err(|_| "server_error")?;
    tracing::info!(location = %location, "HighLevel location connected");
    Ok((token, SESSION_TTL_SECS))
}

async fn status(app: &App, req: &Request) -> Result<Reply, ApiError> {
    let session = match require_session(app, req).await {
        Ok(session) => session,
        Err(SessionError::Missing) => return Reply::ok(&json!({ "authenticated": false })),
        Err(other) => return Err(other.into()),
    };
    let account = app.accounts().get(&session.location_id).await?;
    let Some(account) = account.filter(|a| a.access_token.is_some()) else {
        return Reply::ok(&json!({ "authenticated": false }));
    };
    Reply::ok(&json!({
        "authenticated": true,
        "locationId": session.location_id,
        "plan": account.effective_plan(now_epoch()).as_str(),
        "sessionExpiresAt": format_epoch(session.expires_at),
    }))
}

/// Idempotent: deletes the session if there is one and always clears the cookie.
async fn logout(app: &App, req: &Request) -> Result<Reply, ApiError> {
    if let Some(token) = SessionToken::from_request(req) {
        app.sessions().delete(&token).await?;
    }
    Reply::ok(&json!({ "loggedOut": true }))?.cookie(&SessionToken::clearing_cookie())
}

async fn refresh(app: &App, req: &Request) -> Result<Reply, ApiError> {
    let session = require_session(app, req).await?;
    app.highlevel()
        .access_token(&session.location_id, true)
        .await?;
    let account = app
        .accounts()
        .get(&session.location_id)
        .await?
        .unwrap_or_default();
    Reply::ok(&json!({
        "refreshed": true,
        "tokenExpiresAt": account.token_expires_at.and_then(|t| time::OffsetDateTime::from_unix_timestamp(t).ok()).map(format_rfc3339),
    }))
}
