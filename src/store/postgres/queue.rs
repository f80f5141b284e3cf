//! The delivery queue's statements in PostgreSQL (see `store/queue.rs` for what they mean, and
//! `sqlite/queue.rs` for the same in SQLite), where several instances share the queue.
//!
//! A queued message is a row of `messages` with `attempts` set: while it waits,
//! `next_attempt_at` says when it is due; while an attempt runs, `lease_until` says until when
//! the attempt holds it, and `lease_instance` which instance does. Each attempt is a row of
//! `attempts`. What makes the queue shared work:
//!
//! * A claim locks the due rows it takes with `FOR UPDATE SKIP LOCKED`: two instances claiming at
//!   once take different messages, neither waits for the other, and a row another claim changed
//!   meanwhile is looked at again (its lease no longer ran out) rather than taken twice.
//! * The attempt number is the lease's fencing token: renewing, ending or giving back an attempt
//!   changes the row only while `attempts` is still that number, so a worker whose lease ran out
//!   and was claimed by another instance writes nothing.
//! * An instance that is killed leaves its leases; they run out and another instance's claim
//!   takes them, the old attempt ended `INTERRUPTED`. An instance starting up queues again at
//!   once only the attempts of instances that are gone (their lock is free, `setup.rs`).
//! * Copies of one delivery enqueued on two instances at once take turns under a transaction's
//!   advisory lock on (endpoint, externalEventId), so the second finds the first queued.

use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

use super::super::queue::{AttemptEnd, Claimed, Lease, Next, Requeued, Retried, Start};
use super::super::{EntryKey, ErrorInfo, NewEntry, NewOrDuplicate, Payload, Status, StoreError};
use super::setup::{self, DELIVERY_LOCK_CLASS};
use super::write::{self, QueueColumns};
use super::{db, message_id, query::not_ours};
use crate::clock::{epoch_millis, from_epoch_millis};

/// The error an attempt keeps when its instance stopped while it ran.
const STOPPED: &str = "iflowd stopped during this attempt; the message was queued again";
/// The error an attempt keeps when its lease ran out and another worker claimed the message.
const LEASE_LOST: &str =
    "the attempt's lease ran out (its worker stopped renewing it); the message was claimed again";

/// Writes a queued message: under the delivery's advisory lock, the duplicate lookup (a
/// completed or still queued original) and the look for a synchronous copy running on a live
/// instance first, when `since` is given; then the entry, and its first attempt when it starts
/// leased (by `me`). Committed with `synchronous_commit = on`: durable when this returns.
pub(super) async fn enqueue(
    client: &mut deadpool_postgres::Client,
    entry: &NewEntry,
    since: Option<i64>,
    start: Start,
    me: Option<i64>,
) -> Result<NewOrDuplicate, StoreError> {
    let tx = client.transaction().await.map_err(db)?;
    // Every statement prepared first (once per connection), so that those sent together below
    // go out at their first poll, in the order written (see `try_begin`).
    let lock = prepared(&tx, DELIVERY_LOCK).await?;
    for sql in [
        write::FIND_COMPLETED,
        write::FIND_RUNNING,
        write::INSERT,
        FIRST_ATTEMPT,
    ] {
        prepared(&tx, sql).await?;
    }
    if let (Some(since), Some(id)) = (since, &entry.application_message_id) {
        let flow = &entry.integration_flow_name;
        // The lock first: the lookups run once it is held, in one round trip with it.
        let key: [&(dyn tokio_postgres::types::ToSql + Sync); 3] = [&DELIVERY_LOCK_CLASS, flow, id];
        let (locked, completed, running) = tokio::join!(
            tx.execute(&lock, &key),
            write::find_completed(&tx, flow, id, since),
            write::find_running(&tx, flow, id),
        );
        locked.map_err(db)?;
        if let Some(original) = completed? {
            return Ok(NewOrDuplicate::Duplicate(original));
        }
        if let Some((row, guid, owner)) = running? {
            let gone = match owner {
                Some(owner) if Some(owner) == me => false,
                Some(owner) => setup::gone(&tx, owner).await?,
                None => true,
            };
            if !gone {
                return Ok(NewOrDuplicate::Running(guid));
            }
            write::abandon_one(&tx, row, epoch_millis(crate::clock::now()))
                .await
                .map_err(db)?;
        }
    }
    let columns = match start {
        Start::Queued { due } => QueueColumns {
            custom_status: "QUEUED",
            attempts: 0,
            next_attempt_at: Some(epoch_millis(due)),
            lease_until: None,
            lease_instance: None,
        },
        Start::Leased { until } => QueueColumns {
            custom_status: "QUEUED",
            attempts: 1,
            next_attempt_at: None,
            lease_until: Some(epoch_millis(until)),
            lease_instance: me,
        },
    };
    let first_attempt = prepared(&tx, FIRST_ATTEMPT).await?;
    let leased = columns.attempts == 1;
    let started = epoch_millis(entry.log_start);
    // The attempt finds the entry by its id, inserted by the statement sent before it.
    let (row, attempt) = tokio::join!(write::insert(&tx, entry, me, Some(&columns)), async {
        if leased {
            tx.execute(&first_attempt, &[&entry.guid.as_str(), &started])
                .await
                .map(|_| ())
        } else {
            Ok(())
        }
    });
    let row = row
        .map_err(db)?
        .ok_or_else(|| StoreError::Database("the queued entry was not written".to_owned()))?;
    attempt.map_err(db)?;
    tx.commit().await.map_err(db)?;
    Ok(NewOrDuplicate::New(EntryKey(row)))
}

/// The enqueue's advisory lock on (endpoint, externalEventId), held until its transaction ends.
const DELIVERY_LOCK: &str = "SELECT pg_advisory_xact_lock($1, hashtext($2 || chr(10) || $3))";

/// Attempt 1 of a message enqueued leased, found by its `MessageGuid`.
const FIRST_ATTEMPT: &str = "INSERT INTO attempts (message_id, number, started, status)
    SELECT id, 1, $2, 'RUNNING' FROM messages WHERE message_guid = $1";

/// `sql` prepared on `client`'s connection, once (deadpool's statement cache).
pub(super) async fn prepared(
    client: &impl GenericClient,
    sql: &str,
) -> Result<tokio_postgres::Statement, StoreError> {
    client.prepare_cached(sql).await.map_err(db)
}

/// Takes the locked rows `$1` (the due ones, then those whose lease ran out): the open attempt of
/// one whose lease ran out is interrupted, each gets its next attempt (started `$2`) and a lease
/// until `$3` held by instance `$4`; with its request.
const CLAIM: &str = "WITH lost AS (
    UPDATE attempts a SET ended = $2, status = 'INTERRUPTED', error_text = $5
    FROM messages m
    WHERE m.id = ANY($1) AND m.lease_until IS NOT NULL
      AND a.message_id = m.id AND a.number = m.attempts AND a.status = 'RUNNING'
), u AS (
    UPDATE messages SET status = 'PROCESSING', attempts = attempts + 1, next_attempt_at = NULL,
        lease_until = $3, lease_instance = $4
    WHERE id = ANY($1)
    RETURNING id, attempts, failures, message_guid, integration_flow_name, sender, log_start
), a AS (
    INSERT INTO attempts (message_id, number, started, status)
    SELECT id, attempts, $2, 'RUNNING' FROM u
)
SELECT u.id, u.attempts, u.failures, u.message_guid, u.integration_flow_name, u.sender,
    u.log_start, b.content_type, b.body
FROM u LEFT JOIN requests b ON b.message_id = u.id";

/// Claims up to `limit` due messages (waiting ones first, then those whose lease ran out), the
/// ones another instance is claiming skipped, for instance `me`.
pub(super) async fn claim(
    client: &mut deadpool_postgres::Client,
    now: i64,
    lease_until: i64,
    limit: usize,
    me: Option<i64>,
) -> Result<Vec<Claimed>, StoreError> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let tx = client.transaction().await.map_err(db)?;
    let ids = |sql: &'static str, limit: i64| {
        let tx = &tx;
        async move {
            let statement = prepared(tx, sql).await?;
            let rows = tx.query(&statement, &[&now, &limit]).await.map_err(db)?;
            Ok::<Vec<i64>, StoreError>(rows.iter().map(|r| r.get(0)).collect())
        }
    };
    let mut chosen = ids(
        "SELECT id FROM messages WHERE next_attempt_at <= $1
         ORDER BY next_attempt_at LIMIT $2 FOR UPDATE SKIP LOCKED",
        limit,
    )
    .await?;
    let room = limit - i64::try_from(chosen.len()).unwrap_or(limit);
    if room > 0 {
        chosen.extend(
            ids(
                "SELECT id FROM messages WHERE lease_until <= $1
                 ORDER BY lease_until LIMIT $2 FOR UPDATE SKIP LOCKED",
                room,
            )
            .await?,
        );
    }
    if chosen.is_empty() {
        return Ok(Vec::new());
    }
    let statement = prepared(&tx, CLAIM).await?;
    let rows = tx
        .query(&statement, &[&chosen, &now, &lease_until, &me, &LEASE_LOST])
        .await
        .map_err(db)?;
    tx.commit().await.map_err(db)?;
    let mut claimed = rows.iter().map(claimed).collect::<Result<Vec<_>, _>>()?;
    // In the order they were chosen: the oldest due first.
    claimed.sort_by_key(|c| chosen.iter().position(|id| *id == c.lease.key.0));
    Ok(claimed)
}

fn claimed(row: &Row) -> Result<Claimed, StoreError> {
    let attempt: i64 = row.get(1);
    let request = match (
        row.get::<_, Option<String>>(7),
        row.get::<_, Option<Vec<u8>>>(8),
    ) {
        (Some(content_type), Some(body)) => Some(Payload {
            content_type,
            body: body.into(),
        }),
        _ => None,
    };
    Ok(Claimed {
        lease: Lease {
            key: EntryKey(row.get(0)),
            attempt: u32::try_from(attempt).unwrap_or(u32::MAX),
        },
        failures: u32::try_from(row.get::<_, Option<i64>>(2).unwrap_or(0)).unwrap_or(0),
        guid: message_id(row.get(3))?,
        endpoint: row.get(4),
        sender: row.get(5),
        log_start: from_epoch_millis(row.get(6)),
        request,
    })
}

/// Extends a held lease; whether it is still held.
pub(super) async fn renew(
    client: &impl GenericClient,
    lease: Lease,
    until: i64,
) -> Result<bool, StoreError> {
    let statement = prepared(
        client,
        "UPDATE messages SET lease_until = $3
             WHERE id = $1 AND attempts = $2 AND lease_until IS NOT NULL",
    )
    .await?;
    let changed = client
        .execute(
            &statement,
            &[&lease.key.0, &i64::from(lease.attempt), &until],
        )
        .await
        .map_err(db)?;
    Ok(changed > 0)
}

/// Gives back a claimed message whose attempt never started; whether the lease was still held.
pub(super) async fn release(
    client: &impl GenericClient,
    lease: Lease,
    now: i64,
) -> Result<bool, StoreError> {
    let statement = prepared(
        client,
        "WITH u AS (
                 UPDATE messages SET attempts = attempts - 1, lease_until = NULL,
                     lease_instance = NULL, next_attempt_at = $3
                 WHERE id = $1 AND attempts = $2 AND lease_until IS NOT NULL
                 RETURNING id
             ), d AS (
                 DELETE FROM attempts WHERE message_id IN (SELECT id FROM u) AND number = $2
             )
             SELECT count(*) FROM u",
    )
    .await?;
    let row = client
        .query_one(&statement, &[&lease.key.0, &i64::from(lease.attempt), &now])
        .await
        .map_err(db)?;
    Ok(row.get::<_, i64>(0) > 0)
}

/// Ends the attempt `lease` holds as `end` says, in one statement; whether the lease was still
/// held (when not, nothing is written).
pub(super) async fn end_attempt(
    client: &impl GenericClient,
    lease: Lease,
    end: &AttemptEnd,
) -> Result<bool, StoreError> {
    let at = epoch_millis(end.at);
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
    let drop_request = matches!(
        end.next,
        Next::Complete {
            keep_request: false
        }
    );
    let attempt_status = if error.is_some() {
        "FAILED"
    } else {
        "COMPLETED"
    };
    let text = error.map(|e| e.text.replace('\0', "\u{fffd}"));
    let step = error.and_then(|e| e.step.as_deref());
    let statement = prepared(
        client,
        "WITH m AS (
                 UPDATE messages SET status = $3, custom_status = $4, log_end = $5,
                     error_text = $6, error_step = $7, failures = failures + $8,
                     next_attempt_at = $9, lease_until = NULL, lease_instance = NULL
                 WHERE id = $1 AND attempts = $2 AND lease_until IS NOT NULL
                 RETURNING id
             ), a AS (
                 UPDATE attempts SET ended = $10, status = $11, error_text = $6, error_step = $7,
                     retry_at = $9, started = $12
                 WHERE message_id IN (SELECT id FROM m) AND number = $2
             ), b AS (
                 DELETE FROM requests WHERE message_id IN (SELECT id FROM m) AND $13
             )
             SELECT count(*) FROM m",
    )
    .await?;
    let row = client
        .query_one(
            &statement,
            &[
                &lease.key.0,
                &i64::from(lease.attempt),
                &status,
                &custom,
                &log_end,
                &text,
                &step,
                &i64::from(error.is_some()),
                &retry_at,
                &at,
                &attempt_status,
                &epoch_millis(end.started),
                &drop_request,
            ],
        )
        .await
        .map_err(db)?;
    Ok(row.get::<_, i64>(0) > 0)
}

/// Queues again, due `now`, the messages whose attempt an instance that is gone was running
/// (never those of `me` or of another live instance); counts them by endpoint.
pub(super) async fn requeue(
    client: &impl GenericClient,
    me: Option<i64>,
    now: i64,
) -> Result<Requeued, StoreError> {
    let dead = setup::dead(client, me).await?;
    let statement = prepared(
        client,
        "WITH r AS (
                 UPDATE messages SET status = 'PROCESSING', next_attempt_at = $1,
                     lease_until = NULL, lease_instance = NULL
                 WHERE lease_until IS NOT NULL AND lease_instance IS DISTINCT FROM $3
                   AND (lease_instance IS NULL OR lease_instance = ANY($2)
                        OR NOT EXISTS (SELECT 1 FROM instances i
                                       WHERE i.id = messages.lease_instance))
                 RETURNING id, attempts, integration_flow_name
             ), i AS (
                 UPDATE attempts a SET ended = $1, status = 'INTERRUPTED', error_text = $4
                 FROM r WHERE a.message_id = r.id AND a.number = r.attempts
                   AND a.status = 'RUNNING'
             )
             SELECT integration_flow_name, count(*) FROM r GROUP BY 1",
    )
    .await?;
    let rows = client
        .query(&statement, &[&now, &dead, &me, &STOPPED])
        .await
        .map_err(db)?;
    let mut requeued = Requeued::new();
    for row in rows {
        requeued.insert(row.get(0), row.get::<_, i64>(1).unsigned_abs());
    }
    Ok(requeued)
}

/// Queues an `ESCALATED` message with a stored request again, due `now`; what it did.
pub(super) async fn retry(
    client: &impl GenericClient,
    guid: &str,
    now: i64,
) -> Result<Retried, StoreError> {
    let statement = prepared(
        client,
        "UPDATE messages SET status = 'PROCESSING', custom_status = 'QUEUED', failures = 0,
                 log_end = NULL, next_attempt_at = $2
             WHERE message_guid = $1 AND status = 'ESCALATED' AND attempts IS NOT NULL
               AND EXISTS (SELECT 1 FROM requests WHERE message_id = messages.id)",
    )
    .await?;
    let changed = client
        .execute(&statement, &[&guid, &now])
        .await
        .map_err(db)?;
    if changed > 0 {
        return Ok(Retried::Queued);
    }
    // Why not: there is none, it is not escalated, or its request is gone.
    let statement = prepared(
        client,
        "SELECT m.status, EXISTS (SELECT 1 FROM requests b WHERE b.message_id = m.id)
             FROM messages m WHERE m.message_guid = $1",
    )
    .await?;
    let facts = client.query_opt(&statement, &[&guid]).await.map_err(db)?;
    let Some(facts) = facts else {
        return Ok(Retried::NoMessage);
    };
    let text: String = facts.get(0);
    let status = Status::parse(&text).ok_or_else(|| not_ours("status", &text))?;
    Ok(match (status, facts.get::<_, bool>(1)) {
        (Status::Escalated, false) => Retried::NoBody,
        (status, _) => Retried::NotEscalated(status),
    })
}
