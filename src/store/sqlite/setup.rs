//! Opening the log: the handle for serving or for reading only, the connections' settings, the
//! schema's migrations, and what a previous run left unfinished.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, params};

use super::super::{Abandoned, StoreError};
use super::pressure::{self, Condition, is_disk_error, truncate_wal};
use super::writer::Writer;
use super::{DATABASE_FILE, MIGRATIONS, Shared, Sqlite};

impl Sqlite {
    /// Opens (creating the directory and database if needed) the log in `data_dir` and brings
    /// the schema up to date.
    pub async fn open(data_dir: &Path) -> Result<Self, StoreError> {
        let data_dir = data_dir.to_path_buf();
        tokio::task::spawn_blocking(move || Self::open_blocking(&data_dir))
            .await
            .map_err(|_| StoreError::Gone)?
    }

    /// Opens the writer connection and sets the log up. When the disk refuses the set-up (it
    /// is full), the log is opened all the same, not set up, and the upkeep task (see
    /// `pressure.rs`) sets it up once the disk takes writes; any other failure is an error.
    fn open_blocking(data_dir: &Path) -> Result<Self, StoreError> {
        let path = data_dir.join(DATABASE_FILE);
        let failed = |message: String| StoreError::Open {
            path: path.clone(),
            message,
        };
        std::fs::create_dir_all(data_dir).map_err(|e| failed(e.to_string()))?;
        let mut connection = Connection::open(&path).map_err(|e| failed(e.to_string()))?;
        configure_writer(&connection).map_err(|e| failed(e.to_string()))?;
        let setup = match prepare(&mut connection) {
            Ok(()) => Ok(()),
            Err(SetupError::Disk(message)) => {
                tracing::error!(
                    path = %path.display(),
                    error = message,
                    "the message log cannot be set up (is its disk full?); iflowd starts, and sets it up once the disk takes writes"
                );
                Err(message)
            }
            Err(SetupError::Failed(message)) => return Err(failed(message)),
        };
        let shared = Arc::new(Shared {
            writer: Writer::new(connection, &path),
            path,
            readers: Mutex::new(Vec::new()),
            condition: Condition::new(setup),
        });
        pressure::spawn_upkeep(&shared);
        Ok(Self { shared })
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
                condition: Condition::new(Ok(())),
            }),
        })
    }
}

/// How long a connection waits for another's lock before it gives up.
pub(super) const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Pages the WAL may hold before a commit checkpoints it (SQLite's `wal_autocheckpoint`): about
/// 4 MB of 4 KB pages. The WAL file is cut back to [`WAL_SIZE_LIMIT`] when it starts over.
const WAL_AUTOCHECKPOINT: u32 = 1000;
const WAL_SIZE_LIMIT: u64 = 4 * 1024 * 1024;

/// Why the log could not be set up: the disk refused (the log opens all the same and is set
/// up later, see `pressure.rs`), or anything else (iflowd does not start).
#[derive(Debug, thiserror::Error)]
pub(super) enum SetupError {
    #[error("{0}")]
    Disk(String),
    #[error("{0}")]
    Failed(String),
}

impl SetupError {
    fn of(error: &rusqlite::Error, context: &str) -> Self {
        let message = format!("{context}{error}");
        if is_disk_error(error) {
            Self::Disk(message)
        } else {
            Self::Failed(message)
        }
    }
}

/// The writer connection's own settings that do not read the database (the others are in
/// [`prepare`]: reading a database in WAL mode takes its `-shm` file, which a full disk may
/// have no room for).
pub(super) fn configure_writer(connection: &Connection) -> rusqlite::Result<()> {
    stable_plans(connection)?;
    connection.busy_timeout(BUSY_TIMEOUT)
}

/// Puts the database in WAL mode with the writer's settings and brings the schema up to date,
/// then checkpoints what the WAL holds from the previous run. These read and write the disk, so
/// on a full one they fail with a [`SetupError::Disk`]; they can be run again.
pub(super) fn prepare(connection: &mut Connection) -> Result<(), SetupError> {
    let mode: String = connection
        .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
        .map_err(|e| SetupError::of(&e, ""))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(SetupError::Failed(format!(
            "the database refused WAL mode (journal_mode is {mode})"
        )));
    }
    connection
        .execute_batch(&format!(
            "PRAGMA synchronous = NORMAL;
             PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT};
             PRAGMA journal_size_limit = {WAL_SIZE_LIMIT};
             PRAGMA foreign_keys = ON;"
        ))
        .map_err(|e| SetupError::of(&e, ""))?;
    migrate(connection)?;
    truncate_wal(connection);
    Ok(())
}

pub(super) fn open_reader(path: &Path) -> Result<Connection, StoreError> {
    let connection = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    stable_plans(&connection)?;
    connection.busy_timeout(BUSY_TIMEOUT)?;
    connection.execute_batch("PRAGMA query_only = ON;")?;
    Ok(connection)
}

/// SQLite re-plans a cached statement whenever a bound value it looked at while planning
/// changes, which for our statements (a new id every call) meant parsing and planning every
/// statement every time. The query planner stability guarantee turns that off.
fn stable_plans(connection: &Connection) -> rusqlite::Result<()> {
    connection.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    Ok(())
}

/// Applies the migrations not yet applied, each in its own transaction.
fn migrate(connection: &mut Connection) -> Result<(), SetupError> {
    let done: i64 = connection
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(|e| SetupError::of(&e, ""))?;
    let done = usize::try_from(done).unwrap_or(usize::MAX);
    if done > MIGRATIONS.len() {
        return Err(SetupError::Failed(format!(
            "the schema is at version {done}, newer than this iflowd knows ({}); use a newer iflowd",
            MIGRATIONS.len()
        )));
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(done) {
        let mut step = || -> rusqlite::Result<()> {
            let tx = connection.transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(
                None,
                "user_version",
                i64::try_from(index + 1).unwrap_or(i64::MAX),
            )?;
            tx.commit()
        };
        step().map_err(|e| SetupError::of(&e, &format!("migration {} failed: ", index + 1)))?;
    }
    Ok(())
}

/// Marks the entries a previous run left in `PROCESSING` as `ABANDONED` (synchronous ones: a
/// queued message is queued again instead, see `queue.rs`); counts them by endpoint.
pub(super) fn abandon_processing(connection: &Connection, now: i64) -> rusqlite::Result<Abandoned> {
    let mut abandoned = Abandoned::new();
    let mut statement = connection.prepare(
        "UPDATE messages SET status = 'ABANDONED', custom_status = 'ABANDONED', log_end = ?1,
             error_text = COALESCE(error_text, 'iflowd stopped while the message was being processed; whether its handlers finished is unknown')
         WHERE status = 'PROCESSING' AND attempts IS NULL
         RETURNING integration_flow_name",
    )?;
    let mut flows = statement.query(params![now])?;
    while let Some(row) = flows.next()? {
        *abandoned.entry(row.get(0)?).or_default() += 1;
    }
    Ok(abandoned)
}
