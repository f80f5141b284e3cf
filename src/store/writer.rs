//! The single writer, with group commit.
//!
//! SQLite has one writer at a time, and with `synchronous = FULL` every commit waits for the disk
//! (an `fsync` of the WAL). One transaction per request would make the disk's sync latency the
//! server's ceiling. So writes are queued, and whichever caller gets the connection first commits
//! everything queued so far in one transaction (one sync) and hands every caller its own result:
//! under load, many requests share a sync; alone, a request pays one.
//!
//! Each write runs inside its own savepoint, so one failing write (say, a constraint) does not
//! take the others in its batch down with it. Nobody learns that their write succeeded before the
//! batch's commit has returned, which is what makes "committed before answered" true.
//!
//! Callers are blocking-pool threads ([`tokio::task::spawn_blocking`]); the async workers never
//! wait here.

use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use rusqlite::Connection;

use super::{Original, StoreError};

/// The result a caller gets for its write.
type Slot = Arc<OnceLock<Result<Written, StoreError>>>;

pub(super) struct Writer {
    connection: Mutex<Connection>,
    queue: Mutex<Vec<(WriteOp, Slot)>>,
}

/// One write: a closure over the transaction.
pub(super) type WriteOp = Box<dyn Fn(&Connection) -> rusqlite::Result<Written> + Send>;

/// What a write did.
#[derive(Debug, Clone)]
pub(super) enum Written {
    /// Wrote the entry with this row id.
    Row(i64),
    /// Found this completed original instead of writing.
    Duplicate(Original),
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves nothing half-done that the next holder could see:
    // SQLite rolls back an unfinished transaction, and the queue is a plain list.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Writer {
    pub(super) fn new(connection: Connection) -> Self {
        Self {
            connection: Mutex::new(connection),
            queue: Mutex::new(Vec::new()),
        }
    }

    /// Queues `op`, then either waits for the caller that is committing (whose batch may include
    /// this write) or commits the queue itself. Returns once `op` is durable (or failed).
    pub(super) fn write(&self, op: WriteOp) -> Result<Written, StoreError> {
        let slot: Slot = Arc::new(OnceLock::new());
        lock(&self.queue).push((op, Arc::clone(&slot)));
        let mut connection = lock(&self.connection);
        if let Some(result) = slot.get() {
            return result.clone();
        }
        let batch = std::mem::take(&mut *lock(&self.queue));
        let results = commit(&mut connection, &batch);
        for ((_, waiting), result) in batch.iter().zip(results) {
            let _ = waiting.set(result);
        }
        drop(connection);
        slot.get()
            .cloned()
            .unwrap_or_else(|| Err(StoreError::Database("the write was lost".to_owned())))
    }

    /// Runs `f` with the writer's connection, outside any batch (start-up work, the purge).
    pub(super) fn with_connection<T>(&self, f: impl FnOnce(&mut Connection) -> T) -> T {
        f(&mut lock(&self.connection))
    }
}

/// Applies a batch in one transaction, one savepoint per write.
fn commit(
    connection: &mut Connection,
    batch: &[(WriteOp, Slot)],
) -> Vec<Result<Written, StoreError>> {
    let run = |connection: &mut Connection| -> rusqlite::Result<Vec<Result<Written, StoreError>>> {
        let mut tx = connection.transaction()?;
        let mut results = Vec::with_capacity(batch.len());
        for (op, _) in batch {
            let mut savepoint = tx.savepoint()?;
            match op(&savepoint) {
                Ok(written) => {
                    savepoint.commit()?;
                    results.push(Ok(written));
                }
                Err(error) => {
                    savepoint.rollback()?;
                    drop(savepoint);
                    results.push(Err(StoreError::from(error)));
                }
            }
        }
        tx.commit()?;
        Ok(results)
    };
    match run(connection) {
        Ok(results) => results,
        Err(error) => {
            let error = StoreError::from(error);
            batch.iter().map(|_| Err(error.clone())).collect()
        }
    }
}
