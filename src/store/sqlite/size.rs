//! The log's size, as `[store] max_size_mb` counts it, and the purge that brings it back under.
//!
//! The size is the database's pages in use plus the WAL file. Pages freed by deleting are kept
//! by SQLite for reuse (the file does not shrink), so they are not counted: once the purge keeps
//! the pages in use under the limit, the database file stops growing at about the limit.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, params};

use super::super::{Purged, StoreError};
use super::Shared;
use super::pressure::truncate_wal_within;

/// Rows deleted by the first transaction of a purge down to size; the next ones delete as many
/// as the bytes the previous freed per row say are still to go (at most [`MAX_CHUNK`]). The
/// writer's lock is taken per transaction, so calls' writes go on between them.
const FIRST_CHUNK: u64 = 16;
const MAX_CHUNK: u64 = 1024;

/// How long the purge's checkpoint waits for readers to let go of the WAL.
const READER_WAIT: Duration = Duration::from_millis(100);

/// One step of the purge down to size: deletes up to a number of rows, oldest first; how many.
type Delete = dyn Fn(&Connection, i64) -> rusqlite::Result<usize>;

/// The log's size in bytes: pages in use plus the WAL.
pub(super) fn of(shared: &Shared) -> Result<u64, StoreError> {
    let pages = shared.with_reader(pages_in_use)?;
    Ok(pages + wal_size(&shared.path))
}

/// Deletes the oldest bodies (not those of queued messages), and after them the oldest entries
/// that are not `PROCESSING` or `RETRY`, while the log is over `max` bytes, down to nine tenths
/// of it; counts them into `purged`.
pub(super) fn purge_to(shared: &Shared, max: u64, purged: &mut Purged) -> Result<(), StoreError> {
    let target = max / 10 * 9;
    let measure = |db: &Connection| -> Result<u64, StoreError> {
        Ok(pages_in_use(db)? + wal_size(&shared.path))
    };
    if shared.writer.with_connection(|db| measure(db))? <= max {
        return Ok(());
    }
    // The bodies of the `limit` oldest entries that have any, both kinds together, but not the
    // request of a queued message: the queue runs it from there. The oldest such entries are
    // every one up to the last of them, so one bound picks them in both tables.
    let bodies = |db: &Connection, limit: i64| {
        const UNQUEUED: &str = "message_id NOT IN
            (SELECT id FROM messages WHERE next_attempt_at IS NOT NULL
             UNION ALL SELECT id FROM messages WHERE lease_until IS NOT NULL)";
        let last: Option<i64> = db
            .prepare_cached(&format!(
                "SELECT max(message_id) FROM
                     (SELECT message_id FROM
                          (SELECT message_id FROM requests UNION SELECT message_id FROM responses)
                      WHERE {UNQUEUED} ORDER BY message_id LIMIT ?1)"
            ))?
            .query_row(params![limit], |row| row.get(0))?;
        match last {
            Some(last) => {
                super::write::delete_bodies(db, &format!("message_id <= ?1 AND {UNQUEUED}"), last)
            }
            None => Ok(0),
        }
    };
    let entries = |db: &Connection, limit: i64| {
        db.prepare_cached(
            "DELETE FROM messages WHERE id IN
                 (SELECT id FROM messages WHERE status NOT IN ('PROCESSING', 'RETRY')
                  ORDER BY id LIMIT ?1)",
        )?
        .execute(params![limit])
    };
    let steps: [(&Delete, &mut usize); 2] = [
        (&bodies, &mut purged.payloads_over_size),
        (&entries, &mut purged.entries_over_size),
    ];
    for (delete, count) in steps {
        let mut chunk = FIRST_CHUNK;
        loop {
            // Measured before and after under the writer's lock, so that calls' writes between
            // two chunks do not count as what a chunk freed.
            let (deleted, emptied, before, after) = shared.writer.with_connection(|db| {
                let before = measure(db)?;
                let limit = i64::try_from(chunk).unwrap_or(i64::MAX);
                let deleted = delete(db, limit)?;
                // What the deletes wrote to the WAL counts too: give it back at once.
                let emptied = truncate_wal_within(db, READER_WAIT);
                Ok::<_, StoreError>((deleted as u64, emptied, before, measure(db)?))
            })?;
            *count += deleted as usize;
            // A WAL a reader holds on to would count every chunk's frames, and the purge would
            // delete on for them: stop, and let the next look at the size go on.
            if after <= target || !emptied {
                return Ok(());
            }
            if deleted == 0 {
                break;
            }
            chunk = match before.saturating_sub(after) / deleted {
                // Nothing freed that shows (pages kept by the WAL): no guess, the first size.
                0 => FIRST_CHUNK,
                per_row => ((after - target) / per_row + 1).clamp(1, MAX_CHUNK),
            };
        }
    }
    Ok(())
}

fn pages_in_use(db: &Connection) -> rusqlite::Result<u64> {
    db.prepare_cached(
        "SELECT (SELECT page_count FROM pragma_page_count())
              - (SELECT freelist_count FROM pragma_freelist_count()),
                (SELECT page_size FROM pragma_page_size())",
    )?
    .query_row([], |row| {
        let pages: i64 = row.get(0)?;
        let size: i64 = row.get(1)?;
        Ok(u64::try_from(pages.saturating_mul(size)).unwrap_or(0))
    })
}

/// The WAL file's length; none when there is no WAL file.
fn wal_size(database: &Path) -> u64 {
    let mut wal = database.as_os_str().to_owned();
    wal.push("-wal");
    std::fs::metadata(wal).map_or(0, |m| m.len())
}
