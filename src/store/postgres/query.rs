//! The PostgreSQL backend's reads: a [`ListQuery`] as SQL, the tally, and the lookups by
//! `MessageGuid`.
//!
//! Column names come from a fixed table ([`column`]); every value from a query travels as a bound
//! parameter with its type ([`Param`]), never as SQL text. The meaning is the one
//! `store::query` documents and the SQLite backend keeps: `IS NOT DISTINCT FROM` is the
//! null-safe equality, `Not` of an unknown comparison holds, texts compare by their bytes (the
//! columns are `COLLATE "C"`), missing values sort first going up and last going down (SQLite's
//! order), and ties go newest first.

use crate::store::query::boolean;
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;
use tokio_postgres::types::{ToSql, Type};

use super::super::query::{
    Direction, EventMatch, Filter, ListQuery, LogField, Op, Page, TallyCount, TallyQuery, Value,
};
use super::super::{
    Entry, ErrorInfo, HeaderProperty, MAX_HEADER_EVENTS, MAX_HEADER_VALUE_CHARS, Payload,
    PayloadInfo, Status, StoreError,
};
use super::{db, message_id};
use crate::clock::{epoch_millis, from_epoch_millis};

const ENTRY_COLUMNS: &str = "message_guid, correlation_id, transaction_id, application_message_id,
    application_message_type, integration_flow_name, sender, status, custom_status, log_start,
    log_end, event_count, repost, original_guid, error_text IS NOT NULL";

/// The most parameters one statement may carry (the protocol counts them in 16 bits).
const MAX_PARAMS: usize = 65_535;

/// The type of a field's column.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Text,
    /// Epoch milliseconds, and the numbers.
    Int,
    Bool,
}

/// The column of a field and its type. Only these fixed strings ever become SQL text.
fn column(field: LogField) -> (&'static str, Kind) {
    match field {
        LogField::Guid => ("message_guid", Kind::Text),
        LogField::CorrelationId => ("correlation_id", Kind::Text),
        LogField::TransactionId => ("transaction_id", Kind::Text),
        LogField::ApplicationMessageId => ("application_message_id", Kind::Text),
        LogField::ApplicationMessageType => ("application_message_type", Kind::Text),
        LogField::IntegrationFlowName => ("integration_flow_name", Kind::Text),
        LogField::Sender => ("sender", Kind::Text),
        LogField::Status => ("status", Kind::Text),
        LogField::CustomStatus => ("custom_status", Kind::Text),
        LogField::LogStart => ("log_start", Kind::Int),
        LogField::LogEnd => ("log_end", Kind::Int),
        LogField::EventCount => ("event_count", Kind::Int),
        LogField::Repost => ("repost", Kind::Bool),
        LogField::OriginalGuid => ("original_guid", Kind::Text),
    }
}

/// A bound value with its type (a missing one typed like its column).
#[derive(Debug)]
pub(super) enum Param {
    Text(Option<String>),
    Int(Option<i64>),
    Bool(Option<bool>),
    /// A text with a NUL character, which PostgreSQL's texts cannot hold: compared as bytes.
    Bytes(Vec<u8>),
}

impl Param {
    fn typed(&self) -> (&(dyn ToSql + Sync), Type) {
        match self {
            Self::Text(v) => (v, Type::TEXT),
            Self::Int(v) => (v, Type::INT8),
            Self::Bool(v) => (v, Type::BOOL),
            Self::Bytes(v) => (v, Type::BYTEA),
        }
    }

    /// `value` as a parameter for a column of `kind`; `None` when it is of another type, with
    /// which the column's value never compares (as in `odata::eval`).
    pub(super) fn of(kind: Kind, value: &Value) -> Option<Self> {
        Some(match (kind, value) {
            (Kind::Text, Value::Null) => Self::Text(None),
            (Kind::Int, Value::Null) => Self::Int(None),
            (Kind::Bool, Value::Null) => Self::Bool(None),
            (Kind::Text, Value::Text(text)) if text.contains('\0') => {
                Self::Bytes(text.as_bytes().to_vec())
            }
            (Kind::Text, Value::Text(text)) => Self::Text(Some(text.clone())),
            (Kind::Int, Value::Time(at)) => Self::Int(Some(epoch_millis(*at))),
            (Kind::Int, Value::Int(n)) => Self::Int(Some(*n)),
            (Kind::Bool, Value::Bool(b)) => Self::Bool(Some(*b)),
            _ => return None,
        })
    }
}

/// Appends `value` to `params` and its placeholder to `sql`.
pub(super) fn bind(sql: &mut String, params: &mut Vec<Param>, value: Param) {
    params.push(value);
    sql.push('$');
    sql.push_str(&params.len().to_string());
}

/// Appends the SQL of `filter` to `sql`, and its values to `params`. The recursion goes as deep
/// as the filter nests; `All`/`Any` lists are loops.
fn where_sql(filter: &Filter, sql: &mut String, params: &mut Vec<Param>) {
    boolean::write(
        filter,
        boolean::POSTGRES,
        sql,
        &mut |term, sql| match term {
            Filter::Compare { field, op, value } => {
                let (name, kind) = column(*field);
                compare_sql(name, kind, *op, value, sql, params);
            }
            Filter::HasEvent(EventMatch::UserId(user)) if user.contains('\0') => {
                // No stored userId holds a NUL.
                sql.push_str("FALSE");
            }
            Filter::HasEvent(event) => {
                let (column, value) = match event {
                    EventMatch::Kind(kind) => ("kind", kind.as_str().to_owned()),
                    EventMatch::UserId(user) => ("user_id", user.clone()),
                };
                sql.push_str("id IN (SELECT message_id FROM message_events WHERE ");
                sql.push_str(column);
                sql.push_str(" = ");
                bind(sql, params, Param::Text(Some(value)));
                sql.push(')');
            }
            // `and`, `or` and `not`: written by `boolean::write`.
            Filter::All(_) | Filter::Any(_) | Filter::Not(_) => {}
        },
    );
}

/// Appends `name op value`, for a column of `kind`, with the meaning `store::query` documents.
pub(super) fn compare_sql(
    name: &str,
    kind: Kind,
    op: Op,
    value: &Value,
    sql: &mut String,
    params: &mut Vec<Param>,
) {
    let Some(param) = Param::of(kind, value) else {
        // Values of different types differ, and are not ordered.
        sql.push_str(if op == Op::Ne { "TRUE" } else { "FALSE" });
        return;
    };
    let operator = match op {
        Op::Eq => "IS NOT DISTINCT FROM",
        Op::Ne => "IS DISTINCT FROM",
        Op::Gt => ">",
        Op::Ge => ">=",
        Op::Lt => "<",
        Op::Le => "<=",
    };
    sql.push('(');
    if matches!(param, Param::Bytes(_)) {
        // No stored text holds a NUL; comparing the bytes keeps the order all the same.
        sql.push_str("convert_to(");
        sql.push_str(name);
        sql.push_str(", 'UTF8')");
    } else {
        sql.push_str(name);
    }
    sql.push(' ');
    sql.push_str(operator);
    sql.push(' ');
    bind(sql, params, param);
    sql.push(')');
}

/// Runs `sql` with `params`, in one round trip (the types travel with the values, so nothing is
/// prepared first). A statement PostgreSQL refuses as beyond its limits (SQLSTATE class 54:
/// "stack depth limit exceeded", "too many arguments"...) is [`StoreError::TooComplex`].
pub(super) async fn run(
    client: &deadpool_postgres::Client,
    sql: &str,
    params: &[Param],
) -> Result<Vec<Row>, StoreError> {
    if params.len() > MAX_PARAMS {
        return Err(StoreError::TooComplex(format!(
            "{} values, more than the {MAX_PARAMS} a statement may carry",
            params.len()
        )));
    }
    let typed: Vec<(&(dyn ToSql + Sync), Type)> = params.iter().map(Param::typed).collect();
    client
        .query_typed(sql, &typed)
        .await
        .map_err(|error| match beyond_limits(&error) {
            Some(reason) => StoreError::TooComplex(reason),
            None => db(error),
        })
}

/// PostgreSQL's reason when `error` is PostgreSQL refusing the statement as beyond its limits
/// (these come only from the query's shape): SQLSTATE class 54, "program limit exceeded" (the
/// stack depth, too many arguments...), or its parser's stack running out on parentheses nested
/// too deep (reported as a syntax error, "memory exhausted").
fn beyond_limits(error: &tokio_postgres::Error) -> Option<String> {
    let error = error.as_db_error()?;
    let code = error.code().code();
    let limit = code.starts_with("54")
        || (code == "42601" && error.message().starts_with("memory exhausted"));
    limit.then(|| error.message().to_owned())
}

fn entry(row: &Row) -> Result<Entry, StoreError> {
    let status: String = row.get(7);
    Ok(Entry {
        guid: message_id(row.get(0))?,
        correlation_id: row.get(1),
        transaction_id: row.get(2),
        application_message_id: row.get(3),
        application_message_type: row.get(4),
        integration_flow_name: row.get(5),
        sender: row.get(6),
        status: Status::parse(&status).ok_or_else(|| not_ours("status", &status))?,
        custom_status: row.get(8),
        log_start: from_epoch_millis(row.get(9)),
        log_end: row.get::<_, Option<i64>>(10).map(from_epoch_millis),
        event_count: row.get(11),
        repost: row.get(12),
        original_guid: row
            .get::<_, Option<String>>(13)
            .map(message_id)
            .transpose()?,
        has_error: row.get(14),
    })
}

/// A stored value iflowd cannot have written (the database was changed by hand).
pub(super) fn not_ours(what: &str, text: &str) -> StoreError {
    StoreError::Database(format!("'{text}' is not a {what}"))
}

pub(super) async fn list(
    client: &deadpool_postgres::Client,
    query: &ListQuery,
) -> Result<Page, StoreError> {
    let mut condition = String::new();
    let mut params = Vec::new();
    if let Some(filter) = &query.filter {
        condition.push_str(" WHERE ");
        where_sql(filter, &mut condition, &mut params);
    }
    let total = if query.count {
        let sql = format!("SELECT count(*) FROM messages{condition}");
        let rows = run(client, &sql, &params).await?;
        let count: i64 = rows.first().map_or(0, |row| row.get(0));
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
                Direction::Ascending => "ASC NULLS FIRST",
                Direction::Descending => "DESC NULLS LAST",
            };
            format!("{} {direction}", column(o.field).0)
        })
        .collect();
    if order.is_empty() {
        order.push("log_start DESC".to_owned());
    }
    // A stable tie-breaker, so pages never overlap or skip; in the first key's direction, so
    // entries that tie (two starts in one millisecond) keep the order they were written in
    // under `LogStart asc` as under `LogStart desc` (as SQLite's).
    order.push(
        match query.order.first().map(|o| o.direction) {
            Some(Direction::Ascending) => "id ASC",
            _ => "id DESC",
        }
        .to_owned(),
    );
    let mut sql = format!(
        "SELECT {ENTRY_COLUMNS} FROM messages{condition} ORDER BY {} LIMIT ",
        order.join(", ")
    );
    let limit = i64::try_from(query.limit).unwrap_or(i64::MAX);
    bind(&mut sql, &mut params, Param::Int(Some(limit)));
    sql.push_str(" OFFSET ");
    let skip = i64::try_from(query.skip).unwrap_or(i64::MAX);
    bind(&mut sql, &mut params, Param::Int(Some(skip)));
    let entries = run(client, &sql, &params)
        .await?
        .iter()
        .map(entry)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page { entries, total })
}

pub(super) async fn tally(
    client: &deadpool_postgres::Client,
    query: &TallyQuery,
) -> Result<Vec<TallyCount>, StoreError> {
    let from = epoch_millis(query.from);
    let bucket = i64::try_from(query.bucket.whole_milliseconds())
        .unwrap_or(i64::MAX)
        .max(1);
    let mut params = vec![Param::Int(Some(from)), Param::Int(Some(bucket))];
    let mut sql =
        "SELECT (log_start - $1) / $2, status, count(*) FROM messages WHERE log_start >= $1"
            .to_owned();
    if let Some(filter) = &query.filter {
        sql.push_str(" AND ");
        where_sql(filter, &mut sql, &mut params);
    }
    sql.push_str(" GROUP BY 1, 2");
    run(client, &sql, &params)
        .await?
        .iter()
        .map(|row| {
            let status: String = row.get(1);
            Ok(TallyCount {
                bucket: u64::try_from(row.get::<_, i64>(0)).unwrap_or(0),
                status: Status::parse(&status).ok_or_else(|| not_ours("status", &status))?,
                count: u64::try_from(row.get::<_, i64>(2)).unwrap_or(0),
            })
        })
        .collect()
}

/// One entry by `MessageGuid`.
pub(super) async fn get(
    client: &deadpool_postgres::Client,
    guid: &str,
) -> Result<Option<Entry>, StoreError> {
    let statement = client
        .prepare_cached(&format!(
            "SELECT {ENTRY_COLUMNS} FROM messages WHERE message_guid = $1"
        ))
        .await
        .map_err(db)?;
    let row = client.query_opt(&statement, &[&guid]).await.map_err(db)?;
    row.as_ref().map(entry).transpose()
}

/// The error of an entry: `None` when there is no such entry, `Some(None)` when it has none.
pub(super) async fn error(
    client: &deadpool_postgres::Client,
    guid: &str,
) -> Result<Option<Option<ErrorInfo>>, StoreError> {
    let statement = client
        .prepare_cached("SELECT error_text, error_step FROM messages WHERE message_guid = $1")
        .await
        .map_err(db)?;
    let row = client.query_opt(&statement, &[&guid]).await.map_err(db)?;
    Ok(row.map(|row| {
        let text: Option<String> = row.get(0);
        let step: Option<String> = row.get(1);
        text.map(|text| ErrorInfo { text, step })
    }))
}

/// The stored bodies of an entry, the request first: `None` when there is no such entry.
pub(super) async fn payloads(
    client: &deadpool_postgres::Client,
    guid: &str,
) -> Result<Option<Vec<PayloadInfo>>, StoreError> {
    // One row per body; one row of NULLs for an entry without any, none without an entry.
    let statement = client
        .prepare_cached(
            "SELECT b.kind, b.stored_at, b.content_type
             FROM messages m LEFT JOIN LATERAL (
                 SELECT 'request' AS kind, stored_at, content_type FROM requests
                 WHERE message_id = m.id
                 UNION ALL
                 SELECT 'response', stored_at, content_type FROM responses
                 WHERE message_id = m.id
             ) b ON true
             WHERE m.message_guid = $1
             ORDER BY b.kind",
        )
        .await
        .map_err(db)?;
    let rows = client.query(&statement, &[&guid]).await.map_err(db)?;
    if rows.is_empty() {
        return Ok(None);
    }
    Ok(Some(
        rows.iter()
            .filter_map(|row| {
                Some(PayloadInfo {
                    kind: row.get::<_, Option<String>>(0)?,
                    stored_at: from_epoch_millis(row.get::<_, Option<i64>>(1)?),
                    content_type: row.get::<_, Option<String>>(2)?,
                })
            })
            .collect(),
    ))
}

/// One stored body (`kind` is `request` or `response`).
pub(super) async fn payload(
    client: &deadpool_postgres::Client,
    guid: &str,
    kind: &str,
) -> Result<Option<Payload>, StoreError> {
    // The table's name comes from this fixed choice, never from the caller's text.
    let sql = match kind {
        "request" => {
            "SELECT b.content_type, b.body FROM requests b JOIN messages m ON m.id = b.message_id
             WHERE m.message_guid = $1"
        }
        "response" => {
            "SELECT b.content_type, b.body FROM responses b JOIN messages m ON m.id = b.message_id
             WHERE m.message_guid = $1"
        }
        _ => return Ok(None),
    };
    let statement = client.prepare_cached(sql).await.map_err(db)?;
    let row = client.query_opt(&statement, &[&guid]).await.map_err(db)?;
    Ok(row.map(|row| Payload {
        content_type: row.get(0),
        body: bytes::Bytes::from(row.get::<_, Vec<u8>>(1)),
    }))
}

/// The custom header properties of an entry, in order: `None` when there is no such entry.
pub(super) async fn custom_headers(
    client: &deadpool_postgres::Client,
    guid: &str,
) -> Result<Option<Vec<HeaderProperty>>, StoreError> {
    let statement = client
        .prepare_cached("SELECT id, application_message_type FROM messages WHERE message_guid = $1")
        .await
        .map_err(db)?;
    let Some(row) = client.query_opt(&statement, &[&guid]).await.map_err(db)? else {
        return Ok(None);
    };
    let id: i64 = row.get(0);
    let entry_type: Option<String> = row.get(1);
    let statement = client
        .prepare_cached(
            "SELECT event_type, user_id, event_id FROM message_events WHERE message_id = $1
             ORDER BY position LIMIT $2",
        )
        .await
        .map_err(db)?;
    let limit = i64::try_from(MAX_HEADER_EVENTS).unwrap_or(i64::MAX);
    let rows = client.query(&statement, &[&id, &limit]).await.map_err(db)?;
    let mut properties = Vec::new();
    for row in rows {
        let event_type: Option<String> = row.get(0);
        let facts = [
            ("eventType", event_type.or_else(|| entry_type.clone())),
            ("userId", row.get(1)),
            ("eventId", row.get(2)),
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
