//! `respond`: shape the acknowledgement for senders that expect a particular answer.
//!
//! Acts once per message. Templates take event fields from the first event the handler sees
//! (with a `when` filter, the first matching one); a field the event lacks renders as nothing.

use async_trait::async_trait;

use super::{Handler, HandlerError};
use crate::config::{Field, Part, RespondConfig, Template};
use crate::message::{Ack, Message};

pub struct RespondHandler {
    status: Option<i32>,
    status_details: Option<Template>,
    entity_id: Option<Template>,
}

impl RespondHandler {
    pub fn new(config: &RespondConfig) -> Self {
        Self {
            status: config.status,
            status_details: config.status_details.clone(),
            entity_id: config.entity_id.clone(),
        }
    }
}

#[async_trait]
impl Handler for RespondHandler {
    async fn handle(&self, message: &Message, ack: &mut Ack) -> Result<(), HandlerError> {
        if let Some(status) = self.status {
            ack.status = status;
        }
        if let Some(template) = &self.status_details {
            ack.status_details = Some(render(template, message));
        }
        if let Some(template) = &self.entity_id {
            ack.entity_id = Some(render(template, message));
        }
        Ok(())
    }
}

/// Fills in `template` from `message` and its first event.
pub fn render(template: &Template, message: &Message) -> String {
    let context = &message.context;
    let envelope = &message.envelope;
    let meta = &envelope.meta;
    let event = envelope.events.first();
    let record = event.map(|e| e.record());
    let mut out = String::new();
    for part in template.parts() {
        let value: Option<&str> = match part {
            Part::Text(text) => Some(text),
            Part::Field(field) => match field {
                Field::MessageId => Some(context.id.as_str()),
                Field::Endpoint => Some(&context.endpoint),
                Field::Sender => Some(&context.sender),
                Field::EventCount => {
                    out.push_str(&envelope.events.len().to_string());
                    None
                }
                Field::ExternalEventId => meta.external_event_id.as_deref(),
                Field::Type => event.and_then(|e| envelope.type_of(e)),
                Field::Kind => event.map(|e| e.kind().as_str()),
                Field::EventId => record.and_then(|r| r.event_id.as_deref()),
                Field::EntityType => record.and_then(|r| r.entity_type.as_deref()),
                Field::EffectiveStartDate => record.and_then(|r| r.effective_start_date.as_deref()),
                Field::PublishedAt => record
                    .and_then(|r| r.published_at.as_deref())
                    .or(meta.published_at.as_deref()),
                Field::PublishedBy => record
                    .and_then(|r| r.published_by.as_deref())
                    .or(meta.published_by.as_deref()),
                Field::Key(name) => record.and_then(|r| r.key(name)),
                Field::Param(name) => record.and_then(|r| r.param(name)),
            },
        };
        out.push_str(value.unwrap_or(""));
    }
    out
}
