//! The store's floor, for measurement only: compiled with the cargo feature `bench-floor` (never
//! in a release build) and used when `[store] bench_floor` names a file.
//!
//! A store that answers only once the call is on the disk has to write the call's bodies
//! somewhere and sync them before the answer. This mode does only that, through this writer's
//! group sync: no SQL, no entry, no duplicate lookup, nothing to query. `begin` copies the request
//! body into a buffer and returns at once; `finish` (and `insert`) copy the answer and wait for
//! the writer's sync leader, which writes the buffer to the file and syncs it: one `write` and
//! one `fdatasync` per group. `bench/store.sh` runs it as its "floor" side: what the sync before
//! the answer costs by itself with this writer on the machine at hand, whatever the SQL costs.
//!
//! The buffer is written by the sync leader, on the blocking pool. (Written from the async
//! worker, an append to the file's last page waited while the sync wrote that page back, and
//! the whole server waited with it.)

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use super::writer::{self, lock};
use super::{Begun, Payload, Shared, Store, StoreError};

pub(super) struct Floor {
    file: Mutex<File>,
    /// Bodies not yet written to the file.
    pending: Mutex<Vec<u8>>,
    rows: AtomicI64,
    path: PathBuf,
}

impl Store {
    /// Turns a freshly opened store into its floor: from now on it keeps no log and only syncs
    /// bodies to `file` (appended to, created if needed). Fails if the store was cloned already.
    pub fn into_floor(mut self, file: &Path) -> Result<Self, StoreError> {
        let failed = |message: String| StoreError::Open {
            path: file.to_path_buf(),
            message,
        };
        let opened = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(file)
            .map_err(|e| failed(e.to_string()))?;
        let shared = Arc::get_mut(&mut self.shared)
            .ok_or_else(|| failed("the store is already in use".to_owned()))?;
        shared.writer.floor = Some(Floor {
            file: Mutex::new(opened),
            pending: Mutex::new(Vec::new()),
            rows: AtomicI64::new(1),
            path: file.to_path_buf(),
        });
        Ok(self)
    }
}

impl Floor {
    fn append(&self, bodies: &[Option<&Payload>]) {
        let mut pending = lock(&self.pending);
        for body in bodies.iter().flatten() {
            pending.extend_from_slice(&body.body);
        }
    }

    pub(super) fn begin(&self, request: Option<&Payload>) -> Result<Begun, StoreError> {
        self.append(&[request]);
        Ok(Begun::Started(self.rows.fetch_add(1, Ordering::Relaxed)))
    }

    /// Appends the bodies and waits for the next sync of the file.
    pub(super) async fn end(
        &self,
        shared: &Arc<Shared>,
        bodies: &[Option<&Payload>],
    ) -> Result<(), StoreError> {
        self.append(bodies);
        writer::synced(shared).await
    }

    /// Writes what is pending and syncs the file; the sync leader's work. When that fails, the
    /// bytes go back in front of the buffer, so no later sync reports them written.
    pub(super) fn sync(&self) -> Result<(), StoreError> {
        let mut file = lock(&self.file);
        let pending = std::mem::take(&mut *lock(&self.pending));
        file.write_all(&pending)
            .and_then(|()| file.sync_data())
            .map_err(|e| {
                let mut buffer = lock(&self.pending);
                let later = std::mem::replace(&mut *buffer, pending);
                buffer.extend_from_slice(&later);
                StoreError::Database(format!("{}: {e}", self.path.display()))
            })
    }
}

#[cfg(test)]
mod tests {
    use crate::store::Status;
    use crate::store::tests::{body, completed, entry};

    use super::*;

    #[tokio::test]
    async fn the_bodies_are_in_the_file_when_finish_returns_and_no_entry_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = Store::open(dir.path()).await.unwrap();
        let file = dir.path().join("floor.bin");
        let store = store.into_floor(&file).unwrap();
        let running = entry("G1", Status::Processing);
        let since = running.log_start;
        let Begun::Started(row) = store.begin(running, Some(since)).await.unwrap() else {
            panic!("the floor looks nothing up");
        };
        assert_eq!(
            std::fs::read(&file).unwrap(),
            b"",
            "begin does not wait for the disk"
        );
        store
            .finish(completed(row, body("text/xml", "<answer/>")))
            .await
            .unwrap();
        assert_eq!(std::fs::read(&file).unwrap(), b"<x/><answer/>");
        let (store, _) = Store::open(dir.path()).await.unwrap();
        assert_eq!(store.get("G1").await.unwrap(), None, "no entry was written");
    }

    #[test]
    fn a_clone_in_use_keeps_the_store_from_becoming_a_floor() {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = runtime.block_on(Store::open(dir.path())).unwrap();
        let _clone = store.clone();
        let _guard = runtime.enter();
        let error = store
            .into_floor(&dir.path().join("floor.bin"))
            .err()
            .unwrap();
        assert!(error.to_string().contains("already in use"), "{error}");
    }
}
