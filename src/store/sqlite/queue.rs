//! The delivery queue's statements (see `store/queue.rs` for what they mean).
//!
//! A queued message is a row of `messages` with `attempts` set: while it waits,
//! `next_attempt_at` says when it is due; while an attempt runs, `lease_until` says until when
//! the attempt holds it. Both columns have partial indexes, so claiming and counting cost what
//! the queue holds. Each attempt is a row of `attempts`. SQLite has one writer, so a claim is a
//! plain transaction; the lease (and the attempt number as its fencing token) is what a backend
//! shared by several instances needs as well.

use rusqlite::{Connection, OptionalExtension, params};

use super::super::queue::{
    Attempt, AttemptEnd, AttemptStatus, Claimed, Depth, Lease, Next, QueueState, Requeued, Start,
};
use super::super::{EntryKey, ErrorInfo, NewEntry, Payload, Status};
use super::write::{self, QueueColumns, message_id, not_ours};
use super::writer::Written;
use crate::clock::{epoch_millis, from_epoch_millis};

/// The error an attempt keeps when iflowd stopped while it ran.
const STOPPED: &str = "iflowd stopped during this attempt; the message was queued again";
/// The error an attempt keeps when its lease ran out and another worker claimed the message.
const LEASE_LOST: &str =
    "the attempt's lease ran out (its worker stopped renewing it); the message was claimed again";

/// Writes a queued message (the duplicate lookup first, when `since` is given), and its first
/// attempt when it starts leased.
pub(super) fn enqueue(
    tx: &Connection,
    entry: &NewEntry,
    since: Option<i64>,
    start: Start,
) -> rusqlite::Result<Written> {
    if let (Some(since), Some(id)) = (since, &entry.application_message_id)
        && let Some(original) = write::find_completed(tx, &entry.integration_flow_name, id, since)?
    {
        return Ok(Written::Duplicate(original));
    }
    let columns = match start {
        Start::Queued { due } => QueueColumns {
            custom_status: "QUEUED",
            attempts: 0,
            next_attempt_at: Some(epoch_millis(due)),
            lease_until: None,
        },
        Start::Leased { until } => QueueColumns {
            custom_status: "QUEUED",
            attempts: 1,
            next_attempt_at: None,
            lease_until: Some(epoch_millis(until)),
        },
    };
    let row = write::insert(tx, entry, Some(&columns))?;
    if columns.attempts == 1 {
        start_attempt(tx, row, 1, epoch_millis(entry.log_start))?;
    }
    Ok(Written::Row(row))
}

fn start_attempt(tx: &Connection, row: i64, number: i64, now: i64) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO attempts (message_id, number, started, status) VALUES (?1, ?2, ?3, 'RUNNING')",
    )?
    .execute(params![row, number, now])?;
    Ok(())
}

/// Ends a running attempt as interrupted (`reason`).
fn interrupt(
    tx: &Connection,
    row: i64,
    number: i64,
    now: i64,
    reason: &str,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "UPDATE attempts SET ended = ?3, status = 'INTERRUPTED', error_text = ?4
         WHERE message_id = ?1 AND number = ?2 AND status = 'RUNNING'",
    )?
    .execute(params![row, number, now, reason])?;
    Ok(())
}

/// Claims up to `limit` due messages (waiting ones first, then those whose lease ran out).
pub(super) fn claim(
    db: &mut Connection,
    now: i64,
    lease_until: i64,
    limit: usize,
) -> rusqlite::Result<Vec<Claimed>> {
    let tx = db.transaction()?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let due = ids(
        &tx,
        "SELECT id FROM messages WHERE next_attempt_at <= ?1 ORDER BY next_attempt_at LIMIT ?2",
        now,
        limit,
    )?;
    let room = limit - i64::try_from(due.len()).unwrap_or(limit);
    let expired = if room > 0 {
        ids(
            &tx,
            "SELECT id FROM messages WHERE lease_until <= ?1 ORDER BY lease_until LIMIT ?2",
            now,
            room,
        )?
    } else {
        Vec::new()
    };
    let mut claimed = Vec::with_capacity(due.len() + expired.len());
    for (row, lease_lost) in due
        .into_iter()
        .map(|r| (r, false))
        .chain(expired.into_iter().map(|r| (r, true)))
    {
        claimed.push(claim_one(&tx, row, lease_lost, now, lease_until)?);
    }
    tx.commit()?;
    Ok(claimed)
}

fn ids(tx: &Connection, sql: &str, now: i64, limit: i64) -> rusqlite::Result<Vec<i64>> {
    tx.prepare_cached(sql)?
        .query_map(params![now, limit], |row| row.get(0))?
        .collect()
}

fn claim_one(
    tx: &Connection,
    row: i64,
    lease_lost: bool,
    now: i64,
    lease_until: i64,
) -> rusqlite::Result<Claimed> {
    if lease_lost {
        let previous: i64 =
            tx.query_row("SELECT attempts FROM messages WHERE id = ?1", [row], |r| {
                r.get(0)
            })?;
        interrupt(tx, row, previous, now, LEASE_LOST)?;
    }
    let (attempt, claimed) = tx
        .prepare_cached(
            "UPDATE messages SET status = 'PROCESSING', attempts = attempts + 1,
                 next_attempt_at = NULL, lease_until = ?2
             WHERE id = ?1
             RETURNING attempts, failures, message_guid, integration_flow_name, sender, log_start",
        )?
        .query_row(params![row, lease_until], |r| {
            let attempt: i64 = r.get(0)?;
            Ok((
                attempt,
                Claimed {
                    lease: Lease {
                        key: EntryKey(row),
                        attempt: u32::try_from(attempt).unwrap_or(u32::MAX),
                    },
                    failures: u32::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
                    guid: message_id(r, 2)?,
                    endpoint: r.get(3)?,
                    sender: r.get(4)?,
                    log_start: from_epoch_millis(r.get(5)?),
                    request: None,
                },
            ))
        })?;
    start_attempt(tx, row, attempt, now)?;
    let request = tx
        .prepare_cached("SELECT content_type, body FROM requests WHERE message_id = ?1")?
        .query_row([row], |r| {
            Ok(Payload {
                content_type: r.get(0)?,
                body: r.get::<_, Vec<u8>>(1)?.into(),
            })
        })
        .optional()?;
    Ok(Claimed { request, ..claimed })
}

/// Extends a held lease; the number of messages changed (0: it is no longer held).
pub(super) fn renew(tx: &Connection, lease: Lease, until: i64) -> rusqlite::Result<usize> {
    tx.prepare_cached(
        "UPDATE messages SET lease_until = ?3
         WHERE id = ?1 AND attempts = ?2 AND lease_until IS NOT NULL",
    )?
    .execute(params![lease.key.0, lease.attempt, until])
}

/// Gives back a claimed message whose attempt never started; the number changed.
pub(super) fn release(tx: &Connection, lease: Lease, now: i64) -> rusqlite::Result<usize> {
    let changed = tx
        .prepare_cached(
            "UPDATE messages SET attempts = attempts - 1, lease_until = NULL, next_attempt_at = ?3
             WHERE id = ?1 AND attempts = ?2 AND lease_until IS NOT NULL",
        )?
        .execute(params![lease.key.0, lease.attempt, now])?;
    if changed > 0 {
        tx.prepare_cached("DELETE FROM attempts WHERE message_id = ?1 AND number = ?2")?
            .execute(params![lease.key.0, lease.attempt])?;
    }
    Ok(changed)
}

/// Ends the attempt `lease` holds as `end` says; the number of messages changed (0: the lease is
/// no longer held, and nothing was written).
pub(super) fn end_attempt(
    tx: &Connection,
    lease: Lease,
    end: &AttemptEnd,
) -> rusqlite::Result<usize> {
    let at = epoch_millis(end.at);
    let (row, number) = (lease.key.0, lease.attempt);
    let (status, custom, error, retry_at, log_end): (&str, &str, Option<&ErrorInfo>, _, _) =
        match &end.next {
            Next::Complete { .. } => ("COMPLETED", "COMPLETED", None, None, Some(at)),
            Next::Retry {
                error,
                at: next,
                custom_status,
            } => (
                "RETRY",
                custom_status,
                Some(error),
                Some(epoch_millis(*next)),
                None,
            ),
            Next::Give {
                error,
                status,
                custom_status,
            } => (status.as_str(), custom_status, Some(error), None, Some(at)),
        };
    let failed = i64::from(error.is_some());
    let changed = tx
        .prepare_cached(
            "UPDATE messages SET status = ?3, custom_status = ?4, log_end = ?5, error_text = ?6,
                 error_step = ?7, failures = failures + ?8, next_attempt_at = ?9,
                 lease_until = NULL
             WHERE id = ?1 AND attempts = ?2 AND lease_until IS NOT NULL",
        )?
        .execute(params![
            row,
            number,
            status,
            custom,
            log_end,
            error.map(|e| &e.text),
            error.and_then(|e| e.step.as_ref()),
            failed,
            retry_at,
        ])?;
    if changed == 0 {
        return Ok(0);
    }
    tx.prepare_cached(
        "UPDATE attempts SET ended = ?3, status = ?4, error_text = ?5, error_step = ?6,
             retry_at = ?7, started = ?8
         WHERE message_id = ?1 AND number = ?2",
    )?
    .execute(params![
        row,
        number,
        at,
        if error.is_some() {
            "FAILED"
        } else {
            "COMPLETED"
        },
        error.map(|e| &e.text),
        error.and_then(|e| e.step.as_ref()),
        retry_at,
        epoch_millis(end.started),
    ])?;
    if let Next::Complete {
        keep_request: false,
    } = end.next
    {
        tx.prepare_cached("DELETE FROM requests WHERE message_id = ?1")?
            .execute([row])?;
    }
    Ok(changed)
}

/// Queues again every message left running (a previous run's); counts them by endpoint.
pub(super) fn requeue(db: &mut Connection, now: i64) -> rusqlite::Result<Requeued> {
    let tx = db.transaction()?;
    let mut requeued = Requeued::new();
    let left: Vec<(i64, i64, String)> = tx
        .prepare(
            "UPDATE messages SET status = 'PROCESSING', next_attempt_at = ?1, lease_until = NULL
             WHERE lease_until IS NOT NULL
             RETURNING id, attempts, integration_flow_name",
        )?
        .query_map([now], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (row, attempt, endpoint) in left {
        interrupt(&tx, row, attempt, now, STOPPED)?;
        *requeued.entry(endpoint).or_default() += 1;
    }
    tx.commit()?;
    Ok(requeued)
}

/// Queues an `ESCALATED` message with a stored request again; the number changed.
pub(super) fn retry(tx: &Connection, row: i64, now: i64) -> rusqlite::Result<usize> {
    tx.prepare_cached(
        "UPDATE messages SET status = 'PROCESSING', custom_status = 'QUEUED', failures = 0,
             log_end = NULL, next_attempt_at = ?2
         WHERE id = ?1 AND status = 'ESCALATED' AND attempts IS NOT NULL
           AND EXISTS (SELECT 1 FROM requests WHERE message_id = ?1)",
    )?
    .execute(params![row, now])
}

/// What [`retry`] needs to know about a message first: its row, status, whether it is a queued
/// one, and whether its request is stored.
pub(super) fn retry_facts(
    db: &Connection,
    guid: &str,
) -> rusqlite::Result<Option<(i64, Status, bool)>> {
    db.prepare_cached(
        "SELECT m.id, m.status,
                EXISTS (SELECT 1 FROM requests r WHERE r.message_id = m.id)
         FROM messages m WHERE m.message_guid = ?1",
    )?
    .query_row([guid], |r| {
        let status: String = r.get(1)?;
        Ok((
            r.get(0)?,
            Status::parse(&status).ok_or_else(|| not_ours(1, "status", &status))?,
            r.get(2)?,
        ))
    })
    .optional()
}

/// The attempts of the message `guid`, first first; `None` when there is no such message.
pub(super) fn attempts(db: &Connection, guid: &str) -> rusqlite::Result<Option<Vec<Attempt>>> {
    let Some(row): Option<i64> = db
        .prepare_cached("SELECT id FROM messages WHERE message_guid = ?1")?
        .query_row([guid], |r| r.get(0))
        .optional()?
    else {
        return Ok(None);
    };
    let list = db
        .prepare_cached(
            "SELECT number, started, ended, status, error_text, error_step, retry_at
             FROM attempts WHERE message_id = ?1 ORDER BY number",
        )?
        .query_map([row], |r| {
            let status: String = r.get(3)?;
            let step: Option<String> = r.get(5)?;
            let error = r
                .get::<_, Option<String>>(4)?
                .map(|text| ErrorInfo { text, step });
            Ok(Attempt {
                number: u32::try_from(r.get::<_, i64>(0)?).unwrap_or(0),
                started: from_epoch_millis(r.get(1)?),
                ended: r.get::<_, Option<i64>>(2)?.map(from_epoch_millis),
                status: AttemptStatus::parse(&status)
                    .ok_or_else(|| not_ours(3, "attempt status", &status))?,
                error,
                retry_at: r.get::<_, Option<i64>>(6)?.map(from_epoch_millis),
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Some(list))
}

/// The earliest due time or lease end in the queue.
pub(super) fn next_due(db: &Connection) -> rusqlite::Result<Option<i64>> {
    let earliest = |sql: &str| -> rusqlite::Result<Option<i64>> {
        db.prepare_cached(sql)?.query_row([], |r| r.get(0))
    };
    let waiting =
        earliest("SELECT min(next_attempt_at) FROM messages WHERE next_attempt_at IS NOT NULL")?;
    let leased = earliest("SELECT min(lease_until) FROM messages WHERE lease_until IS NOT NULL")?;
    Ok(match (waiting, leased) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    })
}

/// Queued messages by endpoint and state.
pub(super) fn depth(db: &Connection) -> rusqlite::Result<Depth> {
    let mut depth = Depth::new();
    let mut waiting = db.prepare_cached(
        "SELECT integration_flow_name, status, count(*) FROM messages
         WHERE next_attempt_at IS NOT NULL GROUP BY 1, 2",
    )?;
    let mut rows = waiting.query([])?;
    while let Some(r) = rows.next()? {
        let status: String = r.get(1)?;
        let state = if status == Status::Retry.as_str() {
            QueueState::Retry
        } else {
            QueueState::Queued
        };
        *depth.entry((r.get(0)?, state)).or_default() += r.get::<_, i64>(2)?.unsigned_abs();
    }
    let mut leased = db.prepare_cached(
        "SELECT integration_flow_name, count(*) FROM messages
         WHERE lease_until IS NOT NULL GROUP BY 1",
    )?;
    let mut rows = leased.query([])?;
    while let Some(r) = rows.next()? {
        *depth.entry((r.get(0)?, QueueState::Running)).or_default() +=
            r.get::<_, i64>(1)?.unsigned_abs();
    }
    Ok(depth)
}
