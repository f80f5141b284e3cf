//! `when`: a filter any handler may carry.
//!
//! A filter looks at each event of a message. The handler runs with a view of the message that
//! holds only the matching events (everything else about the message unchanged), and is skipped
//! (a success) when no event matches, including when the message has no events at all. So a
//! `forward` with `when = { kind = "change_in_manager" }` posts the Change in Manager events of a
//! mixed message and nothing else, and a `fault` drill with a filter fires only for messages with
//! at least one matching event.

use std::sync::Arc;

use async_trait::async_trait;

use super::{Handler, HandlerError};
use crate::config::When;
use crate::event::{Envelope, Event};
use crate::message::{Ack, Message};

/// Whether `event` (of `envelope`) meets every condition of `when`.
pub fn matches(when: &When, envelope: &Envelope, event: &Event) -> bool {
    let record = event.record();
    (when.kind.is_empty() || when.kind.contains(&event.kind()))
        && (when.event_type.is_empty()
            || envelope
                .type_of(event)
                .is_some_and(|t| when.event_type.iter().any(|p| p.matches(t))))
        && (when.entity_type.is_empty()
            || record
                .entity_type
                .as_deref()
                .is_some_and(|t| when.entity_type.iter().any(|e| e == t)))
        && when
            .key
            .iter()
            .all(|(name, value)| record.key(name) == Some(value.as_str()))
        && when
            .param
            .iter()
            .all(|(name, value)| record.param(name) == Some(value.as_str()))
}

/// A handler behind a `when` filter.
pub struct Filtered {
    pub name: Arc<str>,
    pub when: When,
    pub inner: Arc<dyn Handler>,
}

#[async_trait]
impl Handler for Filtered {
    async fn handle(&self, message: &Message, ack: &mut Ack) -> Result<(), HandlerError> {
        let envelope = &message.envelope;
        let matching: Vec<&Event> = envelope
            .events
            .iter()
            .filter(|event| matches(&self.when, envelope, event))
            .collect();
        if matching.is_empty() {
            tracing::debug!(
                message_id = %message.context.id,
                handler = %self.name,
                "skipped: no event matches its filter"
            );
            return Ok(());
        }
        if matching.len() == envelope.events.len() {
            return self.inner.handle(message, ack).await;
        }
        let view = Message {
            context: message.context.clone(),
            envelope: Envelope {
                request_namespace: envelope.request_namespace,
                soap_version: envelope.soap_version,
                meta: envelope.meta.clone(),
                events: matching.into_iter().cloned().collect(),
            },
        };
        self.inner.handle(&view, ack).await
    }
}
