//! Retention: deleting old entries and old bodies, in the background.

use std::sync::Weak;
use std::time::Duration;

use rusqlite::params;
use time::OffsetDateTime;
use tokio::sync::watch;
use tokio::time::MissedTickBehavior;

use super::{Shared, Store, StoreError};
use crate::clock::epoch_millis;

/// How long things are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub entries: time::Duration,
    pub payloads: time::Duration,
}

/// What a purge deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    pub entries: usize,
    /// Entries whose stored bodies (request and answer together) were deleted.
    pub payloads: usize,
}

/// How often the background purge runs.
pub const PURGE_INTERVAL: Duration = Duration::from_secs(60 * 60);

impl Store {
    /// Deletes entries (with their bodies) older than `retention.entries` and bodies older than
    /// `retention.payloads`, as of `now`. Entries still `PROCESSING` are never deleted.
    pub async fn purge(
        &self,
        now: OffsetDateTime,
        retention: Retention,
    ) -> Result<Purged, StoreError> {
        let entries_before = epoch_millis(now - retention.entries);
        let payloads_before = epoch_millis(now - retention.payloads);
        self.blocking(move |shared| {
            shared.writer.with_connection(|db| {
                let tx = db.transaction()?;
                let payloads = tx.execute(
                    "DELETE FROM bodies WHERE stored_at < ?1",
                    params![payloads_before],
                )?;
                let entries = tx.execute(
                    "DELETE FROM messages WHERE log_start < ?1 AND status <> 'PROCESSING'",
                    params![entries_before],
                )?;
                tx.commit()?;
                Ok(Purged { entries, payloads })
            })
        })
        .await
    }
}

/// Runs [`Store::purge`] now and then every [`PURGE_INTERVAL`] until the store is dropped.
/// `on_purge` learns each result (for metrics and logs); the returned receiver counts finished
/// purges, so a test can wait for one.
pub fn spawn_purge(
    store: &Store,
    retention: Retention,
    on_purge: impl Fn(Result<Purged, StoreError>) + Send + 'static,
) -> watch::Receiver<u64> {
    let (done, receiver) = watch::channel(0u64);
    let weak: Weak<Shared> = std::sync::Arc::downgrade(&store.shared);
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(PURGE_INTERVAL);
        interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            // The store is gone when the App is: stop instead of keeping it open.
            let Some(shared) = weak.upgrade() else { break };
            let store = Store { shared };
            let result = store.purge(crate::clock::now(), retention).await;
            drop(store);
            on_purge(result);
            done.send_modify(|count| *count += 1);
        }
    });
    receiver
}
