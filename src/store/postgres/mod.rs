//! The PostgreSQL backend: the log in a database several iflowd instances share
//! (`[store] url = "postgres://..."`).
//!
//! Raw SQL for PostgreSQL stops here. [`Postgres`] holds a pool of connections (deadpool) and,
//! for an instance that writes, the connection its instance lock lives on (`setup.rs`). The
//! promises are the SQLite backend's, kept by the database:
//!
//! * Durability: every connection runs `synchronous_commit = on`, so a final entry's commit is
//!   on the server's disk (its WAL flushed) when the call returns. A `PROCESSING` entry is
//!   committed with `synchronous_commit = off` (visible to every instance at once, and on the
//!   disk with the next flushed commit, its completion's at the latest): the same promise as
//!   SQLite's `Durability::Written`.
//! * One log for every instance: [`Backend::begin`] inserts the `PROCESSING` entry under a
//!   partial unique index on (endpoint, externalEventId) of running entries, so a copy on another
//!   instance finds the first one running ([`NewOrDuplicate::Running`]) instead of running too,
//!   and looks for a completed original after its insert, so a copy that raced the original's
//!   completion is still answered as a duplicate.
//! * `ABANDONED` only for entries of instances that are gone (`setup.rs`).
//!
//! The schema comes from the migrations in `migrations/`, embedded in the binary and applied at
//! start-up in one transaction under an advisory lock (`iflowd_migrations` counts them).
//! `write.rs` holds the statements that write entries, `query.rs` those that read them,
//! `connect.rs` the url, TLS and the pool.

mod audit;
mod connect;
mod health;
mod lock;
mod query;
mod queue;
mod queue_read;
mod setup;
#[cfg(test)]
pub(super) mod test_cluster;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_queue;
mod write;

use std::path::Path;

#[cfg(test)]
pub(in crate::store) use setup::LOCK_CLASS;

use async_trait::async_trait;
use deadpool_postgres::{GenericClient, Pool};
use time::OffsetDateTime;
use tokio::sync::watch;

use super::audit::{AuditPage, AuditQuery, NewAuditRecord};
use super::query::{TallyCount, TallyQuery};
use super::{
    Abandoned, Attempt, AttemptEnd, Backend, Claimed, Completion, Depth, Entry, EntryKey,
    ErrorInfo, HeaderProperty, Health, Lease, ListQuery, NewEntry, NewOrDuplicate, Page, Payload,
    PayloadInfo, Purged, Requeued, Retention, Retried, Start, StoreError,
};
use crate::clock::epoch_millis;
use crate::message::MessageId;

/// The schema, one step per entry, applied in order.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_message_log.sql"),
    include_str!("migrations/0002_queue.sql"),
    include_str!("migrations/0003_responses.sql"),
];

/// Connections per instance when `[store] pool_size` does not say.
pub const DEFAULT_POOL_SIZE: usize = 16;

/// How many times `begin` looks again when the running copy it found finished meanwhile.
const BEGIN_ATTEMPTS: usize = 4;

/// Checks a `[store] url` without connecting: an error says what is wrong without repeating it.
pub fn check_url(url: &str) -> Result<(), String> {
    connect::parse(url).map(|_| ())
}

/// The database a url names, for people: `PostgreSQL user@host:port/database`, without the
/// password or the url's other settings.
pub fn describe(url: &str) -> String {
    let Ok(config) = connect::parse(url) else {
        return "PostgreSQL (an invalid url)".to_owned();
    };
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(host)) => host.clone(),
        Some(tokio_postgres::config::Host::Unix(path)) => path.display().to_string(),
        None => "localhost".to_owned(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!(
        "PostgreSQL {}@{host}:{port}/{}",
        config.get_user().unwrap_or("?"),
        config.get_dbname().unwrap_or("?")
    )
}

/// What opening the PostgreSQL log needs.
pub struct Settings<'a> {
    pub url: &'a str,
    pub pool_size: usize,
    /// Certificates to trust for `sslmode=require` instead of the system's.
    pub ca: Option<&'a Path>,
}

/// A handle on the PostgreSQL message log.
pub struct Postgres {
    pool: Pool,
    /// This instance's id and the connection holding its lock; `None` for a read-only handle.
    instance: Option<Instance>,
    /// Whether writes go through, and how many were tried (`health.rs`).
    state: health::State,
}

struct Instance {
    id: i64,
    /// Keeps the instance lock while the store lives (`lock.rs`).
    _lock: lock::Holder,
}

/// A database error as the store's: a full disk on the server, or a connection that closed, is
/// [`StoreError::Unwritable`] (the log recovers from it without a restart); the rest is
/// [`StoreError::Database`].
fn db(error: tokio_postgres::Error) -> StoreError {
    if let Some(e) = error.as_db_error() {
        let text = format!("{}: {}", e.code().code(), e.message());
        return match *e.code() {
            tokio_postgres::error::SqlState::DISK_FULL => StoreError::Unwritable(text),
            _ => StoreError::Database(text),
        };
    }
    if error.is_closed() {
        return StoreError::Unwritable(format!("the connection to PostgreSQL closed: {error}"));
    }
    StoreError::Database(error.to_string())
}

/// The [`MessageId`] of a stored text; an error naming the text when it is not one.
fn message_id(text: String) -> Result<MessageId, StoreError> {
    MessageId::parse(&text).ok_or_else(|| query::not_ours("message id", &text))
}

/// An error while opening, which never names the url (it may hold a password).
fn open_failed(message: impl std::fmt::Display) -> StoreError {
    StoreError::Open {
        path: "[store] url".into(),
        message: message.to_string(),
    }
}

/// An error with its causes ("error performing TLS handshake: invalid peer certificate:
/// UnknownIssuer"): the pool and the client each say only their own part.
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        let more = inner.to_string();
        if !text.ends_with(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        cause = inner.source();
    }
    text
}

impl Postgres {
    /// Connects, brings the schema up to date and registers this instance (see `setup.rs`).
    pub async fn open(settings: &Settings<'_>) -> Result<Self, StoreError> {
        let mut config = connect::parse(settings.url).map_err(open_failed)?;
        let tls = connect::tls(&mut config, settings.ca).map_err(open_failed)?;
        let pool = connect::pool(config.clone(), tls.clone(), settings.pool_size, false)?;
        let mut client = pool.get().await.map_err(|e| open_failed(with_causes(&e)))?;
        setup::migrate(&mut client).await?;
        drop(client);
        let (id, lock) = lock::hold(config, tls, epoch_millis(crate::clock::now())).await?;
        Ok(Self {
            pool,
            instance: Some(Instance { id, _lock: lock }),
            state: health::State::default(),
        })
    }

    /// Connects for reading only (`iflowd messages`): nothing is migrated, registered or
    /// changed, and the schema must be the one this iflowd reads.
    pub async fn open_existing(settings: &Settings<'_>) -> Result<Self, StoreError> {
        let mut config = connect::parse(settings.url).map_err(open_failed)?;
        let tls = connect::tls(&mut config, settings.ca).map_err(open_failed)?;
        let pool = connect::pool(config, tls, 2, true)?;
        let client = pool.get().await.map_err(|e| open_failed(with_causes(&e)))?;
        let version = setup::applied(&client).await?;
        if version == 0 {
            return Err(open_failed(
                "there is no message log in this database yet; has iflowd run with this url?",
            ));
        }
        if version != MIGRATIONS.len() {
            return Err(open_failed(format!(
                "the schema is at version {version}, this iflowd reads version {}; start `iflowd serve` once to upgrade it",
                MIGRATIONS.len()
            )));
        }
        drop(client);
        Ok(Self {
            pool,
            instance: None,
            state: health::State::default(),
        })
    }

    /// This instance's id (`None` for a read-only handle).
    fn me(&self) -> Option<i64> {
        self.instance.as_ref().map(|i| i.id)
    }

    async fn client(&self) -> Result<deadpool_postgres::Client, StoreError> {
        self.pool
            .get()
            .await
            .map_err(|e| StoreError::Database(e.to_string()))
    }

    /// One attempt of [`Backend::begin`]; `None` when it must look again (the running copy it
    /// found ended meanwhile, or belonged to an instance that is gone and is now abandoned).
    async fn try_begin(
        &self,
        client: &mut deadpool_postgres::Client,
        entry: &NewEntry,
        since: Option<i64>,
    ) -> Result<Option<NewOrDuplicate>, StoreError> {
        let tx = client.transaction().await.map_err(db)?;
        let flow = &entry.integration_flow_name;
        // One round trip for the three: the statements are sent together and run in order, so
        // the look for a completed original runs after the insert (see the module
        // documentation). Nothing has been answered yet: the completion's flushed commit makes
        // this one durable.
        // Both statements are prepared first (once per connection), so that each of the three
        // below is sent at its first poll, in the order written: on a connection where they were
        // not yet prepared, `join!` (which starts polling at a different future each time) could
        // otherwise send the look before the insert, and miss an original completing between.
        tx.prepare_cached(write::INSERT).await.map_err(db)?;
        tx.prepare_cached(write::FIND_COMPLETED).await.map_err(db)?;
        let set = tx.batch_execute("SET LOCAL synchronous_commit = off");
        let insert = write::insert(&tx, entry, self.me(), None);
        let completed = async {
            match (since, &entry.application_message_id) {
                (Some(since), Some(id)) => write::find_completed(&tx, flow, id, since).await,
                _ => Ok(None),
            }
        };
        let (set, inserted, completed) = tokio::join!(set, insert, completed);
        set.map_err(db)?;
        let inserted = inserted.map_err(db)?;
        // A completed (or queued) original is what the copy is, as in SQLite, where it is looked
        // for first.
        if let Some(original) = completed? {
            tx.rollback().await.map_err(db)?;
            return Ok(Some(NewOrDuplicate::Duplicate(original)));
        }
        match inserted {
            Some(row) => {
                tx.commit().await.map_err(db)?;
                Ok(Some(NewOrDuplicate::New(EntryKey(row))))
            }
            None => {
                let id = entry.application_message_id.as_deref().unwrap_or_default();
                let running = write::find_running(&tx, flow, id).await?;
                let Some((row, guid, owner)) = running else {
                    return Ok(None);
                };
                let gone = match owner {
                    Some(owner) if Some(owner) == self.me() => false,
                    Some(owner) => setup::gone(&tx, owner).await?,
                    None => true,
                };
                if !gone {
                    return Ok(Some(NewOrDuplicate::Running(guid)));
                }
                write::abandon_one(&tx, row, epoch_millis(crate::clock::now()))
                    .await
                    .map_err(db)?;
                tx.commit().await.map_err(db)?;
                Ok(None)
            }
        }
    }
}

#[async_trait]
impl Backend for Postgres {
    async fn begin(
        &self,
        entry: NewEntry,
        duplicate_since: Option<OffsetDateTime>,
    ) -> Result<NewOrDuplicate, StoreError> {
        let since = duplicate_since.map(epoch_millis);
        let begun = async {
            let mut client = self.client().await?;
            for _ in 0..BEGIN_ATTEMPTS {
                if let Some(begun) = self.try_begin(&mut client, &entry, since).await? {
                    return Ok(begun);
                }
            }
            Err(StoreError::Database(format!(
                "the running copy of this externalEventId kept changing; gave up after {BEGIN_ATTEMPTS} attempts"
            )))
        };
        self.state.wrote(begun.await)
    }

    async fn insert(&self, entry: NewEntry) -> Result<(), StoreError> {
        let client = self.client().await?;
        match write::insert(&client, &entry, self.me(), None)
            .await
            .map_err(db)?
        {
            Some(_) => Ok(()),
            None => Err(StoreError::Database(
                "a running entry with this endpoint and externalEventId exists".to_owned(),
            )),
        }
    }

    async fn finish(&self, completion: Completion) -> Result<(), StoreError> {
        let client = self.client().await?;
        match write::finish(&client, &completion).await.map_err(db)? {
            1 => Ok(()),
            _ => Err(StoreError::Database(
                "no running entry to finish (it was abandoned, or never written)".to_owned(),
            )),
        }
    }

    async fn list(&self, query: ListQuery) -> Result<Page, StoreError> {
        query::list(&self.client().await?, &query).await
    }

    async fn tally(&self, query: TallyQuery) -> Result<Vec<TallyCount>, StoreError> {
        query::tally(&self.client().await?, &query).await
    }

    async fn get(&self, guid: &str) -> Result<Option<Entry>, StoreError> {
        query::get(&self.client().await?, guid).await
    }

    async fn error(&self, guid: &str) -> Result<Option<Option<ErrorInfo>>, StoreError> {
        query::error(&self.client().await?, guid).await
    }

    async fn payloads(&self, guid: &str) -> Result<Option<Vec<PayloadInfo>>, StoreError> {
        query::payloads(&self.client().await?, guid).await
    }

    async fn payload(&self, guid: &str, kind: &str) -> Result<Option<Payload>, StoreError> {
        query::payload(&self.client().await?, guid, kind).await
    }

    async fn custom_headers(&self, guid: &str) -> Result<Option<Vec<HeaderProperty>>, StoreError> {
        query::custom_headers(&self.client().await?, guid).await
    }

    async fn audit(&self, record: NewAuditRecord) -> Result<(), StoreError> {
        let written = async { audit::insert(&self.client().await?, &record).await };
        self.state.wrote(written.await)
    }

    async fn audit_log(&self, query: AuditQuery) -> Result<AuditPage, StoreError> {
        audit::list(&self.client().await?, &query).await
    }

    async fn abandon_processing(&self, now: OffsetDateTime) -> Result<Abandoned, StoreError> {
        let mut client = self.client().await?;
        setup::abandon(&mut client, self.me(), epoch_millis(now)).await
    }

    async fn purge(&self, now: OffsetDateTime, retention: Retention) -> Result<Purged, StoreError> {
        let mut client = self.client().await?;
        // Instances that went away while nobody started: their entries are not left running.
        let abandoned = setup::abandon(&mut client, self.me(), epoch_millis(now)).await?;
        for (endpoint, count) in &abandoned {
            tracing::warn!(
                endpoint,
                count,
                "messages left PROCESSING by an instance that is gone are now ABANDONED"
            );
        }
        let entries_before = epoch_millis(now - retention.entries);
        let payloads_before = epoch_millis(now - retention.payloads);
        write::purge(&mut client, entries_before, payloads_before)
            .await
            .map_err(db)
    }

    /// The bytes the log's tables take in the database, indexes and TOAST included (not the
    /// server's WAL, which all its databases share). Only measured: `[store] max_size_mb` is
    /// SQLite's (deleted rows do not shrink PostgreSQL's files until a `VACUUM FULL`, so a
    /// purge down to a size would delete everything); `retention_days` bounds this log.
    async fn size(&self) -> Result<u64, StoreError> {
        let client = self.client().await?;
        let bytes: i64 = client
            .query_one(
                "SELECT pg_total_relation_size('messages') + pg_total_relation_size('requests')
                      + pg_total_relation_size('responses')
                      + pg_total_relation_size('message_events') + pg_total_relation_size('audit_log')
                      + pg_total_relation_size('attempts')",
                &[],
            )
            .await
            .map_err(db)?
            .get(0);
        Ok(u64::try_from(bytes).unwrap_or(0))
    }

    fn health(&self) -> Health {
        self.state.health()
    }

    fn writes(&self) -> watch::Receiver<u64> {
        self.state.writes()
    }

    async fn enqueue(
        &self,
        entry: NewEntry,
        duplicate_since: Option<OffsetDateTime>,
        start: Start,
    ) -> Result<NewOrDuplicate, StoreError> {
        let since = duplicate_since.map(epoch_millis);
        let enqueued = async {
            let mut client = self.client().await?;
            queue::enqueue(&mut client, &entry, since, start, self.me()).await
        };
        self.state.wrote(enqueued.await)
    }

    async fn claim(
        &self,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<Claimed>, StoreError> {
        let mut client = self.client().await?;
        let (now, until) = (epoch_millis(now), epoch_millis(lease_until));
        queue::claim(&mut client, now, until, limit, self.me()).await
    }

    async fn renew(&self, lease: Lease, until: OffsetDateTime) -> Result<bool, StoreError> {
        queue::renew(&self.client().await?, lease, epoch_millis(until)).await
    }

    async fn release(&self, lease: Lease, now: OffsetDateTime) -> Result<bool, StoreError> {
        queue::release(&self.client().await?, lease, epoch_millis(now)).await
    }

    async fn end_attempt(&self, lease: Lease, end: AttemptEnd) -> Result<bool, StoreError> {
        let ended = async { queue::end_attempt(&self.client().await?, lease, &end).await };
        self.state.wrote(ended.await)
    }

    /// Only the attempts of instances that are gone: the others' leases are theirs.
    async fn requeue(&self, now: OffsetDateTime) -> Result<Requeued, StoreError> {
        queue::requeue(&self.client().await?, self.me(), epoch_millis(now)).await
    }

    async fn retry(&self, guid: &str, now: OffsetDateTime) -> Result<Retried, StoreError> {
        let retried = async { queue::retry(&self.client().await?, guid, epoch_millis(now)).await };
        self.state.wrote(retried.await)
    }

    async fn attempts(&self, guid: &str) -> Result<Option<Vec<Attempt>>, StoreError> {
        queue_read::attempts(&self.client().await?, guid).await
    }

    async fn next_due(&self) -> Result<Option<OffsetDateTime>, StoreError> {
        Ok(queue_read::next_due(&self.client().await?)
            .await?
            .map(crate::clock::from_epoch_millis))
    }

    async fn depth(&self) -> Result<Depth, StoreError> {
        queue_read::depth(&self.client().await?).await
    }
}
