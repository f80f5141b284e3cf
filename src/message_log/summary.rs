//! How a call ended, as its log entry says it: made from what happened (the endpoint's
//! [`Outcome`], a refusal's reason, a duplicate's original) and the answer as sent, so the HTTP
//! layer never builds log columns itself.

use crate::endpoint::Outcome;
use crate::message::{Ack, MessageId};
use crate::store::{ErrorInfo, Payload, Status};

use super::Original;

/// The most of a refused call's request body its entry keeps, in bytes: enough to see what was
/// sent, while a sender that repeats a body the size of the limit (1 MiB by default) cannot make
/// every refusal cost the log that much. The entry's error text says when the body was cut, and
/// how long it was.
pub const REFUSED_BODY_KEPT: usize = 16 * 1024;

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
    /// Keep at most this many bytes of the request body (refusals: [`REFUSED_BODY_KEPT`]).
    pub(super) request_kept: Option<usize>,
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
            request_kept: None,
        }
    }

    /// Cuts `request` to what this entry keeps of it, and says so in the error text when it
    /// did.
    pub(super) fn bound_request(&mut self, request: &mut Payload) {
        let Some(kept) = self.request_kept else {
            return;
        };
        let length = request.body.len();
        if length <= kept {
            return;
        }
        request.body = request.body.slice(..kept);
        let note = format!(
            "the request body ({length} bytes) is kept only in part: its first {kept} bytes"
        );
        match &mut self.error {
            Some(error) => {
                error.text.push_str("; ");
                error.text.push_str(&note);
            }
            None => {
                self.error = Some(ErrorInfo {
                    text: note,
                    step: None,
                })
            }
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
    /// `FAILED` with the reason, keeping at most [`REFUSED_BODY_KEPT`] bytes of its request.
    pub fn refused(reason: String, answer: Payload) -> Self {
        let error = ErrorInfo {
            text: reason,
            step: None,
        };
        Self {
            request_kept: Some(REFUSED_BODY_KEPT),
            ..Self::new(Status::Failed, Some(error), answer)
        }
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
