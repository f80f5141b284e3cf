//! Opening the log: the schema's migrations, this instance's registration and lock, and which
//! `PROCESSING` entries belong to instances that are gone.
//!
//! Several instances share one database, so "found `PROCESSING` at start-up" cannot mean
//! "abandoned" as it does in SQLite: another instance may be running that message right now.
//! Each instance that opens the log for writing gets a row in `instances` and holds the
//! session-level advisory lock ([`LOCK_CLASS`], its id) on a connection of its own for as long as
//! it runs, and writes its id into each `PROCESSING` entry. PostgreSQL releases that lock the
//! moment the connection ends: a stop, a crash, a `kill -9` (the socket closes), or, for a
//! machine that went away, once the TCP keepalives give up (about a minute, see `connect.rs`).
//! So an instance is gone exactly when another can take its lock, without clocks or leases
//! (`lock.rs` takes it again when its connection breaks while the instance runs).
//! [`abandon`] marks the entries of the instances that are gone `ABANDONED`; it runs at start-up,
//! with each purge, and when a copy of a message finds the message's entry held by such an
//! instance.

use deadpool_postgres::GenericClient;
use tokio_postgres::Client;

use super::super::{Abandoned, StoreError};
use super::{MIGRATIONS, db};

/// The first key of iflowd's advisory locks ("iflo"); the second is 0 for the migrations and an
/// instance's id for its instance lock.
pub(in crate::store) const LOCK_CLASS: i32 = 0x6966_6c6f;

/// The first key of the transaction-level advisory lock an enqueue takes on its endpoint and
/// externalEventId ("ifld"; the second key is their hash), so that copies enqueued on two
/// instances at once take turns and the second finds the first (`queue.rs`).
pub(super) const DELIVERY_LOCK_CLASS: i32 = 0x6966_6c64;

/// Applies the migrations not yet applied, in one transaction, under the migrations' advisory
/// lock: instances starting together take turns, and the second finds the work done.
pub(super) async fn migrate(client: &mut deadpool_postgres::Client) -> Result<(), StoreError> {
    let tx = client.transaction().await.map_err(db)?;
    tx.execute("SELECT pg_advisory_xact_lock($1, 0)", &[&LOCK_CLASS])
        .await
        .map_err(db)?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS iflowd_migrations (
             version    INTEGER PRIMARY KEY,
             applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
         )",
    )
    .await
    .map_err(db)?;
    let done = applied(&tx).await?;
    if done > MIGRATIONS.len() {
        return Err(StoreError::Database(format!(
            "the schema is at version {done}, newer than this iflowd knows ({}); use a newer iflowd",
            MIGRATIONS.len()
        )));
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(done) {
        let version = i32::try_from(index + 1).unwrap_or(i32::MAX);
        tx.batch_execute(sql)
            .await
            .map_err(|e| StoreError::Database(format!("migration {version} failed: {e}")))?;
        tx.execute(
            "INSERT INTO iflowd_migrations (version) VALUES ($1)",
            &[&version],
        )
        .await
        .map_err(db)?;
    }
    tx.commit().await.map_err(db)
}

/// The number of migrations applied (0 for a database iflowd never opened).
pub(super) async fn applied(client: &impl GenericClient) -> Result<usize, StoreError> {
    let exists: bool = client
        .query_one("SELECT to_regclass('iflowd_migrations') IS NOT NULL", &[])
        .await
        .map_err(db)?
        .get(0);
    if !exists {
        return Ok(0);
    }
    let version: Option<i32> = client
        .query_one("SELECT max(version) FROM iflowd_migrations", &[])
        .await
        .map_err(db)?
        .get(0);
    Ok(version.map_or(0, |v| usize::try_from(v).unwrap_or(0)))
}

/// Registers this instance and takes its lock on `client`, which must stay open for as long as
/// the instance runs. Returns the instance's id.
pub(super) async fn register(client: &Client, now: i64) -> Result<i64, StoreError> {
    let name = format!(
        "{}:{}",
        hostname().unwrap_or_else(|| "unknown".to_owned()),
        std::process::id()
    );
    let id: i64 = client
        .query_one(
            "INSERT INTO instances (name, started_at) VALUES ($1, $2) RETURNING id",
            &[&name, &now],
        )
        .await
        .map_err(db)?
        .get(0);
    client
        .execute(
            "SELECT pg_advisory_lock($1, $2)",
            &[&LOCK_CLASS, &lock_key(id)],
        )
        .await
        .map_err(db)?;
    Ok(id)
}

/// The second key of an instance's lock.
pub(super) fn lock_key(instance: i64) -> i32 {
    // Ids come from an identity column; two billion starts of iflowd on one database is not a
    // case to plan for, and wrapping would only make two instances share a key.
    i32::try_from(instance & 0x7fff_ffff).unwrap_or(i32::MAX)
}

/// The machine's name, for the `instances` row people read.
fn hostname() -> Option<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    Some(name.trim().to_owned()).filter(|n| !n.is_empty())
}

/// Whether `instance` is gone: nobody holds its lock. Asked on `client`, which takes the lock
/// for a moment when it is free.
pub(super) async fn gone(client: &impl GenericClient, instance: i64) -> Result<bool, StoreError> {
    let free: bool = client
        .query_one(
            "SELECT pg_try_advisory_lock($1, $2)",
            &[&LOCK_CLASS, &lock_key(instance)],
        )
        .await
        .map_err(db)?
        .get(0);
    if free {
        client
            .execute(
                "SELECT pg_advisory_unlock($1, $2)",
                &[&LOCK_CLASS, &lock_key(instance)],
            )
            .await
            .map_err(db)?;
    }
    Ok(free)
}

/// The registered instances other than `me` (the caller's own, which is alive) that are gone.
pub(super) async fn dead(
    client: &impl GenericClient,
    me: Option<i64>,
) -> Result<Vec<i64>, StoreError> {
    let others: Vec<i64> = client
        .query(
            "SELECT id FROM instances WHERE id IS DISTINCT FROM $1",
            &[&me],
        )
        .await
        .map_err(db)?
        .iter()
        .map(|row| row.get(0))
        .collect();
    let mut dead = Vec::new();
    for instance in others {
        if gone(client, instance).await? {
            dead.push(instance);
        }
    }
    Ok(dead)
}

/// Marks the synchronous `PROCESSING` entries of instances that are gone (other than `me`)
/// `ABANDONED`, ended `now`, and forgets those instances; counts the entries by endpoint.
/// Entries of no known instance (written without one) count as gone too. A queued message is
/// never abandoned: it runs again (`queue.rs`).
pub(super) async fn abandon(
    client: &mut deadpool_postgres::Client,
    me: Option<i64>,
    now: i64,
) -> Result<Abandoned, StoreError> {
    let dead = dead(&*client, me).await?;
    let tx = client.transaction().await.map_err(db)?;
    let rows = tx
        .query(
            "UPDATE messages SET status = 'ABANDONED', custom_status = 'ABANDONED', log_end = $1,
                 instance_id = NULL,
                 error_text = COALESCE(error_text, 'iflowd stopped while the message was being processed; whether its handlers finished is unknown')
             WHERE status = 'PROCESSING' AND attempts IS NULL
               AND (instance_id IS NULL OR instance_id = ANY($2)
                    OR NOT EXISTS (SELECT 1 FROM instances i WHERE i.id = messages.instance_id))
             RETURNING integration_flow_name",
            &[&now, &dead],
        )
        .await
        .map_err(db)?;
    tx.execute("DELETE FROM instances WHERE id = ANY($1)", &[&dead])
        .await
        .map_err(db)?;
    tx.commit().await.map_err(db)?;
    let mut abandoned = Abandoned::new();
    for row in rows {
        *abandoned.entry(row.get(0)).or_default() += 1;
    }
    Ok(abandoned)
}
