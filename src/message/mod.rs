//! A message: one accepted call to an endpoint, and what every handler is told about it.
//!
//! This sits on top of [`crate::soap`] (the request as read, the acknowledgement's shape) and
//! [`crate::event`] (the typed events): neither of them knows about messages. [`json`] is the
//! event JSON that handlers write, each event with its message's context.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use time::OffsetDateTime;

use crate::event::Envelope;
/// The acknowledgement handlers adjust: its shape is the wire's, so it lives in [`crate::soap`].
pub use crate::soap::Ack;
use crate::soap::iso_millis;

pub mod json;
#[cfg(test)]
mod tests;

/// An opaque, CPI-style message id (`MessageGuid`): `AG` followed by 26 URL-safe characters.
///
/// The first six bytes are the millisecond clock, so ids sort roughly by arrival; the remaining
/// thirteen are random, so two instances never collide.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct MessageId(String);

impl MessageId {
    pub fn new() -> Self {
        let mut bytes = [0u8; 19];
        let millis = u64::try_from(OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000)
            .unwrap_or(0);
        bytes[..6].copy_from_slice(&millis.to_be_bytes()[2..]);
        rand::fill(&mut bytes[6..]);
        let mut id = String::with_capacity(28);
        id.push_str("AG");
        URL_SAFE_NO_PAD.encode_string(bytes, &mut id);
        Self(id)
    }

    /// An id read back (from the message log): `AG` and 26 URL-safe characters, as
    /// [`MessageId::new`] makes them; `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        let rest = text.strip_prefix("AG")?;
        let url_safe = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
        (rest.len() == 26 && rest.bytes().all(url_safe)).then(|| Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for MessageId {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Display for MessageId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What handlers know about the call besides its events.
#[derive(Debug, Clone)]
pub struct MessageContext {
    pub id: MessageId,
    /// The endpoint's (iFlow's) name.
    pub endpoint: Arc<str>,
    /// The authenticated user (CPI's `SapAuthenticatedUserName`).
    pub sender: String,
    pub received_at: OffsetDateTime,
    /// `received_at` as ISO-8601 UTC with milliseconds, formatted once.
    pub received_at_text: String,
    /// The request body exactly as received.
    pub raw_body: Bytes,
    /// The request's Content-Type as received (its `charset` says how to read the body); empty
    /// when there was none.
    pub content_type: String,
}

impl MessageContext {
    pub fn new(endpoint: Arc<str>, sender: String, raw_body: Bytes) -> Self {
        let received_at = OffsetDateTime::now_utc();
        Self {
            id: MessageId::new(),
            endpoint,
            sender,
            received_at,
            received_at_text: iso_millis(received_at),
            raw_body,
            content_type: String::new(),
        }
    }

    /// The same context for a body that came with this Content-Type.
    pub fn with_content_type(mut self, content_type: &str) -> Self {
        content_type.clone_into(&mut self.content_type);
        self
    }
}

/// A message whose envelope parsed: the input of the handler chain.
#[derive(Debug, Clone)]
pub struct Message {
    pub context: MessageContext,
    pub envelope: Envelope,
}

// `Ack` belongs to `soap` (it is the `responsePayload` of the wire); what a message's default
// acknowledgement says (how many events, which message id) is the message's business.
impl Ack {
    /// The default success answer for the message of `context`, which carried `events` events.
    pub fn accepted(context: &MessageContext, events: usize) -> Self {
        let plural = if events == 1 { "" } else { "s" };
        Self {
            entity_id: None,
            error_code: None,
            error_message: None,
            status: 200,
            status_date: OffsetDateTime::now_utc(),
            status_details: Some(format!(
                "accepted {events} event{plural}; message id {}",
                context.id
            )),
        }
    }
}
