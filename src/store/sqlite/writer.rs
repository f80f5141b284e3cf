//! The single writer: group commit, with the disk sync taken out of SQLite's write lock.
//!
//! SQLite has one writer at a time, and a commit that syncs the disk holds the write lock while
//! it waits. One transaction and one sync per request would make the disk's sync latency the
//! server's ceiling, and one blocking-pool thread per waiting request would spend the CPU on
//! context switches. So:
//!
//! * A write is queued with a oneshot channel for its result; the caller awaits the channel
//!   (asynchronously). If no *commit leader* runs, the caller starts one on the blocking pool,
//!   but not at once: a small task first yields, so the async worker runs every other task that
//!   is ready (parsing the next requests, finishing chains) and their writes join the queue. On a
//!   busy core this turns many small commits, each a thread switch away from the requests, into
//!   fewer larger ones. The leader commits everything queued in one transaction, and goes on
//!   with whatever queued meanwhile until the queue is empty.
//! * Commits run with `synchronous = NORMAL`: SQLite writes the WAL but does not sync it. Writes
//!   that need no more ([`Durability::Written`]: `PROCESSING` entries, nothing has been answered
//!   yet) get their result at once.
//! * The results of [`Durability::Synced`] writes (final entries: an answer depends on them) go
//!   to the *sync leader*, another blocking-pool task, which syncs the WAL file once for
//!   everything waiting (`fdatasync`) and only then hands out the results. Meanwhile the commit
//!   leader keeps committing. A synced WAL holds every frame committed before the sync; frames
//!   already copied into the database by a checkpoint were synced there by SQLite, which syncs
//!   the WAL before and the database after each checkpoint even at `NORMAL`.
//! * Both leaders hand a batch's results back in one message, to a task on the runtime that
//!   wakes the callers ([`Writer::hand_out`]): sent one by one from a blocking-pool thread, each
//!   result woke the runtime on its own, a switch between threads per write on a busy core.
//!
//! So nobody learns that a final entry was written before it is on the disk: "committed before
//! answered", also after a power cut. A write that fails (a constraint, say) is taken out and the
//! rest of its batch committed without it, so it fails alone. A disk that refuses the batch
//! (full, failing) fails all of it with [`StoreError::Unwritable`]; while it does, each batch is
//! preceded by a checkpoint that gives the WAL's space back (see `pressure.rs`).
//!
//! While a leader runs on the blocking pool, tokio's paused test clock does not jump ahead
//! (`spawn_blocking` holds it), so store writes take no virtual time in tests.

use std::fs::File;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};

use super::super::{Original, StoreError};
use super::Shared;
use super::pressure::{is_disk_error, truncate_wal};

/// One write: a closure over the transaction. It may run more than once (when another write of
/// its batch fails, the batch is retried without that one), so it is `Fn`.
pub(super) type WriteOp = Box<dyn Fn(&Connection) -> rusqlite::Result<Written> + Send>;

/// What a write did.
#[derive(Debug, Clone)]
pub(super) enum Written {
    /// Wrote the entry with this row id.
    Row(i64),
    /// Found this completed original instead of writing.
    Duplicate(Original),
}

/// How far a write must have reached when its caller learns it succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Durability {
    /// On the disk (the WAL synced): survives a power cut.
    Synced,
    /// Handed to the operating system (the WAL written): survives a crash of iflowd, not of the
    /// machine.
    Written,
}

type Reply = oneshot::Sender<Result<Written, StoreError>>;

/// Results ready to be handed to their callers.
type Replies = Vec<(Reply, Result<Written, StoreError>)>;

pub(super) struct Writer {
    connection: Mutex<Connection>,
    queue: Mutex<Vec<(WriteOp, Durability, Reply)>>,
    /// A commit leader is running (or about to).
    leading: AtomicBool,
    /// The WAL file, for syncing it; opened on first use (SQLite creates it lazily).
    wal: Mutex<Option<File>>,
    wal_path: std::path::PathBuf,
    /// Results waiting for the next sync.
    unsynced: Mutex<Replies>,
    /// A sync leader is running (or about to).
    syncing: AtomicBool,
    /// Where the leaders hand out results: a task on the runtime (see [`Writer::hand_out`]).
    replies: mpsc::UnboundedSender<Replies>,
}

pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves nothing half-done that the next holder could see:
    // SQLite rolls back an unfinished transaction, and the queues are plain lists.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Claims a leader flag; true if the caller is now the leader.
fn claim(flag: &AtomicBool) -> bool {
    flag.compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst)
        .is_ok()
}

/// Gives up a leader flag when `queue_empty` says there is nothing left; returns true when the
/// leader must go on (something was queued after all, and nobody else took over).
fn release(flag: &AtomicBool, queue_empty: impl Fn() -> bool) -> bool {
    flag.store(false, Ordering::SeqCst);
    // Something queued after the leader's last look but before the flag fell found a leader
    // and did not start one: take it over, unless another leader already has.
    !queue_empty() && claim(flag)
}

impl Writer {
    /// `connection` must already use WAL with `synchronous = NORMAL`; `database` is its file.
    /// Must be called within a tokio runtime: the task that hands out results runs on it, so the
    /// store is to be used on that runtime (or after it was dropped, see [`Writer::hand_out`]).
    pub(super) fn new(connection: Connection, database: &std::path::Path) -> Self {
        let mut wal_path = database.as_os_str().to_owned();
        wal_path.push("-wal");
        let (replies, mut unread) = mpsc::unbounded_channel::<Replies>();
        // Ends when the writer is dropped (the sender with it).
        tokio::spawn(async move {
            while let Some(replies) = unread.recv().await {
                for (reply, result) in replies {
                    let _ = reply.send(result);
                }
            }
        });
        Self {
            connection: Mutex::new(connection),
            queue: Mutex::new(Vec::new()),
            leading: AtomicBool::new(false),
            wal: Mutex::new(None),
            wal_path: wal_path.into(),
            unsynced: Mutex::new(Vec::new()),
            syncing: AtomicBool::new(false),
            replies,
        }
    }

    /// Hands a batch's results to their callers, all at once: the leaders run on blocking-pool
    /// threads, and each result sent from there would wake the runtime on its own. On a busy
    /// core every such wake-up is a switch between threads, one per write. Sent to a task on the
    /// runtime instead, the batch costs one wake-up, and the callers are woken from the
    /// runtime's own thread. When that task is gone (its runtime was dropped), the results are
    /// sent from here; results it had not handed out when it was dropped reach their callers as
    /// [`StoreError::Gone`].
    fn hand_out(&self, replies: Replies) {
        if replies.is_empty() {
            return;
        }
        if let Err(mpsc::error::SendError(replies)) = self.replies.send(replies) {
            for (reply, result) in replies {
                let _ = reply.send(result);
            }
        }
    }

    /// Runs `f` with the writer's connection, outside any batch (start-up work, the purge).
    pub(super) fn with_connection<T>(&self, f: impl FnOnce(&mut Connection) -> T) -> T {
        f(&mut lock(&self.connection))
    }

    /// Syncs the WAL file to the disk. A sync that fails (`ENOSPC` or `EIO` from a disk that
    /// could not take the written pages) means the disk refused the write.
    fn sync_wal(&self) -> Result<(), StoreError> {
        let mut wal = lock(&self.wal);
        if wal.is_none() {
            let file = File::open(&self.wal_path).map_err(|e| {
                StoreError::Database(format!("cannot open {}: {e}", self.wal_path.display()))
            })?;
            *wal = Some(file);
        }
        match wal.as_ref() {
            Some(file) => file.sync_data().map_err(|e| {
                StoreError::Unwritable(format!("cannot sync {}: {e}", self.wal_path.display()))
            }),
            None => Ok(()),
        }
    }
}

/// Queues `op` and waits (asynchronously) until it has reached `durability`, or failed.
pub(super) async fn write(
    shared: &Arc<Shared>,
    op: WriteOp,
    durability: Durability,
) -> Result<Written, StoreError> {
    let (reply, result) = oneshot::channel();
    lock(&shared.writer.queue).push((op, durability, reply));
    if claim(&shared.writer.leading) {
        // A task of its own, so that a caller that gives up waiting cannot strand the queue.
        let shared = Arc::clone(shared);
        tokio::spawn(async move {
            tokio::task::yield_now().await;
            tokio::task::spawn_blocking(move || lead_commits(&shared));
        });
    }
    result.await.map_err(|_| StoreError::Gone)?
}

/// The commit leader (see the module documentation). Runs on the blocking pool.
fn lead_commits(shared: &Arc<Shared>) {
    let writer = &shared.writer;
    loop {
        let batch = std::mem::take(&mut *lock(&writer.queue));
        if batch.is_empty() {
            if release(&writer.leading, || lock(&writer.queue).is_empty()) {
                continue;
            }
            return;
        }
        let (ops, rest): (Vec<WriteOp>, Vec<(Durability, Reply)>) = batch
            .into_iter()
            .map(|(op, durability, reply)| (op, (durability, reply)))
            .unzip();
        let results = commit_batch(shared, &ops);
        let mut to_sync = Vec::new();
        let mut ready = Vec::new();
        for ((durability, reply), result) in rest.into_iter().zip(results) {
            match (durability, &result) {
                (Durability::Synced, Ok(_)) => to_sync.push((reply, result)),
                _ => ready.push((reply, result)),
            }
        }
        writer.hand_out(ready);
        wait_for_sync(shared, to_sync);
        if shared.condition.under_pressure() {
            // The disk is nearly full: the WAL gives its space to the database after each batch.
            truncate_wal(&lock(&writer.connection));
        }
    }
}

/// Commits a batch, unless the log is not set up or owes its abandonment; when the disk refused
/// the previous batch, a checkpoint first gives the WAL's space back. Records whether the disk
/// took this one.
fn commit_batch(shared: &Shared, ops: &[WriteOp]) -> Vec<Result<Written, StoreError>> {
    let condition = &shared.condition;
    if let Err(error) = condition.check_writes() {
        return ops.iter().map(|_| Err(error.clone())).collect();
    }
    let mut connection = lock(&shared.writer.connection);
    if condition.refused() {
        truncate_wal(&connection);
    }
    let results = commit(&mut connection, ops);
    let refused = results.iter().find_map(|result| match result {
        Err(StoreError::Unwritable(reason)) => Some(reason.clone()),
        _ => None,
    });
    match refused {
        Some(reason) => {
            condition.refuse(&reason);
            // What the WAL holds is committed: copy it into the database while the space it
            // took is still there, and give the file back.
            truncate_wal(&connection);
        }
        None if results.iter().any(Result::is_ok) => condition.took_write(),
        None => {}
    }
    drop(connection);
    condition.wrote();
    results
}

/// Queues results for the next sync, starting a sync leader if none runs.
fn wait_for_sync(shared: &Arc<Shared>, replies: Replies) {
    if replies.is_empty() {
        return;
    }
    lock(&shared.writer.unsynced).extend(replies);
    if claim(&shared.writer.syncing) {
        let shared = Arc::clone(shared);
        tokio::task::spawn_blocking(move || lead_syncs(&shared));
    }
}

/// The sync leader: one WAL sync for every result waiting, then the results. Runs on the
/// blocking pool.
fn lead_syncs(shared: &Arc<Shared>) {
    let writer = &shared.writer;
    loop {
        let waiting = std::mem::take(&mut *lock(&writer.unsynced));
        if waiting.is_empty() {
            if release(&writer.syncing, || lock(&writer.unsynced).is_empty()) {
                continue;
            }
            return;
        }
        let synced = writer.sync_wal();
        if let Err(StoreError::Unwritable(reason)) = &synced {
            shared.condition.refuse(reason);
        }
        writer.hand_out(match synced {
            Ok(()) => waiting,
            Err(error) => waiting
                .into_iter()
                .map(|(reply, _)| (reply, Err(error.clone())))
                .collect(),
        });
    }
}

/// Applies a batch in one transaction. A write that fails is left out and the transaction run
/// again without it (each write is then all or nothing, without a savepoint per write).
fn commit(connection: &mut Connection, ops: &[WriteOp]) -> Vec<Result<Written, StoreError>> {
    let mut failed: Vec<Option<StoreError>> = vec![None; ops.len()];
    loop {
        let attempt = (|| -> rusqlite::Result<Result<Vec<Option<Written>>, usize>> {
            let tx = connection.transaction()?;
            let mut written = Vec::with_capacity(ops.len());
            for (i, op) in ops.iter().enumerate() {
                if failed[i].is_some() {
                    written.push(None);
                    continue;
                }
                match op(&tx) {
                    Ok(w) => written.push(Some(w)),
                    // The disk refuses the batch, not this write: every write fails with it.
                    Err(error) if is_disk_error(&error) => return Err(error),
                    Err(error) => {
                        failed[i] = Some(StoreError::from(error));
                        return Ok(Err(i));
                    }
                }
            }
            tx.commit()?;
            Ok(Ok(written))
        })();
        match attempt {
            Ok(Ok(written)) => {
                return written
                    .into_iter()
                    .zip(failed)
                    .map(|(w, f)| match (w, f) {
                        (Some(w), _) => Ok(w),
                        (None, Some(error)) => Err(error),
                        (None, None) => Err(StoreError::Database("the write was lost".into())),
                    })
                    .collect();
            }
            // The transaction was dropped, so rolled back: again, without the failed write.
            Ok(Err(_)) => continue,
            Err(error) => {
                let error = StoreError::from(error);
                return ops.iter().map(|_| Err(error.clone())).collect();
            }
        }
    }
}
