//! Endpoints: CPI's "iFlows". Each has a path, a required role and a handler chain.
//!
//! [`Endpoint::prepare`] and [`Endpoint::process`] are the protocol-free core of a call: parse and
//! type the body, run the chain, and report an [`Outcome`]. The HTTP layer authenticates before
//! them, records the call in the message log between them, and renders the outcome after them;
//! nothing here knows about status codes.

mod table;
#[cfg(test)]
mod tests;

use std::sync::Arc;

pub use table::EndpointTable;

use crate::auth::DistinguishedName;
use crate::config::{Adapter, Delivery, RetryConfig};
use crate::event::{Envelope, EventTypes};
use crate::handler::{Chain, ChainFailure};
use crate::message::{Ack, Message, MessageContext};
use crate::soap::{self, ParseError, SoapVersion};

pub struct Endpoint {
    /// The iFlow name, as in logs and monitoring.
    pub name: Arc<str>,
    pub adapter: Adapter,
    /// The request path it answers, sub-paths included (see [`EndpointTable`]).
    pub path: String,
    /// The role a caller needs.
    pub role: String,
    /// When not empty, callers are authorised by client certificate subject instead of role.
    pub client_certificates: Vec<DistinguishedName>,
    /// What a header block marked `mustUnderstand` does (`[soap]`, or the endpoint's own).
    pub must_understand: soap::MustUnderstand,
    pub chain: Chain,
    /// Whether the chain runs before the answer (`sync`) or from the delivery queue (`async`).
    pub delivery: Delivery,
    /// How the queue retries this endpoint's messages (async deliveries and replays).
    pub retry: RetryConfig,
}

/// How one call ended.
pub enum Outcome {
    /// Parsed and every handler succeeded: answer `ack`.
    Accepted { message: Message, ack: Ack },
    /// The body is not an `ExternalEvent` call: a sender fault.
    Rejected {
        context: MessageContext,
        version: SoapVersion,
        error: ParseError,
    },
    /// A handler failed: a receiver fault naming the message id.
    Failed {
        message: Message,
        failure: ChainFailure,
    },
}

impl Endpoint {
    /// Parses and types the body. `announced` is the SOAP version the `Content-Type` announced,
    /// used to answer a body too broken to tell its own. A body that is not an `ExternalEvent`
    /// call is an [`Outcome::Rejected`].
    ///
    /// Split from [`Endpoint::process`] so the message log can look at the message (its
    /// externalEventId) and record it before any handler runs.
    pub fn prepare(
        &self,
        context: MessageContext,
        announced: SoapVersion,
        types: &EventTypes,
    ) -> Result<Message, Box<Outcome>> {
        let options = soap::ReadOptions {
            charset: soap::charset(&context.content_type),
            must_understand: self.must_understand,
        };
        match soap::parse_with(&context.raw_body, options) {
            Ok(request) => Ok(Message {
                envelope: Envelope::recognise(request, types),
                context,
            }),
            Err(failure) => Err(Box::new(Outcome::Rejected {
                context,
                version: failure.version.unwrap_or(announced),
                error: failure.error,
            })),
        }
    }

    /// Runs the handler chain with a default acknowledgement the handlers may adjust.
    pub async fn process(&self, message: Message) -> Outcome {
        let mut ack = Ack::accepted(&message.context, message.envelope.events.len());
        match self.chain.run(&message, &mut ack).await {
            Ok(()) => Outcome::Accepted { message, ack },
            Err(failure) => Outcome::Failed { message, failure },
        }
    }
}
