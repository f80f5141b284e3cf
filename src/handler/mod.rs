//! The handler chain: what happens to a message once its envelope parsed.
//!
//! A [`Handler`] is one step (log it, archive it, ...). Each endpoint has a [`Chain`] of them,
//! built once at start-up from `[handlers.*]` by [`build`], and the chain runs them in order,
//! stopping at the first failure. A handler returns a domain result; turning a failure into a
//! SOAP fault is the HTTP layer's business.

mod build;
mod chain;
mod jsonl;
mod log;
#[cfg(test)]
mod tests;

use async_trait::async_trait;

pub use build::{BuildError, build_handlers};
pub use chain::{Chain, ChainFailure};

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

/// A handler's failure, in words an operator can act on. It is logged once by the chain and
/// never sent to the sender, who only learns the message id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct HandlerError(pub String);
