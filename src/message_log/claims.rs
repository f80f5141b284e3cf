//! Who is running now: the in-memory claims on (endpoint, externalEventId).
//!
//! A claim is taken before the store is asked whether a delivery is a duplicate and held until
//! its entry is final, so two copies arriving together cannot both miss each other. Claims live
//! in this process only (one iflowd per data directory).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::message::MessageId;

type Key = (Arc<str>, String);

/// The claims of one message log.
#[derive(Default)]
pub(super) struct Claims {
    running: Arc<Mutex<HashMap<Key, MessageId>>>,
}

/// Holds an (endpoint, externalEventId) while its delivery is processed; dropping it lets the
/// next copy in.
pub(super) struct Claim {
    running: Arc<Mutex<HashMap<Key, MessageId>>>,
    key: Key,
}

impl Claims {
    /// Claims `external_id` on `endpoint` for the message `id`, or names the message that holds
    /// it now.
    pub(super) fn claim(
        &self,
        endpoint: &Arc<str>,
        external_id: &str,
        id: &MessageId,
    ) -> Result<Claim, MessageId> {
        let key = (Arc::clone(endpoint), external_id.to_owned());
        let mut running = lock(&self.running);
        if let Some(holder) = running.get(&key) {
            return Err(holder.clone());
        }
        running.insert(key.clone(), id.clone());
        Ok(Claim {
            running: Arc::clone(&self.running),
            key,
        })
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        lock(&self.running).remove(&self.key);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves a plain map, complete after every operation.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
