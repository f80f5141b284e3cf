//! From the API's query language to the store's: an OData `$filter`/`$orderby` over
//! `MessageProcessingLogs` becomes a [`ListQuery`] over the log's fields.
//!
//! This is where the two meet, so neither knows the other: `odata` knows no store, the store
//! knows no OData. Most properties are a field of the log; a few are the same for every entry
//! (`LogLevel`, `IntegrationArtifact/Type`, `Receiver`), and a comparison with one of those is
//! decided here, once, with the in-memory evaluator, so the store gets `always` or `never`.

use super::json::{ARTIFACT_TYPE, LOG_LEVEL};
use crate::odata::eval::Value as Shown;
use crate::odata::{CompareOp, Direction, Expr, Literal, OrderBy, QueryOptions};
use crate::store::ListQuery;
use crate::store::query::{self, Filter, LogField, Op, Order, Value};

/// Where a property of `MessageProcessingLogs` comes from.
#[derive(Debug, Clone, PartialEq)]
enum Source {
    Field(LogField),
    /// The same for every entry, as the JSON shows it.
    Constant(Shown<'static>),
}

/// The source of a filterable property path; `None` for a path the schema has and this table
/// does not (a test keeps them in step).
fn source(path: &str) -> Option<Source> {
    use LogField::*;
    let field = match path {
        "MessageGuid" => Guid,
        "CorrelationId" => CorrelationId,
        "ApplicationMessageId" => ApplicationMessageId,
        "ApplicationMessageType" => ApplicationMessageType,
        "LogStart" => LogStart,
        "LogEnd" => LogEnd,
        "Sender" => Sender,
        "IntegrationFlowName" | "IntegrationArtifact/Id" | "IntegrationArtifact/Name" => {
            IntegrationFlowName
        }
        "Status" => Status,
        "CustomStatus" => CustomStatus,
        "TransactionId" => TransactionId,
        "EventCount" => EventCount,
        "Repost" => Repost,
        "OriginalMessageGuid" => OriginalGuid,
        "LogLevel" => return Some(Source::Constant(Shown::Text(LOG_LEVEL))),
        "IntegrationArtifact/Type" => return Some(Source::Constant(Shown::Text(ARTIFACT_TYPE))),
        "Receiver" => return Some(Source::Constant(Shown::Null)),
        _ => return None,
    };
    Some(Source::Field(field))
}

/// The store query of `MessageProcessingLogs` with `options`, at most `limit` entries.
pub fn list_query(options: &QueryOptions, limit: u64) -> ListQuery {
    ListQuery {
        filter: options.filter.as_ref().map(filter),
        order: order(&options.orderby),
        skip: options.skip,
        limit,
        count: options.inline_count,
    }
}

/// The store's filter of a parsed `$filter`: as deep as the `$filter` nests, which the parser
/// bounds.
pub fn filter(expr: &Expr) -> Filter {
    match expr {
        Expr::And(terms) => Filter::All(terms.iter().map(filter).collect()),
        Expr::Or(terms) => Filter::Any(terms.iter().map(filter).collect()),
        Expr::Not(inner) => Filter::Not(Box::new(filter(inner))),
        Expr::Compare { field, op, value } => match source(field.path) {
            Some(Source::Field(field)) => Filter::compare(field, self::op(*op), self::value(value)),
            Some(Source::Constant(shown)) => decided(expr.matches(&|_| shown.clone())),
            None => decided(expr.matches(&|_| Shown::Null)),
        },
    }
}

fn decided(holds: bool) -> Filter {
    if holds {
        Filter::always()
    } else {
        Filter::never()
    }
}

pub(super) fn op(op: CompareOp) -> Op {
    match op {
        CompareOp::Eq => Op::Eq,
        CompareOp::Ne => Op::Ne,
        CompareOp::Gt => Op::Gt,
        CompareOp::Ge => Op::Ge,
        CompareOp::Lt => Op::Lt,
        CompareOp::Le => Op::Le,
    }
}

pub(super) fn value(literal: &Literal) -> Value {
    match literal {
        Literal::Null => Value::Null,
        Literal::Text(text) => Value::Text(text.clone()),
        Literal::DateTime(at) => Value::Time(*at),
        Literal::Int(n) => Value::Int(*n),
        Literal::Bool(b) => Value::Bool(*b),
    }
}

/// Sort keys; a property that is the same for every entry orders nothing and is left out.
fn order(orderby: &[OrderBy]) -> Vec<Order> {
    orderby
        .iter()
        .filter_map(|o| match source(o.field.path) {
            Some(Source::Field(field)) => Some(Order {
                field,
                direction: match o.direction {
                    Direction::Asc => query::Direction::Ascending,
                    Direction::Desc => query::Direction::Descending,
                },
            }),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::odata::schema::MESSAGE_PROCESSING_LOG;
    use crate::odata::{QueryOptions, Scope};

    fn options(query: &str) -> QueryOptions {
        QueryOptions::parse(Some(query), &MESSAGE_PROCESSING_LOG, Scope::Collection).unwrap()
    }

    #[test]
    fn every_filterable_property_has_a_source() {
        for field in MESSAGE_PROCESSING_LOG.fields {
            assert!(source(field.path).is_some(), "{}", field.path);
        }
    }

    #[test]
    fn comparisons_become_the_stores_and_constants_are_decided_here() {
        let query = list_query(
            &options(
                "$filter=(Status eq 'FAILED' or EventCount ge 2) and not (Repost eq true)&$orderby=LogLevel,LogEnd desc&$skip=3&$inlinecount=allpages",
            ),
            7,
        );
        assert_eq!(
            query.filter,
            Some(Filter::All(vec![
                Filter::Any(vec![
                    Filter::compare(LogField::Status, Op::Eq, Value::Text("FAILED".into())),
                    Filter::compare(LogField::EventCount, Op::Ge, Value::Int(2)),
                ]),
                Filter::Not(Box::new(Filter::compare(
                    LogField::Repost,
                    Op::Eq,
                    Value::Bool(true)
                ))),
            ]))
        );
        assert_eq!(
            query.order,
            [Order {
                field: LogField::LogEnd,
                direction: query::Direction::Descending
            }]
        );
        assert_eq!((query.skip, query.limit, query.count), (3, 7, true));
        for (text, expected) in [
            ("LogLevel eq 'INFO'", Filter::always()),
            ("LogLevel ne 'INFO'", Filter::never()),
            (
                "IntegrationArtifact/Type eq 'INTEGRATION_FLOW'",
                Filter::always(),
            ),
            ("Receiver eq null", Filter::always()),
            ("Receiver gt 'a'", Filter::never()),
            ("Receiver ne 'a'", Filter::always()),
        ] {
            let query = list_query(&options(&format!("$filter={text}")), 1);
            assert_eq!(query.filter, Some(expected), "{text}");
        }
    }
}
