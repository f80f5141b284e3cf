//! What the log takes from a parsed message.

use crate::message::Message;

/// The message's externalEventId, event type, number of events and repost flag: the columns of
/// its entry that come from the envelope. Calls refused before their body was parsed have none
/// ([`MessageFacts::default`]).
#[derive(Debug, Clone, Default)]
pub struct MessageFacts {
    pub external_event_id: Option<String>,
    pub event_type: Option<String>,
    pub event_count: Option<i64>,
    pub repost: Option<bool>,
}

impl MessageFacts {
    /// The envelope's externalEventId; its type, else the first event's; the number of events;
    /// and whether the envelope or any event says `repost`.
    pub fn of(message: &Message) -> Self {
        let envelope = &message.envelope;
        let meta = &envelope.meta;
        let event_type = meta.event_type.clone().or_else(|| {
            envelope
                .events
                .first()
                .and_then(|e| e.record().event_type.clone())
        });
        let flags: Vec<bool> = meta
            .repost
            .into_iter()
            .chain(envelope.events.iter().filter_map(|e| e.record().repost))
            .collect();
        Self {
            external_event_id: meta.external_event_id.clone(),
            event_type,
            event_count: i64::try_from(envelope.events.len()).ok(),
            repost: (!flags.is_empty()).then(|| flags.contains(&true)),
        }
    }
}
