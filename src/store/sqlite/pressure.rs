//! A disk that refuses writes: how the log notices, keeps its WAL from holding the space, and
//! becomes writable again by itself.
//!
//! The trap this avoids: in WAL mode a commit appends pages to the WAL, and only a checkpoint
//! copies them into the database and lets the WAL start over. When the disk fills up, the WAL
//! holds space the database needs to take its pages in, so the checkpoint cannot run, and any
//! space that frees up is taken by the next commit's frames, not the checkpoint. So:
//!
//! * A write the disk refuses ([`is_disk_error`]: `SQLITE_FULL`, an I/O error, a sync that
//!   fails) marks the log [`Condition::refuse`]d and fails with [`StoreError::Unwritable`];
//!   the writer then runs a `TRUNCATE` checkpoint, and runs one again before every later
//!   batch while the log is refused, so space that frees up goes to the database first and the
//!   WAL gives its file back.
//! * The next write is always tried: the first that succeeds makes the log writable again.
//!   Without calls, the [`upkeep`] task tries by itself every [`RETRY_INTERVAL`]: its probe
//!   rewrites the schema version (one page), so `/health` turns back without waiting for a
//!   sender.
//! * When the writer has been idle for [`IDLE_CHECKPOINT`], the upkeep task checkpoints with
//!   `TRUNCATE`: the WAL takes no disk space between bursts (under load, SQLite's
//!   autocheckpoint keeps it near `wal_autocheckpoint` pages, about 4 MB, see `setup.rs`).
//! * Under pressure, when the file system has less than [`PRESSURE_FREE`] left (the upkeep
//!   task looks on the first write after a pause and every [`RETRY_INTERVAL`] while writes go
//!   on), the commit leader checkpoints with `TRUNCATE` after every batch: the WAL then holds
//!   one batch at most, and the space goes to the database, where it holds entries, instead of
//!   to frames waiting for a checkpoint that may no longer fit.
//! * A log that cannot be set up at start-up (WAL mode, the migrations: a database created on a
//!   full disk, or a `-shm` file the disk has no room for) is opened all the same, not
//!   [`Condition::ready`]: nothing is read or written until the upkeep task has set it up.
//!   Its abandonment of the previous run's entries is then owed ([`Condition::owe_abandonment`])
//!   and writes wait for it too, so that no new `PROCESSING` entry is marked `ABANDONED`.
//!
//! Checkpoints outside the commit path never wait for readers (`busy_timeout` 0 while they
//! run): a reader holding a snapshot makes a `TRUNCATE` checkpoint give up, not stall the writer.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode};
use time::OffsetDateTime;
use tokio::sync::watch;

use super::super::{Health, RETRY_INTERVAL, StoreError};
use super::Shared;
use super::writer::lock;

/// How long the writer must have been idle before its WAL is checkpointed and truncated.
pub(super) const IDLE_CHECKPOINT: Duration = Duration::from_secs(2);

/// Free space on the log's file system under which every batch is checkpointed at once: 16
/// times what the WAL holds before SQLite checkpoints it by itself.
pub(super) const PRESSURE_FREE: u64 = 64 * 1024 * 1024;

/// Whether `error` says the disk refused a write or a read (full, or failing), rather than
/// something about the statement.
pub(super) fn is_disk_error(error: &rusqlite::Error) -> bool {
    matches!(
        error.sqlite_error_code(),
        Some(ErrorCode::DiskFull | ErrorCode::SystemIoFailure)
    )
}

/// What the log can do now.
pub(super) struct Condition {
    state: Mutex<State>,
    /// Bumped after every write batch, committed or refused: [`spawn_upkeep`] and the
    /// size-based purge wait on it.
    writes: watch::Sender<u64>,
    /// The file system has less than [`PRESSURE_FREE`] left: checkpoint after every batch.
    pressure: AtomicBool,
}

struct State {
    /// WAL mode and the schema are in place. Nothing is read or written before.
    ready: bool,
    /// Writes wait until the previous run's `PROCESSING` entries are marked `ABANDONED`.
    abandonment_owed: bool,
    /// Why the disk refused the last write (or the set-up), and since when.
    refused: Option<(String, OffsetDateTime)>,
}

impl Condition {
    pub(super) fn new(setup: Result<(), String>) -> Self {
        let ready = setup.is_ok();
        Self {
            state: Mutex::new(State {
                ready,
                abandonment_owed: false,
                refused: setup.err().map(|reason| (reason, crate::clock::now())),
            }),
            writes: watch::Sender::new(0),
            pressure: AtomicBool::new(false),
        }
    }

    /// Whether the commit leader checkpoints after every batch (see the module documentation).
    pub(super) fn under_pressure(&self) -> bool {
        self.pressure.load(Ordering::Relaxed)
    }

    /// Looks at the free space of the file system holding `database`.
    fn measure_pressure(&self, database: &Path) {
        let free = database
            .parent()
            .and_then(|dir| nix::sys::statvfs::statvfs(dir).ok())
            .map(|fs| fs.blocks_available().saturating_mul(fs.fragment_size()));
        let pressure = free.is_some_and(|free| free < PRESSURE_FREE);
        if self.pressure.swap(pressure, Ordering::Relaxed) != pressure {
            tracing::warn!(
                free_bytes = free,
                pressure,
                "the message log's disk is {}: its WAL is {}",
                if pressure {
                    "nearly full"
                } else {
                    "no longer nearly full"
                },
                if pressure {
                    "checkpointed after every write"
                } else {
                    "checkpointed as usual"
                },
            );
        }
    }

    pub(super) fn ready(&self) -> bool {
        lock(&self.state).ready
    }

    /// Whether writes may go to the database: it is set up and owes no abandonment. Refused
    /// writes are tried again (the disk may have room now); these are not.
    pub(super) fn check_writes(&self) -> Result<(), StoreError> {
        let state = lock(&self.state);
        if state.ready && !state.abandonment_owed {
            return Ok(());
        }
        Err(StoreError::Unwritable(state.reason()))
    }

    /// Whether the disk refused the last write.
    pub(super) fn refused(&self) -> bool {
        lock(&self.state).refused.is_some()
    }

    /// The disk refused a write (or the set-up) for `reason`.
    pub(super) fn refuse(&self, reason: &str) {
        let mut state = lock(&self.state);
        match &mut state.refused {
            Some((last, _)) => reason.clone_into(last),
            None => {
                tracing::error!(
                    reason,
                    "the message log cannot be written: calls are answered with a fault until it can"
                );
                state.refused = Some((reason.to_owned(), crate::clock::now()));
            }
        }
    }

    /// The disk took a write: the log is writable again, if it was not.
    pub(super) fn took_write(&self) {
        let mut state = lock(&self.state);
        if state.refused.take().is_some() && state.ready {
            tracing::warn!("the message log can be written again");
        }
    }

    pub(super) fn set_ready(&self) {
        lock(&self.state).ready = true;
    }

    pub(super) fn owe_abandonment(&self, owed: bool) {
        lock(&self.state).abandonment_owed = owed;
    }

    pub(super) fn wrote(&self) {
        self.writes
            .send_modify(|count| *count = count.wrapping_add(1));
    }

    pub(super) fn writes(&self) -> watch::Receiver<u64> {
        self.writes.subscribe()
    }

    pub(super) fn health(&self) -> Health {
        let state = lock(&self.state);
        match (&state.refused, state.ready && !state.abandonment_owed) {
            (None, true) => Health::Writable,
            (Some((reason, since)), _) => Health::Unwritable {
                reason: reason.clone(),
                since: *since,
            },
            (None, false) => Health::Unwritable {
                reason: state.reason(),
                since: crate::clock::now(),
            },
        }
    }
}

impl State {
    fn reason(&self) -> String {
        match (&self.refused, self.ready) {
            (Some((reason, _)), _) => reason.clone(),
            (None, false) => "the message log is not set up yet".to_owned(),
            (None, true) => {
                "the entries the previous run left PROCESSING are not yet marked ABANDONED"
                    .to_owned()
            }
        }
    }
}

/// A `TRUNCATE` checkpoint that does not wait for readers: copies the WAL into the database
/// and empties the WAL file, when no reader is using it. True when the WAL is now empty.
pub(super) fn truncate_wal(connection: &Connection) -> bool {
    truncate_wal_within(connection, Duration::ZERO)
}

/// [`truncate_wal`], waiting at most `wait` for readers to let go of the WAL.
pub(super) fn truncate_wal_within(connection: &Connection, wait: Duration) -> bool {
    let restore = connection.busy_timeout(wait).is_ok();
    let done = connection
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| {
            row.get::<_, i64>(0)
        })
        .is_ok_and(|busy| busy == 0);
    if restore {
        let _ = connection.busy_timeout(super::setup::BUSY_TIMEOUT);
    }
    done
}

/// Starts the task that keeps the WAL small when the writer is idle and tries the log again
/// while it cannot be written. It ends when the store is dropped.
pub(super) fn spawn_upkeep(shared: &Arc<Shared>) {
    let weak = Arc::downgrade(shared);
    let mut writes = shared.condition.writes();
    tokio::spawn(async move {
        loop {
            let unwritable = match weak.upgrade() {
                Some(shared) => !shared.condition.ready() || shared.condition.refused(),
                None => return,
            };
            if unwritable {
                tokio::time::sleep(RETRY_INTERVAL).await;
                if !blocking(&weak, probe).await {
                    return;
                }
                continue;
            }
            if writes.changed().await.is_err() {
                return;
            }
            // Wait until a whole IDLE_CHECKPOINT has passed without a write, looking at the
            // free space every RETRY_INTERVAL meanwhile, and at whether the disk began to refuse
            // writes (then the probe takes over at once, without waiting for calls to stop).
            let mut quiet = Duration::ZERO;
            let refused = loop {
                if !blocking(&weak, |shared| {
                    shared.condition.measure_pressure(&shared.path)
                })
                .await
                {
                    return;
                }
                writes.borrow_and_update();
                tokio::time::sleep(RETRY_INTERVAL).await;
                match weak.upgrade() {
                    Some(shared) if shared.condition.refused() => break true,
                    Some(_) => {}
                    None => return,
                }
                match writes.has_changed() {
                    Ok(true) => quiet = Duration::ZERO,
                    Ok(false) => quiet += RETRY_INTERVAL,
                    Err(_) => return,
                }
                if quiet >= IDLE_CHECKPOINT {
                    break false;
                }
            };
            if refused {
                continue;
            }
            if !blocking(&weak, idle_checkpoint).await {
                return;
            }
        }
    });
}

/// Runs `f` on the blocking pool with the store, if it is still there; false when it is not.
async fn blocking(weak: &Weak<Shared>, f: fn(&Shared)) -> bool {
    let Some(shared) = weak.upgrade() else {
        return false;
    };
    tokio::task::spawn_blocking(move || f(&shared))
        .await
        .is_ok()
}

fn idle_checkpoint(shared: &Shared) {
    if shared.condition.ready() && !shared.condition.refused() {
        shared.writer.with_connection(|db| truncate_wal(db));
    }
}

/// Tries the log again: sets it up if it is not, frees what the WAL holds, and writes one page.
fn probe(shared: &Shared) {
    shared.writer.with_connection(|db| {
        if !shared.condition.ready() {
            match super::setup::prepare(db) {
                Ok(()) => shared.condition.set_ready(),
                Err(error) => {
                    shared.condition.refuse(&error.to_string());
                    return;
                }
            }
        }
        truncate_wal(db);
        // The schema version, written back unchanged: a commit of one page, through the WAL.
        let written = db
            .query_row("PRAGMA user_version", [], |row| row.get::<_, i64>(0))
            .and_then(|version| db.pragma_update(None, "user_version", version));
        match written {
            Ok(()) => {
                shared.condition.took_write();
                truncate_wal(db);
            }
            Err(error) => shared.condition.refuse(&error.to_string()),
        }
    });
    shared.condition.wrote();
}
