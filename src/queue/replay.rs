//! Running stored messages again: a replay (a new message, any status) and a retry (an
//! `ESCALATED` message itself).
//!
//! A replay reads the stored request of a message, parses it as its endpoint does, and queues it
//! as a new message that names the original (`OriginalMessageGuid`, sharing its
//! `CorrelationId`), bypassing the duplicate lookup: whatever the original's status, the chain
//! runs again, through the queue, with the endpoint's retry settings (also for a synchronous
//! endpoint: nobody waits for a replay). A retry queues an `ESCALATED` message again, due now:
//! its attempts go on being numbered, and it gets `max_attempts` new ones.

use std::sync::Arc;

use time::OffsetDateTime;

use super::Queue;
use crate::audit::{Audit, AuditEvent};
use crate::clock;
use crate::message::{MessageContext, MessageId};
use crate::message_log::{Enqueued, Identity, MessageFacts, MessageLog, ToQueue};
use crate::soap::SoapVersion;
use crate::store::{Retried, Start, Status, StoreError};

/// Why a message cannot be replayed.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("there is no message with MessageGuid '{0}'")]
    NoMessage(String),
    #[error("{0}")]
    NoBody(String),
    #[error(
        "message {guid} belongs to endpoint '{endpoint}', which is not configured (any more), so there is no chain to run it through"
    )]
    EndpointGone { guid: String, endpoint: String },
    #[error("the stored request of message {guid} is not an ExternalEvent call: {reason}")]
    NotAnEvent { guid: String, reason: String },
    #[error("the message log could not be written or read")]
    Store(#[from] StoreError),
}

/// Why a message cannot be retried.
#[derive(Debug, thiserror::Error)]
pub enum RetryError {
    #[error("there is no message with MessageGuid '{0}'")]
    NoMessage(String),
    #[error(
        "message {guid} is {status}; only ESCALATED messages can be retried (Replay runs any message again as a new one)"
    )]
    NotEscalated { guid: String, status: Status },
    #[error("{0}")]
    NoBody(String),
    #[error("the message log could not be written or read")]
    Store(#[from] StoreError),
}

impl Queue {
    /// A replay that `user` started (the monitoring API's `Replay`, the monitor's button): the
    /// replay, then its record in the audit log. The one path both take, so they cannot differ.
    pub async fn replay_by(
        &self,
        log: &MessageLog,
        audit: &Audit,
        user: &str,
        guid: &str,
    ) -> Result<MessageId, ReplayError> {
        let new = self.replay(log, guid).await?;
        let details = format!("replayed as the new message {new}");
        audit.record(AuditEvent::replay(user, guid, details)).await;
        Ok(new)
    }

    /// A retry that `user` started (the monitoring API's `Retry`, the monitor's button): the
    /// retry, then its record in the audit log.
    pub async fn retry_by(&self, audit: &Audit, user: &str, guid: &str) -> Result<(), RetryError> {
        self.retry(guid).await?;
        let event = AuditEvent::retry(user, guid, "queued again, due now");
        audit.record(event).await;
        Ok(())
    }

    /// Queues the stored request of message `guid` as a new message (see the module
    /// documentation); its id.
    pub async fn replay(&self, log: &MessageLog, guid: &str) -> Result<MessageId, ReplayError> {
        let shared = &self.shared;
        let entry = shared
            .store
            .get(guid)
            .await?
            .ok_or_else(|| ReplayError::NoMessage(guid.to_owned()))?;
        let request = shared
            .store
            .payload(guid, "request")
            .await?
            .ok_or_else(|| ReplayError::NoBody(self.no_body(guid, entry.log_start)))?;
        let endpoint = shared
            .endpoints
            .get(&entry.integration_flow_name)
            .cloned()
            .ok_or_else(|| ReplayError::EndpointGone {
                guid: guid.to_owned(),
                endpoint: entry.integration_flow_name.clone(),
            })?;
        let context = MessageContext::new(
            Arc::clone(&endpoint.name),
            entry.sender.clone(),
            request.body.clone(),
        )
        .with_content_type(&request.content_type);
        let id = context.id.clone();
        let version =
            SoapVersion::from_content_type(&request.content_type).unwrap_or(SoapVersion::V11);
        let message = endpoint
            .prepare(context, version, &shared.event_types)
            .map_err(|rejected| ReplayError::NotAnEvent {
                guid: guid.to_owned(),
                reason: match *rejected {
                    crate::endpoint::Outcome::Rejected { error, .. } => error.to_string(),
                    _ => "it cannot be read".to_owned(),
                },
            })?;
        let facts = MessageFacts::of(&message);
        let who = Identity {
            id: &id,
            endpoint: &endpoint.name,
            sender: &entry.sender,
            started: clock::now(),
        };
        let place = self.place();
        let start = match place {
            Some(_) => Start::Leased {
                until: self.lease_until(),
            },
            None => Start::Queued { due: who.started },
        };
        let queued = log
            .enqueue(ToQueue {
                who: &who,
                facts: &facts,
                request: &request,
                answer: None,
                replay_of: Some((entry.guid.clone(), entry.correlation_id.clone())),
                start,
            })
            .await;
        let key = match queued {
            Enqueued::Queued(key) => key,
            Enqueued::Unrecorded(error) => return Err(ReplayError::Store(error)),
            // A replay skips the duplicate lookup and takes no claim.
            Enqueued::Duplicate(_) | Enqueued::AlreadyRunning { .. } => {
                return Err(ReplayError::Store(StoreError::Database(
                    "the replay could not be queued".to_owned(),
                )));
            }
        };
        match place {
            Some(place) => self.run_first(place, key, message, endpoint),
            None => self.wake(),
        }
        Ok(id)
    }

    /// Queues the `ESCALATED` message `guid` again (see the module documentation).
    pub async fn retry(&self, guid: &str) -> Result<(), RetryError> {
        let store = &self.shared.store;
        match store.retry(guid, clock::now()).await? {
            Retried::Queued => {
                self.wake();
                Ok(())
            }
            Retried::NoMessage => Err(RetryError::NoMessage(guid.to_owned())),
            Retried::NotEscalated(status) => Err(RetryError::NotEscalated {
                guid: guid.to_owned(),
                status,
            }),
            Retried::NoBody => {
                let entry = store
                    .get(guid)
                    .await?
                    .ok_or_else(|| RetryError::NoMessage(guid.to_owned()))?;
                Err(RetryError::NoBody(self.no_body(guid, entry.log_start)))
            }
        }
    }

    /// Why message `guid`, logged at `log_start`, has no stored request: purged after the
    /// retention, or never stored. (The monitor says it too, where Replay is not offered.)
    pub fn no_body(&self, guid: &str, log_start: OffsetDateTime) -> String {
        let retention = self.shared.payload_retention;
        if log_start < clock::now() - retention {
            format!(
                "message {} has no stored request body any more: bodies are purged after [store] payload_retention_days ({} days)",
                guid,
                retention.whole_days()
            )
        } else {
            format!(
                "message {} has no stored request body: none was kept ([store] payloads = false, or the call was refused before its body was read)",
                guid
            )
        }
    }
}
