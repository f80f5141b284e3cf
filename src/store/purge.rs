//! Retention: deleting old entries and old bodies every hour, and the oldest ones as soon as the
//! log is over its size, in the background.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::MissedTickBehavior;

use super::{Store, StoreError};

/// How long things are kept, and how large the log may grow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub entries: time::Duration,
    pub payloads: time::Duration,
    /// Bytes, as [`super::Backend::size`] counts them (`[store] max_size_mb`); `None`: no limit.
    pub max_size: Option<u64>,
}

/// What a purge deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    /// Entries deleted for their age.
    pub entries: usize,
    /// Entries whose stored bodies (request and answer together) were deleted for their age.
    pub payloads: usize,
    /// Entries deleted, oldest first, because the log was over its size.
    pub entries_over_size: usize,
    /// Entries whose bodies were deleted, oldest first, because the log was over its size.
    pub payloads_over_size: usize,
}

impl Purged {
    /// Whether anything was deleted.
    pub fn any(&self) -> bool {
        self.entries + self.payloads + self.entries_over_size + self.payloads_over_size > 0
    }
}

/// How often the background purge runs for age.
pub const PURGE_INTERVAL: Duration = Duration::from_secs(60 * 60);

/// With a size limit, how long after one look at the log's size the next may be: new writes
/// are noticed at once, their size at most this much later, so that a busy log is measured a
/// few times a second rather than after every write.
pub const SIZE_CHECK_INTERVAL: Duration = Duration::from_millis(250);

/// Runs [`super::Backend::purge`] now and then every hour ([`PURGE_INTERVAL`]) until the store is
/// dropped; with `retention.max_size`, also as soon as new writes have made the log larger than
/// that (looked at no more often than every [`SIZE_CHECK_INTERVAL`]). `on_purge` learns each
/// result (for metrics and logs); the returned receiver counts finished purges, so a test can
/// wait for one.
pub fn spawn_purge(
    store: &Store,
    retention: Retention,
    on_purge: impl Fn(Result<Purged, StoreError>) + Send + 'static,
) -> watch::Receiver<u64> {
    let (done, receiver) = watch::channel(0u64);
    let weak = Arc::downgrade(store);
    let mut writes = retention.max_size.map(|_| store.writes());
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(PURGE_INTERVAL);
        interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            let by_size = tokio::select! {
                _ = interval.tick() => false,
                changed = wait_for_writes(&mut writes) => {
                    if changed.is_err() {
                        break;
                    }
                    true
                }
            };
            // The store is gone when the App is: stop instead of keeping it open.
            let Some(store) = weak.upgrade() else { break };
            if by_size {
                // A log that cannot be written cannot delete either: the hourly purge tries.
                let writable = store.health() == super::Health::Writable;
                let over = match (writable, store.size().await, retention.max_size) {
                    (true, Ok(size), Some(max)) => size > max,
                    _ => false,
                };
                if !over {
                    drop(store);
                    tokio::time::sleep(SIZE_CHECK_INTERVAL).await;
                    continue;
                }
            }
            let result = store.purge(crate::clock::now(), retention).await;
            drop(store);
            on_purge(result);
            done.send_modify(|count| *count += 1);
            if by_size {
                tokio::time::sleep(SIZE_CHECK_INTERVAL).await;
            }
        }
    });
    receiver
}

/// Waits until the log has taken new writes; never, without a size limit.
async fn wait_for_writes(
    writes: &mut Option<watch::Receiver<u64>>,
) -> Result<(), watch::error::RecvError> {
    match writes {
        Some(writes) => writes.changed().await,
        None => std::future::pending().await,
    }
}
