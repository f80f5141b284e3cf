//! Typed SuccessFactors events.
//!
//! [`crate::soap`] reads the XML into generic records ([`Meta`], [`EventRecord`]); this module
//! decides what each record *is*. Recognition goes by the event's type string through the
//! configurable [`EventTypes`] table, because the exact strings today's Intelligent Services
//! Center sends are not all public. A type nobody configured is not an error: it becomes
//! [`Event::Other`], keeps everything, and is acknowledged like any other.
//!
//! Every variant carries its full [`EventRecord`], so a typed view never loses a key or param.
//!
//! `event` depends on `soap`'s request tree and on nothing above it: the event JSON, which
//! carries a message's context, is [`crate::message::json`].

mod change_in_manager;
mod hire;
mod termination;
#[cfg(test)]
mod tests;
mod types;

pub use change_in_manager::ChangeInManager;
pub use hire::Hire;
pub use termination::Termination;
pub use types::{
    DEFAULT_CHANGE_IN_MANAGER, DEFAULT_HIRE, DEFAULT_REHIRE, DEFAULT_TERMINATION, EventKind,
    EventTypes,
};

use crate::soap::{EventNamespace, EventRecord, ExternalEventRequest, Meta, SoapVersion};

/// A recognised event. Each variant keeps its whole record.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    ChangeInManager(ChangeInManager),
    Hire(Hire),
    Rehire(Hire),
    Termination(Termination),
    /// Any type not configured as one of the above: accepted, kept as is.
    Other(EventRecord),
}

impl Event {
    /// Types `record` by its type string (the event's own, or else the message's).
    pub fn recognise(record: EventRecord, meta_type: Option<&str>, types: &EventTypes) -> Self {
        let kind = record
            .event_type
            .as_deref()
            .or(meta_type)
            .map_or(EventKind::Other, |t| types.kind_of(t));
        match kind {
            EventKind::ChangeInManager => {
                Self::ChangeInManager(ChangeInManager::from_record(record))
            }
            EventKind::Hire => Self::Hire(Hire::from_record(record)),
            EventKind::Rehire => Self::Rehire(Hire::from_record(record)),
            EventKind::Termination => Self::Termination(Termination::from_record(record)),
            EventKind::Other => Self::Other(record),
        }
    }

    pub fn kind(&self) -> EventKind {
        match self {
            Self::ChangeInManager(_) => EventKind::ChangeInManager,
            Self::Hire(_) => EventKind::Hire,
            Self::Rehire(_) => EventKind::Rehire,
            Self::Termination(_) => EventKind::Termination,
            Self::Other(_) => EventKind::Other,
        }
    }

    pub fn record(&self) -> &EventRecord {
        match self {
            Self::ChangeInManager(e) => &e.record,
            Self::Hire(e) | Self::Rehire(e) => &e.record,
            Self::Termination(e) => &e.record,
            Self::Other(record) => record,
        }
    }
}

/// A whole `ExternalEvent` call with its events typed.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    pub request_namespace: EventNamespace,
    pub soap_version: SoapVersion,
    pub meta: Meta,
    pub events: Vec<Event>,
}

impl Envelope {
    pub fn recognise(request: ExternalEventRequest, types: &EventTypes) -> Self {
        let meta = request.meta;
        let events = request
            .events
            .into_iter()
            .map(|record| Event::recognise(record, meta.event_type.as_deref(), types))
            .collect();
        Self {
            request_namespace: request.namespace,
            soap_version: request.version,
            meta,
            events,
        }
    }

    /// The type string of an event: its own (v1), else the message's (v2).
    pub fn type_of<'a>(&'a self, event: &'a Event) -> Option<&'a str> {
        event
            .record()
            .event_type
            .as_deref()
            .or(self.meta.event_type.as_deref())
    }
}
