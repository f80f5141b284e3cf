//! `$filter` literals: checking a token against the type of the property it is compared with,
//! and dates, which the API keeps and shows in whole milliseconds.

use crate::excerpt::Excerpt;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

use super::QueryError;
use super::filter::{CompareOp, Expr, Literal};
use super::lexer::Token;
use super::schema::{Field, Kind};

/// Checks that `token` is a literal of `field`'s type and converts it.
pub(super) fn literal_of(
    field: &Field,
    op: CompareOp,
    token: Token,
    at: usize,
) -> Result<Literal, QueryError> {
    let mismatch = |expected: &str| {
        QueryError::new(format!(
            "$filter: {} (position {at}) cannot be compared with {}: {} is {expected}",
            token.describe(),
            field.path,
            field.path
        ))
    };
    if token == Token::Word("null".to_owned()) {
        return if matches!(op, CompareOp::Eq | CompareOp::Ne) {
            Ok(Literal::Null)
        } else {
            Err(QueryError::new(format!(
                "$filter: null (position {at}) can only be compared with eq or ne"
            )))
        };
    }
    match (field.kind, &token) {
        (Kind::String, Token::Text(text)) => Ok(Literal::Text(text.clone())),
        (Kind::String, _) => Err(mismatch("a string, written in quotes like 'COMPLETED'")),
        (Kind::DateTime, Token::Typed(prefix, text)) if prefix == "datetime" => {
            datetime(text).map(Literal::DateTime).ok_or_else(|| {
                QueryError::new(format!(
                    "$filter: datetime'{}' (position {at}) is not a date and time; write datetime'2026-01-31T13:45:00' (UTC)",
                    Excerpt(text)
                ))
            })
        }
        (Kind::DateTime, Token::Typed(prefix, text)) if prefix == "datetimeoffset" => {
            OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
                .map(Literal::DateTime)
                .map_err(|_| {
                    QueryError::new(format!(
                        "$filter: datetimeoffset'{}' (position {at}) is not an RFC 3339 date and time",
                        Excerpt(text)
                    ))
                })
        }
        (Kind::DateTime, _) => Err(mismatch(
            "a date and time, written datetime'2026-01-31T13:45:00' (UTC)",
        )),
        (Kind::Int | Kind::Int64, Token::Number(n)) => Ok(Literal::Int(*n)),
        (Kind::Int | Kind::Int64, _) => Err(mismatch("a whole number")),
        (Kind::Boolean, Token::Word(w)) if w == "true" || w == "false" => {
            Ok(Literal::Bool(w == "true"))
        }
        (Kind::Boolean, _) => Err(mismatch("true or false")),
    }
}

/// `at` without its fraction of a millisecond. Every date the API keeps and shows is a whole
/// millisecond (`/Date(ms)/`).
pub fn whole_millisecond(at: OffsetDateTime) -> OffsetDateTime {
    at.replace_millisecond(at.millisecond()).unwrap_or(at)
}

/// The comparison `field op value`, with a date literal finer than a millisecond (clients send
/// `datetime'2026-03-01T10:15:30.1234567'` for a time read from their own clock) turned into one
/// on whole milliseconds that selects exactly the same dates. Every date compared is a whole
/// millisecond, so between the literal's millisecond `m` and `m + 1ms` there is none: `gt`/`le`
/// compare with `m`, `lt`/`ge` with `m + 1ms`, `eq` matches nothing and `ne` everything. (The
/// store compares whole milliseconds: without this, `LogStart lt` such a moment would miss an
/// entry of the same millisecond.)
pub(super) fn in_whole_milliseconds(field: &'static Field, op: CompareOp, value: Literal) -> Expr {
    let compare = |op, value| Expr::Compare { field, op, value };
    let Literal::DateTime(at) = value else {
        return compare(op, value);
    };
    let floor = whole_millisecond(at);
    if floor == at {
        return compare(op, value);
    }
    let ceiling = floor + time::Duration::MILLISECOND;
    // `field lt m and field gt m`: true of no date, nor of null.
    let never = || {
        Expr::And(vec![
            compare(CompareOp::Lt, Literal::DateTime(floor)),
            compare(CompareOp::Gt, Literal::DateTime(floor)),
        ])
    };
    match op {
        CompareOp::Gt | CompareOp::Le => compare(op, Literal::DateTime(floor)),
        CompareOp::Lt | CompareOp::Ge => compare(op, Literal::DateTime(ceiling)),
        CompareOp::Eq => never(),
        CompareOp::Ne => Expr::Not(Box::new(never())),
    }
}

/// `YYYY-MM-DDThh:mm[:ss[.fffffff]]`, UTC; a trailing `Z` is tolerated.
fn datetime(text: &str) -> Option<OffsetDateTime> {
    let text = text.strip_suffix('Z').unwrap_or(text);
    let formats = [
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond]"),
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]"),
        format_description!("[year]-[month]-[day]T[hour]:[minute]"),
    ];
    formats
        .iter()
        .find_map(|format| PrimitiveDateTime::parse(text, format).ok())
        .map(PrimitiveDateTime::assume_utc)
}
