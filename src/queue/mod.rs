//! The delivery queue: CPI's JMS pattern on the message log's store.
//!
//! An endpoint with `delivery = "async"` answers a call once its entry is durable as queued
//! (`http::queued`, through [`crate::message_log::MessageLog::enqueue`]); the handler chain runs
//! afterwards, here, on at most `[queue] workers` attempts at once. A failed attempt is retried
//! after the endpoint's `[endpoints.retry]` interval (doubling, capped), until `max_attempts`
//! failed ones make it `ESCALATED`: the dead letter, kept, never retried by itself, but by hand
//! (`Retry`) or as a new message (`Replay`, see `replay.rs`).
//!
//! ```text
//!  call ─► enqueue (synced) ─► answered
//!             │  a place in memory? yes: leased at once, attempt 1 waits for a worker with the
//!             │                          message already parsed
//!             │                     no:  due now, for the scheduler (the request read again)
//!             ▼
//!  scheduler: claim due messages (and those whose lease ran out) for free workers ─► attempt
//!             otherwise sleep until the earliest due time in the store, or a wake-up
//!  attempt:   chain (its lease renewed every third of lease_ms) ─► COMPLETED
//!                                                                ─► RETRY at now + wait
//!                                                                ─► ESCALATED (last attempt)
//! ```
//!
//! Everything the queue knows is in the store: the next attempt's time, the lease, the attempts.
//! Timers survive a restart because there are none in memory that matter: the scheduler asks the
//! store for the earliest due time (`Backend::next_due`) and sleeps until then on tokio's clock
//! (so the tests' paused clock drives it). At start-up every message a previous run left running
//! is queued again (`MessageLog::open`): at least once, also after `kill -9`. The end of an
//! attempt is written lazily (not synced): a crash before the next sync runs it again.
//!
//! Shutdown stops the scheduler, lets running attempts finish within `shutdown_timeout_ms`, and
//! aborts the rest, whose messages stay leased in the store and are queued again at the next
//! start.

mod attempt;
pub mod policy;
mod replay;
mod scheduler;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::{JoinHandle, JoinSet};

pub use replay::{ReplayError, RetryError};

use crate::clock;
use crate::config::{QueueConfig, StoreConfig};
use crate::endpoint::Endpoint;
use crate::event::EventTypes;
use crate::message::Message;
use crate::metrics::Metrics;
use crate::store::{EntryKey, Lease, Start, Store};

/// A handle on the running queue. Clones share it.
#[derive(Clone)]
pub struct Queue {
    shared: Arc<Shared>,
}

struct Shared {
    store: Store,
    /// The configured endpoints by name: a claimed message runs through its endpoint's chain.
    endpoints: HashMap<String, Arc<Endpoint>>,
    event_types: EventTypes,
    metrics: Metrics,
    /// `[store] payloads`: without it, a completed message's request is deleted.
    keep_bodies: bool,
    /// `[store] payload_retention_days`, to say why a body is missing.
    payload_retention: time::Duration,
    lease: Duration,
    /// One permit per attempt that may run at once.
    workers: Arc<Semaphore>,
    /// `[queue] workers`: how many permits there are.
    worker_count: usize,
    /// Attempts running their chain now (not the permits the scheduler holds while it claims).
    running: AtomicUsize,
    /// `[store] max_size_mb` in bytes: the most the log (and so the queue) may take on disk.
    max_size: Option<u64>,
    /// Places for messages handed over in memory (leased, parsed, waiting for a worker).
    places: Arc<Semaphore>,
    /// Something may have become due sooner than the scheduler sleeps.
    wake: Notify,
    /// True once shutdown began.
    stop: watch::Sender<bool>,
    /// True once the previous run's leftovers are queued again: nothing is taken before.
    started: watch::Receiver<bool>,
    /// Counts attempts that ended (their end recorded, or not), so a caller can wait for one.
    ended: watch::Sender<u64>,
    /// The running attempts, so shutdown can wait for them (and abort the rest).
    tasks: Mutex<JoinSet<()>>,
    scheduler: Mutex<Option<JoinHandle<()>>>,
}

/// What [`Queue::capacity`] tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capacity {
    /// `[queue] workers`.
    pub workers: usize,
    /// Workers running an attempt now.
    pub busy: usize,
    /// The most bytes the log, where queued messages are kept, may take (`[store] max_size_mb`).
    pub max_bytes: Option<u64>,
}

/// A place in the in-memory hand-off, taken before a message is enqueued: its first attempt
/// then waits for a worker with the message already parsed, instead of the scheduler claiming it
/// from the store and parsing its request again.
pub struct Place(OwnedSemaphorePermit);

/// How many messages may wait in memory for a worker beyond the workers themselves. Past it,
/// messages wait in the store only, for the scheduler.
const HANDOFF: usize = 1024;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Plain values behind the locks, complete after every operation.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Queue {
    /// Starts the queue's scheduler on the current runtime; it takes messages once `started`
    /// says the previous run's leftovers are queued again.
    pub fn start(
        store: Store,
        endpoints: impl IntoIterator<Item = Arc<Endpoint>>,
        event_types: EventTypes,
        metrics: Metrics,
        settings: &QueueConfig,
        store_settings: &StoreConfig,
        started: watch::Receiver<bool>,
    ) -> Self {
        let shared = Arc::new(Shared {
            store,
            endpoints: endpoints
                .into_iter()
                .map(|e| (e.name.to_string(), e))
                .collect(),
            event_types,
            metrics,
            keep_bodies: store_settings.payloads,
            payload_retention: time::Duration::days(store_settings.payload_retention_days.into()),
            lease: Duration::from_millis(settings.lease_ms),
            workers: Arc::new(Semaphore::new(settings.workers)),
            worker_count: settings.workers,
            running: AtomicUsize::new(0),
            max_size: store_settings
                .max_size_mb
                .map(|mb| u64::from(mb) * 1024 * 1024),
            places: Arc::new(Semaphore::new(settings.workers + HANDOFF)),
            wake: Notify::new(),
            stop: watch::channel(false).0,
            started,
            ended: watch::channel(0).0,
            tasks: Mutex::new(JoinSet::new()),
            scheduler: Mutex::new(None),
        });
        let scheduler = tokio::spawn(scheduler::run(Arc::clone(&shared)));
        *lock(&shared.scheduler) = Some(scheduler);
        Self { shared }
    }

    /// How much the queue may hold and how busy its workers are now (`JmsBrokers('Broker1')`).
    pub fn capacity(&self) -> Capacity {
        let shared = &self.shared;
        Capacity {
            workers: shared.worker_count,
            busy: shared.running.load(Ordering::Relaxed),
            max_bytes: shared.max_size,
        }
    }

    /// A place in the in-memory hand-off, if there is one (and the queue is running: started,
    /// and not stopping).
    pub fn place(&self) -> Option<Place> {
        if *self.shared.stop.borrow() || !*self.shared.started.borrow() {
            return None;
        }
        Arc::clone(&self.shared.places)
            .try_acquire_owned()
            .ok()
            .map(Place)
    }

    /// The end of a lease taken now.
    pub fn lease_until(&self) -> OffsetDateTime {
        clock::now() + self.shared.lease
    }

    /// How a message enqueued now starts: leased for its first attempt when it has a `place` in
    /// the in-memory hand-off, else queued, due now, for the scheduler.
    pub fn start_for(&self, place: Option<&Place>) -> Start {
        match place {
            Some(_) => Start::Leased {
                until: self.lease_until(),
            },
            None => Start::Queued { due: clock::now() },
        }
    }

    /// Runs attempt 1 of a message enqueued leased (`key`) with its `place`, as soon as a
    /// worker is free.
    pub fn run_first(
        &self,
        place: Place,
        key: EntryKey,
        message: Message,
        endpoint: Arc<Endpoint>,
    ) {
        let lease = Lease { key, attempt: 1 };
        let shared = Arc::clone(&self.shared);
        spawn(&self.shared, async move {
            attempt::handed(&shared, lease, &endpoint, message, place.0).await;
        });
    }

    /// Counts the attempts that ended since start-up, so a caller (a test) can wait for one.
    pub fn ended(&self) -> watch::Receiver<u64> {
        self.shared.ended.subscribe()
    }

    /// Tells the scheduler that a message is due (one enqueued without a worker, one retried).
    pub fn wake(&self) {
        self.shared.wake.notify_one();
    }

    /// Reads the queue's depth from the store into `iflowd_queue_depth`.
    pub async fn refresh_depth(&self) {
        match self.shared.store.depth().await {
            Ok(depth) => self.shared.metrics.set_queue_depth(&depth),
            Err(error) => {
                tracing::error!(%error, "cannot read the queue's depth");
                self.shared.metrics.store_error("read");
            }
        }
    }

    /// Stops the scheduler, waits up to `timeout` for the running attempts, and aborts the rest
    /// (their messages are queued again at the next start).
    pub async fn shut_down(&self, timeout: Duration) {
        self.shared.stop.send_replace(true);
        let scheduler = lock(&self.shared.scheduler).take();
        if let Some(scheduler) = scheduler {
            let _ = scheduler.await;
        }
        let mut tasks = std::mem::take(&mut *lock(&self.shared.tasks));
        let finished = tokio::time::timeout(timeout, async {
            while tasks.join_next().await.is_some() {}
        })
        .await;
        if finished.is_err() {
            tracing::warn!(
                running = tasks.len(),
                "attempts still running at shutdown were stopped; their messages run again at the next start"
            );
            tasks.shutdown().await;
        }
    }
}

/// Runs `attempt` as a task the queue keeps track of.
fn spawn(shared: &Shared, attempt: impl Future<Output = ()> + Send + 'static) {
    let mut tasks = lock(&shared.tasks);
    while tasks.try_join_next().is_some() {}
    tasks.spawn(attempt);
}
