//! Who is calling: location ids, session tokens and the session cookie, token encryption, and
//! the signed OAuth `state`.

pub mod crypto;
pub mod oauth_state;
pub mod session;

pub use session::{require_session, SessionToken, SESSION_COOKIE};

/// A HighLevel location (sub-account) id: the tenant key of every table.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct LocationId(String);

/// Why a location id was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("locationId must be 1-64 letters, digits, '-' or '_'")]
pub struct InvalidLocationId;

impl LocationId {
    /// 1..=64 ASCII letters, digits, `-` or `_` (HighLevel's ids are 20-character alphanumerics).
    pub fn parse(raw: &str) -> Result<Self, InvalidLocationId> {
        if crate::highlevel::is_highlevel_id(raw) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(InvalidLocationId)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for LocationId {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        LocationId::parse(&value).map_err(|e| e.to_string())
    }
}

impl From<LocationId> for String {
    fn from(value: LocationId) -> Self {
        value.0
    }
}

impl std::fmt::Display for LocationId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
