//! How a call ended, as its log entry says it: made from what happened (the endpoint's
//! [`Outcome`], a refusal's reason, a duplicate's original) and the answer as sent, so the HTTP
//! layer never builds log columns itself.

use crate::endpoint::Outcome;
use crate::message::{Ack, MessageId};
use crate::store::{ErrorInfo, Payload, Status};

use super::Original;

/// A call's final entry, before it is written: by [`super::MessageLog::finish`] for a call that
/// ran its chain, by [`super::MessageLog::record`] for one that ended at once.
pub struct Summary {
    pub(super) status: Status,
    pub(super) error: Option<ErrorInfo>,
    /// Kept with `COMPLETED` entries, so a duplicate gets the same acknowledgement.
    pub(super) ack: Option<Ack>,
    /// The answer as sent.
    pub(super) answer: Payload,
    pub(super) refers_to: Option<Reference>,
}

/// Another entry an entry refers to (`OriginalMessageGuid`).
pub(super) struct Reference {
    pub(super) id: MessageId,
    /// Its `CorrelationId`, which a duplicate shares with its original.
    pub(super) correlation_id: Option<String>,
}

impl Summary {
    fn new(status: Status, error: Option<ErrorInfo>, answer: Payload) -> Self {
        Self {
            status,
            error,
            ack: None,
            answer,
            refers_to: None,
        }
    }

    /// A call the endpoint processed (or rejected while parsing): `COMPLETED` with its
    /// acknowledgement, or `FAILED` with the handler that failed and why, or with what is wrong
    /// with the body.
    pub fn of_outcome(outcome: &Outcome, answer: Payload) -> Self {
        match outcome {
            Outcome::Accepted { ack, .. } => Self {
                ack: Some(ack.clone()),
                ..Self::new(Status::Completed, None, answer)
            },
            Outcome::Failed { failure, .. } => {
                let error = ErrorInfo {
                    text: format!("handler '{}' failed: {}", failure.handler, failure.error),
                    step: Some(failure.handler.to_string()),
                };
                Self::new(Status::Failed, Some(error), answer)
            }
            Outcome::Rejected { error, .. } => Self::refused(error.to_string(), answer),
        }
    }

    /// A call refused before any handler ran (its media type, size or time, or its body):
    /// `FAILED` with the reason.
    pub fn refused(reason: String, answer: Payload) -> Self {
        let error = ErrorInfo {
            text: reason,
            step: None,
        };
        Self::new(Status::Failed, Some(error), answer)
    }

    /// A duplicate, answered with `ack` like its `original` and not processed again:
    /// `DISCARDED`, naming the original and sharing its `CorrelationId`.
    pub fn duplicate(original: &Original, ack: Ack, answer: Payload) -> Self {
        Self {
            ack: Some(ack),
            refers_to: Some(Reference {
                id: original.id.clone(),
                correlation_id: Some(original.correlation_id.clone()),
            }),
            ..Self::new(Status::Discarded, None, answer)
        }
    }

    /// A copy refused because the message `running` with the same externalEventId is being
    /// processed now: `FAILED` with the reason, naming the running one.
    pub fn already_running(running: MessageId, reason: String, answer: Payload) -> Self {
        Self {
            refers_to: Some(Reference {
                id: running,
                correlation_id: None,
            }),
            ..Self::refused(reason, answer)
        }
    }
}
