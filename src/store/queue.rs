//! What the store keeps for the delivery queue, as the [`super::Backend`] queue operations write
//! and read it.
//!
//! A queued message is an ordinary log entry (its `Status` is CPI's: `PROCESSING` while it waits
//! for an attempt or runs one, `RETRY` between attempts, then `COMPLETED` or `ESCALATED`) plus its
//! place in the queue: how many attempts it has had, the next attempt's time while it waits, and
//! a lease while an attempt runs. Each attempt is kept ([`Attempt`]).
//!
//! Leases are what several instances sharing one backend need: a worker claims due messages
//! ([`super::Backend::claim`]), each with a [`Lease`] until a time; only the holder of the current
//! lease can end the attempt or renew it (the attempt number is the fencing token), and a lease
//! that runs out lets another worker claim the message again.

use std::collections::BTreeMap;

use time::OffsetDateTime;

use super::{EntryKey, ErrorInfo, Payload};
use crate::message::MessageId;

/// How a new queued message starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// Waiting for a worker to claim it, due at this time.
    Queued { due: OffsetDateTime },
    /// Claimed at once by the caller: attempt 1 starts at the entry's `LogStart`, leased until
    /// this time.
    Leased { until: OffsetDateTime },
}

/// The right to end (or renew) one attempt of one message: the entry and the attempt number,
/// which the next claim of the same message increments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lease {
    pub key: EntryKey,
    pub attempt: u32,
}

/// A message a worker claimed: what it needs to run the attempt.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub lease: Lease,
    pub guid: MessageId,
    /// The endpoint (`IntegrationFlowName`).
    pub endpoint: String,
    pub sender: String,
    pub log_start: OffsetDateTime,
    /// Failed attempts so far that count towards `max_attempts` (a retry by hand resets them).
    pub failures: u32,
    /// The request as received; `None` when it is no longer stored.
    pub request: Option<Payload>,
}

/// How an attempt ended and what becomes of its message.
#[derive(Debug, Clone)]
pub struct AttemptEnd {
    /// When the attempt's chain started (it may have waited for a worker since it was claimed).
    pub started: OffsetDateTime,
    pub at: OffsetDateTime,
    pub next: Next,
}

/// What becomes of a message after an attempt.
#[derive(Debug, Clone)]
pub enum Next {
    /// The chain succeeded: `COMPLETED`. Without `keep_request`, the request body is deleted
    /// (`[store] payloads = false`: it was kept only for the queue).
    Complete { keep_request: bool },
    /// The attempt failed; another is due at `at` (`RETRY`, with `custom_status`).
    Retry {
        error: ErrorInfo,
        at: OffsetDateTime,
        custom_status: String,
    },
    /// The attempt failed and was the last: `ESCALATED` (with `custom_status`), or `FAILED` for
    /// a message no attempt can help (its body is not an `ExternalEvent` call).
    Give {
        error: ErrorInfo,
        status: super::Status,
        custom_status: String,
    },
}

/// How an attempt went, as kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AttemptStatus {
    /// Still running (or its worker is gone and its lease not yet run out).
    Running,
    Completed,
    Failed,
    /// iflowd stopped, or the lease ran out, while it ran; it does not count as a failure.
    Interrupted,
}

impl AttemptStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "RUNNING",
            Self::Completed => "COMPLETED",
            Self::Failed => "FAILED",
            Self::Interrupted => "INTERRUPTED",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            Self::Running,
            Self::Completed,
            Self::Failed,
            Self::Interrupted,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

/// One attempt of a queued message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// 1, 2, ...
    pub number: u32,
    pub started: OffsetDateTime,
    pub ended: Option<OffsetDateTime>,
    pub status: AttemptStatus,
    pub error: Option<ErrorInfo>,
    /// When the next attempt was scheduled for, after this one failed.
    pub retry_at: Option<OffsetDateTime>,
}

/// Where a queued message is now, for the queue depth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum QueueState {
    /// Waiting for its first attempt (or for another after iflowd stopped during one).
    Queued,
    /// An attempt holds its lease.
    Running,
    /// Waiting for the next attempt after a failed one.
    Retry,
}

impl QueueState {
    pub const ALL: [Self; 3] = [Self::Queued, Self::Running, Self::Retry];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Retry => "retry",
        }
    }
}

/// Queued messages by (endpoint, state).
pub type Depth = BTreeMap<(String, QueueState), u64>;

/// Messages found running at start-up and queued again, counted by endpoint.
pub type Requeued = BTreeMap<String, u64>;

/// What [`super::Backend::retry`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Retried {
    /// The `ESCALATED` message is queued again, due now, its failures reset.
    Queued,
    /// There is no such message.
    NoMessage,
    /// The message is not `ESCALATED` (it has this status); nothing changed.
    NotEscalated(super::Status),
    /// The message's request body is no longer stored; nothing changed.
    NoBody,
}
