//! The OData v2 query language of the monitoring API, without HTTP and without SQL.
//!
//! Raw query strings stop here. [`QueryOptions::parse`] reads `$filter`, `$orderby`, `$top`,
//! `$skip`, `$inlinecount`, `$select` and `$format` against an entity's [`Schema`] and returns
//! typed values, or a [`QueryError`] that names the option and the problem (the HTTP layer makes
//! it a 400). `$filter` has a real parser ([`filter`]): a tokenizer and a recursive-descent
//! grammar producing an [`Expr`] tree that is type-checked against the schema, so the HTTP layer
//! can hand it to the store as the store's own query and in-memory collections can evaluate it
//! ([`eval`]).
//!
//! Every query is bounded before it is parsed or run (the `MAX_*` constants below): a URL is
//! someone else's input, and a recursive-descent parser, an evaluator and a database all have
//! a depth they cannot go past. A query over a limit is a [`QueryError`] that names the limit.
//!
//! [`schema`] lists the entity types the API serves; the `$metadata` document, the JSON
//! rendering and the query parser all read the same lists.

pub mod eval;
pub mod filter;
mod lexer;
mod literal;
mod options;
pub mod path;
pub mod schema;
#[cfg(test)]
mod tests;

pub use filter::{CompareOp, Expr, Literal};
pub use literal::whole_millisecond;
pub use options::{Direction, OrderBy, QueryOptions, Scope};
pub use schema::{Field, Kind, Schema};

/// The longest `$filter` accepted, in characters (after percent-decoding). Room for a hundred
/// `MessageGuid eq '…'` alternatives, the most [`MAX_FILTER_COMPARISONS`] allows.
pub const MAX_FILTER_LENGTH: usize = 8192;

/// How deep parentheses and `not` may nest in a `$filter`, counted together: `not (not (…))`
/// is 3 deep. Every walk over a filter (the parser, the in-memory evaluator, the store's SQL)
/// recurses once per level, so this bound is what keeps them all off the end of the stack.
pub const MAX_FILTER_DEPTH: usize = 32;

/// The most comparisons one `$filter` may hold. `and`/`or` chains are lists, not nested
/// levels, but a database still parses `a or b or …` one level per term (SQLite stops at
/// 1,000).
pub const MAX_FILTER_COMPARISONS: usize = 100;

/// The most properties `$orderby` may name (SQLite stops at 2,000 sort keys; more than a few
/// never changes an order).
pub const MAX_ORDERBY_PROPERTIES: usize = 8;

/// A query option that cannot be honoured, in words meant for whoever wrote the URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct QueryError(pub String);

impl QueryError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}
