//! Opening the log: the connections' settings, the schema's migrations, and what a previous run
//! left unfinished.

use std::path::Path;

use rusqlite::{Connection, OpenFlags, params};

use super::super::{Abandoned, StoreError};
use super::MIGRATIONS;

pub(super) fn configure_writer(connection: &Connection) -> rusqlite::Result<()> {
    let mode: String = connection.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(rusqlite::Error::InvalidParameterName(format!(
            "the database refused WAL mode (journal_mode is {mode})"
        )));
    }
    stable_plans(connection)?;
    connection.execute_batch(
        "PRAGMA synchronous = NORMAL;
         PRAGMA wal_autocheckpoint = 10000;
         PRAGMA journal_size_limit = 67108864;
         PRAGMA foreign_keys = ON;
         PRAGMA busy_timeout = 5000;",
    )
}

pub(super) fn open_reader(path: &Path) -> Result<Connection, StoreError> {
    let connection = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    stable_plans(&connection)?;
    connection.execute_batch("PRAGMA query_only = ON; PRAGMA busy_timeout = 5000;")?;
    Ok(connection)
}

/// SQLite re-plans a cached statement whenever a bound value it looked at while planning
/// changes, which for our statements (a new id every call) meant parsing and planning every
/// statement every time. The query planner stability guarantee turns that off.
fn stable_plans(connection: &Connection) -> rusqlite::Result<()> {
    connection.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    Ok(())
}

/// Applies the migrations not yet applied, each in its own transaction.
pub(super) fn migrate(connection: &mut Connection) -> Result<(), String> {
    let done: i64 = connection
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(|e| e.to_string())?;
    let done = usize::try_from(done).unwrap_or(usize::MAX);
    if done > MIGRATIONS.len() {
        return Err(format!(
            "the schema is at version {done}, newer than this iflowd knows ({}); use a newer iflowd",
            MIGRATIONS.len()
        ));
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(done) {
        let mut step = || -> rusqlite::Result<()> {
            let tx = connection.transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(
                None,
                "user_version",
                i64::try_from(index + 1).unwrap_or(i64::MAX),
            )?;
            tx.commit()
        };
        step().map_err(|e| format!("migration {} failed: {e}", index + 1))?;
    }
    Ok(())
}

/// Marks the entries a previous run left in `PROCESSING` as `ABANDONED`; counts them by endpoint.
pub(super) fn abandon_processing(connection: &Connection, now: i64) -> rusqlite::Result<Abandoned> {
    let mut abandoned = Abandoned::new();
    let mut statement = connection.prepare(
        "UPDATE messages SET status = 'ABANDONED', custom_status = 'ABANDONED', log_end = ?1,
             error_text = COALESCE(error_text, 'iflowd stopped while the message was being processed; whether its handlers finished is unknown')
         WHERE status = 'PROCESSING'
         RETURNING integration_flow_name",
    )?;
    let mut flows = statement.query(params![now])?;
    while let Some(row) = flows.next()? {
        *abandoned.entry(row.get(0)?).or_default() += 1;
    }
    Ok(abandoned)
}
