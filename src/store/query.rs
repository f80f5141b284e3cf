//! Reading the log: OData queries become parameterised SQL.
//!
//! Column names come from a fixed table ([`column`]); every value from a query travels as a bound
//! parameter, never as SQL text.

use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Row, params, params_from_iter};

use super::{Entry, ErrorInfo, Payload, PayloadInfo, Store, StoreError};
use crate::clock::{epoch_millis, from_epoch_millis};
use crate::odata::{CompareOp, Direction, Expr, Literal, OrderBy};

/// A page of `MessageProcessingLogs`.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub filter: Option<Expr>,
    /// Empty: newest first.
    pub orderby: Vec<OrderBy>,
    pub skip: u64,
    pub limit: u64,
    /// Also count every match (`$inlinecount=allpages`, `$count`).
    pub count: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Page {
    pub entries: Vec<Entry>,
    pub total: Option<u64>,
}

const ENTRY_COLUMNS: &str = "message_guid, correlation_id, transaction_id, application_message_id,
    application_message_type, integration_flow_name, sender, status, custom_status, log_start,
    log_end, event_count, repost, original_guid, error_text IS NOT NULL";

/// The SQL expression of a schema field. Only these fixed strings ever become SQL text.
fn column(path: &str) -> &'static str {
    match path {
        "MessageGuid" => "message_guid",
        "CorrelationId" => "correlation_id",
        "ApplicationMessageId" => "application_message_id",
        "ApplicationMessageType" => "application_message_type",
        "LogStart" => "log_start",
        "LogEnd" => "log_end",
        "Sender" => "sender",
        "IntegrationFlowName" | "IntegrationArtifact/Id" | "IntegrationArtifact/Name" => {
            "integration_flow_name"
        }
        "Status" => "status",
        "CustomStatus" => "custom_status",
        "LogLevel" => "'INFO'",
        "TransactionId" => "transaction_id",
        "IntegrationArtifact/Type" => "'INTEGRATION_FLOW'",
        "EventCount" => "event_count",
        "Repost" => "repost",
        "OriginalMessageGuid" => "original_guid",
        // Receiver, and anything a schema adds before this table learns it: always null.
        _ => "NULL",
    }
}

/// Appends the SQL of `expr` to `sql`, and its values to `values`.
fn where_sql(expr: &Expr, sql: &mut String, values: &mut Vec<Value>) {
    match expr {
        Expr::And(a, b) | Expr::Or(a, b) => {
            sql.push('(');
            where_sql(a, sql, values);
            sql.push_str(if matches!(expr, Expr::And(..)) {
                " AND "
            } else {
                " OR "
            });
            where_sql(b, sql, values);
            sql.push(')');
        }
        Expr::Not(inner) => {
            // A comparison with a missing value is unknown in SQL; OData's `not` of it is true.
            sql.push_str("(NOT coalesce(");
            where_sql(inner, sql, values);
            sql.push_str(", 0))");
        }
        Expr::Compare { field, op, value } => {
            // IS / IS NOT are SQLite's null-safe equality: `ne 'X'` matches null, `eq null` works.
            let operator = match op {
                CompareOp::Eq => "IS",
                CompareOp::Ne => "IS NOT",
                CompareOp::Gt => ">",
                CompareOp::Ge => ">=",
                CompareOp::Lt => "<",
                CompareOp::Le => "<=",
            };
            sql.push_str(&format!("{} {operator} ?", column(field.path)));
            values.push(match value {
                Literal::Null => Value::Null,
                Literal::Text(text) => Value::Text(text.clone()),
                Literal::DateTime(at) => Value::Integer(epoch_millis(*at)),
                Literal::Int(n) => Value::Integer(*n),
                Literal::Bool(b) => Value::Integer(i64::from(*b)),
            });
        }
    }
}

fn entry(row: &Row<'_>) -> rusqlite::Result<Entry> {
    Ok(Entry {
        guid: row.get(0)?,
        correlation_id: row.get(1)?,
        transaction_id: row.get(2)?,
        application_message_id: row.get(3)?,
        application_message_type: row.get(4)?,
        integration_flow_name: row.get(5)?,
        sender: row.get(6)?,
        status: row.get(7)?,
        custom_status: row.get(8)?,
        log_start: from_epoch_millis(row.get(9)?),
        log_end: row.get::<_, Option<i64>>(10)?.map(from_epoch_millis),
        event_count: row.get(11)?,
        repost: row.get(12)?,
        original_guid: row.get(13)?,
        has_error: row.get(14)?,
    })
}

fn list(db: &Connection, query: &ListQuery) -> rusqlite::Result<Page> {
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
        .orderby
        .iter()
        .map(|o| {
            let direction = match o.direction {
                Direction::Asc => "ASC",
                Direction::Desc => "DESC",
            };
            format!("{} {direction}", column(o.field.path))
        })
        .collect();
    if order.is_empty() {
        order.push("log_start DESC".to_owned());
    }
    // A stable tie-breaker, so pages never overlap or skip.
    order.push("id DESC".to_owned());
    let sql = format!(
        "SELECT {ENTRY_COLUMNS} FROM messages{condition} ORDER BY {} LIMIT ? OFFSET ?",
        order.join(", ")
    );
    values.push(Value::Integer(
        i64::try_from(query.limit).unwrap_or(i64::MAX),
    ));
    values.push(Value::Integer(
        i64::try_from(query.skip).unwrap_or(i64::MAX),
    ));
    let entries = db
        .prepare(&sql)?
        .query_map(params_from_iter(values.iter()), entry)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Page { entries, total })
}

impl Store {
    /// A page of entries matching `query`.
    pub async fn list(&self, query: ListQuery) -> Result<Page, StoreError> {
        self.read(move |db| list(db, &query)).await
    }

    /// One entry by `MessageGuid`.
    pub async fn get(&self, guid: &str) -> Result<Option<Entry>, StoreError> {
        let guid = guid.to_owned();
        self.read(move |db| {
            db.prepare_cached(&format!(
                "SELECT {ENTRY_COLUMNS} FROM messages WHERE message_guid = ?1"
            ))?
            .query_row(params![guid], entry)
            .optional()
        })
        .await
    }

    /// The error of an entry: `None` when there is no such entry, `Some(None)` when it has none.
    pub async fn error(&self, guid: &str) -> Result<Option<Option<ErrorInfo>>, StoreError> {
        let guid = guid.to_owned();
        self.read(move |db| {
            db.prepare_cached(
                "SELECT error_text, error_step FROM messages WHERE message_guid = ?1",
            )?
            .query_row(params![guid], |row| {
                let text: Option<String> = row.get(0)?;
                let step: Option<String> = row.get(1)?;
                Ok(text.map(|text| ErrorInfo { text, step }))
            })
            .optional()
        })
        .await
    }

    /// The stored bodies of an entry: `None` when there is no such entry.
    pub async fn payloads(&self, guid: &str) -> Result<Option<Vec<PayloadInfo>>, StoreError> {
        let guid = guid.to_owned();
        self.read(move |db| {
            let id: Option<i64> = db
                .prepare_cached("SELECT id FROM messages WHERE message_guid = ?1")?
                .query_row(params![guid], |row| row.get(0))
                .optional()?;
            let Some(id) = id else { return Ok(None) };
            let row = db
                .prepare_cached(
                    "SELECT stored_at, request_type, response_type FROM bodies WHERE message_id = ?1",
                )?
                .query_row(params![id], |row| {
                    let stored_at = from_epoch_millis(row.get(0)?);
                    let kinds: [(&str, Option<String>); 2] =
                        [("request", row.get(1)?), ("response", row.get(2)?)];
                    Ok(kinds
                        .into_iter()
                        .filter_map(|(kind, content_type)| {
                            Some(PayloadInfo {
                                kind: kind.to_owned(),
                                stored_at,
                                content_type: content_type?,
                            })
                        })
                        .collect())
                })
                .optional()?;
            Ok(Some(row.unwrap_or_default()))
        })
        .await
    }

    /// One stored body (`kind` is `request` or `response`).
    pub async fn payload(&self, guid: &str, kind: &str) -> Result<Option<Payload>, StoreError> {
        let guid = guid.to_owned();
        // The column names come from this fixed choice, never from the caller's text.
        let sql = match kind {
            "request" => {
                "SELECT b.request_type, b.request FROM bodies b JOIN messages m ON m.id = b.message_id
                 WHERE m.message_guid = ?1"
            }
            "response" => {
                "SELECT b.response_type, b.response FROM bodies b JOIN messages m ON m.id = b.message_id
                 WHERE m.message_guid = ?1"
            }
            _ => return Ok(None),
        };
        self.read(move |db| {
            let found = db
                .prepare_cached(sql)?
                .query_row(params![guid], |row| {
                    let content_type: Option<String> = row.get(0)?;
                    let body: Option<Vec<u8>> = row.get(1)?;
                    Ok(content_type.zip(body).map(|(content_type, body)| Payload {
                        content_type,
                        body: bytes::Bytes::from(body),
                    }))
                })
                .optional()?;
            Ok(found.flatten())
        })
        .await
    }
}
