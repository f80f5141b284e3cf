//! `iflowd messages --follow`: the table, then a row for every entry written after, and again
//! when an entry's status changes (`PROCESSING`, then `COMPLETED`), until Ctrl-C.
//!
//! The log belongs to another process (the server), so this reads it the only way it can: it
//! asks the store again on an interval. Each read covers the entries that started within a
//! window (`slack`) before the newest one seen, and from the oldest one still `PROCESSING`: an
//! entry is written at most `slack` after it started (a body read, a copy waiting for its
//! original), and a `PROCESSING` one may end any time later. Rows already printed with the same
//! status are not printed again.

use std::collections::HashMap;
use std::io::Write;
use std::time::Duration;

use time::OffsetDateTime;

use super::table::{Columns, ERROR_WIDTH, HEADER, Row};
use crate::clock;
use crate::message::MessageId;
use crate::store::query::{Direction, Filter, LogField, Op, Order, Value};
use crate::store::{Entry, ListQuery, Status, Store};

/// How often the store is asked again.
pub const INTERVAL: Duration = Duration::from_secs(1);

/// The most entries one read returns.
const READ_LIMIT: u64 = 100_000;

/// What `--follow` prints, and how far back it looks.
pub struct Following {
    pub status: Option<Status>,
    /// How many of the latest entries to print first.
    pub limit: u64,
    /// How long after its start an entry may be written (see the module documentation).
    pub slack: Duration,
}

/// Widths for rows not seen yet: a timestamp, the longest status, a UUID, a shortened error, a
/// message id.
const EXPECTED_WIDTHS: [usize; 7] = [19, 10, 10, 40, 36, ERROR_WIDTH, 28];

/// Prints the latest entries, then follows the log until Ctrl-C (or until `out` is closed).
pub async fn follow(store: &Store, how: &Following, out: &mut impl Write) -> anyhow::Result<()> {
    // What is in the window now counts as seen: only what changes after is printed as it comes.
    let mut since = start_of_window(store, how.slack).await?;
    let mut seen: HashMap<MessageId, (Status, OffsetDateTime)> = window(store, since)
        .await?
        .into_iter()
        .map(|e| (e.guid, (e.status, e.log_start)))
        .collect();
    let latest = super::list(store, how.status, how.limit).await?;
    let mut rows = Vec::new();
    for entry in latest.iter().rev() {
        rows.push(super::row_of(store, entry).await?);
        seen.insert(entry.guid.clone(), (entry.status, entry.log_start));
    }
    let columns = Columns::fitting(&rows).at_least(EXPECTED_WIDTHS);
    out.write_all(columns.line(&HEADER).as_bytes())?;
    for row in &rows {
        out.write_all(columns.line(row).as_bytes())?;
    }
    out.flush()?;

    let mut ticks = tokio::time::interval(INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        tokio::select! {
            _ = &mut ctrl_c => return Ok(()),
            _ = ticks.tick() => {}
        }
        let entries = window(store, since).await?;
        for entry in &entries {
            let printed = seen.insert(entry.guid.clone(), (entry.status, entry.log_start));
            let changed = printed.is_none_or(|(status, _)| status != entry.status);
            if changed && how.status.is_none_or(|s| s == entry.status) {
                let row: Row = super::row_of(store, entry).await?;
                out.write_all(columns.line(&row).as_bytes())?;
            }
        }
        out.flush()?;
        since = next_window(&entries, since, how.slack);
        seen.retain(|_, (_, started)| *started >= since);
    }
}

/// Where the first read starts: `slack` ago, or at the oldest entry still `PROCESSING`.
async fn start_of_window(store: &Store, slack: Duration) -> anyhow::Result<OffsetDateTime> {
    let running = super::list(store, Some(Status::Processing), READ_LIMIT).await?;
    let oldest_running = running.iter().map(|e| e.log_start).min();
    let since = clock::now() - slack;
    Ok(oldest_running.map_or(since, |oldest| oldest.min(since)))
}

/// Every entry that started at or after `since`, oldest first.
async fn window(store: &Store, since: OffsetDateTime) -> anyhow::Result<Vec<Entry>> {
    let page = store
        .list(ListQuery {
            filter: Some(Filter::compare(
                LogField::LogStart,
                Op::Ge,
                Value::Time(since),
            )),
            order: vec![Order {
                field: LogField::LogStart,
                direction: Direction::Ascending,
            }],
            limit: READ_LIMIT,
            ..ListQuery::default()
        })
        .await?;
    Ok(page.entries)
}

/// The next read's start: `slack` before the newest entry read, no later than the oldest one
/// still running, and never earlier than this one's.
fn next_window(entries: &[Entry], since: OffsetDateTime, slack: Duration) -> OffsetDateTime {
    let Some(newest) = entries.iter().map(|e| e.log_start).max() else {
        return since;
    };
    let running = entries
        .iter()
        .filter(|e| e.status == Status::Processing)
        .map(|e| e.log_start)
        .min();
    let next = running.map_or(newest - slack, |oldest| oldest.min(newest - slack));
    next.max(since)
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn entry(start: OffsetDateTime, status: Status) -> Entry {
        Entry {
            guid: MessageId::new(),
            correlation_id: String::new(),
            transaction_id: String::new(),
            application_message_id: None,
            application_message_type: None,
            integration_flow_name: "E".to_owned(),
            sender: "isc".to_owned(),
            status,
            custom_status: status.to_string(),
            log_start: start,
            log_end: None,
            event_count: None,
            repost: None,
            original_guid: None,
            has_error: false,
        }
    }

    #[test]
    fn the_window_trails_the_newest_entry_and_waits_for_running_ones() {
        let since = datetime!(2026-01-01 00:00:00 UTC);
        let slack = Duration::from_secs(60);
        assert_eq!(next_window(&[], since, slack), since);
        let done = [
            entry(datetime!(2026-01-01 00:05:00 UTC), Status::Completed),
            entry(datetime!(2026-01-01 00:10:00 UTC), Status::Completed),
        ];
        assert_eq!(
            next_window(&done, since, slack),
            datetime!(2026-01-01 00:09:00 UTC)
        );
        let running = [
            entry(datetime!(2026-01-01 00:05:00 UTC), Status::Processing),
            entry(datetime!(2026-01-01 00:10:00 UTC), Status::Completed),
        ];
        assert_eq!(
            next_window(&running, since, slack),
            datetime!(2026-01-01 00:05:00 UTC)
        );
        let early = [entry(datetime!(2026-01-01 00:00:30 UTC), Status::Completed)];
        assert_eq!(next_window(&early, since, slack), since, "never backwards");
    }
}
