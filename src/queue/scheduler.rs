//! The scheduler: claims due messages for free workers, and otherwise sleeps until the store's
//! earliest due time.
//!
//! One loop per queue. Each turn it takes a free worker (waiting for one), then as many more as
//! are free right now (up to [`BATCH`]), and claims that many due messages in one store call. A
//! full batch means more may be due: it goes round at once. Otherwise it gives the workers back
//! and sleeps until the earliest due time the store knows (a waiting message's next attempt, or a
//! running one's lease end), at most `lease_ms`, or until woken: a message enqueued without a
//! worker, or a retry scheduled, wakes it. The wake-up is registered before the store is asked,
//! so none is missed between the two.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::OwnedSemaphorePermit;

use super::{Shared, attempt, spawn};
use crate::clock;

/// The most messages claimed in one store call.
const BATCH: usize = 32;

/// How long to wait after the store failed before asking it again.
const STORE_BACKOFF: Duration = Duration::from_secs(1);

pub(super) async fn run(shared: Arc<Shared>) {
    let mut stop = shared.stop.subscribe();
    let mut started = shared.started.clone();
    tokio::select! {
        // `Err`: the log was dropped before its start-up work was done; nothing to run.
        done = started.wait_for(|started| *started) => if done.is_err() { return },
        _ = stop.wait_for(|stopping| *stopping) => return,
    }
    loop {
        let woken = shared.wake.notified();
        let mut woken = std::pin::pin!(woken);
        woken.as_mut().enable();
        let workers = tokio::select! {
            workers = free_workers(&shared) => workers,
            _ = stop.wait_for(|stopping| *stopping) => return,
        };
        let wanted = workers.len();
        let now = clock::now();
        let claimed = match shared.store.claim(now, now + shared.lease, wanted).await {
            Ok(claimed) => claimed,
            Err(error) => {
                tracing::error!(%error, "cannot claim queued messages");
                shared.metrics.store_error("claim");
                drop(workers);
                tokio::select! {
                    () = tokio::time::sleep(STORE_BACKOFF) => continue,
                    _ = stop.wait_for(|stopping| *stopping) => return,
                }
            }
        };
        let full = claimed.len() == wanted;
        for (message, worker) in claimed.into_iter().zip(workers) {
            let task = Arc::clone(&shared);
            spawn(&shared, async move {
                attempt::claimed(&task, message, worker).await;
            });
        }
        if full {
            continue;
        }
        let wait = until_due(&shared).await;
        tokio::select! {
            () = &mut woken => {}
            () = tokio::time::sleep(wait) => {}
            _ = stop.wait_for(|stopping| *stopping) => return,
        }
    }
}

/// One free worker (waiting for it), and as many more as are free now, up to [`BATCH`].
async fn free_workers(shared: &Shared) -> Vec<OwnedSemaphorePermit> {
    let Ok(first) = Arc::clone(&shared.workers).acquire_owned().await else {
        // The semaphore is never closed.
        return Vec::new();
    };
    let mut workers = vec![first];
    while workers.len() < BATCH {
        match Arc::clone(&shared.workers).try_acquire_owned() {
            Ok(worker) => workers.push(worker),
            Err(_) => break,
        }
    }
    workers
}

/// How long to sleep: until the store's earliest due time, at most the lease time (and not at
/// all when something is due already).
async fn until_due(shared: &Shared) -> Duration {
    match shared.store.next_due().await {
        Ok(Some(due)) => {
            let wait = due - clock::now();
            Duration::try_from(wait)
                .unwrap_or(Duration::ZERO)
                .min(shared.lease)
        }
        Ok(None) => shared.lease,
        Err(error) => {
            tracing::error!(%error, "cannot read when the queue is next due");
            shared.metrics.store_error("read");
            STORE_BACKOFF
        }
    }
}
