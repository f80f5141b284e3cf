//! The message processing log's storage: SQLite in the data directory.
//!
//! Raw SQL stops here. [`Store`] is a cheap-to-clone handle (mini-redis's `Db` style) with the
//! connections inside: one writer behind the group-commit [`writer`], and a small pool of reader
//! connections, which WAL lets read while the writer writes. SQLite only ever runs on tokio's
//! blocking pool, so it never stalls an async worker.
//!
//! Durability: a final entry ([`Store::insert`], [`Store::finish`]) is on the disk, its WAL
//! frames synced, when the call returns, and the HTTP layer answers only after that: it
//! survives a crash of iflowd and of the machine. A `PROCESSING` entry ([`Store::begin`]) is
//! handed to the operating system (survives a crash of iflowd) and reaches the disk with the
//! next sync. The connection runs `synchronous = NORMAL` and [`writer`] syncs the WAL itself,
//! once per group of commits and outside SQLite's write lock, which is what `FULL` would do per
//! commit and inside the lock.
//!
//! The schema is created and upgraded by the migrations in `migrations/`, embedded in the binary
//! and applied at start-up in order, tracked by SQLite's `user_version`.

mod entry;
mod purge;
pub mod query;
mod setup;
#[cfg(test)]
mod tests;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OptionalExtension, params};
use time::OffsetDateTime;

pub use entry::{
    Begun, Entry, EntryKey, ErrorInfo, Finish, NewEntry, Original, Payload, PayloadInfo, Status,
};
pub use purge::{Purged, Retention, spawn_purge};
pub use query::{ListQuery, Page};
pub use setup::Abandoned;

use crate::clock::epoch_millis;
use crate::message::MessageId;
use setup::{abandon_processing, configure_writer, migrate, open_reader};
use writer::{Durability, Writer, Written};

/// The database file inside the data directory.
pub const DATABASE_FILE: &str = "messages.db";

/// The schema, one step per entry, applied in order; `user_version` counts the steps done.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_message_log.sql"),
    include_str!("migrations/0002_bodies.sql"),
];

/// A storage failure. Clone, because one failed commit is the answer of every write in its batch.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the message log {path}: {message}")]
    Open { path: PathBuf, message: String },
    #[error("message log: {0}")]
    Database(String),
    /// The database refused a query as beyond its limits (too deep, too many terms): the
    /// query's fault, not the log's (see [`query`]).
    #[error("the message log cannot run this query: {0}")]
    TooComplex(String),
    #[error("the message log's worker thread stopped unexpectedly")]
    Gone,
}

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> Self {
        Self::Database(error.to_string())
    }
}

/// A handle on the message log. Clones share the connections. Use it on the tokio runtime that
/// opened it: the writer hands results out through a task there (see `writer`).
#[derive(Clone)]
pub struct Store {
    shared: Arc<Shared>,
}

struct Shared {
    path: PathBuf,
    writer: Writer,
    readers: Mutex<Vec<Connection>>,
}

impl Store {
    /// Opens (creating the directory and database if needed) the log in `data_dir`, brings the
    /// schema up to date, and marks entries a previous run left in `PROCESSING` as `ABANDONED`.
    /// Returns the store and how many entries were abandoned, by endpoint.
    pub async fn open(data_dir: &Path) -> Result<(Self, Abandoned), StoreError> {
        let data_dir = data_dir.to_path_buf();
        tokio::task::spawn_blocking(move || Self::open_blocking(&data_dir))
            .await
            .map_err(|_| StoreError::Gone)?
    }

    fn open_blocking(data_dir: &Path) -> Result<(Self, Abandoned), StoreError> {
        let path = data_dir.join(DATABASE_FILE);
        let failed = |message: String| StoreError::Open {
            path: path.clone(),
            message,
        };
        std::fs::create_dir_all(data_dir).map_err(|e| failed(e.to_string()))?;
        let mut connection = Connection::open(&path).map_err(|e| failed(e.to_string()))?;
        configure_writer(&connection).map_err(|e| failed(e.to_string()))?;
        migrate(&mut connection).map_err(failed)?;
        let abandoned = abandon_processing(&connection, epoch_millis(crate::clock::now()))
            .map_err(|e| failed(e.to_string()))?;
        Ok((
            Self {
                shared: Arc::new(Shared {
                    writer: Writer::new(connection, &path),
                    path,
                    readers: Mutex::new(Vec::new()),
                }),
            },
            abandoned,
        ))
    }

    /// Opens an existing log for reading only (the `iflowd messages` command): no directory or
    /// database is created, and no entry is changed.
    pub async fn open_existing(data_dir: &Path) -> Result<Self, StoreError> {
        let path = data_dir.join(DATABASE_FILE);
        if !path.is_file() {
            return Err(StoreError::Open {
                path,
                message: "there is no message log here yet; has iflowd run with this data_dir?"
                    .to_owned(),
            });
        }
        let reader = open_reader(&path).map_err(|e| StoreError::Open {
            path: path.clone(),
            message: e.to_string(),
        })?;
        let version: i64 = reader
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .map_err(StoreError::from)?;
        if usize::try_from(version).ok() != Some(MIGRATIONS.len()) {
            return Err(StoreError::Open {
                path,
                message: format!(
                    "the schema is at version {version}, this iflowd reads version {}; start `iflowd serve` once to upgrade it",
                    MIGRATIONS.len()
                ),
            });
        }
        // Writes never happen through this handle; the writer connection is a read-only one.
        Ok(Self {
            shared: Arc::new(Shared {
                path: path.clone(),
                writer: Writer::new(open_reader(&path)?, &path),
                readers: Mutex::new(vec![reader]),
            }),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.shared.path
    }

    /// Writes a final entry (and its bodies, when given); durable when this returns.
    pub async fn insert(&self, entry: NewEntry) -> Result<(), StoreError> {
        self.write(
            Box::new(move |tx| insert(tx, &entry).map(Written::Row)),
            Durability::Synced,
        )
        .await
        .map(|_| ())
    }

    /// Starts a delivery: unless a `COMPLETED` entry of the same externalEventId on the same
    /// endpoint started at or after `duplicate_since` exists (then nothing is written and it is
    /// returned), writes `entry` (`PROCESSING`) and its request body. One write, so the lookup
    /// and the insert see the same log. When this returns the entry survives a crash of iflowd;
    /// it reaches the disk with the next synced commit at the latest (see
    /// [`writer::Durability::Written`]), which the [`Store::finish`] of the same entry is.
    pub async fn begin(
        &self,
        entry: NewEntry,
        duplicate_since: Option<OffsetDateTime>,
    ) -> Result<Begun, StoreError> {
        let since = duplicate_since.map(epoch_millis);
        let written = self
            .write(
                Box::new(move |tx| {
                    if let (Some(since), Some(id)) = (since, &entry.application_message_id)
                        && let Some(original) =
                            find_completed(tx, &entry.integration_flow_name, id, since)?
                    {
                        return Ok(Written::Duplicate(original));
                    }
                    insert(tx, &entry).map(Written::Row)
                }),
                Durability::Written,
            )
            .await?;
        Ok(match written {
            Written::Row(row) => Begun::Started(EntryKey(row)),
            Written::Duplicate(original) => Begun::Duplicate(original),
        })
    }

    /// Ends a `PROCESSING` entry; durable when this returns.
    pub async fn finish(&self, finish: Finish) -> Result<(), StoreError> {
        self.write(
            Box::new(move |tx| {
                if finish_entry(tx, &finish)? == 0 {
                    return Err(rusqlite::Error::QueryReturnedNoRows);
                }
                Ok(Written::Row(finish.key.0))
            }),
            Durability::Synced,
        )
        .await
        .map(|_| ())
    }

    async fn write(
        &self,
        op: writer::WriteOp,
        durability: Durability,
    ) -> Result<Written, StoreError> {
        writer::write(&self.shared, op, durability).await
    }

    /// The latest `COMPLETED` delivery of `application_message_id` on `flow` that started at or
    /// after `since`: what makes a new delivery a duplicate.
    pub async fn find_completed(
        &self,
        flow: &str,
        application_message_id: &str,
        since: OffsetDateTime,
    ) -> Result<Option<Original>, StoreError> {
        let flow = flow.to_owned();
        let id = application_message_id.to_owned();
        let since = epoch_millis(since);
        self.read(move |db| find_completed(db, &flow, &id, since))
            .await
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
        self.blocking(move |shared| {
            let pooled = writer::lock(&shared.readers).pop();
            let connection = match pooled {
                Some(connection) => connection,
                None => open_reader(&shared.path)?,
            };
            let result = f(&connection).map_err(StoreError::from);
            writer::lock(&shared.readers).push(connection);
            result
        })
        .await
    }
}

fn find_completed(
    db: &Connection,
    flow: &str,
    application_message_id: &str,
    since: i64,
) -> rusqlite::Result<Option<Original>> {
    // The window is checked here rather than in SQL: a range on a bound parameter makes SQLite
    // re-plan the statement on every call, which costs more than the lookup.
    let latest = db
        .prepare_cached(
            "SELECT message_guid, correlation_id, ack, log_start FROM messages
             WHERE integration_flow_name = ?1 AND application_message_id = ?2
               AND status = 'COMPLETED'
             ORDER BY id DESC LIMIT 1",
        )?
        .query_row(params![flow, application_message_id], |row| {
            Ok((
                Original {
                    guid: message_id(row, 0)?,
                    correlation_id: row.get(1)?,
                    ack: row.get(2)?,
                },
                row.get::<_, i64>(3)?,
            ))
        })
        .optional()?;
    Ok(latest.and_then(|(original, log_start)| (log_start >= since).then_some(original)))
}

/// The [`MessageId`] in column `index`; an error naming the text when it is not one.
fn message_id(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<MessageId> {
    let text: String = row.get(index)?;
    MessageId::parse(&text).ok_or_else(|| not_ours(index, "message id", &text))
}

/// A stored value iflowd cannot have written (the database was changed by hand).
fn not_ours(index: usize, what: &str, text: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        index,
        rusqlite::types::Type::Text,
        format!("'{text}' is not a {what}").into(),
    )
}

fn insert(tx: &Connection, entry: &NewEntry) -> rusqlite::Result<i64> {
    tx.prepare_cached(
        "INSERT INTO messages (message_guid, correlation_id, transaction_id,
                 application_message_id, application_message_type, integration_flow_name, sender,
                 status, custom_status, log_start, log_end, error_text, error_step, event_count,
                 repost, original_guid, ack)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
    )?
    .execute(params![
        entry.guid.as_str(),
        entry.correlation_id,
        entry.transaction_id,
        entry.application_message_id,
        entry.application_message_type,
        entry.integration_flow_name,
        entry.sender,
        entry.status.as_str(),
        epoch_millis(entry.log_start),
        entry.log_end.map(epoch_millis),
        entry.error.as_ref().map(|e| &e.text),
        entry.error.as_ref().and_then(|e| e.step.as_ref()),
        entry.event_count,
        entry.repost,
        entry.original_guid.as_ref().map(MessageId::as_str),
        entry.ack,
    ])?;
    let id = tx.last_insert_rowid();
    let stored_at = entry.log_end.unwrap_or(entry.log_start);
    store_bodies(
        tx,
        id,
        epoch_millis(stored_at),
        entry.request.as_ref(),
        entry.response.as_ref(),
    )?;
    Ok(id)
}

fn finish_entry(tx: &Connection, finish: &Finish) -> rusqlite::Result<usize> {
    let log_end = epoch_millis(finish.log_end);
    let rows = tx
        .prepare_cached(
            "UPDATE messages SET status = ?2, custom_status = ?2, log_end = ?3,
                 error_text = ?4, error_step = ?5, ack = ?6
             WHERE id = ?1 AND status = 'PROCESSING'",
        )?
        .execute(params![
            finish.key.0,
            finish.status.as_str(),
            log_end,
            finish.error.as_ref().map(|e| &e.text),
            finish.error.as_ref().and_then(|e| e.step.as_ref()),
            finish.ack,
        ])?;
    if rows == 1 {
        store_bodies(tx, finish.key.0, log_end, None, finish.response.as_ref())?;
    }
    Ok(rows)
}

/// Writes an entry's bodies, when it has any, in its one row: the request with the first write
/// of the entry, the answer added to the same row when the entry is final. That second write is
/// an update of the whole row (the request is rewritten with it), and `stored_at` becomes the
/// entry's end: both bodies then show that time as their `TimeStamp`, and their retention counts
/// from it.
fn store_bodies(
    tx: &Connection,
    message_id: i64,
    stored_at: i64,
    request: Option<&Payload>,
    response: Option<&Payload>,
) -> rusqlite::Result<()> {
    if request.is_none() && response.is_none() {
        return Ok(());
    }
    tx.prepare_cached(
        "INSERT INTO bodies (message_id, stored_at, request_type, request, response_type, response)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (message_id) DO UPDATE SET stored_at = excluded.stored_at,
             response_type = excluded.response_type, response = excluded.response",
    )?
    .execute(params![
        message_id,
        stored_at,
        request.map(|p| &p.content_type),
        request.map(|p| &p.body[..]),
        response.map(|p| &p.content_type),
        response.map(|p| &p.body[..]),
    ])?;
    Ok(())
}
