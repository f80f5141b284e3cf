//! Opening the log at start-up: its store, what the previous run left unfinished, and the
//! retention purge.

use std::path::Path;

use tokio::sync::watch;

use super::MessageLog;
use crate::config::StoreConfig;
use crate::metrics::Metrics;
use crate::store::{self, Retention, Store, StoreError, spawn_purge};

impl MessageLog {
    /// The log `settings` ask for: with `[store] enabled`, its store opened (and migrated) in
    /// `data_dir`, the entries a previous run left `PROCESSING` marked `ABANDONED` (logged, and
    /// counted into `metrics`), and the retention purge started; the receiver counts finished
    /// purges. Without a store, only metrics are counted.
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
        let store = store::open(data_dir).await?;
        let abandoned = store.abandon_processing(crate::clock::now()).await?;
        for (endpoint, count) in &abandoned {
            tracing::warn!(
                endpoint,
                count,
                "messages left PROCESSING by the previous run are now ABANDONED"
            );
            metrics.abandoned(endpoint, *count);
        }
        let purges = start_purge(&store, settings, metrics.clone());
        let log = Self::new(
            Some(store),
            settings.payloads,
            duplicate_window,
            duplicate_wait,
            metrics,
        );
        Ok((log, Some(purges)))
    }
}

/// Starts the hourly retention purge; its results are logged and its failures counted.
fn start_purge(store: &Store, settings: &StoreConfig, metrics: Metrics) -> watch::Receiver<u64> {
    let retention = Retention {
        entries: time::Duration::days(settings.retention_days.into()),
        payloads: time::Duration::days(settings.payload_retention_days.into()),
    };
    spawn_purge(store, retention, move |result| match result {
        Ok(purged) if purged.entries + purged.payloads > 0 => tracing::info!(
            entries = purged.entries,
            payloads = purged.payloads,
            "retention purge"
        ),
        Ok(_) => {}
        Err(error) => {
            tracing::error!(%error, "retention purge failed");
            metrics.store_error("purge");
        }
    })
}
