//! Whether the PostgreSQL log takes writes, as `/health` reports it, and the count of writes
//! the size-based purge waits on. A write refused for a full disk or an unreachable server makes
//! the log [`Health::Unwritable`]; the next one that goes through makes it writable again: no
//! restart, as with SQLite.

use std::sync::{Mutex, PoisonError};

use tokio::sync::watch;

use super::super::{Health, StoreError};

pub(super) struct State {
    health: Mutex<Health>,
    writes: watch::Sender<u64>,
}

impl Default for State {
    fn default() -> Self {
        Self {
            health: Mutex::new(Health::Writable),
            writes: watch::channel(0).0,
        }
    }
}

impl State {
    /// Notes how a write ended, and hands its result on.
    pub(super) fn wrote<T>(&self, result: Result<T, StoreError>) -> Result<T, StoreError> {
        {
            // A panic while holding the lock leaves a plain value, whole.
            let mut health = self.health.lock().unwrap_or_else(PoisonError::into_inner);
            match &result {
                Ok(_) => *health = Health::Writable,
                Err(StoreError::Unwritable(reason)) => {
                    if *health == Health::Writable {
                        *health = Health::Unwritable {
                            reason: reason.clone(),
                            since: crate::clock::now(),
                        };
                    }
                }
                Err(_) => {}
            }
        }
        self.writes.send_modify(|count| *count += 1);
        result
    }

    pub(super) fn health(&self) -> Health {
        self.health
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub(super) fn writes(&self) -> watch::Receiver<u64> {
        self.writes.subscribe()
    }
}
