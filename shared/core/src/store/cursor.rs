//! Opaque pagination cursors: DynamoDB's last evaluated key, bound to the account and to the
//! filters it was issued for, and signed, so a client can neither forge another account's
//! position nor replay a cursor under different filters.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use super::results::PageKey;
use crate::auth::crypto::keyed_mac;
use crate::auth::LocationId;
use crate::secrets::EncryptionKey;

const LABEL: &str = "history-cursor-v1";
/// Longest cursor accepted (a page key is a few short strings).
const MAX_CURSOR_LEN: usize = 2048;

#[derive(Serialize, Deserialize)]
struct Payload {
    /// The page key.
    k: PageKey,
}

fn mac(key: &EncryptionKey, location: &LocationId, scope: &str, payload: &str) -> [u8; 32] {
    let bound = format!("{}\n{scope}\n{payload}", location.as_str());
    keyed_mac(key, LABEL, bound.as_bytes())
}

/// Encodes `page` for `location` under `scope` (a canonical rendering of the filters).
pub fn encode(key: &EncryptionKey, location: &LocationId, scope: &str, page: PageKey) -> String {
    let payload =
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&Payload { k: page }).unwrap_or_default());
    let tag = URL_SAFE_NO_PAD.encode(mac(key, location, scope, &payload));
    format!("{payload}.{tag}")
}

/// Decodes a cursor; `None` for anything not issued by us for this account and these filters.
pub fn decode(
    key: &EncryptionKey,
    location: &LocationId,
    scope: &str,
    cursor: &str,
) -> Option<PageKey> {
    if cursor.len() > MAX_CURSOR_LEN {
        return None;
    }
    let (payload, tag) = cursor.split_once('.')?;
    let given = URL_SAFE_NO_PAD.decode(tag).ok()?;
    let expected = mac(key, location, scope, payload);
    if !bool::from(given.as_slice().ct_eq(&expected)) {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    let decoded: Payload = serde_json::from_slice(&bytes).ok()?;
    // The position must be inside this account's partition.
    let own = decoded.k.get("locationId").map(String::as_str) == Some(location.as_str())
        || decoded
            .k
            .get("workflowKey")
            .is_some_and(|k| k.starts_with(&format!("{}#", location.as_str())));
    own.then_some(decoded.k)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key() -> EncryptionKey {
        EncryptionKey::from_hex(&"12".repeat(32)).unwrap()
    }

    fn page(location: &str) -> PageKey {
        PageKey::from([
            ("locationId".to_owned(), location.to_owned()),
            ("analysisId".to_owned(), "1795471200000-0a0b0c0d".to_owned()),
        ])
    }

    #[test]
    fn round_trips_only_for_the_same_account_and_filters() {
        let a = LocationId::parse("locA").unwrap();
        let b = LocationId::parse("locB").unwrap();
        let cursor = encode(&key(), &a, "grade=Good", page("locA"));
        assert_eq!(
            decode(&key(), &a, "grade=Good", &cursor),
            Some(page("locA"))
        );
        assert_eq!(
            decode(&key(), &b, "grade=Good", &cursor),
            None,
            "another account"
        );
        assert_eq!(
            decode(&key(), &a, "grade=Poor", &cursor),
            None,
            "other filters"
        );
        let mut forged = cursor.clone();
        forged.insert(3, 'x');
        assert_eq!(decode(&key(), &a, "grade=Good", &forged), None);
    }

    proptest! {
        #[test]
        fn arbitrary_cursors_never_panic_and_never_decode(s in ".{0,300}") {
            let a = LocationId::parse("locA").unwrap();
            prop_assert_eq!(decode(&key(), &a, "", &s), None);
        }
    }
}
