//! The request tree: what one `ExternalEvent` call says, read from the XML but not yet typed.
//!
//! These are plain values with nothing of XML left in them; [`crate::event`] builds typed
//! events from them. They live here, beside the parser that fills them, so that `soap` depends on
//! nothing above it.

use serde::Serialize;

use super::{EventNamespace, SoapVersion};

/// The content of one `ExternalEvent` call, before event types are recognised.
#[derive(Debug, Clone, PartialEq)]
pub struct ExternalEventRequest {
    pub version: SoapVersion,
    pub namespace: EventNamespace,
    pub meta: Meta,
    pub events: Vec<EventRecord>,
}

/// A `name`/`value` pair of `entityKeys` or `params`; also how unknown elements are kept (local
/// name, raw content).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Pair {
    pub name: String,
    pub value: Option<String>,
}

/// `externalEventMeta`: what the sender says about the delivery as a whole.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Meta {
    /// UUID of the delivery; the key for duplicate detection.
    pub external_event_id: Option<String>,
    pub event_type: Option<String>,
    /// Epoch milliseconds, as sent.
    pub published_at: Option<String>,
    pub published_by: Option<String>,
    /// `current` or `future`.
    pub effective: Option<String>,
    /// `true` when the sender re-delivers.
    pub repost: Option<bool>,
    /// Leaves the contract does not name (legacy v1 fields among them).
    pub extra: Vec<Pair>,
}

/// One `event` element, untyped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventRecord {
    /// Only legacy v1 events carry their own type; v2 types live in [`Meta::event_type`].
    pub event_type: Option<String>,
    pub event_id: Option<String>,
    pub entity_type: Option<String>,
    pub effective_start_date: Option<String>,
    pub published_at: Option<String>,
    pub published_by: Option<String>,
    pub repost: Option<bool>,
    pub entity_keys: Vec<Pair>,
    pub params: Vec<Pair>,
    /// Raw inner XML of `eventPayload`.
    pub payload: Option<String>,
    pub extra: Vec<Pair>,
}

impl EventRecord {
    /// The value of the first entity key with this name.
    pub fn key(&self, name: &str) -> Option<&str> {
        find(&self.entity_keys, name)
    }

    /// The value of the first param with this name.
    pub fn param(&self, name: &str) -> Option<&str> {
        find(&self.params, name)
    }

    /// A key, or else a param, under any of `names`. Senders differ in where they put a field
    /// (`personIdExternal` is a param in EmpJob events, a key elsewhere).
    pub fn field(&self, names: &[&str]) -> Option<String> {
        names
            .iter()
            .find_map(|name| self.key(name).or_else(|| self.param(name)))
            .map(str::to_owned)
    }
}

fn find<'a>(pairs: &'a [Pair], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|pair| pair.name == name)
        .and_then(|pair| pair.value.as_deref())
}
