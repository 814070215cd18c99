//! Verifying Stripe's `Stripe-Signature` header (`t=<unix>,v1=<hex>[,v1=...]`): HMAC-SHA256 with the
//! `whsec_` secret over `"{t}.{raw body}"`, accepted if ANY `v1` matches (Stripe sends one per
//! active secret while a secret is being rolled), compared in constant time, and only within
//! [`TOLERANCE_SECS`] of now in either direction (replays and badly skewed clocks are refused).
//! `v0` (Stripe's test-mode scheme) and unknown schemes are ignored.

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// How far the signed timestamp may be from our clock, in either direction.
pub const TOLERANCE_SECS: i64 = 300;
/// Headers longer than this are refused before any parsing (bounds the work an attacker buys).
pub const MAX_HEADER_LEN: usize = 4096;
/// At most this many `v1` signatures are considered.
pub const MAX_SIGNATURES: usize = 8;

/// Why a delivery is not accepted as Stripe's. Messages name the reason, never a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the Stripe-Signature header is missing")]
    Missing,
    #[error("the Stripe-Signature header is malformed: {0}")]
    Malformed(&'static str),
    #[error("the Stripe-Signature header has no v1 signature")]
    NoV1Signature,
    #[error("no v1 signature matches the payload")]
    Mismatch,
    #[error("the signature timestamp is more than {TOLERANCE_SECS} s from the current time")]
    OutsideTolerance,
}

/// A parsed header: the signed timestamp and every well-formed `v1` signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureHeader {
    pub timestamp: i64,
    pub v1: Vec<[u8; 32]>,
}

/// Parses `t=<unix>,v1=<hex>[,v1=<hex>...]`. Pairs may come in any order; `t` must appear once.
/// A `v1` that is not 64 hex characters cannot match anything and is skipped; `v0` and unknown
/// schemes are ignored. Never panics, whatever the input.
pub fn parse(header: &str) -> Result<SignatureHeader, SignatureError> {
    if header.trim().is_empty() {
        return Err(SignatureError::Malformed("it is empty"));
    }
    if header.len() > MAX_HEADER_LEN {
        return Err(SignatureError::Malformed("it is too long"));
    }
    let mut timestamp = None;
    let mut v1 = Vec::new();
    let mut saw_v1 = false;
    for pair in header.split(',') {
        let Some((key, value)) = pair.split_once('=') else {
            return Err(SignatureError::Malformed(
                "expected comma-separated key=value pairs",
            ));
        };
        match key.trim() {
            "t" => {
                if timestamp.is_some() {
                    return Err(SignatureError::Malformed("the timestamp t appears twice"));
                }
                let value = value.trim();
                if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(SignatureError::Malformed("the timestamp t is not a number"));
                }
                let parsed = value
                    .parse::<i64>()
                    .map_err(|_| SignatureError::Malformed("the timestamp t is out of range"))?;
                timestamp = Some(parsed);
            }
            "v1" => {
                saw_v1 = true;
                let mut bytes = [0u8; 32];
                if v1.len() < MAX_SIGNATURES
                    && hex::decode_to_slice(value.trim(), &mut bytes).is_ok()
                {
                    v1.push(bytes);
                }
            }
            "" => return Err(SignatureError::Malformed("a pair has an empty key")),
            _ => {} // v0 and future schemes
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed("the timestamp t is missing"))?;
    if !saw_v1 {
        return Err(SignatureError::NoV1Signature);
    }
    Ok(SignatureHeader { timestamp, v1 })
}

/// Verifies `payload` (the raw request body, byte for byte) against the header, at `now` (epoch
/// seconds). Returns the signed timestamp.
pub fn verify(
    header: Option<&str>,
    payload: &[u8],
    secret: &SecretString,
    now: i64,
) -> Result<i64, SignatureError> {
    let header = parse(header.ok_or(SignatureError::Missing)?)?;
    let expected = compute(secret, header.timestamp, payload);
    // Every candidate is compared (no early exit), each in constant time.
    let matched = header
        .v1
        .iter()
        .fold(subtle::Choice::from(0), |acc, candidate| {
            acc | candidate.ct_eq(&expected)
        });
    if !bool::from(matched) {
        return Err(SignatureError::Mismatch);
    }
    if now.abs_diff(header.timestamp) > TOLERANCE_SECS as u64 {
        return Err(SignatureError::OutsideTolerance);
    }
    Ok(header.timestamp)
}

/// The header Stripe would send for `payload` at `timestamp`: for tests and local tools.
pub fn sign(secret: &SecretString, timestamp: i64, payload: &[u8]) -> String {
    format!(
        "t={timestamp},v1={}",
        hex::encode(compute(secret, timestamp, payload))
    )
}

fn compute(secret: &SecretString, timestamp: i64, payload: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length, so this constructor cannot fail.
    let mut mac = match HmacSha256::new_from_slice(secret.expose_secret().as_bytes()) {
        Ok(mac) => mac,
        Err(_) => return [0u8; 32],
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const NOW: i64 = 1_795_478_400;
    const BODY: &[u8] = br#"{"id":"evt_1","object":"event","type":"invoice.paid"}"#;

    fn secret() -> SecretString {
        SecretString::from("whsec_test_secret".to_owned())
    }

    #[test]
    fn a_valid_signature_is_accepted() {
        let header = sign(&secret(), NOW, BODY);
        assert_eq!(verify(Some(&header), BODY, &secret(), NOW), Ok(NOW));
    }

    #[test]
    fn any_matching_v1_is_enough() {
        let good = sign(&secret(), NOW, BODY);
        let good_v1 = good.split(",v1=").nth(1).unwrap_or_default();
        let header = format!("t={NOW},v1={},v1={good_v1}", "ab".repeat(32));
        assert_eq!(verify(Some(&header), BODY, &secret(), NOW), Ok(NOW));
    }

    #[test]
    fn a_tampered_body_or_another_secret_does_not_match() {
        let header = sign(&secret(), NOW, BODY);
        let tampered = br#"{"id":"evt_1","object":"event","type":"invoice.paid" }"#;
        assert_eq!(
            verify(Some(&header), tampered, &secret(), NOW),
            Err(SignatureError::Mismatch)
        );
        let other = SecretString::from("whsec_other".to_owned());
        assert_eq!(
            verify(Some(&header), BODY, &other, NOW),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn timestamps_beyond_the_tolerance_either_way_are_refused() {
        for offset in [-301, 301] {
            let header = sign(&secret(), NOW + offset, BODY);
            assert_eq!(
                verify(Some(&header), BODY, &secret(), NOW),
                Err(SignatureError::OutsideTolerance),
                "offset {offset}"
            );
        }
        for offset in [-300, 300] {
            let header = sign(&secret(), NOW + offset, BODY);
            assert!(verify(Some(&header), BODY, &secret(), NOW).is_ok());
        }
    }

    #[test]
    fn missing_empty_malformed_and_v0_only_headers_are_refused_with_reasons() {
        assert_eq!(
            verify(None, BODY, &secret(), NOW),
            Err(SignatureError::Missing)
        );
        assert!(matches!(
            verify(Some(""), BODY, &secret(), NOW),
            Err(SignatureError::Malformed(_))
        ));
        for header in ["garbage", "t=abc,v1=00", "v1=00", "t=1,t=2,v1=00", "=x,t=1"] {
            assert!(
                matches!(parse(header), Err(SignatureError::Malformed(_))),
                "{header}"
            );
        }
        let v0 = format!("t={NOW},v0={}", "00".repeat(32));
        assert_eq!(
            verify(Some(&v0), BODY, &secret(), NOW),
            Err(SignatureError::NoV1Signature)
        );
    }

    #[test]
    fn a_v0_beside_a_valid_v1_is_ignored() {
        let good = sign(&secret(), NOW, BODY);
        let header = format!("{good},v0={}", "00".repeat(32));
        assert_eq!(verify(Some(&header), BODY, &secret(), NOW), Ok(NOW));
    }

    proptest! {
        #[test]
        fn parsing_never_panics(header in ".{0,300}") {
            let _ = parse(&header);
        }

        #[test]
        fn verifying_never_panics_on_structured_noise(
            t in proptest::option::of(-5i64..i64::MAX),
            parts in proptest::collection::vec("(v0|v1|t|x|)=[0-9a-fA-F,=]{0,70}", 0..6),
            body in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let mut header = parts.join(",");
            if let Some(t) = t {
                header = format!("t={t},{header}");
            }
            let _ = verify(Some(&header), &body, &secret(), NOW);
        }

        #[test]
        fn whatever_we_sign_verifies(body in proptest::collection::vec(any::<u8>(), 0..256)) {
            let header = sign(&secret(), NOW, &body);
            prop_assert_eq!(verify(Some(&header), &body, &secret(), NOW), Ok(NOW));
        }
    }
}
