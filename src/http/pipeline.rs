//! One endpoint call from its body to its answer, recorded in the message log.
//!
//! ```text
//! prepare (parse, type) ─ not ExternalEvent ─► FAILED entry ─► Client fault
//!   │
//! begin ─ completed before ─► DISCARDED entry ─► the original's acknowledgement
//!   │   ─ same id running  ─► FAILED entry    ─► Server fault: retry later
//!   │
//!   └ PROCESSING entry (committed) ─► handler chain ─► render the answer
//!   ─► COMPLETED / FAILED entry with the answer (committed) ─► send
//! ```
//!
//! The answer leaves only after the entry saying what it was is durable: an acknowledged
//! message is always in the log. When the log cannot be written, the sender gets a failure (and
//! retries) instead of an acknowledgement nobody could find.

use std::sync::Arc;

use bytes::Bytes;
use time::OffsetDateTime;

use super::reply::Reply;
use crate::app::App;
use crate::endpoint::{Endpoint, Outcome};
use crate::message::{Ack, MessageContext};
use crate::message_log::{Begin, Ending, Facts, Identity, MessageLog, Reference, Running};
use crate::soap::SoapVersion;
use crate::store::{ErrorInfo, Status};

/// What is known about a call once its body is in.
pub struct Call {
    pub endpoint: Arc<Endpoint>,
    pub sender: String,
    /// The SOAP version the `Content-Type` announced.
    pub version: SoapVersion,
    pub content_type: String,
    pub started: OffsetDateTime,
}

/// Processes and records one call. Runs as its own task (see `soap::post`), so a sender that
/// hangs up does not cut the chain or the log entry short.
pub async fn run(app: App, call: Call, body: Bytes) -> Reply {
    let log = app.message_log();
    let endpoint = &call.endpoint;
    let context = MessageContext::new(Arc::clone(&endpoint.name), call.sender.clone(), body);
    let id = context.id.clone();
    let request = context.raw_body.clone();
    let who = Identity {
        guid: &id,
        endpoint: &endpoint.name,
        sender: &call.sender,
        log_start: call.started,
    };
    let request_payload = Some((call.content_type.as_str(), &request));

    let message = match endpoint.prepare(context, call.version, app.event_types()) {
        Ok(message) => message,
        Err(outcome) => {
            let answer = Reply::of_outcome(endpoint, &outcome);
            let mut ending = Ending::new(Status::Failed);
            if let Outcome::Rejected { error, .. } = &*outcome {
                ending.error = Some(ErrorInfo {
                    text: error.to_string(),
                    step: None,
                });
            }
            ending.response = Some((answer.content_type, Bytes::from(answer.body.clone())));
            // Nothing was accepted, so a failed write does not change the answer (it is logged).
            let _ = log
                .record(&who, &Facts::default(), ending, request_payload)
                .await;
            return answer;
        }
    };
    let facts = Facts::of(&message);
    let version = message.envelope.soap_version;

    match log.begin(&who, &facts, &request, &call.content_type).await {
        Begin::Run(running) => {
            let outcome = endpoint.process(message).await;
            finish(log, endpoint, &who, running, &outcome).await
        }
        Begin::Duplicate(original) => {
            let ack = MessageLog::original_ack(&original)
                .unwrap_or_else(|| Ack::accepted(&message.context, message.envelope.events.len()));
            let answer = Reply::acknowledged(&message.envelope, &ack, &id);
            tracing::info!(
                message_id = %id,
                endpoint = %endpoint.name,
                original = %original.guid,
                external_event_id = facts.application_message_id.as_deref().unwrap_or(""),
                "duplicate delivery answered like the original, not processed again"
            );
            let mut ending = Ending::new(Status::Discarded);
            ending.ack = Some(ack);
            ending.response = Some((answer.content_type, Bytes::from(answer.body.clone())));
            ending.original = Some(Reference {
                guid: original.guid,
                correlation_id: Some(original.correlation_id),
            });
            match log.record(&who, &facts, ending, request_payload).await {
                Ok(()) => answer,
                Err(_) => Reply::internal_error(endpoint.adapter, version, &id),
            }
        }
        Begin::InFlight(running) => {
            let text = format!(
                "The message with externalEventId {} is still being processed (MPL ID {running}); this delivery was not processed. Retry later. The MPL ID for this call is : {id}",
                facts.application_message_id.as_deref().unwrap_or("")
            );
            let answer = Reply::failure(endpoint.adapter, version, &text, &id);
            let mut ending = Ending::new(Status::Failed);
            ending.error = Some(ErrorInfo {
                text: text.clone(),
                step: None,
            });
            ending.response = Some((answer.content_type, Bytes::from(answer.body.clone())));
            ending.original = Some(Reference {
                guid: running,
                correlation_id: None,
            });
            let _ = log.record(&who, &facts, ending, request_payload).await;
            answer
        }
        Begin::StoreFailed => Reply::internal_error(endpoint.adapter, version, &id),
    }
}

/// Renders the answer of a processed message and completes its entry with it.
async fn finish(
    log: &MessageLog,
    endpoint: &Endpoint,
    who: &Identity<'_>,
    running: Running,
    outcome: &Outcome,
) -> Reply {
    let answer = Reply::of_outcome(endpoint, outcome);
    let mut ending = match outcome {
        Outcome::Accepted { ack, .. } => {
            let mut ending = Ending::new(Status::Completed);
            ending.ack = Some(ack.clone());
            ending
        }
        Outcome::Failed { failure, .. } => {
            let mut ending = Ending::new(Status::Failed);
            ending.error = Some(ErrorInfo {
                text: format!("handler '{}' failed: {}", failure.handler, failure.error),
                step: Some(failure.handler.to_string()),
            });
            ending
        }
        Outcome::Rejected { error, .. } => {
            let mut ending = Ending::new(Status::Failed);
            ending.error = Some(ErrorInfo {
                text: error.to_string(),
                step: None,
            });
            ending
        }
    };
    ending.response = Some((answer.content_type, Bytes::from(answer.body.clone())));
    match log.finish(who, running, ending).await {
        Ok(()) => answer,
        // The chain ran, but without a durable COMPLETED entry the sender must not be told so:
        // it retries, and the message is processed again (at least once, never lost).
        Err(_) => match outcome {
            Outcome::Accepted { message, .. } | Outcome::Failed { message, .. } => {
                Reply::internal_error(endpoint.adapter, message.envelope.soap_version, who.guid)
            }
            Outcome::Rejected { .. } => answer,
        },
    }
}
