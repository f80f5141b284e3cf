//! One endpoint call from its body to its answer, recorded in the message log.
//!
//! ```text
//! prepare (parse, type) ─ not ExternalEvent ─► FAILED entry ─► Client fault
//!   │
//! admit ─ completed before ─► DISCARDED entry ─► the original's acknowledgement
//!   │                                             (+ X-Iflowd-Duplicate-Of)
//!   │   ─ same id running: wait for it ─ it completes ─► (as completed before)
//!   │                                  ─ it fails     ─► (admit again: this copy may run)
//!   │                                  ─ wait over    ─► FAILED entry ─► Server fault: retry
//!   │
//!   └ PROCESSING entry (committed) ─► handler chain ─► render the answer
//!   ─► COMPLETED / FAILED entry with the answer (committed) ─► send
//! ```
//!
//! The answer leaves only after the entry saying what it was is durable: an acknowledged
//! message is always in the log. When the log cannot be written, the sender gets a failure (and
//! retries) instead of an acknowledgement nobody could find. An `async` endpoint's call takes
//! the queued path after `prepare` instead (`queued.rs`).

mod queued;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use time::OffsetDateTime;

use super::reply::Reply;
use crate::app::App;
use crate::config::Delivery;
use crate::endpoint::{Endpoint, Outcome};
use crate::message::{Ack, Message, MessageContext, MessageId};
use crate::message_log::{
    Admission, Identity, MessageFacts, MessageLog, Original, Payload, Started, StoreError, Summary,
};
use crate::soap::SoapVersion;

/// What is known about a call once its body is in.
pub struct Call {
    pub endpoint: Arc<Endpoint>,
    pub sender: String,
    /// The SOAP version the `Content-Type` announced.
    pub version: SoapVersion,
    pub content_type: String,
    pub started: OffsetDateTime,
}

/// Processes and records one call. Runs as its own task (see `soap::receive`), so a sender that
/// hangs up does not cut the chain or the log entry short.
pub async fn run(app: App, call: Call, body: Bytes) -> Reply {
    let endpoint = &call.endpoint;
    let context = MessageContext::new(Arc::clone(&endpoint.name), call.sender.clone(), body)
        .with_content_type(&call.content_type);
    let id = context.id.clone();
    let recording = Recording {
        log: app.message_log(),
        endpoint,
        who: Identity {
            id: &id,
            endpoint: &endpoint.name,
            sender: &call.sender,
            started: call.started,
        },
        request: Payload {
            content_type: call.content_type.clone(),
            body: context.raw_body.clone(),
        },
    };
    let message = match endpoint.prepare(context, call.version, app.event_types()) {
        Ok(message) => message,
        Err(rejected) => return recording.rejected(&rejected).await,
    };
    let facts = MessageFacts::of(&message);
    if endpoint.delivery == Delivery::Async {
        return recording.enqueue(&app, endpoint, message, &facts).await;
    }
    match recording.admit(&facts).await {
        Admission::Run(started) => {
            let outcome = endpoint.process(message).await;
            recording.finish(started, &outcome).await
        }
        Admission::Duplicate(original) => recording.duplicate(&message, &facts, original).await,
        Admission::AlreadyRunning { running, waited } => {
            recording
                .already_running(&message, &facts, &running, waited)
                .await
        }
        Admission::Unrecorded(StoreError::Unwritable(_)) => {
            Reply::log_unwritable(endpoint.adapter, message.envelope.soap_version, &id, false)
        }
        Admission::Unrecorded(_) => {
            Reply::internal_error(endpoint.adapter, message.envelope.soap_version, &id)
        }
    }
}

/// A call on its way into the log: who it is, and the request as received.
struct Recording<'a> {
    log: &'a MessageLog,
    endpoint: &'a Endpoint,
    who: Identity<'a>,
    request: Payload,
}

impl Recording<'_> {
    /// Whether the parsed call may run (see [`MessageLog::admit`]).
    async fn admit(&self, facts: &MessageFacts) -> Admission {
        self.log.admit(&self.who, facts, &self.request).await
    }

    /// A body that is not an `ExternalEvent` call: a `FAILED` entry and a `Client` fault.
    async fn rejected(&self, outcome: &Outcome) -> Reply {
        let reply = Reply::of_outcome(self.endpoint, outcome);
        let summary = Summary::of_outcome(outcome, reply.as_stored());
        // Nothing was accepted, so a failed write does not change the answer (it is logged).
        let _ = self
            .log
            .record(
                &self.who,
                &MessageFacts::default(),
                Some(&self.request),
                summary,
            )
            .await;
        reply
    }

    /// Renders the answer of a processed message and completes its entry with it.
    async fn finish(&self, started: Started, outcome: &Outcome) -> Reply {
        let reply = Reply::of_outcome(self.endpoint, outcome);
        let summary = Summary::of_outcome(outcome, reply.as_stored());
        match self.log.finish(started, summary).await {
            Ok(()) => reply,
            // The chain ran, but without a durable COMPLETED entry the sender must not be told
            // so: it retries, and the message is processed again (at least once, never lost).
            Err(error) => match outcome {
                Outcome::Accepted { message, .. } | Outcome::Failed { message, .. } => {
                    self.store_failure(message, &error, true)
                }
                Outcome::Rejected { .. } => reply,
            },
        }
    }

    /// A duplicate of a completed message: the original's acknowledgement (or, if the log kept
    /// none, the default one) in this request's SOAP version, naming the original in
    /// `X-Iflowd-Duplicate-Of`, and a `DISCARDED` entry.
    async fn duplicate(
        &self,
        message: &Message,
        facts: &MessageFacts,
        original: Original,
    ) -> Reply {
        let ack = original
            .ack
            .clone()
            .unwrap_or_else(|| Ack::accepted(&message.context, message.envelope.events.len()));
        let reply =
            Reply::acknowledged(&message.envelope, &ack, self.who.id).duplicate_of(&original.id);
        tracing::info!(
            message_id = %self.who.id,
            endpoint = %self.endpoint.name,
            original = %original.id,
            external_event_id = facts.external_event_id.as_deref().unwrap_or(""),
            "duplicate delivery answered like the original, not processed again"
        );
        let summary = Summary::duplicate(&original, ack, reply.as_stored());
        match self
            .log
            .record(&self.who, facts, Some(&self.request), summary)
            .await
        {
            Ok(()) => reply,
            Err(error) => self.store_failure(message, &error, false),
        }
    }

    /// A copy of a message still being processed when its wait ran out: not run, a `FAILED`
    /// entry naming the running one, and a fault the sender retries.
    async fn already_running(
        &self,
        message: &Message,
        facts: &MessageFacts,
        running: &MessageId,
        waited: Duration,
    ) -> Reply {
        let text = format!(
            "The message with externalEventId {} is still being processed (MPL ID {running}); this delivery waited {} ms for it and was not processed. Retry later. The MPL ID for this call is : {}",
            facts.external_event_id.as_deref().unwrap_or(""),
            waited.as_millis(),
            self.who.id
        );
        let version = message.envelope.soap_version;
        let reply = Reply::failure(self.endpoint.adapter, version, &text, self.who.id);
        let summary = Summary::already_running(running.clone(), text, reply.as_stored());
        let _ = self
            .log
            .record(&self.who, facts, Some(&self.request), summary)
            .await;
        reply
    }

    /// The answer when the log could not take the call's entry: what the sender is told
    /// depends on why (a disk that refuses writes, or another failure); `entry` says whether the
    /// call has one (its `PROCESSING` entry).
    fn store_failure(&self, message: &Message, error: &StoreError, entry: bool) -> Reply {
        let version = message.envelope.soap_version;
        match error {
            StoreError::Unwritable(_) => {
                Reply::log_unwritable(self.endpoint.adapter, version, self.who.id, entry)
            }
            _ => Reply::internal_error(self.endpoint.adapter, version, self.who.id),
        }
    }
}
