//! The statements that write entries: new entries with their events and bodies (one statement),
//! the duplicate lookup, completions, and the retention purge. Values are always bound parameters.

use deadpool_postgres::GenericClient;
use tokio_postgres::types::ToSql;

use super::super::{Completion, NewEntry, Original, Purged, Status};
use super::{db, message_id};
use crate::clock::epoch_millis;
use crate::message::MessageId;

/// An entry, its events and its bodies (and, when queued, its place in the queue), in one
/// statement; the request is stored at the entry's start, an answer at its end. A synchronous
/// `PROCESSING` entry whose endpoint and externalEventId already have a running synchronous
/// entry (on any instance) is not written: the statement returns no row (`messages_running`'s
/// partial unique index, where a concurrent insert of the same key waits for the other
/// transaction to end).
pub(super) const INSERT: &str = "WITH m AS (
    INSERT INTO messages (message_guid, correlation_id, transaction_id, application_message_id,
        application_message_type, integration_flow_name, sender, status, custom_status, log_start,
        log_end, error_text, error_step, event_count, repost, original_guid, ack, instance_id,
        attempts, failures, next_attempt_at, lease_until, lease_instance)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, coalesce($27::text, $8), $9, $10, $11, $12, $13, $14,
        $15, $16, $17, $28::bigint, CASE WHEN $28::bigint IS NULL THEN NULL ELSE 0 END,
        $29::bigint, $30::bigint, $31::bigint)
    ON CONFLICT (integration_flow_name, application_message_id)
        WHERE status = 'PROCESSING' AND attempts IS NULL
        DO NOTHING
    RETURNING id
), e AS (
    INSERT INTO message_events (message_id, position, kind, user_id, event_id, event_type)
    SELECT m.id, (ev.position - 1)::integer, ev.kind, ev.user_id, ev.event_id, ev.event_type
    FROM m, unnest($18::text[], $19::text[], $20::text[], $21::text[]) WITH ORDINALITY
        AS ev (kind, user_id, event_id, event_type, position)
), q AS (
    INSERT INTO requests (message_id, stored_at, content_type, body)
    SELECT m.id, $9, $23, $24 FROM m WHERE $23::text IS NOT NULL
), r AS (
    INSERT INTO responses (message_id, stored_at, content_type, body)
    SELECT m.id, $22, $25, $26 FROM m WHERE $25::text IS NOT NULL
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

/// A new entry's place in the delivery queue (see `queue.rs`); sync entries have none.
pub(super) struct QueueColumns {
    pub custom_status: &'static str,
    pub attempts: i64,
    pub next_attempt_at: Option<i64>,
    pub lease_until: Option<i64>,
    /// The instance holding the lease, when it starts leased.
    pub lease_instance: Option<i64>,
}

/// Writes `entry` (a synchronous one owned by `instance` while it is `PROCESSING`; a queued one
/// as `queue` says); its row id, or `None` when a running synchronous entry of the same endpoint
/// and externalEventId exists.
pub(super) async fn insert(
    client: &impl GenericClient,
    entry: &NewEntry,
    instance: Option<i64>,
    queue: Option<&QueueColumns>,
) -> Result<Option<i64>, tokio_postgres::Error> {
    let kinds: Vec<&str> = entry.events.iter().map(|e| e.kind.as_str()).collect();
    let users: Vec<Option<&str>> = entry.events.iter().map(|e| e.user_id.as_deref()).collect();
    let event_ids: Vec<Option<&str>> = entry.events.iter().map(|e| e.event_id.as_deref()).collect();
    let event_types: Vec<Option<&str>> = entry
        .events
        .iter()
        .map(|e| e.event_type.as_deref())
        .collect();
    let answered_at = epoch_millis(entry.log_end.unwrap_or(entry.log_start));
    let owner = instance.filter(|_| entry.status == Status::Processing && queue.is_none());
    let params: [&(dyn ToSql + Sync); 31] = [
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
        &answered_at,
        &entry.request.as_ref().map(|p| p.content_type.as_str()),
        &entry.request.as_ref().map(|p| &p.body[..]),
        &entry.response.as_ref().map(|p| p.content_type.as_str()),
        &entry.response.as_ref().map(|p| &p.body[..]),
        &queue.map(|q| q.custom_status),
        &queue.map(|q| q.attempts),
        &queue.and_then(|q| q.next_attempt_at),
        &queue.and_then(|q| q.lease_until),
        &queue.and_then(|q| q.lease_instance),
    ];
    let statement = client.prepare_cached(INSERT).await?;
    let row = client.query_opt(&statement, &params).await?;
    Ok(row.map(|row| row.get(0)))
}

/// [`find_completed`]'s statement.
pub(super) const FIND_COMPLETED: &str = "SELECT message_guid, correlation_id, ack, log_start
    FROM messages
    WHERE integration_flow_name = $1 AND application_message_id = $2
      AND (status = 'COMPLETED' OR (status IN ('PROCESSING', 'RETRY') AND attempts IS NOT NULL))
    ORDER BY id DESC LIMIT 1";

/// The latest `COMPLETED` delivery of `application_message_id` on `flow`, or queued one still
/// waiting or running (acknowledged, it will be processed), if it started at or after `since`
/// (epoch milliseconds): what makes a new delivery a duplicate. The same rule as SQLite's: only
/// the latest such one counts.
pub(super) async fn find_completed(
    client: &impl GenericClient,
    flow: &str,
    application_message_id: &str,
    since: i64,
) -> Result<Option<Original>, super::super::StoreError> {
    let statement = client.prepare_cached(FIND_COMPLETED).await.map_err(db)?;
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

/// [`find_running`]'s statement.
pub(super) const FIND_RUNNING: &str = "SELECT id, message_guid, instance_id FROM messages
    WHERE integration_flow_name = $1 AND application_message_id = $2
      AND status = 'PROCESSING' AND attempts IS NULL";

/// The running synchronous entry of `application_message_id` on `flow`: its row id,
/// `MessageGuid` and instance.
pub(super) async fn find_running(
    client: &impl GenericClient,
    flow: &str,
    application_message_id: &str,
) -> Result<Option<(i64, MessageId, Option<i64>)>, super::super::StoreError> {
    let statement = client.prepare_cached(FIND_RUNNING).await.map_err(db)?;
    let row = client
        .query_opt(&statement, &[&flow, &application_message_id])
        .await
        .map_err(db)?;
    row.map(|row| Ok((row.get(0), message_id(row.get(1))?, row.get(2))))
        .transpose()
}

/// Marks one running synchronous entry `ABANDONED` (its instance is gone), ended `now`.
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
             WHERE id = $1 AND status = 'PROCESSING' AND attempts IS NULL",
            &[&id, &now],
        )
        .await
        .map(|_| ())
}

/// Ends a `PROCESSING` entry and stores its answer (an insert beside the request, which stays
/// as it was written); the number of entries changed (0: there is no such entry, or it is final
/// already).
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
             ), r AS (
                 INSERT INTO responses (message_id, stored_at, content_type, body)
                 SELECT u.id, $3, $7, $8 FROM u WHERE $7::text IS NOT NULL
                 ON CONFLICT (message_id) DO UPDATE SET stored_at = excluded.stored_at,
                     content_type = excluded.content_type, body = excluded.body
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
/// `entries_before` (their bodies, events and attempts with them), unless they are still
/// `PROCESSING` or `RETRY`; the bodies of queued messages stay while they are queued (the queue
/// runs them from there). Audit records older than `entries_before` go with the entries.
pub(super) async fn purge(
    client: &mut deadpool_postgres::Client,
    entries_before: i64,
    payloads_before: i64,
) -> Result<Purged, tokio_postgres::Error> {
    let tx = client.transaction().await?;
    // Entries whose bodies went, each counted once (its request and answer are two rows).
    let payloads: i64 = tx
        .query_one(
            "WITH q AS (
                 DELETE FROM requests b WHERE stored_at < $1
                     AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.id = b.message_id
                         AND (m.next_attempt_at IS NOT NULL OR m.lease_until IS NOT NULL))
                 RETURNING message_id
             ), r AS (
                 DELETE FROM responses b WHERE stored_at < $1
                     AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.id = b.message_id
                         AND (m.next_attempt_at IS NOT NULL OR m.lease_until IS NOT NULL))
                 RETURNING message_id
             )
             SELECT count(*) FROM (SELECT message_id FROM q UNION SELECT message_id FROM r) d",
            &[&payloads_before],
        )
        .await?
        .get(0);
    let entries = tx
        .execute(
            "DELETE FROM messages WHERE log_start < $1 AND status NOT IN ('PROCESSING', 'RETRY')",
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
