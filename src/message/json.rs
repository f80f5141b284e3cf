//! The JSON shape of one event: what `iflowd parse` prints and what every handler that emits
//! events (`jsonl`, `forward`, `exec`) writes. It is documented in docs/event-json.md;
//! change both together.
//!
//! One object per event, flat, with the message-level fields repeated so each line stands on its
//! own. Absent values are `null`, never missing, so consumers see one shape.

use serde::ser::{Serialize, SerializeMap, Serializer};

use super::MessageContext;
use crate::event::{ChangeInManager, Envelope, Event, EventKind, Hire, Termination};
use crate::soap::{EventNamespace, Pair};

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventJson<'a> {
    /// Message context; left out by `iflowd parse`, which has no message.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    context: Option<ContextJson<'a>>,
    namespace: EventNamespace,
    external_event_id: Option<&'a str>,
    #[serde(rename = "type")]
    event_type: Option<&'a str>,
    kind: EventKind,
    event_id: Option<&'a str>,
    entity_type: Option<&'a str>,
    effective_start_date: Option<&'a str>,
    published_at: Option<&'a str>,
    published_by: Option<&'a str>,
    effective: Option<&'a str>,
    repost: bool,
    data: Data<'a>,
    keys: PairMap<'a>,
    params: PairMap<'a>,
    payload: Option<&'a str>,
    extra: PairMap<'a>,
    meta_extra: PairMap<'a>,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct ContextJson<'a> {
    message_id: &'a str,
    endpoint: &'a str,
    sender: &'a str,
    received_at: &'a str,
}

/// The kind-specific typed fields; `null` for `other`.
#[derive(serde::Serialize)]
#[serde(untagged)]
enum Data<'a> {
    ChangeInManager(&'a ChangeInManager),
    Hire(&'a Hire),
    Termination(&'a Termination),
    None(Option<()>),
}

/// Name/value pairs as a JSON object. A name repeated within one list keeps its first value
/// (the raw request keeps them all).
struct PairMap<'a>(&'a [Pair]);

impl Serialize for PairMap<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        for (i, pair) in self.0.iter().enumerate() {
            if self.0[..i].iter().any(|earlier| earlier.name == pair.name) {
                continue;
            }
            map.serialize_entry(&pair.name, &pair.value)?;
        }
        map.end()
    }
}

impl<'a> EventJson<'a> {
    pub fn new(
        context: Option<&'a MessageContext>,
        envelope: &'a Envelope,
        event: &'a Event,
    ) -> Self {
        let record = event.record();
        let meta = &envelope.meta;
        let data = match event {
            Event::ChangeInManager(e) => Data::ChangeInManager(e),
            Event::Hire(e) | Event::Rehire(e) => Data::Hire(e),
            Event::Termination(e) => Data::Termination(e),
            Event::Other(_) => Data::None(None),
        };
        Self {
            context: context.map(|c| ContextJson {
                message_id: c.id.as_str(),
                endpoint: &c.endpoint,
                sender: &c.sender,
                received_at: &c.received_at_text,
            }),
            namespace: envelope.request_namespace,
            external_event_id: meta.external_event_id.as_deref(),
            event_type: envelope.type_of(event),
            kind: event.kind(),
            event_id: record.event_id.as_deref(),
            entity_type: record.entity_type.as_deref(),
            effective_start_date: record.effective_start_date.as_deref(),
            published_at: record
                .published_at
                .as_deref()
                .or(meta.published_at.as_deref()),
            published_by: record
                .published_by
                .as_deref()
                .or(meta.published_by.as_deref()),
            effective: meta.effective.as_deref(),
            repost: record.repost.or(meta.repost).unwrap_or(false),
            data,
            keys: PairMap(&record.entity_keys),
            params: PairMap(&record.params),
            payload: record.payload.as_deref(),
            extra: PairMap(&record.extra),
            meta_extra: PairMap(&meta.extra),
        }
    }
}

/// Appends one JSON line per event of `envelope` to `out`.
pub fn write_lines(out: &mut Vec<u8>, context: Option<&MessageContext>, envelope: &Envelope) {
    for event in &envelope.events {
        // Serialising borrowed strings and maps into a Vec cannot fail.
        if serde_json::to_writer(&mut *out, &EventJson::new(context, envelope, event)).is_ok() {
            out.push(b'\n');
        }
    }
}
