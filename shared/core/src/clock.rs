//! Time: the system clock, read through these functions only (business rules take `now` as a
//! parameter, so tests pass any instant), and the one date format the API speaks (RFC 3339, UTC,
//! whole seconds).

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Seconds since the Unix epoch: what TTLs, expiries and Stripe's `created` are measured in.
pub fn now_epoch() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// Milliseconds since the Unix epoch (analysis ids and idempotency expiries).
pub fn now_epoch_ms() -> i64 {
    (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// Now, as the API writes times.
pub fn now_rfc3339() -> String {
    format_rfc3339(OffsetDateTime::now_utc())
}

/// `at` as the API writes times: `2026-01-01T00:00:00Z`.
pub fn format_rfc3339(at: OffsetDateTime) -> String {
    at.replace_nanosecond(0)
        .unwrap_or(at)
        .format(&Rfc3339)
        .unwrap_or_default()
}

/// Epoch seconds as the API writes times (the epoch itself for an out-of-range value).
pub fn format_epoch(secs: i64) -> String {
    format_rfc3339(OffsetDateTime::from_unix_timestamp(secs).unwrap_or(OffsetDateTime::UNIX_EPOCH))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_times_are_utc_whole_seconds() {
        assert_eq!(format_epoch(1_795_471_200), "2026-11-23T22:00:00Z");
        assert_eq!(format_epoch(i64::MAX), "1970-01-01T00:00:00Z");
    }
}
