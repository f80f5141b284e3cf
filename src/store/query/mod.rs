//! The store's own query over the message log: which entries (a [`Filter`] over the log's
//! [`LogField`]s), in which order, which page.
//!
//! This is the store's language, not the API's: the monitoring API translates its OData
//! `$filter`/`$orderby` into it (`http::odata`), `iflowd messages` builds one directly, and a
//! backend turns it into its own query (`store/sqlite/query.rs`: parameterised SQL). It holds
//! typed values only, no SQL, so that another backend can implement the same reads.
//!
//! The meaning every backend keeps, which is OData's and the in-memory evaluator's
//! (`odata::eval`):
//!
//! * `Eq`/`Ne` are null-safe: `Eq Null` matches a missing value, `Ne x` matches every entry whose
//!   value differs from `x`, a missing one included.
//! * An order comparison (`Lt`, `Le`, `Gt`, `Ge`) never holds for a missing value, and
//!   `Not` of a comparison that does not hold (for whatever reason) holds.
//! * `All` of no filters holds for every entry, `Any` of none for no entry (`and`/`or` over
//!   nothing).
//! * Text compares by its UTF-8 bytes; times in whole milliseconds.
//!
//! A backend may refuse a query that is beyond its own limits (too deep, too many terms) with
//! [`super::StoreError::TooComplex`]: the caller's query is at fault, not the log.

pub(super) mod boolean;
#[cfg(test)]
mod tests;

use time::OffsetDateTime;

use super::Entry;
use crate::event::EventKind;

/// A field of a log entry that a query can compare or sort by: one per [`Entry`] field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogField {
    Guid,
    CorrelationId,
    TransactionId,
    ApplicationMessageId,
    ApplicationMessageType,
    IntegrationFlowName,
    Sender,
    Status,
    CustomStatus,
    LogStart,
    LogEnd,
    EventCount,
    Repost,
    OriginalGuid,
}

/// How a field is compared with a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// A value to compare a field with, of the field's type (text for the texts, a time for
/// `LogStart`/`LogEnd`, a number for `EventCount`, a boolean for `Repost`), or `Null`.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Text(String),
    Time(OffsetDateTime),
    Int(i64),
    Bool(bool),
}

/// Which entries a query selects.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// Every one of these holds.
    All(Vec<Filter>),
    /// At least one of these holds.
    Any(Vec<Filter>),
    Not(Box<Filter>),
    Compare {
        field: LogField,
        op: Op,
        value: Value,
    },
    /// At least one event of the entry is this one. An envelope carries any number of events,
    /// so these facts are not fields of the entry; entries without events never match.
    HasEvent(EventMatch),
}

/// What an event of an entry must be, for [`Filter::HasEvent`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventMatch {
    Kind(EventKind),
    /// The event's `userId`, exactly.
    UserId(String),
}

impl Filter {
    /// `field op value`.
    pub fn compare(field: LogField, op: Op, value: Value) -> Self {
        Self::Compare { field, op, value }
    }

    /// Holds for every entry.
    pub fn always() -> Self {
        Self::All(Vec::new())
    }

    /// Holds for no entry.
    pub fn never() -> Self {
        Self::Any(Vec::new())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Ascending,
    Descending,
}

/// One sort key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Order {
    pub field: LogField,
    pub direction: Direction,
}

/// A page of log entries.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    /// `None`: every entry.
    pub filter: Option<Filter>,
    /// Sort keys, first one first; ties (and an empty list) go newest first, so that pages
    /// never overlap or skip.
    pub order: Vec<Order>,
    pub skip: u64,
    pub limit: u64,
    /// Also count every match (`$inlinecount=allpages`, `$count`).
    pub count: bool,
}

/// How many entries a filter selects, by status and by stretch of time: the monitor's counts and
/// chart.
#[derive(Debug, Clone)]
pub struct TallyQuery {
    pub filter: Option<Filter>,
    /// Where the first bucket starts; entries that started before it are not counted.
    pub from: OffsetDateTime,
    /// The length of each bucket (at least a millisecond).
    pub bucket: time::Duration,
}

/// The number of entries of one status whose `LogStart` falls in one bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TallyCount {
    /// The bucket's index: it starts at `from + index * bucket`.
    pub bucket: u64,
    pub status: super::Status,
    pub count: u64,
}

/// What a [`ListQuery`] found.
#[derive(Debug, Clone, Default)]
pub struct Page {
    pub entries: Vec<Entry>,
    /// The number of matches, when the query asked for it.
    pub total: Option<u64>,
}
