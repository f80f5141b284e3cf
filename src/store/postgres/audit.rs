//! The audit log's statements in PostgreSQL: a record written, and an [`AuditQuery`] as SQL with
//! typed parameters, the message log's comparisons (`query::compare_sql`) over the audit log's
//! columns. Column names come from a fixed table ([`column`]).

use super::super::StoreError;
use super::super::audit::{
    AuditAction, AuditField, AuditFilter, AuditPage, AuditQuery, AuditRecord, NewAuditRecord,
};
use super::super::query::Direction;
use super::db;
use super::query::{Kind, Param, bind, compare_sql, not_ours, run};
use crate::clock::{epoch_millis, from_epoch_millis};
use crate::store::query::boolean;

const COLUMNS: &str = "id, at, action, user_name, object, source, details";

pub(super) async fn insert(
    client: &deadpool_postgres::Client,
    record: &NewAuditRecord,
) -> Result<(), StoreError> {
    let statement = client
        .prepare_cached(
            "INSERT INTO audit_log (at, action, user_name, object, source, details)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .await
        .map_err(db)?;
    client
        .execute(
            &statement,
            &[
                &epoch_millis(record.at),
                &record.action.as_str(),
                &record.user,
                &record.object,
                &record.source,
                &record.details,
            ],
        )
        .await
        .map_err(db)?;
    Ok(())
}

/// The column (or expression) of a field and its type. Only these fixed strings become SQL.
fn column(field: AuditField) -> (&'static str, Kind) {
    match field {
        AuditField::ChangeId => ("lpad(id::text, 16, '0')", Kind::Text),
        AuditField::Time => ("at", Kind::Int),
        AuditField::Action => ("action", Kind::Text),
        AuditField::User => ("user_name", Kind::Text),
        // `AuditAction::by_system`, in SQL.
        AuditField::UserType => (
            "(CASE WHEN action IN ('START', 'STOP', 'CONFIGURATION_LOADED') THEN 'SYSTEM' ELSE 'USER' END)",
            Kind::Text,
        ),
        AuditField::Object => ("object", Kind::Text),
        AuditField::Source => ("source", Kind::Text),
        AuditField::Details => ("details", Kind::Text),
    }
}

/// Appends the SQL of `filter` to `sql` and its values to `params`, with the meaning of the
/// message log's filters. Recurses as deep as the filter nests.
fn where_sql(filter: &AuditFilter, sql: &mut String, params: &mut Vec<Param>) {
    boolean::write(
        filter,
        boolean::POSTGRES,
        sql,
        &mut |term, sql| match term {
            AuditFilter::Id(id) => {
                sql.push_str("id = ");
                bind(sql, params, Param::Int(Some(*id)));
            }
            AuditFilter::Compare { field, op, value } => {
                let (name, kind) = column(*field);
                compare_sql(name, kind, *op, value, sql, params);
            }
            // `and`, `or` and `not`: written by `boolean::write`.
            AuditFilter::All(_) | AuditFilter::Any(_) | AuditFilter::Not(_) => {}
        },
    );
}

pub(super) async fn list(
    client: &deadpool_postgres::Client,
    query: &AuditQuery,
) -> Result<AuditPage, StoreError> {
    let mut condition = String::new();
    let mut params = Vec::new();
    if let Some(filter) = &query.filter {
        condition.push_str(" WHERE ");
        where_sql(filter, &mut condition, &mut params);
    }
    let total = if query.count {
        let sql = format!("SELECT count(*) FROM audit_log{condition}");
        let rows = run(client, &sql, &params).await?;
        let count: i64 = rows.first().map_or(0, |row| row.get(0));
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
                Direction::Ascending => "ASC NULLS FIRST",
                Direction::Descending => "DESC NULLS LAST",
            };
            format!("{} {direction}", column(*field).0)
        })
        .collect();
    if order.is_empty() {
        order.push("at DESC".to_owned());
    }
    // Ties (two records in one millisecond) in the order they were written, in the first key's
    // direction, as SQLite's.
    order.push(
        match query.order.first().map(|(_, direction)| direction) {
            Some(Direction::Ascending) => "id ASC",
            _ => "id DESC",
        }
        .to_owned(),
    );
    let mut sql = format!(
        "SELECT {COLUMNS} FROM audit_log{condition} ORDER BY {} LIMIT ",
        order.join(", ")
    );
    bind(
        &mut sql,
        &mut params,
        Param::Int(Some(i64::try_from(query.limit).unwrap_or(i64::MAX))),
    );
    sql.push_str(" OFFSET ");
    bind(
        &mut sql,
        &mut params,
        Param::Int(Some(i64::try_from(query.skip).unwrap_or(i64::MAX))),
    );
    let records = run(client, &sql, &params)
        .await?
        .iter()
        .map(|row| {
            let action: String = row.get(2);
            Ok(AuditRecord {
                id: row.get(0),
                at: from_epoch_millis(row.get(1)),
                action: AuditAction::parse(&action)
                    .ok_or_else(|| not_ours("audit action", &action))?,
                user: row.get(3),
                object: row.get(4),
                source: row.get(5),
                details: row.get(6),
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(AuditPage { records, total })
}
