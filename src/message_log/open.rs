//! Opening the log at start-up: its store, what the previous run left unfinished, and the
//! retention purge.

use std::path::Path;

use tokio::sync::watch;

use super::MessageLog;
use crate::config::StoreConfig;
use crate::metrics::Metrics;
use crate::store::{self, Retention, Store, StoreError, spawn_purge};

impl MessageLog {
    /// The log `settings` ask for: with `[store] enabled`, its store opened (and migrated):
    /// PostgreSQL at `[store] url`, else SQLite in `data_dir`, the synchronous entries a previous run left `PROCESSING` marked `ABANDONED`
    /// (logged, and counted into `metrics`), the queued messages it left running queued again
    /// (their attempts counted as interrupted; [`MessageLog::started`] says when that is done,
    /// later when the disk is full), and the retention purge started; the receiver counts
    /// finished purges. Without a store, only metrics are counted.
    pub async fn open(
        settings: &StoreConfig,
        data_dir: &Path,
        metrics: Metrics,
    ) -> Result<(Self, Option<watch::Receiver<u64>>), StoreError> {
        let duplicate_window = time::Duration::days(settings.duplicate_window_days.into());
        let duplicate_wait = std::time::Duration::from_millis(settings.duplicate_wait_ms);
        if !settings.enabled {
            let log = Self::new(
                None,
                settings.payloads,
                duplicate_window,
                duplicate_wait,
                metrics,
            );
            return Ok((log, None));
        }
        let store = store::open(settings, data_dir).await?;
        let (ready, started) = watch::channel(false);
        let mut work = StartUp::default();
        match work.run(&store, &metrics).await {
            Ok(()) => {
                ready.send_replace(true);
            }
            // A full disk: iflowd starts, its calls are answered with a fault until the log can
            // be written, and the start-up work is done then, before any call gets an entry (and
            // before the queue takes a message).
            Err(StoreError::Unwritable(reason)) => {
                tracing::error!(
                    %reason,
                    "the message log cannot be written: iflowd starts, and answers calls with a fault until it can"
                );
                retry_start_up(work, &store, metrics.clone(), ready);
            }
            Err(error) => return Err(error),
        }
        let purges = start_purge(&store, settings, metrics.clone());
        let mut log = Self::new(
            Some(store),
            settings.payloads,
            duplicate_window,
            duplicate_wait,
            metrics,
        );
        log.started = started;
        Ok((log, Some(purges)))
    }
}

/// What a previous run left unfinished, and what of it is done: synchronous entries left
/// `PROCESSING` become `ABANDONED`, queued messages left running are queued again.
#[derive(Default)]
struct StartUp {
    abandoned: bool,
}

impl StartUp {
    async fn run(&mut self, store: &Store, metrics: &Metrics) -> Result<(), StoreError> {
        if !self.abandoned {
            let abandoned = store.abandon_processing(crate::clock::now()).await?;
            count_abandoned(&abandoned, metrics);
            self.abandoned = true;
        }
        let requeued = store.requeue(crate::clock::now()).await?;
        for (endpoint, count) in &requeued {
            tracing::warn!(
                endpoint,
                count,
                "queued messages whose attempt the previous run did not finish are queued again"
            );
            metrics.attempt(endpoint, "interrupted", *count);
        }
        Ok(())
    }
}

/// Logs and counts the entries a previous run left `PROCESSING`, now `ABANDONED`.
fn count_abandoned(abandoned: &store::Abandoned, metrics: &Metrics) {
    for (endpoint, count) in abandoned {
        tracing::warn!(
            endpoint,
            count,
            "messages left PROCESSING by the previous run are now ABANDONED"
        );
        metrics.abandoned(endpoint, *count);
    }
}

/// Tries the start-up work again every [`store::RETRY_INTERVAL`] until the log takes it (the
/// store takes no call's entry before, and the queue waits for `ready`), or the store is dropped.
fn retry_start_up(mut work: StartUp, store: &Store, metrics: Metrics, ready: watch::Sender<bool>) {
    let store = std::sync::Arc::downgrade(store);
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(store::RETRY_INTERVAL).await;
            let Some(store) = store.upgrade() else { return };
            match work.run(&store, &metrics).await {
                Ok(()) => {
                    ready.send_replace(true);
                    return;
                }
                Err(StoreError::Unwritable(_)) => {}
                Err(error) => {
                    tracing::error!(%error, "the start-up work failed; trying again");
                    metrics.store_error("abandon");
                }
            }
        }
    });
}

/// Starts the retention purge (hourly, and as soon as the log is over `max_size_mb`); its
/// results are logged and its failures counted.
fn start_purge(store: &Store, settings: &StoreConfig, metrics: Metrics) -> watch::Receiver<u64> {
    let retention = Retention {
        entries: time::Duration::days(settings.retention_days.into()),
        payloads: time::Duration::days(settings.payload_retention_days.into()),
        max_size: settings.max_size_mb.map(|mb| u64::from(mb) * 1024 * 1024),
    };
    spawn_purge(store, retention, move |result| match result {
        Ok(purged) if purged.entries_over_size + purged.payloads_over_size > 0 => {
            tracing::warn!(
                entries = purged.entries + purged.entries_over_size,
                payloads = purged.payloads + purged.payloads_over_size,
                entries_over_size = purged.entries_over_size,
                payloads_over_size = purged.payloads_over_size,
                "retention purge: the message log was over max_size_mb, its oldest bodies and entries are deleted"
            )
        }
        Ok(purged) if purged.any() => tracing::info!(
            entries = purged.entries,
            payloads = purged.payloads,
            "retention purge"
        ),
        Ok(_) => {}
        Err(StoreError::Unwritable(reason)) => {
            tracing::warn!(%reason, "retention purge skipped: the message log cannot be written now");
            metrics.store_error("purge");
        }
        Err(error) => {
            tracing::error!(%error, "retention purge failed");
            metrics.store_error("purge");
        }
    })
}
