//! Retention: deleting old entries and old bodies, in the background.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::MissedTickBehavior;

use super::{Store, StoreError};

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

/// Runs [`super::Backend::purge`] now and then every hour ([`PURGE_INTERVAL`]) until the store is
/// dropped. `on_purge` learns each result (for metrics and logs); the returned receiver counts
/// finished purges, so a test can wait for one.
pub fn spawn_purge(
    store: &Store,
    retention: Retention,
    on_purge: impl Fn(Result<Purged, StoreError>) + Send + 'static,
) -> watch::Receiver<u64> {
    let (done, receiver) = watch::channel(0u64);
    let weak = Arc::downgrade(store);
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(PURGE_INTERVAL);
        interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            // The store is gone when the App is: stop instead of keeping it open.
            let Some(store) = weak.upgrade() else { break };
            let result = store.purge(crate::clock::now(), retention).await;
            drop(store);
            on_purge(result);
            done.send_modify(|count| *count += 1);
        }
    });
    receiver
}
