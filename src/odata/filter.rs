//! `$filter`: a recursive-descent parser from tokens to a typed expression tree.
//!
//! ```text
//! expr       := and ("or" and)*
//! and        := unary ("and" unary)*
//! unary      := "not" unary | "(" expr ")" | comparison
//! comparison := operand op operand          op := eq | ne | gt | ge | lt | le
//! operand    := property-path | 'text' | datetime'...' | datetimeoffset'...'
//!             | number | true | false | null
//! ```
//!
//! Exactly one side of a comparison is a property of the schema, the other a literal of the
//! property's type (`null` only with `eq`/`ne`). `literal op property` is turned around.
//! Keywords are lower case, as OData spells them; property names are case-sensitive.

use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

use super::QueryError;
use super::lexer::{Spanned, Token, tokenize};
use super::schema::{Field, Kind, Schema};

/// A parsed, type-checked `$filter`.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Compare {
        field: &'static Field,
        op: CompareOp,
        value: Literal,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

impl CompareOp {
    fn from_word(word: &str) -> Option<Self> {
        Some(match word {
            "eq" => Self::Eq,
            "ne" => Self::Ne,
            "gt" => Self::Gt,
            "ge" => Self::Ge,
            "lt" => Self::Lt,
            "le" => Self::Le,
            _ => return None,
        })
    }

    /// `a op b` is `b op.flipped() a`.
    fn flipped(self) -> Self {
        match self {
            Self::Gt => Self::Lt,
            Self::Ge => Self::Le,
            Self::Lt => Self::Gt,
            Self::Le => Self::Ge,
            same => same,
        }
    }
}

/// A literal value, already of the type of the property it is compared with.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Null,
    Text(String),
    DateTime(OffsetDateTime),
    Int(i64),
    Bool(bool),
}

const FUNCTIONS: &[&str] = &[
    "substringof",
    "startswith",
    "endswith",
    "length",
    "indexof",
    "replace",
    "substring",
    "tolower",
    "toupper",
    "trim",
    "concat",
    "day",
    "hour",
    "minute",
    "month",
    "second",
    "year",
    "round",
    "floor",
    "ceiling",
    "isof",
];

/// Parses `$filter` text against `schema`.
pub fn parse(input: &str, schema: &'static Schema) -> Result<Expr, QueryError> {
    let tokens = tokenize(input)?;
    if tokens.is_empty() {
        return Err(QueryError::new("$filter is empty"));
    }
    let mut parser = Parser {
        tokens,
        next: 0,
        schema,
    };
    let expr = parser.or()?;
    if let Some((token, at)) = parser.peek() {
        return Err(QueryError::new(format!(
            "$filter: unexpected {} at position {at}; expected 'and', 'or' or the end",
            token.describe()
        )));
    }
    Ok(expr)
}

struct Parser {
    tokens: Vec<Spanned>,
    next: usize,
    schema: &'static Schema,
}

enum Operand {
    Field(&'static Field),
    Literal(Token),
}

impl Parser {
    fn peek(&self) -> Option<&Spanned> {
        self.tokens.get(self.next)
    }

    fn take(&mut self) -> Option<Spanned> {
        let token = self.tokens.get(self.next).cloned();
        self.next += 1;
        token
    }

    fn at_word(&self, word: &str) -> bool {
        matches!(self.peek(), Some((Token::Word(w), _)) if w == word)
    }

    fn or(&mut self) -> Result<Expr, QueryError> {
        let mut left = self.and()?;
        while self.at_word("or") {
            self.next += 1;
            let right = self.and()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, QueryError> {
        let mut left = self.unary()?;
        while self.at_word("and") {
            self.next += 1;
            let right = self.unary()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, QueryError> {
        if self.at_word("not") {
            self.next += 1;
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        if matches!(self.peek(), Some((Token::Open, _))) {
            let (_, at) = self.take().unwrap_or((Token::Open, 0));
            let inner = self.or()?;
            return match self.take() {
                Some((Token::Close, _)) => Ok(inner),
                Some((token, pos)) => Err(QueryError::new(format!(
                    "$filter: expected ')' to close the '(' at position {at}, found {} at position {pos}",
                    token.describe()
                ))),
                None => Err(QueryError::new(format!(
                    "$filter: the '(' at position {at} is never closed"
                ))),
            };
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Expr, QueryError> {
        let (left, left_at) = self.operand()?;
        let (op, op_at) = match self.take() {
            Some((Token::Word(word), at)) => match CompareOp::from_word(&word) {
                Some(op) => (op, at),
                None => {
                    return Err(QueryError::new(format!(
                        "$filter: '{word}' at position {at} is not an operator; use eq, ne, gt, ge, lt or le"
                    )));
                }
            },
            Some((token, at)) => {
                return Err(QueryError::new(format!(
                    "$filter: expected an operator (eq, ne, gt, ge, lt, le) at position {at}, found {}",
                    token.describe()
                )));
            }
            None => {
                return Err(QueryError::new(
                    "$filter ends too early: expected an operator (eq, ne, gt, ge, lt, le)",
                ));
            }
        };
        let (right, right_at) = self.operand()?;
        let (field, op, literal, literal_at) = match (left, right) {
            (Operand::Field(field), Operand::Literal(token)) => (field, op, token, right_at),
            (Operand::Literal(token), Operand::Field(field)) => {
                (field, op.flipped(), token, left_at)
            }
            (Operand::Field(a), Operand::Field(b)) => {
                return Err(QueryError::new(format!(
                    "$filter: comparing two properties ({} and {}, at position {op_at}) is not supported; compare a property with a value",
                    a.path, b.path
                )));
            }
            (Operand::Literal(_), Operand::Literal(_)) => {
                return Err(QueryError::new(format!(
                    "$filter: the comparison at position {left_at} has no property; one side must be a property such as Status"
                )));
            }
        };
        let value = literal_of(field, op, literal, literal_at)?;
        Ok(in_whole_milliseconds(field, op, value))
    }

    fn operand(&mut self) -> Result<(Operand, usize), QueryError> {
        let Some((token, at)) = self.take() else {
            return Err(QueryError::new(
                "$filter ends too early: expected a property or a value",
            ));
        };
        match token {
            Token::Word(word) if matches!(word.as_str(), "true" | "false" | "null") => {
                Ok((Operand::Literal(Token::Word(word)), at))
            }
            Token::Word(word) => {
                if let Some(field) = self.schema.field(&word) {
                    return Ok((Operand::Field(field), at));
                }
                if FUNCTIONS.contains(&word.as_str())
                    || matches!(self.peek(), Some((Token::Open, _)))
                {
                    return Err(QueryError::new(format!(
                        "$filter: the function '{word}' (position {at}) is not supported; use eq, ne, gt, ge, lt, le, and, or, not and parentheses"
                    )));
                }
                Err(QueryError::new(format!(
                    "$filter: '{word}' at position {at} is not a property of {}; filterable properties are {}",
                    self.schema.set,
                    self.schema
                        .fields
                        .iter()
                        .map(|f| f.path)
                        .collect::<Vec<_>>()
                        .join(", ")
                )))
            }
            Token::Open | Token::Close | Token::Comma => Err(QueryError::new(format!(
                "$filter: expected a property or a value at position {at}, found {}",
                token.describe()
            ))),
            literal => Ok((Operand::Literal(literal), at)),
        }
    }
}

/// Checks that `token` is a literal of `field`'s type and converts it.
fn literal_of(
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
                    "$filter: datetime'{text}' (position {at}) is not a date and time; write datetime'2026-01-31T13:45:00' (UTC)"
                ))
            })
        }
        (Kind::DateTime, Token::Typed(prefix, text)) if prefix == "datetimeoffset" => {
            OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
                .map(Literal::DateTime)
                .map_err(|_| {
                    QueryError::new(format!(
                        "$filter: datetimeoffset'{text}' (position {at}) is not an RFC 3339 date and time"
                    ))
                })
        }
        (Kind::DateTime, _) => Err(mismatch(
            "a date and time, written datetime'2026-01-31T13:45:00' (UTC)",
        )),
        (Kind::Int, Token::Number(n)) => Ok(Literal::Int(*n)),
        (Kind::Int, _) => Err(mismatch("a whole number")),
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
fn in_whole_milliseconds(field: &'static Field, op: CompareOp, value: Literal) -> Expr {
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
        Expr::And(
            Box::new(compare(CompareOp::Lt, Literal::DateTime(floor))),
            Box::new(compare(CompareOp::Gt, Literal::DateTime(floor))),
        )
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
    /// Evaluates the filter against one row; `get` returns the value of a field path. Used for
    /// the small collections kept in memory; the message log is filtered in SQL instead.
    pub fn matches<'a>(&self, get: &dyn Fn(&str) -> Value<'a>) -> bool {
        match self {
            Self::And(a, b) => a.matches(get) && b.matches(get),
            Self::Or(a, b) => a.matches(get) || b.matches(get),
            Self::Not(inner) => !inner.matches(get),
            Self::Compare { field, op, value } => {
                let actual = get(field.path);
                let ordering = match (&actual, value) {
                    (Value::Null, Literal::Null) => Some(std::cmp::Ordering::Equal),
                    (Value::Null, _) | (_, Literal::Null) => None,
                    (Value::Text(a), Literal::Text(b)) => Some((*a).cmp(b.as_str())),
                    (Value::DateTime(a), Literal::DateTime(b)) => Some(a.cmp(b)),
                    (Value::Int(a), Literal::Int(b)) => Some(a.cmp(b)),
                    (Value::Bool(a), Literal::Bool(b)) => Some(a.cmp(b)),
                    _ => None,
                };
                use std::cmp::Ordering::{Equal, Greater, Less};
                match (op, ordering) {
                    (CompareOp::Eq, Some(o)) => o == Equal,
                    (CompareOp::Ne, Some(o)) => o != Equal,
                    // Null-safe: a missing value differs from every value.
                    (CompareOp::Ne, None) => true,
                    (CompareOp::Gt, Some(o)) => o == Greater,
                    (CompareOp::Ge, Some(o)) => o != Less,
                    (CompareOp::Lt, Some(o)) => o == Less,
                    (CompareOp::Le, Some(o)) => o != Greater,
                    (_, None) => false,
                }
            }
        }
    }
}
