//! The HighLevel app install webhook: the signed `INSTALL` / `UNINSTALL` deliveries of the
//! marketplace webhook, what an installation records and how an uninstall is marked and queued
//! for erasure (docs/GHL_WEBHOOK.md; the erasure itself: `crate::erasure`).
//!
//! The webhook function verifies the signature ([`signature`]), parses a [`Delivery`], checks its
//! freshness and runs the effect once per `webhookId` through `crate::idempotency`; the effects
//! themselves live here so they read as the policy they implement.

pub mod signature;

use futures_util::{stream, StreamExt};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::auth::LocationId;
use crate::erasure::{ErasureJob, ErasureQueue};
use crate::store::StoreError;

pub use crate::store::accounts::install::{
    AccountErasure, CompanyPosition, InstallState, InstallWrites, Installation, Marked,
};

/// Accounts marked uninstalled concurrently by one uninstall.
const MARKS_AT_ONCE: usize = 16;

/// Longest `webhookId` accepted (HighLevel's are UUID-like).
const MAX_WEBHOOK_ID: usize = 128;

/// A verified delivery, parsed at the edge.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub webhook_id: String,
    /// The event type as HighLevel sent it (`INSTALL`, `UNINSTALL`, `LocationUpdate`, ...).
    pub kind: String,
    /// When HighLevel sent it, epoch milliseconds.
    pub timestamp_ms: i64,
    /// The marketplace app the event is for (`appId`). HighLevel signs every app's events with
    /// one platform key, so only [`Delivery::is_for_app`] makes an event ours.
    pub app_id: Option<String>,
    pub event: Event,
}

/// What a delivery asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Install {
        locations: Vec<LocationId>,
        installation: Installation,
    },
    Uninstall(UninstallScope),
    /// `LocationUpdate` and every type we do not act on: recorded, no effect.
    Other,
}

/// Who an uninstall concerns.
#[derive(Debug, Clone, PartialEq)]
pub enum UninstallScope {
    Location(LocationId),
    /// An agency removed the app: every location of the company we know.
    Company(String),
    /// Neither a location nor a company: nothing to erase.
    Nobody,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawDelivery {
    #[serde(rename = "type")]
    kind: Option<String>,
    webhook_id: Option<String>,
    timestamp: Option<Value>,
    location_id: Option<String>,
    #[serde(default)]
    location_ids: Vec<String>,
    company_id: Option<String>,
    app_id: Option<String>,
    version_id: Option<String>,
    plan_id: Option<String>,
    install_type: Option<String>,
}

/// An authentic body we cannot key or date (400: no retry can fix it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidDelivery(pub String);

impl Delivery {
    /// Parses an authentic body. Anything we cannot key or date is a 400: no retry can fix it.
    pub fn parse(body: &[u8]) -> Result<Self, InvalidDelivery> {
        let raw: RawDelivery = serde_json::from_slice(body).map_err(|err| {
            InvalidDelivery(format!("the body is not a HighLevel webhook: {err}"))
        })?;
        let kind = raw
            .kind
            .filter(|k| (1..=64).contains(&k.len()))
            .ok_or_else(|| InvalidDelivery("type is required".into()))?;
        let webhook_id = raw
            .webhook_id
            .filter(|id| {
                (1..=MAX_WEBHOOK_ID).contains(&id.len())
                    && id.bytes().all(|b| {
                        b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b':' | b'.')
                    })
            })
            .ok_or_else(|| {
                InvalidDelivery(
                    "webhookId is required: 1-128 letters, digits, '-', '_', ':' or '.'".into(),
                )
            })?;
        let timestamp_ms = raw
            .timestamp
            .as_ref()
            .and_then(timestamp_ms)
            .ok_or_else(|| {
                InvalidDelivery("timestamp is required: ISO 8601 or epoch milliseconds".into())
            })?;
        let location = |raw: &str| {
            LocationId::parse(raw).map_err(|_| {
                InvalidDelivery("locationId must be 1-64 letters, digits, '-' or '_'".into())
            })
        };
        let company = raw.company_id.filter(|c| !c.trim().is_empty());
        let app_id = raw.app_id.clone().filter(|a| !a.trim().is_empty());
        let event = match kind.as_str() {
            "INSTALL" => {
                let mut locations = Vec::new();
                for id in raw.location_id.iter().chain(raw.location_ids.iter()) {
                    let id = location(id)?;
                    if !locations.contains(&id) {
                        locations.push(id);
                    }
                }
                Event::Install {
                    locations,
                    installation: Installation {
                        installed_at: timestamp_ms.div_euclid(1000),
                        company_id: company,
                        app_id: raw.app_id,
                        version_id: raw.version_id,
                        plan_id: raw.plan_id,
                        install_type: raw.install_type,
                    },
                }
            }
            "UNINSTALL" => Event::Uninstall(match (raw.location_id.as_deref(), company) {
                (Some(id), _) => UninstallScope::Location(location(id)?),
                (None, Some(company)) => UninstallScope::Company(company),
                (None, None) => UninstallScope::Nobody,
            }),
            _ => Event::Other,
        };
        Ok(Self {
            webhook_id,
            kind,
            timestamp_ms,
            app_id,
            event,
        })
    }

    /// Whether the delivery names our app (`GHL_APP_ID`). Any app a location once installed
    /// receives validly signed `INSTALL`/`UNINSTALL` events for it and could replay them to us:
    /// an event naming another app, or none, is never applied.
    pub fn is_for_app(&self, app_id: &str) -> bool {
        self.app_id.as_deref() == Some(app_id)
    }

    /// Whether the delivery was sent within `tolerance_secs` of `now_ms`, either way.
    pub fn is_fresh(&self, now_ms: i64, tolerance_secs: i64) -> bool {
        (now_ms - self.timestamp_ms).abs() <= tolerance_secs.saturating_mul(1000)
    }
}

/// `timestamp` as epoch milliseconds: an ISO 8601 / RFC 3339 string (what HighLevel sends), or
/// epoch milliseconds as a number or a string of digits.
fn timestamp_ms(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64().filter(|ms| *ms > 0),
        Value::String(text) => {
            let text = text.trim();
            if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
                return text.parse().ok().filter(|ms| *ms > 0);
            }
            let at =
                time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
                    .ok()?;
            i64::try_from(at.unix_timestamp_nanos() / 1_000_000).ok()
        }
        _ => None,
    }
}

/// What an uninstall queued, summed over its pages (stored in the idempotency record).
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Queued {
    /// Erasure jobs sent: locations marked uninstalled now (or before, by this same event) and
    /// locations without an account (sessions may remain).
    pub jobs: u32,
    /// Locations installed again after the uninstall was sent: left alone, nothing queued.
    pub installed_since: u32,
}

impl Queued {
    pub fn add(&mut self, other: Queued) {
        self.jobs += other.jobs;
        self.installed_since += other.installed_since;
    }
}

/// What an `INSTALL` delivery did to the accounts it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Installed {
    /// At least one account now records the installation.
    Recorded,
    /// Every named location was uninstalled after this install was sent (a late delivery).
    UninstalledSince,
    /// The delivery names no location.
    NobodyNamed,
}

/// Records an installation on each named location's account (creating it, plan Free, when the
/// OAuth flow has not yet). A location uninstalled after the install was sent is left alone:
/// HighLevel's retries and out-of-order deliveries must not bring back an uninstalled app.
pub async fn record_install<A: InstallWrites>(
    accounts: &A,
    locations: &[LocationId],
    installation: &Installation,
    now: i64,
) -> Result<Installed, StoreError> {
    if locations.is_empty() {
        return Ok(Installed::NobodyNamed);
    }
    let mut recorded = false;
    for location in locations {
        recorded |= accounts
            .record_installation(location, installation, now)
            .await?;
    }
    Ok(if recorded {
        Installed::Recorded
    } else {
        Installed::UninstalledSince
    })
}

/// Marks each of `locations` uninstalled at `uninstalled_at` (the event's time, epoch seconds),
/// durably and first: from then on every session and token of the location stops working. Then
/// sends one erasure job per location to `queue` (the worker erases; the webhook answers
/// without waiting). A location installed again since the event was sent is left alone. A
/// failure part-way is retried whole by HighLevel (the webhook answers 429): marking again is a
/// no-op and a job sent twice is harmless.
pub async fn queue_erasure<A: InstallWrites, Q: ErasureQueue>(
    accounts: &A,
    queue: &Q,
    locations: &[LocationId],
    uninstalled_at: i64,
    event_id: &str,
    now: i64,
) -> Result<Queued, StoreError> {
    let mut queued = Queued::default();
    let mut jobs = Vec::with_capacity(locations.len());
    // A few marks at a time: a company's page of 100 costs a few round trips, not 100.
    // Collected first: a stream holding the closure would not be `Send` for every lifetime.
    let marking: Vec<_> = locations
        .iter()
        .map(|location| accounts.mark_uninstalled(location, uninstalled_at, now))
        .collect();
    let marks: Vec<_> = stream::iter(marking)
        .buffered(MARKS_AT_ONCE)
        .collect()
        .await;
    for (location, marked) in locations.iter().zip(marks) {
        match marked? {
            Marked::InstalledSince => {
                tracing::info!(location = %location, "uninstall older than the location's last install: left alone");
                queued.installed_since += 1;
            }
            Marked::Marked | Marked::Absent => jobs.push(ErasureJob {
                location_id: location.clone(),
                uninstalled_at,
                event_id: event_id.to_owned(),
            }),
        }
    }
    queue.send(&jobs).await?;
    queued.jobs = u32::try_from(jobs.len()).unwrap_or(u32::MAX);
    Ok(queued)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::erasure::MemoryErasureQueue;
    use crate::store::accounts::memory::MemoryAccounts;
    use crate::store::accounts::{Account, Plan};

    const NOW: i64 = 1_800_000_000;

    fn loc(id: &str) -> LocationId {
        LocationId::parse(id).expect("a location id")
    }

    fn installation(sent_at: i64) -> Installation {
        Installation {
            installed_at: sent_at,
            company_id: Some("Company1".into()),
            ..Installation::default()
        }
    }

    #[tokio::test]
    async fn an_install_records_every_named_location_creating_missing_accounts() {
        let accounts = MemoryAccounts::default();
        let named = [loc("LocA1"), loc("LocB2")];
        let installed = record_install(&accounts, &named, &installation(NOW - 5), NOW).await;
        assert_eq!(installed.ok(), Some(Installed::Recorded));
        for location in &named {
            let account = accounts.get(location).expect("an account");
            assert_eq!(account.installed_at, Some(NOW - 5));
            assert_eq!(account.company_id.as_deref(), Some("Company1"));
            assert_eq!(account.effective_plan(NOW), Plan::Free);
        }
    }

    #[tokio::test]
    async fn an_install_sent_before_the_last_uninstall_changes_nothing() {
        let accounts = MemoryAccounts::default();
        accounts
            .insert(Account {
                location_id: "LocA1".into(),
                uninstalled_at: Some(NOW - 10),
                ..Account::default()
            })
            .expect("insert");
        let late = record_install(&accounts, &[loc("LocA1")], &installation(NOW - 60), NOW).await;
        assert_eq!(late.ok(), Some(Installed::UninstalledSince));
        assert_eq!(
            accounts.get(&loc("LocA1")).and_then(|a| a.installed_at),
            None
        );
        let fresh = record_install(&accounts, &[loc("LocA1")], &installation(NOW - 1), NOW).await;
        assert_eq!(
            fresh.ok(),
            Some(Installed::Recorded),
            "a reinstall after it counts"
        );
    }

    #[tokio::test]
    async fn an_uninstall_marks_each_location_and_queues_one_job_each_except_reinstalled_ones() {
        let accounts = MemoryAccounts::default();
        let queue = MemoryErasureQueue::default();
        for (id, installed_at) in [("LocA1", NOW - 100), ("LocB2", NOW + 50)] {
            accounts
                .insert(Account {
                    location_id: id.into(),
                    installed_at: Some(installed_at),
                    access_token: Some("sealed".into()),
                    ..Account::default()
                })
                .expect("insert");
        }
        let named = [loc("LocA1"), loc("LocB2"), loc("Unknown3")];
        let queued = queue_erasure(&accounts, &queue, &named, NOW, "wh-9", NOW + 60).await;
        assert_eq!(
            queued.ok(),
            Some(Queued {
                jobs: 2,
                installed_since: 1
            })
        );
        let jobs = queue.jobs();
        let ids: Vec<_> = jobs.iter().map(|j| j.location_id.as_str()).collect();
        assert_eq!(ids, ["LocA1", "Unknown3"]);
        assert!(jobs
            .iter()
            .all(|j| j.uninstalled_at == NOW && j.event_id == "wh-9"));
        let marked = accounts.get(&loc("LocA1")).expect("account");
        assert_eq!(marked.uninstalled_at, Some(NOW));
        assert_eq!(marked.access_token, None, "the mark removes the tokens");
        let reinstalled = accounts.get(&loc("LocB2")).expect("account");
        assert_eq!(reinstalled.uninstalled_at, None);
        assert!(reinstalled.access_token.is_some());
    }

    #[tokio::test]
    async fn an_install_naming_nobody_is_ignored() {
        let accounts = MemoryAccounts::default();
        let nobody = record_install(&accounts, &[], &installation(NOW), NOW).await;
        assert_eq!(nobody.ok(), Some(Installed::NobodyNamed));
    }

    #[test]
    fn iso_and_epoch_millisecond_timestamps_are_both_read() {
        assert_eq!(
            timestamp_ms(&Value::from("2026-11-23T10:00:00.000Z")),
            Some(1_795_428_000_000)
        );
        assert_eq!(
            timestamp_ms(&Value::from("2026-11-23T11:00:00+01:00")),
            Some(1_795_428_000_000)
        );
        assert_eq!(
            timestamp_ms(&Value::from(1_795_428_000_000i64)),
            Some(1_795_428_000_000)
        );
        assert_eq!(
            timestamp_ms(&Value::from("1795428000000")),
            Some(1_795_428_000_000)
        );
        assert_eq!(timestamp_ms(&Value::from("yesterday")), None);
        assert_eq!(timestamp_ms(&Value::Bool(true)), None);
    }

    #[test]
    fn installs_single_and_bulk_are_parsed_without_duplicates() {
        let body = br#"{"type":"INSTALL","webhookId":"wh-1","timestamp":"2026-11-23T10:00:00Z",
            "companyId":"comp1","locationId":"loc1","locationIds":["loc1","loc2"],"planId":"p1"}"#;
        let delivery = Delivery::parse(body).expect("install");
        let Event::Install {
            locations,
            installation,
        } = delivery.event
        else {
            panic!("an install");
        };
        let ids: Vec<_> = locations.iter().map(LocationId::as_str).collect();
        assert_eq!(ids, ["loc1", "loc2"]);
        assert_eq!(installation.company_id.as_deref(), Some("comp1"));
        assert_eq!(installation.installed_at, 1_795_428_000);
    }

    #[test]
    fn uninstalls_name_a_location_or_a_company() {
        let parse = |body: &str| Delivery::parse(body.as_bytes()).expect("uninstall").event;
        assert_eq!(
            parse(
                r#"{"type":"UNINSTALL","webhookId":"a","timestamp":1,"locationId":"loc1","companyId":"c"}"#
            ),
            Event::Uninstall(UninstallScope::Location(LocationId::parse("loc1").unwrap()))
        );
        assert_eq!(
            parse(r#"{"type":"UNINSTALL","webhookId":"a","timestamp":1,"companyId":"c"}"#),
            Event::Uninstall(UninstallScope::Company("c".into()))
        );
        assert_eq!(
            parse(r#"{"type":"LocationUpdate","webhookId":"a","timestamp":1,"id":"x"}"#),
            Event::Other
        );
    }

    #[test]
    fn deliveries_without_a_usable_id_or_time_are_refused() {
        for body in [
            r#"{"type":"INSTALL","timestamp":1}"#,
            r#"{"type":"INSTALL","webhookId":"a b","timestamp":1}"#,
            r#"{"type":"INSTALL","webhookId":"a"}"#,
            r#"{"webhookId":"a","timestamp":1}"#,
            r#"{"type":"INSTALL","webhookId":"a","timestamp":1,"locationId":"../x"}"#,
            "[]",
        ] {
            assert!(Delivery::parse(body.as_bytes()).is_err(), "{body}");
        }
    }

    #[test]
    fn only_a_delivery_naming_our_app_is_ours() {
        let parse = |body: &str| Delivery::parse(body.as_bytes()).expect("a delivery");
        let ours = parse(
            r#"{"type":"UNINSTALL","webhookId":"a","timestamp":1,"appId":"app1","locationId":"l1"}"#,
        );
        assert!(ours.is_for_app("app1"));
        assert!(!ours.is_for_app("app2"));
        let none = parse(r#"{"type":"UNINSTALL","webhookId":"a","timestamp":1,"locationId":"l1"}"#);
        assert!(!none.is_for_app("app1"));
        let empty = parse(
            r#"{"type":"UNINSTALL","webhookId":"a","timestamp":1,"appId":"","locationId":"l1"}"#,
        );
        assert!(!empty.is_for_app(""));
    }

    #[test]
    fn freshness_is_symmetric_around_now() {
        let delivery =
            Delivery::parse(br#"{"type":"X","webhookId":"a","timestamp":1000000}"#).unwrap();
        assert!(delivery.is_fresh(1_000_000 + 300_000, 300));
        assert!(delivery.is_fresh(1_000_000 - 300_000, 300));
        assert!(!delivery.is_fresh(1_000_000 + 300_001, 300));
        assert!(!delivery.is_fresh(1_000_000 - 360_000, 300));
    }
}
