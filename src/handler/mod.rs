//! The handler chain: what happens to a message once its envelope parsed.
//!
//! A [`Handler`] is one step (log it, archive it, forward it, ...). Each endpoint has a [`Chain`]
//! of them, built once at start-up from `[handlers.*]` by [`build`], each wrapped by [`timed`] for
//! `/metrics`, and the chain runs them in order, stopping at the first failure. A handler returns
//! a domain result; turning a failure into a SOAP fault (or, for failure drills, another answer)
//! is the HTTP layer's business.
//!
//! Messages with several events: `log`, `jsonl`, `forward` (with `body = "json"`), `nats` (with
//! `payload = "event"`) and `exec` act once per event, in order, and the first failing event fails
//! the message; `forward` with `body = "soap"`, `nats` with `payload = "envelope"`, `respond` and
//! `fault` act once per message. A handler with a `when` filter
//! sees only the events that match it (see [`filter`]) and is skipped when none does.

mod build;
mod chain;
mod exec;
mod fault;
pub mod filter;
mod forward;
mod jsonl;
mod log;
mod nats;
mod respond;
#[cfg(test)]
mod tests;
mod timed;

use async_trait::async_trait;

pub use build::{BuildError, build_handlers};
pub use chain::{Chain, ChainFailure};
pub use timed::timed;

use crate::message::{Ack, Message};

/// One step of an endpoint's chain.
///
/// Object-safe so chains can hold handlers of any type (`Arc<dyn Handler>`); `async_trait`
/// because native async trait methods cannot be called through `dyn` yet.
#[async_trait]
pub trait Handler: Send + Sync {
    /// Processes `message`. A handler may adjust the acknowledgement in `ack`; returning an
    /// error stops the chain and the sender gets a fault naming the message id.
    async fn handle(&self, message: &Message, ack: &mut Ack) -> Result<(), HandlerError>;
}

/// A handler's failure: what went wrong, in words an operator can act on, and how the sender is
/// to learn of it. The words are logged once by the chain and never sent to the sender, who only
/// learns the message id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct HandlerError {
    pub message: String,
    pub reply: FailureReply,
}

impl HandlerError {
    /// A real failure: the sender gets CPI's answer ([`FailureReply::Fault`]).
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            reply: FailureReply::Fault,
        }
    }
}

/// How the sender learns that its message failed. Handlers that really fail use `Fault`; only the
/// `fault` handler's drills choose another answer, so integrators can watch how SuccessFactors
/// reacts to each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailureReply {
    /// HTTP 500 with a SOAP fault naming the message id (plain text on `https` endpoints).
    Fault,
    /// HTTP 503, as from an unavailable tenant.
    Unavailable,
    /// HTTP 200 with an acknowledgement carrying `errorCode` and `errorMessage`.
    ErrorResponse { code: String, message: String },
    /// No answer at all: the connection is closed.
    Close,
}

impl FailureReply {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Fault => "fault",
            Self::Unavailable => "unavailable",
            Self::ErrorResponse { .. } => "error-response",
            Self::Close => "close",
        }
    }
}
