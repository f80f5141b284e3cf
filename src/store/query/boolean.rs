//! The boolean shape both the message log's [`Filter`] and the audit log's
//! [`AuditFilter`](crate::store::audit::AuditFilter) share, and the one walk that writes it as a
//! SQL condition. Each backend writes only the terms (comparisons, event lookups) in its dialect;
//! `and`/`or`/`not` and their meaning (see the module above) are written here, once.

use super::Filter;
use crate::store::audit::AuditFilter;

/// What a filter node is, for the walk.
pub(in crate::store) enum Shape<'a, T> {
    /// Every one of these holds (`true` when there are none).
    All(&'a [T]),
    /// At least one holds (`false` when there are none).
    Any(&'a [T]),
    /// This does not hold; a term that is unknown in SQL (a comparison with a null) counts as
    /// not holding, so `Not` of it holds.
    Not(&'a T),
    /// A term the backend writes.
    Term,
}

/// A filter with `and`/`or`/`not` nodes and terms.
pub(in crate::store) trait Boolean: Sized {
    fn shape(&self) -> Shape<'_, Self>;
}

impl Boolean for Filter {
    fn shape(&self) -> Shape<'_, Self> {
        match self {
            Filter::All(terms) => Shape::All(terms),
            Filter::Any(terms) => Shape::Any(terms),
            Filter::Not(inner) => Shape::Not(inner),
            Filter::Compare { .. } | Filter::HasEvent(_) => Shape::Term,
        }
    }
}

impl Boolean for AuditFilter {
    fn shape(&self) -> Shape<'_, Self> {
        match self {
            AuditFilter::All(terms) => Shape::All(terms),
            AuditFilter::Any(terms) => Shape::Any(terms),
            AuditFilter::Not(inner) => Shape::Not(inner),
            AuditFilter::Compare { .. } | AuditFilter::Id(_) => Shape::Term,
        }
    }
}

/// How a dialect writes the two truth values (SQLite `1`/`0`, PostgreSQL `TRUE`/`FALSE`).
#[derive(Clone, Copy)]
pub(in crate::store) struct Truth {
    pub yes: &'static str,
    pub no: &'static str,
}

/// Appends `filter` as a SQL condition to `sql`, calling `term` for each of its terms (which
/// binds its own values). Recurses once per level of nesting; lists are loops.
pub(in crate::store) fn write<T: Boolean, F: FnMut(&T, &mut String)>(
    filter: &T,
    truth: Truth,
    sql: &mut String,
    term: &mut F,
) {
    match filter.shape() {
        Shape::All(terms) => list(terms, " AND ", truth.yes, truth, sql, term),
        Shape::Any(terms) => list(terms, " OR ", truth.no, truth, sql, term),
        Shape::Not(inner) => {
            sql.push_str("(NOT coalesce(");
            write(inner, truth, sql, term);
            sql.push_str(", ");
            sql.push_str(truth.no);
            sql.push_str("))");
        }
        Shape::Term => term(filter, sql),
    }
}

fn list<T: Boolean, F: FnMut(&T, &mut String)>(
    terms: &[T],
    joint: &str,
    empty: &str,
    truth: Truth,
    sql: &mut String,
    term: &mut F,
) {
    if terms.is_empty() {
        sql.push_str(empty);
        return;
    }
    sql.push('(');
    for (i, each) in terms.iter().enumerate() {
        if i > 0 {
            sql.push_str(joint);
        }
        write(each, truth, sql, term);
    }
    sql.push(')');
}

/// SQLite has no boolean type: conditions are integers.
pub(in crate::store) const SQLITE: Truth = Truth { yes: "1", no: "0" };
/// PostgreSQL's conditions are booleans.
pub(in crate::store) const POSTGRES: Truth = Truth {
    yes: "TRUE",
    no: "FALSE",
};
