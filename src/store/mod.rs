//! The message processing log's storage: what any backend offers, and the two that exist.
//!
//! [`Backend`] is the one interface the rest of iflowd uses: the message log's writes
//! ([`Backend::begin`], [`Backend::insert`], [`Backend::finish`]), the reads of the monitoring
//! API and `iflowd messages` ([`Backend::list`] of a [`query`], the store's own query language,
//! and the lookups by `MessageGuid`), the audit log beside it ([`Backend::audit`],
//! [`Backend::audit_log`] of an [`audit::AuditQuery`]), the delivery queue's operations
//! (`queue.rs`: [`Backend::enqueue`], [`Backend::claim`] with a [`Lease`], [`Backend::renew`],
//! [`Backend::release`], [`Backend::end_attempt`], [`Backend::requeue`], [`Backend::retry`]),
//! the upkeep ([`Backend::abandon_processing`] at start-up, [`Backend::purge`],
//! [`Backend::size`]), and whether the log takes writes now ([`Backend::health`]). A [`Store`] is
//! a shared handle on one. Two implement it: [`sqlite`] (the default, a file in `data_dir`, one
//! instance) and [`postgres`] (`[store] url`, one database shared by several instances, whose
//! queued messages are shared work); everything about SQL stays inside its backend's module.
//!
//! Every backend keeps the same promises, which the HTTP layer's "committed before answered"
//! rests on: a final entry ([`Backend::insert`], [`Backend::finish`]) is durable when the call
//! returns; a `PROCESSING` entry ([`Backend::begin`]) survives a crash of iflowd when it
//! returns and is durable with the next final write at the latest; the duplicate lookup and
//! the insert of [`Backend::begin`] see the same log; and a write that fails fails alone. A
//! queued message ([`Backend::enqueue`]) is durable when the call returns (the sender is
//! acknowledged on it); the end of its attempts may be written lazily.
//!
//! A disk that refuses writes (full, or failing) is a state the log is in, not the end of it:
//! each write that cannot be made fails with [`StoreError::Unwritable`] (the sender is told so
//! and retries), the next write is tried again, and the first that succeeds ends the state, with
//! no restart; [`Backend::health`] says which state the log is in, for `/health`. A log that
//! cannot be written when iflowd starts is opened all the same, and its start-up work is done
//! once it can be.
//! A backend shared by several instances also finds copies running on the others
//! ([`NewOrDuplicate::Running`]) and abandons only the entries of instances that are gone.

pub mod audit;
mod entry;
mod postgres;
mod purge;
pub mod query;
mod queue;
mod sqlite;
#[cfg(test)]
mod tests;

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use time::OffsetDateTime;
use tokio::sync::watch;

use crate::config::StoreConfig;
pub use audit::{AuditAction, AuditPage, AuditQuery, AuditRecord, NewAuditRecord};

pub use entry::{
    Completion, Entry, EntryKey, ErrorInfo, EventFacts, HeaderProperty, MAX_HEADER_EVENTS,
    MAX_HEADER_VALUE_CHARS, NewEntry, NewOrDuplicate, Original, Payload, PayloadInfo, Status,
};
pub use postgres::{DEFAULT_POOL_SIZE, check_url};
pub use purge::{Purged, Retention, SIZE_CHECK_INTERVAL, spawn_purge};
pub use query::{ListQuery, Page};
pub use queue::{
    Attempt, AttemptEnd, AttemptStatus, Claimed, Depth, Lease, Next, QueueState, Requeued, Retried,
    Start,
};
pub use sqlite::DATABASE_FILE;

/// Entries a previous run left in `PROCESSING`, now `ABANDONED`, counted by endpoint.
pub type Abandoned = std::collections::BTreeMap<String, u64>;

/// How often a log that cannot be written tries again by itself (its start-up work, a probe
/// write), so that it becomes writable without waiting for a call.
pub const RETRY_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// A shared handle on the message log's storage. Clones share the backend.
pub type Store = Arc<dyn Backend>;

/// What a message log backend offers: the message log's writes, the reads of the monitoring
/// API, and the upkeep. See the module documentation for the promises each keeps.
#[async_trait]
pub trait Backend: Send + Sync {
    /// Starts an entry: unless a `COMPLETED` entry of the same externalEventId on the same
    /// endpoint started at or after `duplicate_since` exists (then nothing is written and it is
    /// returned), writes `entry` (`PROCESSING`) and its request body, in one write. When this
    /// returns the entry survives a crash of iflowd, and it is durable once the [`Completion`]
    /// of the same entry is.
    async fn begin(
        &self,
        entry: NewEntry,
        duplicate_since: Option<OffsetDateTime>,
    ) -> Result<NewOrDuplicate, StoreError>;

    /// Writes a final entry (and its bodies, when given); durable when this returns.
    async fn insert(&self, entry: NewEntry) -> Result<(), StoreError>;

    /// Ends a `PROCESSING` entry, the answer joining its bodies; durable when this returns.
    async fn finish(&self, completion: Completion) -> Result<(), StoreError>;

    /// A page of entries matching `query`, with the meaning [`query`] documents;
    /// [`StoreError::TooComplex`] when the query is beyond the backend's limits.
    async fn list(&self, query: ListQuery) -> Result<Page, StoreError>;

    /// The entries `query` selects, counted by bucket of `LogStart` and status (the monitor's
    /// counts and chart); [`StoreError::TooComplex`] when the query is beyond the backend's
    /// limits.
    async fn tally(&self, query: query::TallyQuery) -> Result<Vec<query::TallyCount>, StoreError>;

    /// One entry by `MessageGuid` (as a caller wrote it: text that is no message id finds
    /// nothing).
    async fn get(&self, guid: &str) -> Result<Option<Entry>, StoreError>;

    /// The error of an entry: `None` when there is no such entry, `Some(None)` when it has none.
    async fn error(&self, guid: &str) -> Result<Option<Option<ErrorInfo>>, StoreError>;

    /// The stored bodies of an entry, described: `None` when there is no such entry.
    async fn payloads(&self, guid: &str) -> Result<Option<Vec<PayloadInfo>>, StoreError>;

    /// One stored body (`kind` is `request` or `response`).
    async fn payload(&self, guid: &str, kind: &str) -> Result<Option<Payload>, StoreError>;

    /// The custom header properties of an entry ([`HeaderProperty`]: its events' facts), in
    /// order: `None` when there is no such entry.
    async fn custom_headers(&self, guid: &str) -> Result<Option<Vec<HeaderProperty>>, StoreError>;

    /// Writes an audit record ([`audit`]); it survives a crash of iflowd when this returns, and
    /// is durable with the next synced write.
    async fn audit(&self, record: NewAuditRecord) -> Result<(), StoreError>;

    /// A page of audit records matching `query`; [`StoreError::TooComplex`] when the query is
    /// beyond the backend's limits.
    async fn audit_log(&self, query: AuditQuery) -> Result<AuditPage, StoreError>;

    /// Marks the entries a previous run left `PROCESSING` as `ABANDONED` (ended `now`), and
    /// counts them by endpoint. Run once at start-up, before any call is admitted.
    async fn abandon_processing(&self, now: OffsetDateTime) -> Result<Abandoned, StoreError>;

    /// Deletes entries (with their bodies) and audit records older than `retention.entries` and
    /// bodies older than `retention.payloads`, as of `now`; then, while the log is larger than
    /// `retention.max_size` (as [`Backend::size`] counts), the oldest bodies and after them the
    /// oldest entries, down to nine tenths of it. Entries still `PROCESSING` or `RETRY` (and the
    /// bodies of queued messages) are never deleted.
    async fn purge(&self, now: OffsetDateTime, retention: Retention) -> Result<Purged, StoreError>;

    /// The bytes the log takes, as `[store] max_size_mb` counts them (see the backend).
    async fn size(&self) -> Result<u64, StoreError>;

    /// Whether the log takes writes now.
    fn health(&self) -> Health;

    /// Counts the write batches the log has committed or refused since it was opened: a task
    /// that acts on new writes (the size-based purge) waits for it to change.
    fn writes(&self) -> watch::Receiver<u64>;

    // The delivery queue (see `queue.rs`). A queued message's entry says `PROCESSING`, `RETRY`,
    // `COMPLETED` or `ESCALATED`; sync entries are never queued.

    /// Enqueues a message: like [`Backend::begin`] (the same duplicate lookup, which also finds
    /// a message still queued), writes `entry` (`PROCESSING`, with its bodies) queued as `start`
    /// says. **Durable when this returns**: the sender is acknowledged on it.
    async fn enqueue(
        &self,
        entry: NewEntry,
        duplicate_since: Option<OffsetDateTime>,
        start: Start,
    ) -> Result<NewOrDuplicate, StoreError>;

    /// Claims up to `limit` messages whose next attempt is due at `now`, or whose lease ran out
    /// (its open attempt then counts as interrupted), oldest due first: each gets a new attempt
    /// (started `now`) and a lease until `lease_until`. A message is claimed by one caller only,
    /// also among instances sharing the backend.
    async fn claim(
        &self,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<Claimed>, StoreError>;

    /// Extends `lease` to `until`; false when it is no longer held (the message was claimed
    /// again).
    async fn renew(&self, lease: Lease, until: OffsetDateTime) -> Result<bool, StoreError>;

    /// Gives back a message claimed under `lease` whose attempt never started (the queue is
    /// stopping): it is due again `now`, as if it had not been claimed. False when the lease is
    /// no longer held.
    async fn release(&self, lease: Lease, now: OffsetDateTime) -> Result<bool, StoreError>;

    /// Records the end of the attempt `lease` holds and what becomes of its message: complete it,
    /// schedule its retry, or escalate it ([`Next`]). False (and nothing written) when the lease
    /// is no longer held. Need not be durable when it returns (a crash before the next sync runs
    /// the attempt again: at least once).
    async fn end_attempt(&self, lease: Lease, end: AttemptEnd) -> Result<bool, StoreError>;

    /// At start-up: every message left running by the previous run (SQLite), or by instances
    /// that are gone (PostgreSQL: never a live instance's), is due again `now`, its open attempt
    /// interrupted. Counted by endpoint.
    async fn requeue(&self, now: OffsetDateTime) -> Result<Requeued, StoreError>;

    /// Queues an `ESCALATED` message again, due `now`, its failures reset and its attempt
    /// numbers going on. Durable when this returns.
    async fn retry(&self, guid: &str, now: OffsetDateTime) -> Result<Retried, StoreError>;

    /// The attempts of a message, first first: `None` when there is no such message (a sync
    /// message has none).
    async fn attempts(&self, guid: &str) -> Result<Option<Vec<Attempt>>, StoreError>;

    /// When the queue next needs a worker: the earliest due time of a waiting message or end of
    /// a running one's lease; `None` when nothing is queued.
    async fn next_due(&self) -> Result<Option<OffsetDateTime>, StoreError>;

    /// Queued messages by endpoint and state (for `/metrics`).
    async fn depth(&self) -> Result<Depth, StoreError>;
}

/// Whether the log takes writes, as `/health` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    Writable,
    /// Its disk refused the last write (or the log could not be opened for writing at
    /// start-up): `reason` says why, `since` since when. Writes are still tried, and the first
    /// that succeeds makes the log writable again.
    Unwritable {
        reason: String,
        since: OffsetDateTime,
    },
}

/// A storage failure. Clone, because one failed commit is the answer of every write in its batch.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the message log {path}: {message}")]
    Open {
        path: std::path::PathBuf,
        message: String,
    },
    #[error("message log: {0}")]
    Database(String),
    /// The database refused a query as beyond its limits (too deep, too many terms): the
    /// query's fault, not the log's (see [`query`]).
    #[error("the message log cannot run this query: {0}")]
    TooComplex(String),
    /// The log's disk refuses writes (it is full, or failing): nothing was written. A later
    /// write may succeed; [`Backend::health`] says whether the log is writable now.
    #[error("the message log cannot be written now: {0}")]
    Unwritable(String),
    #[error("the message log's worker thread stopped unexpectedly")]
    Gone,
}

/// Opens the log `settings` name: PostgreSQL at `[store] url` (connecting, bringing the schema
/// up to date and registering this instance), else SQLite in `data_dir` (creating the directory
/// and database if needed). Use the store on the tokio runtime that opened it.
pub async fn open(settings: &StoreConfig, data_dir: &Path) -> Result<Store, StoreError> {
    Ok(match postgres_settings(settings) {
        Some(postgres) => Arc::new(postgres::Postgres::open(&postgres).await?),
        None => Arc::new(sqlite::Sqlite::open(data_dir).await?),
    })
}

/// Opens an existing log for reading only (the `iflowd messages` command): nothing is created,
/// migrated or changed.
pub async fn open_existing(settings: &StoreConfig, data_dir: &Path) -> Result<Store, StoreError> {
    Ok(match postgres_settings(settings) {
        Some(postgres) => Arc::new(postgres::Postgres::open_existing(&postgres).await?),
        None => Arc::new(sqlite::Sqlite::open_existing(data_dir).await?),
    })
}

/// Where the log `settings` name is, for people (the start-up banner): the SQLite file, or the
/// PostgreSQL database without its password.
pub fn describe(settings: &StoreConfig, data_dir: &Path) -> String {
    match &settings.url {
        Some(url) => postgres::describe(url.expose()),
        None => data_dir.join(DATABASE_FILE).display().to_string(),
    }
}

fn postgres_settings(settings: &StoreConfig) -> Option<postgres::Settings<'_>> {
    settings.url.as_ref().map(|url| postgres::Settings {
        url: url.expose(),
        pool_size: settings.pool_size,
        ca: settings.ca.as_deref(),
    })
}
