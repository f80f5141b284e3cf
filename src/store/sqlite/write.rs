//! The statements that write entries: the duplicate lookup, new entries, completions, their
//! bodies (the request and the answer, each in a table of its own), and the retention purge.
//! Values are always bound parameters.

use rusqlite::{Connection, OptionalExtension, params};

use super::super::{Completion, EventFacts, NewEntry, Original, Payload, Purged};
use crate::clock::epoch_millis;
use crate::message::MessageId;

pub(super) fn find_completed(
    db: &Connection,
    flow: &str,
    application_message_id: &str,
    since: i64,
) -> rusqlite::Result<Option<Original>> {
    // The window is checked here rather than in SQL: a range on a bound parameter makes SQLite
    // re-plan the statement on every call, which costs more than the lookup. A queued message
    // still waiting or running (attempts IS NOT NULL) counts like a completed one: it was
    // acknowledged and will be processed.
    let latest = db
        .prepare_cached(
            "SELECT message_guid, correlation_id, ack, log_start FROM messages
             WHERE integration_flow_name = ?1 AND application_message_id = ?2
               AND (status = 'COMPLETED'
                    OR (status IN ('PROCESSING', 'RETRY') AND attempts IS NOT NULL))
             ORDER BY id DESC LIMIT 1",
        )?
        .query_row(params![flow, application_message_id], |row| {
            Ok((
                Original {
                    guid: message_id(row, 0)?,
                    correlation_id: row.get(1)?,
                    ack: row.get(2)?,
                },
                row.get::<_, i64>(3)?,
            ))
        })
        .optional()?;
    Ok(latest.and_then(|(original, log_start)| (log_start >= since).then_some(original)))
}

/// The [`MessageId`] in column `index`; an error naming the text when it is not one.
pub(super) fn message_id(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<MessageId> {
    let text: String = row.get(index)?;
    MessageId::parse(&text).ok_or_else(|| not_ours(index, "message id", &text))
}

/// A stored value iflowd cannot have written (the database was changed by hand).
pub(super) fn not_ours(index: usize, what: &str, text: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        index,
        rusqlite::types::Type::Text,
        format!("'{text}' is not a {what}").into(),
    )
}

/// A new entry's place in the delivery queue (see `queue.rs`); sync entries have none.
pub(super) struct QueueColumns {
    pub custom_status: &'static str,
    pub attempts: i64,
    pub next_attempt_at: Option<i64>,
    pub lease_until: Option<i64>,
}

/// Inserts an entry with its bodies (and, when queued, its place in the queue); its row id.
pub(super) fn insert(
    tx: &Connection,
    entry: &NewEntry,
    queue: Option<&QueueColumns>,
) -> rusqlite::Result<i64> {
    tx.prepare_cached(
        "INSERT INTO messages (message_guid, correlation_id, transaction_id,
                 application_message_id, application_message_type, integration_flow_name, sender,
                 status, custom_status, log_start, log_end, error_text, error_step, event_count,
                 repost, original_guid, ack, attempts, failures, next_attempt_at, lease_until)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, coalesce(?17, ?8), ?9, ?10, ?11, ?12, ?13,
                 ?14, ?15, ?16, ?18, CASE WHEN ?18 IS NULL THEN NULL ELSE 0 END, ?19, ?20)",
    )?
    .execute(params![
        entry.guid.as_str(),
        entry.correlation_id,
        entry.transaction_id,
        entry.application_message_id,
        entry.application_message_type,
        entry.integration_flow_name,
        entry.sender,
        entry.status.as_str(),
        epoch_millis(entry.log_start),
        entry.log_end.map(epoch_millis),
        entry.error.as_ref().map(|e| &e.text),
        entry.error.as_ref().and_then(|e| e.step.as_ref()),
        entry.event_count,
        entry.repost,
        entry.original_guid.as_ref().map(MessageId::as_str),
        entry.ack,
        queue.map(|q| q.custom_status),
        queue.map(|q| q.attempts),
        queue.and_then(|q| q.next_attempt_at),
        queue.and_then(|q| q.lease_until),
    ])?;
    let id = tx.last_insert_rowid();
    insert_events(tx, id, &entry.events)?;
    if let Some(request) = &entry.request {
        store_body(
            tx,
            Body::Request,
            id,
            epoch_millis(entry.log_start),
            request,
        )?;
    }
    if let Some(response) = &entry.response {
        let stored_at = entry.log_end.unwrap_or(entry.log_start);
        store_body(tx, Body::Response, id, epoch_millis(stored_at), response)?;
    }
    Ok(id)
}

/// One row per event of a new entry (what the monitor filters by, and the custom header
/// properties).
fn insert_events(tx: &Connection, message_id: i64, events: &[EventFacts]) -> rusqlite::Result<()> {
    for (position, event) in events.iter().enumerate() {
        tx.prepare_cached(
            "INSERT INTO message_events (message_id, position, kind, user_id, event_id, event_type)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![
            message_id,
            i64::try_from(position).unwrap_or(i64::MAX),
            event.kind.as_str(),
            event.user_id,
            event.event_id,
            event.event_type,
        ])?;
    }
    Ok(())
}

/// Ends a `PROCESSING` entry; the number of entries changed (0: there is no such entry, or it
/// is final already).
pub(super) fn finish(tx: &Connection, completion: &Completion) -> rusqlite::Result<usize> {
    let log_end = epoch_millis(completion.log_end);
    let rows = tx
        .prepare_cached(
            "UPDATE messages SET status = ?2, custom_status = ?2, log_end = ?3,
                 error_text = ?4, error_step = ?5, ack = ?6
             WHERE id = ?1 AND status = 'PROCESSING'",
        )?
        .execute(params![
            completion.key.0,
            completion.status.as_str(),
            log_end,
            completion.error.as_ref().map(|e| &e.text),
            completion.error.as_ref().and_then(|e| e.step.as_ref()),
            completion.ack,
        ])?;
    if rows == 1
        && let Some(response) = &completion.response
    {
        store_body(tx, Body::Response, completion.key.0, log_end, response)?;
    }
    Ok(rows)
}

/// Which of an entry's bodies: each has a table of its own, so that the answer, written when
/// the entry is final, is an insert beside the request instead of a rewrite of the request's
/// row (see migration 0006).
#[derive(Debug, Clone, Copy)]
enum Body {
    Request,
    Response,
}

/// Stores one body of entry `message_id`, with the time it is stored (its `TimeStamp`, and what
/// its retention counts from); a body of that kind stored before is replaced.
fn store_body(
    tx: &Connection,
    kind: Body,
    message_id: i64,
    stored_at: i64,
    payload: &Payload,
) -> rusqlite::Result<()> {
    // The table's name comes from this fixed choice, never from input.
    let sql = match kind {
        Body::Request => {
            "INSERT INTO requests (message_id, stored_at, content_type, body) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (message_id) DO UPDATE SET stored_at = excluded.stored_at,
                 content_type = excluded.content_type, body = excluded.body"
        }
        Body::Response => {
            "INSERT INTO responses (message_id, stored_at, content_type, body) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (message_id) DO UPDATE SET stored_at = excluded.stored_at,
                 content_type = excluded.content_type, body = excluded.body"
        }
    };
    tx.prepare_cached(sql)?.execute(params![
        message_id,
        stored_at,
        payload.content_type,
        &payload.body[..]
    ])?;
    Ok(())
}

/// Deletes bodies stored before `payloads_before` and entries that started before
/// `entries_before` (their bodies with them), unless they are still `PROCESSING` or `RETRY`; the
/// bodies of queued messages stay while they are queued (the queue runs them from there). Audit
/// records older than `entries_before` go with the entries.
pub(super) fn purge(
    db: &mut Connection,
    entries_before: i64,
    payloads_before: i64,
) -> rusqlite::Result<Purged> {
    let tx = db.transaction()?;
    let payloads = delete_bodies(
        &tx,
        "stored_at < ?1
         AND message_id NOT IN (SELECT id FROM messages WHERE next_attempt_at IS NOT NULL)
         AND message_id NOT IN (SELECT id FROM messages WHERE lease_until IS NOT NULL)",
        payloads_before,
    )?;
    let entries = tx.execute(
        "DELETE FROM messages WHERE log_start < ?1 AND status NOT IN ('PROCESSING', 'RETRY')",
        params![entries_before],
    )?;
    super::audit::purge(&tx, entries_before)?;
    tx.commit()?;
    Ok(Purged {
        entries,
        payloads,
        ..Purged::default()
    })
}

/// Deletes the bodies, of both kinds, that `condition` picks (SQL over a body table's columns,
/// `{table}` standing for its name, with one bound value `?1`); the number of entries whose
/// bodies went, each counted once (the two kinds are rows of two tables).
pub(super) fn delete_bodies(
    tx: &Connection,
    condition: &str,
    bound: i64,
) -> rusqlite::Result<usize> {
    let mut entries = std::collections::BTreeSet::new();
    for table in ["requests", "responses"] {
        let sql = format!(
            "DELETE FROM {table} WHERE {} RETURNING message_id",
            condition.replace("{table}", table)
        );
        let mut statement = tx.prepare_cached(&sql)?;
        for id in statement.query_map(params![bound], |row| row.get::<_, i64>(0))? {
            entries.insert(id?);
        }
    }
    Ok(entries.len())
}
