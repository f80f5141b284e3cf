//! The SQLite backend's reads: a [`ListQuery`] as SQL, and the lookups by `MessageGuid`.
//!
//! Column names come from a fixed table ([`column`]); every value from a query travels as a bound
//! parameter, never as SQL text.

use crate::store::query::boolean;
use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, ErrorCode, OptionalExtension, Row, params, params_from_iter};

use super::super::query::{
    Direction, EventMatch, Filter, ListQuery, LogField, Op, Page, TallyCount, TallyQuery, Value,
};
use super::super::{
    Entry, ErrorInfo, HeaderProperty, MAX_HEADER_EVENTS, MAX_HEADER_VALUE_CHARS, Payload,
    PayloadInfo, Status,
};
use super::write::{message_id, not_ours};
use crate::clock::{epoch_millis, from_epoch_millis};

const ENTRY_COLUMNS: &str = "message_guid, correlation_id, transaction_id, application_message_id,
    application_message_type, integration_flow_name, sender, status, custom_status, log_start,
    log_end, event_count, repost, original_guid, error_text IS NOT NULL";

/// The column of a field. Only these fixed strings ever become SQL text.
fn column(field: LogField) -> &'static str {
    match field {
        LogField::Guid => "message_guid",
        LogField::CorrelationId => "correlation_id",
        LogField::TransactionId => "transaction_id",
        LogField::ApplicationMessageId => "application_message_id",
        LogField::ApplicationMessageType => "application_message_type",
        LogField::IntegrationFlowName => "integration_flow_name",
        LogField::Sender => "sender",
        LogField::Status => "status",
        LogField::CustomStatus => "custom_status",
        LogField::LogStart => "log_start",
        LogField::LogEnd => "log_end",
        LogField::EventCount => "event_count",
        LogField::Repost => "repost",
        LogField::OriginalGuid => "original_guid",
    }
}

/// Appends the SQL of `filter` to `sql`, and its values to `values`. The recursion goes as deep
/// as the filter nests; `All`/`Any` lists are loops.
fn where_sql(filter: &Filter, sql: &mut String, values: &mut Vec<SqlValue>) {
    boolean::write(filter, boolean::SQLITE, sql, &mut |term, sql| match term {
        Filter::Compare { field, op, value } => compare(column(*field), *op, value, sql, values),
        Filter::HasEvent(event) => {
            let (column, value) = match event {
                EventMatch::Kind(kind) => ("kind", kind.as_str().to_owned()),
                EventMatch::UserId(user) => ("user_id", user.clone()),
            };
            sql.push_str("id IN (SELECT message_id FROM message_events WHERE ");
            sql.push_str(column);
            sql.push_str(" = ?)");
            values.push(SqlValue::Text(value));
        }
        // `and`, `or` and `not`: written by `boolean::write`.
        Filter::All(_) | Filter::Any(_) | Filter::Not(_) => {}
    });
}

/// Appends `column op ?` to `sql` and the value to `values`. IS / IS NOT are SQLite's null-safe
/// equality: `Ne 'X'` matches null, `Eq Null` works. (The audit log's comparisons too.)
pub(super) fn compare(
    column: &str,
    op: Op,
    value: &Value,
    sql: &mut String,
    values: &mut Vec<SqlValue>,
) {
    let operator = match op {
        Op::Eq => "IS",
        Op::Ne => "IS NOT",
        Op::Gt => ">",
        Op::Ge => ">=",
        Op::Lt => "<",
        Op::Le => "<=",
    };
    sql.push_str(column);
    sql.push(' ');
    sql.push_str(operator);
    sql.push_str(" ?");
    values.push(match value {
        Value::Null => SqlValue::Null,
        Value::Text(text) => SqlValue::Text(text.clone()),
        Value::Time(at) => SqlValue::Integer(epoch_millis(*at)),
        Value::Int(n) => SqlValue::Integer(*n),
        Value::Bool(b) => SqlValue::Integer(i64::from(*b)),
    });
}

/// SQLite's words when a statement is beyond its limits (`SQLITE_MAX_EXPR_DEPTH`, the number of
/// variables, of terms, the parser's stack): these come only from the query's shape. (The
/// bundled SQLite's texts; a test runs into each one that the API's queries could reach.)
const LIMIT_MESSAGES: &[&str] = &[
    "Expression tree is too large",
    "too many SQL variables",
    "too many terms",
    "too many arguments",
    // The parser's stack (parentheses nested too deep).
    "Recursion limit",
];

/// SQLite's reason when `error` is SQLite refusing the statement as beyond its limits, rather
/// than the log failing.
pub(super) fn beyond_limits(error: &rusqlite::Error) -> Option<String> {
    let rusqlite::Error::SqliteFailure(code, message) = error else {
        return None;
    };
    let limit = code.code == ErrorCode::TooBig
        || (code.code == ErrorCode::Unknown
            && message
                .as_deref()
                .is_some_and(|m| LIMIT_MESSAGES.iter().any(|limit| m.contains(limit))));
    limit.then(|| message.clone().unwrap_or_else(|| code.to_string()))
}

fn entry(row: &Row<'_>) -> rusqlite::Result<Entry> {
    let status: String = row.get(7)?;
    Ok(Entry {
        guid: message_id(row, 0)?,
        correlation_id: row.get(1)?,
        transaction_id: row.get(2)?,
        application_message_id: row.get(3)?,
        application_message_type: row.get(4)?,
        integration_flow_name: row.get(5)?,
        sender: row.get(6)?,
        status: Status::parse(&status).ok_or_else(|| not_ours(7, "status", &status))?,
        custom_status: row.get(8)?,
        log_start: from_epoch_millis(row.get(9)?),
        log_end: row.get::<_, Option<i64>>(10)?.map(from_epoch_millis),
        event_count: row.get(11)?,
        repost: row.get(12)?,
        original_guid: match row.get::<_, Option<String>>(13)? {
            Some(_) => Some(message_id(row, 13)?),
            None => None,
        },
        has_error: row.get(14)?,
    })
}

/// Runs `query`; `Ok(Err(reason))` when SQLite refuses it as beyond its limits.
pub(super) fn list(db: &Connection, query: &ListQuery) -> rusqlite::Result<Result<Page, String>> {
    match run_list(db, query) {
        Ok(page) => Ok(Ok(page)),
        Err(error) => beyond_limits(&error).map(Err).ok_or(error),
    }
}

/// Runs `query`; `Ok(Err(reason))` when SQLite refuses it as beyond its limits.
pub(super) fn tally(
    db: &Connection,
    query: &TallyQuery,
) -> rusqlite::Result<Result<Vec<TallyCount>, String>> {
    match run_tally(db, query) {
        Ok(counts) => Ok(Ok(counts)),
        Err(error) => beyond_limits(&error).map(Err).ok_or(error),
    }
}

fn run_tally(db: &Connection, query: &TallyQuery) -> rusqlite::Result<Vec<TallyCount>> {
    let from = epoch_millis(query.from);
    let bucket = i64::try_from(query.bucket.whole_milliseconds())
        .unwrap_or(i64::MAX)
        .max(1);
    let mut values = vec![SqlValue::Integer(from), SqlValue::Integer(bucket)];
    let mut sql =
        "SELECT (log_start - ?1) / ?2, status, count(*) FROM messages WHERE log_start >= ?1"
            .to_owned();
    if let Some(filter) = &query.filter {
        sql.push_str(" AND ");
        where_sql(filter, &mut sql, &mut values);
    }
    sql.push_str(" GROUP BY 1, 2");
    db.prepare(&sql)?
        .query_map(params_from_iter(values.iter()), |row| {
            let status: String = row.get(1)?;
            Ok(TallyCount {
                bucket: u64::try_from(row.get::<_, i64>(0)?).unwrap_or(0),
                status: Status::parse(&status).ok_or_else(|| not_ours(1, "status", &status))?,
                count: u64::try_from(row.get::<_, i64>(2)?).unwrap_or(0),
            })
        })?
        .collect()
}

fn run_list(db: &Connection, query: &ListQuery) -> rusqlite::Result<Page> {
    let mut condition = String::new();
    let mut values = Vec::new();
    if let Some(filter) = &query.filter {
        condition.push_str(" WHERE ");
        where_sql(filter, &mut condition, &mut values);
    }
    let total = if query.count {
        let sql = format!("SELECT count(*) FROM messages{condition}");
        let count: i64 = db
            .prepare(&sql)?
            .query_row(params_from_iter(values.iter()), |row| row.get(0))?;
        Some(u64::try_from(count).unwrap_or(0))
    } else {
        None
    };
    if query.limit == 0 {
        return Ok(Page {
            entries: Vec::new(),
            total,
        });
    }
    let mut order: Vec<String> = query
        .order
        .iter()
        .map(|o| {
            let direction = match o.direction {
                Direction::Ascending => "ASC",
                Direction::Descending => "DESC",
            };
            format!("{} {direction}", column(o.field))
        })
        .collect();
    if order.is_empty() {
        order.push("log_start DESC".to_owned());
    }
    // A stable tie-breaker, so pages never overlap or skip; in the first key's direction, so
    // entries that tie (two starts in one millisecond) keep the order they were written in
    // under `LogStart asc` as under `LogStart desc`.
    order.push(tie_breaker(&query.order).to_owned());
    let sql = format!(
        "SELECT {ENTRY_COLUMNS} FROM messages{condition} ORDER BY {} LIMIT ? OFFSET ?",
        order.join(", ")
    );
    values.push(SqlValue::Integer(
        i64::try_from(query.limit).unwrap_or(i64::MAX),
    ));
    values.push(SqlValue::Integer(
        i64::try_from(query.skip).unwrap_or(i64::MAX),
    ));
    let entries = db
        .prepare(&sql)?
        .query_map(params_from_iter(values.iter()), entry)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Page { entries, total })
}

/// One entry by `MessageGuid`.
pub(super) fn get(db: &Connection, guid: &str) -> rusqlite::Result<Option<Entry>> {
    db.prepare_cached(&format!(
        "SELECT {ENTRY_COLUMNS} FROM messages WHERE message_guid = ?1"
    ))?
    .query_row(params![guid], entry)
    .optional()
}

/// The error of an entry: `None` when there is no such entry, `Some(None)` when it has none.
pub(super) fn error(db: &Connection, guid: &str) -> rusqlite::Result<Option<Option<ErrorInfo>>> {
    db.prepare_cached("SELECT error_text, error_step FROM messages WHERE message_guid = ?1")?
        .query_row(params![guid], |row| {
            let text: Option<String> = row.get(0)?;
            let step: Option<String> = row.get(1)?;
            Ok(text.map(|text| ErrorInfo { text, step }))
        })
        .optional()
}

/// The stored bodies of an entry, the request first: `None` when there is no such entry.
pub(super) fn payloads(db: &Connection, guid: &str) -> rusqlite::Result<Option<Vec<PayloadInfo>>> {
    let id: Option<i64> = db
        .prepare_cached("SELECT id FROM messages WHERE message_guid = ?1")?
        .query_row(params![guid], |row| row.get(0))
        .optional()?;
    let Some(id) = id else { return Ok(None) };
    db.prepare_cached(
        "SELECT 'request', stored_at, content_type FROM requests WHERE message_id = ?1
         UNION ALL
         SELECT 'response', stored_at, content_type FROM responses WHERE message_id = ?1
         ORDER BY 1",
    )?
    .query_map(params![id], |row| {
        Ok(PayloadInfo {
            kind: row.get(0)?,
            stored_at: from_epoch_millis(row.get(1)?),
            content_type: row.get(2)?,
        })
    })?
    .collect::<rusqlite::Result<_>>()
    .map(Some)
}

/// One stored body (`kind` is `request` or `response`).
pub(super) fn payload(
    db: &Connection,
    guid: &str,
    kind: &str,
) -> rusqlite::Result<Option<Payload>> {
    // The table's name comes from this fixed choice, never from the caller's text.
    let sql = match kind {
        "request" => {
            "SELECT b.content_type, b.body FROM requests b JOIN messages m ON m.id = b.message_id
             WHERE m.message_guid = ?1"
        }
        "response" => {
            "SELECT b.content_type, b.body FROM responses b JOIN messages m ON m.id = b.message_id
             WHERE m.message_guid = ?1"
        }
        _ => return Ok(None),
    };
    db.prepare_cached(sql)?
        .query_row(params![guid], |row| {
            Ok(Payload {
                content_type: row.get(0)?,
                body: bytes::Bytes::from(row.get::<_, Vec<u8>>(1)?),
            })
        })
        .optional()
}

/// The custom header properties of an entry, in order: `None` when there is no such entry.
pub(super) fn custom_headers(
    db: &Connection,
    guid: &str,
) -> rusqlite::Result<Option<Vec<HeaderProperty>>> {
    let found: Option<(i64, Option<String>)> = db
        .prepare_cached(
            "SELECT id, application_message_type FROM messages WHERE message_guid = ?1",
        )?
        .query_row(params![guid], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    let Some((id, entry_type)) = found else {
        return Ok(None);
    };
    let mut properties = Vec::new();
    let mut statement = db.prepare_cached(
        "SELECT event_type, user_id, event_id FROM message_events WHERE message_id = ?1
         ORDER BY position LIMIT ?2",
    )?;
    let mut rows = statement.query(params![
        id,
        i64::try_from(MAX_HEADER_EVENTS).unwrap_or(i64::MAX)
    ])?;
    while let Some(row) = rows.next()? {
        let event_type: Option<String> = row.get(0)?;
        let facts = [
            ("eventType", event_type.or_else(|| entry_type.clone())),
            ("userId", row.get(1)?),
            ("eventId", row.get(2)?),
        ];
        for (name, value) in facts {
            if let Some(value) = value {
                properties.push(HeaderProperty {
                    name: name.to_owned(),
                    value: value.chars().take(MAX_HEADER_VALUE_CHARS).collect(),
                });
            }
        }
    }
    Ok(Some(properties))
}

/// The last key of every `ORDER BY`: the insertion order, in the direction of the first key
/// asked for (newest first when none is).
fn tie_breaker(order: &[crate::store::query::Order]) -> &'static str {
    match order.first().map(|o| o.direction) {
        Some(Direction::Ascending) => "id ASC",
        _ => "id DESC",
    }
}
