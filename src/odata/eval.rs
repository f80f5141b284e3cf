//! Evaluating a `$filter` in memory, for the small collections that are not in the store
//! (`IntegrationRuntimeArtifacts`, `ServiceEndpoints`). The message log is filtered by the store
//! instead, with the same meaning (see `store::query`).

use std::cmp::Ordering;

use time::OffsetDateTime;

use super::filter::{CompareOp, Expr, Literal};

/// A value of a row, for evaluating a filter in memory.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    Null,
    Text(&'a str),
    DateTime(OffsetDateTime),
    Int(i64),
    Bool(bool),
}

impl Expr {
    /// Evaluates the filter against one row; `get` returns the value of a field path. The
    /// recursion goes as deep as the filter nests, which the parser bounds
    /// ([`super::MAX_FILTER_DEPTH`]).
    pub fn matches<'a>(&self, get: &dyn Fn(&str) -> Value<'a>) -> bool {
        match self {
            Self::And(terms) => terms.iter().all(|term| term.matches(get)),
            Self::Or(terms) => terms.iter().any(|term| term.matches(get)),
            Self::Not(inner) => !inner.matches(get),
            Self::Compare { field, op, value } => holds(*op, &get(field.path), value),
        }
    }
}

/// `actual op literal`. Null-safe like the store: `eq null` matches a missing value, `ne` holds
/// whenever the two differ (null included), and an order comparison with null never holds.
fn holds(op: CompareOp, actual: &Value<'_>, literal: &Literal) -> bool {
    let ordering = match (actual, literal) {
        (Value::Null, Literal::Null) => Some(Ordering::Equal),
        (Value::Null, _) | (_, Literal::Null) => None,
        (Value::Text(a), Literal::Text(b)) => Some((*a).cmp(b.as_str())),
        (Value::DateTime(a), Literal::DateTime(b)) => Some(a.cmp(b)),
        (Value::Int(a), Literal::Int(b)) => Some(a.cmp(b)),
        (Value::Bool(a), Literal::Bool(b)) => Some(a.cmp(b)),
        _ => None,
    };
    match (op, ordering) {
        (CompareOp::Eq, Some(o)) => o == Ordering::Equal,
        (CompareOp::Ne, Some(o)) => o != Ordering::Equal,
        // Null-safe: a missing value differs from every value.
        (CompareOp::Ne, None) => true,
        (CompareOp::Gt, Some(o)) => o == Ordering::Greater,
        (CompareOp::Ge, Some(o)) => o != Ordering::Less,
        (CompareOp::Lt, Some(o)) => o == Ordering::Less,
        (CompareOp::Le, Some(o)) => o != Ordering::Greater,
        (_, None) => false,
    }
}
