//! What the store keeps: log entries, their statuses and their stored bodies, as the
//! [`super::Backend`] interface writes and reads them.

use bytes::Bytes;
use time::OffsetDateTime;

use crate::event::EventKind;
use crate::message::MessageId;

/// CPI's message statuses, the ones iflowd reaches. Serialised as CPI writes them
/// (`COMPLETED`...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    /// The handler chain is running.
    Processing,
    /// Every handler succeeded and the sender was acknowledged.
    Completed,
    /// The call was refused or a handler failed; the sender got a fault.
    Failed,
    /// A duplicate of a completed message: answered like it, not processed again.
    Discarded,
    /// Found in `PROCESSING` at start-up: the process stopped while the chain ran (synchronous
    /// deliveries only; a queued message is run again instead).
    Abandoned,
    /// Queued: an attempt failed and the next one is scheduled.
    Retry,
    /// Queued: the last attempt failed. The dead letter: kept, never retried by itself.
    Escalated,
}

impl Status {
    pub const ALL: [Self; 7] = [
        Self::Processing,
        Self::Completed,
        Self::Failed,
        Self::Discarded,
        Self::Abandoned,
        Self::Retry,
        Self::Escalated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Processing => "PROCESSING",
            Self::Completed => "COMPLETED",
            Self::Failed => "FAILED",
            Self::Discarded => "DISCARDED",
            Self::Abandoned => "ABANDONED",
            Self::Retry => "RETRY",
            Self::Escalated => "ESCALATED",
        }
    }

    /// Case-insensitive, for the command line.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(text))
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored body: the request as received or the answer as sent.
#[derive(Debug, Clone)]
pub struct Payload {
    pub content_type: String,
    pub body: Bytes,
}

/// Why a message failed, for `ErrorInformation`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorInfo {
    pub text: String,
    /// The handler that failed, when one did (`LastErrorModelStepId`).
    pub step: Option<String>,
}

/// What the log keeps of one event of an entry: enough to find the entry by it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventFacts {
    pub kind: EventKind,
    /// The event's `userId` key (or param).
    pub user_id: Option<String>,
    /// The event's `eventId`.
    pub event_id: Option<String>,
    /// The event's own type (only legacy v1 events have one; the others have the entry's).
    pub event_type: Option<String>,
}

/// The most events of an entry whose facts are shown as custom header properties: an envelope
/// may carry many more, and the API shows a few short facts per message, not a copy of it.
pub const MAX_HEADER_EVENTS: usize = 100;
/// The longest custom header value shown, in characters (CPI keeps 200 too); longer ones are cut.
pub const MAX_HEADER_VALUE_CHARS: usize = 200;

/// A custom header property of an entry: a name/value pair an iFlow sets on a message so that
/// it can be searched for (CPI's `CustomHeaderProperties`). iflowd's are its events' facts
/// ([`EventFacts`]): for each of the first [`MAX_HEADER_EVENTS`], `eventType` (its own, else the
/// entry's), `userId` and `eventId`, those it has, each at most [`MAX_HEADER_VALUE_CHARS`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderProperty {
    pub name: String,
    pub value: String,
}

/// A new log entry. Entries of calls that end at once (a refused body, a duplicate) are written
/// final; the others start as `PROCESSING` and are completed by a [`Completion`].
#[derive(Debug, Clone)]
pub struct NewEntry {
    pub guid: MessageId,
    pub correlation_id: String,
    pub transaction_id: String,
    pub application_message_id: Option<String>,
    pub application_message_type: Option<String>,
    pub integration_flow_name: String,
    pub sender: String,
    pub status: Status,
    pub log_start: OffsetDateTime,
    pub log_end: Option<OffsetDateTime>,
    pub error: Option<ErrorInfo>,
    pub event_count: Option<i64>,
    pub repost: Option<bool>,
    /// The entry this one refers to: the original a duplicate repeated, or the copy that was
    /// still running.
    pub original_guid: Option<MessageId>,
    /// What the log keeps of each event, in the envelope's order (the monitor filters by it).
    pub events: Vec<EventFacts>,
    /// The acknowledgement (opaque JSON), kept for completed messages so a duplicate gets the
    /// same answer.
    pub ack: Option<String>,
    pub request: Option<Payload>,
    pub response: Option<Payload>,
}

/// Which entry a `PROCESSING` entry is, as [`super::Backend::begin`] wrote it: what its
/// [`Completion`] names. Opaque outside the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryKey(pub(in crate::store) i64);

/// How a `PROCESSING` entry ended.
#[derive(Debug, Clone)]
pub struct Completion {
    pub key: EntryKey,
    pub status: Status,
    pub log_end: OffsetDateTime,
    pub error: Option<ErrorInfo>,
    pub ack: Option<String>,
    pub response: Option<Payload>,
}

/// A log entry as read back.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub guid: MessageId,
    pub correlation_id: String,
    pub transaction_id: String,
    pub application_message_id: Option<String>,
    pub application_message_type: Option<String>,
    pub integration_flow_name: String,
    pub sender: String,
    pub status: Status,
    /// CPI's free-text status; iflowd writes the status here too.
    pub custom_status: String,
    pub log_start: OffsetDateTime,
    pub log_end: Option<OffsetDateTime>,
    pub event_count: Option<i64>,
    pub repost: Option<bool>,
    pub original_guid: Option<MessageId>,
    pub has_error: bool,
}

/// The completed delivery a duplicate refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Original {
    pub guid: MessageId,
    pub correlation_id: String,
    pub ack: Option<String>,
}

/// A stored body's description (`MessageStoreEntries`), without the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayloadInfo {
    pub kind: String,
    pub stored_at: OffsetDateTime,
    pub content_type: String,
}

/// What [`super::Backend::begin`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NewOrDuplicate {
    /// A new delivery: its `PROCESSING` entry is written; its [`Completion`] names this key.
    New(EntryKey),
    /// A completed delivery with the same externalEventId is within the window; nothing was
    /// written.
    Duplicate(Original),
    /// A delivery with the same externalEventId on the same endpoint is running now, as this
    /// message, on another instance sharing the log (a backend shared by several instances
    /// finds these; within one process the message log's own claims find them first); nothing
    /// was written.
    Running(crate::message::MessageId),
}
