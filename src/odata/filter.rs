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
//!
//! The parser recurses once per `(` and per `not`, so that nesting is counted and bounded
//! ([`MAX_FILTER_DEPTH`]) before it can exhaust the stack; `and`/`or` chains are loops that
//! build lists, so the tree is never deeper than the nesting. The text's length and the number
//! of comparisons are bounded too ([`MAX_FILTER_LENGTH`], [`MAX_FILTER_COMPARISONS`]).

use super::lexer::{Spanned, Token, tokenize};
use super::literal::{in_whole_milliseconds, literal_of};
use super::schema::{Field, Schema};
use super::{MAX_FILTER_COMPARISONS, MAX_FILTER_DEPTH, MAX_FILTER_LENGTH, QueryError};
use crate::excerpt::Excerpt;

/// A parsed, type-checked `$filter`. `And` and `Or` hold two terms or more, in the order
/// written; parentheses leave no node of their own.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    And(Vec<Expr>),
    Or(Vec<Expr>),
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
    DateTime(time::OffsetDateTime),
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
    let length = input.chars().count();
    if length > MAX_FILTER_LENGTH {
        return Err(QueryError::new(format!(
            "$filter is {length} characters long; the limit is {MAX_FILTER_LENGTH} characters"
        )));
    }
    let tokens = tokenize(input)?;
    if tokens.is_empty() {
        return Err(QueryError::new("$filter is empty"));
    }
    let mut parser = Parser {
        tokens,
        next: 0,
        schema,
        depth: 0,
        comparisons: 0,
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
    /// The `(` and `not` around the current token.
    depth: usize,
    comparisons: usize,
}

enum Operand {
    Field(&'static Field),
    Literal(Token),
}

/// Two terms or more joined by `and` (`Expr::And`) or `or`; one term is itself.
fn joined(mut terms: Vec<Expr>, join: fn(Vec<Expr>) -> Expr) -> Expr {
    match terms.len() {
        1 => terms.remove(0),
        _ => join(terms),
    }
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
        let mut terms = vec![self.and()?];
        while self.at_word("or") {
            self.next += 1;
            terms.push(self.and()?);
        }
        Ok(joined(terms, Expr::Or))
    }

    fn and(&mut self) -> Result<Expr, QueryError> {
        let mut terms = vec![self.unary()?];
        while self.at_word("and") {
            self.next += 1;
            terms.push(self.unary()?);
        }
        Ok(joined(terms, Expr::And))
    }

    /// Goes one level deeper for the `(` or `not` at `at`, unless that is past the limit.
    fn enter(&mut self, what: &str, at: usize) -> Result<(), QueryError> {
        self.depth += 1;
        if self.depth > MAX_FILTER_DEPTH {
            return Err(QueryError::new(format!(
                "$filter: the {what} at position {at} is nested more than {MAX_FILTER_DEPTH} deep (parentheses and 'not' count together); the limit is {MAX_FILTER_DEPTH}"
            )));
        }
        Ok(())
    }

    fn unary(&mut self) -> Result<Expr, QueryError> {
        if let Some((Token::Word(word), at)) = self.peek()
            && word == "not"
        {
            let at = *at;
            self.next += 1;
            self.enter("'not'", at)?;
            let inner = self.unary()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(inner)));
        }
        if let Some((Token::Open, at)) = self.peek() {
            let at = *at;
            self.next += 1;
            self.enter("'('", at)?;
            let inner = self.or()?;
            self.depth -= 1;
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
        self.comparisons += 1;
        if self.comparisons > MAX_FILTER_COMPARISONS {
            return Err(QueryError::new(format!(
                "$filter has more than {MAX_FILTER_COMPARISONS} comparisons (the one at position {left_at} is one too many); the limit is {MAX_FILTER_COMPARISONS}"
            )));
        }
        let (op, op_at) = self.operator()?;
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

    fn operator(&mut self) -> Result<(CompareOp, usize), QueryError> {
        match self.take() {
            Some((Token::Word(word), at)) => CompareOp::from_word(&word)
                .map(|op| (op, at))
                .ok_or_else(|| {
                    QueryError::new(format!(
                        "$filter: '{}' at position {at} is not an operator; use eq, ne, gt, ge, lt or le",
                        Excerpt(&word)
                    ))
                }),
            Some((token, at)) => Err(QueryError::new(format!(
                "$filter: expected an operator (eq, ne, gt, ge, lt, le) at position {at}, found {}",
                token.describe()
            ))),
            None => Err(QueryError::new(
                "$filter ends too early: expected an operator (eq, ne, gt, ge, lt, le)",
            )),
        }
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
                Err(self.not_a_property(&word, at))
            }
            Token::Open | Token::Close | Token::Comma => Err(QueryError::new(format!(
                "$filter: expected a property or a value at position {at}, found {}",
                token.describe()
            ))),
            literal => Ok((Operand::Literal(literal), at)),
        }
    }

    /// The error for a word that is no property: a function OData has and iflowd does not, or
    /// a name that is not in the schema.
    fn not_a_property(&self, word: &str, at: usize) -> QueryError {
        let function = FUNCTIONS.contains(&word) || matches!(self.peek(), Some((Token::Open, _)));
        let word = Excerpt(word);
        if function {
            return QueryError::new(format!(
                "$filter: the function '{word}' (position {at}) is not supported; use eq, ne, gt, ge, lt, le, and, or, not and parentheses"
            ));
        }
        QueryError::new(format!(
            "$filter: '{word}' at position {at} is not a property of {}; filterable properties are {}",
            self.schema.set,
            self.schema
                .fields
                .iter()
                .map(|f| f.path)
                .collect::<Vec<_>>()
                .join(", ")
        ))
    }
}
