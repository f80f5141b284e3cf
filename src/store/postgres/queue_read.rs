//! What the queue's readers ask of it in PostgreSQL: a message's attempts (the monitoring API,
//! `iflowd messages show`), when the scheduler next needs a worker, and the queue's depth
//! (`/metrics`). The statements that change the queue are in `queue.rs`.

use deadpool_postgres::GenericClient;

use super::super::queue::{Attempt, AttemptStatus, Depth, QueueState};
use super::super::{ErrorInfo, StoreError};
use super::queue::prepared;
use super::{db, query::not_ours};
use crate::clock::from_epoch_millis;

/// The attempts of the message `guid`, first first; `None` when there is no such message.
pub(super) async fn attempts(
    client: &impl GenericClient,
    guid: &str,
) -> Result<Option<Vec<Attempt>>, StoreError> {
    let statement = prepared(
        client,
        "SELECT a.number, a.started, a.ended, a.status, a.error_text, a.error_step,
                 a.retry_at
             FROM messages m LEFT JOIN attempts a ON a.message_id = m.id
             WHERE m.message_guid = $1 ORDER BY a.number",
    )
    .await?;
    let rows = client.query(&statement, &[&guid]).await.map_err(db)?;
    if rows.is_empty() {
        return Ok(None);
    }
    let mut list = Vec::with_capacity(rows.len());
    for r in rows {
        let Some(number) = r.get::<_, Option<i64>>(0) else {
            continue; // a message without attempts (the LEFT JOIN's one row)
        };
        let status: String = r.get(3);
        let error = r.get::<_, Option<String>>(4).map(|text| ErrorInfo {
            text,
            step: r.get(5),
        });
        list.push(Attempt {
            number: u32::try_from(number).unwrap_or(0),
            started: from_epoch_millis(r.get(1)),
            ended: r.get::<_, Option<i64>>(2).map(from_epoch_millis),
            status: AttemptStatus::parse(&status)
                .ok_or_else(|| not_ours("attempt status", &status))?,
            error,
            retry_at: r.get::<_, Option<i64>>(6).map(from_epoch_millis),
        });
    }
    Ok(Some(list))
}

/// The earliest due time or lease end in the queue.
pub(super) async fn next_due(client: &impl GenericClient) -> Result<Option<i64>, StoreError> {
    let statement = prepared(
        client,
        "SELECT least(
                 (SELECT min(next_attempt_at) FROM messages WHERE next_attempt_at IS NOT NULL),
                 (SELECT min(lease_until) FROM messages WHERE lease_until IS NOT NULL))",
    )
    .await?;
    let row = client.query_one(&statement, &[]).await.map_err(db)?;
    Ok(row.get(0))
}

/// Queued messages by endpoint and state.
pub(super) async fn depth(client: &impl GenericClient) -> Result<Depth, StoreError> {
    let statement = prepared(
        client,
        "SELECT integration_flow_name,
                 CASE WHEN status = 'RETRY' THEN 'retry' ELSE 'queued' END, count(*)
             FROM messages WHERE next_attempt_at IS NOT NULL GROUP BY 1, 2
             UNION ALL
             SELECT integration_flow_name, 'running', count(*)
             FROM messages WHERE lease_until IS NOT NULL GROUP BY 1",
    )
    .await?;
    let rows = client.query(&statement, &[]).await.map_err(db)?;
    let mut depth = Depth::new();
    for r in rows {
        let state: &str = r.get(1);
        let state = QueueState::ALL
            .into_iter()
            .find(|s| s.as_str() == state)
            .ok_or_else(|| not_ours("queue state", state))?;
        *depth.entry((r.get(0), state)).or_default() += r.get::<_, i64>(2).unsigned_abs();
    }
    Ok(depth)
}
