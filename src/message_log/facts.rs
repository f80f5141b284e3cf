//! What the log takes from a parsed message.

use crate::message::Message;
use crate::store::EventFacts;

/// The message's externalEventId, event type, number of events, repost flag, and each event's
/// kind, userId, eventId and own type: what its entry takes from the envelope (the events are
/// what the monitor finds an entry by and what the monitoring API shows as its custom header
/// properties). Calls refused before their body was parsed have none
/// ([`MessageFacts::default`]).
#[derive(Debug, Clone, Default)]
pub struct MessageFacts {
    pub external_event_id: Option<String>,
    pub event_type: Option<String>,
    pub event_count: Option<i64>,
    pub repost: Option<bool>,
    /// Each event's facts, in the envelope's order.
    pub events: Vec<EventFacts>,
}

impl MessageFacts {
    /// The envelope's externalEventId; its type, else the first event's; the number of events;
    /// whether the envelope or any event says `repost`; each event's facts.
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
            events: envelope
                .events
                .iter()
                .map(|event| EventFacts {
                    kind: event.kind(),
                    user_id: event.record().field(&["userId"]),
                    event_id: event.record().event_id.clone(),
                    event_type: event.record().event_type.clone(),
                })
                .collect(),
        }
    }
}
