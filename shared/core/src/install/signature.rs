//! HighLevel's webhook signature: Ed25519 over the raw request body, header `X-GHL-Signature`
//! (base64), checked with HighLevel's published public key (configuration, base64 SPKI).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ed25519_dalek::{Signature, VerifyingKey, PUBLIC_KEY_LENGTH, SIGNATURE_LENGTH};

/// The header HighLevel signs deliveries with (Ed25519).
pub const SIGNATURE_HEADER: &str = "x-ghl-signature";
/// The retired RSA header: a delivery carrying only this one is refused.
pub const LEGACY_RSA_HEADER: &str = "x-wh-signature";

/// HighLevel's published key, the default of `GHL_WEBHOOK_PUBLIC_KEY`.
pub const HIGHLEVEL_PUBLIC_KEY: &str =
    "MCowBQYDK2VwAyEAi2HR1srL4o18O8BRa7gVJY7G7bupbN3H9AwJrHCDiOg=";

/// DER of an Ed25519 `SubjectPublicKeyInfo` up to the key bits: SEQUENCE { SEQUENCE { OID
/// 1.3.101.112 }, BIT STRING (0 unused bits) }. RFC 8410 section 3 requires the algorithm
/// parameters to be absent, so every Ed25519 SPKI is exactly these 12 bytes and the 32-byte key:
/// comparing the prefix is a complete parse, without a DER/PKCS#8 stack for one fixed shape.
const SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// The key deliveries are verified with. `Debug` shows the SPKI (a public key, not a secret).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct WebhookKey(VerifyingKey);

impl std::fmt::Debug for WebhookKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WebhookKey({})", self.to_spki_base64())
    }
}

impl WebhookKey {
    /// Parses the base64 of a DER Ed25519 SPKI (what HighLevel publishes, what
    /// `openssl pkey -pubout -outform DER | base64` and Python's `cryptography` print).
    pub fn from_spki_base64(text: &str) -> Result<Self, String> {
        let der = STANDARD
            .decode(text.trim())
            .map_err(|_| "is not base64".to_owned())?;
        let key = der
            .strip_prefix(&SPKI_PREFIX)
            .filter(|key| key.len() == PUBLIC_KEY_LENGTH)
            .ok_or_else(|| "is not an Ed25519 public key in SPKI (DER) form".to_owned())?;
        let bytes: [u8; PUBLIC_KEY_LENGTH] = key.try_into().map_err(|_| "has a bad length")?;
        VerifyingKey::from_bytes(&bytes)
            .map(Self)
            .map_err(|_| "is not a valid Ed25519 point".to_owned())
    }

    /// The raw key, e.g. from a key pair generated in a test.
    pub fn from_verifying_key(key: VerifyingKey) -> Self {
        Self(key)
    }

    /// The base64 SPKI form, as configuration holds it.
    pub fn to_spki_base64(&self) -> String {
        let mut der = SPKI_PREFIX.to_vec();
        der.extend_from_slice(self.0.as_bytes());
        STANDARD.encode(der)
    }
}

/// Why a delivery was refused; `reason()` is the metric dimension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("no X-GHL-Signature header")]
    Missing,
    #[error("only the retired RSA header X-WH-Signature was sent")]
    RsaOnly,
    #[error("the signature is not base64 of 64 bytes")]
    Malformed,
    #[error("the signature does not match the body")]
    Mismatch,
}

impl SignatureError {
    pub fn reason(self) -> &'static str {
        match self {
            SignatureError::Missing => "missing",
            SignatureError::RsaOnly => "rsa_only",
            SignatureError::Malformed => "malformed",
            SignatureError::Mismatch => "mismatch",
        }
    }
}

/// Verifies `header` (the `X-GHL-Signature` value, if any) over the raw `body`.
///
/// `verify_strict` also refuses non-canonical signatures and small-order keys, so a valid
/// signature cannot be bent into a second valid one. `legacy_present` says whether the retired
/// `X-WH-Signature` was sent, only to name the reason precisely.
pub fn verify(
    key: &WebhookKey,
    header: Option<&str>,
    legacy_present: bool,
    body: &[u8],
) -> Result<(), SignatureError> {
    let header = header.map(str::trim).filter(|h| !h.is_empty());
    let Some(header) = header else {
        return Err(if legacy_present {
            SignatureError::RsaOnly
        } else {
            SignatureError::Missing
        });
    };
    let raw = STANDARD
        .decode(header)
        .map_err(|_| SignatureError::Malformed)?;
    let bytes: [u8; SIGNATURE_LENGTH] = raw
        .as_slice()
        .try_into()
        .map_err(|_| SignatureError::Malformed)?;
    let signature = Signature::from_bytes(&bytes);
    key.0
        .verify_strict(body, &signature)
        .map_err(|_| SignatureError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signer, SigningKey};

    fn pair(seed: u8) -> (SigningKey, WebhookKey) {
        let signing = SigningKey::from_bytes(&[seed; 32]);
        let key = WebhookKey::from_verifying_key(signing.verifying_key());
        (signing, key)
    }

    #[test]
    fn highlevels_published_key_parses_and_round_trips() {
        let key = WebhookKey::from_spki_base64(HIGHLEVEL_PUBLIC_KEY).expect("published key");
        assert_eq!(key.to_spki_base64(), HIGHLEVEL_PUBLIC_KEY);
    }

    #[test]
    fn other_shapes_of_keys_are_refused() {
        assert!(WebhookKey::from_spki_base64("not base64!").is_err());
        // An RSA SPKI prefix (or any other algorithm) does not match.
        assert!(WebhookKey::from_spki_base64(&STANDARD.encode([0x30u8; 44])).is_err());
        // The right prefix with a truncated key.
        let mut short = SPKI_PREFIX.to_vec();
        short.extend_from_slice(&[1; 31]);
        assert!(WebhookKey::from_spki_base64(&STANDARD.encode(short)).is_err());
    }

    #[test]
    fn a_signature_over_the_exact_bytes_verifies_and_nothing_else_does() {
        let (signing, key) = pair(7);
        let body = br#"{"type":"INSTALL","locationId":"loc1"}"#;
        let header = STANDARD.encode(signing.sign(body).to_bytes());
        assert_eq!(verify(&key, Some(&header), false, body), Ok(()));
        assert_eq!(
            verify(
                &key,
                Some(&header),
                false,
                br#"{"type":"INSTALL","locationId":"loc2"}"#
            ),
            Err(SignatureError::Mismatch)
        );
        let (_, other) = pair(8);
        assert_eq!(
            verify(&other, Some(&header), false, body),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn missing_empty_malformed_and_rsa_only_headers_are_named() {
        let (_, key) = pair(7);
        assert_eq!(
            verify(&key, None, false, b"{}"),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify(&key, Some(" "), false, b"{}"),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify(&key, None, true, b"{}"),
            Err(SignatureError::RsaOnly)
        );
        assert_eq!(
            verify(&key, Some("%%%"), false, b"{}"),
            Err(SignatureError::Malformed)
        );
        let short = STANDARD.encode([1u8; 63]);
        assert_eq!(
            verify(&key, Some(&short), false, b"{}"),
            Err(SignatureError::Malformed)
        );
    }
}
