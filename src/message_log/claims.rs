//! Who is running now: the in-memory claims on (endpoint, externalEventId), and the copies
//! waiting for them.
//!
//! A claim is taken before the store is asked whether a delivery is a duplicate and held until
//! its entry is final, so two copies arriving together cannot both miss each other. A copy that
//! finds the key claimed waits for the claim to end (an idempotency lock, as Svix's): the claim
//! carries a `watch` channel on which its holder publishes the completed original once its
//! entry is durable. A claim that ends otherwise (the chain failed, the entry could not be
//! written) closes the channel unpublished, and the waiting copies try to claim the key
//! themselves. The map's lock is held only to look up, insert or remove, never across an
//! `.await`. Claims live in this process only (one iflowd per data directory).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::watch;

use super::Original;
use crate::message::MessageId;

type Key = (Arc<str>, String);

/// What a claim's holder publishes when it ends: its completed entry, for the waiting copies to
/// repeat, or nothing (the channel closes) when it did not complete.
type Ended = Option<Arc<Original>>;

type Running = Arc<Mutex<HashMap<Key, Holder>>>;

/// The message holding a key, and the channel its end is published on.
struct Holder {
    id: MessageId,
    ended: watch::Receiver<Ended>,
}

/// The claims of one message log.
pub(super) struct Claims {
    running: Running,
    /// How many copies are waiting now, over all endpoints.
    waiting: Arc<watch::Sender<usize>>,
}

/// Holds an (endpoint, externalEventId) while its delivery is processed; dropping it lets the
/// next copy in, and [`Claim::completed`] answers the waiting ones.
pub(super) struct Claim {
    running: Running,
    key: Key,
    ended: watch::Sender<Ended>,
}

/// A key held by another message: who, and a way to wait for it to end.
pub(super) struct Busy {
    pub(super) holder: MessageId,
    ended: watch::Receiver<Ended>,
    waiting: Arc<watch::Sender<usize>>,
}

impl Default for Claims {
    fn default() -> Self {
        Self {
            running: Running::default(),
            waiting: Arc::new(watch::Sender::new(0)),
        }
    }
}

impl Claims {
    /// Claims `external_id` on `endpoint` for the message `id`, or says who holds it now.
    pub(super) fn claim(
        &self,
        endpoint: &Arc<str>,
        external_id: &str,
        id: &MessageId,
    ) -> Result<Claim, Busy> {
        let key = (Arc::clone(endpoint), external_id.to_owned());
        let mut running = lock(&self.running);
        if let Some(holder) = running.get(&key) {
            return Err(Busy {
                holder: holder.id.clone(),
                ended: holder.ended.clone(),
                waiting: Arc::clone(&self.waiting),
            });
        }
        let (ended, receiver) = watch::channel(None);
        let holder = Holder {
            id: id.clone(),
            ended: receiver,
        };
        running.insert(key.clone(), holder);
        Ok(Claim {
            running: Arc::clone(&self.running),
            key,
            ended,
        })
    }

    /// The number of copies waiting for a running delivery, as it changes.
    pub(super) fn waiting(&self) -> watch::Receiver<usize> {
        self.waiting.subscribe()
    }
}

impl Claim {
    /// Ends the claim of a delivery whose `COMPLETED` entry is durable: the copies waiting for
    /// it are answered as duplicates of `original`.
    pub(super) fn completed(self, original: Original) {
        self.ended.send_replace(Some(Arc::new(original)));
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        lock(&self.running).remove(&self.key);
        // The sender goes with `self`: a waiting copy that saw no original tries to claim.
    }
}

impl Busy {
    /// Waits until the holder's claim ends: the completed original, or `None` when it did not
    /// complete. Counted as waiting meanwhile (also when the caller stops waiting).
    pub(super) async fn ended(mut self) -> Ended {
        self.waiting.send_modify(|n| *n += 1);
        let _counted = Counted(&self.waiting);
        // `Err`: the sender is gone without publishing anything.
        let ended = self.ended.wait_for(Option::is_some).await;
        ended.ok().and_then(|ended| ended.clone())
    }
}

/// Takes a waiting copy off the count when dropped.
struct Counted<'a>(&'a watch::Sender<usize>);

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n = n.saturating_sub(1));
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves a plain map, complete after every operation.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn original(id: &MessageId) -> Original {
        Original {
            id: id.clone(),
            correlation_id: "correlation".to_owned(),
            ack: None,
        }
    }

    #[tokio::test]
    async fn a_copy_waits_for_the_holder_and_learns_the_completed_original() {
        let claims = Claims::default();
        let endpoint: Arc<str> = Arc::from("E");
        let (first, second) = (MessageId::new(), MessageId::new());
        let claim = claims.claim(&endpoint, "x", &first).ok().unwrap();
        let busy = claims.claim(&endpoint, "x", &second).err().unwrap();
        assert_eq!(busy.holder, first);
        let mut waiting = claims.waiting();
        let copy = tokio::spawn(busy.ended());
        waiting.wait_for(|&n| n == 1).await.unwrap();
        claim.completed(original(&first));
        let ended = copy.await.unwrap().expect("the original");
        assert_eq!(ended.id, first);
        assert_eq!(*waiting.borrow(), 0);
        assert!(claims.claim(&endpoint, "x", &second).is_ok(), "released");
    }

    #[tokio::test]
    async fn a_claim_dropped_without_completing_tells_the_copies_to_try_themselves() {
        let claims = Claims::default();
        let endpoint: Arc<str> = Arc::from("E");
        let claim = claims
            .claim(&endpoint, "x", &MessageId::new())
            .ok()
            .unwrap();
        let busy = claims
            .claim(&endpoint, "x", &MessageId::new())
            .err()
            .unwrap();
        let copy = tokio::spawn(busy.ended());
        drop(claim);
        assert!(copy.await.unwrap().is_none());
        // Published before the copy looked: it still sees the original.
        let claim = claims
            .claim(&endpoint, "x", &MessageId::new())
            .ok()
            .unwrap();
        let busy = claims
            .claim(&endpoint, "x", &MessageId::new())
            .err()
            .unwrap();
        claim.completed(original(&MessageId::new()));
        assert!(busy.ended().await.is_some());
    }
}
