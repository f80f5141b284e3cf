//! Entries as OData v2 JSON: `__metadata`, `/Date(ms)/` dates, deferred navigation links.

use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use super::metadata::{NAMESPACE, type_name};
use crate::clock::epoch_millis;
use crate::odata::eval::Value as FilterValue;
use crate::odata::schema::Kind;
use crate::odata::schema::{
    CUSTOM_HEADER_PROPERTY, ERROR_INFORMATION, MESSAGE_PROCESSING_LOG,
    MESSAGE_PROCESSING_LOG_ATTEMPT, MESSAGE_STORE_ENTRY, Schema,
};
use crate::odata::whole_millisecond;
use crate::odata::{Direction, QueryOptions};
use crate::store::{Attempt, Entry, ErrorInfo, HeaderProperty, PayloadInfo};

/// `LogLevel` of every entry: iflowd keeps no step-by-step trace.
pub const LOG_LEVEL: &str = "INFO";
/// `IntegrationArtifact/Type` of every entry: each endpoint stands for an integration flow.
pub const ARTIFACT_TYPE: &str = "INTEGRATION_FLOW";

/// `/Date(1700000000000)/`, OData v2's JSON date.
pub fn date(at: OffsetDateTime) -> Value {
    Value::String(format!("/Date({})/", epoch_millis(at)))
}

/// An OData string key: `'...'` with quotes doubled.
pub fn key(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

fn metadata(schema: &Schema, uri: &str) -> Value {
    json!({ "id": uri, "uri": uri, "type": format!("{NAMESPACE}.{}", type_name(schema)) })
}

fn selected(select: Option<&[&'static str]>, name: &str) -> bool {
    select.is_none_or(|names| names.contains(&name))
}

/// A `MessageProcessingLogs` entry. `service` is the API's base URL (`http://host/api/v1`).
pub fn log_entry(entry: &Entry, service: &str, select: Option<&[&'static str]>) -> Value {
    let uri = format!(
        "{service}/MessageProcessingLogs({})",
        key(entry.guid.as_str())
    );
    let text = |v: &Option<String>| v.as_ref().map_or(Value::Null, |s| json!(s));
    let mut object = Map::new();
    object.insert("__metadata".into(), metadata(&MESSAGE_PROCESSING_LOG, &uri));
    let properties: [(&str, Value); 17] = [
        ("MessageGuid", json!(entry.guid)),
        ("CorrelationId", json!(entry.correlation_id)),
        ("ApplicationMessageId", text(&entry.application_message_id)),
        (
            "ApplicationMessageType",
            text(&entry.application_message_type),
        ),
        ("LogStart", date(entry.log_start)),
        ("LogEnd", entry.log_end.map_or(Value::Null, date)),
        ("Sender", json!(entry.sender)),
        ("Receiver", Value::Null),
        ("IntegrationFlowName", json!(entry.integration_flow_name)),
        ("Status", json!(entry.status)),
        ("CustomStatus", json!(entry.custom_status)),
        ("LogLevel", json!(LOG_LEVEL)),
        ("TransactionId", json!(entry.transaction_id)),
        (
            "IntegrationArtifact",
            json!({
                "__metadata": { "type": format!("{NAMESPACE}.IntegrationArtifact") },
                "Id": entry.integration_flow_name,
                "Name": entry.integration_flow_name,
                "Type": ARTIFACT_TYPE,
            }),
        ),
        ("EventCount", json!(entry.event_count)),
        ("Repost", json!(entry.repost)),
        ("OriginalMessageGuid", json!(entry.original_guid)),
    ];
    for (name, value) in properties {
        if selected(select, name) {
            object.insert(name.into(), value);
        }
    }
    if select.is_none() {
        for navigation in [
            "ErrorInformation",
            "MessageStoreEntries",
            "CustomHeaderProperties",
            "Attempts",
        ] {
            object.insert(
                navigation.into(),
                json!({ "__deferred": { "uri": format!("{uri}/{navigation}") } }),
            );
        }
    }
    Value::Object(object)
}

/// The id of a stored body in `MessageStoreEntries`.
pub fn store_entry_id(guid: &str, kind: &str) -> String {
    format!("{guid}.{kind}")
}

/// Splits a `MessageStoreEntries` id into message and kind.
pub fn parse_store_entry_id(id: &str) -> Option<(&str, &str)> {
    ["request", "response"].into_iter().find_map(|kind| {
        id.strip_suffix(kind)
            .and_then(|rest| rest.strip_suffix('.'))
            .map(|guid| (guid, kind))
    })
}

pub fn store_entry(guid: &str, info: &PayloadInfo, service: &str) -> Value {
    let id = store_entry_id(guid, &info.kind);
    let uri = format!("{service}/MessageStoreEntries({})", key(&id));
    let mut meta = metadata(&MESSAGE_STORE_ENTRY, &uri);
    meta["media_src"] = json!(format!("{uri}/$value"));
    meta["content_type"] = json!(info.content_type);
    json!({
        "__metadata": meta,
        "Id": id,
        "MessageGuid": guid,
        "MessageStoreId": info.kind,
        "TimeStamp": date(info.stored_at),
        "HasAttachments": false,
        "ContentType": info.content_type,
    })
}

/// The id of a message's custom header property: `<MessageGuid>.<n>`, `n` from 1.
pub fn custom_header_id(guid: &str, position: usize) -> String {
    format!("{guid}.{position}")
}

/// Splits a custom header property's id into message and position.
pub fn parse_custom_header_id(id: &str) -> Option<(&str, usize)> {
    let (guid, position) = id.rsplit_once('.')?;
    let position = position.parse::<usize>().ok().filter(|p| *p > 0)?;
    Some((guid, position))
}

/// The `position`th custom header property of message `guid`.
pub fn custom_header(
    guid: &str,
    position: usize,
    property: &HeaderProperty,
    service: &str,
) -> Value {
    let id = custom_header_id(guid, position);
    let uri = format!("{service}/{}({})", CUSTOM_HEADER_PROPERTY.set, key(&id));
    json!({
        "__metadata": metadata(&CUSTOM_HEADER_PROPERTY, &uri),
        "Id": id,
        "Name": property.name,
        "Value": property.value,
    })
}

/// The id of an attempt in `MessageProcessingLogAttempts`: `<MessageGuid>.<Number>`.
pub fn attempt_id(guid: &str, number: u32) -> String {
    format!("{guid}.{number}")
}

/// Splits a `MessageProcessingLogAttempts` id into message and number.
pub fn parse_attempt_id(id: &str) -> Option<(&str, u32)> {
    let (guid, number) = id.rsplit_once('.')?;
    Some((guid, number.parse().ok()?))
}

/// A `MessageProcessingLogAttempts` entry.
pub fn attempt(guid: &str, attempt: &Attempt, service: &str) -> Value {
    let id = attempt_id(guid, attempt.number);
    let uri = format!("{service}/MessageProcessingLogAttempts({})", key(&id));
    let error = attempt.error.as_ref();
    json!({
        "__metadata": metadata(&MESSAGE_PROCESSING_LOG_ATTEMPT, &uri),
        "Id": id,
        "MessageGuid": guid,
        "Number": attempt.number,
        "Start": date(attempt.started),
        "End": attempt.ended.map_or(Value::Null, date),
        "Status": attempt.status,
        "Error": error.map(|e| &e.text),
        "Handler": error.and_then(|e| e.step.as_ref()),
        "NextAttempt": attempt.retry_at.map_or(Value::Null, date),
    })
}

pub fn error_information(guid: &str, error: &ErrorInfo, service: &str) -> Value {
    let uri = format!(
        "{service}/MessageProcessingLogErrorInformations({})",
        key(guid)
    );
    let mut meta = metadata(&ERROR_INFORMATION, &uri);
    meta["media_src"] = json!(format!("{uri}/$value"));
    meta["content_type"] = json!("text/plain");
    json!({
        "__metadata": meta,
        "MessageGuid": guid,
        "Type": "MPL",
        "LastErrorModelStepId": error.step,
    })
}

/// A property value of an entry kept in memory.
#[derive(Debug, Clone)]
pub enum Cell {
    Text(String),
    /// Made by [`Cell::date`].
    Date(OffsetDateTime),
    Int(i64),
    Bool(bool),
    Null,
}

impl Cell {
    /// A date as the API shows it, in whole milliseconds (`/Date(ms)/`), so that a filter on the
    /// value a client read (`DeployedOn eq datetime'...'`) finds the entry it came from.
    pub fn date(at: OffsetDateTime) -> Self {
        Self::Date(whole_millisecond(at))
    }

    pub fn text(text: impl Into<String>) -> Self {
        Self::Text(text.into())
    }

    /// `value` as text, or null.
    pub fn optional(value: Option<impl Into<String>>) -> Self {
        value.map_or(Self::Null, Self::text)
    }
}

/// An entry kept in memory (artifacts, service endpoints, keystore entries, packages): property
/// name and value, in schema order; the first property is the key.
pub type Row = Vec<(&'static str, Cell)>;

fn filter_value<'a>(row: &'a Row, path: &str) -> FilterValue<'a> {
    match row.iter().find(|(name, _)| *name == path) {
        Some((_, Cell::Text(text))) => FilterValue::Text(text),
        Some((_, Cell::Date(at))) => FilterValue::DateTime(*at),
        Some((_, Cell::Int(n))) => FilterValue::Int(*n),
        Some((_, Cell::Bool(b))) => FilterValue::Bool(*b),
        Some((_, Cell::Null)) | None => FilterValue::Null,
    }
}

/// The order of two values of one property; null first, as in the store.
fn compare(a: &Cell, b: &Cell) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match (a, b) {
        (Cell::Text(a), Cell::Text(b)) => a.cmp(b),
        (Cell::Date(a), Cell::Date(b)) => a.cmp(b),
        (Cell::Int(a), Cell::Int(b)) => a.cmp(b),
        (Cell::Bool(a), Cell::Bool(b)) => a.cmp(b),
        (Cell::Null, Cell::Null) => Ordering::Equal,
        (Cell::Null, _) => Ordering::Less,
        (_, Cell::Null) => Ordering::Greater,
        // One property holds one type; another mix cannot happen.
        _ => Ordering::Equal,
    }
}

/// Applies `$filter`, `$orderby`, `$skip` and `$top` to rows in memory; returns the page and the
/// number of matches.
pub fn query_rows(mut rows: Vec<Row>, options: &QueryOptions) -> (Vec<Row>, usize) {
    if let Some(filter) = &options.filter {
        rows.retain(|row| filter.matches(&|path| filter_value(row, path)));
    }
    for order in options.orderby.iter().rev() {
        let cell = |row: &Row| {
            row.iter()
                .find(|(name, _)| *name == order.field.path)
                .map(|(_, c)| c.clone())
        };
        rows.sort_by(|a, b| {
            let ordering = match (cell(a), cell(b)) {
                (Some(a), Some(b)) => compare(&a, &b),
                (a, b) => a.is_some().cmp(&b.is_some()),
            };
            match order.direction {
                Direction::Asc => ordering,
                Direction::Desc => ordering.reverse(),
            }
        });
    }
    let total = rows.len();
    let skip = usize::try_from(options.skip).unwrap_or(usize::MAX);
    let top = options
        .top
        .map_or(usize::MAX, |t| usize::try_from(t).unwrap_or(usize::MAX));
    let page = rows.into_iter().skip(skip).take(top).collect();
    (page, total)
}

/// A row as JSON, with `$select` applied.
pub fn row(schema: &Schema, row: &Row, service: &str, select: Option<&[&'static str]>) -> Value {
    let id = match row.first() {
        Some((_, Cell::Text(id))) => id.as_str(),
        _ => "",
    };
    let uri = format!("{service}/{}({})", schema.set, key(id));
    let mut object = Map::new();
    object.insert("__metadata".into(), metadata(schema, &uri));
    for (name, cell) in row {
        if selected(select, name) {
            let value = match cell {
                Cell::Text(text) => json!(text),
                Cell::Date(at) => date(*at),
                // OData v2 writes 64-bit numbers as strings (JavaScript cannot hold them).
                Cell::Int(n) if schema.field(name).is_some_and(|f| f.kind == Kind::Int64) => {
                    json!(n.to_string())
                }
                Cell::Int(n) => json!(n),
                Cell::Bool(b) => json!(b),
                Cell::Null => Value::Null,
            };
            object.insert((*name).into(), value);
        }
    }
    Value::Object(object)
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::odata::Scope;
    use crate::odata::schema::INTEGRATION_RUNTIME_ARTIFACT;

    #[test]
    fn an_in_memory_date_is_found_by_the_value_it_is_shown_as() {
        let deployed = datetime!(2026-03-01 10:15:30.123_456_789 UTC);
        let rows = vec![vec![
            ("Id", Cell::Text("ISC_Events".into())),
            ("DeployedOn", Cell::date(deployed)),
        ]];
        let shown = row(&INTEGRATION_RUNTIME_ARTIFACT, &rows[0], "", None);
        assert_eq!(shown["DeployedOn"], date(deployed));
        assert_eq!(shown["DeployedOn"], "/Date(1772360130123)/");
        for (filter, expected) in [
            ("DeployedOn eq datetime'2026-03-01T10:15:30.123'", 1),
            ("DeployedOn le datetime'2026-03-01T10:15:30.123'", 1),
            ("DeployedOn gt datetime'2026-03-01T10:15:30.123'", 0),
        ] {
            let query = format!("$filter={}", filter.replace(' ', "%20"));
            let options = QueryOptions::parse(
                Some(&query),
                &INTEGRATION_RUNTIME_ARTIFACT,
                Scope::Collection,
            )
            .unwrap();
            let (_, total) = query_rows(rows.clone(), &options);
            assert_eq!(total, expected, "{filter}");
        }
    }
}
