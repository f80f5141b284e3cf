//! Queued messages: the entry of an asynchronous delivery, or of a replay, written queued.
//!
//! An asynchronous call is acknowledged once its entry is durable as queued: the duplicate
//! lookup (which also finds an original still queued: it will be processed) and the insert are
//! one store write, synced before this returns. The request body is always kept with a queued
//! message, whatever `[store] payloads` says, because the queue runs the message from it (after
//! a restart too); without `payloads` it is deleted once the message completes.

use super::{Admission, Identity, MessageFacts, MessageLog, Original, ack};
use crate::message::{Ack, MessageId};
use crate::store::{EntryKey, NewOrDuplicate, Payload, Start, Status, StoreError};

/// A message to queue: who and what it is, and what the sender was told.
pub struct ToQueue<'a> {
    pub who: &'a Identity<'a>,
    pub facts: &'a MessageFacts,
    pub request: &'a Payload,
    /// The acknowledgement the sender gets (kept for duplicates), and the answer as sent; none
    /// for a replay, which has no sender waiting.
    pub answer: Option<(&'a Ack, Payload)>,
    /// The message this one replays: its id and `CorrelationId`. A replay skips the duplicate
    /// lookup.
    pub replay_of: Option<(MessageId, String)>,
    pub start: Start,
}

/// What [`MessageLog::enqueue`] did.
pub enum Enqueued {
    /// Queued (durably): the entry, as the queue's attempts name it.
    Queued(EntryKey),
    /// Its externalEventId was completed or queued before: answer like the original.
    Duplicate(Original),
    /// A copy with the same externalEventId was being admitted, as this message, all the
    /// `waited` this one waited for it.
    AlreadyRunning {
        running: MessageId,
        waited: std::time::Duration,
    },
    /// The log could not be written (or there is none); nothing was queued.
    Unrecorded(StoreError),
}

impl MessageLog {
    /// Writes `message`'s entry queued (see the module documentation); durable when this returns
    /// [`Enqueued::Queued`].
    pub async fn enqueue(&self, message: ToQueue<'_>) -> Enqueued {
        let Some(store) = &self.store else {
            return Enqueued::Unrecorded(StoreError::Database(
                "the message log is turned off, so nothing can be queued".to_owned(),
            ));
        };
        let who = message.who;
        // Held only while the entry is written: once it is, a copy finds it (and copies that
        // waited meanwhile are answered as its duplicates).
        let claim = match (&message.replay_of, &message.facts.external_event_id) {
            (None, Some(external_id)) => match self.claim(who, external_id).await {
                Ok(claim) => Some(claim),
                Err(Admission::Duplicate(original)) => return Enqueued::Duplicate(original),
                Err(Admission::AlreadyRunning { running, waited }) => {
                    return Enqueued::AlreadyRunning { running, waited };
                }
                Err(Admission::Unrecorded(error)) => return Enqueued::Unrecorded(error),
                // `claim` admits no call to run.
                Err(Admission::Run(_)) => {
                    return Enqueued::Unrecorded(StoreError::Database(
                        "the claim was not taken".to_owned(),
                    ));
                }
            },
            _ => None,
        };
        let mut entry = self.entry(who, message.facts, Status::Processing, None);
        entry.request = Some(message.request.clone());
        let acknowledgement = message.answer.as_ref().map(|(ack, _)| Ack::clone(ack));
        if let Some((ack, answer)) = message.answer {
            entry.ack = Some(ack::to_json(ack));
            entry.response = self.kept(answer);
        }
        let since = match &message.replay_of {
            None => claim
                .as_ref()
                .map(|_| crate::clock::now() - self.duplicate_window),
            Some(_) => None,
        };
        if let Some((original, correlation_id)) = message.replay_of {
            entry.original_guid = Some(original);
            entry.correlation_id = correlation_id;
        }
        let correlation_id = entry.correlation_id.clone();
        match store.enqueue(entry, since, message.start).await {
            Ok(NewOrDuplicate::New(key)) => {
                if let Some(claim) = claim {
                    claim.completed(Original {
                        id: who.id.clone(),
                        correlation_id,
                        ack: acknowledgement,
                    });
                }
                Enqueued::Queued(key)
            }
            Ok(NewOrDuplicate::Duplicate(original)) => Enqueued::Duplicate(Original::of(original)),
            // A synchronous copy runs on another instance sharing the log (PostgreSQL; the
            // endpoint is not async there): not queued beside it.
            Ok(NewOrDuplicate::Running(running)) => Enqueued::AlreadyRunning {
                running,
                waited: std::time::Duration::ZERO,
            },
            Err(error) => {
                self.store_failed("enqueue", &error);
                Enqueued::Unrecorded(error)
            }
        }
    }

    /// Whether bodies are kept once a message is done (`[store] payloads`).
    pub fn keeps_bodies(&self) -> bool {
        self.keep_bodies
    }
}
