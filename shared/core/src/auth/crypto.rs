//! Encryption of OAuth tokens at rest (AES-256-GCM, random 96-bit nonce, the location id as
//! associated data so a ciphertext moved to another account's item fails to decrypt), and keyed
//! hashes derived from the same key for other purposes (key separation by label).

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::LocationId;
use crate::secrets::EncryptionKey;

/// Prefix of the stored form, so a future key or algorithm can be told apart.
const VERSION: &str = "v1.";

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("stored token is not in the expected format")]
    Format,
    #[error("stored token does not decrypt with this key and location")]
    Decrypt,
}

/// Encrypts `plaintext` for `location`: `v1.` + base64url(nonce || ciphertext+tag).
pub fn encrypt(key: &EncryptionKey, location: &LocationId, plaintext: &str) -> String {
    let cipher = Aes256Gcm::new(key.bytes().into());
    let nonce_bytes: [u8; 12] = rand::random();
    let nonce = Nonce::from_slice(&nonce_bytes);
    // Encryption with a valid key and in-memory buffers cannot fail.
    let sealed = cipher
        .encrypt(
            nonce,
            Payload {
                msg: plaintext.as_bytes(),
                aad: location.as_str().as_bytes(),
            },
        )
        .unwrap_or_default();
    let mut out = Vec::with_capacity(12 + sealed.len());
    out.extend_from_slice(&nonce_bytes);
    out.extend_from_slice(&sealed);
    format!("{VERSION}{}", URL_SAFE_NO_PAD.encode(out))
}

pub fn decrypt(
    key: &EncryptionKey,
    location: &LocationId,
    stored: &str,
) -> Result<String, CryptoError> {
    let body = stored.strip_prefix(VERSION).ok_or(CryptoError::Format)?;
    let bytes = URL_SAFE_NO_PAD
        .decode(body)
        .map_err(|_| CryptoError::Format)?;
    if bytes.len() < 12 + 16 {
        return Err(CryptoError::Format);
    }
    let (nonce, sealed) = bytes.split_at(12);
    let cipher = Aes256Gcm::new(key.bytes().into());
    let plain = cipher
        .decrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: sealed,
                aad: location.as_str().as_bytes(),
            },
        )
        .map_err(|_| CryptoError::Decrypt)?;
    String::from_utf8(plain).map_err(|_| CryptoError::Decrypt)
}

/// HMAC-SHA256 of `data` under a key derived from the master key for `label`.
pub fn keyed_mac(key: &EncryptionKey, label: &str, data: &[u8]) -> [u8; 32] {
    let derived = {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key.bytes()).expect("any key length");
        mac.update(label.as_bytes());
        mac.finalize().into_bytes()
    };
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&derived).expect("any key length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> EncryptionKey {
        EncryptionKey::from_hex(&"ab".repeat(32)).expect("key")
    }

    #[test]
    fn round_trips_and_binds_to_the_location() {
        let loc = LocationId::parse("loc1").unwrap();
        let other = LocationId::parse("loc2").unwrap();
        let sealed = encrypt(&key(), &loc, "access-token-value");
        assert!(!sealed.contains("access-token-value"));
        assert_eq!(
            decrypt(&key(), &loc, &sealed).unwrap(),
            "access-token-value"
        );
        assert!(matches!(
            decrypt(&key(), &other, &sealed),
            Err(CryptoError::Decrypt)
        ));
        assert_ne!(
            sealed,
            encrypt(&key(), &loc, "access-token-value"),
            "random nonce"
        );
    }

    #[test]
    fn tampered_ciphertext_is_refused() {
        let loc = LocationId::parse("loc1").unwrap();
        let mut sealed = encrypt(&key(), &loc, "x").into_bytes();
        let last = sealed.len() - 1;
        sealed[last] = if sealed[last] == b'A' { b'B' } else { b'A' };
        let sealed = String::from_utf8(sealed).unwrap();
        assert!(decrypt(&key(), &loc, &sealed).is_err());
        assert!(matches!(
            decrypt(&key(), &loc, "plain"),
            Err(CryptoError::Format)
        ));
    }
}
