//! `AuditLogs`: the audit log, read from the store with the API's query options (`$filter` on
//! any property, `Timestamp`, `UserName` and `Action` above all; `$orderby`, `$top`, `$skip`,
//! `$inlinecount`, `$select`), one page of at most [`PAGE_SIZE`] records at a time, newest first.

use axum::response::Response;
use serde_json::{Map, Value, json};

use super::error::ODataError;
use super::json::{date, key};
use super::logs::{PAGE_SIZE, next_query, read};
use super::metadata::{NAMESPACE, type_name};
use super::query::{op, value};
use super::{Call, json_response};
use crate::excerpt::Excerpt;
use crate::odata::schema::AUDIT_LOG;
use crate::odata::{Direction, Expr, QueryOptions, Scope};
use crate::store::audit::{AuditField, AuditFilter, change_id};
use crate::store::query::Direction as StoreDirection;
use crate::store::{AuditQuery, AuditRecord, Store};

fn store<'a>(call: &Call<'a>) -> Result<&'a Store, ODataError> {
    call.app.store().ok_or_else(|| {
        ODataError::not_found(
            "the message log is turned off ([store] enabled = false), and the audit log is kept in it; its records are only in the log lines (target iflowd::audit)",
        )
    })
}

/// The field of a property of `AuditLogs`; every property has one.
fn field(path: &str) -> Option<AuditField> {
    Some(match path {
        "ChangeId" => AuditField::ChangeId,
        "Action" => AuditField::Action,
        "Timestamp" => AuditField::Time,
        "UserName" => AuditField::User,
        "UserType" => AuditField::UserType,
        "ObjectName" => AuditField::Object,
        "Source" => AuditField::Source,
        "Details" => AuditField::Details,
        _ => return None,
    })
}

/// The store's filter of a parsed `$filter` (as deep as it nests, which the parser bounds).
fn filter(expr: &Expr) -> AuditFilter {
    match expr {
        Expr::And(terms) => AuditFilter::All(terms.iter().map(filter).collect()),
        Expr::Or(terms) => AuditFilter::Any(terms.iter().map(filter).collect()),
        Expr::Not(inner) => AuditFilter::Not(Box::new(filter(inner))),
        Expr::Compare {
            field: f,
            op: o,
            value: v,
        } => match field(f.path) {
            Some(field) => AuditFilter::Compare {
                field,
                op: op(*o),
                value: value(v),
            },
            // The schema and `field` list the same properties (a test keeps them in step).
            None => AuditFilter::Any(Vec::new()),
        },
    }
}

fn audit_query(options: &QueryOptions, limit: u64) -> AuditQuery {
    AuditQuery {
        filter: options.filter.as_ref().map(filter),
        order: options
            .orderby
            .iter()
            .filter_map(|o| {
                let direction = match o.direction {
                    Direction::Asc => StoreDirection::Ascending,
                    Direction::Desc => StoreDirection::Descending,
                };
                Some((field(o.field.path)?, direction))
            })
            .collect(),
        skip: options.skip,
        limit,
        count: options.inline_count,
    }
}

/// One record as OData JSON.
fn record(record: &AuditRecord, service: &str, select: Option<&[&'static str]>) -> Value {
    let id = change_id(record.id);
    let uri = format!("{service}/AuditLogs({})", key(&id));
    let mut object = Map::new();
    object.insert(
        "__metadata".into(),
        json!({ "id": uri, "uri": uri, "type": format!("{NAMESPACE}.{}", type_name(&AUDIT_LOG)) }),
    );
    let properties: [(&str, Value); 8] = [
        ("ChangeId", json!(id)),
        ("Action", json!(record.action.as_str())),
        ("Timestamp", date(record.at)),
        ("UserName", json!(record.user)),
        ("UserType", json!(record.action.user_type())),
        ("ObjectName", json!(record.object)),
        ("Source", json!(record.source)),
        ("Details", json!(record.details)),
    ];
    for (name, value) in properties {
        if select.is_none_or(|names| names.contains(&name)) {
            object.insert(name.into(), value);
        }
    }
    Value::Object(object)
}

/// `AuditLogs`, one page at a time, or `AuditLogs('<ChangeId>')`.
pub async fn serve(call: &Call<'_>, id: Option<String>) -> Result<Response, ODataError> {
    if let Some(id) = id {
        let options = call.options(&AUDIT_LOG, Scope::Entry)?;
        let entry = entry(call, &id, options.select.as_deref()).await?;
        return Ok(json_response(json!({ "d": entry })));
    }
    let options = call.options(&AUDIT_LOG, Scope::Collection)?;
    let limit = options.top.unwrap_or(u64::MAX).min(PAGE_SIZE + 1);
    let page = read(call, store(call)?.audit_log(audit_query(&options, limit))).await?;
    let mut records = page.records;
    let more = u64::try_from(records.len()).unwrap_or(u64::MAX) > PAGE_SIZE;
    records.truncate(usize::try_from(PAGE_SIZE).unwrap_or(usize::MAX));
    let results: Vec<Value> = records
        .iter()
        .map(|r| record(r, &call.service, options.select.as_deref()))
        .collect();
    let mut d = json!({ "results": results });
    if let Some(total) = page.total {
        d["__count"] = json!(total.to_string());
    }
    if more {
        let next = next_query(
            call.query,
            options.skip + PAGE_SIZE,
            options.top.map(|t| t - PAGE_SIZE),
        );
        d["__next"] = json!(format!("{}{}?{next}", call.origin, call.path));
    }
    Ok(json_response(json!({ "d": d })))
}

/// The JSON of the record `id`, with `select` applied.
pub async fn entry(
    call: &Call<'_>,
    id: &str,
    select: Option<&[&'static str]>,
) -> Result<Value, ODataError> {
    let missing = || ODataError::not_found(format!("AuditLogs has no entry '{}'", Excerpt(id)));
    let change = id.parse::<i64>().map_err(|_| missing())?;
    let query = AuditQuery {
        filter: Some(AuditFilter::Id(change)),
        limit: 1,
        ..AuditQuery::default()
    };
    let page = read(call, store(call)?.audit_log(query)).await?;
    let found = page.records.first().ok_or_else(missing)?;
    Ok(record(found, &call.service, select))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_property_of_audit_logs_has_a_field() {
        for f in AUDIT_LOG.fields {
            assert!(field(f.path).is_some(), "{}", f.path);
        }
    }
}
