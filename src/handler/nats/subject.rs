//! What one NATS message is called: its subject (the template with the message's and the event's
//! values) and its `Nats-Msg-Id` (the key JetStream deduplicates by).

use crate::config::{SubjectField, SubjectPart, SubjectTemplate};
use crate::event::Event;
use crate::message::Message;

/// Renders `template` for `event` of `message` (or for the whole message, with no event, when the
/// envelope is published; the configuration allows only message fields then).
///
/// Each value becomes one subject token of ASCII letters, digits, `-` and `_`: every other
/// character (`.` included, so a type string cannot add tokens, and `*`, `>` and white space,
/// which NATS would refuse or read as wildcards) becomes `_`, and a missing or empty value is `_`.
pub fn render(template: &SubjectTemplate, message: &Message, event: Option<&Event>) -> String {
    let mut subject = String::new();
    for part in template.parts() {
        match part {
            SubjectPart::Text(text) => subject.push_str(text),
            SubjectPart::Field(field) => push_token(&mut subject, value(field, message, event)),
        }
    }
    subject
}

fn value<'a>(
    field: &SubjectField,
    message: &'a Message,
    event: Option<&'a Event>,
) -> Option<&'a str> {
    let record = event.map(Event::record);
    match field {
        SubjectField::Endpoint => Some(&message.context.endpoint),
        SubjectField::Sender => Some(&message.context.sender),
        SubjectField::ExternalEventId => message.envelope.meta.external_event_id.as_deref(),
        SubjectField::Kind => event.map(|e| e.kind().as_str()),
        SubjectField::Type => event.and_then(|e| message.envelope.type_of(e)),
        SubjectField::EventId => record?.event_id.as_deref(),
        SubjectField::EntityType => record?.entity_type.as_deref(),
        SubjectField::Key(name) => record?.key(name),
        SubjectField::Param(name) => record?.param(name),
    }
}

fn push_token(subject: &mut String, value: Option<&str>) {
    match value.filter(|v| !v.is_empty()) {
        None => subject.push('_'),
        Some(value) => subject.extend(value.chars().map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })),
    }
}

/// The `Nats-Msg-Id` of the `position`th event (1-based) the handler publishes for `message`:
/// the event's `eventId`; without one, `<externalEventId>:<position>`, which a redelivery of the
/// message repeats too; without either, `<messageId>:<position>`, which only iflowd's own retries
/// of this delivery repeat. An id with control characters (which cannot be a header value) is
/// passed over.
pub fn event_msg_id(message: &Message, event: &Event, position: usize) -> String {
    if let Some(id) = usable(event.record().event_id.as_deref()) {
        return id.to_owned();
    }
    let base = usable(message.envelope.meta.external_event_id.as_deref())
        .unwrap_or(message.context.id.as_str());
    format!("{base}:{position}")
}

/// The `Nats-Msg-Id` of a whole envelope: its `externalEventId` (the id SuccessFactors delivers
/// it again under), else the message id.
pub fn envelope_msg_id(message: &Message) -> String {
    usable(message.envelope.meta.external_event_id.as_deref())
        .unwrap_or(message.context.id.as_str())
        .to_owned()
}

fn usable(id: Option<&str>) -> Option<&str> {
    id.filter(|id| !id.is_empty() && !id.chars().any(char::is_control))
}
