//! The message processing log as the request pipeline uses it.
//!
//! A [`MessageLog`] stands between the HTTP layer and the [`crate::store`]: it decides whether a
//! delivery is new, a duplicate of a completed one, or a second copy of one still running,
//! and writes its entry before the chain runs ([`MessageLog::begin`]); it completes the entry
//! after ([`MessageLog::finish`]); and it writes the one-step entries of calls that
//! end at once ([`MessageLog::record`]). With the store turned off it only counts metrics.
//!
//! Duplicates are keyed on (endpoint, `externalEventId`) among `COMPLETED` entries that started
//! within the window. Within one process, a delivery whose key is already being processed is not
//! run a second time: [`Begin::InFlight`] (the HTTP layer answers a fault the sender retries).
//! That check is an in-memory claim, taken before the store is asked and released when the
//! entry is final, so two concurrent deliveries cannot both miss each other.

mod ack;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use time::OffsetDateTime;

use crate::message::{Ack, Message, MessageId};
use crate::metrics::Metrics;
use crate::store::{
    Begun, EntryKey, ErrorInfo, Finish, NewEntry, Original, Payload, Status, Store, StoreError,
};

/// What the log knows about a message before it is recorded.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub application_message_id: Option<String>,
    pub application_message_type: Option<String>,
    pub event_count: Option<i64>,
    pub repost: Option<bool>,
}

impl Facts {
    /// The externalEventId, the event type, the number of events and the repost flag.
    pub fn of(message: &Message) -> Self {
        let envelope = &message.envelope;
        let meta = &envelope.meta;
        let event_type = meta.event_type.clone().or_else(|| {
            envelope
                .events
                .first()
                .and_then(|e| e.record().event_type.clone())
        });
        let flags: Vec<bool> = meta
            .repost
            .into_iter()
            .chain(envelope.events.iter().filter_map(|e| e.record().repost))
            .collect();
        Self {
            application_message_id: meta.external_event_id.clone(),
            application_message_type: event_type,
            event_count: i64::try_from(envelope.events.len()).ok(),
            repost: (!flags.is_empty()).then(|| flags.contains(&true)),
        }
    }
}

/// Whether a parsed delivery may run, as [`MessageLog::begin`] decides.
pub enum Begin {
    /// Run it: the `PROCESSING` entry is written; [`MessageLog::finish`] completes it.
    Run(Running),
    /// Its externalEventId completed before: answer like the original, do not run.
    Duplicate(Original),
    /// A copy with the same externalEventId is running now (under this `MessageGuid`).
    InFlight(MessageId),
    /// The log could not be written; nothing was recorded.
    StoreFailed,
}

type Claims = Arc<Mutex<HashMap<(Arc<str>, String), MessageId>>>;

/// A delivery whose `PROCESSING` entry is written, until [`MessageLog::finish`] completes it.
pub struct Running {
    /// The entry's key in the store (none without a store).
    key: Option<EntryKey>,
    /// Keeps concurrent copies out until the entry is final.
    claim: Option<Claim>,
}

/// Holds an (endpoint, externalEventId) while its delivery is processed.
struct Claim {
    claims: Claims,
    key: (Arc<str>, String),
}

impl Drop for Claim {
    fn drop(&mut self) {
        self.claims
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.key);
    }
}

/// A call's identity in the log.
pub struct Identity<'a> {
    pub guid: &'a MessageId,
    pub endpoint: &'a str,
    pub sender: &'a str,
    pub log_start: OffsetDateTime,
}

/// A finished call as the log keeps it.
pub struct Ending {
    pub status: Status,
    pub error: Option<ErrorInfo>,
    pub ack: Option<Ack>,
    /// The answer as sent: (content type, body).
    pub response: Option<(&'static str, Bytes)>,
    /// The delivery this one refers to: the original of a duplicate, or the copy still running.
    pub original: Option<Reference>,
}

/// Another entry an entry refers to (`OriginalMessageGuid`).
pub struct Reference {
    pub guid: MessageId,
    /// Its `CorrelationId`, which a duplicate shares with its original.
    pub correlation_id: Option<String>,
}

impl Ending {
    pub fn new(status: Status) -> Self {
        Self {
            status,
            error: None,
            ack: None,
            response: None,
            original: None,
        }
    }
}

pub struct MessageLog {
    store: Option<Store>,
    payloads: bool,
    window: time::Duration,
    claims: Claims,
    metrics: Metrics,
}

impl MessageLog {
    pub fn new(
        store: Option<Store>,
        payloads: bool,
        window: time::Duration,
        metrics: Metrics,
    ) -> Self {
        Self {
            store,
            payloads,
            window,
            claims: Claims::default(),
            metrics,
        }
    }

    pub fn store(&self) -> Option<&Store> {
        self.store.as_ref()
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Decides whether `facts`' delivery on `endpoint` is new (see the module documentation)
    /// and, if it is, writes its `PROCESSING` entry with the request body. The duplicate lookup
    /// and the insert are one store write.
    pub async fn begin(
        &self,
        who: &Identity<'_>,
        facts: &Facts,
        request: &Bytes,
        content_type: &str,
    ) -> Begin {
        let Some(store) = &self.store else {
            return Begin::Run(Running {
                key: None,
                claim: None,
            });
        };
        let claim = match &facts.application_message_id {
            None => None,
            Some(external_id) => {
                let key = (Arc::<str>::from(who.endpoint), external_id.clone());
                let mut claims = self.claims.lock().unwrap_or_else(PoisonError::into_inner);
                if let Some(running) = claims.get(&key) {
                    return Begin::InFlight(running.clone());
                }
                claims.insert(key.clone(), who.guid.clone());
                Some(Claim {
                    claims: Arc::clone(&self.claims),
                    key,
                })
            }
        };
        let entry = self.entry(
            who,
            facts,
            Status::Processing,
            Some((content_type, request)),
        );
        let since = crate::clock::now() - self.window;
        match store.begin(entry, claim.as_ref().map(|_| since)).await {
            Ok(Begun::Started(entry_key)) => Begin::Run(Running {
                key: Some(entry_key),
                claim,
            }),
            Ok(Begun::Duplicate(original)) => Begin::Duplicate(original),
            Err(error) => {
                self.store_failed("begin", &error);
                Begin::StoreFailed
            }
        }
    }

    /// Completes the `PROCESSING` entry of `running`, adding the answer to its stored bodies.
    /// Durable when this returns `Ok`; the claim on the externalEventId is released after.
    pub async fn finish(
        &self,
        who: &Identity<'_>,
        running: Running,
        ending: Ending,
    ) -> Result<(), StoreError> {
        let status = ending.status;
        let Running { key, claim } = running;
        if let (Some(store), Some(key)) = (&self.store, key) {
            let finish = Finish {
                key,
                status,
                log_end: crate::clock::now(),
                error: ending.error,
                ack: ending.ack.as_ref().map(ack::to_json),
                response: self.payload(ending.response),
            };
            store
                .finish(finish)
                .await
                .inspect_err(|e| self.store_failed("finish", e))?;
        }
        drop(claim);
        self.metrics.message(who.endpoint, status);
        Ok(())
    }

    /// Writes the final entry of a call that ends without running the chain: refused before or
    /// while parsing, a duplicate, or a copy of one still running. Durable when this returns `Ok`.
    pub async fn record(
        &self,
        who: &Identity<'_>,
        facts: &Facts,
        ending: Ending,
        request: Option<(&str, &Bytes)>,
    ) -> Result<(), StoreError> {
        let status = ending.status;
        if let Some(store) = &self.store {
            let mut entry = self.entry(who, facts, status, request);
            entry.log_end = Some(crate::clock::now());
            entry.error = ending.error;
            entry.ack = ending.ack.as_ref().map(ack::to_json);
            entry.response = self.payload(ending.response);
            if let Some(Reference {
                guid,
                correlation_id,
            }) = ending.original
            {
                entry.original_guid = Some(guid);
                if let Some(correlation_id) = correlation_id {
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

    /// The acknowledgement a duplicate repeats.
    pub fn original_ack(original: &Original) -> Option<Ack> {
        original.ack.as_deref().and_then(ack::from_json)
    }

    fn entry(
        &self,
        who: &Identity<'_>,
        facts: &Facts,
        status: Status,
        request: Option<(&str, &Bytes)>,
    ) -> NewEntry {
        NewEntry {
            guid: who.guid.clone(),
            correlation_id: MessageId::new().to_string(),
            transaction_id: format!("{:032x}", rand::random::<u128>()),
            application_message_id: facts.application_message_id.clone(),
            application_message_type: facts.application_message_type.clone(),
            integration_flow_name: who.endpoint.to_owned(),
            sender: who.sender.to_owned(),
            status,
            log_start: who.log_start,
            log_end: None,
            error: None,
            event_count: facts.event_count,
            repost: facts.repost,
            original_guid: None,
            ack: None,
            request: request
                .and_then(|(content_type, body)| self.payload(Some((content_type, body.clone())))),
            response: None,
        }
    }

    fn payload<C: AsRef<str>>(&self, body: Option<(C, Bytes)>) -> Option<Payload> {
        let (content_type, body) = body.filter(|_| self.payloads)?;
        Some(Payload {
            content_type: content_type.as_ref().to_owned(),
            body,
        })
    }

    /// Logs a store failure once, where it is handled, and counts it.
    fn store_failed(&self, operation: &str, error: &StoreError) {
        tracing::error!(operation, %error, "message log write or read failed");
        self.metrics.store_error(operation);
    }
}
