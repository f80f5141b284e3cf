//! The message processing log as the request pipeline uses it: the one way a call gets its
//! entry.
//!
//! A [`MessageLog`] stands between the HTTP layer and the [`crate::store`]. For a parsed call,
//! [`MessageLog::admit`] decides whether it is new, a duplicate of a completed one, or a second
//! copy of one still running, and writes its `PROCESSING` entry before the chain runs;
//! [`MessageLog::finish`] completes the entry after. Calls that end without running the chain
//! (refused, rejected while parsing, duplicates, running copies) get their final entry at once
//! from [`MessageLog::record`]. What an entry says comes from a [`Summary`], made from what
//! happened and the answer as sent. With the store turned off the log only counts metrics.
//!
//! Duplicates are keyed on (endpoint, `externalEventId`) among `COMPLETED` entries that started
//! within the window. Within one process, a delivery whose key is already being processed is not
//! run a second time: it waits (at most `[store] duplicate_wait_ms`) for the first to end, and is
//! then a [`Admission::Duplicate`] of it when it completed, or runs itself when it did not; a wait
//! that times out is [`Admission::AlreadyRunning`] (the HTTP layer answers a fault the sender
//! retries). That check is an in-memory claim (`claims.rs`), taken before the store is asked and
//! released when the entry is final, so two concurrent deliveries cannot both miss each other.
//! Several instances sharing one PostgreSQL log also meet in the database: its `begin` finds a
//! copy running on another instance ([`NewOrDuplicate::Running`]), which is answered the same way.

mod ack;
mod claims;
mod enqueue;
mod facts;
mod open;
mod summary;

use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::watch;

pub use crate::store::{Payload, StoreError};
pub use enqueue::{Enqueued, ToQueue};
pub use facts::MessageFacts;
pub use summary::{REFUSED_BODY_KEPT, Summary};

use crate::clock;
use crate::message::{Ack, MessageId};
use crate::metrics::Metrics;
use crate::store::{self, Completion, EntryKey, NewEntry, NewOrDuplicate, Status, Store};
use claims::{Busy, Claim, Claims};

/// A call as its entry names it: its message id, where, who, and when it started.
pub struct Identity<'a> {
    pub id: &'a MessageId,
    pub endpoint: &'a Arc<str>,
    pub sender: &'a str,
    pub started: OffsetDateTime,
}

/// Whether a parsed call may run its chain, as [`MessageLog::admit`] decides.
pub enum Admission {
    /// Run it: the `PROCESSING` entry is written; [`MessageLog::finish`] completes it.
    Run(Started),
    /// Its externalEventId completed before (or while this copy waited): answer like the
    /// original, do not run.
    Duplicate(Original),
    /// A copy with the same externalEventId is being processed, as this message, and still was
    /// when this copy had waited `waited` for it.
    AlreadyRunning {
        running: MessageId,
        waited: Duration,
    },
    /// The log could not be written (why: `StoreError::Unwritable` when its disk refuses
    /// writes); nothing was recorded.
    Unrecorded(StoreError),
}

/// A call whose `PROCESSING` entry is written, until [`MessageLog::finish`] completes it.
pub struct Started {
    /// The entry in the store (none without a store).
    key: Option<EntryKey>,
    /// Keeps concurrent copies out until the entry is final.
    claim: Option<Claim>,
    endpoint: Arc<str>,
    /// What the copies waiting on the claim repeat, if this completes.
    id: MessageId,
    correlation_id: String,
}

/// The completed delivery a duplicate repeats.
#[derive(Clone)]
pub struct Original {
    pub id: MessageId,
    correlation_id: String,
    /// Its acknowledgement, when the log kept one.
    pub ack: Option<Ack>,
}

impl Original {
    fn of(stored: store::Original) -> Self {
        Self {
            id: stored.guid,
            correlation_id: stored.correlation_id,
            ack: stored.ack.as_deref().and_then(ack::from_json),
        }
    }
}

pub struct MessageLog {
    store: Option<Store>,
    /// Keep the request and the answer with each entry.
    keep_bodies: bool,
    duplicate_window: time::Duration,
    /// How long a copy waits for the running delivery of its externalEventId.
    duplicate_wait: Duration,
    claims: Claims,
    metrics: Metrics,
    /// True once the start-up work (abandonment, the queue's requeue) is done.
    started: watch::Receiver<bool>,
}

impl MessageLog {
    pub fn new(
        store: Option<Store>,
        keep_bodies: bool,
        duplicate_window: time::Duration,
        duplicate_wait: Duration,
        metrics: Metrics,
    ) -> Self {
        Self {
            store,
            keep_bodies,
            duplicate_window,
            duplicate_wait,
            claims: Claims::default(),
            metrics,
            started: watch::channel(true).1,
        }
    }

    pub fn store(&self) -> Option<&Store> {
        self.store.as_ref()
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// True once what the previous run left unfinished is dealt with (at once, unless the disk
    /// was full at start-up): the delivery queue takes no message before.
    pub fn started(&self) -> watch::Receiver<bool> {
        self.started.clone()
    }

    /// The number of copies waiting for a running delivery of their externalEventId, as it
    /// changes, so a caller can wait for copies to be waiting.
    pub fn waiting_copies(&self) -> watch::Receiver<usize> {
        self.claims.waiting()
    }

    /// Decides whether the call `who` with `facts` may run (see the module documentation) and,
    /// if it may, writes its `PROCESSING` entry with the `request` body. The duplicate lookup
    /// and the insert are one store write.
    pub async fn admit(
        &self,
        who: &Identity<'_>,
        facts: &MessageFacts,
        request: &Payload,
    ) -> Admission {
        let Some(store) = &self.store else {
            return Admission::Run(Started {
                key: None,
                claim: None,
                endpoint: Arc::clone(who.endpoint),
                id: who.id.clone(),
                correlation_id: String::new(),
            });
        };
        let claim = match &facts.external_event_id {
            None => None,
            Some(external_id) => match self.claim(who, external_id).await {
                Ok(claim) => Some(claim),
                Err(admission) => return admission,
            },
        };
        let entry = self.entry(who, facts, Status::Processing, Some(request));
        let correlation_id = entry.correlation_id.clone();
        // Without an externalEventId there is nothing to be a duplicate of.
        let since = claim.as_ref().map(|_| clock::now() - self.duplicate_window);
        match self.begin(store, who, entry, since).await {
            Ok((NewOrDuplicate::New(key), _)) => Admission::Run(Started {
                key: Some(key),
                claim,
                endpoint: Arc::clone(who.endpoint),
                id: who.id.clone(),
                correlation_id,
            }),
            Ok((NewOrDuplicate::Duplicate(original), _)) => {
                Admission::Duplicate(Original::of(original))
            }
            // Still running on another instance sharing the log when the wait ran out.
            Ok((NewOrDuplicate::Running(running), waited)) => {
                Admission::AlreadyRunning { running, waited }
            }
            Err(error) => {
                self.store_failed("begin", &error);
                Admission::Unrecorded(error)
            }
        }
    }

    /// `store.begin`, asked again while a copy of the delivery runs on another instance sharing
    /// the log (PostgreSQL), with pauses from 20 ms doubling up to 500 ms, for at most
    /// `duplicate_wait`: then it is the original's duplicate (it completed), or runs (it did not),
    /// or is still running. Asked again rather than woken: the other instance cannot wake this
    /// one, and copies within this process already waited on the claim. Also how long it waited.
    async fn begin(
        &self,
        store: &Store,
        who: &Identity<'_>,
        entry: NewEntry,
        since: Option<OffsetDateTime>,
    ) -> Result<(NewOrDuplicate, Duration), StoreError> {
        let started = tokio::time::Instant::now();
        let mut pause = Duration::from_millis(20);
        let mut waiting = None;
        loop {
            let begun = store.begin(entry.clone(), since).await?;
            let waited = started.elapsed();
            if !matches!(begun, NewOrDuplicate::Running(_)) || waited >= self.duplicate_wait {
                return Ok((begun, waited));
            }
            if waiting.is_none() {
                waiting = Some(self.metrics.copy_waiting(who.endpoint));
            }
            tokio::time::sleep(pause.min(self.duplicate_wait - waited)).await;
            pause = (pause * 2).min(Duration::from_millis(500));
        }
    }

    /// Claims `external_id` for the call `who`, waiting (at most `duplicate_wait`) while another
    /// copy holds it: the claim, or the copy's admission without one: a duplicate of the holder
    /// that completed meanwhile, or still running when the wait ran out. When a holder ends
    /// without completing, the waiting copies race for the claim, and the losers wait on.
    async fn claim(&self, who: &Identity<'_>, external_id: &str) -> Result<Claim, Admission> {
        let mut holder = None;
        let wait = async {
            loop {
                let busy: Busy = match self.claims.claim(who.endpoint, external_id, who.id) {
                    Ok(claim) => return Ok(claim),
                    Err(busy) => busy,
                };
                tracing::debug!(
                    message_id = %who.id,
                    running = %busy.holder,
                    external_event_id = external_id,
                    "a copy of this delivery is running; waiting for it"
                );
                holder = Some(busy.holder.clone());
                let _waiting = self.metrics.copy_waiting(who.endpoint);
                if let Some(original) = busy.ended().await {
                    return Err(Admission::Duplicate(Original::clone(&original)));
                }
            }
        };
        match tokio::time::timeout(self.duplicate_wait, wait).await {
            Ok(result) => result,
            Err(_elapsed) => Err(Admission::AlreadyRunning {
                running: holder.unwrap_or_else(|| who.id.clone()),
                waited: self.duplicate_wait,
            }),
        }
    }

    /// Completes the `PROCESSING` entry of `started` as `summary` says, the answer joining its
    /// stored bodies. Durable when this returns `Ok`; the claim on the externalEventId is
    /// released after.
    pub async fn finish(&self, started: Started, summary: Summary) -> Result<(), StoreError> {
        let Started {
            key,
            claim,
            endpoint,
            id,
            correlation_id,
        } = started;
        let status = summary.status;
        let acknowledgement = summary.ack;
        if let (Some(store), Some(key)) = (&self.store, key) {
            let completion = Completion {
                key,
                status,
                log_end: clock::now(),
                error: summary.error,
                ack: acknowledgement.as_ref().map(ack::to_json),
                response: self.kept(summary.answer),
            };
            let chain_error = completion.error.clone();
            if let Err(error) = store.finish(completion).await {
                self.store_failed("finish", &error);
                if let StoreError::Unwritable(_) = error {
                    complete_later(store, key, status, chain_error);
                }
                return Err(error);
            }
        }
        // Durable: the copies waiting on the claim may now be answered as its duplicates.
        if let Some(claim) = claim
            && status == Status::Completed
        {
            claim.completed(Original {
                id,
                correlation_id,
                ack: acknowledgement,
            });
        }
        self.metrics.message(&endpoint, status);
        Ok(())
    }

    /// Writes the final entry of a call that ends without running the chain, as `summary` says,
    /// with the `request` body when there is one (of a refusal, at most its first
    /// [`REFUSED_BODY_KEPT`] bytes). Durable when this returns `Ok`.
    pub async fn record(
        &self,
        who: &Identity<'_>,
        facts: &MessageFacts,
        request: Option<&Payload>,
        mut summary: Summary,
    ) -> Result<(), StoreError> {
        let status = summary.status;
        if let Some(store) = &self.store {
            let mut entry = self.entry(who, facts, status, request);
            if let Some(request) = &mut entry.request {
                summary.bound_request(request);
            }
            entry.log_end = Some(clock::now());
            entry.error = summary.error;
            entry.ack = summary.ack.as_ref().map(ack::to_json);
            entry.response = self.kept(summary.answer);
            if let Some(reference) = summary.refers_to {
                entry.original_guid = Some(reference.id);
                if let Some(correlation_id) = reference.correlation_id {
                    entry.correlation_id = correlation_id;
                }
            }
            store
                .insert(entry)
                .await
                .inspect_err(|e| self.store_failed("insert", e))?;
        }
        // Counted once written: a duplicate whose entry failed was answered with a 500.
        if status == Status::Discarded {
            self.metrics.duplicate(who.endpoint);
        }
        self.metrics.message(who.endpoint, status);
        Ok(())
    }

    fn entry(
        &self,
        who: &Identity<'_>,
        facts: &MessageFacts,
        status: Status,
        request: Option<&Payload>,
    ) -> NewEntry {
        NewEntry {
            guid: who.id.clone(),
            correlation_id: MessageId::new().to_string(),
            transaction_id: format!("{:032x}", rand::random::<u128>()),
            application_message_id: facts.external_event_id.clone(),
            application_message_type: facts.event_type.clone(),
            integration_flow_name: who.endpoint.to_string(),
            sender: who.sender.to_owned(),
            status,
            log_start: who.started,
            log_end: None,
            error: None,
            event_count: facts.event_count,
            repost: facts.repost,
            events: facts.events.clone(),
            original_guid: None,
            ack: None,
            request: request.filter(|_| self.keep_bodies).cloned(),
            response: None,
        }
    }

    /// `body`, unless bodies are not kept (`[store] payloads = false`).
    fn kept(&self, body: Payload) -> Option<Payload> {
        self.keep_bodies.then_some(body)
    }

    /// Logs a store failure once, where it is handled, and counts it. A disk that refuses
    /// writes is logged by the store when it starts and ends refusing, not for every call it
    /// refuses (a flood of calls would otherwise fill the same disk with log lines).
    fn store_failed(&self, operation: &str, error: &StoreError) {
        match error {
            StoreError::Unwritable(_) => {
                tracing::debug!(operation, %error, "message log write refused")
            }
            _ => tracing::error!(operation, %error, "message log write or read failed"),
        }
        self.metrics.store_error(operation);
    }
}

/// Completes, once the log can be written again, an entry whose completion its disk refused:
/// `FAILED`, since the sender was answered with a failure, saying how the chain ended. Without
/// it the entry would stay `PROCESSING` until the next start. Tried every
/// [`store::RETRY_INTERVAL`] until it is written or the store is dropped.
fn complete_later(store: &Store, key: EntryKey, status: Status, error: Option<store::ErrorInfo>) {
    let chain = match &error {
        Some(error) => format!("the chain ended: {}", error.text),
        None => format!("the chain ended {status}"),
    };
    let deferred = Completion {
        key,
        status: Status::Failed,
        log_end: clock::now(),
        error: Some(store::ErrorInfo {
            text: format!(
                "{chain}; but the message log could not be written then (its disk was full or failing), so the sender was answered with a failure and is to send the message again"
            ),
            step: error.and_then(|e| e.step),
        }),
        ack: None,
        response: None,
    };
    let store = std::sync::Arc::downgrade(store);
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(store::RETRY_INTERVAL).await;
            let Some(store) = store.upgrade() else { return };
            match store.finish(deferred.clone()).await {
                Err(StoreError::Unwritable(_)) => {}
                Ok(()) | Err(_) => return,
            }
        }
    });
}
