//! The SQLite backend: the log in `messages.db` in the data directory.
//!
//! Raw SQL stops here. [`Sqlite`] is a cheap-to-clone handle (mini-redis's `Db` style) with the
//! connections inside: one writer behind the group-commit [`writer`], and a small pool of reader
//! connections, which WAL lets read while the writer writes. SQLite only ever runs on tokio's
//! blocking pool, so it never stalls an async worker.
//!
//! Durability: a final entry is on the disk, its WAL frames synced, when the call returns. A
//! `PROCESSING` entry is handed to the operating system (survives a crash of iflowd) and reaches
//! the disk with the next sync. The connection runs `synchronous = NORMAL` and [`writer`] syncs
//! the WAL itself, once per group of commits and outside SQLite's write lock, which is what
//! `FULL` would do per commit and inside the lock.
//!
//! A disk that refuses writes is handled in `pressure.rs`: writes fail with
//! [`StoreError::Unwritable`] while it does, the WAL is checkpointed to give its space back, and
//! the log becomes writable again by itself; a log that cannot be set up at start-up (a full
//! disk) is opened all the same and set up once it can be.
//!
//! The schema is created and upgraded by the migrations in `migrations/`, embedded in the binary
//! and applied at start-up in order, tracked by SQLite's `user_version`. An entry is a row of
//! `messages` with its events in `message_events`, its request in `requests` (written once,
//! with the entry's first write) and its answer in `responses` (written when it is final, an
//! insert beside the request rather than a rewrite of its row). `write.rs` holds the
//! statements that write entries, `query.rs` those that read them, `audit.rs` the audit log's,
//! `queue.rs` the delivery queue's, `setup.rs` opening the log (the connections' settings, the
//! migrations, the start-up abandonment), `size.rs` the log's size and the purge down to it,
//! `pressure.rs` a disk that refuses writes.

mod audit;
mod pressure;
mod query;
mod queue;
mod setup;
mod size;
#[cfg(test)]
pub(super) mod tests;
#[cfg(test)]
mod tests_pressure;
mod write;
mod writer;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use rusqlite::Connection;
use time::OffsetDateTime;
use tokio::sync::watch;

use super::audit::{AuditPage, AuditQuery, NewAuditRecord};
use super::query::{TallyCount, TallyQuery};
use super::{
    Abandoned, Attempt, AttemptEnd, Backend, Claimed, Completion, Depth, Entry, EntryKey,
    ErrorInfo, HeaderProperty, Health, Lease, ListQuery, NewEntry, NewOrDuplicate, Page, Payload,
    PayloadInfo, Purged, Requeued, Retention, Retried, Start, Status, StoreError,
};
use crate::clock::epoch_millis;
use pressure::{Condition, is_disk_error};
use setup::{SetupError, abandon_processing, open_reader, prepare};
use writer::{Durability, Writer, Written};

/// The database file inside the data directory.
pub const DATABASE_FILE: &str = "messages.db";

/// The schema, one step per entry, applied in order; `user_version` counts the steps done.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_message_log.sql"),
    include_str!("migrations/0002_bodies.sql"),
    include_str!("migrations/0003_message_events.sql"),
    include_str!("migrations/0004_audit_log_event_ids.sql"),
    include_str!("migrations/0005_queue.sql"),
    include_str!("migrations/0006_responses.sql"),
];

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> Self {
        if is_disk_error(&error) {
            Self::Unwritable(error.to_string())
        } else {
            Self::Database(error.to_string())
        }
    }
}

/// A handle on the SQLite message log. Clones share the connections. Use it on the tokio runtime
/// that opened it: the writer hands results out through a task there (see `writer`).
#[derive(Clone)]
pub struct Sqlite {
    shared: Arc<Shared>,
}

struct Shared {
    path: PathBuf,
    writer: Writer,
    readers: Mutex<Vec<Connection>>,
    condition: Condition,
}

impl Shared {
    /// Runs `f` on a pooled reader connection; a log that is not set up yet (see
    /// `pressure.rs`) has nothing to read.
    fn with_reader<T>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        if !self.condition.ready() {
            return Err(StoreError::Unwritable(
                "the message log is not set up yet".to_owned(),
            ));
        }
        let pooled = writer::lock(&self.readers).pop();
        let connection = match pooled {
            Some(connection) => connection,
            None => open_reader(&self.path)?,
        };
        let result = f(&connection).map_err(StoreError::from);
        writer::lock(&self.readers).push(connection);
        result
    }
}

impl Sqlite {
    async fn write(
        &self,
        op: writer::WriteOp,
        durability: Durability,
    ) -> Result<Written, StoreError> {
        writer::write(&self.shared, op, durability).await
    }

    /// Runs `f` on a blocking-pool thread with the shared connections.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Shared) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let shared = Arc::clone(&self.shared);
        tokio::task::spawn_blocking(move || f(&shared))
            .await
            .map_err(|_| StoreError::Gone)?
    }

    /// Runs a read on a pooled reader connection, off the async workers.
    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.blocking(move |shared| shared.with_reader(f)).await
    }
}

#[async_trait]
impl Backend for Sqlite {
    async fn begin(
        &self,
        entry: NewEntry,
        duplicate_since: Option<OffsetDateTime>,
    ) -> Result<NewOrDuplicate, StoreError> {
        let since = duplicate_since.map(epoch_millis);
        let written = self
            .write(
                Box::new(move |tx| {
                    if let (Some(since), Some(id)) = (since, &entry.application_message_id)
                        && let Some(original) =
                            write::find_completed(tx, &entry.integration_flow_name, id, since)?
                    {
                        return Ok(Written::Duplicate(original));
                    }
                    write::insert(tx, &entry, None).map(Written::Row)
                }),
                // Nothing has been answered yet; the entry's completion syncs it.
                Durability::Written,
            )
            .await?;
        Ok(match written {
            Written::Row(row) => NewOrDuplicate::New(EntryKey(row)),
            Written::Duplicate(original) => NewOrDuplicate::Duplicate(original),
        })
    }

    async fn insert(&self, entry: NewEntry) -> Result<(), StoreError> {
        self.write(
            Box::new(move |tx| write::insert(tx, &entry, None).map(Written::Row)),
            Durability::Synced,
        )
        .await
        .map(|_| ())
    }

    async fn finish(&self, completion: Completion) -> Result<(), StoreError> {
        self.write(
            Box::new(move |tx| {
                if write::finish(tx, &completion)? == 0 {
                    return Err(rusqlite::Error::QueryReturnedNoRows);
                }
                Ok(Written::Row(completion.key.0))
            }),
            Durability::Synced,
        )
        .await
        .map(|_| ())
    }

    async fn list(&self, query: ListQuery) -> Result<Page, StoreError> {
        self.read(move |db| query::list(db, &query))
            .await?
            .map_err(StoreError::TooComplex)
    }

    async fn tally(&self, query: TallyQuery) -> Result<Vec<TallyCount>, StoreError> {
        self.read(move |db| query::tally(db, &query))
            .await?
            .map_err(StoreError::TooComplex)
    }

    async fn get(&self, guid: &str) -> Result<Option<Entry>, StoreError> {
        let guid = guid.to_owned();
        self.read(move |db| query::get(db, &guid)).await
    }

    async fn error(&self, guid: &str) -> Result<Option<Option<ErrorInfo>>, StoreError> {
        let guid = guid.to_owned();
        self.read(move |db| query::error(db, &guid)).await
    }

    async fn payloads(&self, guid: &str) -> Result<Option<Vec<PayloadInfo>>, StoreError> {
        let guid = guid.to_owned();
        self.read(move |db| query::payloads(db, &guid)).await
    }

    async fn payload(&self, guid: &str, kind: &str) -> Result<Option<Payload>, StoreError> {
        let guid = guid.to_owned();
        let kind = kind.to_owned();
        self.read(move |db| query::payload(db, &guid, &kind)).await
    }

    async fn custom_headers(&self, guid: &str) -> Result<Option<Vec<HeaderProperty>>, StoreError> {
        let guid = guid.to_owned();
        self.read(move |db| query::custom_headers(db, &guid)).await
    }

    async fn audit(&self, record: NewAuditRecord) -> Result<(), StoreError> {
        self.write(
            Box::new(move |tx| audit::insert(tx, &record).map(Written::Row)),
            // Nothing waits on it but the record itself; the next synced write takes it along.
            Durability::Written,
        )
        .await
        .map(|_| ())
    }

    async fn audit_log(&self, query: AuditQuery) -> Result<AuditPage, StoreError> {
        self.read(move |db| audit::list(db, &query))
            .await?
            .map_err(StoreError::TooComplex)
    }

    /// Also the end of the start-up work: until this has succeeded once (after it failed for
    /// want of disk), writes wait for it, so that no entry of this run is marked `ABANDONED`.
    async fn abandon_processing(&self, now: OffsetDateTime) -> Result<Abandoned, StoreError> {
        let now = epoch_millis(now);
        self.blocking(move |shared| {
            let condition = &shared.condition;
            let result = shared.writer.with_connection(|db| {
                if !condition.ready() {
                    prepare(db).map_err(|e| match e {
                        SetupError::Disk(message) => StoreError::Unwritable(message),
                        SetupError::Failed(message) => StoreError::Database(message),
                    })?;
                    condition.set_ready();
                }
                abandon_processing(db, now).map_err(StoreError::from)
            });
            match &result {
                Ok(_) => {
                    condition.owe_abandonment(false);
                    condition.took_write();
                }
                Err(StoreError::Unwritable(reason)) => {
                    condition.owe_abandonment(true);
                    condition.refuse(reason);
                }
                Err(_) => {}
            }
            condition.wrote();
            result
        })
        .await
    }

    async fn purge(&self, now: OffsetDateTime, retention: Retention) -> Result<Purged, StoreError> {
        let entries_before = epoch_millis(now - retention.entries);
        let payloads_before = epoch_millis(now - retention.payloads);
        self.blocking(move |shared| {
            shared.condition.check_writes()?;
            let mut purged = shared
                .writer
                .with_connection(|db| write::purge(db, entries_before, payloads_before))?;
            if let Some(max) = retention.max_size {
                size::purge_to(shared, max, &mut purged)?;
            }
            Ok(purged)
        })
        .await
    }

    async fn size(&self) -> Result<u64, StoreError> {
        self.blocking(size::of).await
    }

    fn health(&self) -> Health {
        self.shared.condition.health()
    }

    fn writes(&self) -> watch::Receiver<u64> {
        self.shared.condition.writes()
    }

    async fn enqueue(
        &self,
        entry: NewEntry,
        duplicate_since: Option<OffsetDateTime>,
        start: Start,
    ) -> Result<NewOrDuplicate, StoreError> {
        let since = duplicate_since.map(epoch_millis);
        let written = self
            .write(
                Box::new(move |tx| queue::enqueue(tx, &entry, since, start)),
                // The sender is acknowledged on it.
                Durability::Synced,
            )
            .await?;
        Ok(match written {
            Written::Row(row) => NewOrDuplicate::New(EntryKey(row)),
            Written::Duplicate(original) => NewOrDuplicate::Duplicate(original),
        })
    }

    async fn claim(
        &self,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<Claimed>, StoreError> {
        let (now, until) = (epoch_millis(now), epoch_millis(lease_until));
        self.blocking(move |shared| {
            shared
                .writer
                .with_connection(|db| queue::claim(db, now, until, limit))
                .map_err(StoreError::from)
        })
        .await
    }

    async fn renew(&self, lease: Lease, until: OffsetDateTime) -> Result<bool, StoreError> {
        let until = epoch_millis(until);
        let written = self
            .write(
                Box::new(move |tx| {
                    queue::renew(tx, lease, until).map(|n| Written::Row(i64::from(n > 0)))
                }),
                Durability::Written,
            )
            .await?;
        Ok(matches!(written, Written::Row(1)))
    }

    async fn release(&self, lease: Lease, now: OffsetDateTime) -> Result<bool, StoreError> {
        let now = epoch_millis(now);
        let written = self
            .write(
                Box::new(move |tx| {
                    queue::release(tx, lease, now).map(|n| Written::Row(i64::from(n > 0)))
                }),
                Durability::Written,
            )
            .await?;
        Ok(matches!(written, Written::Row(1)))
    }

    async fn end_attempt(&self, lease: Lease, end: AttemptEnd) -> Result<bool, StoreError> {
        let written = self
            .write(
                Box::new(move |tx| {
                    queue::end_attempt(tx, lease, &end).map(|n| Written::Row(i64::from(n > 0)))
                }),
                // Lazily: a crash before the next sync runs the attempt again.
                Durability::Written,
            )
            .await?;
        Ok(matches!(written, Written::Row(1)))
    }

    async fn requeue(&self, now: OffsetDateTime) -> Result<Requeued, StoreError> {
        let now = epoch_millis(now);
        self.blocking(move |shared| {
            shared
                .writer
                .with_connection(|db| queue::requeue(db, now))
                .map_err(StoreError::from)
        })
        .await
    }

    async fn retry(&self, guid: &str, now: OffsetDateTime) -> Result<Retried, StoreError> {
        let owned = guid.to_owned();
        let facts = self.read(move |db| queue::retry_facts(db, &owned)).await?;
        let row = match facts {
            None => return Ok(Retried::NoMessage),
            Some((_, status, _)) if status != Status::Escalated => {
                return Ok(Retried::NotEscalated(status));
            }
            Some((_, _, false)) => return Ok(Retried::NoBody),
            Some((row, _, true)) => row,
        };
        let now = epoch_millis(now);
        let written = self
            .write(
                Box::new(move |tx| {
                    queue::retry(tx, row, now).map(|n| Written::Row(i64::from(n > 0)))
                }),
                Durability::Synced,
            )
            .await?;
        if matches!(written, Written::Row(1)) {
            return Ok(Retried::Queued);
        }
        // Changed meanwhile (retried or purged by someone else): say what it is now.
        let owned = guid.to_owned();
        Ok(
            match self.read(move |db| queue::retry_facts(db, &owned)).await? {
                None => Retried::NoMessage,
                Some((_, status, true)) => Retried::NotEscalated(status),
                Some((_, _, false)) => Retried::NoBody,
            },
        )
    }

    async fn attempts(&self, guid: &str) -> Result<Option<Vec<Attempt>>, StoreError> {
        let guid = guid.to_owned();
        self.read(move |db| queue::attempts(db, &guid)).await
    }

    async fn next_due(&self) -> Result<Option<OffsetDateTime>, StoreError> {
        Ok(self
            .read(queue::next_due)
            .await?
            .map(crate::clock::from_epoch_millis))
    }

    async fn depth(&self) -> Result<Depth, StoreError> {
        self.read(queue::depth).await
    }
}
