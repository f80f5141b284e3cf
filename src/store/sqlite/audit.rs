//! The audit log's statements: a record written, an [`AuditQuery`] as parameterised SQL, and
//! the retention purge's share. Column names come from a fixed table ([`column`]); values are
//! always bound parameters.

use crate::store::query::boolean;
use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, Row, params, params_from_iter};

use super::super::audit::{
    AuditAction, AuditField, AuditFilter, AuditPage, AuditQuery, AuditRecord, NewAuditRecord,
};
use super::super::query::Direction;
use super::query::beyond_limits;
use super::write::not_ours;
use crate::clock::{epoch_millis, from_epoch_millis};

const COLUMNS: &str = "id, at, action, user, object, source, details";

pub(super) fn insert(tx: &Connection, record: &NewAuditRecord) -> rusqlite::Result<i64> {
    tx.prepare_cached(
        "INSERT INTO audit_log (at, action, user, object, source, details)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        epoch_millis(record.at),
        record.action.as_str(),
        record.user,
        record.object,
        record.source,
        record.details,
    ])?;
    Ok(tx.last_insert_rowid())
}

/// Deletes the records older than `before`; how many.
pub(super) fn purge(tx: &Connection, before: i64) -> rusqlite::Result<usize> {
    tx.execute("DELETE FROM audit_log WHERE at < ?1", params![before])
}

/// The column (or expression) of a field. Only these fixed strings ever become SQL text.
fn column(field: AuditField) -> &'static str {
    match field {
        AuditField::ChangeId => "printf('%016d', id)",
        AuditField::Time => "at",
        AuditField::Action => "action",
        AuditField::User => "user",
        // `AuditAction::by_system`, in SQL.
        AuditField::UserType => {
            "(CASE WHEN action IN ('START', 'STOP', 'CONFIGURATION_LOADED') THEN 'SYSTEM' ELSE 'USER' END)"
        }
        AuditField::Object => "object",
        AuditField::Source => "source",
        AuditField::Details => "details",
    }
}

/// Appends the SQL of `filter` to `sql` and its values to `values`, with the meaning of the
/// message log's filters (`store::query`). Recurses as deep as the filter nests.
fn where_sql(filter: &AuditFilter, sql: &mut String, values: &mut Vec<SqlValue>) {
    boolean::write(filter, boolean::SQLITE, sql, &mut |term, sql| match term {
        AuditFilter::Id(id) => {
            sql.push_str("id = ?");
            values.push(SqlValue::Integer(*id));
        }
        AuditFilter::Compare { field, op, value } => {
            super::query::compare(column(*field), *op, value, sql, values);
        }
        // `and`, `or` and `not`: written by `boolean::write`.
        AuditFilter::All(_) | AuditFilter::Any(_) | AuditFilter::Not(_) => {}
    });
}

fn record(row: &Row<'_>) -> rusqlite::Result<AuditRecord> {
    let action: String = row.get(2)?;
    Ok(AuditRecord {
        id: row.get(0)?,
        at: from_epoch_millis(row.get(1)?),
        action: AuditAction::parse(&action).ok_or_else(|| not_ours(2, "audit action", &action))?,
        user: row.get(3)?,
        object: row.get(4)?,
        source: row.get(5)?,
        details: row.get(6)?,
    })
}

/// Runs `query`; `Ok(Err(reason))` when SQLite refuses it as beyond its limits.
pub(super) fn list(
    db: &Connection,
    query: &AuditQuery,
) -> rusqlite::Result<Result<AuditPage, String>> {
    match run_list(db, query) {
        Ok(page) => Ok(Ok(page)),
        Err(error) => beyond_limits(&error).map(Err).ok_or(error),
    }
}

fn run_list(db: &Connection, query: &AuditQuery) -> rusqlite::Result<AuditPage> {
    let mut condition = String::new();
    let mut values = Vec::new();
    if let Some(filter) = &query.filter {
        condition.push_str(" WHERE ");
        where_sql(filter, &mut condition, &mut values);
    }
    let total = if query.count {
        let count: i64 = db
            .prepare(&format!("SELECT count(*) FROM audit_log{condition}"))?
            .query_row(params_from_iter(values.iter()), |row| row.get(0))?;
        Some(u64::try_from(count).unwrap_or(0))
    } else {
        None
    };
    if query.limit == 0 {
        return Ok(AuditPage {
            records: Vec::new(),
            total,
        });
    }
    let mut order: Vec<String> = query
        .order
        .iter()
        .map(|(field, direction)| {
            let direction = match direction {
                Direction::Ascending => "ASC",
                Direction::Descending => "DESC",
            };
            format!("{} {direction}", column(*field))
        })
        .collect();
    if order.is_empty() {
        order.push("at DESC".to_owned());
    }
    // Ties (two records in one millisecond) in the order they were written, in the first
    // key's direction, as the message log's.
    order.push(
        match query.order.first().map(|(_, direction)| direction) {
            Some(Direction::Ascending) => "id ASC",
            _ => "id DESC",
        }
        .to_owned(),
    );
    let sql = format!(
        "SELECT {COLUMNS} FROM audit_log{condition} ORDER BY {} LIMIT ? OFFSET ?",
        order.join(", ")
    );
    values.push(SqlValue::Integer(
        i64::try_from(query.limit).unwrap_or(i64::MAX),
    ));
    values.push(SqlValue::Integer(
        i64::try_from(query.skip).unwrap_or(i64::MAX),
    ));
    let records = db
        .prepare(&sql)?
        .query_map(params_from_iter(values.iter()), record)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(AuditPage { records, total })
}
