//! The statements that write entries: new entries with their events and bodies (one statement),
//! the duplicate lookup, completions, and the retention purge. Values are always bound parameters.

use deadpool_postgres::GenericClient;
use tokio_postgres::types::ToSql;

use super::super::{Completion, NewEntry, Original, Purged, Status};
use super::{db, message_id};
use crate::clock::epoch_millis;
use crate::message::MessageId;

/// An entry, its events and its bodies, in one statement. A `PROCESSING` entry whose endpoint
/// and externalEventId already have a running entry (on any instance) is not written: the
/// statement returns no row ([`messages_running`]'s partial unique index, where a concurrent
/// insert of the same key waits for the other transaction to end).
const INSERT: &str = "WITH m AS (
    INSERT INTO messages (message_guid, correlation_id, transaction_id, application_message_id,
        application_message_type, integration_flow_name, sender, status, custom_status, log_start,
        log_end, error_text, error_step, event_count, repost, original_guid, ack, instance_id)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
    ON CONFLICT (integration_flow_name, application_message_id) WHERE status = 'PROCESSING'
        DO NOTHING
    RETURNING id
), e AS (
    INSERT INTO message_events (message_id, position, kind, user_id, event_id, event_type)
    SELECT m.id, (ev.position - 1)::integer, ev.kind, ev.user_id, ev.event_id, ev.event_type
    FROM m, unnest($18::text[], $19::text[], $20::text[], $21::text[]) WITH ORDINALITY
        AS ev (kind, user_id, event_id, event_type, position)
), b AS (
    INSERT INTO bodies (message_id, stored_at, request_type, request, response_type, response)
    SELECT m.id, $22, $23, $24, $25, $26 FROM m
    WHERE $23::text IS NOT NULL OR $25::text IS NOT NULL
)
SELECT id FROM m";

/// `text` as PostgreSQL can keep it: its texts cannot hold a NUL character, which an error's
/// text (a handler's, quoting what a program wrote) might; each becomes U+FFFD. Every other text
/// of an entry comes from a parsed envelope, HTTP or the configuration, which hold none.
fn storable(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains('\0') {
        std::borrow::Cow::Owned(text.replace('\0', "\u{fffd}"))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

/// Writes `entry` (owned by `instance` while it is `PROCESSING`); its row id, or `None` when a
/// running entry of the same endpoint and externalEventId exists.
pub(super) async fn insert(
    client: &impl GenericClient,
    entry: &NewEntry,
    instance: Option<i64>,
) -> Result<Option<i64>, tokio_postgres::Error> {
    let kinds: Vec<&str> = entry.events.iter().map(|e| e.kind.as_str()).collect();
    let users: Vec<Option<&str>> = entry.events.iter().map(|e| e.user_id.as_deref()).collect();
    let event_ids: Vec<Option<&str>> = entry.events.iter().map(|e| e.event_id.as_deref()).collect();
    let event_types: Vec<Option<&str>> = entry
        .events
        .iter()
        .map(|e| e.event_type.as_deref())
        .collect();
    let stored_at = epoch_millis(entry.log_end.unwrap_or(entry.log_start));
    let owner = instance.filter(|_| entry.status == Status::Processing);
    let params: [&(dyn ToSql + Sync); 26] = [
        &entry.guid.as_str(),
        &entry.correlation_id,
        &entry.transaction_id,
        &entry.application_message_id,
        &entry.application_message_type,
        &entry.integration_flow_name,
        &entry.sender,
        &entry.status.as_str(),
        &epoch_millis(entry.log_start),
        &entry.log_end.map(epoch_millis),
        &entry.error.as_ref().map(|e| storable(&e.text)),
        &entry
            .error
            .as_ref()
            .and_then(|e| e.step.as_deref())
            .map(storable),
        &entry.event_count,
        &entry.repost,
        &entry.original_guid.as_ref().map(MessageId::as_str),
        &entry.ack,
        &owner,
        &kinds,
        &users,
        &event_ids,
        &event_types,
        &stored_at,
        &entry.request.as_ref().map(|p| p.content_type.as_str()),
        &entry.request.as_ref().map(|p| &p.body[..]),
        &entry.response.as_ref().map(|p| p.content_type.as_str()),
        &entry.response.as_ref().map(|p| &p.body[..]),
    ];
    let statement = client.prepare_cached(INSERT).await?;
    let row = client.query_opt(&statement, &params).await?;
    Ok(row.map(|row| row.get(0)))
}

/// The latest `COMPLETED` delivery of `application_message_id` on `flow`, if it started at or
/// after `since` (epoch milliseconds): what makes a new delivery a duplicate. The same rule as
/// SQLite's: only the latest completed one counts.
pub(super) async fn find_completed(
    client: &impl GenericClient,
    flow: &str,
    application_message_id: &str,
    since: i64,
) -> Result<Option<Original>, super::super::StoreError> {
    let statement = client
        .prepare_cached(
            "SELECT message_guid, correlation_id, ack, log_start FROM messages
             WHERE integration_flow_name = $1 AND application_message_id = $2
               AND status = 'COMPLETED'
             ORDER BY id DESC LIMIT 1",
        )
        .await
        .map_err(db)?;
    let row = client
        .query_opt(&statement, &[&flow, &application_message_id])
        .await
        .map_err(db)?;
    let Some(row) = row else { return Ok(None) };
    let log_start: i64 = row.get(3);
    if log_start < since {
        return Ok(None);
    }
    Ok(Some(Original {
        guid: message_id(row.get(0))?,
        correlation_id: row.get(1),
        ack: row.get(2),
    }))
}

/// The running entry of `application_message_id` on `flow`: its row id, `MessageGuid` and
/// instance.
pub(super) async fn find_running(
    client: &impl GenericClient,
    flow: &str,
    application_message_id: &str,
) -> Result<Option<(i64, MessageId, Option<i64>)>, super::super::StoreError> {
    let row = client
        .query_opt(
            "SELECT id, message_guid, instance_id FROM messages
             WHERE integration_flow_name = $1 AND application_message_id = $2
               AND status = 'PROCESSING'",
            &[&flow, &application_message_id],
        )
        .await
        .map_err(db)?;
    row.map(|row| Ok((row.get(0), message_id(row.get(1))?, row.get(2))))
        .transpose()
}

/// Marks one running entry `ABANDONED` (its instance is gone), ended `now`.
pub(super) async fn abandon_one(
    client: &impl GenericClient,
    id: i64,
    now: i64,
) -> Result<(), tokio_postgres::Error> {
    client
        .execute(
            "UPDATE messages SET status = 'ABANDONED', custom_status = 'ABANDONED', log_end = $2,
                 instance_id = NULL,
                 error_text = COALESCE(error_text, 'iflowd stopped while the message was being processed; whether its handlers finished is unknown')
             WHERE id = $1 AND status = 'PROCESSING'",
            &[&id, &now],
        )
        .await
        .map(|_| ())
}

/// Ends a `PROCESSING` entry, the answer joining its bodies; the number of entries changed (0:
/// there is no such entry, or it is final already).
pub(super) async fn finish(
    client: &impl GenericClient,
    completion: &Completion,
) -> Result<i64, tokio_postgres::Error> {
    let statement = client
        .prepare_cached(
            "WITH u AS (
                 UPDATE messages SET status = $2, custom_status = $2, log_end = $3,
                     error_text = $4, error_step = $5, ack = $6, instance_id = NULL
                 WHERE id = $1 AND status = 'PROCESSING'
                 RETURNING id
             ), b AS (
                 INSERT INTO bodies (message_id, stored_at, response_type, response)
                 SELECT u.id, $3, $7, $8 FROM u WHERE $7::text IS NOT NULL
                 ON CONFLICT (message_id) DO UPDATE SET stored_at = excluded.stored_at,
                     response_type = excluded.response_type, response = excluded.response
             )
             SELECT count(*) FROM u",
        )
        .await?;
    let row = client
        .query_one(
            &statement,
            &[
                &completion.key.0,
                &completion.status.as_str(),
                &epoch_millis(completion.log_end),
                &completion.error.as_ref().map(|e| storable(&e.text)),
                &completion
                    .error
                    .as_ref()
                    .and_then(|e| e.step.as_deref())
                    .map(storable),
                &completion.ack,
                &completion
                    .response
                    .as_ref()
                    .map(|p| p.content_type.as_str()),
                &completion.response.as_ref().map(|p| &p.body[..]),
            ],
        )
        .await?;
    Ok(row.get(0))
}

/// Deletes bodies stored before `payloads_before` and entries that started before
/// `entries_before` (their bodies and events with them), unless they are still `PROCESSING`;
/// audit records older than `entries_before` go with them.
pub(super) async fn purge(
    client: &mut deadpool_postgres::Client,
    entries_before: i64,
    payloads_before: i64,
) -> Result<Purged, tokio_postgres::Error> {
    let tx = client.transaction().await?;
    let payloads = tx
        .execute(
            "DELETE FROM bodies WHERE stored_at < $1",
            &[&payloads_before],
        )
        .await?;
    let entries = tx
        .execute(
            "DELETE FROM messages WHERE log_start < $1 AND status <> 'PROCESSING'",
            &[&entries_before],
        )
        .await?;
    tx.execute("DELETE FROM audit_log WHERE at < $1", &[&entries_before])
        .await?;
    tx.commit().await?;
    Ok(Purged {
        entries: usize::try_from(entries).unwrap_or(usize::MAX),
        payloads: usize::try_from(payloads).unwrap_or(usize::MAX),
        // `max_size_mb` is SQLite's (see `Backend::size` here).
        ..Purged::default()
    })
}
