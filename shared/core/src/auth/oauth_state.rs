//! The OAuth `state`: ties a login to the browser that started it. The state carries a random
//! nonce and an expiry, signed with a key derived from the token key; the same nonce sits in a
//! short-lived HttpOnly cookie, and the callback accepts the state only if both agree, the
//! signature holds, it has not expired, and it was never used before.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use subtle::ConstantTimeEq;

use super::crypto::keyed_mac;
use crate::secrets::EncryptionKey;

pub const STATE_COOKIE: &str = "gwa_oauth_state";
/// A login must complete within this many seconds.
pub const STATE_TTL_SECS: i64 = 600;
const LABEL: &str = "oauth-state-v1";

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    #[error("state is missing")]
    Missing,
    #[error("state is malformed or its signature is wrong")]
    Tampered,
    #[error("state has expired")]
    Expired,
    #[error("state does not belong to this browser")]
    CookieMismatch,
}

/// A freshly issued state: the query value and the cookie value.
pub struct IssuedState {
    pub state: String,
    pub nonce: String,
    pub expires_at: i64,
}

pub fn issue(key: &EncryptionKey, now: i64) -> IssuedState {
    let nonce = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>());
    let expires_at = now + STATE_TTL_SECS;
    let payload = format!("{nonce}.{expires_at}");
    let mac = URL_SAFE_NO_PAD.encode(keyed_mac(key, LABEL, payload.as_bytes()));
    IssuedState {
        state: format!("{payload}.{mac}"),
        nonce,
        expires_at,
    }
}

/// Checks `state` against the browser's cookie; returns the nonce and expiry to mark as spent.
pub fn verify(
    key: &EncryptionKey,
    state: Option<&str>,
    cookie_nonce: Option<&str>,
    now: i64,
) -> Result<(String, i64), StateError> {
    let state = state.filter(|s| !s.is_empty()).ok_or(StateError::Missing)?;
    let mut parts = state.splitn(3, '.');
    let (Some(nonce), Some(expiry), Some(mac)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(StateError::Tampered);
    };
    let given = URL_SAFE_NO_PAD
        .decode(mac)
        .map_err(|_| StateError::Tampered)?;
    let expected = keyed_mac(key, LABEL, format!("{nonce}.{expiry}").as_bytes());
    if !bool::from(given.as_slice().ct_eq(&expected)) {
        return Err(StateError::Tampered);
    }
    let expires_at: i64 = expiry.parse().map_err(|_| StateError::Tampered)?;
    if expires_at <= now {
        return Err(StateError::Expired);
    }
    let cookie = cookie_nonce.ok_or(StateError::CookieMismatch)?;
    if !bool::from(cookie.as_bytes().ct_eq(nonce.as_bytes())) {
        return Err(StateError::CookieMismatch);
    }
    Ok((nonce.to_owned(), expires_at))
}

/// `Set-Cookie` for the state nonce, scoped to the auth routes.
pub fn cookie(nonce: &str) -> String {
    format!("{STATE_COOKIE}={nonce}; HttpOnly; Secure; SameSite=Lax; Path=/auth; Max-Age={STATE_TTL_SECS}")
}

pub fn clearing_cookie() -> String {
    format!("{STATE_COOKIE}=; HttpOnly; Secure; SameSite=Lax; Path=/auth; Max-Age=0")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> EncryptionKey {
        EncryptionKey::from_hex(&"cd".repeat(32)).unwrap()
    }

    #[test]
    fn a_fresh_state_with_its_cookie_verifies() {
        let issued = issue(&key(), 1000);
        let (nonce, _) = verify(&key(), Some(&issued.state), Some(&issued.nonce), 1001).unwrap();
        assert_eq!(nonce, issued.nonce);
    }

    #[test]
    fn tampered_expired_foreign_and_missing_states_are_refused() {
        let issued = issue(&key(), 1000);
        let v = |state: Option<&str>, cookie: Option<&str>, now| verify(&key(), state, cookie, now);
        assert_eq!(v(None, Some(&issued.nonce), 1001), Err(StateError::Missing));
        let longer = issued.state.replace(".1600.", ".9999.");
        assert_eq!(
            v(Some(&longer), Some(&issued.nonce), 1001),
            Err(StateError::Tampered)
        );
        assert_eq!(v(Some("a.b"), Some("a"), 1001), Err(StateError::Tampered));
        assert_eq!(
            v(Some(&issued.state), Some(&issued.nonce), 1600),
            Err(StateError::Expired)
        );
        assert_eq!(
            v(Some(&issued.state), Some("other"), 1001),
            Err(StateError::CookieMismatch)
        );
        assert_eq!(
            v(Some(&issued.state), None, 1001),
            Err(StateError::CookieMismatch)
        );
        let other_key = EncryptionKey::from_hex(&"ef".repeat(32)).unwrap();
        assert_eq!(
            verify(&other_key, Some(&issued.state), Some(&issued.nonce), 1001),
            Err(StateError::Tampered)
        );
    }
}
