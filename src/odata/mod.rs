//! The OData v2 query language of the monitoring API, without HTTP and without SQL.
//!
//! Raw query strings stop here. [`QueryOptions::parse`] reads `$filter`, `$orderby`, `$top`,
//! `$skip`, `$inlinecount`, `$select` and `$format` against an entity's [`Schema`] and returns
//! typed values, or a [`QueryError`] that names the option and the problem (the HTTP layer makes
//! it a 400). `$filter` has a real parser ([`filter`]): a tokenizer and a recursive-descent
//! grammar producing an [`Expr`] tree that is type-checked against the schema, so the store can
//! translate it into parameterised SQL and in-memory collections can evaluate it.
//!
//! [`schema`] lists the entity types the API serves; the `$metadata` document, the JSON
//! rendering and the query parser all read the same lists.

pub mod filter;
mod lexer;
mod options;
pub mod path;
pub mod schema;
#[cfg(test)]
mod tests;

pub use filter::{CompareOp, Expr, Literal};
pub use options::{Direction, OrderBy, QueryOptions, Scope};
pub use schema::{Field, Kind, Schema};

/// A query option that cannot be honoured, in words meant for whoever wrote the URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct QueryError(pub String);

impl QueryError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}
