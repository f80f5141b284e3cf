//! Everything the monitor reads from the message log, in one place: the list and its counts, one
//! message with what refers to it, a stored body. Reads go through the store's own query (the
//! one the monitoring API translates OData into), and what comes back is turned into the
//! monitor's [`Record`] here, so the pages never see the store's types.

use time::{Duration, OffsetDateTime};

use super::filter::{Criteria, PAGE_SIZE};
use crate::app::App;
use crate::store::query::{
    Direction, EventMatch, Filter, LogField, Op, Order, TallyCount, TallyQuery, Value,
};
use crate::store::{
    Attempt, Entry, ErrorInfo, ListQuery, Payload, PayloadInfo, Status, Store, StoreError,
};

/// Why the log could not answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogError {
    /// `[store] enabled = false`: there is no log.
    Off,
    /// The read failed (logged and counted here, once).
    Failed,
}

/// A log entry as the monitor shows it.
#[derive(Debug, Clone)]
pub struct Record {
    pub guid: String,
    pub correlation_id: String,
    pub transaction_id: String,
    pub external_id: Option<String>,
    pub event_type: Option<String>,
    pub endpoint: String,
    pub sender: String,
    pub status: String,
    pub custom_status: String,
    pub start: OffsetDateTime,
    pub end: Option<OffsetDateTime>,
    pub event_count: Option<i64>,
    pub repost: Option<bool>,
    /// The entry this one refers to (a duplicate's original, a running copy).
    pub original: Option<String>,
    pub has_error: bool,
}

fn record(entry: Entry) -> Record {
    Record {
        guid: entry.guid.to_string(),
        correlation_id: entry.correlation_id,
        transaction_id: entry.transaction_id,
        external_id: entry.application_message_id,
        event_type: entry.application_message_type,
        endpoint: entry.integration_flow_name,
        sender: entry.sender,
        status: entry.status.as_str().to_owned(),
        custom_status: entry.custom_status,
        start: entry.log_start,
        end: entry.log_end,
        event_count: entry.event_count,
        repost: entry.repost,
        original: entry.original_guid.map(|guid| guid.to_string()),
        has_error: entry.has_error,
    }
}

fn store(app: &App) -> Result<&Store, LogError> {
    app.store().ok_or(LogError::Off)
}

/// Awaits a read; a failure is logged once, here, and counted.
async fn read<T>(
    app: &App,
    future: impl Future<Output = Result<T, StoreError>>,
) -> Result<T, LogError> {
    future.await.map_err(|error| {
        tracing::error!(%error, "message log read failed (monitor)");
        app.metrics().store_error("read");
        LogError::Failed
    })
}

/// The store's filter of `criteria` as of `now`; the status left out unless `with_status`.
fn filter(criteria: &Criteria, now: OffsetDateTime, with_status: bool) -> Filter {
    let text = |field, value: &Option<String>| {
        value
            .as_ref()
            .map(|v| Filter::compare(field, Op::Eq, Value::Text(v.clone())))
    };
    let (from, to) = criteria.range(now);
    let terms = [
        criteria
            .status
            .filter(|_| with_status)
            .map(|s| Filter::compare(LogField::Status, Op::Eq, Value::Text(s.as_str().into()))),
        text(LogField::IntegrationFlowName, &criteria.endpoint),
        text(LogField::ApplicationMessageType, &criteria.event_type),
        text(LogField::ApplicationMessageId, &criteria.external_id),
        criteria.kind.map(|k| Filter::HasEvent(EventMatch::Kind(k))),
        criteria
            .user_id
            .clone()
            .map(|u| Filter::HasEvent(EventMatch::UserId(u))),
        from.map(|at| Filter::compare(LogField::LogStart, Op::Ge, Value::Time(at))),
        to.map(|at| Filter::compare(LogField::LogStart, Op::Lt, Value::Time(at))),
    ];
    Filter::All(terms.into_iter().flatten().collect())
}

/// A page of the list, newest first, and how many entries match in all.
pub async fn list(
    app: &App,
    criteria: &Criteria,
    now: OffsetDateTime,
) -> Result<(Vec<Record>, u64), LogError> {
    let query = ListQuery {
        filter: Some(filter(criteria, now, true)),
        order: Vec::new(),
        skip: criteria.page.saturating_mul(PAGE_SIZE),
        limit: PAGE_SIZE,
        count: true,
    };
    let page = read(app, store(app)?.list(query)).await?;
    let records = page.entries.into_iter().map(record).collect();
    Ok((records, page.total.unwrap_or(0)))
}

/// How many statuses there are: a count for each in the tally.
pub const STATUSES: usize = Status::ALL.len();

/// Entries per status and stretch of time: the counts and the chart.
#[derive(Debug, Clone)]
pub struct Tally {
    /// Where the first bucket starts.
    pub from: OffsetDateTime,
    pub bucket: Duration,
    /// For each bucket, the counts by status (in [`Status::ALL`]'s order).
    pub buckets: Vec<[u64; STATUSES]>,
}

impl Tally {
    /// The counts of the whole period, by status (in [`Status::ALL`]'s order).
    pub fn totals(&self) -> [u64; STATUSES] {
        let mut totals = [0; STATUSES];
        for bucket in &self.buckets {
            for (total, count) in totals.iter_mut().zip(bucket) {
                *total += count;
            }
        }
        totals
    }
}

/// Bucket lengths the chart uses, in minutes: the first that cuts the period into at most 60.
const BUCKET_MINUTES: [i64; 15] = [
    1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 10080, 43200, 525600,
];

/// The entries `criteria` select (whatever their status) per status and bucket of time, over
/// the criteria's period, or from the oldest such entry when the period has no start.
pub async fn tally(app: &App, criteria: &Criteria, now: OffsetDateTime) -> Result<Tally, LogError> {
    let store = store(app)?;
    let filter = filter(criteria, now, false);
    let (from, to) = criteria.range(now);
    let from = match from {
        Some(from) => from,
        None => {
            let oldest = ListQuery {
                filter: Some(filter.clone()),
                order: vec![Order {
                    field: LogField::LogStart,
                    direction: Direction::Ascending,
                }],
                limit: 1,
                ..ListQuery::default()
            };
            match read(app, store.list(oldest)).await?.entries.first() {
                Some(entry) => entry.log_start,
                None => now - Duration::hours(1),
            }
        }
    };
    let to = to.unwrap_or(now).max(from + Duration::minutes(1));
    let minutes = BUCKET_MINUTES
        .into_iter()
        .find(|m| (to - from).whole_minutes() <= m * 60)
        .unwrap_or(525600);
    let bucket = Duration::minutes(minutes);
    let millis = minutes * 60_000;
    let start = crate::clock::epoch_millis(from).div_euclid(millis) * millis;
    let start = crate::clock::from_epoch_millis(start);
    let count = usize::try_from(
        ((to - start).whole_milliseconds() + i128::from(millis) - 1) / i128::from(millis),
    )
    .unwrap_or(1)
    .clamp(1, 64);
    let query = TallyQuery {
        filter: Some(filter),
        from: start,
        bucket,
    };
    let mut buckets = vec![[0; STATUSES]; count];
    for TallyCount {
        bucket,
        status,
        count,
    } in read(app, store.tally(query)).await?
    {
        let slot = usize::try_from(bucket)
            .ok()
            .and_then(|b| buckets.get_mut(b));
        let index = Status::ALL.iter().position(|s| *s == status);
        if let (Some(slot), Some(index)) = (slot, index) {
            slot[index] += count;
        }
    }
    Ok(Tally {
        from: start,
        bucket,
        buckets,
    })
}

/// One message and what the detail page shows with it.
#[derive(Debug, Clone)]
pub struct Message {
    pub record: Record,
    pub error: Option<ErrorInfo>,
    /// Its stored bodies (none when the log keeps no bodies or they were purged).
    pub bodies: Vec<PayloadInfo>,
    /// The entries that refer to this one (duplicates of it, copies refused while it ran, its
    /// replays).
    pub referred_by: Vec<Record>,
    /// Its attempts in the delivery queue, first first; none for a message that was never queued
    /// (a synchronous one).
    pub attempts: Vec<Attempt>,
}

/// At most this many entries referring to one message are listed.
const REFERRERS: u64 = 100;

/// The message `guid`, or `None` when there is no such entry.
pub async fn message(app: &App, guid: &str) -> Result<Option<Message>, LogError> {
    let store = store(app)?;
    let Some(entry) = read(app, store.get(guid)).await? else {
        return Ok(None);
    };
    let error = if entry.has_error {
        read(app, store.error(guid)).await?.flatten()
    } else {
        None
    };
    let bodies = read(app, store.payloads(guid)).await?.unwrap_or_default();
    let referrers = ListQuery {
        filter: Some(Filter::compare(
            LogField::OriginalGuid,
            Op::Eq,
            Value::Text(guid.to_owned()),
        )),
        limit: REFERRERS,
        ..ListQuery::default()
    };
    let referred_by = read(app, store.list(referrers)).await?.entries;
    let attempts = read(app, store.attempts(guid)).await?.unwrap_or_default();
    Ok(Some(Message {
        record: record(entry),
        error,
        bodies,
        referred_by: referred_by.into_iter().map(record).collect(),
        attempts,
    }))
}

/// A stored body (`kind`: `request` or `response`).
pub async fn body(app: &App, guid: &str, kind: &str) -> Result<Option<Payload>, LogError> {
    read(app, store(app)?.payload(guid, kind)).await
}
