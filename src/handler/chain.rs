//! Running handlers in order.

use std::sync::Arc;

use super::{Handler, HandlerError};
use crate::message::{Ack, Message};

/// An endpoint's handlers, in configuration order.
#[derive(Clone, Default)]
pub struct Chain {
    steps: Vec<(Arc<str>, Arc<dyn Handler>)>,
}

/// Which handler failed, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainFailure {
    pub handler: Arc<str>,
    pub error: HandlerError,
}

impl Chain {
    pub fn new(steps: Vec<(Arc<str>, Arc<dyn Handler>)>) -> Self {
        Self { steps }
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.steps.iter().map(|(name, _)| &**name)
    }

    /// Runs every handler in order and stops at the first failure. The failure is logged here,
    /// once, with the handler's name and the answer it asks for; callers only decide what the
    /// sender sees.
    pub async fn run(&self, message: &Message, ack: &mut Ack) -> Result<(), ChainFailure> {
        for (name, handler) in &self.steps {
            if let Err(error) = handler.handle(message, ack).await {
                tracing::warn!(
                    message_id = %message.context.id,
                    endpoint = %message.context.endpoint,
                    handler = %name,
                    reply = error.reply.as_str(),
                    error = %error,
                    "handler failed"
                );
                return Err(ChainFailure {
                    handler: Arc::clone(name),
                    error,
                });
            }
        }
        Ok(())
    }
}
