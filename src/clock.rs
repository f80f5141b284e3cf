//! The wall clock of the message log.
//!
//! `LogStart`, `LogEnd`, the retention purge and the duplicate window all read [`now`], and so
//! does `forward` for a `Retry-After` given as a date. It is the
//! system's UTC time plus however far tokio's clock runs ahead of the real monotonic clock. In a
//! running service the two monotonic clocks are the same, so this is plain `now_utc()`. Under
//! tokio's paused test clock (`start_paused = true`), `tokio::time::advance` moves the log's time
//! too, so tests can age entries by days without waiting and without a clock of their own.

use std::time::Instant as StdInstant;

use time::OffsetDateTime;

/// The current time as the message log sees it (see the module documentation).
pub fn now() -> OffsetDateTime {
    let wall = OffsetDateTime::now_utc();
    let tokio_now = tokio::time::Instant::now().into_std();
    let real_now = StdInstant::now();
    match tokio_now.checked_duration_since(real_now) {
        Some(ahead) => wall + ahead,
        None => wall - real_now.duration_since(tokio_now),
    }
}

/// Epoch milliseconds, the unit the store keeps times in and OData's `/Date(ms)/` shows.
pub fn epoch_millis(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// The inverse of [`epoch_millis`].
pub fn from_epoch_millis(millis: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}
