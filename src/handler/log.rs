//! `log`: one structured line per event.

use async_trait::async_trait;

use super::{Handler, HandlerError};
use crate::message::{Ack, Message};

pub struct LogHandler;

#[async_trait]
impl Handler for LogHandler {
    async fn handle(&self, message: &Message, _ack: &mut Ack) -> Result<(), HandlerError> {
        let context = &message.context;
        let envelope = &message.envelope;
        for event in &envelope.events {
            let record = event.record();
            tracing::info!(
                target: "iflowd::event",
                message_id = %context.id,
                endpoint = %context.endpoint,
                sender = %context.sender,
                kind = event.kind().as_str(),
                event_type = envelope.type_of(event).unwrap_or(""),
                external_event_id = envelope.meta.external_event_id.as_deref().unwrap_or(""),
                event_id = record.event_id.as_deref().unwrap_or(""),
                entity_type = record.entity_type.as_deref().unwrap_or(""),
                user_id = record.key("userId").or_else(|| record.param("userId")).unwrap_or(""),
                "event received"
            );
        }
        Ok(())
    }
}
